package services

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
)

// Dose listing and logging figures.
const (
	// MaxDoseListRange is the longest range of doses listed at once (about
	// a quarter, the longest adherence window).
	MaxDoseListRange = 92 * 24 * time.Hour
	// doseWriteAttempts bounds the retries of an optimistic dose update: each
	// failed attempt means another request changed the dose meanwhile.
	doseWriteAttempts = 10
)

// AdherenceWindows are the windows, in days, adherence is reported for.
var AdherenceWindows = []int{7, 28, 90}

// DoseStore is what Doses needs of dose storage.
type DoseStore interface {
	Insert(ctx context.Context, d models.Dose) error
	Get(ctx context.Context, id string) (models.Dose, error)
	ListByPatient(ctx context.Context, patientID string, from, to time.Time) ([]models.Dose, error)
	Replace(ctx context.Context, next, prev models.Dose) (bool, error)
}

// Doses lists a patient's scheduled doses with their status as of now,
// records doses taken and skipped, keeps the stock count, and works out
// adherence. Every read is of doses planned as of now: it plans through
// the DosePlanner first.
type Doses struct {
	doses     DoseStore
	meds      MedicationStore
	planner   DoseMaterializer
	now       func() time.Time
	log       *slog.Logger
	observers []DoseObserver
}

// DoseObserver is told of every change a patient makes to a dose (taken,
// skipped, a corrected time), after it is stored, with the dose before and
// after: reminders cancel the pushes a logged dose no longer needs. It
// handles its own errors: the dose is stored whatever it does.
type DoseObserver interface {
	DoseLogged(ctx context.Context, patient models.User, prev, next models.Dose)
}

// NewDoses returns the doses service; planner plans the patient's doses
// before they are listed or adherence is worked out, and every observer
// (nil ones are ignored) hears of every dose a patient logs.
func NewDoses(doses DoseStore, meds MedicationStore, planner DoseMaterializer, now func() time.Time, log *slog.Logger, observers ...DoseObserver) *Doses {
	return &Doses{doses: doses, meds: meds, planner: planner, now: now, log: log, observers: withoutNil(observers)}
}

// DoseQuery selects doses to list: scheduled in [From, To), optionally of
// one medication. A zero From is the start of today in the patient's zone;
// a zero To is one local day after From.
type DoseQuery struct {
	From, To     time.Time
	MedicationID string
}

