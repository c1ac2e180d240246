package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/storetest"
)

// purgeAll calls purge until it deletes nothing and returns the total, or
// fails the test if a call deletes more than most.
func purgeAll(t *testing.T, most int, purge func() (int, error)) int {
	t.Helper()
	total := 0
	for range 100 {
		n, err := purge()
		if err != nil {
			t.Fatal(err)
		}
		if n > most {
			t.Fatalf("one call deleted %d, more than %d", n, most)
		}
		if n == 0 {
			return total
		}
		total += n
	}
	t.Fatal("the purge never finished")
	return 0
}

// TestPurgeEndedSessions: tokens that expired before the cut-off go, and
// sessions revoked before it or left without a token go with theirs; a
// standing session keeps its unexpired tokens, spent or not (reuse
// detection), and every token and session of a login that ended after the
// cut-off stays. A small limit only makes more calls.
func TestPurgeEndedSessions(t *testing.T) {
	t.Parallel()
	s := storetest.New(t).Sessions()
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	before := now.Add(-30 * day)
	type token struct {
		hash    string
		expires time.Duration // from now
		spent   bool
	}
	logins := []struct {
		id      string
		created time.Duration // from now
		revoked *time.Duration
		tokens  []token
	}{
		// Standing, in use: an old spent token goes, the live one stays.
		{"in-use", -100 * day, nil, []token{{"in-use-old", -40 * day, true}, {"in-use-live", 10 * day, true}}},
		// Standing, unused for two months: every token expired over 30
		// days ago, so it goes whole.
		{"idle", -100 * day, nil, []token{{"idle-1", -35 * day, true}, {"idle-2", -31 * day, false}}},
		// Standing, its last token expired 20 days ago: kept a while yet.
		{"lapsed", -50 * day, nil, []token{{"lapsed-1", -20 * day, true}}},
		// Revoked 31 days ago: goes with its token.
		{"logged-out", -60 * day, ptr(-31 * day), []token{{"logged-out-1", -1 * day, false}}},
		// Revoked 29 days ago: stays, with its token.
		{"recent-logout", -40 * day, ptr(-29 * day), []token{{"recent-logout-1", 1 * day, false}}},
	}
	for _, l := range logins {
		sess := models.Session{ID: l.id, UserID: "u1", CreatedAt: now.Add(l.created)}
		if err := s.Create(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if l.revoked != nil {
			if err := s.Revoke(ctx, l.id, "logout", now.Add(*l.revoked)); err != nil {
				t.Fatal(err)
			}
		}
		for _, tk := range l.tokens {
			expires := now.Add(tk.expires)
			if err := s.AddToken(ctx, models.RefreshToken{Hash: tk.hash, SessionID: l.id, UserID: "u1",
				CreatedAt: expires.Add(-30 * day), ExpiresAt: expires}); err != nil {
				t.Fatal(err)
			}
			if tk.spent {
				if _, err := s.SpendToken(ctx, tk.hash, expires.Add(-29*day)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	const limit = 1
	if got := purgeAll(t, 4*limit, func() (int, error) { return s.PurgeEnded(ctx, before, limit) }); got != 6 {
		t.Errorf("deleted %d sessions and tokens, want 6", got)
	}
	var sessionsLeft, tokensLeft []string
	for _, l := range logins {
		if _, err := s.Get(ctx, l.id); err == nil {
			sessionsLeft = append(sessionsLeft, l.id)
		} else if !models.IsCode(err, models.CodeNotFound) {
			t.Fatal(err)
		}
		for _, tk := range l.tokens {
			if _, err := s.Token(ctx, tk.hash); err == nil {
				tokensLeft = append(tokensLeft, tk.hash)
			} else if !models.IsCode(err, models.CodeNotFound) {
				t.Fatal(err)
			}
		}
	}
	if diff := cmp.Diff([]string{"in-use", "lapsed", "recent-logout"}, sessionsLeft); diff != "" {
		t.Errorf("sessions left (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"in-use-live", "lapsed-1", "recent-logout-1"}, tokensLeft); diff != "" {
		t.Errorf("refresh tokens left (-want +got):\n%s", diff)
	}
	// The spent live token still tells a replay apart.
	if tk, err := s.Token(ctx, "in-use-live"); err != nil || tk.SpentAt == nil {
		t.Errorf("the spent live token: %+v, %v", tk, err)
	}
}

// TestPurgeFinishedNotifications: sent, failed and cancelled
// notifications due before the cut-off go, with any outbox entry left of
// them, oldest first and at most limit a call; pending ones stay however
// old, and so do newer finished ones.
func TestPurgeFinishedNotifications(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	s := st.Notifications()
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	before := now.Add(-180 * day)
	enqueue := func(id string, due time.Duration) {
		t.Helper()
		if _, _, err := s.Enqueue(ctx, pendingNotification(id, now.Add(due))); err != nil {
			t.Fatal(err)
		}
	}
	// Delivered: sent (an entry left behind by a delivery that stopped
	// before releasing it: it goes too), failed, and sent recently.
	enqueue("sent-old", -200*day)
	enqueue("failed-old", -181*day)
	enqueue("sent-unreleased", -183*day)
	enqueue("sent-recent", -10*day)
	claimed, err := s.Claim(ctx, now, "lease", "test", time.Minute, store.MaxClaim)
	if err != nil || len(claimed) != 4 {
		t.Fatalf("claim: %d, %v", len(claimed), err)
	}
	for _, n := range claimed {
		n.State = models.NotificationSent
		if n.ID == "failed-old" {
			n.State = models.NotificationFailed
		}
		if err := s.Finish(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Release(ctx, "lease", []string{"sent-old", "failed-old", "sent-recent"}); err != nil {
		t.Fatal(err)
	}
	enqueue("cancelled-old", -190*day)
	if ok, err := s.Cancel(ctx, "cancelled-old", "dose_logged", now.Add(-190*day)); err != nil || !ok {
		t.Fatalf("cancel: %v %v", ok, err)
	}
	enqueue("pending-ancient", -365*day)

	const limit = 2
	if got := purgeAll(t, limit, func() (int, error) { return s.PurgeFinished(ctx, before, limit) }); got != 4 {
		t.Errorf("purged %d, want 4", got)
	}
	for _, c := range []struct {
		id         string
		kept, held bool
	}{
		{"sent-old", false, false}, {"failed-old", false, false}, {"sent-unreleased", false, false}, {"cancelled-old", false, false},
		{"sent-recent", true, false}, {"pending-ancient", true, true},
	} {
		if _, err := s.Get(ctx, c.id); (err == nil) != c.kept || (err != nil && !models.IsCode(err, models.CodeNotFound)) {
			t.Errorf("%s: record %v, want kept=%v", c.id, err, c.kept)
		}
		if _, err := s.Queued(ctx, c.id); (err == nil) != c.held || (err != nil && !models.IsCode(err, models.CodeNotFound)) {
			t.Errorf("%s: outbox entry %v, want queued=%v", c.id, err, c.held)
		}
	}
}

func ptr[T any](v T) *T { return &v }
