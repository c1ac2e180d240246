package mongodb

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// Two collections hold notifications:
//
//   - notifications: the permanent record and the inbox, one document per
//     notification, _id = its dedupe key. The unique _id is what makes "the
//     same event never creates two notifications" hold on every server.
//   - outbox: live delivery work only (pending or sending), _id = the same
//     key, deleted once the notification is terminal, so the claim's
//     queries only ever see what is still to be delivered, never the
//     growing history. An entry holds only delivery state
//     (store.OutboxEntry), not the text.
const (
	notificationsCollection = "notifications"
	outboxCollection        = "outbox"
)

var notificationIndexes = []index{
	{notificationsCollection, mongo.IndexModel{
		Keys:    bson.D{{Key: "recipientId", Value: 1}, {Key: "patientId", Value: 1}, {Key: "updatedAt", Value: 1}, {Key: "_id", Value: 1}},
		Options: options.Index().SetName("changes"),
	}},
	// The inbox: a recipient's notifications newest first.
	{notificationsCollection, mongo.IndexModel{Keys: bson.D{{Key: "recipientId", Value: 1}, {Key: "dueAt", Value: -1}, {Key: "_id", Value: -1}}, Options: options.Index().SetName("recipient_due")}},
	// The claim's two branches: due pending work, and expired leases.
	{outboxCollection, mongo.IndexModel{Keys: bson.D{{Key: "state", Value: 1}, {Key: "nextAttemptAt", Value: 1}}, Options: options.Index().SetName("state_next_attempt")}},
	{outboxCollection, mongo.IndexModel{Keys: bson.D{{Key: "state", Value: 1}, {Key: "leaseUntil", Value: 1}}, Options: options.Index().SetName("state_lease_until")}},
	{outboxCollection, mongo.IndexModel{Keys: bson.D{{Key: "leaseId", Value: 1}}, Options: options.Index().SetName("lease")}},
	// The retention purge: finished notifications by due time.
	{notificationsCollection, mongo.IndexModel{Keys: bson.D{{Key: "state", Value: 1}, {Key: "dueAt", Value: 1}}, Options: options.Index().SetName("state_due")}},
}

// Notifications stores notifications (the record and inbox) and the
// outbox of delivery work.
type Notifications struct {
	records *mongo.Collection
	outbox  *mongo.Collection
}

// Notifications returns the notifications store.
func (s *Store) Notifications() store.Notifications {
	return &Notifications{records: s.db.Collection(notificationsCollection), outbox: s.db.Collection(outboxCollection)}
}

// Enqueue stores a new notification (state pending) and queues it for
// delivery. If a notification with its id exists already, Enqueue returns
// the stored one and created=false, whatever its content or state: the
// first one wins. Enqueue is idempotent and self-healing, so callers may
// enqueue the same event on every scheduler tick: a stored notification that
// is still pending is queued again if its outbox entry is missing (say the
// process stopped between the two inserts); a duplicate outbox entry is not
// an error.
func (n *Notifications) Enqueue(ctx context.Context, x models.Notification) (models.Notification, bool, error) {
	if x.UpdatedAt.IsZero() {
		x.UpdatedAt = store.NotificationUpdatedAt(x)
	}
	stored, created := store.AsStored(x), true
	if _, err := n.records.InsertOne(ctx, x); err != nil {
		if !mongo.IsDuplicateKeyError(err) {
			return models.Notification{}, false, translate(err, "insert notification %s", x.ID)
		}
		created = false
		if stored, err = n.Get(ctx, x.ID); err != nil {
			return models.Notification{}, false, err
		}
	}
	if stored.State != models.NotificationPending {
		return stored, created, nil
	}
	// An entry re-created for a notification that a concurrent delivery
	// has just completed is harmless: delivery checks the record before
	// sending and drops entries whose notification is no longer pending.
	if _, err := n.outbox.InsertOne(ctx, store.EntryOf(stored)); err != nil && !mongo.IsDuplicateKeyError(err) {
		return models.Notification{}, false, translate(err, "queue notification %s", x.ID)
	}
	return stored, created, nil
}

// Get returns a notification's record; not_found if there is none.
func (n *Notifications) Get(ctx context.Context, id string) (models.Notification, error) {
	return byID[models.Notification](ctx, n.records, id, "notification")
}

