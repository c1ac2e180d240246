package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// svcWorld is a patient of pharmacy A with its pharmacist, and the people
// who must be refused: another patient, an unlinked carer, and a
// pharmacist of pharmacy B.
type svcWorld struct {
	patient, other, carer, pharmA, pharmB account
}

func newSvcWorld(t *testing.T, h *harness) *svcWorld {
	t.Helper()
	admin := h.firstAdmin(t)
	a := h.newPharmacy(t, admin, "FA001", "Alpha Pharmacy", "SW1A 1AA")
	b := h.newPharmacy(t, admin, "FB002", "Beta Pharmacy", "M1 1AE")
	w := &svcWorld{
		pharmA: h.newPharmacist(t, admin, "ph-a@example.org", a), pharmB: h.newPharmacist(t, admin, "ph-b@example.org", b),
		patient: h.register(t, "ann@example.org", "patient"), other: h.register(t, "other@example.org", "patient"),
		carer: h.register(t, "carer@example.org", "carer"),
	}
	h.nominate(t, w.patient, a)
	h.nominate(t, w.other, b)
	return w
}

// all is every account of the world, to refresh their tokens.
func (w *svcWorld) all() []*account {
	return []*account{&w.patient, &w.other, &w.carer, &w.pharmA, &w.pharmB}
}

// path is a route of the patient's services.
func (w *svcWorld) path(rest string) string {
	return "/v1/patients/" + w.patient.ID + "/services" + rest
}

// episode sends a request that must answer want and returns the episode.
func (h *harness) episode(t *testing.T, method, path, token string, body any, want int) services.EpisodeView {
	t.Helper()
	r := h.do(t, method, path, token, body)
	if r.status != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, r.status, r.body, want)
	}
	return decodeInto[services.EpisodeView](t, r)
}

// refused checks that a request is refused with status and writes nothing.
func (h *harness) refused(t *testing.T, method, path, token string, body any, status int, code string) {
	t.Helper()
	r := h.do(t, method, path, token, body)
	if r.status != status || r.problemCode(t) != code {
		t.Fatalf("%s %s: %d %s, want %d %s", method, path, r.status, r.body, status, code)
	}
}

// refusedToOthers: another patient, an unlinked carer and another
// pharmacy's pharmacist get 404 (they may not learn the patient exists);
// the patient may not record a service (403).
func (h *harness) refusedToOthers(t *testing.T, w *svcWorld, method, path string, body any) {
	t.Helper()
	for _, a := range []account{w.other, w.carer, w.pharmB} {
		h.refused(t, method, path, a.Access, body, http.StatusNotFound, "not_found")
	}
	if method == "POST" {
		h.refused(t, method, path, w.patient.Access, body, http.StatusForbidden, "forbidden")
	}
}

func stageOf(t *testing.T, v services.EpisodeView, name string) models.ServiceStage {
	t.Helper()
	i := v.Stage(name)
	if i < 0 {
		t.Fatalf("episode %s has no stage %s: %+v", v.ID, name, v.Stages)
	}
	return v.Stages[i]
}

func checkStage(t *testing.T, v services.EpisodeView, name, state, from, to string) {
	t.Helper()
	s := stageOf(t, v, name)
	if s.State != state || s.WindowFrom != from || s.WindowTo != to {
		t.Errorf("%s: %s %s..%s, want %s %s..%s", name, s.State, s.WindowFrom, s.WindowTo, state, from, to)
	}
}

