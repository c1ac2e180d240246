package api_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/concord-health/concord/api"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// harness is the whole HTTP stack on a fresh store (CONCORD_TEST_STORE).
type harness struct {
	app    *fiber.App
	store  store.Store
	clock  *clock
	key    ed25519.PrivateKey
	tokens *services.Tokens
	auth   *services.Auth
	log    *bytes.Buffer
	// registry holds the HTTP metrics served at /metrics.
	registry *prometheus.Registry
	// consents lets tests observe consent changes (AddObserver).
	consents *services.Consents
	// doses, flags and carerAlerts are what the scheduler's steps call.
	doses       *services.Doses
	flags       *services.Flags
	carerAlerts *services.CarerAlerts
}

type harnessOption func(*api.Config)

func newHarness(t testing.TB, opts ...harnessOption) *harness {
	t.Helper()
	return newHarnessOn(t, storetest.New(t), opts...)
}

// newHarnessOn is newHarness on the store st.
func newHarnessOn(t testing.TB, st store.Store, opts ...harnessOption) *harness {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	logBuf := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: logBuf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tokens := services.NewTokens(key, clk.Now)
	auth := services.NewAuth(st.Users(), st.Sessions(), tokens, clk.Now, log)
	doses := services.NewDoses(st.Doses(), st.Medications(), clk.Now, log)
	auth.SetTimezoneObserver(doses) // future doses move with the patient's time zone
	auth.SetPharmacies(st.Pharmacies())
	consents := services.NewConsents(st.Consents(), st.Pharmacies(), clk.Now, log)
	access := services.NewAccess(st.Users(), st.Care(), st.Consents(), st.Audit(), clk.Now, log)
	readings := services.NewReadings(st.Readings(), clk.Now, log)
	care := services.NewCare(st.Care(), st.Users(), clk.Now, log)
	inbox := services.NewNotifications(st.Notifications(), services.NewNotificationMetrics(nil), clk.Now, log)
	flags := services.NewFlags(st.Flags(), services.FlagSources{Planner: doses, Doses: st.Doses(), Medications: st.Medications(), Readings: st.Readings()},
		st.Users(), consents, access, clk.Now, log)
	carerAlerts := services.NewCarerAlerts(care, inbox, clk.Now, log)
	readings.AddObserver(flags)
	readings.AddObserver(carerAlerts)
	consents.AddObserver(flags)
	cfg := api.DefaultConfig()
	cfg.AuthPerAddress = api.Limit{Burst: 1000, Per: time.Minute}
	cfg.AuthPerAccount = api.Limit{Burst: 1000, Per: time.Minute}
	for _, o := range opts {
		o(&cfg)
	}
	reg := prometheus.NewRegistry()
	app := api.New(cfg, api.Deps{
		Accounts: auth, Access: access, JWKS: tokens.JWKS, Store: st, Registry: reg, Log: log, Now: clk.Now,
		Medications: services.NewMedications(st.Medications(), doses, clk.Now, log), Doses: doses,
		Readings: readings,

		Pharmacies: services.NewPharmacies(st.Pharmacies(), clk.Now, log), Consents: consents,
		Care: care, AccessLog: access,

		Devices: services.NewDevices(st.Devices(), clk.Now, log),
		Inbox:   inbox,

		Flags: flags, Summaries: services.NewSummaries(doses, st.Medications(), st.Readings(), st.Flags(), clk.Now),
	})
	return &harness{app: app, store: st, clock: clk, key: key, tokens: tokens, auth: auth, log: logBuf, registry: reg, consents: consents,
		doses: doses, flags: flags, carerAlerts: carerAlerts}
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
	res, err := h.app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = h.app.Listener(ln) }()
	t.Cleanup(func() { _ = h.app.Shutdown() })
	req, err := http.NewRequest(method, "http://"+ln.Addr().String()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
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
// production, which the app.Test path does not always do.
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
