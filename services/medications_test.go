package services_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// fieldsOf returns the field names of an invalid error.
func fieldsOf(err error) []string {
	var me *models.Error
	if !errors.As(err, &me) {
		return nil
	}
	var out []string
	for _, f := range me.Fields {
		out = append(out, f.Field)
	}
	return out
}

// TestCreateMedicationValidation: every bad field is named by its JSON
// path, and nothing is stored (no medicine, no doses).
func TestCreateMedicationValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newMedEnv(t, utc(t, "2026-11-02T06:00:00Z"))
	p := e.patient(t, "pat-valid", "Europe/London")
	good := services.NewMedication{Name: "Ramipril", Schedule: daily("2026-11-02", "08:00")}
	tests := []struct {
		name   string
		edit   func(*services.NewMedication)
		fields []string
	}{
		{"bad time, reported where it was sent", func(m *services.NewMedication) { m.Schedule.Times = []string{"8am", "20:00"} }, []string{"schedule.times[0]"}},
		{"bad second time in unsorted input", func(m *services.NewMedication) { m.Schedule.Times = []string{"20:00", "25:00"} }, []string{"schedule.times[1]"}},
		{"no times, no start", func(m *services.NewMedication) { m.Schedule = models.Schedule{} }, []string{"schedule.times", "schedule.startDate"}},
		{"bad day", func(m *services.NewMedication) { m.Schedule.DaysOfWeek = []string{"mon", "funday"} }, []string{"schedule.daysOfWeek[1]"}},
		{"days and every N days", func(m *services.NewMedication) {
			m.Schedule.DaysOfWeek = []string{"mon"}
			m.Schedule.EveryNDays = 2
		}, []string{"schedule.everyNDays"}},
		{"end before start", func(m *services.NewMedication) { m.Schedule.EndDate = "2026-11-01" }, []string{"schedule.endDate"}},
		{"as needed with times", func(m *services.NewMedication) { m.Schedule.AsNeeded = true }, []string{"schedule.times"}},
		{"everything else", func(m *services.NewMedication) {
			m.ID = "not-a-uuid"
			m.Name = "  "
			m.Code = "12ab"
			m.Stock = &models.Stock{Quantity: -1, UnitsPerDose: 0, RefillLeadDays: 61}
		}, []string{"id", "name", "code", "stock.quantity", "stock.unitsPerDose", "stock.refillLeadDays"}},
	}
	for _, tt := range tests {
		in := good
		in.Schedule.Times = []string{"08:00"}
		tt.edit(&in)
		_, _, err := e.meds.Create(ctx, p, in)
		if models.ErrorCode(err) != models.CodeInvalid {
			t.Errorf("%s: %v, want invalid", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.fields, fieldsOf(err)); diff != "" {
			t.Errorf("%s: fields (-want +got):\n%s", tt.name, diff)
		}
	}
	meds, err := e.meds.List(ctx, p, "")
	if err != nil || len(meds) != 0 {
		t.Errorf("stored %d medications, %v; want none", len(meds), err)
	}
	if n := len(e.stored(t, p.ID)); n != 0 {
		t.Errorf("stored %d doses, want none", n)
	}
}

// TestCreateMedicationIdempotent: the same client id and content again is
// the stored medicine; other content, or another patient, is a conflict.
func TestCreateMedicationIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newMedEnv(t, utc(t, "2026-11-02T06:00:00Z"))
	p := e.patient(t, "pat-idem", "Europe/London")
	other := e.patient(t, "pat-idem-2", "Europe/London")
	in := services.NewMedication{ID: medID(90), Name: " Ramipril ", Strength: "5 mg", Schedule: daily("2026-11-02", "20:00", "08:00"),
		Stock: &models.Stock{Quantity: 28, UnitsPerDose: 1, RefillLeadDays: 7}}
	first, created, err := e.meds.Create(ctx, p, in)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if first.Name != "Ramipril" || first.Status != models.MedicationActive || first.PatientID != p.ID || !first.CreatedAt.Equal(e.clock.Now()) {
		t.Errorf("created %+v", first)
	}
	// A dose taken meanwhile moves the stock; a replay is still the same.
	e.clock.Set(utc(t, "2026-11-02T08:05:00Z"))
	if _, err := e.doses.MarkTaken(ctx, p, models.DoseID(in.ID, "2026-11-02", "08:00"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	again, created, err := e.meds.Create(ctx, p, in)
	if err != nil || created {
		t.Fatalf("replay: created=%v, %v", created, err)
	}
	if again.ID != first.ID || again.Stock.Quantity != 27 || !again.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("replay returned %+v", again)
	}
	changed := in
	changed.Strength = "10 mg"
	if _, _, err := e.meds.Create(ctx, p, changed); models.ErrorCode(err) != models.CodeConflict {
		t.Errorf("same id, other content: %v, want conflict", err)
	}
	if _, _, err := e.meds.Create(ctx, other, in); models.ErrorCode(err) != models.CodeConflict {
		t.Errorf("same id, other patient: %v, want conflict", err)
	}
	if n := len(e.stored(t, other.ID)); n != 0 {
		t.Errorf("other patient has %d doses", n)
	}
}

