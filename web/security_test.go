package web_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/concord-health/concord/api"
	"github.com/concord-health/concord/internal/graphtest"
	"github.com/concord-health/concord/services"
)

// checkHeaders fails unless res carries the workspace's security headers.
func checkHeaders(t testing.TB, what string, res *http.Response) {
	t.Helper()
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", what, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("%s: Content-Security-Policy %q allows something unsafe", what, csp)
	}
	for h, want := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
		"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s: %s = %q, want %q", what, h, got, want)
		}
	}
}

var (
	inlineScript  = regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]+</script>|<script>`)
	inlineHandler = regexp.MustCompile(`\son[a-z]+\s*=`)
	inlineStyle   = regexp.MustCompile(`<style|\sstyle\s*=`)
	urlsOnPage    = regexp.MustCompile(`(?:href|action|src|data-poll-url)="([^"]*)"`)
)

// checkPage fails if the latest page has inline script or style, or a URL
// naming anything in forbidden.
func checkPage(t testing.TB, b *browser, what string, forbidden ...string) {
	t.Helper()
	if m := inlineScript.FindString(b.last); m != "" {
		t.Errorf("%s: inline script %q", what, m)
	}
	if m := inlineHandler.FindString(b.last); m != "" {
		t.Errorf("%s: inline event handler %q", what, m)
	}
	if m := inlineStyle.FindString(b.last); m != "" {
		t.Errorf("%s: inline style %q", what, m)
	}
	for _, m := range urlsOnPage.FindAllStringSubmatch(b.last, -1) {
		u, _ := url.PathUnescape(m[1])
		for _, f := range forbidden {
			if urlNames(u, f) {
				t.Errorf("%s: URL %q names %q", what, m[1], f)
			}
		}
	}
}

// urlNames reports whether the URL u carries the value f: anywhere in it
// for a long value (an id), as a whole word (a path segment, a query
// value, a word of one) for a short one ("Ann", "186"), so that a random
// handle that happens to contain "aNn" is not taken for a name.
func urlNames(u, f string) bool {
	if f == "" {
		return false
	}
	u, f = strings.ToLower(u), strings.ToLower(f)
	if len(f) >= 8 {
		return strings.Contains(u, f)
	}
	words := strings.FieldsFunc(u, func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
	})
	return slices.Contains(words, f)
}

func cookieOf(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestCookiesAndHeaders: every page carries the strict policy and the
// frame, referrer and cache headers; the cookies are HttpOnly,
// SameSite=Strict on /app, Secure only over TLS or a trusted proxy; no
// page has inline script or style, and no URL names a patient, a flag,
// a name or a reading.
func TestCookiesAndHeaders(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	res := b.get("/app/sign-in")
	checkHeaders(t, "sign-in", res)
	c := cookieOf(res, "concord_sign_in")
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/app" || c.Secure {
		t.Fatalf("sign-in cookie %+v: want HttpOnly, SameSite=Strict, Path=/app, not Secure over plain HTTP", c)
	}
	form := url.Values{"email": {s.pharmacistA}, "password": {password}, "csrf": {b.field("csrf")}}
	res = b.do(http.MethodPost, "/app/sign-in", form)
	c = cookieOf(res, "concord_session")
	if res.StatusCode != http.StatusSeeOther || c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/app" || c.Secure || c.MaxAge != 0 || !c.Expires.IsZero() {
		t.Fatalf("sign-in: %d, session cookie %+v: want 303 and an HttpOnly, SameSite=Strict session cookie on /app", res.StatusCode, c)
	}

	flag := s.openFlag(t, s.ann)
	forbidden := []string{s.ann.ID, s.ann.Name, "Ann", flag.ID, "186", s.pharmacyA}
	for _, path := range []string{"/app/queue", "/app/patients", "/app/queue?severity=severe"} {
		res := b.get(path)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, res.StatusCode)
		}
		checkHeaders(t, path, res)
		checkPage(t, b, path, forbidden...)
	}
	b.get("/app/queue")
	patient := b.linkTo("Ann Example")
	res = b.get(patient)
	checkHeaders(t, "patient", res)
	checkPage(t, b, "patient", forbidden...)
	b.mustContain("BP 186/124 mmHg at 08:05 on Mon 30 Nov", "Took 18 of 22 doses in 28 days")
	b.post("/app/patients", url.Values{"q": {"ann"}})
	checkPage(t, b, "patients search", forbidden...)
	b.mustContain("Ann Example")
	b.mustNotContain("Bob Example")
	for _, path := range []string{"/app/static/app.css", "/app/static/app.js", "/app/nowhere"} {
		res := b.get(path)
		if strings.Contains(path, "static") { // no data: cacheable
			res.Header.Set("Cache-Control", "no-store")
		}
		checkHeaders(t, path, res)
	}

	// Behind a trusted proxy (which terminates TLS) the cookies are Secure.
	proxied := newSite(t, func(o *graphtest.Options) {
		o.HTTP = func(c *api.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} }
	})
	pb := proxied.browser(t)
	res = pb.do(http.MethodGet, "/app/sign-in", nil, "X-Forwarded-Proto", "https", "X-Forwarded-For", "203.0.113.9")
	if c := cookieOf(res, "concord_sign_in"); c == nil || !c.Secure {
		t.Fatalf("behind a trusted proxy: sign-in cookie %+v, want Secure", c)
	}
}

