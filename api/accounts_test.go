package api_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/api"
	"github.com/concord-health/concord/services"
)

func TestRegisterLoginMe(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.register(t, " Ann@Example.ORG ", "patient")
	if a.Email != "ann@example.org" {
		t.Errorf("e-mail not normalised: %q", a.Email)
	}
	r := h.do(t, "GET", "/v1/me", a.Access, nil)
	if r.status != 200 {
		t.Fatalf("me: %d %s", r.status, r.body)
	}
	me := r.json(t)
	if me["id"] != a.ID || me["role"] != "patient" || me["timezone"] != "Europe/London" {
		t.Errorf("me = %v", me)
	}
	if strings.Contains(string(r.body), "argon2") || strings.Contains(strings.ToLower(string(r.body)), "password") {
		t.Errorf("password material in response: %s", r.body)
	}
	if strings.Contains(h.log.String(), "correct horse") {
		t.Error("password logged")
	}

	r = h.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": "ANN@example.org", "password": "correct horse battery"})
	if r.status != 200 {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	for _, bad := range []map[string]any{
		{"email": "ann@example.org", "password": "wrong password!"},
		{"email": "nobody@example.org", "password": "correct horse battery"},
	} {
		r = h.do(t, "POST", "/v1/auth/login", "", bad)
		if r.status != 401 || r.problemCode(t) != "unauthorized" {
			t.Errorf("bad login %v: %d %s", bad, r.status, r.body)
		}
	}
}

func TestRegisterValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tests := []struct {
		name       string
		body       any
		wantStatus int
		wantFields []string
	}{
		{"every field bad", map[string]any{"email": "not-an-email", "password": "short", "name": "", "role": "pharmacist", "timezone": "Mars/Olympus"},
			400, []string{"email", "password", "name", "timezone", "role"}},
		{"admin cannot self-register", map[string]any{"email": "x@example.org", "password": "long enough pw", "name": "X", "role": "admin"}, 400, []string{"role"}},
		{"unknown field", map[string]any{"email": "x@example.org", "password": "long enough pw", "name": "X", "role": "patient", "isAdmin": true}, 400, []string{"isAdmin"}},
		{"wrong type", `{"email": 42}`, 400, []string{"email"}},
		{"syntax error", `{"email": "x@example.org",`, 400, nil},
		{"trailing data", `{"email": "x@example.org"} {}`, 400, nil},
		{"empty body", ``, 400, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(t, "POST", "/v1/auth/register", "", tc.body)
			if r.status != tc.wantStatus || r.problemCode(t) != "invalid" {
				t.Fatalf("status %d body %s", r.status, r.body)
			}
			if tc.wantFields != nil {
				if diff := cmp.Diff(tc.wantFields, r.fields(t)); diff != "" {
					t.Errorf("fields (-want +got):\n%s", diff)
				}
			}
		})
	}
	// Syntax errors carry a position.
	r := h.do(t, "POST", "/v1/auth/register", "", `{"email": "x@example.org", oops}`)
	if detail, _ := r.json(t)["detail"].(string); !strings.Contains(detail, "at byte 2") {
		t.Errorf("syntax error without position: %s", r.body)
	}
	// Not JSON at all.
	r = h.do(t, "POST", "/v1/auth/register", "", "email=x", "Content-Type", "application/x-www-form-urlencoded")
	if r.status != 400 || r.problemCode(t) != "invalid" {
		t.Errorf("form body: %d %s", r.status, r.body)
	}
	// Nothing was stored.
	r = h.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": "x@example.org", "password": "long enough pw"})
	if r.status != 401 {
		t.Errorf("a rejected registration was stored: login %d", r.status)
	}
}

