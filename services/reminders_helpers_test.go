package services_test

import (
	"context"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/concord-health/concord/internal/graphtest"
	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/push/fcmfake"
	"github.com/concord-health/concord/services"
)

// remEnv is a whole scheduler on a fresh store: the reminder steps,
// delivery through the real Firebase SDK to a fake FCM server, and the
// medicines and doses services, on one settable clock, wired as run()
// wires them, with missed recording the doses the missed step passes on.
type remEnv struct {
	*pushEnv
	planner   *services.DosePlanner
	doses     *services.Doses
	meds      *services.Medications
	reminders *services.Reminders
	sched     *services.Scheduler
	missed    *missedLog
}

// missedLog records what the missed-dose observers were told.
type missedLog struct {
	mu    sync.Mutex
	doses []string
	fail  int // fail this many calls first
	calls int
}

func (m *missedLog) onMissed(_ context.Context, patient models.User, doses []models.Dose, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.fail > 0 {
		m.fail--
		return context.DeadlineExceeded
	}
	for _, d := range doses {
		if d.PatientID != patient.ID || d.Status != models.DoseMissed {
			panic("missed-dose observer got a dose that is not the patient's missed dose")
		}
		m.doses = append(m.doses, d.ID)
	}
	return nil
}

func (m *missedLog) ids() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.doses)
	sort.Strings(out)
	return out
}

func newRemEnv(t testing.TB, start time.Time) *remEnv {
	t.Helper()
	missed := &missedLog{}
	pe := newPushEnvWith(t, graphtest.Options{MissedDoses: []services.MissedDosesFunc{missed.onMissed}})
	pe.clock.Set(start)
	e := &remEnv{pushEnv: pe, missed: missed}
	e.use(pe.graph)
	return e
}

// use makes the env's services a process's.
func (e *remEnv) use(g *graphtest.Graph) {
	e.planner, e.doses, e.meds, e.reminders, e.sched = g.Planner, g.Doses, g.Medications, g.Reminders, g.Scheduler
}

// otherProcess is another Concord process on the env's store and clock
// (its own Reminders, and memory), passing missed doses on to the same
// log.
func (e *remEnv) otherProcess(t testing.TB, name string) *graphtest.Graph {
	t.Helper()
	return e.process(t, graphtest.Options{Instance: name, MissedDoses: []services.MissedDosesFunc{e.missed.onMissed}})
}

// restart replaces the process with a new one (empty memory).
func (e *remEnv) restart(t testing.TB) {
	t.Helper()
	e.use(e.otherProcess(t, "instance-restarted"))
}

// at sets the clock and runs one scheduler tick.
func (e *remEnv) at(t testing.TB, now time.Time) {
	t.Helper()
	e.clock.Set(now)
	if err := e.sched.Tick(context.Background()); err != nil {
		t.Fatalf("tick at %s: %v", now.Format(time.RFC3339), err)
	}
}

// patient stores a patient account with a device.
func (e *remEnv) patient(t testing.TB, id, zone string, prefs models.Preferences) models.User {
	t.Helper()
	u := e.user(t, id, zone, prefs)
	e.device(t, id, "token-"+id+"-0123456789abcdef")
	return u
}

// addMed creates a medicine through the service, which plans its doses.
func (e *remEnv) addMed(t testing.TB, patient models.User, n int, name string, sched models.Schedule, stock *models.Stock) models.Medication {
	t.Helper()
	m, created, err := e.meds.Create(context.Background(), patient, services.NewMedication{
		ID: medID(n), Name: name, Strength: "5 mg", Schedule: sched, Stock: stock})
	if err != nil || !created {
		t.Fatalf("create medication: created=%v, %v", created, err)
	}
	return m
}

// push is one accepted push, as the fake recorded it.
type push struct {
	Kind, ID, Title, Body string
}

// pushes returns the accepted pushes of kind ("" for all), in order.
func pushes(fake *fcmfake.Server, kind models.NotificationKind) []push {
	var out []push
	for _, m := range fake.Delivered() {
		if kind == "" || m.Data[models.DataKind] == string(kind) {
			out = append(out, push{Kind: m.Data[models.DataKind], ID: m.Data[models.DataNotificationID], Title: m.Title, Body: m.Body})
		}
	}
	return out
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	return utc(t, s)
}

// doseStatus returns a dose's stored status.
func (e *remEnv) doseStatus(t testing.TB, id string) models.DoseStatus {
	t.Helper()
	d, err := e.st.Doses().Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d.Status
}

// staleDoses is a dose store whose first Get of each dose returns the
// dose as it was when the test began: a reminder step that read a dose
// just before the patient logged it.
type staleDoses struct {
	services.ReminderDoseStore
	mu    sync.Mutex
	stale map[string]models.Dose
}

func (s *staleDoses) Get(ctx context.Context, id string) (models.Dose, error) {
	s.mu.Lock()
	d, ok := s.stale[id]
	delete(s.stale, id)
	s.mu.Unlock()
	if ok {
		return d, nil
	}
	return s.ReminderDoseStore.Get(ctx, id)
}
