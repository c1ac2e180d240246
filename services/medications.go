package services

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/concord-health/concord/models"
)

// MedicationStore is what Medications and Doses need of medication storage.
type MedicationStore interface {
	Create(ctx context.Context, m models.Medication) error
	Get(ctx context.Context, id string) (models.Medication, error)
	ListByPatient(ctx context.Context, patientID string) ([]models.Medication, error)
	CountActive(ctx context.Context, patientID string) (int, error)
	Update(ctx context.Context, m models.Medication, setStock bool, prev time.Time) (bool, error)
	Stop(ctx context.Context, id string, at, prev time.Time) (bool, error)
	AdjustStock(ctx context.Context, id string, delta float64, at time.Time) error
}

// MaxActiveMedications is how many medicines a patient may have active at
// once, as-needed ones included. Fifty is five times the ten regular
// medicines at which NHS structured medication reviews already count a
// patient among the most complex, so no real regimen meets it, and it
// bounds what every dose plan, reminder and adherence figure of one
// patient reads. Past it
// Create is refused with a conflict naming "medications" until the patient
// stops one; a retried create of a medicine already stored still answers.
// The count is read before the insert, so requests racing at the cap may
// each pass: it bounds growth, it is not an exact quota.
const MaxActiveMedications = 50

// DoseMaterializer brings a patient's stored doses in line with their
// medications (DosePlanner does).
type DoseMaterializer interface {
	Materialize(ctx context.Context, patient models.User, now time.Time) error
}

// Medications keeps a patient's medicines: create (idempotent by a
// client-chosen id), list, edit and stop. Every change re-plans the
// patient's doses.
type Medications struct {
	meds      MedicationStore
	planner   DoseMaterializer
	now       func() time.Time
	log       *slog.Logger
	observers []MedicationObserver
}

// MedicationObserver is told of every medication a patient creates, edits
// or stops, after it is stored and its doses are planned (Reminders keeps
// its view of the schedules current with it). It must not fail or block.
type MedicationObserver interface {
	MedicationChanged(ctx context.Context, patient models.User, m models.Medication)
}

// NewMedications returns the medicines service; planner re-plans the
// patient's doses after every change, and every observer (nil ones are
// ignored) hears of every change to a medication.
func NewMedications(meds MedicationStore, planner DoseMaterializer, now func() time.Time, log *slog.Logger, observers ...MedicationObserver) *Medications {
	return &Medications{meds: meds, planner: planner, now: now, log: log, observers: withoutNil(observers)}
}

func (s *Medications) changed(ctx context.Context, patient models.User, m models.Medication) {
	for _, o := range s.observers {
		o.MedicationChanged(ctx, patient, m)
	}
}

// NewMedication is a medicine as a client describes it. ID is optional: a
// client-generated UUID makes the create idempotent (offline apps retry).
type NewMedication struct {
	ID           string
	Name         string
	Strength     string
	Form         string
	Instructions string
	Code         string
	Schedule     models.Schedule
	Stock        *models.Stock
}

// Create stores a new active medication of the patient and plans its
// doses. It reports whether it created one: the same id with the same
// content again returns the stored medication and false. Errors: invalid
// (named fields such as "schedule.times[0]"; nothing is stored), conflict
// (the id is taken by other content or another patient's medication; or
// the patient has MaxActiveMedications active, field "medications").
func (s *Medications) Create(ctx context.Context, patient models.User, in NewMedication) (models.Medication, bool, error) {
	now := s.now().UTC()
	var p models.Problems
	id := strings.TrimSpace(in.ID)
	if id == "" {
		id = newID()
	} else if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		p.Add("id", "must be a UUID such as 7d4e8f2a-1b3c-4d5e-9f60-718293a4b5c6")
	}
	m := models.Medication{
		ID:        id,
		PatientID: patient.ID,
		Status:    models.MedicationActive,
		CreatedAt: now,
		UpdatedAt: now,
	}
	applyMedicationText(&m, in.Name, in.Strength, in.Form, in.Instructions, in.Code)
	m.Schedule = normalizeSchedule(in.Schedule)
	m.Stock = in.Stock
	p.Merge("", m.Validate())
	if err := p.Err(); err != nil {
		return models.Medication{}, false, err
	}
	if err := s.checkActiveCap(ctx, patient.ID, m.ID); err != nil {
		return models.Medication{}, false, err
	}
	created := true
	if err := s.meds.Create(ctx, m); models.IsCode(err, models.CodeConflict) {
		stored, gerr := s.meds.Get(ctx, m.ID)
		if gerr != nil {
			return models.Medication{}, false, gerr
		}
		if stored.PatientID != patient.ID || !sameMedicationContent(stored, m) {
			return models.Medication{}, false, &models.Error{Code: models.CodeConflict,
				Message: "a medication with this id exists with other content",
				Fields:  []models.FieldProblem{{Field: "id", Problem: "is already used"}}}
		}
		m, created = stored, false
	} else if err != nil {
		return models.Medication{}, false, err
	}
	if created {
		s.log.InfoContext(ctx, "medication created", "patient", patient.ID, "medication", m.ID)
	}
	if err := s.planner.Materialize(ctx, patient, now); err != nil {
		return models.Medication{}, false, err
	}
	if created {
		s.changed(ctx, patient, m)
	}
	return m, created, nil
}