// Cancel cancels a pending notification: its record becomes cancelled with
// the reason, and its outbox entry goes. It reports false, changing
// nothing, when the notification does not exist or is no longer pending.
// A delivery that read the record before the cancel may still push it,
// and then records it as sent.
func (n *Notifications) Cancel(ctx context.Context, id, reason string, at time.Time) (bool, error) {
	// The record first, conditionally on its state: of a cancel and a
	// delivery's completion only one can turn a pending record terminal.
	res, err := n.records.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "state", Value: models.NotificationPending}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "state", Value: models.NotificationCancelled},
			{Key: "cancelReason", Value: reason},
			{Key: "cancelledAt", Value: at},
		}}, {Key: "$max", Value: bson.D{{Key: "updatedAt", Value: at}}}})
	if err != nil {
		return false, translate(err, "cancel notification %s", id)
	}
	if res.ModifiedCount == 0 {
		return false, nil
	}
	// A claimed entry goes too; its lease holder's later writes are
	// conditional on the lease and so change nothing.
	if _, err := n.outbox.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
		return true, translate(err, "dequeue cancelled notification %s", id)
	}
	return true, nil
}

// dueFilter selects outbox entries that may be claimed at now: pending and
// due, or being sent under a lease that has expired (the claimer crashed or
// stalled).
func dueFilter(now time.Time) bson.A {
	return bson.A{
		bson.D{{Key: "state", Value: models.NotificationPending}, {Key: "nextAttemptAt", Value: bson.D{{Key: "$lte", Value: now}}}},
		bson.D{{Key: "state", Value: models.NotificationSending}, {Key: "leaseUntil", Value: bson.D{{Key: "$lt", Value: now}}}},
	}
}

// Claim takes up to limit (at most store.MaxClaim) outbox entries that are due
// at now, or whose lease has expired, oldest first, under a new lease:
// state sending, LeaseID leaseID (which must be unique to this call),
// LeaseUntil now+lease, ClaimedBy owner, Attempts+1. It returns what it
// claimed: each notification as recorded (State is the record's state, ""
// if the record is missing) with the outbox entry's delivery state
// (store.OutboxEntry.Apply). Each entry is claimed by exactly one of any
// number of concurrent claimers, across processes.
func (n *Notifications) Claim(ctx context.Context, now time.Time, leaseID, owner string, lease time.Duration, limit int) ([]models.Notification, error) {
	if leaseID == "" || lease <= 0 || limit <= 0 {
		return nil, fmt.Errorf("claim notifications: lease id, lease and limit are required")
	}
	limit = min(limit, store.MaxClaim)
	// Concurrent claimers see the same oldest candidates; one that lost
	// them all looks again (the winner's are no longer claimable).
	for range claimRounds {
		found, won, err := n.claimOnce(ctx, now, leaseID, owner, lease, limit)
		switch {
		case err != nil:
			return nil, err
		case won > 0:
			return n.leased(ctx, leaseID)
		case found == 0:
			return nil, nil
		}
	}
	return nil, nil
}

// claimRounds is how many times Claim looks for candidates when another
// claimer takes every one it found.
const claimRounds = 3

// claimOnce finds up to limit candidates and leases those still claimable;
// it reports how many it found and how many it won. One query finds the
// candidates and one updateMany leases them, re-checking each document's
// claimability as it writes it, so of two claimers racing for a document
// only the first changes it; Claim's last query, by leaseID, returns what
// this call won. Three commands a batch, where findOneAndUpdate would take
// one per notification.
func (n *Notifications) claimOnce(ctx context.Context, now time.Time, leaseID, owner string, lease time.Duration, limit int) (found, won int, err error) {
	cur, err := n.outbox.Find(ctx, bson.D{{Key: "$or", Value: dueFilter(now)}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).
			SetSort(bson.D{{Key: "nextAttemptAt", Value: 1}, {Key: "_id", Value: 1}}).
			SetLimit(int64(limit)))
	if err != nil {
		return 0, 0, translate(err, "find due notifications")
	}
	var candidates []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &candidates); err != nil {
		return 0, 0, translate(err, "find due notifications")
	}
	if len(candidates) == 0 {
		return 0, 0, nil
	}
	ids := make([]string, len(candidates))
	for i, c := range candidates {
		ids[i] = c.ID
	}
	res, err := n.outbox.UpdateMany(ctx,
		bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}, {Key: "$or", Value: dueFilter(now)}},
		bson.D{
			{Key: "$set", Value: bson.D{
				{Key: "state", Value: models.NotificationSending},
				{Key: "leaseId", Value: leaseID},
				{Key: "leaseUntil", Value: now.Add(lease)},
				{Key: "claimedBy", Value: owner},
			}},
			{Key: "$inc", Value: bson.D{{Key: "attempts", Value: 1}}},
		})
	if err != nil {
		return len(ids), 0, translate(err, "claim notifications")
	}
	return len(ids), int(res.ModifiedCount), nil
}

