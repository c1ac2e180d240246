package services

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/concord-health/concord/models"
)

// When the scheduler's flags step (Flags.Step) sweeps every consented
// patient.
const (
	// FlagSweepInterval is how often the step runs TimeFlagRules, the rules
	// time alone can fire (a new medicine reaching day 7, stock running
	// down); an hour is soon enough for them. The rules that events fire
	// also run at once from those events (a reading stored: severe_reading;
	// a dose marked missed: missed_streak and low_adherence).
	FlagSweepInterval = time.Hour
	// FlagFullSweepInterval is how often the step runs every rule, catching
	// what the events missed (adherence drifting as old doses leave the
	// window, a failed event). Adherence is counted in whole days and the
	// dose rules read 28 days of each patient's doses, so once a day is both
	// enough and what a pharmacy's thousands of patients can afford.
	FlagFullSweepInterval = 24 * time.Hour
	// flagRaiseAttempts bounds the loop that finds a rule's current flag
	// (each failed attempt means another evaluation got in between).
	flagRaiseAttempts = 10
)

// TimeFlagRules are the rules the hourly sweep runs: those time and stock
// changes fire without an event, and whose data is cheap to read (no doses).
var TimeFlagRules = []models.FlagRuleID{models.RuleRunningOut, models.RuleNewMedicine, models.RuleSevereReading}

// Evaluate runs every rule for the patient as of now and raises, or
// updates, their flags for the pharmacy the patient consented to; a patient
// with no consented nomination produces none.
func (s *Flags) Evaluate(ctx context.Context, patient models.User, now time.Time) error {
	return s.evaluate(ctx, patient, now)
}

// OnDosesMissed runs the rules missed doses can fire (missed_streak,
// low_adherence) for the patient: the scheduler calls it with the doses
// DosePlanner marked missed (nothing happens when there are none).
func (s *Flags) OnDosesMissed(ctx context.Context, patient models.User, doses []models.Dose, now time.Time) error {
	if len(doses) == 0 {
		return nil
	}
	return s.evaluate(ctx, patient, now, models.RuleMissedStreak, models.RuleLowAdherence)
}

// ReadingsStored runs the severe_reading rule at once, and once for a
// whole batch, when a new reading is severe or a hypo (ReadingObserver),
// however long ago it was taken: the rule's window decides whether it
// counts. Failures are logged: the readings are stored whatever happens
// here, and the next sweep tries again.
func (s *Flags) ReadingsStored(ctx context.Context, patient models.User, rs []models.Reading) {
	i := slices.IndexFunc(rs, func(r models.Reading) bool { return r.IsSevere() || r.IsHypo() })
	if i < 0 {
		return
	}
	if err := s.evaluate(ctx, patient, s.now(), models.RuleSevereReading); err != nil {
		s.log.ErrorContext(ctx, "severe reading not flagged", "patient", patient.ID, "reading", rs[i].ID, "err", err)
	}
}

// EvaluateAll re-opens the follow-ups that have come due and runs the rules
// (every rule when none are named) for every patient with a consented
// nomination. A patient whose evaluation fails does not stop the others;
// the error counts the failures.
func (s *Flags) EvaluateAll(ctx context.Context, now time.Time, rules ...models.FlagRuleID) error {
	if _, err := s.ReopenDue(ctx, now); err != nil {
		return err
	}
	return s.evaluateAll(ctx, now, rules...)
}

func (s *Flags) evaluateAll(ctx context.Context, now time.Time, rules ...models.FlagRuleID) error {
	noms, err := s.consents.ConsentedPatients(ctx, "")
	if err != nil {
		return err
	}
	failed, raisedErr := 0, error(nil)
	for _, n := range noms {
		if err := ctx.Err(); err != nil {
			return err
		}
		patient, err := s.users.Get(ctx, n.PatientID)
		if models.IsCode(err, models.CodeNotFound) {
			continue
		}
		if err == nil {
			err = s.evaluate(ctx, patient, now, rules...)
		}
		if err != nil {
			failed++
			raisedErr = err
			s.log.ErrorContext(ctx, "flag evaluation failed", "patient", n.PatientID, "err", err)
		}
	}
	s.log.DebugContext(ctx, "flag sweep", "patients", len(noms), "rules", len(rules), "failed", failed)
	if failed > 0 {
		return fmt.Errorf("evaluate flags: %d of %d patients failed, the last with: %w", failed, len(noms), raisedErr)
	}
	return nil
}