// checkActiveCap refuses a new medication when the patient has
// MaxActiveMedications active ones, unless id is already stored (a retried
// create, answered as such by Create).
func (s *Medications) checkActiveCap(ctx context.Context, patientID, id string) error {
	n, err := s.meds.CountActive(ctx, patientID)
	if err != nil || n < MaxActiveMedications {
		return err
	}
	if _, err := s.meds.Get(ctx, id); err == nil || !models.IsCode(err, models.CodeNotFound) {
		return err
	}
	return &models.Error{Code: models.CodeConflict,
		Message: fmt.Sprintf("%d medicines are active, the most Concord keeps at once; stop one that is no longer taken first", MaxActiveMedications),
		Fields:  []models.FieldProblem{{Field: "medications", Problem: fmt.Sprintf("at most %d may be active at once", MaxActiveMedications)}}}
}

// List returns the patient's medications, oldest first: all of them, or
// only those with the given status ("" means all; stopped ones carry
// status "stopped" and stoppedAt). Errors: invalid status.
func (s *Medications) List(ctx context.Context, patient models.User, status models.MedicationStatus) ([]models.Medication, error) {
	if status != "" && status != models.MedicationActive && status != models.MedicationStopped {
		var p models.Problems
		p.Add("status", "must be %q or %q", models.MedicationActive, models.MedicationStopped)
		return nil, p.Err()
	}
	meds, err := s.meds.ListByPatient(ctx, patient.ID)
	if err != nil {
		return nil, err
	}
	if status != "" {
		meds = slices.DeleteFunc(meds, func(m models.Medication) bool { return m.Status != status })
	}
	return meds, nil
}

// Get returns one of the patient's medications. Errors: not_found (also
// for another patient's medication).
func (s *Medications) Get(ctx context.Context, patient models.User, id string) (models.Medication, error) {
	m, err := s.meds.Get(ctx, id)
	if models.IsCode(err, models.CodeNotFound) || (err == nil && m.PatientID != patient.ID) {
		return models.Medication{}, models.Errorf(models.CodeNotFound, "medication not found")
	}
	return m, err
}

// MedicationChange is a PATCH of a medication: nil fields stay as they are.
// Schedule replaces the whole schedule; Stock replaces the stock and
// RemoveStock removes it.
type MedicationChange struct {
	Name, Strength, Form, Instructions, Code *string
	Schedule                                 *models.Schedule
	Stock                                    *models.Stock
	RemoveStock                              bool
}

// Update applies a change to an active medication, validates the result
// and stores it. A schedule change re-plans future pending doses only:
// doses in the past, and doses already logged, stay as they are. With
// ifMatch (the updatedAt the client last read, its ETag) the change is
// stored only onto that version. Errors: not_found, invalid (named fields;
// nothing is stored), conflict (the medication is stopped),
// precondition_failed (ifMatch is not the stored version).
func (s *Medications) Update(ctx context.Context, patient models.User, id string, change MedicationChange, ifMatch *time.Time) (models.Medication, error) {
	var (
		m   models.Medication
		now time.Time
	)
	// Without ifMatch a concurrent change (a dose log moving the stock) is
	// read again and the change applied onto it; with it, it is refused.
	for attempt := 0; ; attempt++ {
		var err error
		if m, err = s.Get(ctx, patient, id); err != nil {
			return models.Medication{}, err
		}
		if ifMatch != nil && !m.UpdatedAt.Equal(models.Instant(*ifMatch)) {
			return models.Medication{}, models.StaleVersion("medication")
		}
		if m.Status != models.MedicationActive {
			return models.Medication{}, models.Errorf(models.CodeConflict, "the medication is stopped; add it again to restart it")
		}
		setStock := applyMedicationChange(&m, change)
		if err := m.Validate(); err != nil {
			return models.Medication{}, err
		}
		prev := m.UpdatedAt
		now = models.NextUpdatedAt(prev, s.now())
		m.UpdatedAt = now
		ok, err := s.meds.Update(ctx, m, setStock, prev)
		if err != nil {
			return models.Medication{}, err
		}
		if ok {
			break
		}
		if ifMatch != nil {
			return models.Medication{}, models.StaleVersion("medication")
		}
		if attempt == 4 {
			return models.Medication{}, models.Errorf(models.CodeConflict, "the medication is being changed by another request; try again")
		}
	}
	s.log.InfoContext(ctx, "medication updated", "patient", patient.ID, "medication", m.ID)
	if err := s.planner.Materialize(ctx, patient, now); err != nil {
		return models.Medication{}, err
	}
	// Read back: the stock count may have moved since it was read.
	m, err := s.Get(ctx, patient, id)
	if err == nil {
		s.changed(ctx, patient, m)
	}
	return m, err
}