// TestSignIn: wrong passwords and patients' accounts are refused, the
// form needs its token, and failures count with the API's login guard.
func TestSignIn(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.get("/app/sign-in")
	if res := b.post("/app/sign-in", url.Values{"email": {s.pharmacistA}, "password": {"wrong"}}); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d, want 401", res.StatusCode)
	}
	b.mustContain("The e-mail address or password is wrong")
	if _, ok := b.cookies["concord_session"]; ok {
		t.Fatal("a failed sign-in set a session cookie")
	}
	if res := b.post("/app/sign-in", url.Values{"email": {s.ann.Email}, "password": {password}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("patient: %d, want 403", res.StatusCode)
	}
	b.mustContain("Patients use the Concord app")
	if res := b.post("/app/sign-in", url.Values{"email": {""}, "password": {""}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("empty form: %d, want 422", res.StatusCode)
	}
	b.mustContain("Enter your e-mail address", "Enter your password", `href="#email"`)

	// Without the form's token (login CSRF) nothing is checked.
	other := s.browser(t)
	if res := other.do(http.MethodPost, "/app/sign-in", url.Values{"email": {s.pharmacistA}, "password": {password}, "csrf": {"forged"}}); res.StatusCode != http.StatusForbidden || cookieOf(res, "concord_session") != nil {
		t.Fatalf("sign-in without the form's token: %d, want 403 and no session", res.StatusCode)
	}
	other.mustContain("This form could not be accepted")

	// The API's login guard counts the form's failures: after its free
	// failures, both the form and POST /v1/auth/login are held back.
	for i := 0; i < 6; i++ {
		b.get("/app/sign-in")
		b.post("/app/sign-in", url.Values{"email": {s.pharmacistB}, "password": {"wrong"}})
	}
	b.get("/app/sign-in")
	res := b.post("/app/sign-in", url.Values{"email": {s.pharmacistB}, "password": {password}})
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("sign-in after repeated failures: %d (Retry-After %q), want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	req, _ := http.NewRequest(http.MethodPost, s.base+"/v1/auth/login", strings.NewReader(`{"email":"`+s.pharmacistB+`","password":"`+password+`"}`))
	req.Header.Set("Content-Type", "application/json")
	apiRes, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	apiRes.Body.Close()
	if apiRes.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("API login after the form's failures: %d, want 429 (one guard for both)", apiRes.StatusCode)
	}
}

// TestCSRF: a signed-in browser's forms need the session's token; a
// token of another session, none, or a cross-site request changes nothing.
func TestCSRF(t *testing.T) {
	s := newSite(t)
	flag := s.openFlag(t, s.ann)
	b, other := s.browser(t), s.browser(t)
	b.signIn(s.pharmacistA, "/app/queue")
	other.signIn(s.pharmacistA, "/app/queue")
	foreign := other.field("csrf")
	b.get(b.linkTo("Ann Example"))
	handle := b.field("flag")
	for name, form := range map[string]url.Values{
		"no token":               {"flag": {handle}},
		"empty token":            {"flag": {handle}, "csrf": {""}},
		"another session's":      {"flag": {handle}, "csrf": {foreign}},
		"a sign-in form's token": {"flag": {handle}, "csrf": {b.cookies["concord_session"].Value}},
	} {
		res := b.do(http.MethodPost, "/app/flags/claim", form)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("claim with %s: %d, want 403", name, res.StatusCode)
		}
		b.mustContain("This form could not be accepted")
	}
	own := url.Values{"flag": {handle}}
	own.Set("csrf", b.field("csrf"))
	if res := b.do(http.MethodPost, "/app/flags/claim", own, "Sec-Fetch-Site", "cross-site"); res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site claim: %d, want 403", res.StatusCode)
	}
	if res := b.do(http.MethodPost, "/app/sign-out", url.Values{"csrf": {foreign}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("sign-out with another session's token: %d, want 403", res.StatusCode)
	}
	if got := s.flag(t, flag.ID); got.Status != "open" {
		t.Fatalf("flag after refused forms: %s, want open", got.Status)
	}
	if res := b.get("/app/queue"); res.StatusCode != http.StatusOK {
		t.Fatalf("session after refused sign-out: %d, want it standing", res.StatusCode)
	}
}

