package services

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/concord-health/concord/models"
)

// Dose planning figures.
const (
	// DoseHorizon is how far ahead of now scheduled doses are stored: a
	// week, enough for reminders and the app's week view, while a schedule
	// edit or a time-zone change has at most a week of future doses to move.
	DoseHorizon = 7 * 24 * time.Hour
	// DoseReplanAfter is how stale the stored window may get before
	// Materialize extends it: it extends a medication's doses once less
	// than DoseHorizon-DoseReplanAfter of them lie ahead, so about once a
	// day, and otherwise only reads.
	DoseReplanAfter = 24 * time.Hour
	// planFingerprintVersion changes when the planning rules change, so that
	// every medication's future doses are re-planned once.
	planFingerprintVersion = 1
	// planAttempts bounds re-planning when another planner keeps getting in
	// between (only possible across instances).
	planAttempts = 3
)

// Materialize brings the patient's stored doses in line with their
// medications as of now: it stores missing scheduled doses up to
// now+DoseHorizon and re-plans future pending doses of any medication whose
// schedule, status or the patient's time zone changed since it was last
// planned. It is idempotent and cheap when nothing changed (one read of the
// medications and one of each plan record), and safe to call concurrently,
// from any number of instances.
func (s *Doses) Materialize(ctx context.Context, patient models.User, now time.Time) error {
	now = now.UTC().Truncate(time.Millisecond)
	mu := &s.locks[lockStripe(patient.ID, len(s.locks))]
	mu.Lock()
	defer mu.Unlock()
	meds, err := s.meds.ListByPatient(ctx, patient.ID)
	if err != nil {
		return err
	}
	loc := patient.Location()
	for _, m := range meds {
		if err := s.materializeMedication(ctx, m, loc, now); err != nil {
			return err
		}
	}
	return nil
}

// MaterializeMedication is Materialize for one of the patient's
// medications, read afresh: the scheduler plans, one by one, the
// medications whose plan it found due for extension or out of date,
// without Materialize's query of all the patient's medications. Errors:
// not_found (no such medication of the patient's).
func (s *Doses) MaterializeMedication(ctx context.Context, patient models.User, medicationID string, now time.Time) error {
	now = now.UTC().Truncate(time.Millisecond)
	mu := &s.locks[lockStripe(patient.ID, len(s.locks))]
	mu.Lock()
	defer mu.Unlock()
	m, err := s.meds.Get(ctx, medicationID)
	if err == nil && m.PatientID != patient.ID {
		err = models.Errorf(models.CodeNotFound, "medication not found")
	}
	if err != nil {
		return err
	}
	return s.materializeMedication(ctx, m, patient.Location(), now)
}

// TimezoneChanged re-plans the patient's future pending doses in their new
// time zone (past and logged doses stay where they were). Auth calls it
// when a patient changes their time zone; any later Materialize would do
// the same, as the zone is part of each plan's fingerprint.
func (s *Doses) TimezoneChanged(ctx context.Context, patient models.User, now time.Time) error {
	return s.Materialize(ctx, patient, now)
}

func (s *Doses) materializeMedication(ctx context.Context, m models.Medication, loc *time.Location, now time.Time) error {
	for attempt := range planAttempts {
		if attempt > 0 {
			var err error
			if m, err = s.meds.Get(ctx, m.ID); err != nil {
				return err
			}
		}
		done, err := s.planMedication(ctx, m, loc, now)
		if err != nil || done {
			return err
		}
	}
	return fmt.Errorf("plan doses of medication %s: other planners got in between %d times", m.ID, planAttempts)
}

