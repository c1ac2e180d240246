package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/concord-health/concord/api"
	"github.com/concord-health/concord/models"
)

// createReportLink makes a share link as the patient and returns its id
// and the path (/r/{token}) it opens.
func (h *harness) createReportLink(t *testing.T, patient account, days, expiresInDays int) (id, path string) {
	t.Helper()
	r := h.do(t, "POST", "/v1/patients/me/report/links", patient.Access, map[string]any{"days": days, "expiresInDays": expiresInDays})
	if r.status != http.StatusCreated {
		t.Fatalf("create report link: %d %s", r.status, r.body)
	}
	m := r.json(t)
	u, err := url.Parse(m["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return m["link"].(map[string]any)["id"].(string), u.Path
}

// reportLink makes a share link as the patient and returns its id.
func (h *harness) reportLink(t *testing.T, patient account, days, expiresInDays int) string {
	t.Helper()
	id, _ := h.createReportLink(t, patient, days, expiresInDays)
	return id
}

// openShared fetches a share link's path without signing in and checks
// the headers every answer carries.
func (h *harness) openShared(t *testing.T, path string) response {
	t.Helper()
	r := h.do(t, "GET", path, "", nil)
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("GET %s: headers %v, want Cache-Control no-store and Referrer-Policy no-referrer", path, r.header)
	}
	return r
}

// TestReportShareLinks: a patient makes a link; it opens the report
// without signing in, each use in the patient's access log as the link
// with the client's address; the list never shows the token; another
// patient can neither make, list nor revoke the patient's links; revoked,
// expired (on the injected clock) and unknown links are the same 404;
// more than 14 days and bad input are refused naming the field.
func TestReportShareLinks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	patient := h.register(t, "lily@example.org", "patient")
	other := h.register(t, "mallory@example.org", "patient")
	if r := h.do(t, "POST", "/v1/patients/me/readings", patient.Access, map[string]any{"type": "blood_pressure", "unit": "mm[Hg]",
		"systolic": 132, "diastolic": 84, "takenAt": h.clock.Now().Add(-time.Hour).Format(time.RFC3339)}); r.status != http.StatusCreated {
		t.Fatalf("reading: %d %s", r.status, r.body)
	}

	id, path := h.createReportLink(t, patient, 28, 1)
	token := strings.TrimPrefix(path, "/r/")
	if !strings.HasPrefix(path, "/r/") || len(token) != 43 {
		t.Fatalf("link path %q: want /r/ and a 43-character token (256 bits)", path)
	}
	list := h.do(t, "GET", "/v1/patients/me/report/links", patient.Access, nil)
	if list.status != http.StatusOK || !strings.Contains(string(list.body), `"status":"active"`) || strings.Contains(string(list.body), token) {
		t.Errorf("list: %d %s", list.status, list.body)
	}

	// Opened without signing in, and logged.
	before := h.auditCount(t, patient.ID)
	r := h.openShared(t, path)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("open: %d %.300s", r.status, r.body)
	}
	if text, _ := pdfText(t, r.body); !strings.Contains(text, "Patient: Test patient") || !strings.Contains(text, "132/84 mmHg") {
		t.Errorf("shared report text:\n%s", text)
	}
	if n := h.auditCount(t, patient.ID) - before; n != 1 {
		t.Errorf("%d access-log entries for one use, want 1", n)
	}
	entries, err := h.store.Audit().List(t.Context(), patient.ID, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if e := entries[0]; e.ActorID != id || e.ActorRole != models.RoleShareLink || e.Action != "report.read" || e.Resource != "report" || e.ClientAddress == "" {
		t.Errorf("access-log entry %+v", e)
	}
	logPage := h.do(t, "GET", "/v1/patients/me/access-log", patient.Access, nil)
	if !strings.Contains(string(logPage.body), `"actorName":"share link `+id+`"`) || !strings.Contains(string(logPage.body), `"clientAddress":`) {
		t.Errorf("access log as the patient sees it: %s", logPage.body)
	}

	// Another patient: not through the patient's routes, not through their own.
	for _, rq := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/v1/patients/" + patient.ID + "/report/links", map[string]any{"days": 28, "expiresInDays": 1}},
		{"GET", "/v1/patients/" + patient.ID + "/report/links", nil},
		{"DELETE", "/v1/patients/" + patient.ID + "/report/links/" + id, nil},
		{"DELETE", "/v1/patients/me/report/links/" + id, nil},
	} {
		if r := h.do(t, rq.method, rq.path, other.Access, rq.body); r.status != http.StatusNotFound {
			t.Errorf("another patient %s %s: %d %s", rq.method, rq.path, r.status, r.body)
		}
	}
	if r := h.openShared(t, path); r.status != http.StatusOK {
		t.Errorf("after another patient's attempts: %d %s", r.status, r.body)
	}

	// Unknown, revoked, expired: one 404.
	unknown := h.openShared(t, "/r/"+strings.Repeat("A", 43))
	if unknown.status != http.StatusNotFound || unknown.problemCode(t) != "not_found" {
		t.Errorf("unknown token: %d %s", unknown.status, unknown.body)
	}
	for range 2 { // revoking again changes nothing
		if r := h.do(t, "DELETE", "/v1/patients/me/report/links/"+id, patient.Access, nil); r.status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
	}
	revoked := h.openShared(t, path)
	if revoked.status != http.StatusNotFound || revoked.json(t)["detail"] != unknown.json(t)["detail"] {
		t.Errorf("revoked: %d %s (unknown: %s)", revoked.status, revoked.body, unknown.body)
	}
	if r := h.do(t, "GET", "/v1/patients/me/report/links", patient.Access, nil); !strings.Contains(string(r.body), `"status":"revoked"`) {
		t.Errorf("list after revoking: %s", r.body)
	}
	_, path = h.createReportLink(t, patient, 7, 1)
	h.later(t, 24*time.Hour-time.Minute, &patient)
	if r := h.openShared(t, path); r.status != http.StatusOK {
		t.Errorf("a minute before expiry: %d %s", r.status, r.body)
	}
	h.later(t, time.Minute, &patient)
	if r := h.openShared(t, path); r.status != http.StatusNotFound || r.json(t)["detail"] != unknown.json(t)["detail"] {
		t.Errorf("expired: %d %s", r.status, r.body)
	}

	// Bad input names the field; nothing is stored.
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{"days": 28, "expiresInDays": 15}, "expiresInDays"},
		{map[string]any{"days": 28}, "expiresInDays"},
		{map[string]any{"days": 6, "expiresInDays": 1}, "days"},
		{map[string]any{"days": 28, "expiresInDays": 1, "token": "mine"}, "token"},
	} {
		r := h.do(t, "POST", "/v1/patients/me/report/links", patient.Access, c.body)
		if r.status != http.StatusBadRequest || !strings.Contains(strings.Join(r.fields(t), ","), c.field) {
			t.Errorf("%v: %d %s, want 400 naming %s", c.body, r.status, r.body, c.field)
		}
	}
	if r := h.do(t, "GET", "/v1/patients/me/report/links", patient.Access, nil); strings.Count(string(r.body), `"id"`) != 2 {
		t.Errorf("links after bad input: %s", r.body)
	}
}