// Queued returns a notification's outbox entry. Errors: not_found when it
// is not queued.
func (n *Notifications) Queued(ctx context.Context, id string) (store.OutboxEntry, error) {
	return byID[store.OutboxEntry](ctx, n.outbox, id, "queued notification")
}

// leased returns the notifications held under leaseID: their records with
// the outbox entries' delivery state, oldest first.
func (n *Notifications) leased(ctx context.Context, leaseID string) ([]models.Notification, error) {
	cur, err := n.outbox.Find(ctx, bson.D{{Key: "leaseId", Value: leaseID}})
	if err != nil {
		return nil, translate(err, "find claimed notifications")
	}
	var entries []store.OutboxEntry
	if err := cur.All(ctx, &entries); err != nil {
		return nil, translate(err, "find claimed notifications")
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	// One query for the batch's records.
	cur, err = n.records.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return nil, translate(err, "records of claimed notifications")
	}
	var records []models.Notification
	if err := cur.All(ctx, &records); err != nil {
		return nil, translate(err, "records of claimed notifications")
	}
	return store.Claimed(entries, records), nil
}

// Finish writes a delivery's final result to the notification's record:
// its state (sent, failed or cancelled), attempts, sentAt, deliveries, last
// error and cancel reason. It does not touch the outbox (see Release).
//
// It matches the record by _id alone: the lease, not the record, decides
// who delivers, and the caller finishes only notifications it holds the
// lease of.
func (n *Notifications) Finish(ctx context.Context, x models.Notification) error {
	set := bson.D{
		{Key: "state", Value: x.State},
		{Key: "attempts", Value: x.Attempts},
		{Key: "nextAttemptAt", Value: x.NextAttemptAt},
		{Key: "deliveries", Value: x.Deliveries},
		{Key: "lastError", Value: x.LastError},
	}
	if x.SentAt != nil {
		set = append(set, bson.E{Key: "sentAt", Value: *x.SentAt})
	}
	if x.CancelReason != "" {
		set = append(set, bson.E{Key: "cancelReason", Value: x.CancelReason})
	}
	update := bson.D{{Key: "$set", Value: set}}
	if x.SentAt != nil {
		update = append(update, bson.E{Key: "$max", Value: bson.D{{Key: "updatedAt", Value: *x.SentAt}}})
	}
	res, err := n.records.UpdateOne(ctx, bson.D{{Key: "_id", Value: x.ID}}, update)
	if err != nil {
		return translate(err, "finish notification %s", x.ID)
	}
	if res.MatchedCount == 0 {
		return models.Errorf(models.CodeNotFound, "notification not found")
	}
	return nil
}

// Release removes the outbox entries of ids that are still held under
// leaseID (one command, whatever the number): their delivery is over.
func (n *Notifications) Release(ctx context.Context, leaseID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := n.outbox.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}, {Key: "leaseId", Value: leaseID}})
	return translate(err, "release %d notifications", len(ids))
}

// Reschedule puts the outbox entries of ids still held under leaseID back
// to pending, due at next, with their lease dropped, attempts changed by
// attemptsDelta and lastError recorded. It reports how many it changed.
func (n *Notifications) Reschedule(ctx context.Context, leaseID string, ids []string, next time.Time, attemptsDelta int, lastError string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	update := bson.D{
		{Key: "$set", Value: bson.D{
			{Key: "state", Value: models.NotificationPending},
			{Key: "nextAttemptAt", Value: next},
			{Key: "lastError", Value: lastError},
		}},
		{Key: "$unset", Value: bson.D{{Key: "leaseId", Value: ""}, {Key: "leaseUntil", Value: ""}, {Key: "claimedBy", Value: ""}}},
	}
	if attemptsDelta != 0 {
		update = append(update, bson.E{Key: "$inc", Value: bson.D{{Key: "attempts", Value: attemptsDelta}}})
	}
	res, err := n.outbox.UpdateMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}, {Key: "leaseId", Value: leaseID}}, update)
	if err != nil {
		return 0, translate(err, "reschedule %d notifications", len(ids))
	}
	return int(res.ModifiedCount), nil
}

