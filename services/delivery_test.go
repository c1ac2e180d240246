package services_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/push/fcmfake"
	"github.com/concord-health/concord/services"
)

func TestEnqueueTwiceIsOneNotification(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t)
	ctx := context.Background()
	e.user(t, "u1", "Europe/London", models.Preferences{})
	e.device(t, "u1", "token-of-u1-0123456789")

	n := reminder("dose_reminder:med1:2026-11-24T09:00", "u1", pushStart)
	first, created, err := e.notes.Enqueue(ctx, n)
	if err != nil || !created {
		t.Fatalf("first enqueue: created=%v err=%v", created, err)
	}
	again := n
	again.Body = "other text"
	second, created, err := e.notes.Enqueue(ctx, again)
	if err != nil || created {
		t.Fatalf("second enqueue: created=%v err=%v", created, err)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("second enqueue returned another notification (-first +second):\n%s", diff)
	}

	if st := e.tick(t); st.Sent != 1 {
		t.Errorf("tick: %+v, want 1 sent", st)
	}
	// Enqueued again on later ticks, after delivery: still one push.
	for range 3 {
		if _, created, err := e.notes.Enqueue(ctx, n); err != nil || created {
			t.Fatalf("enqueue after delivery: created=%v err=%v", created, err)
		}
		e.clock.Advance(time.Minute)
		e.tick(t)
	}
	if diff := cmp.Diff(map[string]int{n.ID: 1}, deliveredIDs(e.fake)); diff != "" {
		t.Errorf("pushes per notification (-want +got):\n%s", diff)
	}
	if got := e.record(t, n.ID); got.State != models.NotificationSent || got.Body != n.Body || got.SentAt == nil {
		t.Errorf("record: state %s body %q sentAt %v", got.State, got.Body, got.SentAt)
	}
	if _, ok := e.queued(t, n.ID); ok {
		t.Error("a sent notification is still in the outbox")
	}
	if got := e.metric(t, "concord_notifications_queued_total", "kind", "dose_reminder"); got != 1 {
		t.Errorf("queued metric = %v, want 1", got)
	}
	if got := e.metric(t, "concord_notifications_sent_total", "kind", "dose_reminder"); got != 1 {
		t.Errorf("sent metric = %v, want 1", got)
	}
	if got := e.metric(t, "concord_notification_delivery_lag_seconds"); got != 1 {
		t.Errorf("lag observations = %v, want 1", got)
	}
}

func TestEnqueueValidates(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t)
	tests := []struct {
		name  string
		n     models.Notification
		field string
	}{
		{"no id", models.Notification{RecipientID: "u", Kind: models.KindDoseReminder, Title: "t", DueAt: pushStart}, "id"},
		{"slash in id", models.Notification{ID: "a/b", RecipientID: "u", Kind: models.KindDoseReminder, Title: "t", DueAt: pushStart}, "id"},
		{"no recipient", models.Notification{ID: "a", Kind: models.KindDoseReminder, Title: "t", DueAt: pushStart}, "recipientId"},
		{"bad kind", models.Notification{ID: "a", RecipientID: "u", Kind: "gossip", Title: "t", DueAt: pushStart}, "kind"},
		{"no text", models.Notification{ID: "a", RecipientID: "u", Kind: models.KindDoseReminder, DueAt: pushStart}, "title"},
		{"no due time", models.Notification{ID: "a", RecipientID: "u", Kind: models.KindDoseReminder, Title: "t"}, "dueAt"},
		{"reserved data", models.Notification{ID: "a", RecipientID: "u", Kind: models.KindDoseReminder, Title: "t", DueAt: pushStart,
			Data: map[string]string{"notificationId": "x"}}, "data.notificationId"},
		{"expiry before due", models.Notification{ID: "a", RecipientID: "u", Kind: models.KindDoseReminder, Title: "t", DueAt: pushStart,
			ExpiresAt: &pushStart}, "expiresAt"},
	}
	for _, tc := range tests {
		_, _, err := e.notes.Enqueue(context.Background(), tc.n)
		if !models.IsCode(err, models.CodeInvalid) || !hasField(err, tc.field) {
			t.Errorf("%s: got %v, want invalid naming %s", tc.name, err, tc.field)
		}
	}
}

