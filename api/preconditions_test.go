package api_test

import (
	"net/http"
	"testing"

	"github.com/concord-health/concord/models"
)

// TestConditionalMedicationWrites: two devices read a medicine, one edits
// it, and the other's edit and stop on the version it read are refused
// with 412 and change nothing; If-None-Match gives 304; a dose taken (a
// stock change) moves the version; a client that opted in with Prefer:
// handling=strict gets 428 without If-Match.
func TestConditionalMedicationWrites(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pat := h.register(t, "etag-meds@example.org", "patient")
	m := h.addMedication(t, pat, map[string]any{"name": "Ramipril", "schedule": map[string]any{"times": []string{"10:00"}, "startDate": "2026-11-25"},
		"stock": map[string]any{"quantity": 28, "unitsPerDose": 1, "refillLeadDays": 7}})
	path := "/v1/patients/me/medications/" + m.ID

	read := h.do(t, "GET", path, pat.Access, nil)
	v1 := read.header.Get("ETag")
	if read.status != http.StatusOK || v1 == "" {
		t.Fatalf("read: %d, ETag %q", read.status, v1)
	}
	if r := h.do(t, "GET", path, pat.Access, nil, "If-None-Match", v1); r.status != http.StatusNotModified || len(r.body) != 0 || r.header.Get("ETag") != v1 {
		t.Fatalf("If-None-Match with the current tag: %d %q ETag %q", r.status, r.body, r.header.Get("ETag"))
	}
	if r := h.do(t, "GET", path, pat.Access, nil, "If-None-Match", `"1"`); r.status != http.StatusOK {
		t.Fatalf("If-None-Match with another tag: %d", r.status)
	}

	// Device A edits (the clock does not move: the version still changes).
	a := h.do(t, "PATCH", path, pat.Access, map[string]any{"name": "Ramipril A"}, "If-Match", v1)
	v2 := a.header.Get("ETag")
	if a.status != http.StatusOK || v2 == "" || v2 == v1 {
		t.Fatalf("device A's edit: %d ETag %q (was %q) %s", a.status, v2, v1, a.body)
	}
	// Device B edits and stops the version it read: refused, nothing changes.
	if r := h.do(t, "PATCH", path, pat.Access, map[string]any{"name": "Ramipril B"}, "If-Match", v1); r.status != http.StatusPreconditionFailed || r.problemCode(t) != "precondition_failed" {
		t.Fatalf("device B's stale edit: %d %s", r.status, r.body)
	}
	if r := h.do(t, "DELETE", path, pat.Access, nil, "If-Match", v1); r.status != http.StatusPreconditionFailed {
		t.Fatalf("device B's stale stop: %d %s", r.status, r.body)
	}
	for _, bad := range []string{`W/` + v2, `"x"`, v2 + `, ` + v1} {
		if r := h.do(t, "PATCH", path, pat.Access, map[string]any{"name": "Ramipril C"}, "If-Match", bad); r.status != http.StatusPreconditionFailed {
			t.Errorf("If-Match %s: %d %s", bad, r.status, r.body)
		}
	}
	got := decodeJSON[models.Medication](t, h.do(t, "GET", path, pat.Access, nil))
	if got.Name != "Ramipril A" || got.Status != models.MedicationActive {
		t.Fatalf("after the refused writes: %q %s", got.Name, got.Status)
	}

	// A dose taken moves the stock, and so the version.
	h.at(t, "2026-11-25T10:05:00Z", &pat)
	doses := h.doseStatuses(t, pat, "2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z")
	if len(doses) != 1 {
		t.Fatalf("doses: %v", doses)
	}
	h.mark(t, pat, firstField(doses[0]), "taken", nil, models.DoseTaken)
	r := h.do(t, "GET", path, pat.Access, nil, "If-None-Match", v2)
	if r.status != http.StatusOK || r.header.Get("ETag") == v2 || decodeJSON[models.Medication](t, r).Stock.Quantity != 27 {
		t.Fatalf("after a dose moved the stock: %d ETag %q %s", r.status, r.header.Get("ETag"), r.body)
	}
	v3 := r.header.Get("ETag")

	// A client that opted in must send If-Match.
	strict := []string{"Prefer", "handling=strict"}
	if r := h.do(t, "PATCH", path, pat.Access, map[string]any{"name": "Ramipril D"}, strict...); r.status != http.StatusPreconditionRequired ||
		r.problemCode(t) != "precondition_required" || r.header.Get("Preference-Applied") != "handling=strict" {
		t.Fatalf("opted-in edit without If-Match: %d %s", r.status, r.body)
	}
	if r := h.do(t, "DELETE", path, pat.Access, nil, strict...); r.status != http.StatusPreconditionRequired {
		t.Fatalf("opted-in stop without If-Match: %d %s", r.status, r.body)
	}
	if r := h.do(t, "DELETE", path, pat.Access, nil, append(strict, "If-Match", v3)...); r.status != http.StatusOK ||
		decodeJSON[models.Medication](t, r).Status != models.MedicationStopped {
		t.Fatalf("opted-in stop with the current version: %d %s", r.status, r.body)
	}
	// A client that did not opt in may still write without If-Match.
	if r := h.do(t, "DELETE", path, pat.Access, nil); r.status != http.StatusOK {
		t.Fatalf("stop again without If-Match: %d %s", r.status, r.body)
	}
	// Another patient learns nothing, conditional or not.
	other := h.register(t, "etag-other@example.org", "patient")
	if r := h.do(t, "GET", "/v1/patients/"+pat.ID+"/medications/"+m.ID, other.Access, nil, "If-None-Match", "*"); r.status != http.StatusNotFound {
		t.Fatalf("another patient's conditional read: %d", r.status)
	}
}