// TestReportShareLinkLimits: guessing tokens from one address meets the
// anonymous routes' rate limit (429); deleting the account erases its
// links, so a link stops at once.
func TestReportShareLinkLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *api.Config) { c.AuthPerAddress = api.Limit{Burst: 5, Per: time.Minute} })
	patient := h.register(t, "iris@example.org", "patient")
	_, path := h.createReportLink(t, patient, 28, 14)

	var limited bool
	for i := range 10 {
		r := h.openShared(t, "/r/"+strings.Repeat("B", 42)+string(rune('a'+i%26)))
		if r.status == http.StatusTooManyRequests {
			limited = r.header.Get("Retry-After") != ""
			break
		}
		if r.status != http.StatusNotFound {
			t.Fatalf("guess %d: %d %s", i, r.status, r.body)
		}
	}
	if !limited {
		t.Error("10 guesses from one address were never limited")
	}

	h.later(t, time.Hour, &patient) // the bucket refills
	if r := h.openShared(t, path); r.status != http.StatusOK {
		t.Fatalf("before deletion: %d %s", r.status, r.body)
	}
	if r := h.do(t, "DELETE", "/v1/me", patient.Access, map[string]any{"password": "correct horse battery"}); r.status != http.StatusNoContent {
		t.Fatalf("delete account: %d %s", r.status, r.body)
	}
	if r := h.openShared(t, path); r.status != http.StatusNotFound {
		t.Errorf("after deletion: %d %s", r.status, r.body)
	}
	links, err := h.store.ReportLinks().OfPatient(t.Context(), patient.ID, 10)
	if err != nil || len(links) != 0 {
		t.Errorf("links left after deletion: %v %v", links, err)
	}
}
