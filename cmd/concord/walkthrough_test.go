package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/concord-health/concord/internal/contract"
	"github.com/concord-health/concord/push/fcmfake"
	"github.com/concord-health/concord/store/storetest"
)

// TestREADMEWalkthrough runs the README's client walkthrough as written:
// every ```sh block of its "Walkthrough" section, in order, in one bash
// session with real curl and jq, against a fresh Concord started with the
// variables of the section's ```bash block (its FCM endpoint pointed at the
// local FCM fake). Any answer that is not 2xx fails it, unless the command
// says EXPECT=<status>. Where the text says `sleep N`, the server's clock
// moves N seconds forward instead of the test waiting, so the 20 minutes
// of the missed-dose demo take a second and the walkthrough runs at any
// hour of the day. Every request and response also goes through a proxy
// that checks it against api/openapi.yaml (internal/contract), so the
// README's examples cannot drift from the contract either
// (CONCORD_WALKTHROUGH_AT=HH:MM runs it as if it were that
// London time). scripts/walkthrough.sh runs this test alone.
func TestREADMEWalkthrough(t *testing.T) {
	if storetest.Backend() == storetest.MongoDB {
		t.Skip("the walkthrough checks the README, not the store: it runs on the default backend")
	}
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the walkthrough needs %s: %v", tool, err)
		}
	}
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks, serverVars := walkthroughBlocks(t, string(readme))

	clk := &warpClock{}
	if at := os.Getenv("CONCORD_WALKTHROUGH_AT"); at != "" {
		clk.advance(untilNext(t, at))
	}
	control := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secs, err := strconv.Atoi(r.URL.Query().Get("seconds"))
		if r.Method != http.MethodPost || r.URL.Path != "/advance" || err != nil || secs < 0 {
			http.Error(w, "POST /advance?seconds=N", http.StatusBadRequest)
			return
		}
		clk.advance(time.Duration(secs) * time.Second)
	}))
	defer control.Close()

	fake := fcmfake.New(t)
	vars := storeEnv(t, t.TempDir())
	for k, v := range serverVars {
		vars[k] = v
	}
	vars["CONCORD_FCM_ENDPOINT"] = fake.URL()
	vars["CONCORD_SCHEDULER_INTERVAL"] = "200ms" // the README's 2s, faster
	in := startOn(t, vars, clk.now)

	// The commands reach Concord through a proxy that checks every
	// exchange against api/openapi.yaml.
	doc, err := contract.Load("../../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu         sync.Mutex
		violations []string
		exchanges  int
	)
	target, err := url.Parse(in.base)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = contract.Transport{Base: &http.Transport{}, Check: func(x contract.Exchange) {
		v := doc.Violations(x)
		mu.Lock()
		defer mu.Unlock()
		exchanges++
		for _, v := range v {
			violations = append(violations, x.String()+": "+v)
		}
	}}
	front := httptest.NewServer(proxy)
	defer front.Close()

	failures := t.TempDir() + "/failures"
	script := walkthroughPrelude + strings.Join(blocks, "\n")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Env = append(os.Environ(), "API="+front.URL, "WALKTHROUGH_CLOCK="+control.URL, "FAILURES="+failures,
		"WARP="+strconv.Itoa(int(clk.now().Sub(time.Now()).Round(time.Second)/time.Second)),
		"TZ=UTC", "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	bad, _ := os.ReadFile(failures)
	if runErr != nil || len(bad) > 0 {
		t.Fatalf("the README walkthrough failed: %v\n%s\noutput:\n%s", runErr, bad, tail(out.String(), 4000))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		t.Errorf("%d of the walkthrough's %d exchanges break api/openapi.yaml:\n%s", len(violations), exchanges, strings.Join(violations, "\n"))
	}
	if exchanges < 40 {
		t.Errorf("only %d exchanges went through the checking proxy", exchanges)
	}
	if testing.Verbose() {
		t.Logf("walkthrough output:\n%s", out.String())
	}
	if n := len(fake.Delivered()); n == 0 {
		t.Errorf("the walkthrough's pushes never reached the FCM fake")
	}
}

// walkthroughPrelude makes the README's commands fail loudly: curl is a
// function that prints the body as curl -s would, and records and fails
// on any status but 2xx (or $EXPECT); sleep moves the server's clock, and
// date reads that clock.
const walkthroughPrelude = `set -euo pipefail
curl() {
  local out status want="${EXPECT:-2xx}"
  if ! out=$(command curl --silent --show-error --write-out '\n%{http_code}' "$@"); then
    echo "curl failed: curl $*" >> "$FAILURES"; return 1
  fi
  status=${out##*$'\n'}
  printf '%s' "${out%$'\n'*}"
  if [[ ( "$want" == 2xx && "$status" != 2?? ) || ( "$want" != 2xx && "$status" != "$want" ) ]]; then
    echo "HTTP $status (want $want) from: curl $*" >> "$FAILURES"; return 1
  fi
}
WARP=${WARP:-0}
sleep() {
  command curl --silent --fail -X POST "$WALKTHROUGH_CLOCK/advance?seconds=$1" > /dev/null
  WARP=$((WARP + $1))
  command sleep 1.5 # a few scheduler ticks
}
date() { # GNU date on the server's clock: "now" is $WARP seconds ahead
  local now rel="" args=()
  now=$(command date -u -d "@$(( $(command date +%s) + WARP ))" '+%F %T UTC')
  while (( $# )); do
    case "$1" in
      -d) rel=$2; shift 2 ;;
      *) args+=("$1"); shift ;;
    esac
  done
  command date -d "$now $rel" "${args[@]}"
}
`

// walkthroughBlocks returns the ```sh blocks of the README's Walkthrough
// section and the CONCORD_* variables its ```bash block starts Concord with.
func walkthroughBlocks(t *testing.T, readme string) ([]string, map[string]string) {
	t.Helper()
	start := strings.Index(readme, "\n## Walkthrough")
	if start < 0 {
		t.Fatal("README has no Walkthrough section")
	}
	section := readme[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	fence := regexp.MustCompile("(?ms)^```(sh|bash)\n(.*?)^```$")
	var blocks []string
	vars := map[string]string{}
	assign := regexp.MustCompile(`(CONCORD_[A-Z_]+)=('[^']*'|\S+)`)
	for _, m := range fence.FindAllStringSubmatch(section, -1) {
		if m[1] == "sh" {
			blocks = append(blocks, m[2])
			continue
		}
		for _, a := range assign.FindAllStringSubmatch(m[2], -1) {
			vars[a[1]] = strings.Trim(a[2], "'")
		}
	}
	if len(blocks) < 5 || vars["CONCORD_ADMIN_EMAIL"] == "" {
		t.Fatalf("README walkthrough: %d sh blocks, server variables %v", len(blocks), vars)
	}
	return blocks, vars
}

// untilNext is how long until the next whole second at the London wall
// time at ("HH:MM"), for running the walkthrough as if at that hour.
func untilNext(t *testing.T, at string) time.Duration {
	t.Helper()
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	clock, err := time.Parse("15:04", at)
	if err != nil {
		t.Fatalf("CONCORD_WALKTHROUGH_AT=%q: want HH:MM (London)", at)
	}
	now := time.Now().In(london)
	next := time.Date(now.Year(), now.Month(), now.Day(), clock.Hour(), clock.Minute(), 0, 0, london)
	if !next.After(now) {
		next = next.AddDate(0, 0, 1)
	}
	return next.Sub(now).Truncate(time.Second)
}

// warpClock is the wall clock plus an offset that only grows.
type warpClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *warpClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *warpClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