// Step is the scheduler's flags step: every tick it re-opens due
// follow-ups; every FlagSweepInterval it runs TimeFlagRules, and every
// FlagFullSweepInterval every rule, for every consented patient (the first
// tick of a process runs every rule).
func (s *Flags) Step() Step {
	return Step{Name: "flags", Run: func(ctx context.Context, now time.Time) error {
		if _, err := s.ReopenDue(ctx, now); err != nil {
			return err
		}
		switch {
		case !now.Before(s.nextFullSweep):
			s.nextFullSweep, s.nextSweep = now.Add(FlagFullSweepInterval), now.Add(FlagSweepInterval)
			return s.evaluateAll(ctx, now)
		case !now.Before(s.nextSweep):
			s.nextSweep = now.Add(FlagSweepInterval)
			return s.evaluateAll(ctx, now, TimeFlagRules...)
		}
		return nil
	}}
}

// evaluate runs the rules (all when none are named) for the patient and
// raises their flags.
func (s *Flags) evaluate(ctx context.Context, patient models.User, now time.Time, rules ...models.FlagRuleID) error {
	if patient.Role != models.RolePatient {
		return nil
	}
	n, consented, err := s.consents.Nomination(ctx, patient.ID)
	if err != nil || !consented {
		return err
	}
	now = now.UTC()
	in, err := s.input(ctx, patient, now, rules)
	if err != nil {
		return err
	}
	for _, f := range models.EvaluateFlags(in, rules...) {
		f.Evidence = withReadingValues(f.Evidence, in.Readings)
		if err := s.raise(ctx, patient.ID, n.PharmacyID, f, now); err != nil {
			return err
		}
	}
	return nil
}

// input loads what the named rules (all when none) look at.
func (s *Flags) input(ctx context.Context, patient models.User, now time.Time, rules []models.FlagRuleID) (models.FlagInput, error) {
	in := models.FlagInput{Now: now, Location: patient.Location(), DoseGrace: patient.Preferences.DoseGrace()}
	wants := func(r models.FlagRuleID) bool { return len(rules) == 0 || slices.Contains(rules, r) }
	window := 0
	for _, c := range models.FlagRules() {
		if wants(c.Rule) {
			window = max(window, c.WindowDays)
		}
	}
	from := now.Add(-time.Duration(window) * 24 * time.Hour)
	doseRules := wants(models.RuleMissedStreak) || wants(models.RuleLowAdherence)
	if doseRules || wants(models.RuleRunningOut) || wants(models.RuleNewMedicine) {
		meds, err := s.sources.Medications.ListByPatient(ctx, patient.ID)
		if err != nil {
			return in, err
		}
		in.Medications = meds
	}
	if doseRules {
		// Planned first, so that an overdue dose nobody planned yet counts.
		if err := s.sources.Planner.Materialize(ctx, patient, now); err != nil {
			return in, err
		}
		doses, err := s.sources.Doses.ListByPatient(ctx, patient.ID, from, now.Add(time.Millisecond))
		if err != nil {
			return in, err
		}
		in.Doses = doses
	}
	if wants(models.RuleSevereReading) {
		readings, err := s.sources.Readings.List(ctx, models.ReadingQuery{PatientID: patient.ID, From: from,
			To: now.Add(time.Millisecond), Limit: MaxReadingBatch * 2})
		if err != nil {
			return in, err
		}
		in.Readings = readings
	}
	return in, nil
}