func TestDuplicateEmail(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.register(t, "dup@example.org", "patient")
	r := h.do(t, "POST", "/v1/auth/register", "", map[string]any{
		"email": "DUP@example.org", "password": "another password", "name": "B", "role": "carer",
	})
	if r.status != http.StatusConflict || r.problemCode(t) != "conflict" {
		t.Fatalf("duplicate: %d %s", r.status, r.body)
	}
	if diff := cmp.Diff([]string{"email"}, r.fields(t)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *api.Config) { c.BodyLimit = 1024 })
	big := `{"email":"` + strings.Repeat("a", 4096) + `@example.org"}`
	r := h.doHTTP(t, "POST", "/v1/auth/login", big)
	if r.status != http.StatusRequestEntityTooLarge || r.problemCode(t) != "too_large" {
		t.Fatalf("big body: %d %s", r.status, r.body)
	}
}

// signWith returns a token with the given header/claims, signed by signer.
func forge(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAccessTokenAttacks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.register(t, "victim@example.org", "patient")
	// The session id of the genuine token, so forged tokens differ only in
	// what each attack changes.
	parsed, _, err := jwt.NewParser().ParseUnverified(a.Access, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	good := parsed.Claims.(jwt.MapClaims)
	kid := h.tokens.KeyID()
	now := h.clock.Now()
	claims := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{}
		for k, v := range good {
			c[k] = v
		}
		change(c)
		return c
	}
	pub := h.key.Public().(ed25519.PublicKey)

	// Sanity: a token we forge with the real key and unchanged claims works,
	// so each refusal below is due to the attack alone.
	if r := h.do(t, "GET", "/v1/me", forge(t, jwt.SigningMethodEdDSA, h.key, kid, claims(func(jwt.MapClaims) {})), nil); r.status != 200 {
		t.Fatalf("control token refused: %d %s", r.status, r.body)
	}

	noneToken := forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, claims(func(jwt.MapClaims) {}))
	hsToken := forge(t, jwt.SigningMethodHS256, []byte(pub), kid, claims(func(jwt.MapClaims) {}))
	parts := strings.Split(a.Access, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tamperedPayload := strings.Replace(string(payload), `"role":"patient"`, `"role":"admin"`, 1)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(tamperedPayload)) + "." + parts[2]
	_, otherKey, _ := ed25519.GenerateKey(nil)

	attacks := map[string]string{
		"alg none":          noneToken,
		"HS256 with public": hsToken,
		"expired":           forge(t, jwt.SigningMethodEdDSA, h.key, kid, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })),
		"no exp":            forge(t, jwt.SigningMethodEdDSA, h.key, kid, claims(func(c jwt.MapClaims) { delete(c, "exp") })),
		"wrong audience":    forge(t, jwt.SigningMethodEdDSA, h.key, kid, claims(func(c jwt.MapClaims) { c["aud"] = []string{"someone-else"} })),
		"no audience":       forge(t, jwt.SigningMethodEdDSA, h.key, kid, claims(func(c jwt.MapClaims) { delete(c, "aud") })),
		"wrong issuer":      forge(t, jwt.SigningMethodEdDSA, h.key, kid, claims(func(c jwt.MapClaims) { c["iss"] = "evil" })),
		"no issuer":         forge(t, jwt.SigningMethodEdDSA, h.key, kid, claims(func(c jwt.MapClaims) { delete(c, "iss") })),
		"other key":         forge(t, jwt.SigningMethodEdDSA, otherKey, kid, claims(func(jwt.MapClaims) {})),
		"tampered payload":  tampered,
		"garbage":           "not.a.jwt",
	}
	for name, tok := range attacks {
		r := h.do(t, "GET", "/v1/me", tok, nil)
		if r.status != http.StatusUnauthorized || r.problemCode(t) != "unauthorized" {
			t.Errorf("%s: status %d body %s", name, r.status, r.body)
		}
	}
	if r := h.do(t, "GET", "/v1/me", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("no token: %d", r.status)
	}
	// The genuine token expires after 15 minutes.
	h.clock.Advance(15*time.Minute + time.Second)
	if r := h.do(t, "GET", "/v1/me", a.Access, nil); r.status != http.StatusUnauthorized {
		t.Errorf("token past 15 minutes: %d", r.status)
	}
}