// Inbox returns up to limit of the recipient's notifications that are due
// at now and not cancelled, newest first (dueAt desc, then id desc),
// strictly after the key after when it is set.
func (n *Notifications) Inbox(ctx context.Context, recipientID string, now time.Time, after *models.InboxKey, limit int) ([]models.Notification, error) {
	filter := bson.D{
		{Key: "recipientId", Value: recipientID},
		// Stated on its own (beside the tie-break below) so that MongoDB
		// bounds the index scan with it.
		{Key: "dueAt", Value: bson.D{{Key: "$lte", Value: now}}},
		{Key: "state", Value: bson.D{{Key: "$ne", Value: models.NotificationCancelled}}},
	}
	if after != nil {
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "dueAt", Value: bson.D{{Key: "$lt", Value: after.DueAt}}}},
			bson.D{{Key: "dueAt", Value: after.DueAt}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: after.ID}}}},
		}})
	}
	cur, err := n.records.Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "dueAt", Value: -1}, {Key: "_id", Value: -1}}).
		SetLimit(int64(limit)))
	if err != nil {
		return nil, translate(err, "inbox of %s", recipientID)
	}
	items := []models.Notification{}
	if err := cur.All(ctx, &items); err != nil {
		return nil, translate(err, "inbox of %s", recipientID)
	}
	return items, nil
}

// MarkRead records that the recipient read the notification at at; the
// first time stays. Errors: not_found.
func (n *Notifications) MarkRead(ctx context.Context, id string, at time.Time) error {
	// $min keeps the earliest time and sets a missing one, with a filter on
	// the _id alone.
	res, err := n.records.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$min", Value: bson.D{{Key: "readAt", Value: at}}}, {Key: "$max", Value: bson.D{{Key: "updatedAt", Value: at}}}})
	if err != nil {
		return translate(err, "mark notification %s read", id)
	}
	if res.MatchedCount == 0 {
		return models.Errorf(models.CodeNotFound, "notification not found")
	}
	return nil
}

// finishedStates are the states a notification ends in.
var finishedStates = bson.A{models.NotificationSent, models.NotificationFailed, models.NotificationCancelled}

// PurgeFinished deletes up to limit sent, failed or cancelled
// notifications due before `before`, oldest first: their outbox entries
// first (normally long gone), then the records, so a process stopping in
// between leaves records the next call finds again.
func (n *Notifications) PurgeFinished(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	filter := bson.D{{Key: "state", Value: bson.D{{Key: "$in", Value: finishedStates}}}, {Key: "dueAt", Value: bson.D{{Key: "$lt", Value: before}}}}
	ids, err := findIDs(ctx, n.records, filter, bson.D{{Key: "dueAt", Value: 1}}, limit, "find finished notifications")
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	in := bson.D{{Key: "$in", Value: ids}}
	if _, err := n.outbox.DeleteMany(ctx, bson.D{{Key: "_id", Value: in}}); err != nil {
		return 0, translate(err, "dequeue %d finished notifications", len(ids))
	}
	res, err := n.records.DeleteMany(ctx, append(bson.D{{Key: "_id", Value: in}}, filter...))
	if err != nil {
		return 0, translate(err, "delete %d finished notifications", len(ids))
	}
	return int(res.DeletedCount), nil
}

// Changed returns the recipient's notifications about the patient changed
// in (after, upTo], by (updatedAt, _id) (index changes).
func (n *Notifications) Changed(ctx context.Context, recipientID, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Notification, error) {
	return changed[models.Notification](ctx, n.records,
		bson.D{{Key: "recipientId", Value: recipientID}, {Key: "patientId", Value: patientID}}, "updatedAt", after, upTo, limit, "notification changes")
}
