package services_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/concord-health/concord/models"
)

// BenchmarkMaterialize28Days plans, for a new patient each time, the doses
// of five medicines added 28 days ago (35 days of doses with the horizon:
// about 200 documents). Reported: ns/op per patient and doses/s.
func BenchmarkMaterialize28Days(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 9, 17, 0, 0, time.UTC)
	e := newMedEnv(b, now)
	created := now.Add(-28 * 24 * time.Hour)
	planned := 0
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		p := e.patient(b, fmt.Sprintf("bench-%d", i), "Europe/London")
		for j, in := range fiveMedicines(created.Format(models.LocalDateLayout)) {
			m := models.Medication{ID: fmt.Sprintf("bench-%d-%d", i, j), PatientID: p.ID, Name: in.Name, Schedule: in.Schedule,
				Status: models.MedicationActive, CreatedAt: created, UpdatedAt: created}
			if err := e.st.Medications().Create(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if err := e.planner.Materialize(ctx, p, now); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		planned += len(e.stored(b, p.ID))
		b.StartTimer()
	}
	b.ReportMetric(float64(planned)/float64(b.N), "doses/op")
	b.ReportMetric(float64(planned)/b.Elapsed().Seconds(), "doses/s")
}

// BenchmarkMaterializeUnchanged is the common case: nothing changed since
// the last planning (what reads and the scheduler pay).
func BenchmarkMaterializeUnchanged(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 9, 17, 0, 0, time.UTC)
	e := newMedEnv(b, now)
	p := e.patient(b, "bench", "Europe/London")
	for _, in := range fiveMedicines("2026-11-02") {
		e.addMed(b, p, in)
	}
	b.ResetTimer()
	for range b.N {
		if err := e.planner.Materialize(ctx, p, now); err != nil {
			b.Fatal(err)
		}
	}
}
