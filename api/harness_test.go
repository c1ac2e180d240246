package api_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/concord-health/concord/api"
	"github.com/concord-health/concord/internal/contract"
	"github.com/concord-health/concord/internal/graphtest"
	"github.com/concord-health/concord/push/fcmfake"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// harness is the whole HTTP stack on a fresh store (CONCORD_TEST_STORE):
// the graph run() builds (graphtest), push disabled.
type harness struct {
	app    *fiber.App
	store  store.Store
	clock  *graphtest.Clock
	key    ed25519.PrivateKey
	tokens *services.Tokens
	auth   *services.Auth
	log    *bytes.Buffer
	// registry holds the metrics served at /metrics.
	registry *prometheus.Registry
	consents *services.Consents
	notes    *services.Notifications
	// planner, flags, carerAlerts and delivery are what the scheduler's
	// steps call.
	planner     *services.DosePlanner
	flags       *services.Flags
	carerAlerts *services.CarerAlerts
	delivery    *services.Delivery
}

// harnessStart is the harness clock's time when a test starts.
var harnessStart = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

type harnessOption func(*api.Config)

func newHarness(t testing.TB, opts ...harnessOption) *harness {
	t.Helper()
	return newHarnessOn(t, storetest.New(t), opts...)
}

// newHarnessOn is newHarness on the store st.
func newHarnessOn(t testing.TB, st store.Store, opts ...harnessOption) *harness {
	t.Helper()
	return buildHarness(t, st, graphtest.NewClock(harnessStart), nil, graphtest.Options{}, opts...)
}

// newHarnessHearing is newHarness whose consents also tell heard of every
// end of a consent.
func newHarnessHearing(t testing.TB, heard services.ConsentObserver, opts ...harnessOption) *harness {
	t.Helper()
	return buildHarness(t, storetest.New(t), graphtest.NewClock(harnessStart), nil,
		graphtest.Options{ConsentObservers: []services.ConsentObserver{heard}}, opts...)
}

// newHarnessPushing is newHarness whose delivery pushes through the real
// Firebase SDK to the fake FCM server it returns.
func newHarnessPushing(t testing.TB) (*harness, *fcmfake.Server) {
	t.Helper()
	clk := graphtest.NewClock(harnessStart)
	fake, fcm := graphtest.FCM(t, clk)
	return buildHarness(t, storetest.New(t), clk, fcm, graphtest.Options{}), fake
}

func buildHarness(t testing.TB, st store.Store, clk *graphtest.Clock, sender services.Sender, g graphtest.Options, opts ...harnessOption) *harness {
	t.Helper()
	logBuf := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: logBuf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g.HTTP = func(cfg *api.Config) {
		cfg.AuthPerAddress = api.Limit{Burst: 1000, Per: time.Minute}
		cfg.AuthPerAccount = api.Limit{Burst: 1000, Per: time.Minute}
		for _, o := range opts {
			o(cfg)
		}
	}
	if _, bench := t.(*testing.B); !bench && g.Auth == nil {
		// A loaded CI machine must not turn waiting for a hashing slot into
		// 503s that the tests did not ask for: tests wait up to a minute
		// (services' own tests cover the refusal). Benchmarks keep the
		// production bound, which is what they measure.
		g.Auth = []services.AuthOption{services.PasswordHashing(runtime.GOMAXPROCS(0), time.Minute)}
	}
	graph := graphtest.New(t, st, clk, log, sender, g)
	return &harness{app: graph.App, store: st, clock: graph.Clock, key: graph.Key, tokens: graph.Tokens, auth: graph.Auth,
		log: logBuf, registry: graph.Registry, consents: graph.Consents, notes: graph.Notifications,
		planner: graph.Planner, flags: graph.Flags, carerAlerts: graph.CarerAlerts, delivery: graph.Delivery}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic map.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// problemCode returns the problem+json code, failing if the response is not one.
func (r response) problemCode(t *testing.T) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json; body %s", ct, r.body)
	}
	code, _ := r.json(t)["code"].(string)
	return code
}

// fields returns the field names of a problem's errors.
func (r response) fields(t *testing.T) []string {
	t.Helper()
	var out []string
	errs, _ := r.json(t)["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

// do sends a request through the Fiber app. body may be nil, a string (sent
// as is) or a value (sent as JSON).
func (h *harness) do(t testing.TB, method, path, token string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	var reqBody []byte
	if rd != nil {
		reqBody, _ = io.ReadAll(rd)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	res, err := h.app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	checkExchange(t, contract.Exchange{Method: method, Target: path, ReqHeader: req.Header, ReqBody: reqBody,
		Status: res.StatusCode, Header: res.Header, Body: b})
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// account is a registered user with a live session.
type account struct {
	ID, Email, Access, Refresh string
}

// register creates a user of a self-service role through the API.
func (h *harness) register(t testing.TB, email, role string) account {
	t.Helper()
	r := h.do(t, "POST", "/v1/auth/register", "", map[string]any{
		"email": email, "password": "correct horse battery", "name": "Test " + role, "role": role, "timezone": "Europe/London",
	})
	if r.status != http.StatusCreated {
		t.Fatalf("register %s: %d %s", email, r.status, r.body)
	}
	return accountOf(t, r)
}

func accountOf(t testing.TB, r response) account {
	t.Helper()
	var res services.AuthResult
	if err := json.Unmarshal(r.body, &res); err != nil {
		t.Fatal(err)
	}
	return account{ID: res.User.ID, Email: res.User.Email, Access: res.AccessToken, Refresh: res.RefreshToken}
}

// doHTTP sends a request over a real TCP connection: some limits (the body
// size) are enforced by the HTTP server before Fiber's test path sees them.
func (h *harness) doHTTP(t *testing.T, method, path, body string) response {
	t.Helper()
	base := h.serve(t)
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	client := validating(t, nil)
	defer client.CloseIdleConnections()
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// serve starts the app on a real TCP listener on the loopback address and
// returns its base URL ("http://127.0.0.1:port"); it stops with the test.
// Requests over it reuse fasthttp's connection and request buffers as in
// production, which the app.Test path does not always do. Send requests
// with a client from validating(t, …) so that they are checked against
// the contract.
func (h *harness) serve(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = h.app.Listener(ln) }()
	t.Cleanup(func() { _ = h.app.Shutdown() })
	return "http://" + ln.Addr().String()
}
