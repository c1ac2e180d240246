package services_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store/storetest"
)

// TestOneLiveFlagUnderConcurrentEvaluations: 8 evaluations of one patient
// at once raise exactly one flag per rule that fires; after the flag is
// resolved and new evidence comes, 8 more raise exactly one more.
func TestOneLiveFlagUnderConcurrentEvaluations(t *testing.T) {
	t.Parallel()
	w := newFlagWorld(t)
	ctx := context.Background()
	med := w.medicine(t, w.patient, "Amlodipine", "2026-01-01", ptr(0.0)) // stock gone: running_out
	// A severe reading stored without telling the observers, so that only
	// the evaluations below raise its flag.
	r := models.Reading{ID: "7d4e8f2a-1b3c-4d5e-9f60-718293a4b5c6", PatientID: w.patient.ID, Type: models.ReadingSpO2, Unit: "%",
		TakenAt: flagStart.Add(-time.Hour), Value: ptr(90.0)}
	if err := r.Normalize(flagStart); err != nil {
		t.Fatal(err)
	}
	r.Band, r.Rule, _ = models.Classify(&r, models.CarePlanTargets{})
	if err := w.st.Readings().Insert(ctx, r); err != nil {
		t.Fatal(err)
	}

	race := func() {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- w.flags.Evaluate(ctx, w.patient, w.clock.Now())
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("evaluate: %v", err)
			}
		}
	}
	race()
	for _, rule := range []models.FlagRuleID{models.RuleRunningOut, models.RuleSevereReading} {
		f := w.mustFlag(t, w.patient.ID, rule, 1)
		live := storetest.FlagRecord(t, w.st, f.ID).Live
		if f.Status != models.FlagOpen || !live || f.PharmacyID != w.pharmacyA {
			t.Errorf("%s: status %s live %v pharmacy %s", rule, f.Status, live, f.PharmacyID)
		}
		if diff := cmp.Diff([]string{models.FlagEventRaised}, events(f)); diff != "" {
			t.Errorf("%s history (-want +got):\n%s", rule, diff)
		}
		if _, ok := w.flag(t, w.patient.ID, rule, 2); ok {
			t.Errorf("%s: a second flag was raised", rule)
		}
	}
	live, err := w.st.Flags().LiveOfPatient(ctx, w.patient.ID, "")
	if err != nil || len(live) != 2 {
		t.Fatalf("live flags: %d (%v), want 2", len(live), err)
	}

	// Resolved, then a refill that still leaves the stock short: new
	// evidence, so 8 evaluations raise flag 2, and only flag 2.
	if _, err := w.flags.Resolve(ctx, w.phA, models.FlagID(w.patient.ID, models.RuleRunningOut, 1),
		services.FlagResolution{Outcome: models.OutcomeAdviceGiven, Note: "Asked the GP surgery for the repeat."}); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(time.Minute)
	w.setStock(t, w.patient, med.ID, 2)
	race()
	if f := w.mustFlag(t, w.patient.ID, models.RuleRunningOut, 2); f.Status != models.FlagOpen || f.Evidence.Value != 2 {
		t.Errorf("flag 2: status %s evidence %+v", f.Status, f.Evidence)
	}
	if _, ok := w.flag(t, w.patient.ID, models.RuleRunningOut, 3); ok {
		t.Error("a third flag was raised")
	}
	f := w.mustFlag(t, w.patient.ID, models.RuleRunningOut, 1)
	if live := storetest.FlagRecord(t, w.st, f.ID).Live; f.Status != models.FlagResolved || live {
		t.Errorf("flag 1 changed: status %s live %v", f.Status, live)
	}
}

