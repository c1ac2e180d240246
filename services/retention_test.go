package services_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/concord-health/concord/internal/graphtest"
	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/storetest"
)

// TestRetentionPurgesOnSchedule: the scheduler's retention step, on a
// settable clock, deletes logins that ended more than SessionRetention
// ago, notifications finished and due more than NotificationRetention
// ago and report share links expired more than ReportLinkRetention ago,
// and keeps everything younger, pending, or still usable; it purges
// on the first tick and then once every RetentionInterval, not on every
// tick.
func TestRetentionPurgesOnSchedule(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := context.Background()
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clk := graphtest.NewClock(start)
	day := 24 * time.Hour

	login := func(id string, created, tokenExpires time.Time, revoked *time.Time) {
		t.Helper()
		if err := st.Sessions().Create(ctx, models.Session{ID: id, UserID: "ann", CreatedAt: created}); err != nil {
			t.Fatal(err)
		}
		if err := st.Sessions().AddToken(ctx, models.RefreshToken{Hash: id + "-token", SessionID: id, UserID: "ann",
			CreatedAt: created, ExpiresAt: tokenExpires}); err != nil {
			t.Fatal(err)
		}
		if revoked != nil {
			if err := st.Sessions().Revoke(ctx, id, "logout", *revoked); err != nil {
				t.Fatal(err)
			}
		}
	}
	at := func(d time.Duration) time.Time { return start.Add(d) }
	login("expired-long-ago", at(-90*day), at(-31*day), nil)
	login("expired-lately", at(-50*day), at(-29*day), nil)
	login("revoked-long-ago", at(-40*day), at(-10*day), ptr(at(-31*day)))
	login("revoked-lately", at(-40*day), at(-10*day), ptr(at(-29*day)))
	login("in-use", at(-day), at(29*day), nil)

	notification := func(id string, due time.Time, final models.NotificationState) {
		t.Helper()
		n := models.Notification{ID: id, RecipientID: "ann", Kind: models.KindDoseReminder, Title: "Medicines", Body: "Time",
			DueAt: due, NextAttemptAt: due, State: models.NotificationPending, CreatedAt: due}
		if _, _, err := st.Notifications().Enqueue(ctx, n); err != nil {
			t.Fatal(err)
		}
		switch final {
		case models.NotificationCancelled:
			if _, err := st.Notifications().Cancel(ctx, id, "dose_logged", due); err != nil {
				t.Fatal(err)
			}
		case models.NotificationSent, models.NotificationFailed:
			claimed, err := st.Notifications().Claim(ctx, due, "lease-"+id, "test", time.Minute, store.MaxClaim)
			if err != nil || len(claimed) != 1 {
				t.Fatalf("claim %s: %d, %v", id, len(claimed), err)
			}
			claimed[0].State = final
			if err := st.Notifications().Finish(ctx, claimed[0]); err != nil {
				t.Fatal(err)
			}
			if err := st.Notifications().Release(ctx, "lease-"+id, []string{id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	notification("sent-long-ago", at(-181*day), models.NotificationSent)
	notification("failed-long-ago", at(-200*day), models.NotificationFailed)
	notification("cancelled-long-ago", at(-365*day), models.NotificationCancelled)
	notification("sent-lately", at(-179*day), models.NotificationSent)
	notification("pending-long-ago", at(-400*day), models.NotificationPending)

	for _, l := range []struct {
		id      string
		expires time.Time
	}{{"link-expired-long-ago", at(-31 * day)}, {"link-expired-lately", at(-29 * day)}, {"link-live", at(5 * day)}} {
		if err := st.ReportLinks().Create(ctx, models.ReportLink{TokenHash: l.id + "-hash", ID: l.id, PatientID: "ann", Days: 28,
			CreatedAt: l.expires.Add(-14 * day), ExpiresAt: l.expires}); err != nil {
			t.Fatal(err)
		}
	}

	// The graph run() builds, with a scheduler of its retention step alone.
	g := graphtest.New(t, st, clk, quietLog(), nil, graphtest.Options{})
	scheduler := services.NewScheduler(time.Minute, "test-instance", services.NewSchedulerMetrics(prometheus.NewRegistry()), clk.Now, quietLog(),
		g.Retention.Step())
	tick := func() {
		t.Helper()
		if err := scheduler.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sessionKept := func(id string) bool {
		t.Helper()
		_, err := st.Sessions().Get(ctx, id)
		if err != nil && !models.IsCode(err, models.CodeNotFound) {
			t.Fatal(err)
		}
		_, terr := st.Sessions().Token(ctx, id+"-token")
		if (err == nil) != (terr == nil) {
			t.Errorf("session %s: %v, its token: %v; want both or neither", id, err, terr)
		}
		return err == nil
	}
	notificationKept := func(id string) bool {
		t.Helper()
		_, err := st.Notifications().Get(ctx, id)
		if err != nil && !models.IsCode(err, models.CodeNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	check := func(when string, sessions, notifications map[string]bool) {
		t.Helper()
		for id, want := range sessions {
			if got := sessionKept(id); got != want {
				t.Errorf("%s: session %s kept=%v, want %v", when, id, got, want)
			}
		}
		for id, want := range notifications {
			if got := notificationKept(id); got != want {
				t.Errorf("%s: notification %s kept=%v, want %v", when, id, got, want)
			}
		}
	}

	tick()
	check("first tick",
		map[string]bool{"expired-long-ago": false, "expired-lately": true, "revoked-long-ago": false, "revoked-lately": true, "in-use": true},
		map[string]bool{"sent-long-ago": false, "failed-long-ago": false, "cancelled-long-ago": false, "sent-lately": true, "pending-long-ago": true})
	if _, err := st.Notifications().Queued(ctx, "pending-long-ago"); err != nil {
		t.Errorf("the old pending notification left the outbox: %v", err)
	}
	for id, want := range map[string]bool{"link-expired-long-ago": false, "link-expired-lately": true, "link-live": true} {
		_, err := st.ReportLinks().ByTokenHash(ctx, id+"-hash")
		if err != nil && !models.IsCode(err, models.CodeNotFound) {
			t.Fatal(err)
		}
		if got := err == nil; got != want {
			t.Errorf("first tick: report link %s kept=%v, want %v", id, got, want)
		}
	}

	// A login revoked long ago, recorded after the first tick (as by an
	// import), waits for the step's next hour: it does not purge on every
	// tick.
	login("revoked-imported", at(-60*day), at(-40*day), ptr(at(-40*day)))
	clk.Advance(services.RetentionInterval - time.Minute)
	tick()
	check("a tick within the hour", map[string]bool{"revoked-imported": true}, nil)
	clk.Advance(time.Minute)
	tick()
	check("the tick an hour on", map[string]bool{"revoked-imported": false, "expired-lately": true, "revoked-lately": true}, nil)

	// Two days on, what ended lately is old enough too.
	clk.Advance(2 * day)
	tick()
	check("two days on",
		map[string]bool{"expired-lately": false, "revoked-lately": false, "in-use": true},
		map[string]bool{"sent-lately": false, "pending-long-ago": true})
}
