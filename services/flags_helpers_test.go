package services_test

import (
	"context"
	"testing"
	"time"

	"github.com/concord-health/concord/internal/graphtest"
	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/storetest"
)

// flagStart is the flag tests' clock: Tuesday 2026-03-10 12:00 UTC (GMT
// in London).
var flagStart = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// flagWorld is the services the review flags use, of the graph run()
// builds (graphtest) on a fresh database: two pharmacies (A and B) with a
// pharmacist each, and a patient, Ann, who nominated A.
type flagWorld struct {
	st       store.Store
	clock    *graphtest.Clock
	doses    *services.Doses
	meds     *services.Medications
	readings *services.Readings
	consents *services.Consents
	access   *services.Access
	flags    *services.Flags

	pharmacyA, pharmacyB string
	phA, phB             models.Principal
	patient              models.User
}

func newFlagWorld(t testing.TB) *flagWorld {
	t.Helper()
	g := graphtest.New(t, storetest.New(t), graphtest.NewClock(flagStart), quietLog(), nil, graphtest.Options{})
	st := g.Store
	w := &flagWorld{st: st, clock: g.Clock, pharmacyA: "pharmacy-a", pharmacyB: "pharmacy-b",
		doses: g.Doses, meds: g.Medications, readings: g.Readings, consents: g.Consents, access: g.Access, flags: g.Flags}

	ctx := context.Background()
	for i, id := range []string{w.pharmacyA, w.pharmacyB} {
		ods := []string{"FA001", "FB002"}[i]
		if err := st.Pharmacies().Create(ctx, models.Pharmacy{ID: id, ODSCode: ods, Name: "Pharmacy " + ods, Postcode: "SW1A 1AA", PostcodeKey: "SW1A1AA", CreatedAt: flagStart}); err != nil {
			t.Fatal(err)
		}
	}
	w.phA = w.pharmacist(t, "ph-a", w.pharmacyA)
	w.phB = w.pharmacist(t, "ph-b", w.pharmacyB)
	w.patient = w.newPatient(t, "ann", "Ann Example", w.pharmacyA)
	return w
}

// user stores an account.
func (w *flagWorld) user(t testing.TB, id, name string, role models.Role, pharmacyID string) models.User {
	t.Helper()
	u := models.User{ID: id, Email: id + "@example.org", Name: name, Role: role, Timezone: "Europe/London", PharmacyID: pharmacyID,
		CreatedAt: flagStart, UpdatedAt: flagStart}
	if err := w.st.Users().Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func (w *flagWorld) pharmacist(t testing.TB, id, pharmacyID string) models.Principal {
	t.Helper()
	u := w.user(t, id, "Pharmacist "+id, models.RolePharmacist, pharmacyID)
	return models.Principal{UserID: u.ID, Role: models.RolePharmacist}
}

// newPatient stores a patient who nominated pharmacyID ("" for none).
func (w *flagWorld) newPatient(t testing.TB, id, name, pharmacyID string) models.User {
	t.Helper()
	u := w.user(t, id, name, models.RolePatient, "")
	if pharmacyID != "" {
		if _, err := w.consents.Nominate(context.Background(), u.ID, pharmacyID, true); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// medicine adds a daily 08:00 medicine started on startDate, with stock
// quantity (nil: no stock recorded).
func (w *flagWorld) medicine(t testing.TB, patient models.User, name, startDate string, quantity *float64) models.Medication {
	t.Helper()
	in := services.NewMedication{Name: name, Schedule: models.Schedule{Times: []string{"08:00"}, StartDate: startDate}}
	if quantity != nil {
		in.Stock = &models.Stock{Quantity: *quantity, UnitsPerDose: 1, RefillLeadDays: 7}
	}
	m, _, err := w.meds.Create(context.Background(), patient, in)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// setStock logs a refill: the stock edited through the API's PATCH.
func (w *flagWorld) setStock(t testing.TB, patient models.User, medID string, quantity float64) {
	t.Helper()
	if _, err := w.meds.Update(context.Background(), patient, medID, services.MedicationChange{
		Stock: &models.Stock{Quantity: quantity, UnitsPerDose: 1, RefillLeadDays: 7}}, nil); err != nil {
		t.Fatal(err)
	}
}

// reading stores a reading through the readings service (observers hear).
func (w *flagWorld) reading(t testing.TB, patient models.User, typ models.ReadingType, unit string, values ...float64) models.Reading {
	t.Helper()
	in := models.Reading{Type: typ, Unit: unit, TakenAt: w.clock.Now().Add(-time.Minute)}
	if typ == models.ReadingBloodPressure {
		in.Systolic, in.Diastolic = &values[0], &values[1]
	} else {
		in.Value = &values[0]
	}
	r, _, err := w.readings.Create(context.Background(), patient, in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (w *flagWorld) evaluate(t testing.TB, patient models.User) {
	t.Helper()
	if err := w.flags.Evaluate(context.Background(), patient, w.clock.Now()); err != nil {
		t.Fatalf("evaluate: %v", err)
	}
}

// flag returns the seq-th flag of a rule for the patient, or ok=false.
func (w *flagWorld) flag(t testing.TB, patientID string, rule models.FlagRuleID, seq int) (models.Flag, bool) {
	t.Helper()
	f, err := w.st.Flags().Get(context.Background(), models.FlagID(patientID, rule, seq))
	if models.IsCode(err, models.CodeNotFound) {
		return models.Flag{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return f, true
}

// mustFlag is flag, failing the test when there is none.
func (w *flagWorld) mustFlag(t testing.TB, patientID string, rule models.FlagRuleID, seq int) models.Flag {
	t.Helper()
	f, ok := w.flag(t, patientID, rule, seq)
	if !ok {
		t.Fatalf("no flag %s", models.FlagID(patientID, rule, seq))
	}
	return f
}

// events lists a flag's history events.
func events(f models.Flag) []string {
	var out []string
	for _, e := range f.History {
		out = append(out, e.Event)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func (w *flagWorld) auditCount(t testing.TB, patientID string) int64 {
	t.Helper()
	n, err := w.st.Audit().Count(context.Background(), patientID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
