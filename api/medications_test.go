package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/concord-health/concord/models"
)

// medUUID returns a fixed client-generated medication id.
func medUUID(n int) string { return fmt.Sprintf("7d4e8f2a-1b3c-4d5e-9f60-%012d", n) }

// escapeColon percent-encodes a dose id's ':' as some clients do
// (url.PathEscape leaves it).
func escapeColon(id string) string { return strings.ReplaceAll(id, ":", "%3A") }

// at moves the clock to an instant (forward only) and refreshes the
// accounts' access tokens.
func (h *harness) at(t *testing.T, when string, accounts ...*account) {
	t.Helper()
	to, err := time.Parse(time.RFC3339, when)
	if err != nil {
		t.Fatal(err)
	}
	h.later(t, to.Sub(h.clock.Now()), accounts...)
}

// addMedication creates a medication through the API and returns it.
func (h *harness) addMedication(t *testing.T, a account, body map[string]any) models.Medication {
	t.Helper()
	r := h.do(t, "POST", "/v1/patients/me/medications", a.Access, body)
	if r.status != http.StatusCreated {
		t.Fatalf("create medication: %d %s", r.status, r.body)
	}
	return decodeJSON[models.Medication](t, r)
}

// doseStatuses lists the doses in [from, to) as "id status".
func (h *harness) doseStatuses(t *testing.T, a account, from, to string) []string {
	t.Helper()
	r := h.do(t, "GET", "/v1/patients/me/doses?from="+url.QueryEscape(from)+"&to="+url.QueryEscape(to), a.Access, nil)
	if r.status != http.StatusOK {
		t.Fatalf("list doses: %d %s", r.status, r.body)
	}
	var out []string
	for _, d := range decodeJSON[struct{ Items []models.Dose }](t, r).Items {
		out = append(out, d.ID+" "+string(d.Status))
	}
	return out
}

// mark posts to a dose's taken or skipped action and checks the status.
func (h *harness) mark(t *testing.T, a account, doseID, action string, body any, want models.DoseStatus) models.Dose {
	t.Helper()
	r := h.do(t, "POST", "/v1/patients/me/doses/"+doseID+"/"+action, a.Access, body)
	if r.status != http.StatusOK {
		t.Fatalf("%s %s: %d %s", action, doseID, r.status, r.body)
	}
	d := decodeJSON[models.Dose](t, r)
	if d.Status != want {
		t.Fatalf("%s %s: status %s, want %s", action, doseID, d.Status, want)
	}
	return d
}