// TestNewMedicineService walks the NMS with hand-worked dates (the clock
// starts Wednesday 2026-11-25 09:00 UTC; Europe/London is on UTC):
// engagement on the 25th opens the intervention window 2 to 9 December;
// the intervention on its last day (9th, 23:30) opens the follow-up window
// 23 to 30 December; the follow-up on its first minute refers to the
// prescriber with the dose log's adherence as evidence. A second medicine's
// intervention is not held by the 9th: on the 10th it reads missed.
func TestNewMedicineService(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := newSvcWorld(t, h)
	sertraline := h.addMedication(t, w.patient, map[string]any{"name": "Sertraline", "strength": "50 mg",
		"schedule": map[string]any{"times": []string{"20:00"}, "startDate": "2026-11-25"}})
	amlodipine := h.addMedication(t, w.patient, map[string]any{"name": "Amlodipine", "strength": "5 mg",
		"schedule": map[string]any{"times": []string{"20:00"}, "startDate": "2026-11-25"}})

	start := map[string]any{"medicationId": sertraline.ID, "condition": "depression", "consent": true,
		"findings": map[string]any{"advice": "Take it in the evening; side effects usually settle in two weeks."}, "outcome": "advice_given"}
	h.refusedToOthers(t, w, "POST", w.path("/nms"), start)
	for _, bad := range []struct {
		change map[string]any
		field  string
	}{
		{map[string]any{"condition": "hay_fever"}, "condition"},
		{map[string]any{"consent": false}, "consent"},
		{map[string]any{"outcome": "referred_to_prescriber"}, "referral"},
	} {
		body := map[string]any{}
		for k, v := range start {
			body[k] = v
		}
		for k, v := range bad.change {
			body[k] = v
		}
		r := h.do(t, "POST", w.path("/nms"), w.pharmA.Access, body)
		if r.status != 400 || !strings.Contains(strings.Join(r.fields(t), ","), bad.field) {
			t.Errorf("start with %v: %d %s, want 400 naming %s", bad.change, r.status, r.body, bad.field)
		}
	}
	nms := h.episode(t, "POST", w.path("/nms"), w.pharmA.Access, start, 201)
	if nms.ID != "nms:"+sertraline.ID || nms.Status != models.EpisodeActive || nms.Consent == nil || !nms.Consent.Given {
		t.Fatalf("started: %+v", nms)
	}
	checkStage(t, nms, models.StageEngagement, models.StageDone, "", "")
	checkStage(t, nms, models.StageIntervention, models.StageUpcoming, "2026-12-02", "2026-12-09")
	checkStage(t, nms, models.StageFollowUp, models.StageWaiting, "", "")
	if nms.NextDue == nil || !nms.NextDue.Equal(time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("nextDue %v, want the end of 9 December", nms.NextDue)
	}
	h.refused(t, "POST", w.path("/nms"), w.pharmA.Access, start, http.StatusConflict, "conflict") // one NMS per medicine
	second := h.episode(t, "POST", w.path("/nms"), w.pharmA.Access, map[string]any{"medicationId": amlodipine.ID,
		"condition": "hypertension", "consent": true, "outcome": "no_problems"}, 201)

	// What the patient reads, in plain words.
	mine := decodeInto[struct{ Items []services.EpisodeView }](t, h.do(t, "GET", "/v1/patients/me/services", w.patient.Access, nil)).Items
	if len(mine) != 2 || !strings.Contains(mine[1].Summary, "New Medicine Service for Sertraline") ||
		mine[1].NextStep != "Your pharmacist will talk with you about how it is going between Wednesday 2 December and Wednesday 9 December." {
		t.Fatalf("patient's view: %+v", mine)
	}
	h.refusedToOthers(t, w, "GET", w.path(""), nil)

	// Day 6, 23:59: the window has not opened.
	intervention := map[string]any{"findings": map[string]any{"problems": "Forgets evening doses", "sideEffects": "Mild nausea",
		"advice": "Alarm at 20:00"}, "outcome": "advice_given"}
	h.at(t, "2026-12-01T23:59:00Z", w.all()...)
	h.refused(t, "POST", w.path("/"+nms.ID+"/intervention"), w.pharmA.Access, intervention, http.StatusConflict, "conflict")

	// 2 December: the patient logs five of the seven evening doses so far
	// (25 to 29 November) late; 30 November and 1 December stay missed.
	h.at(t, "2026-12-02T10:00:00Z", w.all()...)
	for _, d := range []string{"2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28", "2026-11-29"} {
		h.mark(t, w.patient, sertraline.ID+":"+d+"T20:00", "taken", map[string]any{"takenAt": d + "T20:00:00Z"}, models.DoseTaken)
	}

	// 9 December, 23:30: the window's last day. 15 doses due (25 November
	// to 9 December), 5 taken, 10 missed.
	h.at(t, "2026-12-09T23:30:00Z", w.all()...)
	h.refusedToOthers(t, w, "POST", w.path("/"+nms.ID+"/intervention"), intervention)
	nms = h.episode(t, "POST", w.path("/"+nms.ID+"/intervention"), w.pharmA.Access, intervention, 200)
	c := nms.Consultations[1]
	if c.Stage != models.StageIntervention || c.By != w.pharmA.ID || c.ByName == "" || c.Outcome != models.OutcomeAdvice ||
		c.Findings.Adherence == nil || c.Findings.Adherence.Due != 15 || c.Findings.Adherence.Taken != 5 || c.Findings.Adherence.Missed != 10 ||
		c.Findings.Adherence.MedicationID != sertraline.ID || c.Findings.SideEffects != "Mild nausea" {
		t.Fatalf("intervention consultation: %+v", c)
	}
	checkStage(t, nms, models.StageFollowUp, models.StageUpcoming, "2026-12-23", "2026-12-30")

	// The queue: the second episode's window closes first.
	queue := decodeInto[services.ServicePage](t, h.do(t, "GET", "/v1/pharmacy/services", w.pharmA.Access, nil)).Items
	if len(queue) != 2 || queue[0].ID != second.ID || queue[1].ID != nms.ID || queue[0].PatientName == "" {
		t.Fatalf("queue: %+v", queue)
	}
	if q := decodeInto[services.ServicePage](t, h.do(t, "GET", "/v1/pharmacy/services", w.pharmB.Access, nil)).Items; len(q) != 0 {
		t.Fatalf("pharmacy B sees %d episodes", len(q))
	}

	// 10 December: the second episode's intervention was missed.
	h.at(t, "2026-12-10T00:00:00Z", w.all()...)
	second = h.episode(t, "GET", w.path("/"+second.ID), w.pharmA.Access, nil, 200)
	if second.State != models.EpisodeMissed || stageOf(t, second, models.StageIntervention).State != models.StageMissed {
		t.Fatalf("second episode on 10 December: state %s stages %+v", second.State, second.Stages)
	}
	h.refused(t, "POST", w.path("/"+second.ID+"/intervention"), w.pharmA.Access, intervention, http.StatusConflict, "conflict")
	queue = decodeInto[services.ServicePage](t, h.do(t, "GET", "/v1/pharmacy/services", w.pharmA.Access, nil)).Items
	if len(queue) != 2 || queue[0].State != models.EpisodeMissed {
		t.Fatalf("queue on 10 December: %+v", queue)
	}
	closed := h.episode(t, "POST", w.path("/"+second.ID+"/close"), w.pharmA.Access, map[string]any{"reason": "Intervention window missed"}, 200)
	if closed.Status != models.EpisodeClosed {
		t.Fatalf("closed: %+v", closed)
	}

	// 22 December, 23:59: the follow-up window has not opened; 23
	// December 00:00 it has. 28 doses due in the 28 days, 5 taken.
	followUp := map[string]any{"findings": map[string]any{"problems": "Still nauseous"}, "outcome": "referred_to_prescriber",
		"referral": map[string]any{"reason": "Persistent nausea; adherence 5 of 28 doses"}}
	h.at(t, "2026-12-22T23:59:00Z", w.all()...)
	h.refused(t, "POST", w.path("/"+nms.ID+"/follow-up"), w.pharmA.Access, followUp, http.StatusConflict, "conflict")
	h.at(t, "2026-12-23T00:00:00Z", w.all()...)
	nms = h.episode(t, "POST", w.path("/"+nms.ID+"/follow-up"), w.pharmA.Access, followUp, 200)
	f := nms.Consultations[2]
	if nms.Status != models.EpisodeCompleted || f.Referral == nil || f.Referral.To != models.ReferToPrescriber ||
		f.Referral.Adherence == nil || f.Referral.Adherence.Due != 28 || f.Referral.Adherence.Taken != 5 {
		t.Fatalf("follow-up: status %s consultation %+v", nms.Status, f)
	}
	if q := decodeInto[services.ServicePage](t, h.do(t, "GET", "/v1/pharmacy/services", w.pharmA.Access, nil)).Items; len(q) != 0 {
		t.Fatalf("queue after: %+v", q)
	}
	h.checkAccessLog(t, w, "services.write", "services/"+nms.ID+"/follow-up")
}

