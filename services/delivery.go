package services

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/push"
)

// Sender pushes messages to devices: push.FCM. Send returns one Result
// per Message, in order; its error means nothing was attempted.
//
// services uses package push's Message and Result rather than types of its
// own: that package is the one place that knows what FCM's answers mean
// (Outcome), and a copy here would need an adapter in cmd that could drift
// from it. push imports nothing of ours, so there is no cycle.
type Sender interface {
	Send(ctx context.Context, pushes []push.Message) ([]push.Result, error)
}

// OutboxStore is what Delivery needs of notification storage: the claim,
// the records' states and the writes that complete a delivery.
type OutboxStore interface {
	Claim(ctx context.Context, now time.Time, leaseID, owner string, lease time.Duration, limit int) ([]models.Notification, error)
	Finish(ctx context.Context, n models.Notification) error
	Release(ctx context.Context, leaseID string, ids []string) error
	Reschedule(ctx context.Context, leaseID string, ids []string, next time.Time, attemptsDelta int, lastError string) (int, error)
}

// DeliveryConfig tunes delivery.
type DeliveryConfig struct {
	// Instance names this process in leases and logs (NewInstanceID).
	Instance string
	// BatchSize is how many notifications one claim takes (at most 500,
	// FCM's SendEach limit).
	BatchSize int
	// MaxBatchesPerTick bounds one Tick's work when much is due.
	MaxBatchesPerTick int
	// Lease is how long a claim is held; another instance takes the work
	// over when it expires. A batch is given at most half of it.
	Lease time.Duration
	// SendTimeout bounds one batch's FCM calls (the SDK retries 503s
	// itself for several seconds per message). Pushes it cuts off are
	// retried.
	SendTimeout time.Duration
	// MaxAttempts is how many delivery attempts a notification gets before
	// it is failed.
	MaxAttempts int
	// RetryBase and RetryMax shape the exponential backoff between
	// attempts: RetryBase·2^(attempt−1), capped at RetryMax, jittered down
	// by up to half, and never sooner than FCM's Retry-After.
	RetryBase, RetryMax time.Duration
}

// DefaultDeliveryConfig is the production configuration.
func DefaultDeliveryConfig(instance string) DeliveryConfig {
	return DeliveryConfig{
		Instance: instance, BatchSize: push.MaxBatch, MaxBatchesPerTick: 20,
		Lease: 2 * time.Minute, SendTimeout: 30 * time.Second,
		MaxAttempts: 8, RetryBase: 30 * time.Second, RetryMax: time.Hour,
	}
}

// DeliveryStats counts what one Tick did.
type DeliveryStats struct {
	Batches int
	// Claimed notifications, each ending in exactly one of the counts below.
	Claimed int
	// Sent reached at least one device; InboxOnly went to the inbox only
	// (the recipient has no device, or push is disabled). Both are sent.
	Sent, InboxOnly int
	// Retried and Deferred (quiet hours) are pending again.
	Retried, Deferred int
	// Failed were given up on; Dropped were already final (or expired, or
	// are for a deleted account) and were not pushed.
	Failed, Dropped int
	// Pruned device tokens FCM reported unregistered or invalid.
	Pruned int
}

// Add adds o's counts to s.
func (s *DeliveryStats) Add(o DeliveryStats) {
	s.Batches += o.Batches
	s.Claimed += o.Claimed
	s.Sent += o.Sent
	s.InboxOnly += o.InboxOnly
	s.Retried += o.Retried
	s.Deferred += o.Deferred
	s.Failed += o.Failed
	s.Dropped += o.Dropped
	s.Pruned += o.Pruned
}

// Delivery pushes due notifications from the outbox to their recipients'
// devices through FCM. Any number of instances may run it on one database:
// each batch is claimed atomically under a lease, so no live instance
// pushes what another holds, and work a crashed instance held is taken
// over when its lease expires.
//
// A notification is sent when at least one device got it, or when the
// recipient has no device (or push is disabled): it is then in the inbox
// only, recorded as sent with no deliveries. Tokens FCM reports
// unregistered or invalid are removed. Temporary failures are retried with
// backoff up to MaxAttempts, then the notification is failed. Quiet hours
// delay the push of notifications that respect them, never urgent ones.
type Delivery struct {
	cfg     DeliveryConfig
	store   OutboxStore
	devices DeviceStore
	users   UserDirectory
	sender  Sender
	metrics *NotificationMetrics
	now     func() time.Time
	log     *slog.Logger
}