// TestAdherenceScenario walks a patient through three days of two
// scheduled medicines and an inhaler, over HTTP, and checks the adherence
// figures worked out by hand below.
//
// The patient is in Europe/London, on GMT (= UTC) in November. At
// 2026-11-25 09:00 they add
//
//	A Ramipril   08:00 and 20:00 daily, stock 56, 1 per dose
//	B Metformin  12:00 daily,           stock 30, 2 per dose
//	C Salbutamol as needed,             stock 200, 2 per dose
//
// A's 08:00 dose on the 25th was before A existed: it is not planned. Then:
//
//	25th 12:00 B  taken 12:05 (on time)
//	25th 20:00 A  taken, logged at 22:30 as taken at 21:30 (90 min late: not on time;
//	              it was already missed, so its history is pending→missed→taken)
//	26th 08:00 A  skipped, "felt dizzy"
//	26th 12:00 B  not logged → missed (visible at 14:00 with no job having run)
//	26th 20:00 A  taken 20:00 (on time)
//	27th 08:00 A  not logged → missed
//	27th 12:00 B  taken 12:30 (on time: within 1 h)
//	27th 15:00 C  one as-needed dose (never due: in no figure)
//	27th 20:00 A  not logged → missed
//
// At 2026-11-28 09:00, over 7 days ((21st 09:00, 28th 09:00]): A's 08:00
// dose on the 28th is within its 2-hour grace, so not due yet.
//
//	A: due 5 = taken 2 + skipped 1 + missed 2; adherence 2/5 = 0.4
//	   days: 25th all taken ✓, 26th skipped+taken ✗, 27th missed ✗ → PDC 1/3
//	   on time: 26th 20:00 only → 1/2; streak: taken, skipped, taken,
//	   missed, missed → 2
//	   stock 56 − 2 taken = 54; 2 units a day → 27 days → runs out 28 Nov + 27 = 25 Dec
//	B: due 3 = taken 2 + missed 1; adherence 2/3; days 25th ✓ 26th ✗ 27th ✓ → PDC 2/3
//	   on time 2/2 = 1; streak: taken, missed, taken → 0
//	   stock 30 − 2×2 = 26; 2 units a day → 13 days → 11 Dec
//	C: nothing due; no stock outlook (as needed); stock 200 − 2 = 198
//	Overall: due 8, taken 4, skipped 1, missed 3; adherence 4/8 = 0.5
//	   days: 25th ✓, 26th ✗, 27th ✗ → PDC 1/3; on time 3 of 4 = 0.75;
//	   streak: the longest of one medicine's, A's 2.
func TestAdherenceScenario(t *testing.T) {
	t.Parallel()
	h := newHarness(t) // the clock starts at 2026-11-25 09:00 UTC
	pat := h.register(t, "adherent@example.org", "patient")
	stock := func(q, units float64) map[string]any {
		return map[string]any{"quantity": q, "unitsPerDose": units, "refillLeadDays": 7}
	}
	a := h.addMedication(t, pat, map[string]any{"id": medUUID(1), "name": "Ramipril", "strength": "5 mg", "form": "capsule",
		"schedule": map[string]any{"times": []string{"20:00", "08:00"}, "startDate": "2026-11-25"}, "stock": stock(56, 1)})
	b := h.addMedication(t, pat, map[string]any{"id": medUUID(2), "name": "Metformin", "code": "325278007",
		"schedule": map[string]any{"times": []string{"12:00"}, "startDate": "2026-11-25"}, "stock": stock(30, 2)})
	c := h.addMedication(t, pat, map[string]any{"id": medUUID(3), "name": "Salbutamol", "form": "inhaler",
		"schedule": map[string]any{"asNeeded": true, "startDate": "2026-11-25"}, "stock": stock(200, 2)})
	dose := func(m models.Medication, date, clock string) string { return models.DoseID(m.ID, date, clock) }

	h.at(t, "2026-11-25T12:05:00Z", &pat)
	h.mark(t, pat, dose(b, "2026-11-25", "12:00"), "taken", nil, models.DoseTaken)
	h.at(t, "2026-11-25T22:30:00Z", &pat)
	late := h.mark(t, pat, dose(a, "2026-11-25", "20:00"), "taken", map[string]any{"takenAt": "2026-11-25T21:30:00Z"}, models.DoseTaken)
	if len(late.History) != 2 || late.History[0].To != models.DoseMissed || late.History[1].From != models.DoseMissed {
		t.Errorf("late log history %+v, want pending→missed→taken", late.History)
	}
	h.at(t, "2026-11-26T08:10:00Z", &pat)
	skipped := h.mark(t, pat, dose(a, "2026-11-26", "08:00"), "skipped", map[string]any{"reason": "felt dizzy"}, models.DoseSkipped)
	if skipped.SkipReason != "felt dizzy" {
		t.Errorf("skip reason %q", skipped.SkipReason)
	}
	// Missed shows on read, with no job run: B's noon dose at 13:59 and 14:00.
	day26 := []string{"2026-11-26T00:00:00Z", "2026-11-27T00:00:00Z"}
	h.at(t, "2026-11-26T13:59:00Z", &pat)
	want := []string{dose(a, "2026-11-26", "08:00") + " skipped", dose(b, "2026-11-26", "12:00") + " pending", dose(a, "2026-11-26", "20:00") + " pending"}
	if diff := cmp.Diff(want, h.doseStatuses(t, pat, day26[0], day26[1])); diff != "" {
		t.Errorf("26th at 13:59 (-want +got):\n%s", diff)
	}
	h.at(t, "2026-11-26T14:00:00Z", &pat)
	want[1] = dose(b, "2026-11-26", "12:00") + " missed"
	if diff := cmp.Diff(want, h.doseStatuses(t, pat, day26[0], day26[1])); diff != "" {
		t.Errorf("26th at 14:00 (-want +got):\n%s", diff)
	}
	h.at(t, "2026-11-26T20:00:00Z", &pat)
	h.mark(t, pat, dose(a, "2026-11-26", "20:00"), "taken", "", models.DoseTaken) // empty body: now
	h.at(t, "2026-11-27T12:30:00Z", &pat)
	h.mark(t, pat, dose(b, "2026-11-27", "12:00"), "taken", map[string]any{}, models.DoseTaken)
	h.at(t, "2026-11-27T15:00:00Z", &pat)
	if r := h.do(t, "POST", "/v1/patients/me/doses", pat.Access, map[string]any{"id": "puff-1", "medicationId": c.ID, "takenAt": "2026-11-27T14:50:00Z"}); r.status != http.StatusCreated {
		t.Fatalf("as-needed dose: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", "/v1/patients/me/doses", pat.Access, map[string]any{"id": "puff-1", "medicationId": c.ID, "takenAt": "2026-11-27T14:50:00Z"}); r.status != http.StatusOK {
		t.Fatalf("as-needed dose replayed: %d %s", r.status, r.body)
	}

	h.at(t, "2026-11-28T09:00:00Z", &pat)
	r := h.do(t, "GET", "/v1/patients/me/adherence?days=7", pat.Access, nil)
	if r.status != http.StatusOK {
		t.Fatalf("adherence: %d %s", r.status, r.body)
	}
	got := decodeJSON[models.Adherence](t, r)
	share := func(v float64) *float64 { return &v }
	date := func(s string) *string { return &s }
	wantAdh := models.Adherence{
		WindowDays: 7,
		From:       time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC),
		To:         time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC),
		Overall: models.AdherenceFigures{Due: 8, Taken: 4, Skipped: 1, Missed: 3,
			DoseAdherence: share(0.5), PDC: share(1.0 / 3), OnTime: share(0.75), MissedStreak: 2},
		Medications: []models.MedicationAdherence{
			{MedicationID: a.ID, Name: "Ramipril", AdherenceFigures: models.AdherenceFigures{Due: 5, Taken: 2, Skipped: 1, Missed: 2,
				DoseAdherence: share(0.4), PDC: share(1.0 / 3), OnTime: share(0.5), MissedStreak: 2},
				DaysOfStockLeft: share(27), RunOutDate: date("2026-12-25")},
			{MedicationID: b.ID, Name: "Metformin", AdherenceFigures: models.AdherenceFigures{Due: 3, Taken: 2, Missed: 1,
				DoseAdherence: share(2.0 / 3), PDC: share(2.0 / 3), OnTime: share(1), MissedStreak: 0},
				DaysOfStockLeft: share(13), RunOutDate: date("2026-12-11")},
			{MedicationID: c.ID, Name: "Salbutamol"},
		},
	}
	if diff := cmp.Diff(wantAdh, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("adherence (-want +got):\n%s", diff)
	}
	// 28 days covers the same doses.
	r = h.do(t, "GET", "/v1/patients/me/adherence", pat.Access, nil)
	if got28 := decodeJSON[models.Adherence](t, r); r.status != http.StatusOK || got28.WindowDays != 28 || got28.Overall.Due != 8 {
		t.Errorf("default window: %d %+v", r.status, got28.Overall)
	}
	for _, days := range []string{"5", "365", "a week"} {
		r := h.do(t, "GET", "/v1/patients/me/adherence?days="+url.QueryEscape(days), pat.Access, nil)
		if r.status != http.StatusBadRequest || !cmp.Equal(r.fields(t), []string{"days"}) {
			t.Errorf("days=%s: %d %s", days, r.status, r.body)
		}
	}
	for _, m := range []struct {
		id   string
		want float64
	}{{a.ID, 54}, {b.ID, 26}, {c.ID, 198}} {
		r := h.do(t, "GET", "/v1/patients/me/medications/"+m.id, pat.Access, nil)
		if got := decodeJSON[models.Medication](t, r); got.Stock == nil || got.Stock.Quantity != m.want {
			t.Errorf("stock of %s: %+v, want %v", m.id, got.Stock, m.want)
		}
	}
}

