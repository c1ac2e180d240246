package fuzz_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/api"
	"github.com/concord-health/concord/internal/graphtest"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// fuzzNow is the stack's clock: fixed, so that a seed means the same thing
// on every run (a reading's takenAt is in the past, a token never expires).
var fuzzNow = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// requestTimeout bounds one request through the app: an input that takes
// longer is a finding (a denial of service), not a slow machine.
const requestTimeout = 20 * time.Second

// stack is the whole HTTP stack (the graph run() builds, graphtest, push
// disabled) with one registered patient, built once per fuzz target and
// shared by its inputs.
type stack struct {
	app  *fiber.App
	auth *services.Auth
	logs *logBuffer
	// patient is a registered patient's access token.
	patient string
}

// newStack builds the stack on storetest.New (CONCORD_TEST_STORE) and
// registers a patient in Europe/London.
func newStack(tb testing.TB) *stack {
	tb.Helper()
	logs := &logBuffer{}
	// Warn and above: internal errors and recovered panics, which a
	// failure quotes; request logs would only slow the fuzzer down.
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	g := graphtest.New(tb, storetest.New(tb), graphtest.NewClock(fuzzNow), log, nil, graphtest.Options{
		// The credential routes are not what is fuzzed: their limits must
		// not turn the set-up logins into 429s.
		HTTP: func(cfg *api.Config) {
			cfg.AuthPerAddress = api.Limit{Burst: 1000, Per: time.Minute}
			cfg.AuthPerAccount = api.Limit{Burst: 1000, Per: time.Minute}
		},
	})
	s := &stack{app: g.App, auth: g.Auth, logs: logs}
	s.patient = s.register(tb, "patient@fuzz.example", "patient")
	return s
}

// fuzzPassword is every account's password.
const fuzzPassword = "correct horse battery"

// register creates a self-service account and returns its access token.
func (s *stack) register(tb testing.TB, email, role string) string {
	tb.Helper()
	r := s.do(tb, http.MethodPost, "/v1/auth/register", "", mustJSON(tb, map[string]string{
		"email": email, "password": fuzzPassword, "name": "Fuzz " + role, "role": role, "timezone": "Europe/London",
	}))
	if r.status != http.StatusCreated {
		tb.Fatalf("register %s: %d %s", email, r.status, r.body)
	}
	return accessToken(tb, r)
}

// login signs in and returns the access token.
func (s *stack) login(tb testing.TB, email string) string {
	tb.Helper()
	r := s.do(tb, http.MethodPost, "/v1/auth/login", "", mustJSON(tb, map[string]string{"email": email, "password": fuzzPassword}))
	if r.status != http.StatusOK {
		tb.Fatalf("login %s: %d %s", email, r.status, r.body)
	}
	return accessToken(tb, r)
}

func accessToken(tb testing.TB, r response) string {
	tb.Helper()
	var res struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal(r.body, &res); err != nil || res.AccessToken == "" {
		tb.Fatalf("no access token in %s (%v)", r.body, err)
	}
	return res.AccessToken
}

// response is a finished exchange.
type response struct {
	method, target string
	status         int
	header         http.Header
	body           []byte
	// logs is what the service logged at warn or above while serving it.
	logs string
}

// String describes the exchange for a failure message.
func (r response) String() string {
	s := fmt.Sprintf("%s %s: %d %s\nbody: %.2000s", r.method, r.target, r.status, r.header.Get("Content-Type"), r.body)
	if r.logs != "" {
		s += "\nservice log:\n" + r.logs
	}
	return s
}

// do sends one request through the app (no network). target is the path
// and query, already escaped; body nil sends none, anything else is sent as
// application/json.
func (s *stack) do(tb testing.TB, method, target, token string, body []byte) response {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://concord.test"+target, rd)
	if err != nil {
		tb.Fatalf("%s %s: build the request: %v", method, target, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	s.logs.Reset()
	res, err := s.app.Test(req, int(requestTimeout/time.Millisecond))
	if err != nil {
		tb.Fatalf("%s %s: no response within %s: %v\nbody: %.2000q", method, target, requestTimeout, err, body)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("%s %s: read the response: %v", method, target, err)
	}
	return response{method: method, target: target, status: res.StatusCode, header: res.Header, body: got, logs: s.logs.String()}
}

// problemCodes are the codes a 4xx may carry, by status (api/problem.go).
var problemCodes = map[int]string{
	http.StatusBadRequest:            "invalid",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "too_large",
	http.StatusTooManyRequests:       "rate_limited",
}

// checkServed holds for every response: not a 5xx (which is also how a
// recovered panic shows), and a 4xx is application/problem+json whose code
// is the one of its status, whose status field is the HTTP status and
// whose field errors each say what is wrong.
func checkServed(t *testing.T, r response) {
	t.Helper()
	if r.status >= 500 {
		t.Fatalf("5xx: %s", r)
	}
	if r.status < 400 {
		return
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("a %d is %q, want application/problem+json: %s", r.status, ct, r)
	}
	var p struct {
		Code   string `json:"code"`
		Status int    `json:"status"`
		Errors []struct {
			Problem string `json:"problem"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("a %d problem is not a JSON object (%v): %s", r.status, err, r)
	}
	if want, ok := problemCodes[r.status]; !ok || p.Code != want {
		t.Fatalf("a %d problem has code %q, want %q: %s", r.status, p.Code, want, r)
	}
	if p.Status != r.status {
		t.Fatalf("a %d problem says status %d: %s", r.status, p.Status, r)
	}
	for _, e := range p.Errors {
		if e.Problem == "" {
			t.Fatalf("a problem's field error says nothing: %s", r)
		}
	}
}

// problemFields returns the fields a problem's errors name.
func problemFields(r response) []string {
	var p struct {
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(r.body, &p)
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

// jsonObject decodes a 2xx body as a JSON object.
func jsonObject(t *testing.T, r response) map[string]any {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("a %d is %q, want application/json: %s", r.status, ct, r)
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("a %d body is not a JSON object (%v): %s", r.status, err, r)
	}
	return m
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// logBuffer collects the service's log records; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