// planMedication plans one medication's doses and records the plan. It
// returns false when another planner recorded a plan in between: the doses
// may then mix both plans, so the record is invalidated and the caller
// plans again.
//
// Doses are stored under deterministic ids (models.DoseID), so planning
// twice, or on several instances at once, stores each dose once. The
// medication's plan record holds the fingerprint of what its doses were
// planned from and how far they reach: while the fingerprint is unchanged
// only the gap up to the horizon is planned (most of the time nothing: one
// read). When it changed, future pending doses are reconciled with the new
// plan (models.ReconcileDoses).
func (s *Doses) planMedication(ctx context.Context, m models.Medication, loc *time.Location, now time.Time) (bool, error) {
	stored, through, err := s.doses.DosePlan(ctx, m.ID)
	if err != nil {
		return false, err
	}
	if !planDue(m, loc, stored, through, now) {
		return true, nil
	}
	fp := planFingerprint(m, loc)
	end := now.Add(DoseHorizon)

	// Plan from where the last planning stopped, never before the
	// medication existed. When what the doses are planned from changed,
	// the future is planned again from now: the past is history.
	from := m.CreatedAt
	if through.After(from) {
		from = through
	}
	// The first planning of a medication has nothing to reconcile with,
	// which saves the query of its doses. It first records an empty plan
	// reaching the horizon: if it dies before recording the real one, the
	// next planning sees that record and reconciles.
	firstTime := stored == "" && through.IsZero()
	if firstTime {
		ok, err := s.doses.SwapDosePlan(ctx, m.ID, m.PatientID, "", "", end)
		if err != nil || !ok {
			return false, err // !ok: another planner finished first; look again
		}
	}
	replan := stored != fp && !firstTime
	if replan && from.After(now) {
		from = latest(now, m.CreatedAt)
	}
	planned := models.PlanDoses(m, loc, from, end)
	insert := planned
	removed := 0
	if replan {
		window := latest(end, through)
		existing, err := s.doses.ListByMedication(ctx, m.ID, from, window)
		if err != nil {
			return false, err
		}
		var remove []models.Dose
		insert, remove = models.ReconcileDoses(planned, existing, from, window, now)
		// Delete before inserting: a moved dose keeps its id. Each delete
		// is conditional on the dose still being the pending one read, so a
		// dose logged meanwhile stays.
		for _, d := range remove {
			ok, err := s.doses.DeletePending(ctx, d)
			if err != nil {
				return false, err
			}
			if ok {
				removed++
			}
		}
	}
	for i := range insert {
		insert[i].CreatedAt, insert[i].UpdatedAt = now, now
	}
	inserted, err := s.doses.InsertMissing(ctx, insert)
	if err != nil {
		return false, err
	}
	// Swapped only if the record is still the one read: a planner that
	// raced a schedule edit notices here.
	ok, err := s.doses.SwapDosePlan(ctx, m.ID, m.PatientID, stored, fp, end)
	if err != nil {
		return false, err
	}
	if !ok {
		if err := s.doses.InvalidateDosePlan(ctx, m.ID); err != nil {
			return false, err
		}
		return false, nil
	}
	if inserted > 0 || removed > 0 {
		s.log.DebugContext(ctx, "doses planned", "patient", m.PatientID, "medication", m.ID,
			"inserted", inserted, "removed", removed, "replanned", replan)
	}
	return true, nil
}

// planDue reports whether m's doses need planning as of now, given its plan
// record (the fingerprint its stored doses were planned from and the time
// they reach through; "" and zero: never planned). They do unless they were
// planned from what m is now (planFingerprint, in the patient's zone loc)
// and either m has no doses ahead (stopped or as needed) or they reach more
// than DoseHorizon-DoseReplanAfter ahead of now. This is the one test of a
// plan being current: Doses plans by it, and the scheduler's materialise
// step chooses by it which medications to hand Doses.
func planDue(m models.Medication, loc *time.Location, fingerprint string, through, now time.Time) bool {
	if fingerprint != planFingerprint(m, loc) {
		return true
	}
	nothingAhead := m.Status == models.MedicationStopped || m.Schedule.AsNeeded
	return !nothingAhead && !through.After(now.Add(DoseHorizon-DoseReplanAfter))
}

// planFingerprint identifies what a medication's doses are planned from:
// its schedule, status and stop time, and the patient's time zone.
func planFingerprint(m models.Medication, loc *time.Location) string {
	sched := m.Schedule
	if len(sched.Times) == 0 {
		sched.Times = nil
	}
	if len(sched.DaysOfWeek) == 0 {
		sched.DaysOfWeek = nil
	}
	var stopped int64
	if m.StoppedAt != nil {
		stopped = m.StoppedAt.UnixMilli()
	}
	b, _ := json.Marshal(struct {
		V         int                     `json:"v"`
		Zone      string                  `json:"zone"`
		Schedule  models.Schedule         `json:"schedule"`
		Status    models.MedicationStatus `json:"status"`
		StoppedAt int64                   `json:"stoppedAt"`
	}{planFingerprintVersion, loc.String(), sched, m.Status, stopped})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// lockStripe maps a patient id to one of n locks.
func lockStripe(id string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % uint32(n))
}
