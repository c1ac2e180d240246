package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
)

// TestAccessLog: what carers and pharmacists read is in the patient's
// access log, newest first, page by page; the patient's own reads and
// anyone's refused requests are not.
func TestAccessLog(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.firstAdmin(t)
	pharmacy := h.newPharmacy(t, admin, "FA001", "Alpha", "M1 1AE")
	ph := h.newPharmacist(t, admin, "ph@example.org", pharmacy)
	patient := h.register(t, "pat@example.org", "patient")
	carer := h.register(t, "carer@example.org", "carer")
	other := h.register(t, "other@example.org", "patient")
	h.nominate(t, patient, pharmacy)
	h.linkCarer(t, patient, carer, models.ScopeViewReadings)
	base := "/v1/patients/" + patient.ID

	type sent struct{ token, path, requestID string }
	steps := []sent{
		{carer.Access, base + "/readings", "req-1"},
		{patient.Access, base + "/readings", "req-own"},                 // the patient: not logged
		{carer.Access, base + "/medications", "req-refused"},            // refused (no scope): not logged
		{ph.Access, base + "/medications", "req-2"},                     // pharmacist
		{carer.Access, base + "/readings/summary?type=weight", "req-3"}, // query strings are not part of the resource
		{ph.Access, base + "/readings/0b5e6c1e-8d3a-4f7e-9c2a-000000000001", "req-4"},
	}
	for i, s := range steps {
		h.clock.Advance(time.Minute)
		r := h.do(t, "GET", s.path, s.token, nil, "X-Request-ID", s.requestID)
		if r.status >= 500 || r.status == http.StatusUnauthorized {
			t.Fatalf("step %d: %d %s", i, r.status, r.body)
		}
	}

	type row struct {
		Actor, Name, Role, Action, Resource, At, RequestID string
	}
	rowsOf := func(r response) []row {
		t.Helper()
		var out []row
		for _, it := range r.json(t)["items"].([]any) {
			m := it.(map[string]any)
			out = append(out, row{m["actorId"].(string), m["actorName"].(string), m["actorRole"].(string), m["action"].(string),
				m["resource"].(string), m["at"].(string), m["requestId"].(string)})
		}
		return out
	}
	want := []row{
		{ph.ID, "Pharmacist ph@example.org", "pharmacist", "readings.read", "readings/0b5e6c1e-8d3a-4f7e-9c2a-000000000001", "2026-11-25T09:06:00Z", "req-4"},
		{carer.ID, "Test carer", "carer", "readings.read", "readings/summary", "2026-11-25T09:05:00Z", "req-3"},
		{ph.ID, "Pharmacist ph@example.org", "pharmacist", "medications.read", "medications", "2026-11-25T09:04:00Z", "req-2"},
		{carer.ID, "Test carer", "carer", "readings.read", "readings", "2026-11-25T09:01:00Z", "req-1"},
	}
	// Access tokens live 15 minutes: the patient logs in again to read the log.
	patient = h.loginAs(t, "pat@example.org", "correct horse battery")
	r := h.do(t, "GET", "/v1/patients/me/access-log", patient.Access, nil)
	if r.status != 200 {
		t.Fatalf("access log: %d %s", r.status, r.body)
	}
	if diff := cmp.Diff(want, rowsOf(r)); diff != "" {
		t.Errorf("access log (-want +got):\n%s", diff)
	}

	// Page by page.
	var paged []row
	cursor := ""
	for page := 0; ; page++ {
		r := h.do(t, "GET", "/v1/patients/me/access-log?limit=3&cursor="+cursor, patient.Access, nil)
		if r.status != 200 || page > 3 {
			t.Fatalf("page %d: %d %s", page, r.status, r.body)
		}
		paged = append(paged, rowsOf(r)...)
		next, _ := r.json(t)["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if diff := cmp.Diff(want, paged); diff != "" {
		t.Errorf("paged (-want +got):\n%s", diff)
	}

	for _, q := range []string{"limit=0", "limit=201", "limit=x", "cursor=%25%25"} {
		if r := h.do(t, "GET", "/v1/patients/me/access-log?"+q, patient.Access, nil); r.status != 400 || r.problemCode(t) != "invalid" {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
	// Patient only: the carer is linked (403), anyone else gets 404.
	carer = h.loginAs(t, "carer@example.org", "correct horse battery")
	other = h.loginAs(t, "other@example.org", "correct horse battery")
	if r := h.do(t, "GET", base+"/access-log", carer.Access, nil); r.status != 403 {
		t.Errorf("carer: %d", r.status)
	}
	if r := h.do(t, "GET", base+"/access-log", other.Access, nil); r.status != 404 {
		t.Errorf("other patient: %d", r.status)
	}
	if n := h.auditCount(t, patient.ID); n != 4 {
		t.Errorf("%d entries after reading the log", n)
	}
}