// TestRefireUpdatesEvidence: the rule firing again with other figures
// updates the live flag's evidence and history; the same figures change
// nothing.
func TestRefireUpdatesEvidence(t *testing.T) {
	t.Parallel()
	w := newFlagWorld(t)
	ctx := context.Background()
	med := w.medicine(t, w.patient, "Ramipril", "2026-01-01", ptr(3.0))
	w.evaluate(t, w.patient)
	id := models.FlagID(w.patient.ID, models.RuleRunningOut, 1)
	f := w.mustFlag(t, w.patient.ID, models.RuleRunningOut, 1)
	if f.Evidence.Value != 3 || f.Evidence.Details["runOutDate"] != "2026-03-13" {
		t.Fatalf("evidence %+v, want 3 days (run out 2026-03-13)", f.Evidence)
	}

	// A dose taken: 2 days left.
	if err := w.st.Medications().AdjustStock(ctx, med.ID, -1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(time.Hour)
	w.evaluate(t, w.patient)
	w.evaluate(t, w.patient) // the same again: no new history
	f = w.mustFlag(t, w.patient.ID, models.RuleRunningOut, 1)
	if f.ID != id || f.Evidence.Value != 2 || f.Evidence.Details["quantity"] != "2" {
		t.Errorf("evidence after a dose: %+v", f.Evidence)
	}
	if diff := cmp.Diff([]string{models.FlagEventRaised, models.FlagEventRefired}, events(f)); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if ev := f.History[1].Evidence; ev == nil || ev.Value != 2 || !f.History[1].At.Equal(flagStart.Add(time.Hour)) {
		t.Errorf("refired event %+v", f.History[1])
	}
	if _, ok := w.flag(t, w.patient.ID, models.RuleRunningOut, 2); ok {
		t.Error("a re-fire raised a second flag")
	}
}

// TestResolvedFlagNotRaisedAgainOnSameEvidence: a resolved flag is not
// raised again for what it was about; new evidence raises a new one; new
// evidence while a follow-up is awaited brings that flag back at once.
func TestResolvedFlagNotRaisedAgainOnSameEvidence(t *testing.T) {
	t.Parallel()
	w := newFlagWorld(t)
	ctx := context.Background()
	w.reading(t, w.patient, models.ReadingBloodPressure, "mm[Hg]", 185, 100) // raised by the observer
	f := w.mustFlag(t, w.patient.ID, models.RuleSevereReading, 1)
	if _, err := w.flags.Resolve(ctx, w.phA, f.ID, services.FlagResolution{Outcome: models.OutcomeReferredToGP, Note: "Same-day GP appointment."}); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(time.Hour)
	w.evaluate(t, w.patient)
	if _, ok := w.flag(t, w.patient.ID, models.RuleSevereReading, 2); ok {
		t.Fatal("the same reading raised a second flag after the first was resolved")
	}

	// A new severe reading: a new flag.
	w.reading(t, w.patient, models.ReadingBloodPressure, "mm[Hg]", 190, 100)
	f2 := w.mustFlag(t, w.patient.ID, models.RuleSevereReading, 2)
	if f2.Status != models.FlagOpen || f2.Evidence.Value != 2 {
		t.Errorf("flag 2: status %s evidence %+v (want 2 severe readings in 7 days)", f2.Status, f2.Evidence)
	}

	// Resolved with a follow-up in a week: hidden; the same evidence keeps
	// it hidden; a new reading brings it back now.
	if _, err := w.flags.Resolve(ctx, w.phA, f2.ID, services.FlagResolution{Outcome: models.OutcomeAdviceGiven, Note: "Recheck in a week.",
		FollowUpAt: ptr(w.clock.Now().Add(7 * 24 * time.Hour))}); err != nil {
		t.Fatal(err)
	}
	w.evaluate(t, w.patient)
	if f2 = w.mustFlag(t, w.patient.ID, models.RuleSevereReading, 2); f2.Status != models.FlagResolved {
		t.Errorf("awaiting follow-up, same evidence: status %s", f2.Status)
	}
	w.clock.Advance(time.Hour)
	w.reading(t, w.patient, models.ReadingSpO2, "%", 89)
	f2 = w.mustFlag(t, w.patient.ID, models.RuleSevereReading, 2)
	if f2.Status != models.FlagOpen || f2.ClaimedBy != "" || !f2.QueuedAt.Equal(w.clock.Now()) || events(f2)[len(f2.History)-1] != models.FlagEventReopened {
		t.Errorf("after a new severe reading: status %s claimedBy %q queuedAt %v history %v", f2.Status, f2.ClaimedBy, f2.QueuedAt, events(f2))
	}
	if _, ok := w.flag(t, w.patient.ID, models.RuleSevereReading, 3); ok {
		t.Error("a new flag was raised while one awaited its follow-up")
	}
}

// TestLowAdherenceRearms: a resolved low-adherence flag is not raised again
// while adherence stays low, until 28 days after it was resolved.
func TestLowAdherenceRearms(t *testing.T) {
	t.Parallel()
	w := newFlagWorld(t)
	ctx := context.Background()
	w.medicine(t, w.patient, "Metformin", "2026-03-10", nil)   // first dose 2026-03-11 08:00
	w.clock.Set(time.Date(2026, 3, 25, 12, 0, 0, 0, time.UTC)) // 15 doses due, none taken
	w.evaluate(t, w.patient)
	f := w.mustFlag(t, w.patient.ID, models.RuleLowAdherence, 1)
	if f.Evidence.Value != 0 || f.Evidence.Details["due"] != "15" {
		t.Fatalf("evidence %+v, want 0 of 15", f.Evidence)
	}
	if _, err := w.flags.Resolve(ctx, w.phA, f.ID, services.FlagResolution{Outcome: models.OutcomeSMRRequested, Note: "SMR booked."}); err != nil {
		t.Fatal(err)
	}
	resolvedAt := w.clock.Now()
	w.clock.Set(resolvedAt.Add(27 * 24 * time.Hour))
	w.evaluate(t, w.patient)
	if _, ok := w.flag(t, w.patient.ID, models.RuleLowAdherence, 2); ok {
		t.Fatal("raised again 27 days after it was resolved")
	}
	w.clock.Set(resolvedAt.Add(28 * 24 * time.Hour))
	w.evaluate(t, w.patient)
	if f2 := w.mustFlag(t, w.patient.ID, models.RuleLowAdherence, 2); f2.Status != models.FlagOpen {
		t.Errorf("28 days later: status %s", f2.Status)
	}
}

// TestConsentWithdrawalClosesFlags: withdrawing consent closes the
// pharmacy's live flags (open, claimed, awaiting a follow-up) as
// consent_withdrawn, leaves resolved ones alone, and stops new flags; a new
// nomination raises fresh flags for the new pharmacy.
func TestConsentWithdrawalClosesFlags(t *testing.T) {
	t.Parallel()
	w := newFlagWorld(t)
	ctx := context.Background()
	w.medicine(t, w.patient, "Sertraline", "2026-03-01", ptr(0.0)) // new_medicine (9 days) and running_out
	w.reading(t, w.patient, models.ReadingSpO2, "%", 90)           // severe_reading
	w.evaluate(t, w.patient)
	newMed := models.FlagID(w.patient.ID, models.RuleNewMedicine, 1)
	runOut := models.FlagID(w.patient.ID, models.RuleRunningOut, 1)
	severe := models.FlagID(w.patient.ID, models.RuleSevereReading, 1)
	if _, err := w.flags.Claim(ctx, w.phA, runOut); err != nil {
		t.Fatal(err)
	}
	if _, err := w.flags.Resolve(ctx, w.phA, severe, services.FlagResolution{Outcome: models.OutcomeAdviceGiven, Note: "Called.",
		FollowUpAt: ptr(flagStart.Add(48 * time.Hour))}); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(time.Minute)
	if err := w.consents.Withdraw(ctx, w.patient.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{newMed, runOut, severe} {
		f, err := w.st.Flags().Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		live := storetest.FlagRecord(t, w.st, id).Live
		if f.Status != models.FlagClosed || live || f.CloseReason != models.FlagClosedConsentWithdrawn || f.ClosedAt == nil ||
			events(f)[len(f.History)-1] != models.FlagEventClosed {
			t.Errorf("%s: status %s live %v reason %q history %v", id, f.Status, live, f.CloseReason, events(f))
		}
	}
	// No consent: evaluating raises nothing, and pharmacy A sees nothing.
	w.evaluate(t, w.patient)
	if live, _ := w.st.Flags().LiveOfPatient(ctx, w.patient.ID, ""); len(live) != 0 {
		t.Errorf("live flags without consent: %v", live)
	}
	if _, err := w.flags.Get(ctx, w.phA, newMed); models.ErrorCode(err) != models.CodeNotFound {
		t.Errorf("pharmacist A after withdrawal: %v, want not_found", err)
	}

	// Nominating B: B gets its own flags (the closed ones suppress nothing).
	if _, err := w.consents.Nominate(ctx, w.patient.ID, w.pharmacyB, true); err != nil {
		t.Fatal(err)
	}
	w.evaluate(t, w.patient)
	for _, rule := range []models.FlagRuleID{models.RuleNewMedicine, models.RuleRunningOut, models.RuleSevereReading} {
		if f := w.mustFlag(t, w.patient.ID, rule, 2); f.PharmacyID != w.pharmacyB || f.Status != models.FlagOpen {
			t.Errorf("%s after nominating B: pharmacy %s status %s", rule, f.PharmacyID, f.Status)
		}
	}
	// Changing B to A closes B's.
	if _, err := w.consents.Nominate(ctx, w.patient.ID, w.pharmacyA, true); err != nil {
		t.Fatal(err)
	}
	if f := w.mustFlag(t, w.patient.ID, models.RuleNewMedicine, 2); f.Status != models.FlagClosed || f.CloseReason != models.FlagClosedConsentWithdrawn {
		t.Errorf("B's flag after the change to A: %s %q", f.Status, f.CloseReason)
	}
}

// TestNoConsentNoFlags: a patient who nominated no pharmacy produces none.
func TestNoConsentNoFlags(t *testing.T) {
	t.Parallel()
	w := newFlagWorld(t)
	bob := w.newPatient(t, "bob", "Bob Example", "")
	w.medicine(t, bob, "Atenolol", "2026-03-01", ptr(0.0))
	w.reading(t, bob, models.ReadingSpO2, "%", 88)
	w.evaluate(t, bob)
	if err := w.flags.EvaluateAll(context.Background(), w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if live, err := w.st.Flags().LiveOfPatient(context.Background(), bob.ID, ""); err != nil || len(live) != 0 {
		t.Errorf("flags of a patient without consent: %v %v", live, err)
	}
}

// queueWorld is pharmacy A's queue with four patients' flags raised a
// minute apart: Ann severe, Bob and Cat high (running out), Dan low (new
// medicine); and Eve's high flag for pharmacy B.
func queueWorld(t *testing.T) (*flagWorld, map[string]string) {
	t.Helper()
	w := newFlagWorld(t)
	ids := map[string]string{}
	w.reading(t, w.patient, models.ReadingSpO2, "%", 90)
	ids["ann"] = models.FlagID(w.patient.ID, models.RuleSevereReading, 1)
	for _, p := range []struct{ id, pharmacy string }{{"bob", w.pharmacyA}, {"cat", w.pharmacyA}, {"eve", w.pharmacyB}} {
		w.clock.Advance(time.Minute)
		u := w.newPatient(t, p.id, strings.ToUpper(p.id[:1])+p.id[1:]+" Example", p.pharmacy)
		w.medicine(t, u, "Medicine", "2026-01-01", ptr(1.0))
		w.evaluate(t, u)
		ids[p.id] = models.FlagID(u.ID, models.RuleRunningOut, 1)
	}
	w.clock.Advance(time.Minute)
	dan := w.newPatient(t, "dan", "Dan Example", w.pharmacyA)
	w.medicine(t, dan, "Medicine", "2026-03-01", nil)
	w.evaluate(t, dan)
	ids["dan"] = models.FlagID(dan.ID, models.RuleNewMedicine, 1)
	return w, ids
}

func flagIDs(p services.FlagPage) []string {
	out := []string{}
	for _, f := range p.Items {
		out = append(out, f.ID)
	}
	return out
}

// TestQueueOrderFiltersAndPages: most severe first, then oldest; filters by
// status, severity and rule; keyset pages; one audit entry per patient
// shown; another pharmacy's flags never appear.
func TestQueueOrderFiltersAndPages(t *testing.T) {
	t.Parallel()
	w, ids := queueWorld(t)
	ctx := context.Background()
	list := func(q services.FlagListQuery) services.FlagPage {
		t.Helper()
		p, err := w.flags.List(ctx, w.phA, q)
		if err != nil {
			t.Fatalf("list %+v: %v", q, err)
		}
		return p
	}
	all := []string{ids["ann"], ids["bob"], ids["cat"], ids["dan"]}
	if diff := cmp.Diff(all, flagIDs(list(services.FlagListQuery{}))); diff != "" {
		t.Errorf("queue (-want +got):\n%s", diff)
	}
	first := list(services.FlagListQuery{Limit: 3})
	second := list(services.FlagListQuery{Limit: 3, Cursor: first.NextCursor})
	if diff := cmp.Diff(all, append(flagIDs(first), flagIDs(second)...)); diff != "" || first.NextCursor == "" || second.NextCursor != "" {
		t.Errorf("pages (-want +got):\n%s\ncursors %q %q", diff, first.NextCursor, second.NextCursor)
	}
	if first.Items[0].PatientName != "Ann Example" {
		t.Errorf("patient name %q", first.Items[0].PatientName)
	}
	if got := list(services.FlagListQuery{Severities: []models.Severity{models.SeverityHigh}}); !cmp.Equal(flagIDs(got), []string{ids["bob"], ids["cat"]}) {
		t.Errorf("severity=high: %v", flagIDs(got))
	}
	if got := list(services.FlagListQuery{Rules: []models.FlagRuleID{models.RuleNewMedicine, models.RuleSevereReading}}); !cmp.Equal(flagIDs(got), []string{ids["ann"], ids["dan"]}) {
		t.Errorf("rule=new_medicine,severe_reading: %v", flagIDs(got))
	}

	// Claimed stays in the default queue; resolved leaves it.
	if _, err := w.flags.Claim(ctx, w.phA, ids["cat"]); err != nil {
		t.Fatal(err)
	}
	if _, err := w.flags.Resolve(ctx, w.phA, ids["bob"], services.FlagResolution{Outcome: models.OutcomeNoActionNeeded, Note: "Collected today."}); err != nil {
		t.Fatal(err)
	}
	if got := list(services.FlagListQuery{}); !cmp.Equal(flagIDs(got), []string{ids["ann"], ids["cat"], ids["dan"]}) {
		t.Errorf("after claim and resolve: %v", flagIDs(got))
	}
	if got := list(services.FlagListQuery{Statuses: []models.FlagStatus{models.FlagClaimed}}); !cmp.Equal(flagIDs(got), []string{ids["cat"]}) {
		t.Errorf("status=claimed: %v", flagIDs(got))
	}
	if got := list(services.FlagListQuery{Statuses: []models.FlagStatus{models.FlagResolved}}); !cmp.Equal(flagIDs(got), []string{ids["bob"]}) {
		t.Errorf("status=resolved: %v", flagIDs(got))
	}

	// Each listing audits each patient shown once.
	before := w.auditCount(t, w.patient.ID)
	list(services.FlagListQuery{})
	if got := w.auditCount(t, w.patient.ID) - before; got != 1 {
		t.Errorf("audit entries for Ann after one listing: %d, want 1", got)
	}
	entries, _ := w.st.Audit().List(ctx, w.patient.ID, "", 1)
	if e := entries[0]; e.ActorID != w.phA.UserID || e.Action != string(services.ReadFlags) || e.Resource != "flags" {
		t.Errorf("audit entry %+v", e)
	}

	// Pharmacy B sees only Eve's.
	pb, err := w.flags.List(ctx, w.phB, services.FlagListQuery{})
	if err != nil || !cmp.Equal(flagIDs(pb), []string{ids["eve"]}) {
		t.Errorf("pharmacy B's queue: %v %v", flagIDs(pb), err)
	}

	bad := []struct {
		q     services.FlagListQuery
		field string
	}{
		{services.FlagListQuery{Statuses: []models.FlagStatus{"pending"}}, "status[0]"},
		{services.FlagListQuery{Severities: []models.Severity{"none"}}, "severity[0]"},
		{services.FlagListQuery{Rules: []models.FlagRuleID{"low", "bogus"}}, "rule[0]"},
		{services.FlagListQuery{Limit: 201}, "limit"},
		{services.FlagListQuery{Cursor: "not a cursor"}, "cursor"},
	}
	for _, b := range bad {
		_, err := w.flags.List(ctx, w.phA, b.q)
		var me *models.Error
		if models.ErrorCode(err) != models.CodeInvalid || !errors.As(err, &me) || len(me.Fields) == 0 || me.Fields[0].Field != b.field {
			t.Errorf("list %+v: %v, want invalid %s", b.q, err, b.field)
		}
	}
	if _, err := w.flags.List(ctx, models.Principal{UserID: w.patient.ID, Role: models.RolePatient}, services.FlagListQuery{}); models.ErrorCode(err) != models.CodeForbidden {
		t.Errorf("a patient's queue: %v, want forbidden", err)
	}
}

// TestConcurrentClaim: of 8 pharmacists claiming one flag at once exactly
// one wins; the others get conflict; claiming again is a no-op.
func TestConcurrentClaim(t *testing.T) {
	t.Parallel()
	w := newFlagWorld(t)
	ctx := context.Background()
	w.reading(t, w.patient, models.ReadingSpO2, "%", 90)
	id := models.FlagID(w.patient.ID, models.RuleSevereReading, 1)
	var pharmacists []models.Principal
	for i := range 8 {
		pharmacists = append(pharmacists, w.pharmacist(t, "ph-a"+string(rune('0'+i)), w.pharmacyA))
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []string
	)
	for _, p := range pharmacists {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := w.flags.Claim(ctx, p, id)
			switch {
			case err == nil:
				if f.ClaimedBy != p.UserID {
					t.Errorf("%s won but the flag says %s", p.UserID, f.ClaimedBy)
				}
				mu.Lock()
				winners = append(winners, p.UserID)
				mu.Unlock()
			case models.ErrorCode(err) != models.CodeConflict:
				t.Errorf("claim by %s: %v", p.UserID, err)
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d winners: %v", len(winners), winners)
	}
	f := w.mustFlag(t, w.patient.ID, models.RuleSevereReading, 1)
	if f.Status != models.FlagClaimed || f.ClaimedBy != winners[0] || f.ClaimedAt == nil {
		t.Errorf("stored: status %s claimedBy %s", f.Status, f.ClaimedBy)
	}
	if diff := cmp.Diff([]string{models.FlagEventRaised, models.FlagEventClaimed}, events(f)); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	winner := models.Principal{UserID: winners[0], Role: models.RolePharmacist}
	if _, err := w.flags.Claim(ctx, winner, id); err != nil {
		t.Errorf("claiming my own flag again: %v", err)
	}
	// A loser may not resolve it either.
	loser := w.phA
	if _, err := w.flags.Resolve(ctx, loser, id, services.FlagResolution{Outcome: models.OutcomeAdviceGiven, Note: "x"}); models.ErrorCode(err) != models.CodeConflict {
		t.Errorf("resolve by another pharmacist: %v, want conflict", err)
	}
}

// TestNotesAndFollowUp: notes are kept with their author; resolving with a
// follow-up hides the flag until the follow-up time, when it is open again.
func TestNotesAndFollowUp(t *testing.T) {
	t.Parallel()
	w := newFlagWorld(t)
	ctx := context.Background()
	w.reading(t, w.patient, models.ReadingSpO2, "%", 90)
	id := models.FlagID(w.patient.ID, models.RuleSevereReading, 1)

	f, err := w.flags.AddNote(ctx, w.phA, id, "  Tried to call, no answer.  ")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]models.FlagNote{{By: w.phA.UserID, At: flagStart, Text: "Tried to call, no answer."}}, f.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	for _, text := range []string{"  ", strings.Repeat("x", models.MaxFlagNoteLength+1)} {
		if _, err := w.flags.AddNote(ctx, w.phA, id, text); models.ErrorCode(err) != models.CodeInvalid {
			t.Errorf("note of %d characters: %v, want invalid", len(text), err)
		}
	}

	for _, r := range []services.FlagResolution{
		{Outcome: "cured", Note: "x"},
		{Outcome: models.OutcomeAdviceGiven},
		{Outcome: models.OutcomeAdviceGiven, Note: "x", FollowUpAt: ptr(flagStart)},
		{Outcome: models.OutcomeAdviceGiven, Note: "x", FollowUpAt: ptr(flagStart.Add(400 * 24 * time.Hour))},
	} {
		if _, err := w.flags.Resolve(ctx, w.phA, id, r); models.ErrorCode(err) != models.CodeInvalid {
			t.Errorf("resolve %+v: %v, want invalid", r, err)
		}
	}

	w.clock.Advance(10 * time.Minute)
	followUp := w.clock.Now().Add(7 * 24 * time.Hour)
	f, err = w.flags.Resolve(ctx, w.phA, id, services.FlagResolution{Outcome: models.OutcomeAdviceGiven,
		Note: "Advised to see the GP today; will check in a week.", FollowUpAt: &followUp})
	if err != nil {
		t.Fatal(err)
	}
	if f.Status != models.FlagResolved || f.Outcome != models.OutcomeAdviceGiven || f.ResolvedBy != w.phA.UserID ||
		f.FollowUpAt == nil || !f.FollowUpAt.Equal(followUp) || len(f.Notes) != 2 || f.ClaimedBy != w.phA.UserID {
		t.Errorf("resolved flag %+v", f)
	}
	inQueue := func() bool {
		p, err := w.flags.List(ctx, w.phA, services.FlagListQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return slices.Contains(flagIDs(p), id)
	}
	if inQueue() {
		t.Error("in the queue right after it was resolved with a follow-up")
	}
	if _, err := w.flags.Resolve(ctx, w.phA, id, services.FlagResolution{Outcome: models.OutcomeAdviceGiven, Note: "again"}); models.ErrorCode(err) != models.CodeConflict {
		t.Errorf("resolving a resolved flag: %v, want conflict", err)
	}
	w.clock.Set(followUp.Add(-time.Millisecond))
	if inQueue() {
		t.Error("in the queue before its follow-up time")
	}
	w.clock.Set(followUp)
	if !inQueue() {
		t.Fatal("not back in the queue at its follow-up time")
	}
	f = w.mustFlag(t, w.patient.ID, models.RuleSevereReading, 1)
	if f.Status != models.FlagOpen || f.ClaimedBy != "" || !f.QueuedAt.Equal(followUp) || !storetest.FlagRecord(t, w.st, f.ID).Live {
		t.Errorf("after the follow-up: status %s claimedBy %q queuedAt %v", f.Status, f.ClaimedBy, f.QueuedAt)
	}
	last := f.History[len(f.History)-1]
	if last.Event != models.FlagEventFollowUpDue || !last.At.Equal(followUp) {
		t.Errorf("last event %+v", last)
	}
	// Back in the queue it can be claimed and resolved again, for good.
	if _, err := w.flags.Claim(ctx, w.phA, id); err != nil {
		t.Fatal(err)
	}
	if f, err = w.flags.Resolve(ctx, w.phA, id, services.FlagResolution{Outcome: models.OutcomeNoActionNeeded, Note: "Readings normal now."}); err != nil {
		t.Fatal(err)
	}
	if live := storetest.FlagRecord(t, w.st, id).Live; live || f.FollowUpAt != nil {
		t.Errorf("resolved for good: live %v followUpAt %v", live, f.FollowUpAt)
	}
}

// TestFollowUpReopenedByScheduler: the scheduler step re-opens due
// follow-ups with nobody reading the queue.
func TestFollowUpReopenedByScheduler(t *testing.T) {
	t.Parallel()
	w := newFlagWorld(t)
	ctx := context.Background()
	w.reading(t, w.patient, models.ReadingSpO2, "%", 90)
	id := models.FlagID(w.patient.ID, models.RuleSevereReading, 1)
	followUp := flagStart.Add(time.Hour)
	if _, err := w.flags.Resolve(ctx, w.phA, id, services.FlagResolution{Outcome: models.OutcomeAdviceGiven, Note: "x", FollowUpAt: &followUp}); err != nil {
		t.Fatal(err)
	}
	step := w.flags.Step()
	if err := step.Run(ctx, followUp.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if f := w.mustFlag(t, w.patient.ID, models.RuleSevereReading, 1); f.Status != models.FlagResolved {
		t.Errorf("before the follow-up: %s", f.Status)
	}
	if err := step.Run(ctx, followUp); err != nil {
		t.Fatal(err)
	}
	if f := w.mustFlag(t, w.patient.ID, models.RuleSevereReading, 1); f.Status != models.FlagOpen {
		t.Errorf("after the step at the follow-up: %s", f.Status)
	}
}

// TestOtherPharmacyGetsNotFound: a pharmacist of another pharmacy gets
// not_found on every flag action and nothing is written to the patient's
// access log; so does the right pharmacy's pharmacist once consent is
// withdrawn.
func TestOtherPharmacyGetsNotFound(t *testing.T) {
	t.Parallel()
	w := newFlagWorld(t)
	ctx := context.Background()
	w.reading(t, w.patient, models.ReadingSpO2, "%", 90)
	id := models.FlagID(w.patient.ID, models.RuleSevereReading, 1)
	actions := map[string]func(p models.Principal) error{
		"get":   func(p models.Principal) error { _, err := w.flags.Get(ctx, p, id); return err },
		"claim": func(p models.Principal) error { _, err := w.flags.Claim(ctx, p, id); return err },
		"note":  func(p models.Principal) error { _, err := w.flags.AddNote(ctx, p, id, "hello"); return err },
		"resolve": func(p models.Principal) error {
			_, err := w.flags.Resolve(ctx, p, id, services.FlagResolution{Outcome: models.OutcomeAdviceGiven, Note: "x"})
			return err
		},
	}
	before := w.auditCount(t, w.patient.ID)
	for name, act := range actions {
		if err := act(w.phB); models.ErrorCode(err) != models.CodeNotFound {
			t.Errorf("%s by pharmacy B: %v, want not_found", name, err)
		}
	}
	if got := w.auditCount(t, w.patient.ID) - before; got != 0 {
		t.Errorf("%d audit entries written for another pharmacy's requests", got)
	}
	if err := actions["get"](w.phA); err != nil {
		t.Fatalf("get by pharmacy A: %v", err)
	}
	if got := w.auditCount(t, w.patient.ID) - before; got != 1 {
		t.Errorf("audit entries after pharmacy A's get: %d, want 1", got)
	}
	if err := w.consents.Withdraw(ctx, w.patient.ID); err != nil {
		t.Fatal(err)
	}
	before = w.auditCount(t, w.patient.ID)
	for name, act := range actions {
		if err := act(w.phA); models.ErrorCode(err) != models.CodeNotFound {
			t.Errorf("%s by pharmacy A after withdrawal: %v, want not_found", name, err)
		}
	}
	if got := w.auditCount(t, w.patient.ID) - before; got != 0 {
		t.Errorf("%d audit entries after withdrawal", got)
	}
}

// TestFlagStepSweeps: the step's first tick runs every rule; later ticks
// run the time rules hourly and every rule daily, so missed doses no event
// reported are flagged within a day.
func TestFlagStepSweeps(t *testing.T) {
	t.Parallel()
	w := newFlagWorld(t)
	ctx := context.Background()
	// Due at 13:00, 14:00 and 15:00 today: all three missed by 17:01.
	if _, _, err := w.meds.Create(ctx, w.patient, services.NewMedication{Name: "Levodopa",
		Schedule: models.Schedule{Times: []string{"13:00", "14:00", "15:00"}, StartDate: "2026-03-10"}}); err != nil {
		t.Fatal(err)
	}
	step := w.flags.Step()
	run := func(at time.Time) {
		t.Helper()
		w.clock.Set(at)
		if err := step.Run(ctx, at); err != nil {
			t.Fatal(err)
		}
	}
	run(flagStart) // the full sweep: nothing to flag yet
	// A severe reading no observer heard of.
	r := models.Reading{ID: "0b5e2c1a-7d3f-4e6a-9b8c-1d2e3f4a5b6c", PatientID: w.patient.ID, Type: models.ReadingSpO2, Unit: "%",
		TakenAt: flagStart.Add(5 * time.Hour), Value: ptr(90.0)}
	if err := r.Normalize(flagStart.Add(5 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	r.Band, r.Rule, _ = models.Classify(&r, models.CarePlanTargets{})
	if err := w.st.Readings().Insert(ctx, r); err != nil {
		t.Fatal(err)
	}
	run(flagStart.Add(30 * time.Minute)) // within the hour: no sweep
	if _, ok := w.flag(t, w.patient.ID, models.RuleSevereReading, 1); ok {
		t.Error("swept again within the hour")
	}
	run(flagStart.Add(5*time.Hour + time.Minute)) // hourly: time rules
	if _, ok := w.flag(t, w.patient.ID, models.RuleSevereReading, 1); !ok {
		t.Error("the hourly sweep did not flag the severe reading")
	}
	if _, ok := w.flag(t, w.patient.ID, models.RuleMissedStreak, 1); ok {
		t.Error("the hourly sweep ran the dose rules")
	}
	run(flagStart.Add(24 * time.Hour)) // daily: every rule
	if f, ok := w.flag(t, w.patient.ID, models.RuleMissedStreak, 1); !ok || f.Evidence.Value < 3 {
		t.Errorf("the daily sweep did not flag the missed streak: %+v", f.Evidence)
	}
}

// TestFlagNotesCapped: a flag takes notes up to MaxFlagNotes; past it a
// note is refused with a conflict naming "notes" and nothing is stored,
// while resolving still records its note.
func TestFlagNotesCapped(t *testing.T) {
	t.Parallel()
	w := newFlagWorld(t)
	ctx := context.Background()
	id := models.FlagID(w.patient.ID, models.RuleRunningOut, 1)
	notes := make([]models.FlagNote, services.MaxFlagNotes-1)
	for i := range notes {
		notes[i] = models.FlagNote{By: w.phA.UserID, At: flagStart, Text: "Called"}
	}
	flag := models.Flag{ID: id, PatientID: w.patient.ID, PharmacyID: w.pharmacyA, Rule: models.RuleRunningOut, Seq: 1,
		Severity: models.SeverityHigh, Status: models.FlagOpen, Notes: notes,
		History: []models.FlagEvent{{At: flagStart, Event: models.FlagEventRaised}}, QueuedAt: flagStart, CreatedAt: flagStart, UpdatedAt: flagStart}
	if err := w.st.Flags().Insert(ctx, flag); err != nil {
		t.Fatal(err)
	}
	f, err := w.flags.AddNote(ctx, w.phA, id, "The last one that fits")
	if err != nil || len(f.Notes) != services.MaxFlagNotes {
		t.Fatalf("note %d: %d notes, %v", services.MaxFlagNotes, len(f.Notes), err)
	}
	_, err = w.flags.AddNote(ctx, w.phA, id, "One too many")
	if models.ErrorCode(err) != models.CodeConflict || !slices.Equal(fieldsOf(err), []string{"notes"}) {
		t.Errorf("note past the cap: %v, want conflict naming notes", err)
	}
	if f, err = w.st.Flags().Get(ctx, id); err != nil || len(f.Notes) != services.MaxFlagNotes {
		t.Errorf("stored notes: %d, %v; want %d", len(f.Notes), err, services.MaxFlagNotes)
	}
	f, err = w.flags.Resolve(ctx, w.phA, id, services.FlagResolution{Outcome: models.OutcomeAdviceGiven, Note: "Supply arranged."})
	if err != nil || len(f.Notes) != services.MaxFlagNotes+1 || f.Notes[len(f.Notes)-1].Text != "Supply arranged." {
		t.Errorf("resolve at the cap: %d notes, %v", len(f.Notes), err)
	}
}

// TestSevereReadingBatchFlagsOnce: a batch of severe readings, one taken
// days before it is uploaded, raises the severe_reading flag with one
// evaluation (one history event), not one per reading; a reading too old
// to alert carers still fires the rule.
func TestSevereReadingBatchFlagsOnce(t *testing.T) {
	t.Parallel()
	w := newFlagWorld(t)
	ctx := context.Background()
	sys, dia := 185.0, 100.0
	batch := make([]models.Reading, 20)
	for i := range batch {
		batch[i] = models.Reading{Type: models.ReadingBloodPressure, Unit: "mm[Hg]", Systolic: &sys, Diastolic: &dia,
			TakenAt: flagStart.Add(-2*24*time.Hour - time.Duration(i)*time.Minute)}
	}
	if _, err := w.readings.CreateBatch(ctx, w.patient, batch); err != nil {
		t.Fatal(err)
	}
	f := w.mustFlag(t, w.patient.ID, models.RuleSevereReading, 1)
	if diff := cmp.Diff([]string{models.FlagEventRaised}, events(f)); diff != "" {
		t.Errorf("history of the flag (-want +got):\n%s", diff)
	}
}

// TestHypoReadingsFlagAtOnce: storing a hypo that is not severe runs the
// severe_reading rule at once, so the second hypo in a week raises the
// recurrent_hypo flag without waiting for a sweep; the first alone raises
// nothing.
func TestHypoReadingsFlagAtOnce(t *testing.T) {
	t.Parallel()
	w := newFlagWorld(t)
	w.reading(t, w.patient, models.ReadingBloodGlucose, "mmol/L", 3.5)
	if f, ok := w.flag(t, w.patient.ID, models.RuleSevereReading, 1); ok {
		t.Fatalf("one hypo raised a flag: %+v", f.Evidence)
	}
	w.clock.Advance(time.Hour)
	second := w.reading(t, w.patient, models.ReadingBloodGlucose, "mmol/L", 3.8)
	f, ok := w.flag(t, w.patient.ID, models.RuleSevereReading, 1)
	if !ok {
		t.Fatal("the second hypo raised no flag")
	}
	if f.Evidence.Criterion != "recurrent_hypo" || f.Evidence.Value != 2 || f.Evidence.Details["readingId"] != second.ID {
		t.Errorf("evidence %+v, want recurrent_hypo: 2, the newest %s", f.Evidence, second.ID)
	}
}
