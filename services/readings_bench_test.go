package services_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/storetest"
)

const benchBatch = 500

var benchNow = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

var benchPatient = models.User{ID: "bench-patient", Role: models.RolePatient, Timezone: "Europe/London"}

// benchInputs returns benchBatch new readings as an app uploads them after
// a few days offline: a mix of every type, each with a fresh client id.
func benchInputs() []models.Reading {
	f := func(v float64) *float64 { return &v }
	out := make([]models.Reading, benchBatch)
	for i := range out {
		r := models.Reading{ID: uuid.NewString(), TakenAt: benchNow.Add(-time.Duration(i) * 17 * time.Minute)}
		switch i % 7 {
		case 0:
			r.Type, r.Unit, r.Systolic, r.Diastolic, r.Pulse = models.ReadingBloodPressure, "mmHg", f(120+float64(i%40)), f(75+float64(i%15)), f(68)
		case 1:
			r.Type, r.Unit, r.Value, r.Context = models.ReadingBloodGlucose, "mg/dL", f(80+float64(i%90)), "before_meal"
		case 2:
			r.Type, r.Unit, r.Value = models.ReadingWeight, "kg", f(82.4)
		case 3:
			r.Type, r.Unit, r.Value = models.ReadingHeartRate, "bpm", f(72)
		case 4:
			r.Type, r.Unit, r.Value = models.ReadingSpO2, "%", f(96)
		case 5:
			r.Type, r.Unit, r.Value = models.ReadingPeakFlow, "L/min", f(420)
		default:
			r.Type, r.Unit, r.Value, r.Note = models.ReadingTemperature, "Cel", f(37.1), "after a walk"
		}
		out[i] = r
	}
	return out
}

// benchStore returns a fresh store on the chosen backend.
func benchStore(b *testing.B) store.Store {
	b.Helper()
	return storetest.New(b)
}

func reportReadingsPerSecond(b *testing.B) {
	b.ReportMetric(float64(benchBatch*b.N)/b.Elapsed().Seconds(), "readings/s")
}

// BenchmarkReadingBatch500 uploads batches of 500 new readings through the
// readings service: validation, unit conversion, banding and the store's
// unordered insert with duplicate detection.
func BenchmarkReadingBatch500(b *testing.B) {
	st := benchStore(b)
	svc := services.NewReadings(st.Readings(), func() time.Time { return benchNow }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		in := benchInputs()
		b.StartTimer()
		res, err := svc.CreateBatch(ctx, benchPatient, in)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		for i, r := range res {
			if r.Status != services.ReadingCreated {
				b.Fatalf("item %d: %s %v", i, r.Status, r.Err)
			}
		}
		b.StartTimer()
	}
	b.StopTimer()
	reportReadingsPerSecond(b)
}

// BenchmarkStoreInsertMany500 inserts the same readings (normalised and
// banded beforehand, as the service stores them) straight through the
// store's InsertMany: the baseline of BenchmarkReadingBatch500.
func BenchmarkStoreInsertMany500(b *testing.B) {
	st := benchStore(b)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		docs := make([]models.Reading, 0, benchBatch)
		for _, r := range benchInputs() {
			if err := r.Normalize(benchNow); err != nil {
				b.Fatal(err)
			}
			r.PatientID, r.CreatedAt = benchPatient.ID, benchNow
			r.Band, r.Rule, _ = models.Classify(&r, benchPatient.Targets)
			docs = append(docs, r)
		}
		b.StartTimer()
		dups, err := st.Readings().InsertMany(ctx, docs)
		if err != nil || len(dups) > 0 {
			b.Fatal(dups, err)
		}
	}
	b.StopTimer()
	reportReadingsPerSecond(b)
}

// BenchmarkReadingBatch500Replay sends a stored batch of 500 again (an
// app retrying an upload whose answer it lost): every reading comes back
// unchanged after the duplicate check against the stored ones.
func BenchmarkReadingBatch500Replay(b *testing.B) {
	st := benchStore(b)
	svc := services.NewReadings(st.Readings(), func() time.Time { return benchNow }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	in := benchInputs()
	if _, err := svc.CreateBatch(ctx, benchPatient, in); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		res, err := svc.CreateBatch(ctx, benchPatient, in)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		for i, r := range res {
			if r.Status != services.ReadingUnchanged {
				b.Fatalf("item %d: %s %v", i, r.Status, r.Err)
			}
		}
		b.StartTimer()
	}
	b.StopTimer()
	reportReadingsPerSecond(b)
}
