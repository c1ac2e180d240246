package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
)

// liteEndlessRead is a read that runs until its context ends.
const liteEndlessRead = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c`

// TestReadsBesideHeldWriter: with the writer held inside a transaction and
// a slow read running on another reader connection, other reads still
// return their records: reads wait for neither.
func TestReadsBesideHeldWriter(t *testing.T) {
	t.Parallel()
	bg := context.Background()
	s := liteOpen(t, Options{Readers: 3})
	user := models.User{ID: "p1", Email: "p1@example.org", Name: "Pat", Role: models.RolePatient, Timezone: "Europe/London",
		CreatedAt: liteEpoch, UpdatedAt: liteEpoch, PasswordChangedAt: liteEpoch}
	if err := s.Users().Create(bg, user); err != nil {
		t.Fatal(err)
	}
	var readings []models.Reading
	for n := range 5 {
		readings = append(readings, liteReading("p1", n))
	}
	if _, err := s.Readings().InsertMany(bg, readings); err != nil {
		t.Fatal(err)
	}

	release := liteHoldWriter(t, s)
	slowCtx, stopSlow := context.WithCancel(bg)
	slowDone := make(chan error, 1)
	go func() {
		var n int64
		slowDone <- s.r.QueryRowContext(slowCtx, liteEndlessRead).Scan(&n)
	}()
	// Generous: a read that waits for the writer or the slow read fails
	// at the deadline instead of hanging the test.
	ctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	for s.r.Stats().InUse == 0 { // until the slow read has its connection
		select {
		case err := <-slowDone:
			t.Fatalf("the endless read ended: %v", err)
		case <-ctx.Done():
			t.Fatal("the endless read never started")
		case <-time.After(time.Millisecond):
		}
	}

	gotUser, err := s.Users().Get(ctx, user.ID)
	if err != nil {
		t.Errorf("Users.Get beside the held writer and the slow read: %v", err)
	} else if diff := cmp.Diff(user, gotUser); diff != "" {
		t.Errorf("user (-want +got):\n%s", diff)
	}
	page, err := s.Readings().List(ctx, models.ReadingQuery{PatientID: "p1", Limit: 3})
	if err != nil {
		t.Errorf("Readings.List beside the held writer and the slow read: %v", err)
	} else if diff := cmp.Diff([]models.Reading{readings[4], readings[3], readings[2]}, page); diff != "" {
		t.Errorf("newest readings (-want +got):\n%s", diff)
	}

	select {
	case err := <-slowDone:
		t.Errorf("the endless read ended before it was stopped (%v): the reads above did not run beside it", err)
	default:
	}
	stopSlow()
	if err := <-slowDone; err == nil {
		t.Error("the endless read returned a count")
	}
	if err := release(); err != nil {
		t.Fatalf("the holding transaction: %v", err)
	}
}