// TestMedicationAndDoseRoutesArePrivate: another patient gets 404 on every
// medication, dose and adherence route (by id, or through "me" with this
// patient's ids), no token gets 401, and nothing changes.
func TestMedicationAndDoseRoutesArePrivate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pat := h.register(t, "private@example.org", "patient")
	other := h.register(t, "nosy@example.org", "patient")
	m := h.addMedication(t, pat, map[string]any{"name": "Ramipril", "schedule": map[string]any{"times": []string{"10:00"}, "startDate": "2026-11-25"},
		"stock": map[string]any{"quantity": 28, "unitsPerDose": 1}})
	prn := h.addMedication(t, pat, map[string]any{"name": "Salbutamol", "schedule": map[string]any{"asNeeded": true, "startDate": "2026-11-25"}})
	doseID := models.DoseID(m.ID, "2026-11-25", "10:00")
	newMed := map[string]any{"name": "X", "schedule": map[string]any{"times": []string{"08:00"}, "startDate": "2026-11-25"}}
	routes := []struct {
		method, path string
		body         any
	}{
		{"POST", "/medications", newMed},
		{"GET", "/medications", nil},
		{"GET", "/medications/" + m.ID, nil},
		{"PATCH", "/medications/" + m.ID, map[string]any{"name": "Y"}},
		{"DELETE", "/medications/" + m.ID, nil},
		{"GET", "/doses", nil},
		{"POST", "/doses", map[string]any{"medicationId": prn.ID}},
		{"POST", "/doses/" + doseID + "/taken", map[string]any{}},
		{"POST", "/doses/" + escapeColon(doseID) + "/skipped", map[string]any{}},
		{"GET", "/adherence?days=7", nil},
	}
	for _, rt := range routes {
		path := "/v1/patients/" + pat.ID + rt.path
		if r := h.do(t, rt.method, path, other.Access, rt.body); r.status != http.StatusNotFound || r.problemCode(t) != "not_found" {
			t.Errorf("other patient %s %s: %d %s", rt.method, path, r.status, r.body)
		}
		if r := h.do(t, rt.method, path, "", rt.body); r.status != http.StatusUnauthorized {
			t.Errorf("no token %s %s: %d", rt.method, path, r.status)
		}
	}
	// Through "me", this patient's medication and dose ids are not found.
	for _, rt := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/medications/" + m.ID, nil},
		{"PATCH", "/medications/" + m.ID, map[string]any{"name": "Y"}},
		{"DELETE", "/medications/" + m.ID, nil},
		{"POST", "/doses/" + doseID + "/taken", nil},
		{"POST", "/doses/" + doseID + "/skipped", nil},
	} {
		if r := h.do(t, rt.method, "/v1/patients/me"+rt.path, other.Access, rt.body); r.status != http.StatusNotFound {
			t.Errorf("other patient via me %s %s: %d %s", rt.method, rt.path, r.status, r.body)
		}
	}
	if r := h.do(t, "POST", "/v1/patients/me/doses", other.Access, map[string]any{"medicationId": prn.ID}); r.status != http.StatusBadRequest ||
		!cmp.Equal(r.fields(t), []string{"medicationId"}) {
		t.Errorf("other patient logs a dose of this patient's medicine: %d %s", r.status, r.body)
	}
	// Nothing changed.
	r := h.do(t, "GET", "/v1/patients/me/medications/"+m.ID, pat.Access, nil)
	if got := decodeJSON[models.Medication](t, r); got.Name != "Ramipril" || got.Status != models.MedicationActive || got.Stock.Quantity != 28 {
		t.Errorf("medication changed: %+v", got)
	}
	if diff := cmp.Diff([]string{doseID + " pending"}, h.doseStatuses(t, pat, "2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z")); diff != "" {
		t.Errorf("doses (-want +got):\n%s", diff)
	}
	if r := h.do(t, "GET", "/v1/patients/me/medications", other.Access, nil); string(r.body) != `{"items":[]}` {
		t.Errorf("other patient's own list: %s", r.body)
	}
}