// TestTwoInstancesDeliverEachExactlyOnce: two delivery instances sharing
// one database race over 2,000 due notifications; each is pushed exactly
// once and recorded sent.
func TestTwoInstancesDeliverEachExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 notifications")
	}
	t.Parallel()
	const users, perUser = 100, 20
	small := func(c *services.DeliveryConfig) { c.BatchSize = 250 }
	setupStart := time.Now()
	e := newPushEnv(t, small)
	ctx := context.Background()
	for u := range users {
		id := fmt.Sprintf("u%03d", u)
		e.user(t, id, "Europe/London", models.Preferences{})
		e.device(t, id, "token-"+id+"-0123456789")
	}
	var ids []string
	for i := range users * perUser {
		n := reminder(fmt.Sprintf("dose_reminder:m%04d", i), fmt.Sprintf("u%03d", i%users), pushStart.Add(-time.Duration(i)*time.Second))
		e.enqueue(t, n)
		ids = append(ids, n.ID)
	}

	enqueued := time.Now()
	t.Logf("set-up took %v", enqueued.Sub(setupStart))

	// Each instance ticks until every notification has been claimed (a
	// tick may claim nothing while the other holds the due work).
	instances := []*services.Delivery{e.delivery, e.instance("instance-b", e.fcm, small)}
	stats := make([]services.DeliveryStats, len(instances))
	var claimed, busy atomic.Int64
	var wg sync.WaitGroup
	for i, d := range instances {
		wg.Go(func() {
			for claimed.Load() < int64(len(ids)) && time.Since(enqueued) < 5*time.Minute {
				st, err := d.Tick(ctx)
				stats[i].Add(st)
				claimed.Add(int64(st.Claimed))
				// A database too busy to answer (the stand-in's connection
				// pool timing out on a loaded machine) fails a tick; the
				// scheduler retries on its next tick, and so does this
				// loop. Exactly-once is asserted below either way.
				if models.IsCode(err, models.CodeUnavailable) && busy.Add(1) <= 20 {
					t.Logf("tick: %v (retried)", err)
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	t.Logf("delivery took %v", time.Since(enqueued))
	for _, d := range instances {
		if st, err := d.Tick(ctx); err != nil || st.Claimed != 0 {
			t.Errorf("tick after all were delivered: %+v %v", st, err)
		}
	}

	got := deliveredIDs(e.fake)
	want := map[string]int{}
	for _, id := range ids {
		want[id] = 1
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pushes per notification (-want +got):\n%s", diff)
	}
	perToken := map[string]int{}
	for _, m := range e.fake.Delivered() {
		perToken[m.Token]++
	}
	for tok, n := range perToken {
		if n != perUser {
			t.Errorf("token %s got %d pushes, want %d", tok, n, perUser)
		}
	}
	if total := stats[0].Sent + stats[1].Sent; total != len(ids) || stats[0].Claimed+stats[1].Claimed != len(ids) {
		t.Errorf("stats %+v %+v: want %d claimed and sent in all", stats[0], stats[1], len(ids))
	}
	t.Logf("instance a claimed %d, instance b claimed %d", stats[0].Claimed, stats[1].Claimed)
	for _, id := range ids {
		if r := e.record(t, id); r.State != models.NotificationSent || r.Attempts != 1 {
			t.Fatalf("%s: state %q attempts %d, want sent at the first attempt", id, r.State, r.Attempts)
		}
	}
}

// TestLeaseExpiryAfterCrash: an instance claims work and stops; live
// instances leave it alone while the lease stands and deliver it, once,
// when it expires. Work whose record the crashed instance had already
// finished is not pushed again.
func TestLeaseExpiryAfterCrash(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t)
	ctx := context.Background()
	e.user(t, "u1", "Europe/London", models.Preferences{})
	e.device(t, "u1", "token-of-u1-0123456789")
	var ids []string
	for i := range 10 {
		ids = append(ids, e.enqueue(t, reminder(fmt.Sprintf("dose_reminder:c%d", i), "u1", pushStart)).ID)
	}

	// The crashed instance: claims everything, pushes nothing, records one
	// as sent (it stopped between the record and the outbox release).
	lease := services.DefaultDeliveryConfig("").Lease
	claimed, err := e.st.Notifications().Claim(ctx, e.clock.Now(), "crashed/1", "crashed", lease, 500)
	if err != nil || len(claimed) != 10 {
		t.Fatalf("crashed claim: %d, %v", len(claimed), err)
	}
	done := claimed[0]
	done.State, done.Attempts = models.NotificationSent, 1
	if err := e.st.Notifications().Finish(ctx, done); err != nil {
		t.Fatal(err)
	}

	b := e.instance("instance-b", e.fcm)
	e.clock.Advance(lease - time.Second)
	for _, d := range []*services.Delivery{e.delivery, b} {
		if st, err := d.Tick(ctx); err != nil || st.Claimed != 0 {
			t.Fatalf("tick while the lease stands: %+v %v", st, err)
		}
	}
	if n := e.fake.Count(); n != 0 {
		t.Fatalf("%d pushes while the crashed instance's lease stands", n)
	}

	e.clock.Advance(2 * time.Second)
	var wg sync.WaitGroup
	for _, d := range []*services.Delivery{e.delivery, b} {
		wg.Go(func() {
			if _, err := d.Tick(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	e.clock.Advance(time.Hour)
	for _, d := range []*services.Delivery{e.delivery, b} {
		if st, err := d.Tick(ctx); err != nil || st.Claimed != 0 {
			t.Errorf("later tick: %+v %v", st, err)
		}
	}

	want := map[string]int{}
	for _, id := range ids[1:] {
		want[id] = 1
	}
	if diff := cmp.Diff(want, deliveredIDs(e.fake)); diff != "" {
		t.Errorf("pushes per notification (-want +got):\n%s", diff)
	}
	for _, id := range ids {
		r := e.record(t, id)
		if r.State != models.NotificationSent {
			t.Errorf("%s: state %s", id, r.State)
		}
		if id != done.ID && r.Attempts != 2 {
			t.Errorf("%s: attempts %d, want 2 (the crashed claim and the takeover)", id, r.Attempts)
		}
		if _, ok := e.queued(t, id); ok {
			t.Errorf("%s is still in the outbox", id)
		}
	}
}

func TestTokenPruning(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t)
	ctx := context.Background()
	e.user(t, "u1", "Europe/London", models.Preferences{})
	e.user(t, "u2", "Europe/London", models.Preferences{})
	ok := e.device(t, "u1", "live-token-0123456789")
	dead := e.device(t, "u1", "dead-token-0123456789")
	bad := e.device(t, "u1", "bad-token-0123456789")
	e.device(t, "u2", "gone-token-0123456789")
	e.fake.Unregister("dead-token-0123456789", "gone-token-0123456789")
	e.fake.SetBehavior("bad-token-0123456789", fcmfake.Behavior{Fail: fcmfake.InvalidArgument})

	n1 := e.enqueue(t, reminder("dose_reminder:p1", "u1", pushStart))
	n2 := e.enqueue(t, reminder("dose_reminder:p2", "u2", pushStart))
	st := e.tick(t)
	if st.Sent != 1 || st.InboxOnly != 1 || st.Pruned != 3 {
		t.Errorf("stats %+v: want 1 sent, 1 inbox only, 3 pruned", st)
	}

	left, err := e.devices.List(ctx, models.Principal{UserID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].ID != ok.ID {
		t.Errorf("u1's devices after pruning: %+v, want only the live one", left)
	}
	if left, _ := e.devices.List(ctx, models.Principal{UserID: "u2"}); len(left) != 0 {
		t.Errorf("u2's devices after pruning: %+v, want none", left)
	}

	r1 := e.record(t, n1.ID)
	outcomes := map[string]models.DeliveryOutcome{}
	for _, d := range r1.Deliveries {
		outcomes[d.DeviceID] = d.Outcome
		if d.TokenHint == "" || strings.Contains(d.TokenHint, "0123456789") {
			t.Errorf("delivery token hint %q", d.TokenHint)
		}
	}
	want := map[string]models.DeliveryOutcome{ok.ID: models.DeliverySent, dead.ID: models.DeliveryUnregistered, bad.ID: models.DeliveryInvalid}
	if diff := cmp.Diff(want, outcomes); diff != "" {
		t.Errorf("u1's deliveries (-want +got):\n%s", diff)
	}
	if r1.State != models.NotificationSent {
		t.Errorf("n1 state %s", r1.State)
	}
	// Every token of u2 was dead: delivered to the inbox only.
	if r2 := e.record(t, n2.ID); r2.State != models.NotificationSent || len(r2.Deliveries) != 1 {
		t.Errorf("n2: state %s, deliveries %+v", r2.State, r2.Deliveries)
	}
	if got := e.metric(t, "concord_push_tokens_pruned_total"); got != 3 {
		t.Errorf("pruned metric = %v, want 3", got)
	}
	logs := e.logs.String()
	for _, tok := range []string{"live-token-0123456789", "dead-token-0123456789", "bad-token-0123456789", "gone-token-0123456789"} {
		if strings.Contains(logs, tok) {
			t.Errorf("the log holds the whole token %s", tok)
		}
	}
	if !strings.Contains(logs, "push token pruned") {
		t.Error("pruning was not logged")
	}
}

func TestQuotaExceededHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t, func(c *services.DeliveryConfig) { c.RetryBase = time.Second })
	e.user(t, "u1", "Europe/London", models.Preferences{})
	e.device(t, "u1", "quota-token-0123456789")
	e.fake.SetBehavior("quota-token-0123456789", fcmfake.Behavior{Fail: fcmfake.QuotaExceeded, Times: 1, RetryAfter: 30 * time.Second})
	n := e.enqueue(t, reminder("dose_reminder:q", "u1", pushStart))

	if st := e.tick(t); st.Retried != 1 {
		t.Fatalf("first tick: %+v, want 1 retried", st)
	}
	q, ok := e.queued(t, n.ID)
	if !ok {
		t.Fatal("not queued for retry")
	}
	if wait := q.NextAttemptAt.Sub(e.clock.Now()); wait < 30*time.Second {
		t.Errorf("next attempt in %v, want at least FCM's Retry-After of 30s", wait)
	}
	if q.State != models.NotificationPending || q.Attempts != 1 || q.LeaseID != "" || !strings.Contains(q.LastError, "retry") {
		t.Errorf("queued entry: state %s attempts %d lease %q lastError %q", q.State, q.Attempts, q.LeaseID, q.LastError)
	}
	e.clock.Advance(29 * time.Second)
	if st := e.tick(t); st.Claimed != 0 {
		t.Errorf("tick before Retry-After: %+v", st)
	}
	e.clock.Set(q.NextAttemptAt)
	if st := e.tick(t); st.Sent != 1 {
		t.Errorf("tick after Retry-After: %+v, want 1 sent", st)
	}
	if got := len(e.fake.MessagesFor("quota-token-0123456789")); got != 2 {
		t.Errorf("%d messages, want 2 (one refused, one delivered)", got)
	}
	if r := e.record(t, n.ID); r.State != models.NotificationSent || r.Attempts != 2 {
		t.Errorf("record: state %s attempts %d", r.State, r.Attempts)
	}
}

func TestUnavailableBacksOffExponentially(t *testing.T) {
	t.Parallel()
	const base = 10 * time.Second
	e := newPushEnv(t, func(c *services.DeliveryConfig) {
		c.RetryBase, c.MaxAttempts = base, 10
		c.SendTimeout = 300 * time.Millisecond // cuts the SDK's own 503 retries short
	})
	e.user(t, "u1", "Europe/London", models.Preferences{})
	e.device(t, "u1", "down-token-0123456789")
	e.fake.SetBehavior("down-token-0123456789", fcmfake.Behavior{Fail: fcmfake.Unavailable})
	n := e.enqueue(t, reminder("dose_reminder:u", "u1", pushStart))

	var waits []time.Duration
	for attempt := 1; attempt <= 4; attempt++ {
		if st := e.tick(t); st.Retried != 1 {
			t.Fatalf("attempt %d: %+v, want 1 retried", attempt, st)
		}
		q, ok := e.queued(t, n.ID)
		if !ok {
			t.Fatalf("attempt %d: not queued", attempt)
		}
		wait := q.NextAttemptAt.Sub(e.clock.Now())
		full := base << (attempt - 1)
		if wait < full/2 || wait > full {
			t.Errorf("attempt %d: wait %v, want between %v and %v", attempt, wait, full/2, full)
		}
		waits = append(waits, wait)
		e.clock.Set(q.NextAttemptAt)
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] < waits[i-1] {
			t.Errorf("backoff shrank: %v", waits)
		}
	}
	if waits[len(waits)-1] <= waits[0] {
		t.Errorf("backoff did not grow: %v", waits)
	}
	if len(e.fake.Delivered()) != 0 {
		t.Error("delivered during an outage")
	}
}

func TestMaxAttemptsFails(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t, func(c *services.DeliveryConfig) {
		c.MaxAttempts, c.RetryBase, c.RetryMax = 3, time.Second, 2*time.Second
	})
	e.user(t, "u1", "Europe/London", models.Preferences{})
	e.device(t, "u1", "fail-token-0123456789")
	e.fake.SetBehavior("fail-token-0123456789", fcmfake.Behavior{Fail: fcmfake.Internal})
	n := e.enqueue(t, reminder("dose_reminder:x", "u1", pushStart))

	var failed int
	for range 3 {
		failed += e.tick(t).Failed
		e.clock.Advance(5 * time.Second)
	}
	if failed != 1 {
		t.Errorf("failed %d, want 1 after 3 attempts", failed)
	}
	r := e.record(t, n.ID)
	if r.State != models.NotificationFailed || r.Attempts != 3 || !strings.Contains(r.LastError, "gave up after 3 attempts") {
		t.Errorf("record: state %s attempts %d lastError %q", r.State, r.Attempts, r.LastError)
	}
	if _, ok := e.queued(t, n.ID); ok {
		t.Error("a failed notification is still in the outbox")
	}
	if st := e.tick(t); st.Claimed != 0 {
		t.Errorf("tick after failure: %+v", st)
	}
	if got := len(e.fake.MessagesFor("fail-token-0123456789")); got != 3 {
		t.Errorf("%d messages, want 3", got)
	}
	if got := e.metric(t, "concord_notifications_failed_total", "kind", "dose_reminder"); got != 1 {
		t.Errorf("failed metric = %v", got)
	}
}

// TestQuietHours: the night before British Summer Time starts, a
// non-urgent notification waits for the end of the patient's quiet hours
// (07:00 local, which is 06:00 UTC that morning); an urgent dose reminder
// and a notification that does not respect quiet hours go at once.
func TestQuietHours(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t)
	night := time.Date(2026, 3, 28, 23, 0, 0, 0, time.UTC) // 23:00 GMT
	e.clock.Set(night)
	e.user(t, "u1", "Europe/London", models.Preferences{QuietHours: &models.QuietHours{Start: "22:00", End: "07:00"}})
	e.device(t, "u1", "quiet-token-0123456789")

	refill := models.Notification{ID: "refill_reminder:r1", RecipientID: "u1", Kind: models.KindRefillReminder,
		Title: "Medicines", Body: "Time to order a refill", RespectQuietHours: true, DueAt: night}
	urgent := reminder("dose_reminder:night", "u1", night)
	urgent.RespectQuietHours = true
	plain := models.Notification{ID: "pharmacy_flag:f1", RecipientID: "u1", Kind: models.KindPharmacyFlag,
		Title: "Pharmacy", Body: "A message from your pharmacy", DueAt: night}
	for _, n := range []models.Notification{refill, urgent, plain} {
		e.enqueue(t, n)
	}

	if st := e.tick(t); st.Sent != 2 || st.Deferred != 1 {
		t.Fatalf("night tick: %+v, want 2 sent and 1 deferred", st)
	}
	q, ok := e.queued(t, refill.ID)
	wantEnd := time.Date(2026, 3, 29, 6, 0, 0, 0, time.UTC) // 07:00 BST
	if !ok || !q.NextAttemptAt.Equal(wantEnd) || q.Attempts != 0 || q.State != models.NotificationPending {
		t.Fatalf("deferred entry: %v next %v attempts %d state %s, want next %v, attempts 0", ok, q.NextAttemptAt, q.Attempts, q.State, wantEnd)
	}
	e.clock.Set(wantEnd.Add(-time.Minute))
	if st := e.tick(t); st.Claimed != 0 {
		t.Errorf("tick during quiet hours: %+v", st)
	}
	e.clock.Set(wantEnd)
	if st := e.tick(t); st.Sent != 1 {
		t.Errorf("tick at the end of quiet hours: %+v, want 1 sent", st)
	}
	if diff := cmp.Diff(map[string]int{refill.ID: 1, urgent.ID: 1, plain.ID: 1}, deliveredIDs(e.fake)); diff != "" {
		t.Errorf("pushes (-want +got):\n%s", diff)
	}
	if r := e.record(t, refill.ID); r.Attempts != 1 {
		t.Errorf("refill attempts %d, want 1 (a deferral is not an attempt)", r.Attempts)
	}
}

func TestQuietHoursUntil(t *testing.T) {
	t.Parallel()
	london, _ := time.LoadLocation("Europe/London")
	tests := []struct {
		name       string
		start, end string
		at         time.Time
		want       time.Time // zero: not quiet
	}{
		{"before midnight", "22:00", "07:00", time.Date(2026, 1, 10, 23, 30, 0, 0, london), time.Date(2026, 1, 11, 7, 0, 0, 0, london)},
		{"after midnight", "22:00", "07:00", time.Date(2026, 1, 11, 3, 0, 0, 0, london), time.Date(2026, 1, 11, 7, 0, 0, 0, london)},
		{"at the end", "22:00", "07:00", time.Date(2026, 1, 11, 7, 0, 0, 0, london), time.Time{}},
		{"daytime", "22:00", "07:00", time.Date(2026, 1, 11, 12, 0, 0, 0, london), time.Time{}},
		{"same-day window", "13:00", "15:00", time.Date(2026, 1, 11, 14, 0, 0, 0, london), time.Date(2026, 1, 11, 15, 0, 0, 0, london)},
		{"autumn clock change", "22:00", "07:00", time.Date(2026, 10, 24, 23, 0, 0, 0, london), time.Date(2026, 10, 25, 7, 0, 0, 0, london)},
		{"month end", "22:00", "07:00", time.Date(2026, 1, 31, 22, 0, 0, 0, london), time.Date(2026, 2, 1, 7, 0, 0, 0, london)},
	}
	for _, tc := range tests {
		got, quiet := models.QuietHours{Start: tc.start, End: tc.end}.Until(tc.at, london)
		if quiet != !tc.want.IsZero() || !got.Equal(tc.want) {
			t.Errorf("%s: got %v (quiet %v), want %v", tc.name, got, quiet, tc.want)
		}
	}
	if got := time.Date(2026, 10, 25, 7, 0, 0, 0, london).UTC(); got.Hour() != 7 {
		t.Errorf("07:00 on 25 October is %v UTC, want 07:00 (GMT again)", got)
	}
}

// TestPayloadCarriesNoHealthData checks what FCM received: the caller's
// generic text, and data holding only the notification id, kind and
// patient id.
func TestPayloadCarriesNoHealthData(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t)
	e.user(t, "u1", "Europe/London", models.Preferences{})
	e.device(t, "u1", "payload-token-0123456789")
	expires := pushStart.Add(2 * time.Hour)
	urgent := reminder("dose_reminder:med1:2026-11-24T09:00", "u1", pushStart)
	urgent.ExpiresAt = &expires
	refill := models.Notification{ID: "refill_reminder:med1:2026-11-24", RecipientID: "u1", PatientID: "u1", Kind: models.KindRefillReminder,
		Title: "Medicines", Body: "Time to order a refill", DueAt: pushStart}
	e.enqueue(t, urgent)
	e.enqueue(t, refill)
	e.tick(t)

	msgs := e.fake.Delivered()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	byID := map[string]fcmfake.Message{}
	for _, m := range msgs {
		byID[m.Data[models.DataNotificationID]] = m
	}
	type payload struct {
		Title, Body, Priority, APNSPriority, PushType, Collapse string
		Data                                                    map[string]string
		TTL                                                     bool
	}
	got := map[string]payload{}
	for id, m := range byID {
		got[id] = payload{m.Title, m.Body, m.AndroidPriority, m.APNSHeaders["apns-priority"], m.APNSHeaders["apns-push-type"],
			m.AndroidCollapseKey, m.Data, m.AndroidTTL != ""}
	}
	want := map[string]payload{
		urgent.ID: {"Medicines", "Time for your 08:00 medicines", "high", "10", "alert", urgent.ID,
			map[string]string{"notificationId": urgent.ID, "kind": "dose_reminder", "patientId": "u1"}, true},
		refill.ID: {"Medicines", "Time to order a refill", "normal", "5", "alert", refill.ID,
			map[string]string{"notificationId": refill.ID, "kind": "refill_reminder", "patientId": "u1"}, false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("payloads (-want +got):\n%s", diff)
	}
	// Nothing else in the message: no fields a caller could fill with
	// health data behind the text's back.
	for id, m := range byID {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(m.Raw, &raw); err != nil {
			t.Fatal(err)
		}
		keys := slices.Sorted(maps.Keys(raw))
		if diff := cmp.Diff([]string{"android", "apns", "data", "notification", "token"}, keys); diff != "" {
			t.Errorf("%s: message fields (-want +got):\n%s", id, diff)
		}
	}
}

func TestPushDisabledDeliversToInboxAndLog(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t)
	e.user(t, "u1", "Europe/London", models.Preferences{})
	e.device(t, "u1", "unused-token-0123456789")
	n := reminder("dose_reminder:off", "u1", pushStart)
	n.Body = "Time for your 08:00 medicines (secret-body-text)"
	e.enqueue(t, n)

	off := e.instance("instance-off", nil)
	st, err := off.Tick(context.Background())
	if err != nil || st.InboxOnly != 1 {
		t.Fatalf("tick: %+v %v, want 1 inbox only", st, err)
	}
	r := e.record(t, n.ID)
	if r.State != models.NotificationSent || r.SentAt == nil || len(r.Deliveries) != 0 {
		t.Errorf("record: state %s sentAt %v deliveries %+v", r.State, r.SentAt, r.Deliveries)
	}
	if e.fake.Count() != 0 {
		t.Error("pushed with push disabled")
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "push is disabled") || !strings.Contains(logs, n.ID) || !strings.Contains(logs, `"kind":"dose_reminder"`) {
		t.Errorf("no log line naming the notification and kind:\n%s", logs)
	}
	if strings.Contains(logs, "secret-body-text") || strings.Contains(logs, `"Medicines"`) {
		t.Error("the log holds the notification's text")
	}
}

func TestNoDevicesMeansInboxOnly(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t)
	e.user(t, "u1", "Europe/London", models.Preferences{})
	n := e.enqueue(t, reminder("dose_reminder:nodev", "u1", pushStart))
	if st := e.tick(t); st.InboxOnly != 1 || st.Sent != 0 {
		t.Errorf("tick: %+v, want 1 inbox only", st)
	}
	if r := e.record(t, n.ID); r.State != models.NotificationSent || len(r.Deliveries) != 0 {
		t.Errorf("record: state %s deliveries %+v", r.State, r.Deliveries)
	}
}