// TestStopMedication: stopping removes future pending doses and keeps the
// past; the medicine is listed as stopped; it can no longer be edited.
func TestStopMedication(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newMedEnv(t, utc(t, "2026-11-02T06:00:00Z"))
	p := e.patient(t, "pat-stop", "Europe/London")
	other := e.patient(t, "pat-stop-2", "Europe/London")
	id := medID(91)
	e.addMed(t, p, services.NewMedication{ID: id, Name: "Ramipril", Schedule: daily("2026-11-02", "08:00")})
	keep := e.addMed(t, p, services.NewMedication{ID: medID(92), Name: "Amlodipine", Schedule: daily("2026-11-02", "09:00")})
	now := utc(t, "2026-11-04T12:00:00Z")
	e.clock.Set(now)
	if _, err := e.doses.MarkTaken(ctx, p, models.DoseID(id, "2026-11-04", "08:00"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.meds.Stop(ctx, other, id, nil); models.ErrorCode(err) != models.CodeNotFound {
		t.Errorf("stop by another patient: %v, want not_found", err)
	}
	m, err := e.meds.Stop(ctx, p, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != models.MedicationStopped || m.StoppedAt == nil || !m.StoppedAt.Equal(now) {
		t.Errorf("stopped medication %+v", m)
	}
	var got []string
	for _, d := range e.stored(t, p.ID) {
		if d.MedicationID == id {
			got = append(got, d.ID+" "+string(d.Status))
		}
	}
	want := []string{
		models.DoseID(id, "2026-11-02", "08:00") + " pending",
		models.DoseID(id, "2026-11-03", "08:00") + " pending",
		models.DoseID(id, "2026-11-04", "08:00") + " taken",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("doses of the stopped medicine (-want +got):\n%s", diff)
	}
	// The other medicine's doses are untouched: 2–10 Nov at 09:00 (the
	// horizon is 11 Nov 12:00, and was 9 Nov 06:00 before).
	if n := len(e.stored(t, p.ID)) - len(want); n != 10 {
		t.Errorf("%d doses of %s, want 10", n, keep.Name)
	}
	// Stopping again changes nothing; editing is refused; listing marks it.
	e.clock.Set(now.Add(time.Hour))
	again, err := e.meds.Stop(ctx, p, id, nil)
	if err != nil || !again.StoppedAt.Equal(now) {
		t.Errorf("stop again: %+v, %v", again.StoppedAt, err)
	}
	name := "Ramipril 10 mg"
	if _, err := e.meds.Update(ctx, p, id, services.MedicationChange{Name: &name}, nil); models.ErrorCode(err) != models.CodeConflict {
		t.Errorf("edit a stopped medicine: %v, want conflict", err)
	}
	for _, tt := range []struct {
		status models.MedicationStatus
		want   []string
	}{
		{"", []string{id, keep.ID}},
		{models.MedicationActive, []string{keep.ID}},
		{models.MedicationStopped, []string{id}},
	} {
		meds, err := e.meds.List(ctx, p, tt.status)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range meds {
			ids = append(ids, m.ID)
		}
		if diff := cmp.Diff(tt.want, ids); diff != "" {
			t.Errorf("list %q (-want +got):\n%s", tt.status, diff)
		}
	}
	if _, err := e.meds.List(ctx, p, "paused"); !hasField(err, "status") {
		t.Errorf("list by unknown status: %v", err)
	}
	// Materialising later plans nothing more for it.
	e.clock.Set(now.Add(5 * 24 * time.Hour))
	if err := e.planner.Materialize(ctx, p, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	for _, d := range e.stored(t, p.ID) {
		if d.MedicationID == id && d.ScheduledAt.After(now) {
			t.Errorf("dose %s planned after the stop", d.ID)
		}
	}
}

// TestUpdateMedication: a PATCH merges, validates the result as a whole
// (nothing stored when invalid), replaces or removes the stock.
func TestUpdateMedication(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newMedEnv(t, utc(t, "2026-11-02T06:00:00Z"))
	p := e.patient(t, "pat-upd", "Europe/London")
	other := e.patient(t, "pat-upd-2", "Europe/London")
	id := medID(93)
	orig := e.addMed(t, p, services.NewMedication{ID: id, Name: "Ramipril", Form: "capsule", Schedule: daily("2026-11-02", "08:00"),
		Stock: &models.Stock{Quantity: 28, UnitsPerDose: 1}})
	bad := models.Schedule{Times: []string{"08:00", "8:30"}, StartDate: "2026-11-02"}
	empty := ""
	if _, err := e.meds.Update(ctx, p, id, services.MedicationChange{Name: &empty, Schedule: &bad}, nil); models.ErrorCode(err) != models.CodeInvalid ||
		!cmp.Equal(fieldsOf(err), []string{"name", "schedule.times[1]"}) {
		t.Errorf("invalid edit: %v", err)
	}
	if got, _ := e.meds.Get(ctx, p, id); !cmp.Equal(got, orig) {
		t.Errorf("invalid edit stored something: %s", cmp.Diff(orig, got))
	}
	if _, err := e.meds.Update(ctx, other, id, services.MedicationChange{Name: &empty}, nil); models.ErrorCode(err) != models.CodeNotFound {
		t.Errorf("edit by another patient: %v, want not_found", err)
	}
	e.clock.Set(utc(t, "2026-11-02T07:00:00Z"))
	strength := "2.5 mg"
	m, err := e.meds.Update(ctx, p, id, services.MedicationChange{Strength: &strength, Stock: &models.Stock{Quantity: 56, UnitsPerDose: 2, RefillLeadDays: 10}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Strength != strength || m.Form != "capsule" || m.Name != "Ramipril" || *m.Stock != (models.Stock{Quantity: 56, UnitsPerDose: 2, RefillLeadDays: 10}) ||
		!m.UpdatedAt.Equal(e.clock.Now()) {
		t.Errorf("after edit: %+v", m)
	}
	m, err = e.meds.Update(ctx, p, id, services.MedicationChange{RemoveStock: true}, nil)
	if err != nil || m.Stock != nil {
		t.Errorf("remove stock: %+v, %v", m.Stock, err)
	}
}

// TestActiveMedicationsCapped: a patient may have MaxActiveMedications
// active medicines; one more is refused with a conflict naming
// "medications" and nothing is stored, while a retried create of a stored
// one still answers; stopping one makes room.
func TestActiveMedicationsCapped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newMedEnv(t, utc(t, "2026-11-02T06:00:00Z"))
	p := e.patient(t, "pat-cap", "Europe/London")
	now := e.clock.Now()
	// All but the last straight into the store (as needed: no doses to
	// plan), the last through the service.
	for i := range services.MaxActiveMedications - 1 {
		if err := e.st.Medications().Create(ctx, models.Medication{ID: fmt.Sprintf("00000000-0000-4000-9000-%012d", i), PatientID: p.ID, Name: "Salbutamol",
			Status: models.MedicationActive, Schedule: models.Schedule{AsNeeded: true, StartDate: "2026-11-02"}, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	last := services.NewMedication{ID: medID(90), Name: "Ramipril", Schedule: daily("2026-11-02", "08:00")}
	if _, created, err := e.meds.Create(ctx, p, last); err != nil || !created {
		t.Fatalf("medicine %d: created=%v, %v", services.MaxActiveMedications, created, err)
	}
	one := services.NewMedication{ID: medID(91), Name: "Amlodipine", Schedule: daily("2026-11-02", "08:00")}
	_, _, err := e.meds.Create(ctx, p, one)
	if models.ErrorCode(err) != models.CodeConflict || !slices.Equal(fieldsOf(err), []string{"medications"}) {
		t.Fatalf("one medicine too many: %v, want conflict naming medications", err)
	}
	if _, err := e.st.Medications().Get(ctx, one.ID); !models.IsCode(err, models.CodeNotFound) {
		t.Errorf("the refused medicine was stored: %v", err)
	}
	if _, created, err := e.meds.Create(ctx, p, last); err != nil || created {
		t.Errorf("retried create at the cap: created=%v, %v; want the stored one", created, err)
	}
	if _, err := e.meds.Stop(ctx, p, "00000000-0000-4000-9000-000000000000", nil); err != nil {
		t.Fatal(err)
	}
	if _, created, err := e.meds.Create(ctx, p, one); err != nil || !created {
		t.Errorf("after stopping one: created=%v, %v", created, err)
	}
}
