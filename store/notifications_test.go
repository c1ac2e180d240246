package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/storetest"
)

func pendingNotification(id string, due time.Time) models.Notification {
	return models.Notification{ID: id, RecipientID: "u1", Kind: models.KindDoseReminder, Title: "Medicines", Body: "Time",
		DueAt: due, NextAttemptAt: due, State: models.NotificationPending, CreatedAt: due}
}

// TestClaimExactlyOnceConcurrently: eight claimers race over the same due
// notifications, and again once their leases have expired; each round,
// every notification is claimed by exactly one of them.
func TestClaimExactlyOnceConcurrently(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	const total, claimers = 300, 8
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for i := range total {
		if _, _, err := s.Notifications().Enqueue(ctx, pendingNotification(fmt.Sprintf("n:%03d", i), now.Add(-time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	round := func(at time.Time, name string) map[string]int {
		var mu sync.Mutex
		wins := map[string]int{}
		var wg sync.WaitGroup
		for c := range claimers {
			wg.Go(func() {
				for i := 0; ; i++ {
					got, err := s.Notifications().Claim(ctx, at, fmt.Sprintf("%s/%d/%d", name, c, i), "claimer", time.Minute, 25)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, n := range got {
						wins[n.ID]++
						// No other claim can take it while its lease stands (the round's time).
						e, err := s.Notifications().Queued(ctx, n.ID)
						if err != nil || e.LeaseID != fmt.Sprintf("%s/%d/%d", name, c, i) || n.State != models.NotificationPending || n.Title != "Medicines" {
							t.Errorf("claimed %s: lease %q (%v) state %q title %q", n.ID, e.LeaseID, err, n.State, n.Title)
						}
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return wins
	}
	want := map[string]int{}
	for i := range total {
		want[fmt.Sprintf("n:%03d", i)] = 1
	}
	if diff := cmp.Diff(want, round(now, "first")); diff != "" {
		t.Errorf("first round: claims per notification (-want +got):\n%s", diff)
	}
	// While the leases stand nothing is claimable.
	if got, err := s.Notifications().Claim(ctx, now.Add(59*time.Second), "early", "x", time.Minute, 500); err != nil || len(got) != 0 {
		t.Errorf("claim under live leases: %d, %v", len(got), err)
	}
	// The claimers "crashed": their leases expire and the work is taken over.
	if diff := cmp.Diff(want, round(now.Add(2*time.Minute), "takeover")); diff != "" {
		t.Errorf("takeover round: claims per notification (-want +got):\n%s", diff)
	}
	q, err := s.Notifications().Queued(ctx, "n:000")
	if err != nil || q.Attempts != 2 || q.State != models.NotificationSending {
		t.Errorf("after two claims: %+v %v", q, err)
	}
}

func TestClaimTakesOnlyDueWork(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for _, n := range []models.Notification{
		pendingNotification("due", now),
		pendingNotification("later", now.Add(time.Second)),
	} {
		if _, _, err := s.Notifications().Enqueue(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Notifications().Claim(ctx, now, "l1", "a", time.Minute, store.MaxClaim)
	if err != nil || len(got) != 1 || got[0].ID != "due" {
		t.Fatalf("claim: %+v %v", got, err)
	}
	// Put back for later by its holder; another lease changes nothing.
	if n, err := s.Notifications().Reschedule(ctx, "other", []string{"due"}, now.Add(time.Hour), 0, ""); err != nil || n != 0 {
		t.Errorf("reschedule under another lease: %d %v", n, err)
	}
	if n, err := s.Notifications().Reschedule(ctx, "l1", []string{"due"}, now.Add(time.Hour), 0, "retry: unavailable"); err != nil || n != 1 {
		t.Errorf("reschedule: %d %v", n, err)
	}
	q, err := s.Notifications().Queued(ctx, "due")
	if err != nil || q.State != models.NotificationPending || q.LeaseID != "" || q.LeaseUntil != nil || !q.NextAttemptAt.Equal(now.Add(time.Hour)) || q.LastError != "retry: unavailable" {
		t.Errorf("rescheduled entry: %+v %v", q, err)
	}
	got, err = s.Notifications().Claim(ctx, now.Add(time.Minute), "l2", "a", time.Minute, store.MaxClaim)
	if err != nil || len(got) != 1 || got[0].ID != "later" {
		t.Errorf("second claim: %+v %v", got, err)
	}
	// Release under another lease leaves the entry; under its own removes it.
	if err := s.Notifications().Release(ctx, "l1", []string{"later"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Notifications().Queued(ctx, "later"); err != nil {
		t.Errorf("released under another lease: %v", err)
	}
	if err := s.Notifications().Release(ctx, "l2", []string{"later"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Notifications().Queued(ctx, "later"); !models.IsCode(err, models.CodeNotFound) {
		t.Errorf("released: %v, want not_found", err)
	}
}

func TestMarkReadKeepsFirstTime(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	if _, _, err := s.Notifications().Enqueue(ctx, pendingNotification("n", now)); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{now.Add(time.Minute), now.Add(2 * time.Minute)} {
		if err := s.Notifications().MarkRead(ctx, "n", at); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.Notifications().Get(ctx, "n")
	if err != nil || n.ReadAt == nil || !n.ReadAt.Equal(now.Add(time.Minute)) {
		t.Errorf("readAt %v, %v; want the first read", n.ReadAt, err)
	}
	if err := s.Notifications().MarkRead(ctx, "missing", now); !models.IsCode(err, models.CodeNotFound) {
		t.Errorf("missing: %v, want not_found", err)
	}
}
