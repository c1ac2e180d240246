package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/concord-health/concord/store/sqlite"
	"github.com/concord-health/concord/store/storetest"
)

// These tests start the whole service through run, as a new user would, on
// its own data directory and a free loopback port, and talk to it over HTTP.

// syncBuffer is the service's stdout: written by its loggers, read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// records returns the JSON log lines written so far.
func (b *syncBuffer) records() []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil {
			out = append(out, rec)
		}
	}
	return out
}

// find returns the first log record with message msg.
func (b *syncBuffer) find(msg string) (map[string]any, bool) {
	for _, rec := range b.records() {
		if rec["msg"] == msg {
			return rec, true
		}
	}
	return nil, false
}

// instance is one running service.
type instance struct {
	base   string // http://127.0.0.1:port
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// env returns a getenv over vars; anything else is unset.
func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

// baseEnv is the configuration of a fresh instance on dataDir.
func baseEnv(dataDir string) map[string]string {
	return map[string]string{
		"CONCORD_DATA_DIR": dataDir,
		"CONCORD_ADDR":     "127.0.0.1:0",
	}
}

// storeEnv is baseEnv on the backend the tests run on (CONCORD_TEST_STORE):
// on mongodb, a database of its own on the test server.
func storeEnv(t *testing.T, dataDir string) map[string]string {
	t.Helper()
	vars := baseEnv(dataDir)
	if storetest.Backend() == storetest.MongoDB {
		vars["MONGODB_URI"], vars["CONCORD_DB_NAME"] = storetest.MongoTarget(t)
	}
	return vars
}

// launch calls run in a goroutine; a panic is reported as an error.
func launch(vars map[string]string) *instance { return launchOn(vars, time.Now) }

// launchOn is launch on the clock clock.
func launchOn(vars map[string]string, clock func() time.Time) *instance {
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		defer func() {
			if r := recover(); r != nil {
				in.done <- fmt.Errorf("run panicked: %v", r)
			}
		}()
		in.done <- runOn(ctx, env(vars), in.logs, clock)
	}()
	return in
}

// start runs the service and waits until it logs the address it listens on.
// The service is stopped when the test ends if the test has not stopped it.
func start(t *testing.T, vars map[string]string) *instance {
	t.Helper()
	return startOn(t, vars, time.Now)
}