func TestTokenClaimsAndJWKS(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.register(t, "claims@example.org", "carer")
	r := h.do(t, "GET", "/.well-known/jwks.json", "", nil)
	keys := r.json(t)["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("jwks: %s", r.body)
	}
	jwk := keys[0].(map[string]any)
	x, err := base64.RawURLEncoding.DecodeString(jwk["x"].(string))
	if err != nil || jwk["kty"] != "OKP" || jwk["crv"] != "Ed25519" {
		t.Fatalf("jwk: %v", jwk)
	}
	// A client verifying with only the JWKS accepts our token.
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(a.Access, claims, func(tok *jwt.Token) (any, error) {
		if tok.Header["kid"] != jwk["kid"] {
			t.Errorf("kid %v not in JWKS", tok.Header["kid"])
		}
		return ed25519.PublicKey(x), nil
	}, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithTimeFunc(h.clock.Now))
	if err != nil || !tok.Valid {
		t.Fatalf("verify with JWKS: %v", err)
	}
	for _, c := range []string{"sub", "role", "iss", "aud", "exp", "iat", "jti"} {
		if _, ok := claims[c]; !ok {
			t.Errorf("claim %s missing", c)
		}
	}
	exp, _ := claims.GetExpirationTime()
	iat, _ := claims.GetIssuedAt()
	if exp.Sub(iat.Time) != 15*time.Minute || claims["role"] != "carer" || claims["sub"] != a.ID {
		t.Errorf("claims = %v", claims)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.register(t, "rot@example.org", "patient")
	refresh := func(tok string) response {
		return h.do(t, "POST", "/v1/auth/refresh", "", map[string]any{"refreshToken": tok})
	}
	r1 := refresh(a.Refresh)
	if r1.status != 200 {
		t.Fatalf("first refresh: %d %s", r1.status, r1.body)
	}
	b := accountOf(t, r1)
	if b.Refresh == a.Refresh {
		t.Fatal("refresh token was not rotated")
	}
	r2 := refresh(b.Refresh)
	if r2.status != 200 {
		t.Fatalf("second refresh: %d", r2.status)
	}
	c := accountOf(t, r2)
	// The stored form is a hash, never the token itself.
	if _, err := h.store.Sessions().Token(t.Context(), c.Refresh); err == nil {
		t.Error("refresh token stored in clear")
	}
	// Replaying the first (spent) token after the reuse grace window:
	// refused, and the family is revoked, so the newest token and its
	// access token stop working too.
	h.clock.Advance(services.RefreshReuseGrace + time.Second)
	if r := refresh(a.Refresh); r.status != 401 {
		t.Fatalf("reused token: %d", r.status)
	}
	if r := refresh(c.Refresh); r.status != 401 {
		t.Errorf("newest token after reuse: %d, want 401", r.status)
	}
	if r := h.do(t, "GET", "/v1/me", c.Access, nil); r.status != 401 {
		t.Errorf("access token of revoked session: %d, want 401", r.status)
	}
	// Another session of the same user is untouched.
	other := h.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": "rot@example.org", "password": "correct horse battery"})
	if r := refresh(accountOf(t, other).Refresh); r.status != 200 {
		t.Errorf("other session: %d", r.status)
	}
	// Expiry: 30 days.
	d := accountOf(t, h.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": "rot@example.org", "password": "correct horse battery"}))
	h.clock.Advance(31 * 24 * time.Hour)
	if r := refresh(d.Refresh); r.status != 401 {
		t.Errorf("expired refresh token: %d", r.status)
	}
	if r := refresh("crt_unknown"); r.status != 401 || r.problemCode(t) != "unauthorized" {
		t.Errorf("unknown token: %d", r.status)
	}
}

// Concurrent refreshes of one token (an app whose requests all found the
// access token expired) all succeed with the same successor: the reuse
// grace window (services.RefreshReuseGrace) keeps the user signed in.
func TestConcurrentRefreshesShareOneSuccessor(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.register(t, "race@example.org", "patient")
	const n = 8
	got := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			got[i] = h.do(t, "POST", "/v1/auth/refresh", "", map[string]any{"refreshToken": a.Refresh})
		})
	}
	wg.Wait()
	for i, r := range got {
		if r.status != 200 {
			t.Fatalf("refresh %d of %d at once: %d %s", i, n, r.status, r.body)
		}
		if accountOf(t, r).Refresh != accountOf(t, got[0]).Refresh {
			t.Fatalf("refreshes at once got different successors")
		}
	}
	if r := h.do(t, "GET", "/v1/me", accountOf(t, got[n-1]).Access, nil); r.status != 200 {
		t.Errorf("the session after concurrent refreshes: %d", r.status)
	}
}