// TestMedicationEndpoints: create, replay, list, validation naming fields
// (nothing stored), unknown and server-owned fields rejected, PATCH
// (schedule, stock null), DELETE = stop, dose ids with ':' raw or %3A.
func TestMedicationEndpoints(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pat := h.register(t, "meds@example.org", "patient")
	base := "/v1/patients/me/medications"

	for _, tt := range []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"bad time and stock", map[string]any{"name": "Ramipril", "schedule": map[string]any{"times": []string{"8am"}, "startDate": "2026-11-25"},
			"stock": map[string]any{"quantity": 10, "unitsPerDose": 0}}, []string{"schedule.times[0]", "stock.unitsPerDose"}},
		{"no schedule", map[string]any{"name": "Ramipril"}, []string{"schedule.times", "schedule.startDate"}},
		{"server-owned status", map[string]any{"name": "Ramipril", "status": "stopped"}, []string{"status"}},
		{"server-owned patient", map[string]any{"name": "Ramipril", "patientId": "someone"}, []string{"patientId"}},
		{"unknown schedule field", map[string]any{"name": "Ramipril", "schedule": map[string]any{"times": []string{"08:00"}, "startDate": "2026-11-25", "timezone": "UTC"}}, []string{"schedule.timezone"}},
	} {
		r := h.do(t, "POST", base, pat.Access, tt.body)
		if r.status != http.StatusBadRequest || r.problemCode(t) != "invalid" {
			t.Errorf("%s: %d %s", tt.name, r.status, r.body)
			continue
		}
		if diff := cmp.Diff(tt.fields, r.fields(t)); diff != "" {
			t.Errorf("%s: fields (-want +got):\n%s", tt.name, diff)
		}
	}
	if r := h.do(t, "GET", base, pat.Access, nil); string(r.body) != `{"items":[]}` {
		t.Errorf("after invalid creates: %s", r.body)
	}

	body := map[string]any{"id": medUUID(7), "name": "Ramipril", "schedule": map[string]any{"times": []string{"10:00", "18:00"}, "startDate": "2026-11-25"},
		"stock": map[string]any{"quantity": 28, "unitsPerDose": 1, "refillLeadDays": 7}}
	m := h.addMedication(t, pat, body)
	if r := h.do(t, "POST", base, pat.Access, body); r.status != http.StatusOK {
		t.Errorf("replay: %d %s", r.status, r.body)
	}
	body["name"] = "Lisinopril"
	if r := h.do(t, "POST", base, pat.Access, body); r.status != http.StatusConflict {
		t.Errorf("same id, other content: %d %s", r.status, r.body)
	}

	// Dose ids contain ':'; sent raw or percent-encoded they name the dose.
	dose10 := models.DoseID(m.ID, "2026-11-25", "10:00")
	h.mark(t, pat, dose10, "taken", nil, models.DoseTaken)
	h.mark(t, pat, escapeColon(dose10), "taken", nil, models.DoseTaken) // idempotent
	h.mark(t, pat, escapeColon(dose10), "skipped", map[string]any{"reason": "wrong dose"}, models.DoseSkipped)
	if r := h.do(t, "POST", "/v1/patients/me/doses/"+dose10+"/taken", pat.Access, map[string]any{"takenAt": "yesterday"}); r.status != http.StatusBadRequest ||
		!cmp.Equal(r.fields(t), []string{"takenAt"}) {
		t.Errorf("bad takenAt: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", "/v1/patients/me/doses/"+dose10+"/skipped", pat.Access, map[string]any{"why": "x"}); r.status != http.StatusBadRequest {
		t.Errorf("unknown field: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", "/v1/patients/me/doses?from=today", pat.Access, nil); r.status != http.StatusBadRequest || !cmp.Equal(r.fields(t), []string{"from"}) {
		t.Errorf("bad from: %d %s", r.status, r.body)
	}

	// PATCH: a new evening time moves the future; stock null stops tracking.
	r := h.do(t, "PATCH", base+"/"+m.ID, pat.Access, map[string]any{"schedule": map[string]any{"times": []string{"10:00", "19:00"}, "startDate": "2026-11-25"}, "stock": nil})
	if r.status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	if got := decodeJSON[models.Medication](t, r); got.Stock != nil || !cmp.Equal(got.Schedule.Times, []string{"10:00", "19:00"}) {
		t.Errorf("patched: %+v", got)
	}
	want := []string{dose10 + " skipped", models.DoseID(m.ID, "2026-11-25", "19:00") + " pending"}
	if diff := cmp.Diff(want, h.doseStatuses(t, pat, "2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z")); diff != "" {
		t.Errorf("doses after the edit (-want +got):\n%s", diff)
	}
	if r := h.do(t, "PATCH", base+"/"+m.ID, pat.Access, map[string]any{"stock": map[string]any{"quantity": 5, "extra": 1}}); r.status != http.StatusBadRequest ||
		!cmp.Equal(r.fields(t), []string{"stock"}) {
		t.Errorf("bad stock: %d %s", r.status, r.body)
	}
	if r := h.do(t, "PATCH", base+"/"+m.ID, pat.Access, map[string]any{"schedule": map[string]any{"times": []string{}, "startDate": "2026-11-25"}}); r.status != http.StatusBadRequest ||
		!cmp.Equal(r.fields(t), []string{"schedule.times"}) {
		t.Errorf("empty times: %d %s", r.status, r.body)
	}

	// DELETE stops: listed as stopped; the logged dose stays, the future goes.
	r = h.do(t, "DELETE", base+"/"+m.ID, pat.Access, nil)
	if got := decodeJSON[models.Medication](t, r); r.status != http.StatusOK || got.Status != models.MedicationStopped || got.StoppedAt == nil {
		t.Errorf("stop: %d %s", r.status, r.body)
	}
	if diff := cmp.Diff([]string{dose10 + " skipped"}, h.doseStatuses(t, pat, "2026-11-25T00:00:00Z", "2026-12-25T00:00:00Z")); diff != "" {
		t.Errorf("doses after the stop (-want +got):\n%s", diff)
	}
	list := decodeJSON[struct{ Items []models.Medication }](t, h.do(t, "GET", base+"?status=stopped", pat.Access, nil))
	if len(list.Items) != 1 || list.Items[0].ID != m.ID {
		t.Errorf("stopped list: %+v", list.Items)
	}
	if r := h.do(t, "PATCH", base+"/"+m.ID, pat.Access, map[string]any{"name": "Ramipril"}); r.status != http.StatusConflict {
		t.Errorf("edit a stopped medicine: %d %s", r.status, r.body)
	}
}

// TestTimezoneChangeMovesDoses: PATCH /v1/me with a new time zone moves
// the patient's future doses to the new local times at once.
func TestTimezoneChangeMovesDoses(t *testing.T) {
	t.Parallel()
	h := newHarness(t) // 2026-11-25 09:00 UTC
	pat := h.register(t, "traveller@example.org", "patient")
	m := h.addMedication(t, pat, map[string]any{"name": "Ramipril", "schedule": map[string]any{"times": []string{"08:00"}, "startDate": "2026-11-25"}})
	if r := h.do(t, "PATCH", "/v1/me", pat.Access, map[string]any{"timezone": "America/New_York"}); r.status != http.StatusOK {
		t.Fatalf("patch me: %d %s", r.status, r.body)
	}
	// Read the store directly: listing would plan, and hide a missing hook.
	got, err := h.store.Doses().ListByPatient(t.Context(), pat.ID, time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var at []string
	for _, d := range got {
		at = append(at, d.ID+" "+d.ScheduledAt.Format(time.RFC3339))
	}
	want := []string{
		models.DoseID(m.ID, "2026-11-26", "08:00") + " 2026-11-26T13:00:00Z", // 08:00 EST
		models.DoseID(m.ID, "2026-11-27", "08:00") + " 2026-11-27T13:00:00Z",
	}
	if diff := cmp.Diff(want, at); diff != "" {
		t.Errorf("stored doses after the move (-want +got):\n%s", diff)
	}
}

// An as-needed medicine's schedule.times is an empty array in every
// answer, never null (typed clients read it as an array) — issue 12.
func TestAsNeededTimesAreAnEmptyArray(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pat := h.register(t, "inhaler@example.org", "patient")
	med := h.addMedication(t, pat, map[string]any{"name": "Salbutamol", "schedule": map[string]any{"asNeeded": true, "startDate": "2026-11-25"}})
	for _, path := range []string{"/v1/patients/me/medications/" + med.ID, "/v1/patients/me/medications"} {
		r := h.do(t, "GET", path, pat.Access, nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
		if !bytes.Contains(r.body, []byte(`"times":[]`)) || bytes.Contains(r.body, []byte(`"times":null`)) {
			t.Errorf("GET %s: schedule.times is not []: %s", path, r.body)
		}
	}
}
