package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store/storetest"
)

var doseEpoch = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

func testDose(med string, day int) models.Dose {
	at := doseEpoch.AddDate(0, 0, day)
	date := at.Format(models.LocalDateLayout)
	return models.Dose{ID: models.DoseID(med, date, "08:00"), PatientID: "p1", MedicationID: med, ScheduledAt: at,
		LocalDate: date, LocalTime: "08:00", Status: models.DosePending, CreatedAt: doseEpoch, UpdatedAt: doseEpoch}
}

// TestInsertMissingDoses: a dose already stored is skipped and counted out;
// the rest are stored, whichever order they come in.
func TestInsertMissingDoses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := storetest.New(t).Doses()
	first := []models.Dose{testDose("m", 0), testDose("m", 1)}
	if n, err := d.InsertMissing(ctx, first); err != nil || n != 2 {
		t.Fatalf("first insert: %d, %v", n, err)
	}
	all := []models.Dose{testDose("m", 1), testDose("m", 2), testDose("m", 0), testDose("m", 3)}
	if n, err := d.InsertMissing(ctx, all); err != nil || n != 2 {
		t.Fatalf("second insert: %d, %v; want 2 new", n, err)
	}
	got, err := d.ListByMedication(ctx, "m", doseEpoch, doseEpoch.AddDate(0, 0, 10))
	if err != nil || len(got) != 4 {
		t.Fatalf("stored %d doses, %v; want 4", len(got), err)
	}
	if err := d.Insert(ctx, testDose("m", 0)); models.ErrorCode(err) != models.CodeConflict {
		t.Errorf("insert of a stored dose: %v, want conflict", err)
	}
}

// TestReplaceDoseExactlyOnce: 8 goroutines replace the same version of
// each of 30 doses; exactly one wins each.
func TestReplaceDoseExactlyOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := storetest.New(t).Doses()
	const doses, workers = 30, 8
	var stored []models.Dose
	for i := range doses {
		stored = append(stored, testDose("m", i))
	}
	if _, err := d.InsertMissing(ctx, stored); err != nil {
		t.Fatal(err)
	}
	var wins [doses]atomic.Int32
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i, prev := range stored {
				next := prev
				next.Status = models.DoseMissed
				next.UpdatedAt = prev.UpdatedAt.Add(time.Millisecond)
				next.History = []models.DoseEvent{{At: next.UpdatedAt, From: models.DosePending, To: models.DoseMissed, Reason: fmt.Sprint(w)}}
				ok, err := d.Replace(ctx, next, prev)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					wins[i].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for i := range doses {
		if n := wins[i].Load(); n != 1 {
			t.Errorf("dose %d replaced %d times, want exactly 1", i, n)
		}
	}
	// A pending dose that is no longer the version read is not deleted.
	if ok, err := d.DeletePending(ctx, stored[0], doseEpoch); err != nil || ok {
		t.Errorf("delete of a changed dose: %v, %v", ok, err)
	}
	// ... and leaves no tombstone.
	if ts, err := d.Deleted(ctx, stored[0].PatientID, models.ChangeKey{}, doseEpoch.AddDate(1, 0, 0), 10); err != nil || len(ts) != 0 {
		t.Errorf("tombstones after a refused delete: %v, %v", ts, err)
	}
}

// TestSwapDosePlan: the plan record is a compare-and-swap on its
// fingerprint, "" matching no record; of 8 concurrent swaps from one
// fingerprint exactly one wins.
func TestSwapDosePlan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := storetest.New(t).Doses()
	through := doseEpoch.AddDate(0, 0, 7)
	if fp, at, err := d.DosePlan(ctx, "m"); err != nil || fp != "" || !at.IsZero() {
		t.Fatalf("no plan: %q %v %v", fp, at, err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			ok, err := d.SwapDosePlan(ctx, "m", "p1", "", fmt.Sprintf("fp%d", w), through)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d first swaps won, want 1", n)
	}
	fp, at, err := d.DosePlan(ctx, "m")
	if err != nil || fp == "" || !at.Equal(through) {
		t.Fatalf("plan %q %v %v", fp, at, err)
	}
	if ok, err := d.SwapDosePlan(ctx, "m", "p1", "other", "x", through); err != nil || ok {
		t.Errorf("swap from a stale fingerprint: %v %v", ok, err)
	}
	if ok, err := d.SwapDosePlan(ctx, "m", "p1", fp, "fp-next", through.AddDate(0, 0, 1)); err != nil || !ok {
		t.Errorf("swap from the current fingerprint: %v %v", ok, err)
	}
	if err := d.InvalidateDosePlan(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	if fp, at, err := d.DosePlan(ctx, "m"); err != nil || fp != "" || !at.Equal(through.AddDate(0, 0, 1)) {
		t.Errorf("invalidated plan %q %v %v; want no fingerprint, window kept", fp, at, err)
	}
}

// TestAdjustStockConcurrently: concurrent decrements each apply once and
// never take the stock below zero; a medication without stock is left
// without.
func TestAdjustStockConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := storetest.New(t).Medications()
	med := func(id string, stock *models.Stock) models.Medication {
		return models.Medication{ID: id, PatientID: "p1", Name: "X", Schedule: models.Schedule{Times: []string{"08:00"}, StartDate: "2026-11-02"},
			Stock: stock, Status: models.MedicationActive, CreatedAt: doseEpoch, UpdatedAt: doseEpoch}
	}
	for _, x := range []models.Medication{
		med("plenty", &models.Stock{Quantity: 100, UnitsPerDose: 1}),
		med("scarce", &models.Stock{Quantity: 5, UnitsPerDose: 1}),
		med("none", nil),
	} {
		if err := m.Create(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				for _, id := range []string{"plenty", "scarce", "none"} {
					if err := m.AdjustStock(ctx, id, -1, time.Time{}); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	for _, tt := range []struct {
		id   string
		want *float64
	}{{"plenty", ptrFloat(20)}, {"scarce", ptrFloat(0)}, {"none", nil}} {
		got, err := m.Get(ctx, tt.id)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case tt.want == nil && got.Stock != nil:
			t.Errorf("%s: stock %+v appeared", tt.id, got.Stock)
		case tt.want != nil && (got.Stock == nil || got.Stock.Quantity != *tt.want):
			t.Errorf("%s: stock %+v, want %v", tt.id, got.Stock, *tt.want)
		}
	}
	if err := m.AdjustStock(ctx, "scarce", 2, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Get(ctx, "scarce"); got.Stock.Quantity != 2 {
		t.Errorf("restored stock %v, want 2", got.Stock.Quantity)
	}
}

func ptrFloat(v float64) *float64 { return &v }