// TestSessionEnds: a session ends at services.WebSessionTTL, at sign-out
// (its cookie then opens nothing), and when the password changes.
func TestSessionEnds(t *testing.T) {
	s := newSite(t)
	b := s.browser(t)
	b.signIn(s.pharmacistA, "/app/queue")
	stolen := *b.cookies["concord_session"]

	s.g.Clock.Advance(services.WebSessionTTL - 1)
	if res := b.get("/app/queue"); res.StatusCode != http.StatusOK {
		t.Fatalf("just before expiry: %d, want 200", res.StatusCode)
	}
	s.g.Clock.Advance(1)
	res := b.get("/app/queue")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/app/sign-in?ended=1" {
		t.Fatalf("after expiry: %d to %q, want 303 to /app/sign-in?ended=1", res.StatusCode, res.Header.Get("Location"))
	}
	if _, ok := b.cookies["concord_session"]; ok {
		t.Fatal("the expired session's cookie was not cleared")
	}
	b.get("/app/sign-in?ended=1")
	b.mustContain("Your session has ended")

	b.signIn(s.pharmacistA, "/app/queue")
	stolen = *b.cookies["concord_session"]
	res = b.post("/app/sign-out", url.Values{})
	if c := cookieOf(res, "concord_session"); res.StatusCode != http.StatusOK || c == nil || c.Value != "" || !c.Expires.Before(siteStart) {
		t.Fatalf("sign-out: %d, want 200 clearing the session cookie", res.StatusCode)
	}
	b.mustContain("You have signed out")
	thief := s.browser(t)
	thief.cookies["concord_session"] = &stolen
	if res := thief.get("/app/queue"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a signed-out session's cookie: %d, want 303 to sign in", res.StatusCode)
	}
}

// TestRoles: each page is for its roles; others get a refusal page, and
// the signed-out are sent to sign in.
func TestRoles(t *testing.T) {
	s := newSite(t)
	s.linkCarer(t, s.ann, s.carer, "view_summary")
	cases := []struct {
		email, home string
		refused     []string
	}{
		{s.pharmacistA, "/app/queue", []string{"/app/care", "/app/admin"}},
		{s.admin, "/app/admin", []string{"/app/queue", "/app/patients", "/app/care", "/app/queue/version"}},
		{s.carer, "/app/care", []string{"/app/queue", "/app/patients", "/app/admin"}},
	}
	for _, c := range cases {
		b := s.browser(t)
		b.signIn(c.email, c.home)
		for _, path := range c.refused {
			if res := b.get(path); res.StatusCode != http.StatusForbidden {
				t.Errorf("%s GET %s: %d, want 403", c.email, path, res.StatusCode)
			}
		}
	}
	anon := s.browser(t)
	for _, path := range []string{"/app/", "/app/queue", "/app/patients", "/app/care", "/app/admin", "/app/queue/version"} {
		res := anon.get(path)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/app/sign-in") {
			t.Errorf("signed out GET %s: %d to %q, want 303 to sign in", path, res.StatusCode, res.Header.Get("Location"))
		}
	}
	if res := anon.do(http.MethodPost, "/app/flags/claim", url.Values{"flag": {"x"}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("signed out POST: %d, want 303 to sign in", res.StatusCode)
	}
}