// TestConditionalAccountWrites: preferences and targets (PATCH /v1/me)
// honour If-Match; GET /v1/me carries the ETag and answers 304.
func TestConditionalAccountWrites(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pat := h.register(t, "etag-me@example.org", "patient")
	read := h.do(t, "GET", "/v1/me", pat.Access, nil)
	v1 := read.header.Get("ETag")
	if v1 == "" {
		t.Fatal("GET /v1/me has no ETag")
	}
	if r := h.do(t, "GET", "/v1/me", pat.Access, nil, "If-None-Match", v1); r.status != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", r.status)
	}
	a := h.do(t, "PATCH", "/v1/me", pat.Access, map[string]any{"preferences": map[string]any{"pushDetails": true}}, "If-Match", v1)
	if a.status != http.StatusOK || a.header.Get("ETag") == v1 {
		t.Fatalf("first edit: %d %s", a.status, a.body)
	}
	stale := h.do(t, "PATCH", "/v1/me", pat.Access, map[string]any{"targets": map[string]any{"spo2TargetLow": 88, "spo2TargetHigh": 92}}, "If-Match", v1)
	if stale.status != http.StatusPreconditionFailed {
		t.Fatalf("stale edit of targets: %d %s", stale.status, stale.body)
	}
	me := h.do(t, "GET", "/v1/me", pat.Access, nil).json(t)
	if me["preferences"].(map[string]any)["pushDetails"] != true {
		t.Fatalf("the first edit was lost: %v", me["preferences"])
	}
	if r := h.do(t, "PATCH", "/v1/me", pat.Access, map[string]any{"name": "New"}, "Prefer", "handling=strict"); r.status != http.StatusPreconditionRequired {
		t.Fatalf("opted-in edit without If-Match: %d %s", r.status, r.body)
	}
	if r := h.do(t, "PATCH", "/v1/me", pat.Access, map[string]any{"name": "New"}, "Prefer", "handling=strict", "If-Match", a.header.Get("ETag")); r.status != http.StatusOK {
		t.Fatalf("opted-in edit with If-Match: %d %s", r.status, r.body)
	}
}

// TestConditionalCarerLinkWrites: a carer link read singly carries an
// ETag; pausing or revoking a version another device changed is refused.
func TestConditionalCarerLinkWrites(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pat := h.register(t, "etag-links@example.org", "patient")
	carer := h.register(t, "etag-carer@example.org", "carer")
	link := h.linkCarer(t, pat, carer, models.ScopeMissedDoseAlerts)
	path := "/v1/patients/me/carers/" + escapeColon(link)
	read := h.do(t, "GET", path, pat.Access, nil)
	v1 := read.header.Get("ETag")
	if read.status != http.StatusOK || v1 == "" || read.json(t)["carerName"] != "Test carer" {
		t.Fatalf("read link: %d ETag %q %s", read.status, v1, read.body)
	}
	if r := h.do(t, "GET", path, pat.Access, nil, "If-None-Match", v1); r.status != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", r.status)
	}
	a := h.do(t, "PATCH", path, pat.Access, map[string]any{"paused": true}, "If-Match", v1)
	if a.status != http.StatusOK || a.header.Get("ETag") == v1 {
		t.Fatalf("pause: %d %s", a.status, a.body)
	}
	if r := h.do(t, "PATCH", path, pat.Access, map[string]any{"scopes": []string{"reading_alerts"}}, "If-Match", v1); r.status != http.StatusPreconditionFailed {
		t.Fatalf("stale scope change: %d %s", r.status, r.body)
	}
	if r := h.do(t, "DELETE", path, pat.Access, nil, "If-Match", v1); r.status != http.StatusPreconditionFailed {
		t.Fatalf("stale revoke: %d %s", r.status, r.body)
	}
	if r := h.do(t, "DELETE", path, pat.Access, nil, "Prefer", "handling=strict"); r.status != http.StatusPreconditionRequired {
		t.Fatalf("opted-in revoke without If-Match: %d %s", r.status, r.body)
	}
	got := h.do(t, "GET", path, pat.Access, nil).json(t)
	if got["status"] != models.LinkPaused {
		t.Fatalf("after the refused writes: %v", got)
	}
	if r := h.do(t, "DELETE", path, pat.Access, nil, "If-Match", a.header.Get("ETag")); r.status != http.StatusNoContent {
		t.Fatalf("revoke the current version: %d %s", r.status, r.body)
	}
	// The carer, and another patient, cannot read the link this way.
	if r := h.do(t, "GET", "/v1/patients/"+pat.ID+"/carers/"+escapeColon(link), carer.Access, nil); r.status != http.StatusNotFound && r.status != http.StatusForbidden {
		t.Fatalf("carer reads the link: %d", r.status)
	}
	other := h.register(t, "etag-links-other@example.org", "patient")
	if r := h.do(t, "GET", "/v1/patients/me/carers/"+escapeColon(link), other.Access, nil); r.status != http.StatusNotFound {
		t.Fatalf("another patient reads the link: %d", r.status)
	}
}

// firstField is the first space-separated field of s.
func firstField(s string) string {
	for i := range len(s) {
		if s[i] == ' ' {
			return s[:i]
		}
	}
	return s
}
