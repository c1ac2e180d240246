package services_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store/storetest"
)

// recordingObserver remembers the ids it is told about, and in how many
// calls.
type recordingObserver struct {
	mu    sync.Mutex
	ids   []string
	calls int
}

func (o *recordingObserver) ReadingsStored(_ context.Context, patient models.User, rs []models.Reading) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(rs) == 0 {
		panic("observer told about no reading")
	}
	for _, r := range rs {
		if r.PatientID != patient.ID || r.Band == "" {
			panic("observer told about a reading that is not the patient's, or not banded")
		}
		o.ids = append(o.ids, r.ID)
	}
	o.calls++
}

func (o *recordingObserver) seen() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.ids...)
}

func (o *recordingObserver) told() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls
}

func newTestReadings(t *testing.T) (*services.Readings, *recordingObserver) {
	t.Helper()
	st := storetest.New(t)
	obs := &recordingObserver{}
	svc := services.NewReadings(st.Readings(), func() time.Time { return benchNow }, slog.New(slog.NewTextHandler(io.Discard, nil)),
		obs, nil) // nil is ignored
	return svc, obs
}

func weight(id string, kg float64) models.Reading {
	return models.Reading{ID: id, Type: models.ReadingWeight, TakenAt: benchNow.Add(-time.Hour), Unit: "kg", Value: &kg}
}

// TestReadingObserver: the observer hears about each new reading once,
// never about a replay, a conflict or an invalid reading, and about a
// batch's new readings in one call.
func TestReadingObserver(t *testing.T) {
	t.Parallel()
	svc, obs := newTestReadings(t)
	ctx := context.Background()
	a, b, c := "0b5e6c1e-8d3a-4f7e-9c2a-00000000000a", "0b5e6c1e-8d3a-4f7e-9c2a-00000000000b", "0b5e6c1e-8d3a-4f7e-9c2a-00000000000c"
	if _, created, err := svc.Create(ctx, benchPatient, weight(a, 80)); err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if _, created, err := svc.Create(ctx, benchPatient, weight(a, 80)); err != nil || created {
		t.Fatalf("replay: %v %v", created, err)
	}
	if _, _, err := svc.Create(ctx, benchPatient, weight(a, 81)); models.ErrorCode(err) != models.CodeConflict {
		t.Fatalf("conflict: %v", err)
	}
	d := "0b5e6c1e-8d3a-4f7e-9c2a-00000000000d"
	res, err := svc.CreateBatch(ctx, benchPatient, []models.Reading{weight(a, 80), weight(b, 70), weight(c, 9999), weight(b, 70), weight(a, 90), weight(d, 71)})
	if err != nil {
		t.Fatal(err)
	}
	var statuses []services.ReadingStatus
	for _, r := range res {
		statuses = append(statuses, r.Status)
	}
	want := []services.ReadingStatus{services.ReadingUnchanged, services.ReadingCreated, services.ReadingInvalid, services.ReadingUnchanged,
		services.ReadingConflict, services.ReadingCreated}
	if diff := cmp.Diff(want, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{a, b, d}, obs.seen()); diff != "" {
		t.Errorf("observed (-want +got):\n%s", diff)
	}
	if n := obs.told(); n != 2 {
		t.Errorf("observer called %d times, want 2: one for the reading, one for the batch", n)
	}
}

// TestReadingCreateConcurrent: many goroutines upload the same reading at
// once (an app retrying over a flaky network): exactly one stores it, the
// others get the stored reading back.
func TestReadingCreateConcurrent(t *testing.T) {
	t.Parallel()
	svc, obs := newTestReadings(t)
	ctx := context.Background()
	const workers, readings = 8, 20
	var created, unchanged atomic.Int32
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range readings {
				id := "0b5e6c1e-8d3a-4f7e-9c2a-0000000000" + string(rune('a'+i/10)) + string(rune('0'+i%10))
				_, isNew, err := svc.Create(ctx, benchPatient, weight(id, 80))
				if err != nil {
					t.Error(err)
					return
				}
				if isNew {
					created.Add(1)
				} else {
					unchanged.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if created.Load() != readings || unchanged.Load() != (workers-1)*readings {
		t.Errorf("created %d, unchanged %d; want %d and %d", created.Load(), unchanged.Load(), readings, (workers-1)*readings)
	}
	if n := len(obs.seen()); n != readings {
		t.Errorf("observer told %d times, want %d", n, readings)
	}
	page, err := svc.List(ctx, benchPatient, services.ReadingListQuery{Limit: 200})
	if err != nil || len(page.Items) != readings {
		t.Errorf("stored %d readings (%v), want %d", len(page.Items), err, readings)
	}
}