// checkAccessLog: the patient's access log shows the pharmacist's action.
func (h *harness) checkAccessLog(t *testing.T, w *svcWorld, action, resource string) {
	t.Helper()
	r := h.do(t, "GET", "/v1/patients/me/access-log?limit=200", w.patient.Access, nil)
	for _, e := range decodeInto[services.AccessLogPage](t, r).Items {
		if e.ActorID == w.pharmA.ID && e.Action == action && e.Resource == resource {
			return
		}
	}
	t.Errorf("no %s of %s by the pharmacist in the access log: %s", action, resource, r.body)
}

// TestBloodPressureCheck: clinic readings are banded by the service's
// clinic bands at each edge (a home reading of the same values by NICE
// NG136's home bands), each band leads to its outcome, and an ABPM result
// completes a check that offered it.
func TestBloodPressureCheck(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := newSvcWorld(t, h)
	h.refusedToOthers(t, w, "POST", w.path("/bp-check"), map[string]any{"systolic": 120, "diastolic": 80, "consent": true})
	h.refused(t, "POST", w.path("/bp-check"), w.pharmA.Access, map[string]any{"systolic": 120, "diastolic": 80}, 400, "invalid")

	episodes := map[string]services.EpisodeView{}
	for _, c := range []struct {
		sys, dia      float64
		band, outcome string
		status        models.EpisodeStatus
		referral      bool
	}{
		{89, 70, models.BandLow, string(models.OutcomeBPLow), models.EpisodeCompleted, false},
		{90, 60, models.BandNormal, string(models.OutcomeBPNormal), models.EpisodeCompleted, false},
		{139, 89, models.BandNormal, string(models.OutcomeBPNormal), models.EpisodeCompleted, false},
		{140, 80, models.BandOfferABPM, string(models.OutcomeABPMOffered), models.EpisodeActive, false},
		{130, 90, models.BandOfferABPM, string(models.OutcomeABPMOffered), models.EpisodeActive, false},
		{179, 119, models.BandOfferABPM, string(models.OutcomeABPMOffered), models.EpisodeActive, false},
		{180, 100, models.BandSameDayReferral, string(models.OutcomeSameDayReferral), models.EpisodeCompleted, true},
		{150, 120, models.BandSameDayReferral, string(models.OutcomeSameDayReferral), models.EpisodeCompleted, true},
	} {
		name := fmt.Sprintf("%g/%g", c.sys, c.dia)
		v := h.episode(t, "POST", w.path("/bp-check"), w.pharmA.Access, map[string]any{"systolic": c.sys, "diastolic": c.dia, "consent": true}, 201)
		got := v.Consultations[0]
		if got.Findings.Band != c.band || string(got.Outcome) != c.outcome || v.Status != c.status || (got.Referral != nil) != c.referral {
			t.Errorf("%s: band %s outcome %s status %s referral %v; want %s %s %s %v", name, got.Findings.Band, got.Outcome, v.Status,
				got.Referral != nil, c.band, c.outcome, c.status, c.referral)
		}
		if c.referral && (got.Referral.Urgency != models.UrgencySameDay || got.Referral.To != models.ReferToGPPractice || got.Referral.ReadingID == "") {
			t.Errorf("%s: referral %+v", name, got.Referral)
		}
		reading := decodeInto[models.Reading](t, h.do(t, "GET", "/v1/patients/me/readings/"+got.Findings.ReadingID, w.patient.Access, nil))
		if reading.Source != models.ReadingSourceClinic || reading.Band != c.band {
			t.Errorf("%s: stored reading source %q band %s", name, reading.Source, reading.Band)
		}
		episodes[name] = v
	}
	// The same 140/80 taken at home is banded by the home bands.
	home := h.do(t, "POST", "/v1/patients/me/readings", w.patient.Access, map[string]any{"type": "blood_pressure",
		"takenAt": h.clock.Now().Format(time.RFC3339), "unit": "mm[Hg]", "systolic": 140, "diastolic": 80})
	if r := decodeInto[models.Reading](t, home); r.Band != models.BandHighStage1 || r.Source != "" {
		t.Errorf("home 140/80: band %s source %q, want high_stage1 and no source", r.Band, r.Source)
	}

	offered := episodes["140/80"]
	if s := stageOf(t, offered, models.StageABPM); s.State != models.StageDue {
		t.Errorf("ABPM stage %s, want due", s.State)
	}
	mine := h.episode(t, "GET", "/v1/patients/me/services/"+offered.ID, w.patient.Access, nil, 200)
	if !strings.Contains(mine.NextStep, "bring it back") {
		t.Errorf("patient's next step: %q", mine.NextStep)
	}
	h.refused(t, "POST", w.path("/"+episodes["139/89"].ID+"/abpm"), w.pharmA.Access, map[string]any{"systolic": 130, "diastolic": 80}, 409, "conflict")
	h.refusedToOthers(t, w, "POST", w.path("/"+offered.ID+"/abpm"), map[string]any{"systolic": 135, "diastolic": 84})

	// ABPM daytime averages: 134/84 is normal; 135/84 is stage 1 (refer).
	h.later(t, 7*24*time.Hour, w.all()...)
	v := h.episode(t, "POST", w.path("/"+offered.ID+"/abpm"), w.pharmA.Access, map[string]any{"systolic": 135, "diastolic": 84}, 200)
	a := v.Consultations[1]
	if v.Status != models.EpisodeCompleted || a.Outcome != models.OutcomeReferredDiagnosis || a.Findings.Band != models.BandHighStage1 ||
		a.Referral == nil || a.Referral.Urgency != models.UrgencyRoutine {
		t.Fatalf("ABPM 135/84: %+v", v)
	}
	v = h.episode(t, "POST", w.path("/"+episodes["130/90"].ID+"/abpm"), w.pharmA.Access, map[string]any{"systolic": 134, "diastolic": 84}, 200)
	if a := v.Consultations[1]; a.Outcome != models.OutcomeHypertensionUnlikly || a.Findings.Band != models.BandNormal || a.Referral != nil {
		t.Fatalf("ABPM 134/84: %+v", a)
	}
	h.checkAccessLog(t, w, "services.write", "services/"+offered.ID+"/abpm")
}