// raise makes the firing the evidence of the rule's live flag for the
// patient: it updates the live flag, or inserts the next one unless the
// latest was resolved on the same evidence. Of any number of concurrent
// raises for one patient and rule, at most one inserts a flag: the n-th
// flag of a rule has the fixed id models.FlagID(patient, rule, n), and
// flag n+1 is inserted only after flag n was seen finished, so the others
// collide on its id and update its evidence instead.
func (s *Flags) raise(ctx context.Context, patientID, pharmacyID string, f models.FlagFiring, now time.Time) error {
	hint, err := s.store.LatestSeq(ctx, patientID, f.Rule)
	if err != nil {
		return err
	}
	seq := hint
	defer func() {
		if seq > hint {
			if err := s.store.RecordSeq(context.WithoutCancel(ctx), patientID, f.Rule, seq); err != nil {
				s.log.WarnContext(ctx, "flag seq not recorded", "patient", patientID, "rule", f.Rule, "err", err)
			}
		}
	}()
	for range flagRaiseAttempts {
		next := seq + 1
		if seq > 0 {
			cur, err := s.store.Get(ctx, models.FlagID(patientID, f.Rule, seq))
			live := models.LiveFlag(cur.Status, cur.FollowUpAt != nil)
			switch {
			case models.IsCode(err, models.CodeNotFound):
				next = seq // recorded but gone (removed by hand): take its place
			case err != nil:
				return err
			case live && cur.PharmacyID != pharmacyID:
				// Raised for a pharmacy that has since lost consent, and
				// missed by ConsentEnded: close it and raise a new one.
				if _, err := s.store.Close(ctx, cur.ID, models.FlagClosedConsentWithdrawn, now); err != nil {
					return err
				}
				continue
			case cur.FollowUpDue(now):
				if _, err := s.store.ReopenFollowUp(ctx, cur, now); err != nil {
					return err
				}
				continue
			case live:
				done, err := s.refire(ctx, cur, f, now)
				if err != nil || done {
					return err
				}
				continue // it finished meanwhile: look again
			case suppressed(cur, f, pharmacyID, now):
				return nil
			}
		}
		flag := newFlag(patientID, pharmacyID, f, next, now)
		err := s.store.Insert(ctx, flag)
		if models.IsCode(err, models.CodeConflict) {
			seq = next // another evaluation raised it first
			continue
		}
		if err != nil {
			return err
		}
		seq = next
		s.log.InfoContext(ctx, "flag raised", "flag", flag.ID, "patient", patientID, "pharmacy", pharmacyID, "rule", f.Rule)
		s.recheckConsent(ctx, flag, now)
		return nil
	}
	return models.Errorf(models.CodeConflict, "the %s flag kept changing while it was raised", f.Rule)
}

// refire stores the firing's evidence on the live flag cur, appending to
// its history, unless it says nothing new. New evidence (another key)
// brings a flag awaiting its follow-up back to the queue at once. It
// reports false when cur stopped being live meanwhile.
func (s *Flags) refire(ctx context.Context, cur models.Flag, f models.FlagFiring, now time.Time) (bool, error) {
	newKey := cur.EvidenceKey != f.Key
	reopen := newKey && cur.AwaitingFollowUp(now)
	if !newKey && cur.Severity == f.Severity && cur.Evidence.Equal(f.Evidence) {
		return true, nil
	}
	ev := f.Evidence
	event := models.FlagEvent{At: now, Event: models.FlagEventRefired, Evidence: &ev}
	if reopen {
		event.Event = models.FlagEventReopened
	}
	ok, err := s.store.Refire(ctx, cur.ID, f.Evidence, f.Key, f.Severity, now, event, reopen)
	if ok {
		s.log.InfoContext(ctx, "flag refired", "flag", cur.ID, "reopened", reopen)
	}
	return ok, err
}

// suppressed reports whether the finished flag cur already dealt with the
// firing: it was resolved (not closed), for this pharmacy, on the same
// evidence, and the criterion does not re-arm yet.
func suppressed(cur models.Flag, f models.FlagFiring, pharmacyID string, now time.Time) bool {
	if cur.Status != models.FlagResolved || cur.PharmacyID != pharmacyID || cur.EvidenceKey != f.Key {
		return false
	}
	if f.RearmDays == 0 || cur.ResolvedAt == nil {
		return true
	}
	return now.Before(cur.ResolvedAt.Add(time.Duration(f.RearmDays) * 24 * time.Hour))
}

// newFlag is the seq-th flag of the firing's rule for the patient, open in
// the pharmacy's queue from now.
func newFlag(patientID, pharmacyID string, f models.FlagFiring, seq int, now time.Time) models.Flag {
	ev := f.Evidence
	return models.Flag{
		ID: models.FlagID(patientID, f.Rule, seq), PatientID: patientID, PharmacyID: pharmacyID, Rule: f.Rule, Seq: seq,
		Severity: f.Severity, Evidence: f.Evidence, SuggestedService: f.Service,
		EvidenceKey: f.Key, Status: models.FlagOpen, Notes: []models.FlagNote{}, QueuedAt: now,
		History:   []models.FlagEvent{{At: now, Event: models.FlagEventRaised, Evidence: &ev}},
		CreatedAt: now, UpdatedAt: now,
	}
}

// withReadingValues adds to evidence that names a reading ("readingId") that
// reading's values (FlagEvidence.WithReading), from the readings the rules
// looked at; other evidence is returned as it is.
func withReadingValues(ev models.FlagEvidence, readings []models.Reading) models.FlagEvidence {
	id := ev.Details["readingId"]
	if id == "" {
		return ev
	}
	for _, r := range readings {
		if r.ID == id {
			return ev.WithReading(r)
		}
	}
	return ev
}