// startOn is start on the clock clock.
func startOn(t *testing.T, vars map[string]string, clock func() time.Time) *instance {
	t.Helper()
	in := launchOn(vars, clock)
	deadline := time.After(30 * time.Second)
	for {
		if rec, ok := in.logs.find("listening"); ok {
			addr, _ := rec["addr"].(string)
			if addr == "" {
				in.cancel()
				t.Fatalf("listening log record has no addr: %v", rec)
			}
			in.base = "http://" + addr
			break
		}
		select {
		case err := <-in.done:
			in.cancel()
			t.Fatalf("run returned before listening: %v\nlog:\n%s", err, in.logs)
		case <-deadline:
			in.cancel()
			t.Fatalf("no \"listening\" log record within 30s\nlog:\n%s", in.logs)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Cleanup(func() {
		in.cancel()
		select {
		case <-in.done:
		case <-time.After(60 * time.Second):
		}
	})
	return in
}

// stop cancels the context, as SIGTERM does, and returns what run returned.
func (in *instance) stop(t *testing.T) error {
	t.Helper()
	in.cancel()
	select {
	case err := <-in.done:
		in.done <- err // later stops and the cleanup see it too
		return err
	case <-time.After(40 * time.Second):
		t.Fatalf("run did not return within 40s of cancellation\nlog:\n%s", in.logs)
		return nil
	}
}

var client = &http.Client{Timeout: 15 * time.Second}

// call sends a JSON request and returns the status and body.
func (in *instance) call(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("encode %s %s body: %v", method, path, err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, in.base+path, r)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return res.StatusCode, got
}

// authResult is the body of register and login.
type authResult struct {
	User struct {
		ID       string `json:"id"`
		Email    string `json:"email"`
		Name     string `json:"name"`
		Role     string `json:"role"`
		Timezone string `json:"timezone"`
	} `json:"user"`
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	ExpiresIn    int    `json:"expiresIn"`
}

type userBody struct {
	ID           string `json:"id"`
	Email        string `json:"email"`
	Role         string `json:"role"`
	Timezone     string `json:"timezone"`
	PasswordHash string `json:"passwordHash"`
}

func decodeJSON(t *testing.T, what string, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s: decode %s: %v", what, body, err)
	}
}

// register signs up a patient and checks the response.
func (in *instance) register(t *testing.T, email, password string) authResult {
	t.Helper()
	status, body := in.call(t, http.MethodPost, "/v1/auth/register", "", map[string]string{
		"email": email, "password": password, "name": "Ada Patient", "role": "patient", "timezone": "Europe/London",
	})
	if status != http.StatusCreated {
		t.Fatalf("register %s: status %d, want 201; body %s", email, status, body)
	}
	var res authResult
	decodeJSON(t, "register", body, &res)
	if res.User.ID == "" || res.User.Email != email || res.User.Role != "patient" || res.User.Timezone != "Europe/London" {
		t.Fatalf("register %s: unexpected user %+v", email, res.User)
	}
	if res.AccessToken == "" || res.RefreshToken == "" || res.ExpiresIn <= 0 {
		t.Fatalf("register %s: missing tokens in %s", email, body)
	}
	return res
}

// login logs in and checks the response.
func (in *instance) login(t *testing.T, email, password string) authResult {
	t.Helper()
	status, body := in.call(t, http.MethodPost, "/v1/auth/login", "", map[string]string{"email": email, "password": password})
	if status != http.StatusOK {
		t.Fatalf("login %s: status %d, want 200; body %s", email, status, body)
	}
	var res authResult
	decodeJSON(t, "login", body, &res)
	if res.AccessToken == "" || res.User.Email != email {
		t.Fatalf("login %s: unexpected body %s", email, body)
	}
	return res
}

// me calls GET /v1/me and checks it is the user with id.
func (in *instance) me(t *testing.T, token, id string) {
	t.Helper()
	status, body := in.call(t, http.MethodGet, "/v1/me", token, nil)
	if status != http.StatusOK {
		t.Fatalf("GET /v1/me: status %d, want 200; body %s", status, body)
	}
	var u userBody
	decodeJSON(t, "GET /v1/me", body, &u)
	if u.ID != id {
		t.Fatalf("GET /v1/me: id %q, want %q", u.ID, id)
	}
	if u.PasswordHash != "" || strings.Contains(string(body), "argon2") {
		t.Fatalf("GET /v1/me shows the password hash: %s", body)
	}
}

func TestRunServesAndShutsDown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := start(t, storeEnv(t, dir))

	for _, tc := range []struct{ path, field, want string }{
		{"/healthz", "status", "ok"},
		{"/readyz", "status", "ready"},
	} {
		status, body := in.call(t, http.MethodGet, tc.path, "", nil)
		if status != http.StatusOK {
			t.Fatalf("GET %s: status %d, want 200; body %s", tc.path, status, body)
		}
		var m map[string]any
		decodeJSON(t, tc.path, body, &m)
		if m[tc.field] != tc.want {
			t.Errorf("GET %s: %s = %v, want %q", tc.path, tc.field, m[tc.field], tc.want)
		}
	}

	// The web workspace is served on the same port, at the URL the
	// listening record gives: signed out, it is the sign-in page.
	rec, _ := in.logs.find("listening")
	if ws, _ := rec["workspace"].(string); ws != in.base+"/app/" {
		t.Errorf("listening record's workspace = %q, want %q", ws, in.base+"/app/")
	}
	if res, err := client.Get(in.base + "/app/"); err != nil {
		t.Errorf("GET /app/: %v", err)
	} else {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/app/sign-in" || !strings.Contains(string(body), "Sign in") {
			t.Errorf("GET /app/: %d at %s, want the sign-in page", res.StatusCode, res.Request.URL.Path)
		}
	}

	reg := in.register(t, "ada@example.org", "correct horse battery")
	in.me(t, reg.AccessToken, reg.User.ID)
	if status, body := in.call(t, http.MethodGet, "/v1/me", "", nil); status != http.StatusUnauthorized {
		t.Errorf("GET /v1/me without a token: status %d, want 401; body %s", status, body)
	}

	if err := in.stop(t); err != nil {
		t.Fatalf("run after cancellation = %v, want nil\nlog:\n%s", err, in.logs)
	}
	opened := "embedded store opened"
	if storetest.Backend() == storetest.MongoDB {
		opened = "mongodb store opened"
	}
	for _, msg := range []string{opened, "listening", "shutting down", "store closed"} {
		if _, ok := in.logs.find(msg); !ok {
			t.Errorf("log has no %q record\nlog:\n%s", msg, in.logs)
		}
	}
	if rec, ok := in.logs.find("store did not close cleanly"); ok {
		t.Errorf("store did not close cleanly: %v", rec)
	}
	// Secrets never reach the log.
	logs := in.logs.String()
	for _, secret := range []string{"correct horse battery", reg.AccessToken, reg.RefreshToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains a secret %.12q…", secret)
		}
	}
	// After shutdown the port is closed…
	if res, err := client.Get(in.base + "/healthz"); err == nil {
		res.Body.Close()
		t.Errorf("GET /healthz after shutdown answered %d, want a connection error", res.StatusCode)
	}

	// …and the directory lock is free: the same directory starts again.
	again := start(t, baseEnv(dir))
	if status, body := again.call(t, http.MethodGet, "/readyz", "", nil); status != http.StatusOK {
		t.Fatalf("GET /readyz after restart: status %d; body %s", status, body)
	}
	if err := again.stop(t); err != nil {
		t.Fatalf("second run = %v, want nil", err)
	}
}

func TestRestartKeepsDataAndSigningKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "jwt-ed25519.pem")
	const email, password = "bea@example.org", "a long enough password"

	vars := storeEnv(t, dir)
	first := start(t, vars)
	reg := first.register(t, email, password)
	first.me(t, reg.AccessToken, reg.User.ID)
	if err := first.stop(t); err != nil {
		t.Fatalf("first run = %v, want nil", err)
	}

	fi, err := os.Stat(keyPath)
	if err != nil {
		t.Fatalf("signing key not kept in the data directory: %v", err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("signing key mode %v, want 0600", mode)
	}
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(key, []byte("-----BEGIN PRIVATE KEY-----")) {
		t.Errorf("signing key is not a PKCS#8 PEM file:\n%s", key)
	}

	second := start(t, vars)
	// Same key: a token issued before the restart is still accepted.
	second.me(t, reg.AccessToken, reg.User.ID)
	// Same data: the account and its password are still there.
	res := second.login(t, email, password)
	if res.User.ID != reg.User.ID {
		t.Errorf("login after restart: user id %q, want %q", res.User.ID, reg.User.ID)
	}
	second.me(t, res.AccessToken, reg.User.ID)
	// The e-mail is still taken.
	status, body := second.call(t, http.MethodPost, "/v1/auth/register", "", map[string]string{
		"email": email, "password": password, "name": "Someone Else", "role": "patient", "timezone": "Europe/London",
	})
	if status != http.StatusConflict {
		t.Errorf("register a taken e-mail after restart: status %d, want 409; body %s", status, body)
	}
	if err := second.stop(t); err != nil {
		t.Fatalf("second run = %v, want nil", err)
	}

	after, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, key) {
		t.Error("signing key file changed across a restart")
	}
}

// runToError runs the service expecting it to fail at start-up. If it serves
// instead, it is stopped after a while and the test fails.
func runToError(t *testing.T, vars map[string]string) (*syncBuffer, error) {
	t.Helper()
	in := launch(vars)
	select {
	case err := <-in.done:
		in.cancel()
		if err == nil {
			t.Fatalf("run returned nil, want a start-up error\nlog:\n%s", in.logs)
		}
		return in.logs, err
	case <-time.After(30 * time.Second):
		err := in.stop(t)
		t.Fatalf("run still running after 30s (returned %v when stopped), want a start-up error\nlog:\n%s", err, in.logs)
		return nil, nil
	}
}

func TestSecondProcessOnSameDataDirFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := start(t, baseEnv(dir))
	reg := first.register(t, "cy@example.org", "a long enough password")

	logs, err := runToError(t, baseEnv(dir))
	if !errors.Is(err, sqlite.ErrDataDirLocked) {
		t.Fatalf("second run on the same directory = %v, want sqlite.ErrDataDirLocked", err)
	}
	if !strings.Contains(err.Error(), "in use") {
		t.Errorf("error %q does not say the data directory is in use", err)
	}
	if _, ok := logs.find("listening"); ok {
		t.Errorf("second run started serving\nlog:\n%s", logs)
	}

	// The first is unharmed.
	first.me(t, reg.AccessToken, reg.User.ID)
	if err := first.stop(t); err != nil {
		t.Fatalf("first run = %v, want nil", err)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	notAKey := filepath.Join(t.TempDir(), "not-a-key.pem")
	if err := os.WriteFile(notAKey, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		vars map[string]string
		want []string // what the error must say: the variable at fault
	}{
		{"scheduler interval not a duration", map[string]string{"CONCORD_SCHEDULER_INTERVAL": "soon"}, []string{"CONCORD_SCHEDULER_INTERVAL"}},
		{"scheduler interval too short", map[string]string{"CONCORD_SCHEDULER_INTERVAL": "1ms"}, []string{"CONCORD_SCHEDULER_INTERVAL"}},
		{"unknown log level", map[string]string{"CONCORD_LOG_LEVEL": "loud"}, []string{"CONCORD_LOG_LEVEL"}},
		{"missing key file", map[string]string{"CONCORD_JWT_KEY_FILE": "/nonexistent/jwt.pem"}, []string{"CONCORD_JWT_KEY_FILE"}},
		{"key file not a key", map[string]string{"CONCORD_JWT_KEY_FILE": notAKey}, []string{"CONCORD_JWT_KEY_FILE"}},
		{"missing FCM credentials", map[string]string{"CONCORD_FCM_CREDENTIALS_FILE": "/nonexistent/fcm.json"}, []string{"CONCORD_FCM_CREDENTIALS_FILE"}},
		{"admin e-mail without password", map[string]string{"CONCORD_ADMIN_EMAIL": "admin@example.org"}, []string{"CONCORD_ADMIN_PASSWORD"}},
		{"admin password without e-mail", map[string]string{"CONCORD_ADMIN_PASSWORD": "a long enough password"}, []string{"CONCORD_ADMIN_EMAIL"}},
		{"admin password too short", map[string]string{"CONCORD_ADMIN_EMAIL": "admin@example.org", "CONCORD_ADMIN_PASSWORD": "short"}, []string{"CONCORD_ADMIN", "password"}},
		{"bad database name", map[string]string{"CONCORD_DB_NAME": "my.db"}, []string{"CONCORD_DB_NAME"}},
		{"address in wrong form", map[string]string{"CONCORD_ADDR": "127.0.0.1:http-ish"}, []string{"CONCORD_ADDR"}},
		{"unreachable MongoDB", map[string]string{"MONGODB_URI": "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500&connectTimeoutMS=500"}, []string{"MONGODB_URI"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vars := baseEnv(t.TempDir())
			for k, v := range tc.vars {
				vars[k] = v
			}
			logs, err := runToError(t, vars)
			t.Logf("error: %v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if _, ok := logs.find("listening"); ok {
				t.Errorf("run started serving\nlog:\n%s", logs)
			}
		})
	}
}

func TestFirstAdmin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const adminEmail, adminPassword = "admin@example.org", "admin password 123"
	vars := storeEnv(t, dir)
	vars["CONCORD_ADMIN_EMAIL"] = adminEmail
	vars["CONCORD_ADMIN_PASSWORD"] = adminPassword

	in := start(t, vars)
	if _, ok := in.logs.find("first admin account created"); !ok {
		t.Errorf("log has no \"first admin account created\" record")
	}
	admin := in.login(t, adminEmail, adminPassword)
	if admin.User.Role != "admin" {
		t.Fatalf("first admin has role %q, want admin", admin.User.Role)
	}

	newAdmin := map[string]string{
		"email": "second.admin@example.org", "password": "another admin password", "name": "Second Admin", "role": "admin",
	}
	status, body := in.call(t, http.MethodPost, "/v1/admin/users", admin.AccessToken, newAdmin)
	if status != http.StatusCreated {
		t.Fatalf("admin creates an admin: status %d, want 201; body %s", status, body)
	}
	var created userBody
	decodeJSON(t, "POST /v1/admin/users", body, &created)
	if created.ID == "" || created.Email != newAdmin["email"] || created.Role != "admin" || created.PasswordHash != "" {
		t.Errorf("created user = %s", body)
	}
	second := in.login(t, newAdmin["email"], newAdmin["password"])
	if second.User.ID != created.ID {
		t.Errorf("created admin logs in as %q, want %q", second.User.ID, created.ID)
	}

	patient := in.register(t, "dee@example.org", "a long enough password")
	status, body = in.call(t, http.MethodPost, "/v1/admin/users", patient.AccessToken, map[string]string{
		"email": "sneaky@example.org", "password": "a long enough password", "name": "Sneaky", "role": "admin",
	})
	if status != http.StatusForbidden {
		t.Fatalf("patient creates an admin: status %d, want 403; body %s", status, body)
	}
	var p struct {
		Code string `json:"code"`
	}
	decodeJSON(t, "403 problem", body, &p)
	if p.Code != "forbidden" {
		t.Errorf("403 problem code %q, want forbidden; body %s", p.Code, body)
	}
	if status, body := in.call(t, http.MethodPost, "/v1/auth/login", "", map[string]string{
		"email": "sneaky@example.org", "password": "a long enough password",
	}); status != http.StatusUnauthorized {
		t.Errorf("login as the refused account: status %d, want 401; body %s", status, body)
	}
	if err := in.stop(t); err != nil {
		t.Fatalf("run = %v, want nil", err)
	}

	// Starting again with the same variables (as a compose file does) is
	// not an error and creates nobody: an admin already exists.
	again := start(t, vars)
	if _, ok := again.logs.find("first admin account created"); ok {
		t.Errorf("restart created the first admin again")
	}
	again.login(t, adminEmail, adminPassword)
	if err := again.stop(t); err != nil {
		t.Fatalf("second run = %v, want nil", err)
	}
}
