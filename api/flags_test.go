package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// flagJSON is the part of a flag the API tests read.
type flagJSON struct {
	ID               string              `json:"id"`
	PatientID        string              `json:"patientId"`
	PatientName      string              `json:"patientName"`
	Rule             string              `json:"rule"`
	Severity         string              `json:"severity"`
	Status           string              `json:"status"`
	SuggestedService string              `json:"suggestedService"`
	Evidence         models.FlagEvidence `json:"evidence"`
	ClaimedBy        string              `json:"claimedBy"`
	Notes            []models.FlagNote   `json:"notes"`
	Outcome          string              `json:"outcome"`
	FollowUpAt       *time.Time          `json:"followUpAt"`
	History          []models.FlagEvent  `json:"history"`
}

type flagPageJSON struct {
	Items      []flagJSON `json:"items"`
	NextCursor string     `json:"nextCursor"`
}

func decodeInto[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

// user reads an account from the store.
func (h *harness) user(t *testing.T, id string) models.User {
	t.Helper()
	u, err := h.store.Users().Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// missDoses is what the scheduler's missed-dose step does for one patient:
// mark overdue doses missed, then run the flag rules and alert carers.
func (h *harness) missDoses(t *testing.T, patientID string) []models.Dose {
	t.Helper()
	ctx := t.Context()
	patient, now := h.user(t, patientID), h.clock.Now()
	missed, err := h.planner.MarkMissed(ctx, patient, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.flags.OnDosesMissed(ctx, patient, missed, now); err != nil {
		t.Fatal(err)
	}
	if err := h.carerAlerts.AlertMissedDoses(ctx, patient, missed, now); err != nil {
		t.Fatal(err)
	}
	return missed
}

// addMedicine adds a daily 08:00 medicine starting today for the patient.
func (h *harness) addMedicine(t *testing.T, patient account, name string, stock *float64) string {
	t.Helper()
	body := map[string]any{"name": name, "schedule": map[string]any{"times": []string{"08:00"}, "startDate": h.clock.Now().Format("2006-01-02")}}
	if stock != nil {
		body["stock"] = map[string]any{"quantity": *stock, "unitsPerDose": 1, "refillLeadDays": 7}
	}
	r := h.do(t, "POST", "/v1/patients/me/medications", patient.Access, body)
	if r.status != http.StatusCreated {
		t.Fatalf("add medicine: %d %s", r.status, r.body)
	}
	return r.json(t)["id"].(string)
}

// TestFlagWalkthrough is the README's walk: a patient nominates a pharmacy,
// misses three doses, and the pharmacist finds the flag in the queue,
// claims it, notes and resolves it with a follow-up, which brings it back.
func TestFlagWalkthrough(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.firstAdmin(t)
	pharmacy := h.newPharmacy(t, admin, "FA001", "Alpha Pharmacy", "SW1A 1AA")
	pharmacist := h.newPharmacist(t, admin, "ph-a@example.org", pharmacy)
	patient := h.register(t, "ann@example.org", "patient")
	h.nominate(t, patient, pharmacy)
	h.addMedicine(t, patient, "Ramipril", nil) // 2026-11-25 09:00: first dose tomorrow 08:00

	// Three days later, 10:01: the doses of the 26th, 27th and 28th are missed.
	h.later(t, 3*24*time.Hour+61*time.Minute, &patient, &pharmacist)
	if missed := h.missDoses(t, patient.ID); len(missed) != 3 {
		t.Fatalf("%d doses missed, want 3", len(missed))
	}

	r := h.do(t, "GET", "/v1/pharmacy/flags", pharmacist.Access, nil)
	if r.status != http.StatusOK {
		t.Fatalf("queue: %d %s", r.status, r.body)
	}
	page := decodeInto[flagPageJSON](t, r)
	if len(page.Items) != 1 {
		t.Fatalf("queue: %s", r.body)
	}
	f := page.Items[0]
	if f.Rule != "missed_streak" || f.Severity != "high" || f.Status != "open" || f.PatientID != patient.ID || f.PatientName != "Test patient" ||
		f.SuggestedService != "adherence_support" || f.Evidence.Value != 3 || f.Evidence.Threshold != 3 || f.Evidence.Window != "P28D" {
		t.Errorf("flag %+v", f)
	}
	path := "/v1/pharmacy/flags/" + url.PathEscape(f.ID)

	if r := h.do(t, "POST", path+"/claim", pharmacist.Access, nil); r.status != http.StatusOK || decodeInto[flagJSON](t, r).ClaimedBy != pharmacist.ID {
		t.Fatalf("claim: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", path+"/notes", pharmacist.Access, map[string]any{"text": "Called Ann: forgot while away."}); r.status != http.StatusOK {
		t.Fatalf("note: %d %s", r.status, r.body)
	}
	followUp := h.clock.Now().Add(7 * 24 * time.Hour).UTC()
	r = h.do(t, "POST", path+"/resolve", pharmacist.Access, map[string]any{"outcome": "advice_given",
		"note": "Set up reminders; check again in a week.", "followUpAt": followUp.Format(time.RFC3339)})
	if r.status != http.StatusOK {
		t.Fatalf("resolve: %d %s", r.status, r.body)
	}
	got := decodeInto[flagJSON](t, r)
	if got.Status != "resolved" || got.Outcome != "advice_given" || len(got.Notes) != 2 || got.FollowUpAt == nil || !got.FollowUpAt.Equal(followUp) {
		t.Errorf("resolved: %s", r.body)
	}
	if page := decodeInto[flagPageJSON](t, h.do(t, "GET", "/v1/pharmacy/flags", pharmacist.Access, nil)); len(page.Items) != 0 {
		t.Errorf("queue after resolving with a follow-up: %+v", page.Items)
	}

	// A week later it is back, open.
	h.later(t, 7*24*time.Hour, &pharmacist, &patient)
	page = decodeInto[flagPageJSON](t, h.do(t, "GET", "/v1/pharmacy/flags?status=open", pharmacist.Access, nil))
	if len(page.Items) != 1 || page.Items[0].ID != f.ID || page.Items[0].Status != "open" {
		t.Errorf("queue at the follow-up: %+v", page.Items)
	}
	var evs []string
	for _, e := range decodeInto[flagJSON](t, h.do(t, "GET", path, pharmacist.Access, nil)).History {
		evs = append(evs, e.Event)
	}
	if diff := cmp.Diff([]string{"raised", "claimed", "note", "resolved", "follow_up_due"}, evs); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}

	// Every look and change is in Ann's access log.
	log := h.do(t, "GET", "/v1/patients/me/access-log", patient.Access, nil)
	if log.status != http.StatusOK {
		t.Fatalf("access log: %d %s", log.status, log.body)
	}
	var entries struct {
		Items []models.AuditEntry `json:"items"`
	}
	if err := json.Unmarshal(log.body, &entries); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries.Items {
		actions = append(actions, e.Action+" "+e.Resource)
	}
	// (The empty queue after resolving showed Ann to nobody: no entry.)
	want := []string{"flags.read flags/" + f.ID, "flags.read flags", "flags.write flags/" + f.ID,
		"flags.write flags/" + f.ID, "flags.write flags/" + f.ID, "flags.read flags"}
	if diff := cmp.Diff(want, actions); diff != "" {
		t.Errorf("access log, newest first (-want +got):\n%s", diff)
	}
}

// TestFlagRoutesRefuseOutsiders: a pharmacist of another pharmacy gets 404
// on every flag route (and the queue does not show the flag), with nothing
// in the patient's access log; other roles get 403; no token 401; invalid
// queries and bodies 400.
func TestFlagRoutesRefuseOutsiders(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := newMatrixWorld(t, h)
	sys, dia := 185, 100
	r := h.do(t, "POST", "/v1/patients/me/readings", w.patient.Access, map[string]any{"type": "blood_pressure", "unit": "mm[Hg]",
		"systolic": sys, "diastolic": dia, "takenAt": h.clock.Now().Add(-time.Minute).Format(time.RFC3339)})
	if r.status != http.StatusCreated {
		t.Fatalf("reading: %d %s", r.status, r.body)
	}
	id := models.FlagID(w.patient.ID, models.RuleSevereReading, 1)
	path := "/v1/pharmacy/flags/" + url.PathEscape(id)
	routes := []struct {
		method, path string
		body         any
	}{
		{"GET", path, nil},
		{"POST", path + "/claim", nil},
		{"POST", path + "/notes", map[string]any{"text": "hello"}},
		{"POST", path + "/resolve", map[string]any{"outcome": "advice_given", "note": "x"}},
	}
	before := h.auditCount(t, w.patient.ID)
	for _, rt := range routes {
		r := h.do(t, rt.method, rt.path, w.pharmacistB.Access, rt.body)
		if r.status != http.StatusNotFound || r.problemCode(t) != "not_found" {
			t.Errorf("%s %s as pharmacy B: %d %s", rt.method, rt.path, r.status, r.body)
		}
		for _, who := range []account{w.patient, w.carerAll, w.admin} {
			if r := h.do(t, rt.method, rt.path, who.Access, rt.body); r.status != http.StatusForbidden {
				t.Errorf("%s %s as %s: %d", rt.method, rt.path, who.Email, r.status)
			}
		}
		if r := h.do(t, rt.method, rt.path, "", rt.body); r.status != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: %d", rt.method, rt.path, r.status)
		}
	}
	if page := decodeInto[flagPageJSON](t, h.do(t, "GET", "/v1/pharmacy/flags?status=open,claimed,resolved,closed", w.pharmacistB.Access, nil)); len(page.Items) != 0 {
		t.Errorf("pharmacy B's queue shows %+v", page.Items)
	}
	if got := h.auditCount(t, w.patient.ID) - before; got != 0 {
		t.Errorf("%d access-log entries for outsiders' requests", got)
	}

	for _, q := range []string{"?status=bogus", "?severity=extreme", "?rule=x", "?limit=0", "?limit=201", "?cursor=%25%25"} {
		if r := h.do(t, "GET", "/v1/pharmacy/flags"+q, w.pharmacistA.Access, nil); r.status != http.StatusBadRequest {
			t.Errorf("queue %s: %d %s", q, r.status, r.body)
		}
	}
	for _, body := range []any{
		map[string]any{"outcome": "advice_given", "note": "x", "followUpAt": "tomorrow"},
		map[string]any{"outcome": "advice_given", "note": "x", "resolvedBy": "me"},
		map[string]any{"outcome": "cured", "note": "x"},
	} {
		if r := h.do(t, "POST", path+"/resolve", w.pharmacistA.Access, body); r.status != http.StatusBadRequest {
			t.Errorf("resolve %v: %d %s", body, r.status, r.body)
		}
	}
	if r := h.do(t, "POST", path+"/notes", w.pharmacistA.Access, map[string]any{"text": " "}); r.status != http.StatusBadRequest {
		t.Errorf("empty note: %d", r.status)
	}
	if r := h.do(t, "GET", "/v1/pharmacy/flags/"+url.PathEscape(w.patient.ID+":running_out:1"), w.pharmacistA.Access, nil); r.status != http.StatusNotFound {
		t.Errorf("a flag that does not exist: %d", r.status)
	}
}

// TestPatientSummary: first name, 28-day adherence and stock per active
// medicine, the latest readings with bands and severity (notes left out),
// and the open flags.
func TestPatientSummary(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := newMatrixWorld(t, h)
	medID := h.addMedicine(t, w.patient, "Amlodipine", ptr(2.0))
	for i, v := range []struct {
		typ, unit string
		vals      map[string]any
	}{
		{"blood_pressure", "mm[Hg]", map[string]any{"systolic": 128, "diastolic": 82}},
		{"blood_glucose", "mmol/L", map[string]any{"value": 6.1}},
		{"spo2", "%", map[string]any{"value": 90}},
	} {
		body := map[string]any{"type": v.typ, "unit": v.unit, "takenAt": h.clock.Now().Add(-time.Duration(3-i) * time.Minute).Format(time.RFC3339), "note": "private"}
		for k, x := range v.vals {
			body[k] = x
		}
		if r := h.do(t, "POST", "/v1/patients/me/readings", w.patient.Access, body); r.status != http.StatusCreated {
			t.Fatalf("reading: %d %s", r.status, r.body)
		}
	}
	if err := h.flags.Evaluate(t.Context(), h.user(t, w.patient.ID), h.clock.Now()); err != nil {
		t.Fatal(err)
	}

	for _, who := range []account{w.patient, w.carerAll, w.pharmacistA} {
		r := h.do(t, "GET", "/v1/patients/"+w.patient.ID+"/summary", who.Access, nil)
		if r.status != http.StatusOK {
			t.Fatalf("summary as %s: %d %s", who.Email, r.status, r.body)
		}
		if strings.Contains(string(r.body), "private") {
			t.Errorf("summary shows a reading's note: %s", r.body)
		}
		var s services.PatientSummary
		if err := json.Unmarshal(r.body, &s); err != nil {
			t.Fatal(err)
		}
		if s.FirstName != "Test" || s.PatientID != w.patient.ID || s.Adherence.WindowDays != 28 {
			t.Errorf("header %+v", s)
		}
		if len(s.Medications) != 1 || s.Medications[0].MedicationID != medID || s.Medications[0].Stock == nil ||
			s.Medications[0].Stock.DaysLeft == nil || *s.Medications[0].Stock.DaysLeft != 2 || *s.Medications[0].Stock.RunOutDate != "2026-11-27" {
			t.Errorf("medications %s", r.body)
		}
		var recent []string
		for _, rd := range s.RecentReadings {
			recent = append(recent, string(rd.Type)+"/"+rd.Band+"/"+string(rd.Severity))
		}
		if diff := cmp.Diff([]string{"spo2/severe/severe", "blood_glucose/in_range/none", "blood_pressure/normal/none"}, recent); diff != "" {
			t.Errorf("recent readings (-want +got):\n%s", diff)
		}
		if len(s.LatestByType) != 3 {
			t.Errorf("latest by type: %d", len(s.LatestByType))
		}
		var open []string
		for _, f := range s.OpenFlags {
			open = append(open, string(f.Rule))
		}
		if diff := cmp.Diff([]string{"running_out", "severe_reading"}, open); diff != "" {
			t.Errorf("open flags (-want +got):\n%s", diff)
		}
	}
}

// TestCarerMissedDosePush is the README's carer walk: the patient invites a
// carer with missed_dose_alerts, the carer accepts and registers a device,
// a dose is missed, and the carer's phone gets one push through the real
// Firebase SDK (to the local FCM fake): "Ann missed a dose".
func TestCarerMissedDosePush(t *testing.T) {
	t.Parallel()
	h, fake := newHarnessPushing(t)

	r := h.do(t, "POST", "/v1/auth/register", "", map[string]any{"email": "ann@example.org", "password": "correct horse battery",
		"name": "Ann Example", "role": "patient", "timezone": "Europe/London"})
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	patient := accountOf(t, r)
	carer := h.register(t, "bob@example.org", "carer")
	h.linkCarer(t, patient, carer, models.ScopeMissedDoseAlerts)
	if r := h.do(t, "POST", "/v1/me/devices", carer.Access, map[string]any{"token": "bobs-phone-token-0123456789", "platform": "android"}); r.status != http.StatusCreated {
		t.Fatalf("device: %d %s", r.status, r.body)
	}
	h.addMedicine(t, patient, "Warfarin", nil)

	h.later(t, 24*time.Hour+61*time.Minute, &patient, &carer) // tomorrow 10:01: the 08:00 dose is missed
	if missed := h.missDoses(t, patient.ID); len(missed) != 1 {
		t.Fatalf("%d missed", len(missed))
	}
	h.missDoses(t, patient.ID) // the next tick finds nothing new
	if _, err := h.delivery.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	msgs := fake.MessagesFor("bobs-phone-token-0123456789")
	if len(msgs) != 1 || msgs[0].Body != "Ann missed a dose" || strings.Contains(msgs[0].Title+msgs[0].Body, "Warfarin") {
		t.Fatalf("pushes to the carer: %+v", msgs)
	}
	// And it is in the carer's inbox.
	inbox := h.do(t, "GET", "/v1/me/notifications", carer.Access, nil)
	if inbox.status != http.StatusOK || !strings.Contains(string(inbox.body), "Ann missed a dose") {
		t.Errorf("inbox: %d %s", inbox.status, inbox.body)
	}
}
