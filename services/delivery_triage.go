package services

// What becomes of each notification of a claimed batch: triage before any
// push, the push to the recipient's devices, and the decision after it.
// Claiming and completing the batch is delivery.go's.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/push"
)

// What is recorded on notifications that were not pushed (CancelReason,
// LastError), and the log message of inbox-only delivery.
const (
	reasonExpired     = "expired"
	failRecipientGone = "recipient account not found"
	failTooManyClaims = "claimed too many times without completing"
	msgPushDisabled   = "notification delivered to the inbox only: push is disabled"
)

// action is what becomes of one claimed notification.
type action int

const (
	actDrop   action = iota // release without writing the record
	actFinish               // write the record (sent, failed, cancelled), then release
	actRetry                // back to pending after a backoff
	actDefer                // back to pending at the end of quiet hours
)

// claimedItem is one claimed notification and what becomes of it.
type claimedItem struct {
	n          models.Notification
	act        action
	next       time.Time     // actDefer
	retryAfter time.Duration // actRetry: FCM's Retry-After
	inboxOnly  bool
}

// triage decides, before any push, what to do with each claimed
// notification: drop those whose record is no longer pending, expire stale
// ones, fail crash-looping ones, defer for quiet hours, deliver to the inbox
// only when push is disabled. It returns those still to push.
func (d *Delivery) triage(ctx context.Context, now time.Time, items []*claimedItem) ([]*claimedItem, error) {
	users := map[string]*models.User{}
	var rest []*claimedItem
	for _, it := range items {
		n := &it.n
		switch {
		case n.State != models.NotificationPending:
			// The record decides: an entry whose notification is final
			// (completed by an instance that stopped before releasing it,
			// cancelled, or re-queued by an Enqueue that raced a
			// completion) is not pushed again.
			it.act = actDrop
			continue
		case n.ExpiresAt != nil && !now.Before(*n.ExpiresAt):
			it.act, n.State, n.CancelReason = actFinish, models.NotificationCancelled, reasonExpired
			continue
		case n.Attempts > d.cfg.MaxAttempts:
			it.act, n.State, n.LastError = actFinish, models.NotificationFailed, failTooManyClaims
			continue
		}
		u, ok := users[n.RecipientID]
		if !ok {
			got, err := d.users.Get(ctx, n.RecipientID)
			switch {
			case models.IsCode(err, models.CodeNotFound):
				u = nil
			case err != nil:
				return nil, err
			default:
				u = &got
			}
			users[n.RecipientID] = u
		}
		if u == nil {
			it.act, n.State, n.LastError = actFinish, models.NotificationFailed, failRecipientGone
			continue
		}
		if q := u.Preferences.QuietHours; q != nil && n.RespectQuietHours && !n.Urgent {
			if until, quiet := q.Until(now, u.Location()); quiet {
				it.act, it.next = actDefer, until.UTC()
				continue
			}
		}
		rest = append(rest, it)
	}
	if d.sender == nil {
		for _, it := range rest {
			d.markSent(it, true)
			d.log.InfoContext(ctx, msgPushDisabled, "notification", it.n.ID, "kind", it.n.Kind)
		}
		return nil, nil
	}
	return rest, nil
}