// applyMedicationChange applies a change to m and reports whether it
// sets the stock.
func applyMedicationChange(m *models.Medication, change MedicationChange) bool {
	name, strength, form, instructions, code := m.Name, m.Strength, m.Form, m.Instructions, m.Code
	for _, f := range []struct {
		v   *string
		dst *string
	}{{change.Name, &name}, {change.Strength, &strength}, {change.Form, &form}, {change.Instructions, &instructions}, {change.Code, &code}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	applyMedicationText(m, name, strength, form, instructions, code)
	if change.Schedule != nil {
		m.Schedule = normalizeSchedule(*change.Schedule)
	}
	switch {
	case change.RemoveStock:
		m.Stock = nil
	case change.Stock != nil:
		st := *change.Stock
		m.Stock = &st
	}
	return change.Stock != nil || change.RemoveStock
}

// Stop stops one of the patient's medications: its status becomes stopped
// with stoppedAt now, its future pending doses are removed, and its history
// (logged and past doses) stays. Stopping a stopped medication changes
// nothing. With ifMatch, only the version the client read is stopped.
// Errors: not_found, precondition_failed.
func (s *Medications) Stop(ctx context.Context, patient models.User, id string, ifMatch *time.Time) (models.Medication, error) {
	m, err := s.Get(ctx, patient, id)
	if err != nil {
		return models.Medication{}, err
	}
	var prev time.Time
	if ifMatch != nil {
		if prev = models.Instant(*ifMatch); !m.UpdatedAt.Equal(prev) {
			return models.Medication{}, models.StaleVersion("medication")
		}
	}
	now := models.NextUpdatedAt(m.UpdatedAt, s.now())
	stopped, err := s.meds.Stop(ctx, id, now, prev)
	if err != nil {
		return models.Medication{}, err
	}
	if stopped {
		s.log.InfoContext(ctx, "medication stopped", "patient", patient.ID, "medication", id)
	} else if ifMatch != nil && m.Status == models.MedicationActive {
		return models.Medication{}, models.StaleVersion("medication")
	}
	if err := s.planner.Materialize(ctx, patient, now); err != nil {
		return models.Medication{}, err
	}
	m, err = s.Get(ctx, patient, id)
	if err == nil && stopped {
		s.changed(ctx, patient, m)
	}
	return m, err
}

// applyMedicationText sets the medication's text fields, trimmed.
func applyMedicationText(m *models.Medication, name, strength, form, instructions, code string) {
	m.Name = strings.TrimSpace(name)
	m.Strength = strings.TrimSpace(strength)
	m.Form = strings.TrimSpace(form)
	m.Instructions = strings.TrimSpace(instructions)
	m.Code = strings.TrimSpace(code)
}

// weekdayCodes are the valid Schedule.DaysOfWeek codes.
var weekdayCodes = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// normalizeSchedule sorts and de-duplicates a schedule's times and days
// (models.Schedule.Normalized) when every one of them is well formed, so
// any order is accepted. When one is not, it only trims them and keeps
// their order, so that the problems Validate reports ("times[2]") point at
// the element the client sent.
func normalizeSchedule(s models.Schedule) models.Schedule {
	wellFormed := true
	n := s
	if s.Times != nil {
		n.Times = make([]string, len(s.Times))
		for i, t := range s.Times {
			n.Times[i] = strings.TrimSpace(t)
			wellFormed = wellFormed && models.IsClock(n.Times[i])
		}
	}
	if s.DaysOfWeek != nil {
		n.DaysOfWeek = make([]string, len(s.DaysOfWeek))
		for i, d := range s.DaysOfWeek {
			n.DaysOfWeek[i] = strings.ToLower(strings.TrimSpace(d))
			wellFormed = wellFormed && slices.Contains(weekdayCodes, n.DaysOfWeek[i])
		}
	}
	n.StartDate = strings.TrimSpace(s.StartDate)
	n.EndDate = strings.TrimSpace(s.EndDate)
	if wellFormed {
		return n.Normalized()
	}
	return n
}

// sameMedicationContent reports whether two medications describe the same
// medicine the same way (the fields a client sends).
func sameMedicationContent(a, b models.Medication) bool {
	return a.Name == b.Name && a.Strength == b.Strength && a.Form == b.Form &&
		a.Instructions == b.Instructions && a.Code == b.Code &&
		reflect.DeepEqual(normalizeEmpty(a.Schedule), normalizeEmpty(b.Schedule)) &&
		sameStockTerms(a.Stock, b.Stock)
}

// sameStockTerms compares stock ignoring the quantity, which doses taken
// since the first upload have moved.
func sameStockTerms(a, b *models.Stock) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.UnitsPerDose == b.UnitsPerDose && a.RefillLeadDays == b.RefillLeadDays
}

// normalizeEmpty makes nil and empty slices compare equal (the store
// returns one where the request had the other).
func normalizeEmpty(s models.Schedule) models.Schedule {
	if len(s.Times) == 0 {
		s.Times = nil
	}
	if len(s.DaysOfWeek) == 0 {
		s.DaysOfWeek = nil
	}
	return s
}