// TestDischargeMedicinesService: a discharge referral received Wednesday
// 25 November 09:00 is reconciled against the patient's list (changed
// dose, unchanged, two new, one stopped); stage one is due by Saturday 28
// November 09:00 (72 hours). Reconciled at exactly that time it is done;
// another referral reconciled a second later is done late. Accepted
// changes update the medicines list and the patient is told in the app.
func TestDischargeMedicinesService(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := newSvcWorld(t, h)
	daily := func(times ...string) map[string]any { return map[string]any{"times": times, "startDate": "2026-11-20"} }
	ramipril := h.addMedication(t, w.patient, map[string]any{"name": "Ramipril", "strength": "5 mg", "schedule": daily("08:00")})
	h.addMedication(t, w.patient, map[string]any{"name": "Metformin", "strength": "500 mg", "schedule": daily("08:00", "18:00")})
	simvastatin := h.addMedication(t, w.patient, map[string]any{"name": "Simvastatin", "strength": "20 mg", "schedule": daily("20:00")})

	referral := map[string]any{"hospital": "St Thomas' Hospital", "dischargedAt": "2026-11-24T16:00:00Z", "medicines": []any{
		map[string]any{"name": "Ramipril", "strength": "10 mg", "schedule": map[string]any{"times": []string{"08:00"}}},
		map[string]any{"name": "metformin", "strength": "500 mg", "schedule": map[string]any{"times": []string{"08:00", "18:00"}}},
		map[string]any{"name": "Apixaban", "strength": "5 mg", "schedule": map[string]any{"times": []string{"08:00", "20:00"}}},
		map[string]any{"name": "Bisoprolol", "strength": "2.5 mg"},
	}}
	h.refusedToOthers(t, w, "POST", w.path("/dms"), referral)
	dms := h.episode(t, "POST", w.path("/dms"), w.pharmA.Access, referral, 201)
	var kinds []string
	for _, c := range dms.Discharge.Changes {
		kinds = append(kinds, c.ID+" "+c.Kind)
	}
	if want := "c1 changed_dose,c2 unchanged,c3 new,c4 new,c5 stopped"; strings.Join(kinds, ",") != want {
		t.Fatalf("reconciliation %v, want %s", kinds, want)
	}
	s := stageOf(t, dms, models.StageReconciliation)
	if s.DueBy == nil || !s.DueBy.Equal(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)) || s.State != models.StageDue {
		t.Fatalf("reconciliation stage %+v, want due by 2026-11-28T09:00Z", s)
	}
	late := h.episode(t, "POST", w.path("/dms"), w.pharmA.Access, map[string]any{"hospital": "St Thomas' Hospital",
		"dischargedAt": "2026-11-24T16:00:00Z", "medicines": []any{map[string]any{"name": "Ramipril", "strength": "5 mg"}}}, 201)

	h.at(t, "2026-11-28T09:00:00Z", w.all()...)
	path := w.path("/" + dms.ID + "/reconciliation")
	h.refused(t, "POST", path, w.pharmA.Access, map[string]any{"decisions": []any{map[string]any{"changeId": "c1", "decision": "accepted"}}}, 400, "invalid")
	r := h.do(t, "POST", path, w.pharmA.Access, map[string]any{"decisions": []any{
		map[string]any{"changeId": "c1", "decision": "accepted"}, map[string]any{"changeId": "c3", "decision": "accepted"},
		map[string]any{"changeId": "c4", "decision": "accepted"}, map[string]any{"changeId": "c5", "decision": "accepted"}}})
	if r.status != 400 || strings.Join(r.fields(t), ",") != "decisions[2].decision" {
		t.Fatalf("accepting a new medicine without a schedule: %d %s", r.status, r.body)
	}
	if meds := decodeInto[struct{ Items []models.Medication }](t, h.do(t, "GET", "/v1/patients/me/medications", w.patient.Access, nil)).Items; len(meds) != 3 {
		t.Fatalf("a refused reconciliation changed the list: %d medicines", len(meds))
	}
	decisions := map[string]any{"advice": "Apixaban twice a day with water.", "decisions": []any{
		map[string]any{"changeId": "c1", "decision": "accepted"}, map[string]any{"changeId": "c3", "decision": "accepted"},
		map[string]any{"changeId": "c4", "decision": "rejected", "note": "Not on the GP record; asked the ward"},
		map[string]any{"changeId": "c5", "decision": "accepted"}}}
	h.refusedToOthers(t, w, "POST", path, decisions)
	dms = h.episode(t, "POST", path, w.pharmA.Access, decisions, 200)
	if dms.Status != models.EpisodeCompleted || stageOf(t, dms, models.StageReconciliation).State != models.StageDone ||
		dms.Consultations[0].Outcome != models.OutcomeMedicinesUpdated {
		t.Fatalf("reconciled: %+v", dms)
	}

	// The list changed: Ramipril 10 mg, Apixaban added, Simvastatin stopped.
	meds := decodeInto[struct{ Items []models.Medication }](t, h.do(t, "GET", "/v1/patients/me/medications", w.patient.Access, nil)).Items
	got := map[string]string{}
	for _, m := range meds {
		got[m.Name] = m.Strength + " " + string(m.Status)
	}
	want := map[string]string{"Ramipril": "10 mg active", "Metformin": "500 mg active", "Simvastatin": "20 mg stopped", "Apixaban": "5 mg active"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("medicines %v, want %v", got, want)
	}
	if c := dms.Discharge.Changes; c[0].MedicationID != ramipril.ID || c[4].MedicationID != simvastatin.ID || c[2].MedicationID == "" ||
		c[3].Decision != models.DecisionRejected || c[3].Note == "" {
		t.Errorf("changes after the reconciliation: %+v", c)
	}

	// The patient was told in the app, without medicine names.
	inbox := decodeInto[struct{ Items []models.Notification }](t, h.do(t, "GET", "/v1/me/notifications", w.patient.Access, nil)).Items
	if len(inbox) != 1 || inbox[0].Kind != models.KindPharmacyService || strings.Contains(inbox[0].Body, "Apixaban") {
		t.Fatalf("inbox: %+v", inbox)
	}
	mine := h.episode(t, "GET", "/v1/patients/me/services/"+dms.ID, w.patient.Access, nil, 200)
	if !strings.Contains(mine.NextStep, "1 added, 1 stopped, 1 changed") {
		t.Errorf("patient's next step: %q", mine.NextStep)
	}

	// A second past the 72 hours: the other referral is overdue, then done late.
	h.clock.Advance(time.Second)
	late = h.episode(t, "GET", w.path("/"+late.ID), w.pharmA.Access, nil, 200)
	if st := stageOf(t, late, models.StageReconciliation).State; st != models.StageOverdue {
		t.Fatalf("second referral at 72 h + 1 s: %s, want overdue", st)
	}
	late = h.episode(t, "POST", w.path("/"+late.ID+"/reconciliation"), w.pharmA.Access, map[string]any{"decisions": []any{
		map[string]any{"changeId": "c2", "decision": "rejected"}, map[string]any{"changeId": "c3", "decision": "rejected"}}}, 200)
	if st := stageOf(t, late, models.StageReconciliation).State; st != models.StageDoneLate || late.Consultations[0].Outcome != models.OutcomeNoChanges {
		t.Fatalf("second referral: %s %s", st, late.Consultations[0].Outcome)
	}
	h.checkAccessLog(t, w, "services.write", "services/"+dms.ID+"/reconciliation")
}

