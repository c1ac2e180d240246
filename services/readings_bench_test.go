package services_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

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

// benchStore opens a store on a fresh database of the test server, with
// indexes, and returns it with the server's address and the database name.
func benchStore(b *testing.B) (*store.Store, string, string, bool) {
	b.Helper()
	uri, serialised := storetest.URI(b)
	name := storetest.DatabaseName()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{URI: uri, Database: name, Serialised: serialised})
	if err != nil {
		b.Fatal(err)
	}
	if err := st.EnsureIndexes(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = st.Drop(context.Background())
		_ = st.Close(context.Background())
	})
	return st, uri, name, serialised
}

func reportReadingsPerSecond(b *testing.B) {
	b.ReportMetric(float64(benchBatch*b.N)/b.Elapsed().Seconds(), "readings/s")
}

// BenchmarkReadingBatch500 uploads batches of 500 new readings through the
// readings service: validation, unit conversion, banding and the store's
// unordered insert with duplicate detection.
func BenchmarkReadingBatch500(b *testing.B) {
	st, _, _, _ := benchStore(b)
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

// BenchmarkRawInsertMany500 inserts the same documents (normalised and
// banded beforehand, as the service stores them) with one raw driver
// InsertMany per batch, unordered like the store's, over a connection
// configured as the store's (one connection to the embedded server), into
// a collection with the same indexes.
func BenchmarkRawInsertMany500(b *testing.B) {
	_, uri, name, serialised := benchStore(b)
	co := options.Client().ApplyURI(uri)
	if serialised {
		co.SetMaxPoolSize(1)
	}
	client, err := mongo.Connect(co)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	coll := client.Database(name).Collection("readings")
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
		res, err := coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if len(res.InsertedIDs) != benchBatch {
			b.Fatalf("inserted %d", len(res.InsertedIDs))
		}
		b.StartTimer()
	}
	b.StopTimer()
	reportReadingsPerSecond(b)
}

// BenchmarkReadingBatch500Replay sends a stored batch of 500 again (an
// app retrying an upload whose answer it lost): every reading comes back
// unchanged after the duplicate check against the stored ones.
func BenchmarkReadingBatch500Replay(b *testing.B) {
	st, _, _, _ := benchStore(b)
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