// NewDelivery returns the delivery worker. sender nil means push is
// disabled: notifications go to the inbox and the log only (pass a nil
// interface, not a nil *push.FCM).
func NewDelivery(cfg DeliveryConfig, store OutboxStore, devices DeviceStore, users UserDirectory, sender Sender, metrics *NotificationMetrics, now func() time.Time, log *slog.Logger) *Delivery {
	def := DefaultDeliveryConfig(cfg.Instance)
	cfg.BatchSize = min(cmp.Or(cfg.BatchSize, def.BatchSize), push.MaxBatch)
	cfg.MaxBatchesPerTick = cmp.Or(cfg.MaxBatchesPerTick, def.MaxBatchesPerTick)
	cfg.Lease = cmp.Or(cfg.Lease, def.Lease)
	cfg.SendTimeout = min(cmp.Or(cfg.SendTimeout, def.SendTimeout), cfg.Lease/2)
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, def.MaxAttempts)
	cfg.RetryBase = cmp.Or(cfg.RetryBase, def.RetryBase)
	cfg.RetryMax = cmp.Or(cfg.RetryMax, def.RetryMax)
	if cfg.Instance == "" {
		cfg.Instance = NewInstanceID()
	}
	return &Delivery{cfg: cfg, store: store, devices: devices, users: users, sender: sender, metrics: metrics, now: now, log: log}
}

// Step is the delivery as a scheduler step.
func (d *Delivery) Step() Step {
	return Step{Name: "deliver", Run: func(ctx context.Context, _ time.Time) error {
		_, err := d.Tick(ctx)
		return err
	}}
}

// Tick delivers what is due: it claims a batch, pushes it and records the
// results, and repeats while batches come back full (up to
// MaxBatchesPerTick). When ctx ends (shutdown) it finishes the batch in
// hand and returns.
func (d *Delivery) Tick(ctx context.Context) (DeliveryStats, error) {
	var total DeliveryStats
	for range d.cfg.MaxBatchesPerTick {
		if ctx.Err() != nil {
			break
		}
		st, err := d.batch(ctx)
		total.Add(st)
		if err != nil {
			return total, err
		}
		if st.Claimed < d.cfg.BatchSize {
			break
		}
	}
	return total, nil
}

// batch claims and delivers one batch.
func (d *Delivery) batch(parent context.Context) (DeliveryStats, error) {
	// A claimed batch is completed even if shutdown begins meanwhile; half
	// the lease bounds it, so the lease cannot expire while it is live.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), d.cfg.Lease/2)
	defer cancel()
	start := time.Now()
	now := d.now().UTC()
	leaseID := d.cfg.Instance + "/" + randomHex(8)
	claimed, err := d.store.Claim(ctx, now, leaseID, d.cfg.Instance, d.cfg.Lease, d.cfg.BatchSize)
	d.metrics.claimed.Observe(float64(len(claimed)))
	st := DeliveryStats{Claimed: len(claimed)}
	if err != nil || len(claimed) == 0 {
		return st, err
	}
	st.Batches = 1
	leaseUntil := now.Add(d.cfg.Lease)

	items := make([]*claimedItem, len(claimed))
	for i, n := range claimed {
		items[i] = &claimedItem{n: n}
	}
	// On a store error here the batch stays leased, to be claimed again
	// when the lease expires: nothing has been pushed or written yet.
	toPush, err := d.triage(ctx, now, items)
	if err != nil {
		return st, err
	}
	pruned, err := d.push(ctx, toPush)
	if err != nil {
		return st, err
	}

	// Completion needs the lease: past it another instance may have taken
	// the work over, and the records are its to write.
	if !d.now().Before(leaseUntil) {
		d.log.WarnContext(ctx, "delivery batch outlived its lease; leaving it to be claimed again", "lease", leaseID, "claimed", len(items))
		return st, nil
	}
	return d.complete(ctx, leaseID, items, pruned, st, start)
}