func TestLogoutAndPasswordChangeRevokeSessions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.register(t, "out@example.org", "patient")
	if r := h.do(t, "POST", "/v1/auth/logout", "", map[string]any{"refreshToken": a.Refresh}); r.status != 204 {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", "/v1/auth/refresh", "", map[string]any{"refreshToken": a.Refresh}); r.status != 401 {
		t.Errorf("refresh after logout: %d", r.status)
	}
	if r := h.do(t, "GET", "/v1/me", a.Access, nil); r.status != 401 {
		t.Errorf("access token after logout: %d", r.status)
	}
	// Logging out twice is fine.
	if r := h.do(t, "POST", "/v1/auth/logout", "", map[string]any{"refreshToken": a.Refresh}); r.status != 204 {
		t.Errorf("second logout: %d", r.status)
	}

	login := func(pw string) response {
		return h.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": "out@example.org", "password": pw})
	}
	s1, s2 := accountOf(t, login("correct horse battery")), accountOf(t, login("correct horse battery"))
	r := h.do(t, "POST", "/v1/me/password", s1.Access, map[string]any{"currentPassword": "wrong one!!", "newPassword": "a brand new password"})
	if r.status != 401 {
		t.Fatalf("wrong current password: %d", r.status)
	}
	r = h.do(t, "POST", "/v1/me/password", s1.Access, map[string]any{"currentPassword": "correct horse battery", "newPassword": "short"})
	if r.status != 400 || !cmp.Equal(r.fields(t), []string{"newPassword"}) {
		t.Fatalf("short new password: %d %s", r.status, r.body)
	}
	r = h.do(t, "POST", "/v1/me/password", s1.Access, map[string]any{"currentPassword": "correct horse battery", "newPassword": "a brand new password"})
	if r.status != 200 {
		t.Fatalf("change password: %d %s", r.status, r.body)
	}
	fresh := accountOf(t, r)
	for name, tok := range map[string]string{"s1": s1.Access, "s2": s2.Access} {
		if r := h.do(t, "GET", "/v1/me", tok, nil); r.status != 401 {
			t.Errorf("%s access after password change: %d", name, r.status)
		}
	}
	if r := h.do(t, "POST", "/v1/auth/refresh", "", map[string]any{"refreshToken": s2.Refresh}); r.status != 401 {
		t.Errorf("s2 refresh after password change: %d", r.status)
	}
	if r := h.do(t, "GET", "/v1/me", fresh.Access, nil); r.status != 200 {
		t.Errorf("new session: %d", r.status)
	}
	if login("correct horse battery").status != 401 || login("a brand new password").status != 200 {
		t.Error("password not changed")
	}
}