// TestSMRReferral: low adherence suggests a referral to the PCN for a
// Structured Medication Review; the pharmacy records the referral with
// the flag's evidence and the dose log's adherence, and the flag is
// resolved as smr_requested.
func TestSMRReferral(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := newSvcWorld(t, h)
	h.addMedication(t, w.patient, map[string]any{"name": "Ramipril", "strength": "5 mg",
		"schedule": map[string]any{"times": []string{"08:00", "20:00"}, "startDate": "2026-11-25"}})
	// 3 December 11:00: 16 doses due (25 November 20:00; two a day from
	// the 26th to 2 December; 3 December 08:00, past its 2-hour grace),
	// none taken.
	h.at(t, "2026-12-03T11:00:00Z", w.all()...)
	h.missDoses(t, w.patient.ID)
	flags := decodeInto[struct{ Items []models.Flag }](t, h.do(t, "GET", "/v1/pharmacy/flags?rule=low_adherence", w.pharmA.Access, nil)).Items
	if len(flags) != 1 || flags[0].SuggestedService != models.ServiceSMRReferral {
		t.Fatalf("low adherence flags: %+v", flags)
	}
	flag := flags[0]
	body := map[string]any{"to": "pcn_clinical_pharmacist", "reason": "No doses logged for 8 days", "flagId": flag.ID}
	h.refusedToOthers(t, w, "POST", w.path("/smr-referrals"), body)
	h.refused(t, "POST", w.path("/smr-referrals"), w.pharmA.Access, map[string]any{"to": "community_pharmacy", "reason": "x"}, 400, "invalid")
	v := h.episode(t, "POST", w.path("/smr-referrals"), w.pharmA.Access, body, 201)
	ref := v.Consultations[0].Referral
	if v.Status != models.EpisodeCompleted || ref == nil || ref.To != models.ReferToPCNPharmacy || ref.FlagID != flag.ID ||
		ref.FlagEvidence == nil || ref.FlagEvidence.Criterion != "low_adherence" || ref.Adherence == nil ||
		ref.Adherence.Due != 16 || ref.Adherence.Taken != 0 {
		t.Fatalf("referral: %+v", v)
	}
	r := h.do(t, "GET", "/v1/pharmacy/flags/"+flag.ID, w.pharmA.Access, nil)
	if f := decodeInto[models.Flag](t, r); f.Status != models.FlagResolved || f.Outcome != models.OutcomeSMRRequested {
		t.Fatalf("flag after the referral: %s %s", f.Status, f.Outcome)
	}
	h.refused(t, "POST", w.path("/smr-referrals"), w.pharmA.Access, body, http.StatusConflict, "conflict")
	mine := h.episode(t, "GET", "/v1/patients/me/services/"+v.ID, w.patient.Access, nil, 200)
	if !strings.Contains(mine.Summary, "Structured Medication Review") || !strings.Contains(mine.NextStep, "contact you") {
		t.Errorf("patient's words: %q / %q", mine.Summary, mine.NextStep)
	}
}