// complete writes the batch's results: devices to prune, then each final
// record, then the release of the outbox entries (records first: if the
// process stops in between, the entry is claimed again, its record is
// found final, and it is dropped rather than pushed twice), then the
// retries and deferrals.
func (d *Delivery) complete(ctx context.Context, leaseID string, items []*claimedItem, pruned []models.Device, st DeliveryStats, start time.Time) (DeliveryStats, error) {
	var errs []error
	if len(pruned) > 0 {
		ids := make([]string, len(pruned))
		for i, dev := range pruned {
			ids[i] = dev.ID
			d.log.InfoContext(ctx, "push token pruned", "device", dev.ID, "user", dev.UserID, "token", dev.TokenHint)
		}
		n, err := d.devices.DeleteMany(ctx, ids)
		if err != nil {
			errs = append(errs, err)
		}
		st.Pruned = n
		d.metrics.pruned.Add(float64(n))
	}

	now := d.now().UTC()
	var release []string
	type group struct {
		attempts   int
		retryAfter time.Duration
	}
	retries := map[group][]*claimedItem{}
	defers := map[time.Time][]string{}
	for _, it := range items {
		n := &it.n
		switch it.act {
		case actDrop:
			st.Dropped++
			release = append(release, n.ID)
		case actFinish:
			if n.State == models.NotificationSent {
				n.SentAt = &now
			}
			if err := d.store.Finish(ctx, *n); err != nil {
				// Left in the outbox: claimed again after the lease.
				errs = append(errs, err)
				continue
			}
			release = append(release, n.ID)
			d.count(ctx, it, &st, now)
		case actRetry:
			g := group{attempts: n.Attempts, retryAfter: it.retryAfter}
			retries[g] = append(retries[g], it)
		case actDefer:
			defers[it.next] = append(defers[it.next], n.ID)
		}
	}
	if err := d.store.Release(ctx, leaseID, release); err != nil {
		errs = append(errs, err)
	}
	// One write per group, not per notification: jitter is drawn per group.
	// A batch's pushes went out together, so spreading their retries within
	// one instance gains nothing; the jitter keeps batches and instances
	// from retrying in lockstep.
	for g, its := range retries {
		ids := make([]string, len(its))
		for i, it := range its {
			ids[i] = it.n.ID
		}
		next := now.Add(max(d.backoff(g.attempts), g.retryAfter))
		changed, err := d.store.Reschedule(ctx, leaseID, ids, next, 0, its[0].n.LastError)
		if err != nil {
			errs = append(errs, err)
		}
		st.Retried += changed
		d.log.InfoContext(ctx, "push delivery will be retried", "count", changed, "attempt", g.attempts, "next", next)
	}
	for until, ids := range defers {
		// A deferral is not an attempt: give back the one the claim counted.
		changed, err := d.store.Reschedule(ctx, leaseID, ids, until, -1, "")
		if err != nil {
			errs = append(errs, err)
		}
		st.Deferred += changed
	}
	if st.Claimed > 0 {
		d.log.InfoContext(ctx, "delivery batch", "lease", leaseID, "claimed", st.Claimed, "sent", st.Sent, "inbox_only", st.InboxOnly,
			"retried", st.Retried, "deferred", st.Deferred, "failed", st.Failed, "dropped", st.Dropped, "pruned", st.Pruned,
			"duration_ms", time.Since(start).Milliseconds())
	}
	return st, errors.Join(errs...)
}

// count records a finished notification in the stats and metrics.
func (d *Delivery) count(ctx context.Context, it *claimedItem, st *DeliveryStats, now time.Time) {
	n := it.n
	switch n.State {
	case models.NotificationSent:
		if it.inboxOnly {
			st.InboxOnly++
		} else {
			st.Sent++
		}
		d.metrics.kindCounter(d.metrics.sent, n.Kind).Inc()
		d.metrics.lag.Observe(max(0, now.Sub(n.DueAt).Seconds()))
	case models.NotificationFailed:
		st.Failed++
		d.metrics.kindCounter(d.metrics.failed, n.Kind).Inc()
		d.log.WarnContext(ctx, "notification failed", "notification", n.ID, "kind", n.Kind, "attempts", n.Attempts, "err", n.LastError)
	default:
		st.Dropped++
	}
}

// backoff is the wait before the attempt after attempt number attempts:
// RetryBase·2^(attempts−1) capped at RetryMax, less a random part of up to
// half of it.
func (d *Delivery) backoff(attempts int) time.Duration {
	wait := d.cfg.RetryBase
	for i := 1; i < attempts && wait < d.cfg.RetryMax; i++ {
		wait *= 2
	}
	wait = min(wait, d.cfg.RetryMax)
	return wait - time.Duration(mrand.Int64N(int64(wait/2)+1))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
