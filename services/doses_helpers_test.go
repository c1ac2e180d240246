package services_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/concord-health/concord/internal/graphtest"
	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/storetest"
)

// medEnv is the medicines and doses services, and the planner behind
// them, of the graph run() builds (graphtest) on a fresh store database.
type medEnv struct {
	st      store.Store
	clock   *graphtest.Clock
	planner *services.DosePlanner
	doses   *services.Doses
	meds    *services.Medications
}

func newMedEnv(t testing.TB, start time.Time) *medEnv {
	t.Helper()
	g := graphtest.New(t, storetest.New(t), graphtest.NewClock(start), discardLog(), nil, graphtest.Options{})
	return &medEnv{st: g.Store, clock: g.Clock, planner: g.Planner, doses: g.Doses, meds: g.Medications}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// otherInstance is a second dose planner on the same store, as another
// Concord process would have: its own in-process locks.
func (e *medEnv) otherInstance() *services.DosePlanner {
	return services.NewDosePlanner(e.st.Doses(), e.st.Medications(), discardLog())
}

// otherDoses is a second Doses service on the same store, planning
// through otherInstance, as another Concord process would have.
func (e *medEnv) otherDoses() *services.Doses {
	return services.NewDoses(e.st.Doses(), e.st.Medications(), e.otherInstance(), e.clock.Now, discardLog())
}

// patient stores a patient account in the zone.
func (e *medEnv) patient(t testing.TB, id, zone string) models.User {
	t.Helper()
	u := models.User{ID: id, Email: id + "@example.org", Name: "Pat " + id, Role: models.RolePatient, Timezone: zone,
		CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}
	if err := e.st.Users().Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// addMed creates a medication through the service (which plans its doses).
func (e *medEnv) addMed(t testing.TB, patient models.User, in services.NewMedication) models.Medication {
	t.Helper()
	m, created, err := e.meds.Create(context.Background(), patient, in)
	if err != nil || !created {
		t.Fatalf("create medication: created=%v, %v", created, err)
	}
	return m
}

// stored returns every dose document of the patient, as stored.
func (e *medEnv) stored(t testing.TB, patientID string) []models.Dose {
	t.Helper()
	all, err := e.st.Doses().ListByPatient(context.Background(), patientID,
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// stockOf returns a medication's stored stock quantity.
func (e *medEnv) stockOf(t testing.TB, id string) float64 {
	t.Helper()
	m, err := e.st.Medications().Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if m.Stock == nil {
		t.Fatalf("medication %s has no stock", id)
	}
	return m.Stock.Quantity
}

// doseKey is a dose as the schedule tests compare it: id and instant.
type doseKey struct {
	ID string
	At string
}

func keysOf(doses []models.Dose) []doseKey {
	out := make([]doseKey, len(doses))
	for i, d := range doses {
		out[i] = doseKey{d.ID, d.ScheduledAt.UTC().Format(time.RFC3339)}
	}
	slices.SortFunc(out, func(a, b doseKey) int {
		if a.At != b.At {
			if a.At < b.At {
				return -1
			}
			return 1
		}
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out
}

func utc(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// daily is a schedule of the times every day from start.
func daily(start string, times ...string) models.Schedule {
	return models.Schedule{Times: times, StartDate: start}
}

// medID returns a fixed medication UUID for test n.
func medID(n int) string {
	const ids = "0123456789abcdef"
	return "00000000-0000-4000-8000-0000000000" + string(ids[n/16]) + string(ids[n%16])
}
