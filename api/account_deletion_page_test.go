package api_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// deletionForm loads the page and returns its form token and cookie.
func (h *harness) deletionForm(t *testing.T) (token, cookie string) {
	t.Helper()
	r := h.do(t, "GET", "/account/delete", "", nil)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "form-action 'self'") {
		t.Errorf("CSP %q", csp)
	}
	m := csrfField.FindSubmatch(r.body)
	if m == nil {
		t.Fatalf("no form token in %s", r.body)
	}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "concord_delete_csrf" {
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("cookie %+v", c)
			}
			return string(m[1]), c.Name + "=" + c.Value
		}
	}
	t.Fatalf("no form cookie: %v", r.header)
	return "", ""
}

// TestDeletionPage: the web page deletes an account with the e-mail and
// password, only from a form it rendered (token and cookie match) and
// with the box ticked; wrong credentials change nothing.
func TestDeletionPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	patient := h.register(t, "web-delete@example.org", "patient")
	post := func(form url.Values, cookie string) response {
		return h.do(t, "POST", "/account/delete", "", form.Encode(), "Content-Type", "application/x-www-form-urlencoded", "Cookie", cookie)
	}
	token, cookie := h.deletionForm(t)
	good := url.Values{"csrf": {token}, "email": {patient.Email}, "password": {"correct horse battery"}, "confirm": {"yes"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vs := range good {
			f[key] = vs
		}
		f.Set(k, v)
		return f
	}
	tests := []struct {
		name   string
		form   url.Values
		cookie string
		status int
	}{
		{"no cookie", good, "", http.StatusForbidden},
		{"token from another form", with("csrf", "forged-token"), cookie, http.StatusForbidden},
		{"box not ticked", with("confirm", ""), cookie, http.StatusBadRequest},
		{"wrong password", with("password", "not the password"), cookie, http.StatusUnauthorized},
		{"unknown e-mail", with("email", "nobody@example.org"), cookie, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		r := post(tt.form, tt.cookie)
		if r.status != tt.status || !strings.Contains(string(r.body), `role="alert"`) {
			t.Errorf("%s: %d %s", tt.name, r.status, r.body)
		}
		if h.do(t, "GET", "/v1/me", patient.Access, nil).status != http.StatusOK {
			t.Fatalf("%s: the account is gone", tt.name)
		}
	}
	r := post(good, cookie)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "Your account has been deleted") {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", "/v1/me", patient.Access, nil); r.status != http.StatusUnauthorized {
		t.Errorf("token after deletion: %d", r.status)
	}
	if r := h.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": patient.Email, "password": "correct horse battery"}); r.status != http.StatusUnauthorized {
		t.Errorf("login after deletion: %d", r.status)
	}
}