func TestExpiredNotificationIsNotPushed(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t)
	e.user(t, "u1", "Europe/London", models.Preferences{})
	e.device(t, "u1", "late-token-0123456789")
	n := reminder("dose_reminder:late", "u1", pushStart)
	expires := pushStart.Add(2 * time.Hour)
	n.ExpiresAt = &expires
	e.enqueue(t, n)
	e.clock.Advance(3 * time.Hour) // the process was down
	if st := e.tick(t); st.Dropped != 1 {
		t.Errorf("tick: %+v, want 1 dropped", st)
	}
	if r := e.record(t, n.ID); r.State != models.NotificationCancelled || r.CancelReason != "expired" {
		t.Errorf("record: state %s reason %q", r.State, r.CancelReason)
	}
	if e.fake.Count() != 0 {
		t.Error("an expired reminder was pushed")
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t)
	ctx := context.Background()
	e.user(t, "u1", "Europe/London", models.Preferences{})
	e.device(t, "u1", "cancel-token-0123456789")
	n := e.enqueue(t, reminder("dose_reminder:early", "u1", pushStart.Add(time.Hour)))
	sent := e.enqueue(t, reminder("dose_reminder:now", "u1", pushStart))
	e.tick(t)

	tests := []struct {
		id   string
		want bool
	}{
		{n.ID, true},     // pending: cancelled
		{n.ID, false},    // already cancelled
		{sent.ID, false}, // already sent
		{"dose_reminder:nope", false},
	}
	for _, tc := range tests {
		if got, err := e.notes.Cancel(ctx, tc.id, "dose_logged"); err != nil || got != tc.want {
			t.Errorf("cancel %s: %v %v, want %v", tc.id, got, err, tc.want)
		}
	}
	// Enqueued again by a later tick: stays cancelled, not re-queued.
	if got, created, err := e.notes.Enqueue(ctx, reminder(n.ID, "u1", pushStart.Add(time.Hour))); err != nil || created || got.State != models.NotificationCancelled {
		t.Errorf("re-enqueue of a cancelled notification: %s %v %v", got.State, created, err)
	}
	e.clock.Advance(2 * time.Hour)
	if st := e.tick(t); st.Claimed != 0 {
		t.Errorf("tick after cancel: %+v", st)
	}
	if r := e.record(t, n.ID); r.State != models.NotificationCancelled || r.CancelReason != "dose_logged" {
		t.Errorf("record: %s %q", r.State, r.CancelReason)
	}
	if diff := cmp.Diff(map[string]int{sent.ID: 1}, deliveredIDs(e.fake)); diff != "" {
		t.Errorf("pushes (-want +got):\n%s", diff)
	}
}