// push sends the notifications to every device of their recipients and
// decides each one's fate from the per-device results. It returns the
// devices to remove.
func (d *Delivery) push(ctx context.Context, items []*claimedItem) ([]models.Device, error) {
	if len(items) == 0 {
		return nil, nil
	}
	recipients := map[string]bool{}
	for _, it := range items {
		recipients[it.n.RecipientID] = true
	}
	devs, err := d.devices.ForUsers(ctx, slices.Sorted(maps.Keys(recipients)))
	if err != nil {
		return nil, err
	}
	byUser := map[string][]models.Device{}
	for _, dev := range devs {
		byUser[dev.UserID] = append(byUser[dev.UserID], dev)
	}

	type target struct {
		item *claimedItem
		dev  models.Device
	}
	var pushes []push.Message
	var targets []target
	now := d.now().UTC()
	for _, it := range items {
		for _, dev := range byUser[it.n.RecipientID] {
			pushes = append(pushes, pushOf(it.n, dev.Token, now))
			targets = append(targets, target{it, dev})
		}
		if len(byUser[it.n.RecipientID]) == 0 {
			d.markSent(it, true)
		}
	}
	if len(pushes) == 0 {
		return nil, nil
	}

	sendCtx, cancel := context.WithTimeout(ctx, d.cfg.SendTimeout)
	results, err := d.sender.Send(sendCtx, pushes)
	cancel()
	if err == nil && len(results) != len(pushes) {
		err = fmt.Errorf("push: %d results for %d pushes", len(results), len(pushes))
	}
	if err != nil {
		// Nothing was attempted: every push is to be retried.
		results = make([]push.Result, len(pushes))
		for i := range results {
			results[i] = push.Result{Token: pushes[i].Token, Outcome: push.Retry, Err: err}
		}
	}

	at := d.now().UTC()
	var pruned []models.Device
	perItem := map[*claimedItem][]push.Result{}
	for i, r := range results {
		t := targets[i]
		del := models.Delivery{DeviceID: t.dev.ID, TokenHint: t.dev.TokenHint, Outcome: models.DeliveryOutcome(r.Outcome), MessageID: r.MessageID, At: at}
		if r.Err != nil {
			del.Error = redactError(r.Err, t.dev.Token)
		}
		t.item.n.Deliveries = append(t.item.n.Deliveries, del)
		perItem[t.item] = append(perItem[t.item], r)
		if r.Outcome == push.Unregistered || r.Outcome == push.Invalid {
			pruned = append(pruned, t.dev)
		}
	}
	for it, rs := range perItem {
		d.decide(it, rs)
	}
	return pruned, nil
}

// decide sets a pushed notification's fate from its devices' results: sent
// if any device got it; else retried if any failure was temporary (failed
// once attempts run out); else failed if any failure was permanent; else
// every token was dead and removed, and the notification is in the inbox
// only.
func (d *Delivery) decide(it *claimedItem, rs []push.Result) {
	var retry, failed bool
	var retryAfter time.Duration
	for _, r := range rs {
		switch r.Outcome {
		case push.Sent:
			d.markSent(it, false)
			return
		case push.Retry:
			retry = true
			retryAfter = max(retryAfter, r.RetryAfter)
		case push.Failed:
			failed = true
		}
	}
	n := &it.n
	n.LastError = firstError(n.Deliveries)
	switch {
	case retry && n.Attempts < d.cfg.MaxAttempts:
		it.act, it.retryAfter = actRetry, retryAfter
	case retry || failed:
		it.act, n.State = actFinish, models.NotificationFailed
		if retry {
			n.LastError = fmt.Sprintf("gave up after %d attempts: %s", n.Attempts, n.LastError)
		}
	default:
		d.markSent(it, true)
	}
}

// markSent marks the item sent: to a device, or (inboxOnly) to no device.
func (d *Delivery) markSent(it *claimedItem, inboxOnly bool) {
	it.act, it.n.State, it.n.LastError, it.inboxOnly = actFinish, models.NotificationSent, "", inboxOnly
}

// pushOf is the push of notification n to one device token.
func pushOf(n models.Notification, token string, now time.Time) push.Message {
	data := make(map[string]string, len(n.Data)+3)
	maps.Copy(data, n.Data)
	data[models.DataNotificationID] = n.ID
	data[models.DataKind] = string(n.Kind)
	if ids := n.DoseIDsData(); ids != "" {
		data[models.DataDoseIDs] = ids
	}
	p := push.Message{Token: token, Title: n.Title, Body: n.Body, Data: data, Urgent: n.Urgent, CollapseKey: n.ID,
		Category: n.Kind.PushCategory(), TitleLocKey: n.Text.TitleKey, BodyLocKey: n.Text.BodyKey, BodyLocArgs: n.Text.BodyArgs}
	if n.ExpiresAt != nil {
		p.TTL = max(n.ExpiresAt.Sub(now), time.Second)
	}
	return p
}

// redactError is err's text with the token shortened, at most 300 bytes.
func redactError(err error, token string) string {
	s := err.Error()
	if token != "" {
		s = strings.ReplaceAll(s, token, push.RedactToken(token))
	}
	if len(s) > 300 {
		s = strings.ToValidUTF8(s[:300], "")
	}
	return s
}

// firstError is the first delivery error, prefixed with its outcome.
func firstError(ds []models.Delivery) string {
	for _, d := range ds {
		if d.Error != "" {
			return string(d.Outcome) + ": " + d.Error
		}
	}
	return ""
}