func TestPatchMe(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.register(t, "patch@example.org", "patient")
	r := h.do(t, "PATCH", "/v1/me", a.Access, map[string]any{"timezone": "Not/AZone", "name": "  ", "preferences": map[string]any{"quietHours": map[string]any{"start": "25:00", "end": "07:00"}}})
	if r.status != 400 {
		t.Fatalf("bad patch: %d %s", r.status, r.body)
	}
	if diff := cmp.Diff([]string{"name", "timezone", "preferences.quietHours.start"}, r.fields(t)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	r = h.do(t, "PATCH", "/v1/me", a.Access, map[string]any{"timezone": "Pacific/Auckland", "name": "Ann", "preferences": map[string]any{"quietHours": map[string]any{"start": "22:00", "end": "07:00"}, "followUpMinutes": 45}})
	if r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	me := h.do(t, "GET", "/v1/me", a.Access, nil).json(t)
	if me["timezone"] != "Pacific/Auckland" || me["name"] != "Ann" {
		t.Errorf("not stored: %v", me)
	}
	prefs := me["preferences"].(map[string]any)
	if prefs["followUpMinutes"] != float64(45) || prefs["quietHours"].(map[string]any)["start"] != "22:00" {
		t.Errorf("preferences not stored: %v", prefs)
	}
	if r := h.do(t, "PATCH", "/v1/me", a.Access, map[string]any{"role": "admin"}); r.status != 400 {
		t.Errorf("role change accepted: %d", r.status)
	}
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *api.Config) {
		c.AuthPerAccount = api.Limit{Burst: 3, Per: time.Minute}
		c.AuthPerAddress = api.Limit{Burst: 6, Per: time.Minute}
	})
	register := func(email string) response {
		return h.do(t, "POST", "/v1/auth/register", "", map[string]any{"email": email, "password": "long enough pw", "name": "X", "role": "patient"})
	}
	// Registration: the per-account limit (3) bites on one e-mail.
	for i := range 3 {
		if r := register("target@example.org"); r.status != http.StatusCreated && r.status != http.StatusConflict {
			t.Fatalf("registration %d: %d %s", i, r.status, r.body)
		}
	}
	r := register("target@example.org")
	if r.status != http.StatusTooManyRequests || r.problemCode(t) != "rate_limited" {
		t.Fatalf("4th registration of one account: %d %s", r.status, r.body)
	}
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	// Same address, other accounts: the per-address limit (6) bites,
	// logins included.
	login := func(email string) response {
		return h.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": email, "password": "whatever pass"})
	}
	if r := login("other0@example.org"); r.status != 401 {
		t.Fatalf("login: %d", r.status)
	}
	if r := register("other1@example.org"); r.status != http.StatusCreated {
		t.Fatalf("register: %d", r.status)
	}
	if r := login("third@example.org"); r.status != http.StatusTooManyRequests {
		t.Errorf("per-address limit: %d", r.status)
	}
	// Tokens come back with time.
	h.clock.Advance(time.Minute)
	if r := login("target@example.org"); r.status != 401 {
		t.Errorf("after a minute: %d", r.status)
	}
}

func TestAdminCreatesUsers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	created, err := h.auth.EnsureAdmin(t.Context(), "root@example.org", "admin password 1")
	if err != nil || !created {
		t.Fatalf("ensure admin: %v %v", created, err)
	}
	if again, err := h.auth.EnsureAdmin(t.Context(), "root2@example.org", "admin password 2"); again || err != nil {
		t.Errorf("second EnsureAdmin created=%v err=%v", again, err)
	}
	admin := accountOf(t, h.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": "root@example.org", "password": "admin password 1"}))
	patient := h.register(t, "pat@example.org", "patient")
	body := map[string]any{"email": "ops@example.org", "password": "long password!", "name": "Ops", "role": "admin"}
	if r := h.do(t, "POST", "/v1/admin/users", patient.Access, body); r.status != http.StatusForbidden {
		t.Errorf("patient creating admin: %d", r.status)
	}
	if r := h.do(t, "POST", "/v1/admin/users", admin.Access, map[string]any{"email": "ph@example.org", "password": "long password!", "name": "Ph", "role": "pharmacist"}); r.status != 400 || !cmp.Equal(r.fields(t), []string{"pharmacyId"}) {
		t.Errorf("pharmacist without pharmacy: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", "/v1/admin/users", admin.Access, map[string]any{"email": "p2@example.org", "password": "long password!", "name": "P", "role": "patient"}); r.status != 400 {
		t.Errorf("admin creating patient: %d", r.status)
	}
	r := h.do(t, "POST", "/v1/admin/users", admin.Access, body)
	if r.status != http.StatusCreated || r.json(t)["role"] != "admin" {
		t.Fatalf("create admin: %d %s", r.status, r.body)
	}
}
