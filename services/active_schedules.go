package services

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/concord-health/concord/models"
)

// DefaultReminderRefreshInterval is how often Reminders re-reads every
// active medication and its patient. The steps work from the schedules,
// not from a query of due doses, and reading 10,000 schedules every tick
// would be most of the tick's work. Changes made through this process are
// seen at once (MedicationChanged); those made through another instance,
// the stock that doses taken use up, and patients' settings within this
// interval. Push texts always follow the patient's current PushDetails
// (pushDetails reads the patient again).
const DefaultReminderRefreshInterval = 5 * time.Minute

// refreshSkew is how far before a refresh began a change heard from
// MedicationChanged may have happened and still be newer than what the
// refresh read.
const refreshSkew = 5 * time.Second

// ActiveMedicationLister lists every patient's active medications in one
// read (the medication store).
type ActiveMedicationLister interface {
	ListActive(ctx context.Context) ([]models.Medication, error)
}

// activeSchedules holds every active medication and its patient as last
// read: read again, in one query of the medications and one of their
// patients, at most every RefreshInterval, and kept current in between by
// changed. The steps find their work here, so between refreshes a tick
// reads the store only for what is due.
type activeSchedules struct {
	meds     ActiveMedicationLister
	users    UserBatchDirectory
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger

	// mu guards what follows: changed is called from requests while the
	// scheduler reads.
	mu        sync.Mutex
	byID      map[string]models.Medication // stopped ones only until the next refresh
	patients  map[string]models.User
	refreshed time.Time // tick time of the last refresh; zero: never
}

func newActiveSchedules(meds ActiveMedicationLister, users UserBatchDirectory, interval time.Duration, now func() time.Time, log *slog.Logger) *activeSchedules {
	return &activeSchedules{meds: meds, users: users, interval: interval, now: now, log: log,
		byID: map[string]models.Medication{}, patients: map[string]models.User{}}
}

// active returns the active medications by patient id and the patients
// known to have them, as of the tick at now: read again first if
// RefreshInterval has passed since the last read.
func (a *activeSchedules) active(ctx context.Context, now time.Time) (map[string][]models.Medication, []models.User, error) {
	a.mu.Lock()
	stale := a.refreshed.IsZero() || !now.Before(a.refreshed.Add(a.interval))
	a.mu.Unlock()
	if stale {
		if err := a.refresh(ctx, now); err != nil {
			return nil, nil, err
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	byPatient := map[string][]models.Medication{}
	for _, m := range a.byID {
		if m.Status == models.MedicationActive {
			byPatient[m.PatientID] = append(byPatient[m.PatientID], m)
		}
	}
	users := make([]models.User, 0, len(byPatient))
	for id := range byPatient {
		if u, ok := a.patients[id]; ok {
			users = append(users, u)
		}
	}
	return byPatient, users, nil
}

// refresh reads every active medication and its patient again. What
// changed told of while it read, or just before, wins over what it read
// when newer.
func (a *activeSchedules) refresh(ctx context.Context, now time.Time) error {
	start := a.now().UTC()
	meds, err := a.meds.ListActive(ctx)
	if err != nil {
		return err
	}
	ids := map[string]bool{}
	for _, m := range meds {
		ids[m.PatientID] = true
	}
	users, err := a.users.GetMany(ctx, slices.Sorted(maps.Keys(ids)))
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	nextMeds := make(map[string]models.Medication, len(meds))
	for _, m := range meds {
		nextMeds[m.ID] = m
	}
	nextUsers := make(map[string]models.User, len(users))
	for _, u := range users {
		nextUsers[u.ID] = u
	}
	for id, c := range a.byID {
		read, ok := nextMeds[id]
		if c.UpdatedAt.Before(start.Add(-refreshSkew)) || (ok && !c.UpdatedAt.After(read.UpdatedAt)) {
			continue
		}
		nextMeds[id] = c
		if _, ok := nextUsers[c.PatientID]; !ok {
			if u, ok := a.patients[c.PatientID]; ok {
				nextUsers[c.PatientID] = u
			}
		}
	}
	a.byID, a.patients, a.refreshed = nextMeds, nextUsers, now
	a.log.DebugContext(ctx, "reminders read the schedules", "medications", len(meds), "patients", len(users))
	return nil
}

// changed records m, changed by patient, unless what is held is newer.
func (a *activeSchedules) changed(patient models.User, m models.Medication) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.byID[m.ID]; ok && c.UpdatedAt.After(m.UpdatedAt) {
		return
	}
	a.byID[m.ID] = m
	a.patients[patient.ID] = patient
}

// MedicationChanged keeps the steps' view of the patient's medicines
// current between refreshes (MedicationObserver).
func (r *Reminders) MedicationChanged(_ context.Context, patient models.User, m models.Medication) {
	r.schedules.changed(patient, m)
}