// TestEnqueueHealsMissingOutboxEntry: a record left pending without its
// outbox entry (the process stopped between the two inserts, simulated
// here by a claim that is then released) is queued again by the next
// Enqueue of the same event.
func TestEnqueueHealsMissingOutboxEntry(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t)
	ctx := context.Background()
	e.user(t, "u1", "Europe/London", models.Preferences{})
	e.device(t, "u1", "heal-token-0123456789")
	n := e.enqueue(t, reminder("dose_reminder:heal", "u1", pushStart))
	if _, err := e.st.Notifications().Claim(ctx, pushStart, "lost/1", "lost", time.Minute, 10); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Notifications().Release(ctx, "lost/1", []string{n.ID}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.queued(t, n.ID); ok {
		t.Fatal("setup: still queued")
	}
	if st := e.tick(t); st.Claimed != 0 {
		t.Fatalf("tick without an outbox entry: %+v", st)
	}
	e.enqueue(t, n)
	if st := e.tick(t); st.Sent != 1 {
		t.Errorf("tick after healing: %+v, want 1 sent", st)
	}
}

// TestFinishedNotificationsLeaveTheOutbox: whichever way a notification
// ends (pushed, inbox only, cancelled, expired), its outbox entry goes;
// and an entry left behind by a delivery that stopped after recording the
// result but before releasing the entry is dropped, unpushed, once its
// lease expires. Nothing is left in the outbox to grow.
func TestFinishedNotificationsLeaveTheOutbox(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t)
	ctx := context.Background()
	e.user(t, "u1", "Europe/London", models.Preferences{})
	e.user(t, "u2", "Europe/London", models.Preferences{})
	e.device(t, "u1", "outbox-token-0123456789")
	pushed := e.enqueue(t, reminder("dose_reminder:pushed", "u1", pushStart))
	inbox := e.enqueue(t, reminder("dose_reminder:inbox", "u2", pushStart))
	cancelled := e.enqueue(t, reminder("dose_reminder:cancelled", "u1", pushStart))
	if ok, err := e.notes.Cancel(ctx, cancelled.ID, "dose_logged"); err != nil || !ok {
		t.Fatalf("cancel: %v %v", ok, err)
	}
	late := reminder("dose_reminder:expired", "u1", pushStart)
	expires := pushStart.Add(time.Minute)
	late.ExpiresAt = &expires
	expired := e.enqueue(t, late)
	e.clock.Advance(2 * time.Minute)
	e.tick(t)

	// A delivery that recorded its result and stopped before releasing.
	left := e.enqueue(t, reminder("dose_reminder:left", "u1", e.clock.Now()))
	claimed, err := e.st.Notifications().Claim(ctx, e.clock.Now(), "crashed-lease", "crashed", time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %d, %v", len(claimed), err)
	}
	claimed[0].State = models.NotificationSent
	if err := e.st.Notifications().Finish(ctx, claimed[0]); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	before := e.fake.Count()
	if st := e.tick(t); st.Dropped != 1 {
		t.Errorf("tick after the lease expired: %+v, want the left entry dropped", st)
	}
	if e.fake.Count() != before {
		t.Error("the left entry was pushed again")
	}

	for _, n := range []models.Notification{pushed, inbox, cancelled, expired, left} {
		if _, err := e.st.Notifications().Queued(ctx, n.ID); !models.IsCode(err, models.CodeNotFound) {
			t.Errorf("%s (%s) is still queued: %v", n.ID, e.record(t, n.ID).State, err)
		}
		if r := e.record(t, n.ID); !r.State.Terminal() {
			t.Errorf("%s: state %s, want final", n.ID, r.State)
		}
	}
}
