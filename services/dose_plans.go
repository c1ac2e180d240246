package services

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
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

// DosePlanStore is what DosePlanner needs of dose storage: the doses it
// plans, reconciles and marks missed, and each medication's plan record.
type DosePlanStore interface {
	InsertMissing(ctx context.Context, doses []models.Dose) (int, error)
	ListByMedication(ctx context.Context, medicationID string, from, to time.Time) ([]models.Dose, error)
	ListPendingDue(ctx context.Context, patientID string, cutoff time.Time) ([]models.Dose, error)
	Replace(ctx context.Context, next, prev models.Dose) (bool, error)
	DeletePending(ctx context.Context, d models.Dose, at time.Time) (bool, error)
	DosePlan(ctx context.Context, medicationID string) (fingerprint string, through time.Time, err error)
	SwapDosePlan(ctx context.Context, medicationID, patientID, prev, next string, through time.Time) (bool, error)
	InvalidateDosePlan(ctx context.Context, medicationID string) error
}

// PlannedMedications reads the medications doses are planned from (the
// medication store).
type PlannedMedications interface {
	Get(ctx context.Context, id string) (models.Medication, error)
	ListByPatient(ctx context.Context, patientID string) ([]models.Medication, error)
}

// DosePlanner makes the writes to doses that no patient asks for: it
// plans each medication's scheduled doses (the materialiser) and marks
// them missed when their grace period passes unlogged. Doses records what
// the patient logs; Medications, Doses and Flags plan through the
// planner before they read, Auth has it re-plan on a change of time zone,
// and the scheduler's reminder steps plan and mark missed through it.
//
// Each medication's doses are stored from when it was created up to
// DoseHorizon ahead, each once however many planners run, and in line with
// its schedule, status and the patient's time zone; planning never moves a
// past or logged dose.
type DosePlanner struct {
	doses DosePlanStore
	meds  PlannedMedications
	log   *slog.Logger
	// locks serialise planning per patient within this process (striped by
	// patient id), so concurrent reads plan once; across processes the
	// deterministic ids and the conditional plan record keep it right.
	locks [64]sync.Mutex
}

// NewDosePlanner returns the dose planner.
func NewDosePlanner(doses DosePlanStore, meds PlannedMedications, log *slog.Logger) *DosePlanner {
	return &DosePlanner{doses: doses, meds: meds, log: log}
}

// Materialize brings the patient's stored doses in line with their
// medications as of now: it stores missing scheduled doses up to
// now+DoseHorizon and re-plans future pending doses of any medication whose
// schedule, status or the patient's time zone changed since it was last
// planned. It is idempotent and cheap when nothing changed (one read of the
// medications and one of each plan record), and safe to call concurrently,
// from any number of instances.
func (s *DosePlanner) Materialize(ctx context.Context, patient models.User, now time.Time) error {
	now = now.UTC()
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
func (s *DosePlanner) MaterializeMedication(ctx context.Context, patient models.User, medicationID string, now time.Time) error {
	now = now.UTC()
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
// time zone (past and logged doses stay where they were) (TimezoneObserver:
// Auth calls it when a patient changes their time zone); any later
// Materialize would do the same, as the zone is part of each plan's
// fingerprint.
func (s *DosePlanner) TimezoneChanged(ctx context.Context, patient models.User, now time.Time) error {
	return s.Materialize(ctx, patient, now)
}

func (s *DosePlanner) materializeMedication(ctx context.Context, m models.Medication, loc *time.Location, now time.Time) error {
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
func (s *DosePlanner) planMedication(ctx context.Context, m models.Medication, loc *time.Location, now time.Time) (bool, error) {
	// The plan record holds the fingerprint of what the doses were planned
	// from and how far they reach: while the fingerprint is unchanged only
	// the gap up to the horizon is planned (most of the time nothing: this
	// one read). When it changed, future pending doses are reconciled with
	// the new plan (models.ReconcileDoses). Doses are stored under
	// deterministic ids (models.DoseID), so planning twice, or on several
	// instances at once, stores each dose once.
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
			ok, err := s.doses.DeletePending(ctx, d, now)
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

// MarkMissed stores the missed status of the patient's pending doses whose
// grace period has passed by now, and returns the doses it marked. Each
// dose is returned by exactly one call ever, however many run at once on
// however many instances (the pending→missed change is a conditional
// write), so the caller may alert carers for each. Doses planned late (after
// an outage) may be old: callers decide how old is still worth an alert.
func (s *DosePlanner) MarkMissed(ctx context.Context, patient models.User, now time.Time) ([]models.Dose, error) {
	now = now.UTC()
	grace := patient.Preferences.DoseGrace()
	due, err := s.doses.ListPendingDue(ctx, patient.ID, now.Add(-grace))
	if err != nil {
		return nil, err
	}
	return s.markMissed(ctx, patient, due, now)
}

// MarkMissedDoses is MarkMissed for doses the caller has read (by id): it
// stores the missed status of those of them that are the patient's, still
// the version read, pending and past their grace period by now, and returns
// the doses it marked, each, as with MarkMissed, by exactly one call ever.
// The scheduler uses it with the doses of one slot, which it reads by id,
// rather than query each patient's pending doses every tick.
func (s *DosePlanner) MarkMissedDoses(ctx context.Context, patient models.User, doses []models.Dose, now time.Time) ([]models.Dose, error) {
	now = now.UTC()
	mine := make([]models.Dose, 0, len(doses))
	for _, d := range doses {
		if d.PatientID == patient.ID {
			mine = append(mine, d)
		}
	}
	return s.markMissed(ctx, patient, mine, now)
}

// markMissed marks each of the doses that is pending past its grace period
// missed, conditionally on it being unchanged since it was read.
func (s *DosePlanner) markMissed(ctx context.Context, patient models.User, due []models.Dose, now time.Time) ([]models.Dose, error) {
	grace := patient.Preferences.DoseGrace()
	var missed []models.Dose
	for _, prev := range due {
		next := prev
		next.History = slices.Clone(prev.History)
		if !next.MarkMissed(now, grace) {
			continue
		}
		if !next.UpdatedAt.After(prev.UpdatedAt) {
			next.UpdatedAt = prev.UpdatedAt.Add(time.Millisecond)
		}
		won, err := s.doses.Replace(ctx, next, prev)
		if err != nil {
			return missed, err
		}
		if won {
			missed = append(missed, next)
		}
	}
	return missed, nil
}

// planDue reports whether m's doses need planning as of now, given its plan
// record (the fingerprint its stored doses were planned from and the time
// they reach through; "" and zero: never planned). They do unless they were
// planned from what m is now (planFingerprint, in the patient's zone loc)
// and either m has no doses ahead (stopped or as needed) or they reach more
// than DoseHorizon-DoseReplanAfter ahead of now. This is the one test of a
// plan being current: DosePlanner plans by it, and the scheduler's
// materialise step chooses by it which medications to hand the planner.
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