// List returns the patient's doses in the query's range, in time order,
// each with its status as of now (a pending dose past its grace period is
// missed, whether or not that was stored yet). It plans the patient's doses
// first, so the list is right without any background job. Errors: invalid
// ("to" not after "from", or more than MaxDoseListRange after it).
func (s *Doses) List(ctx context.Context, patient models.User, q DoseQuery) ([]models.Dose, error) {
	now := s.now().UTC()
	loc := patient.Location()
	if q.From.IsZero() {
		y, m, d := now.In(loc).Date()
		q.From = time.Date(y, m, d, 0, 0, 0, 0, loc)
	}
	if q.To.IsZero() {
		q.To = q.From.In(loc).AddDate(0, 0, 1)
	}
	var p models.Problems
	switch {
	case !q.To.After(q.From):
		p.Add("to", "must be after from")
	case q.To.Sub(q.From) > MaxDoseListRange:
		p.Add("to", "must be at most %d days after from", int(MaxDoseListRange/(24*time.Hour)))
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	if err := s.planner.Materialize(ctx, patient, now); err != nil {
		return nil, err
	}
	doses, err := s.doses.ListByPatient(ctx, patient.ID, q.From.UTC(), q.To.UTC())
	if err != nil {
		return nil, err
	}
	if q.MedicationID != "" {
		doses = slices.DeleteFunc(doses, func(d models.Dose) bool { return d.MedicationID != q.MedicationID })
	}
	grace := patient.Preferences.DoseGrace()
	for i := range doses {
		doses[i].Status = doses[i].EffectiveStatus(now, grace)
	}
	return doses, nil
}

// Get returns one of the patient's doses with its status as of now.
// Errors: not_found (also for another patient's dose).
func (s *Doses) Get(ctx context.Context, patient models.User, id string) (models.Dose, error) {
	d, err := s.get(ctx, patient, id)
	if err != nil {
		return models.Dose{}, err
	}
	d.Status = d.EffectiveStatus(s.now(), patient.Preferences.DoseGrace())
	return d, nil
}

func (s *Doses) get(ctx context.Context, patient models.User, id string) (models.Dose, error) {
	d, err := s.doses.Get(ctx, id)
	if models.IsCode(err, models.CodeNotFound) || (err == nil && d.PatientID != patient.ID) {
		return models.Dose{}, models.Errorf(models.CodeNotFound, "dose not found")
	}
	return d, err
}

// MarkTaken records that the patient took the dose at takenAt (zero: now)
// and returns it. Marking it taken again changes nothing; another time
// corrects takenAt; a skipped or missed dose may be marked taken (a late
// log). Taking it decrements the medication's stock by unitsPerDose, once
// however many requests mark it at the same moment. A dose overdue but
// still stored as pending is first recorded as missed, so its history says
// it was logged late. Errors: not_found, invalid ("takenAt" too early, too
// late or in the future), conflict (the dose kept changing under us).
func (s *Doses) MarkTaken(ctx context.Context, patient models.User, doseID string, takenAt time.Time) (models.Dose, error) {
	return s.change(ctx, patient, doseID, func(d *models.Dose, now time.Time, grace time.Duration) (bool, error) {
		missed := d.MarkMissed(now, grace)
		changed, err := d.MarkTaken(takenAt, now)
		return missed || changed, err
	})
}

// MarkSkipped records that the patient chose not to take the dose, with an
// optional reason, and returns it. Skipping again with the same reason
// changes nothing. Skipping a taken dose (a mistaken log) is recorded in
// its history and gives its units back to the stock. Errors: not_found,
// invalid (an as-needed dose, a dose more than 12 hours ahead, "reason" too
// long), conflict.
func (s *Doses) MarkSkipped(ctx context.Context, patient models.User, doseID, reason string) (models.Dose, error) {
	return s.change(ctx, patient, doseID, func(d *models.Dose, now time.Time, grace time.Duration) (bool, error) {
		missed := d.MarkMissed(now, grace)
		changed, err := d.MarkSkipped(reason, now)
		return missed || changed, err
	})
}

// change applies a change to a dose with optimistic concurrency: read,
// change in memory, store only if the dose is still the version read, else
// read again. The stock moves only for the one request whose write won.
func (s *Doses) change(ctx context.Context, patient models.User, id string, apply func(d *models.Dose, now time.Time, grace time.Duration) (bool, error)) (models.Dose, error) {
	grace := patient.Preferences.DoseGrace()
	for range doseWriteAttempts {
		prev, err := s.get(ctx, patient, id)
		if err != nil {
			return models.Dose{}, err
		}
		now := s.now().UTC()
		next := prev
		next.History = slices.Clone(prev.History)
		changed, err := apply(&next, now, grace)
		if err != nil {
			return models.Dose{}, err
		}
		if !changed {
			next.Status = next.EffectiveStatus(now, grace)
			return next, nil
		}
		// (status, updatedAt) is the version Replace checks: make sure it
		// moves even when the clock has not.
		if !next.UpdatedAt.After(prev.UpdatedAt) {
			next.UpdatedAt = prev.UpdatedAt.Add(time.Millisecond)
		}
		won, err := s.doses.Replace(ctx, next, prev)
		if err != nil {
			return models.Dose{}, err
		}
		if !won {
			continue
		}
		wasTaken, isTaken := prev.Status == models.DoseTaken, next.Status == models.DoseTaken
		if wasTaken != isTaken {
			s.adjustStock(ctx, next.MedicationID, isTaken)
		}
		s.log.DebugContext(ctx, "dose logged", "patient", patient.ID, "dose", next.ID)
		for _, o := range s.observers {
			o.DoseLogged(ctx, patient, prev, next)
		}
		next.Status = next.EffectiveStatus(now, grace)
		return next, nil
	}
	return models.Dose{}, models.Errorf(models.CodeConflict, "the dose is being changed by another request; try again")
}

// adjustStock takes one dose's units from the medication's stock (taken)
// or gives them back. The dose's change is already stored: a failure here
// is logged, not returned, as a retry would find nothing left to do.
func (s *Doses) adjustStock(ctx context.Context, medicationID string, taken bool) {
	m, err := s.meds.Get(ctx, medicationID)
	if err == nil && m.Stock != nil {
		delta := m.Stock.UnitsPerDose
		if taken {
			delta = -delta
		}
		err = s.meds.AdjustStock(ctx, medicationID, delta, s.now())
	}
	if err != nil {
		s.log.ErrorContext(ctx, "stock not adjusted after a dose was logged", "medication", medicationID, "err", err)
	}
}

// AsNeededDose is an as-needed dose as the client logs it. ID is optional:
// a client-generated id (a UUID; no ':') makes logging idempotent.
type AsNeededDose struct {
	ID           string
	MedicationID string
	TakenAt      time.Time
}

// LogAsNeeded records a dose of an as-needed medication, taken at TakenAt
// (zero: now), and decrements its stock. It reports whether it created
// one: the same id again (for the same medication and, if given, the same
// takenAt) returns the stored dose and false, without touching the stock.
// Errors: invalid ("medicationId" not an active as-needed medicine of the
// patient, "id", "takenAt"), conflict (the id is taken by another dose).
func (s *Doses) LogAsNeeded(ctx context.Context, patient models.User, in AsNeededDose) (models.Dose, bool, error) {
	now := s.now().UTC()
	var p models.Problems
	m, err := s.meds.Get(ctx, in.MedicationID)
	switch {
	case in.MedicationID == "":
		p.Add("medicationId", "is required")
	case models.IsCode(err, models.CodeNotFound) || (err == nil && m.PatientID != patient.ID):
		p.Add("medicationId", "is not one of the patient's medications")
	case err != nil:
		return models.Dose{}, false, err
	case !m.Schedule.AsNeeded:
		p.Add("medicationId", "is a scheduled medicine: mark its scheduled doses taken instead")
	case m.Status != models.MedicationActive:
		p.Add("medicationId", "is stopped")
	}
	if err := p.Err(); err != nil {
		return models.Dose{}, false, err
	}
	id := strings.TrimSpace(in.ID)
	if id == "" {
		id = newID()
	}
	d, err := models.NewAsNeededDose(id, patient.ID, m.ID, in.TakenAt, now, patient.Location())
	if err != nil {
		return models.Dose{}, false, err
	}
	if err := s.doses.Insert(ctx, d); models.IsCode(err, models.CodeConflict) {
		stored, gerr := s.doses.Get(ctx, id)
		if gerr != nil {
			return models.Dose{}, false, gerr
		}
		same := stored.PatientID == patient.ID && stored.AsNeeded && stored.MedicationID == m.ID &&
			(in.TakenAt.IsZero() || (stored.TakenAt != nil && stored.TakenAt.Equal(*d.TakenAt)))
		if !same {
			return models.Dose{}, false, &models.Error{Code: models.CodeConflict,
				Message: "a dose with this id exists with other content",
				Fields:  []models.FieldProblem{{Field: "id", Problem: "is already used"}}}
		}
		return stored, false, nil
	} else if err != nil {
		return models.Dose{}, false, err
	}
	s.adjustStock(ctx, m.ID, true)
	s.log.DebugContext(ctx, "as-needed dose logged", "patient", patient.ID, "dose", d.ID)
	return d, true, nil
}

// Adherence works out the patient's adherence over the last `days` days up
// to now (models.ComputeAdherence), overall and for each active medication
// and each stopped in the window, after planning their doses. Errors:
// invalid ("days" not one of AdherenceWindows).
func (s *Doses) Adherence(ctx context.Context, patient models.User, days int, now time.Time) (models.Adherence, error) {
	if !slices.Contains(AdherenceWindows, days) {
		var p models.Problems
		p.Add("days", "must be one of 7, 28 or 90")
		return models.Adherence{}, p.Err()
	}
	return s.AdherenceOver(ctx, patient, days, now)
}

// AdherenceOver is Adherence over any window of 1 to
// models.MaxAdherenceWindowDays days (the consultation report's), which
// the caller has checked.
func (s *Doses) AdherenceOver(ctx context.Context, patient models.User, days int, now time.Time) (models.Adherence, error) {
	now = now.UTC()
	if err := s.planner.Materialize(ctx, patient, now); err != nil {
		return models.Adherence{}, err
	}
	from := now.Add(-time.Duration(days) * 24 * time.Hour)
	meds, err := s.meds.ListByPatient(ctx, patient.ID)
	if err != nil {
		return models.Adherence{}, err
	}
	meds = slices.DeleteFunc(meds, func(m models.Medication) bool {
		return m.Status == models.MedicationStopped && m.StoppedAt != nil && !m.StoppedAt.After(from)
	})
	doses, err := s.doses.ListByPatient(ctx, patient.ID, from, now.Add(time.Millisecond))
	if err != nil {
		return models.Adherence{}, err
	}
	return models.ComputeAdherence(meds, doses, patient.Location(), days, now, patient.Preferences.DoseGrace()), nil
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
