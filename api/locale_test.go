package api_test

import (
	"net/http"
	"slices"
	"testing"
)

// TestUserLocale: a locale is chosen at registration or later with PATCH /v1/me, and
// shown by GET /v1/me; an account that chose none is en-GB. An unsupported
// tag is refused naming locale, and nothing is stored.
func TestUserLocale(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	reg := func(email string, locale any) response {
		body := map[string]any{"email": email, "password": "correct horse battery", "name": "Nia Jones", "role": "patient"}
		if locale != nil {
			body["locale"] = locale
		}
		return h.do(t, "POST", "/v1/auth/register", "", body)
	}
	for _, tc := range []struct {
		email  string
		locale any
		want   string
	}{{"nia@example.org", "cy-GB", "cy-GB"}, {"ifan@example.org", "cy", "cy"}, {"ann@example.org", nil, "en-GB"}} {
		r := reg(tc.email, tc.locale)
		if r.status != http.StatusCreated {
			t.Fatalf("register %s: %d %s", tc.email, r.status, r.body)
		}
		me := h.do(t, "GET", "/v1/me", accountOf(t, r).Access, nil)
		if got := me.json(t)["locale"]; me.status != http.StatusOK || got != tc.want {
			t.Errorf("%s: locale %v (%d), want %s", tc.email, got, me.status, tc.want)
		}
	}
	for _, bad := range []any{"fr", "en-US", "", 7} {
		r := reg("bad@example.org", bad)
		if r.status != http.StatusBadRequest || !slices.Contains(r.fields(t), "locale") {
			t.Errorf("register with locale %v: %d %s, want 400 naming locale", bad, r.status, r.body)
		}
	}
	if r := h.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": "bad@example.org", "password": "correct horse battery"}); r.status != http.StatusUnauthorized {
		t.Errorf("an account refused for its locale was stored: login %d", r.status)
	}

	ann := accountOf(t, h.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": "ann@example.org", "password": "correct horse battery"}))
	if r := h.do(t, "PATCH", "/v1/me", ann.Access, map[string]any{"locale": "cy"}); r.status != http.StatusOK || r.json(t)["locale"] != "cy" {
		t.Errorf("patch locale cy: %d %s", r.status, r.body)
	}
	if r := h.do(t, "PATCH", "/v1/me", ann.Access, map[string]any{"locale": "de-DE", "name": "Ann Other"}); r.status != http.StatusBadRequest ||
		!slices.Contains(r.fields(t), "locale") {
		t.Errorf("patch locale de-DE: %d %s, want 400 naming locale", r.status, r.body)
	}
	if me := h.do(t, "GET", "/v1/me", ann.Access, nil).json(t); me["locale"] != "cy" || me["name"] != "Nia Jones" {
		t.Errorf("after a refused patch: %v", me)
	}
}
