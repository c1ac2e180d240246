package web_test

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The browser tests drive the workspace in a real headless Chromium: one
// browser process for the package, started by the first test that needs
// it, a browser context (its own cookies) per person signed in.
//
// Without a browser they skip, saying so once on stderr, unless
// CONCORD_REQUIRE_BROWSER=1 (CI), when they fail. CONCORD_CHROMIUM names
// the browser's binary; otherwise the first of browserNames on PATH.
// CONCORD_SCREENSHOTS=1 writes the screenshots the README shows to
// docs/screenshots (go test ./web -run TestBrowser).

//go:embed testdata/axe-core/axe.min.js
var axeSource string

// axeVersion is the vendored axe-core's (testdata/axe-core/README.md).
const axeVersion = "4.14.1"

var browserNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

var chrome struct {
	once    sync.Once
	ctx     context.Context // the browser's first tab; contexts for people derive from it
	stop    func()
	err     error
	skipped string
}

// closeBrowser ends the browser process (TestMain, after the tests).
func closeBrowser() {
	if chrome.stop != nil {
		chrome.stop()
	}
}

// needBrowser returns the package's browser, starting it on first use, or
// skips (fails under CONCORD_REQUIRE_BROWSER=1) when there is none.
func needBrowser(t *testing.T) context.Context {
	t.Helper()
	chrome.once.Do(startBrowser)
	if chrome.skipped != "" {
		if os.Getenv("CONCORD_REQUIRE_BROWSER") == "1" {
			t.Fatalf("CONCORD_REQUIRE_BROWSER=1 but %s", chrome.skipped)
		}
		t.Skip(chrome.skipped)
	}
	if chrome.err != nil {
		t.Fatalf("starting the browser: %v", chrome.err)
	}
	return chrome.ctx
}

func startBrowser() {
	path := os.Getenv("CONCORD_CHROMIUM")
	if path == "" {
		for _, name := range browserNames {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		chrome.skipped = "no Chromium found (looked for " + strings.Join(browserNames, ", ") + " on PATH, and CONCORD_CHROMIUM)"
		fmt.Fprintf(os.Stderr, "\n*** BROWSER TESTS SKIPPED: %s; install chromium or set CONCORD_REQUIRE_BROWSER=1 to make this fail ***\n\n", chrome.skipped)
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1280, 900))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	chrome.stop = func() { cancel(); cancelAlloc() }
	chrome.ctx = ctx
	chrome.err = chromedp.Do(ctx, chromedp.Navigate("about:blank"))
}

// person is one person's browser context (cookies of their own) on a site.
type person struct {
	t    *testing.T
	s    *site
	ctx  context.Context
	name string
}

// open returns a new browser context on s for name (for messages). It is
// closed when the test ends.
func (s *site) open(t *testing.T, name string) *person {
	t.Helper()
	root := needBrowser(t)
	tab, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(tab, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("%s: new browser context: %v", name, err)
	}
	return &person{t: t, s: s, ctx: tab, name: name}
}

// do runs steps, with a deadline, failing the test on error.
func (p *person) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, what, err)
	}
}

// submit clicks the button sel (which submits a form) and returns the
// response of the page it leads to.
func (p *person) submit(sel string) *network.Response {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		p.t.Fatalf("%s: submit %s: %v", p.name, sel, err)
	}
	return res
}

// goTo opens path and returns its response.
func (p *person) goTo(path string) *network.Response {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Navigate(p.s.base+path))
	if err != nil {
		p.t.Fatalf("%s: open %s: %v", p.name, path, err)
	}
	return res
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](p *person, expr string, opts ...chromedp.EvaluateOption) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		p.t.Fatalf("%s: evaluate %.60q: %v", p.name, expr, err)
	}
	return v
}

// text is the page's visible text.
func (p *person) text() string {
	p.t.Helper()
	return eval[string](p, `document.body.innerText`)
}

func (p *person) sees(texts ...string) {
	p.t.Helper()
	page := p.text()
	for _, text := range texts {
		if !strings.Contains(page, text) {
			p.t.Errorf("%s does not see %q on %s:\n%s", p.name, text, eval[string](p, `location.pathname`), page)
		}
	}
}

func (p *person) doesNotSee(texts ...string) {
	p.t.Helper()
	page := p.text()
	for _, text := range texts {
		if strings.Contains(page, text) {
			p.t.Errorf("%s sees %q on %s, which they must not", p.name, text, eval[string](p, `location.pathname`))
		}
	}
}

// path is the page's path.
func (p *person) path() string {
	p.t.Helper()
	return eval[string](p, `location.pathname`)
}

// signIn fills in and submits the sign-in form as email.
func (p *person) signIn(email string) {
	p.t.Helper()
	p.goTo("/app/sign-in")
	p.do("fill in the sign-in form",
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password))
	if res := p.submit(`form[action="/app/sign-in"] button`); res.Status != 200 {
		p.t.Fatalf("%s: sign in: status %d", p.name, res.Status)
	}
}

// viewports are the widths every page is checked at: a small phone and
// a desktop.
var viewports = []struct {
	name          string
	width, height int64
}{{"360px", 360, 740}, {"desktop", 1280, 900}}

// checkA11y runs axe-core on the page at each viewport and fails on any
// serious or critical violation. It also fails if the page is wider than
// the viewport (content cut off at 360 px).
func (p *person) checkA11y(page string) {
	p.t.Helper()
	for _, vp := range viewports {
		p.do("viewport "+vp.name, chromedp.EmulateViewport(vp.width, vp.height))
		for _, f := range p.axe() {
			p.t.Errorf("%s (%s): axe: %s", page, vp.name, f)
		}
		if vp.width == 360 {
			if w := eval[int](p, `document.documentElement.scrollWidth`); w > 360 {
				p.t.Errorf("%s (360px): the page is %d px wide: it scrolls sideways", page, w)
			}
		}
	}
}

// axe returns the serious and critical violations axe-core finds on the
// page as it is, injecting axe-core first if the page has not got it.
// (DevTools' evaluation is not bound by the page's Content-Security-Policy;
// the page itself never loads it.)
func (p *person) axe() []string {
	p.t.Helper()
	if !eval[bool](p, `typeof axe !== "undefined"`) {
		eval[bool](p, axeSource+"\n;true")
	}
	if v := eval[string](p, `axe.version`); v != axeVersion {
		p.t.Fatalf("axe-core %s, want %s", v, axeVersion)
	}
	return eval[[]string](p, `axe.run(document, {resultTypes: ["violations"], reporter: "no-passes"}).then(r => r.violations
		.filter(v => v.impact === "serious" || v.impact === "critical")
		.map(v => v.impact + " " + v.id + ": " + v.help + " at " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join("; ")))`,
		chromedp.EvalAwaitPromise)
}

// screenshot, with CONCORD_SCREENSHOTS=1, takes a full-page screenshot at
// width and writes it to docs/screenshots/name (taking them costs seconds,
// so the suite does it only when asked).
func (p *person) screenshot(name string, width, height int64) {
	p.t.Helper()
	if os.Getenv("CONCORD_SCREENSHOTS") != "1" {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		p.t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	if len(png) < 1000 {
		p.t.Fatalf("screenshot %s: %d bytes", name, len(png))
	}
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}
