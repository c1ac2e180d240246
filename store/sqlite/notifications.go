package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// Notifications stores notifications and the outbox (store.Notifications):
// the record in notifications, live delivery work in outbox, whose rows
// go with their record (a foreign key).
type Notifications struct{ s *Store }

// Notifications returns the notifications store.
func (s *Store) Notifications() store.Notifications { return Notifications{s} }

// notificationColumns are a record's columns but lease_id, lease_until and
// claimed_by: a lease is the outbox entry's, so those of a record are
// always empty strings and NULL, written so by insertNotification and
// never read.
const notificationColumns = `id, recipient_id, patient_id, kind, title, body, data, urgent, respect_quiet_hours, due_at, expires_at,
	state, dose_ids, attempts, next_attempt_at, last_error, deliveries, cancel_reason, cancelled_at, sent_at, read_at, created_at, updated_at,
	text_keys`

func scanNotification(r scanner) (models.Notification, error) {
	var n models.Notification
	var data, doseIDs, deliveries, text string
	var urgent, quiet int64
	var due, next, created, updated int64
	var expires, cancelled, sent, read sql.NullInt64
	if err := r.Scan(&n.ID, &n.RecipientID, &n.PatientID, &n.Kind, &n.Title, &n.Body, &data, &urgent, &quiet, &due, &expires,
		&n.State, &doseIDs, &n.Attempts, &next, &n.LastError, &deliveries, &n.CancelReason,
		&cancelled, &sent, &read, &created, &updated, &text); err != nil {
		return n, err
	}
	n.Urgent, n.RespectQuietHours = urgent != 0, quiet != 0
	n.DueAt, n.NextAttemptAt, n.CreatedAt, n.UpdatedAt = fromMS(due), fromMS(next), fromMS(created), fromMS(updated)
	n.ExpiresAt, n.CancelledAt, n.SentAt, n.ReadAt = fromNullMS(expires), fromNullMS(cancelled), fromNullMS(sent), fromNullMS(read)
	if err := fromJSON(data, &n.Data); err != nil {
		return n, err
	}
	if err := fromJSON(doseIDs, &n.DoseIDs); err != nil {
		return n, err
	}
	if text != "" {
		if err := fromJSON(text, &n.Text); err != nil {
			return n, err
		}
	}
	return n, fromJSON(deliveries, &n.Deliveries)
}

func (s *Store) insertNotification(ctx context.Context, db execer, n models.Notification, orIgnore bool) (int64, error) {
	data, err := jsonText(n.Data)
	if err != nil {
		return 0, err
	}
	doseIDs, err := jsonText(n.DoseIDs)
	if err != nil {
		return 0, err
	}
	deliveries, err := jsonText(n.Deliveries)
	if err != nil {
		return 0, err
	}
	var text string
	if n.Text.TitleKey != "" || n.Text.BodyKey != "" {
		if text, err = jsonText(n.Text); err != nil {
			return 0, err
		}
	}
	updatedAt := n.UpdatedAt
	if updatedAt.IsZero() {
		updatedAt = store.NotificationUpdatedAt(n)
	}
	query := `INSERT INTO notifications (` + notificationColumns + `, lease_id, lease_until, claimed_by)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, '', NULL, '')`
	if orIgnore {
		query += ` ON CONFLICT (id) DO NOTHING`
	}
	return s.execOn(ctx, db, "insert notification "+n.ID, query,
		n.ID, n.RecipientID, n.PatientID, string(n.Kind), n.Title, n.Body, data, boolInt(n.Urgent), boolInt(n.RespectQuietHours),
		ms(n.DueAt), msOrNil(n.ExpiresAt), string(n.State), doseIDs, n.Attempts, ms(n.NextAttemptAt),
		n.LastError, deliveries, n.CancelReason, msOrNil(n.CancelledAt), msOrNil(n.SentAt), msOrNil(n.ReadAt), ms(n.CreatedAt), ms(updatedAt), text)
}

const outboxColumns = `id, recipient_id, kind, due_at, state, attempts, next_attempt_at, lease_id, lease_until, claimed_by, last_error`

func scanOutbox(r scanner) (store.OutboxEntry, error) {
	var e store.OutboxEntry
	var due, next int64
	var leaseUntil sql.NullInt64
	err := r.Scan(&e.ID, &e.RecipientID, &e.Kind, &due, &e.State, &e.Attempts, &next, &e.LeaseID, &leaseUntil, &e.ClaimedBy, &e.LastError)
	e.DueAt, e.NextAttemptAt, e.LeaseUntil = fromMS(due), fromMS(next), fromNullMS(leaseUntil)
	return e, err
}

func (s *Store) insertOutbox(ctx context.Context, db execer, e store.OutboxEntry, orIgnore bool) error {
	query := `INSERT INTO outbox (` + outboxColumns + `) VALUES (?,?,?,?,?,?,?,?,?,?,?)`
	if orIgnore {
		query += ` ON CONFLICT (id) DO NOTHING`
	}
	_, err := s.execOn(ctx, db, "queue notification "+e.ID, query, e.ID, e.RecipientID, string(e.Kind), ms(e.DueAt), string(e.State),
		e.Attempts, ms(e.NextAttemptAt), e.LeaseID, msOrNil(e.LeaseUntil), e.ClaimedBy, e.LastError)
	return err
}

// Enqueue stores a new pending notification and queues it, in one
// transaction; an existing notification wins and is returned (see
// store.Notifications).
func (n Notifications) Enqueue(ctx context.Context, x models.Notification) (models.Notification, bool, error) {
	var stored models.Notification
	var created bool
	if x.UpdatedAt.IsZero() {
		x.UpdatedAt = store.NotificationUpdatedAt(x)
	}
	err := n.s.tx(ctx, "enqueue notification "+x.ID, func(tx *sql.Tx) error {
		stored, created = store.AsStored(x), true
		inserted, err := n.s.insertNotification(ctx, tx, x, true)
		if err != nil {
			return err
		}
		if inserted == 0 {
			created = false
			if stored, err = queryOne(ctx, n.s, tx, scanNotification, "notification "+x.ID,
				`SELECT `+notificationColumns+` FROM notifications WHERE id = ?`, x.ID); err != nil {
				return err
			}
		}
		if stored.State != models.NotificationPending {
			return nil
		}
		return n.s.insertOutbox(ctx, tx, store.EntryOf(stored), true)
	})
	if err != nil {
		return models.Notification{}, false, err
	}
	return stored, created, nil
}

// Get returns a notification's record; not_found if there is none.
func (n Notifications) Get(ctx context.Context, id string) (models.Notification, error) {
	return byKey[models.Notification](ctx, n.s, store.KindNotifications, id)
}

// Cancel cancels a pending notification and drops its outbox entry, in
// one transaction; false when it is missing or no longer pending.
func (n Notifications) Cancel(ctx context.Context, id, reason string, at time.Time) (bool, error) {
	var done bool
	err := n.s.tx(ctx, "cancel notification "+id, func(tx *sql.Tx) error {
		changed, err := n.s.execOn(ctx, tx, "cancel notification "+id,
			`UPDATE notifications SET state = 'cancelled', cancel_reason = ?, cancelled_at = ?, updated_at = max(?, updated_at + 1) WHERE id = ? AND state = 'pending'`,
			reason, ms(at), ms(at), id)
		if err != nil || changed == 0 {
			done = false
			return err
		}
		done = true
		_, err = n.s.execOn(ctx, tx, "dequeue cancelled notification "+id, `DELETE FROM outbox WHERE id = ?`, id)
		return err
	})
	return done, err
}

// Claim leases up to limit due outbox entries in one statement (see
// store.Notifications): the UPDATE re-checks each row's state as it
// writes it, so an entry is claimed once, whoever else is claiming.
func (n Notifications) Claim(ctx context.Context, now time.Time, leaseID, owner string, lease time.Duration, limit int) ([]models.Notification, error) {
	if leaseID == "" || lease <= 0 || limit <= 0 {
		return nil, fmt.Errorf("claim notifications: lease id, lease and limit are required")
	}
	limit = min(limit, store.MaxClaim)
	var entries []store.OutboxEntry
	err := n.s.tx(ctx, "claim notifications", func(tx *sql.Tx) error {
		var err error
		entries, err = queryAll(ctx, n.s, tx, scanOutbox, "claim notifications",
			`UPDATE outbox SET state = 'sending', lease_id = ?, lease_until = ?, claimed_by = ?, attempts = attempts + 1
			 WHERE id IN (
				SELECT id FROM (
					SELECT id, next_attempt_at FROM outbox INDEXED BY outbox_due WHERE state = 'pending' AND next_attempt_at <= ?
					UNION ALL
					SELECT id, next_attempt_at FROM outbox INDEXED BY outbox_leased WHERE state = 'sending' AND lease_until < ?
				) ORDER BY next_attempt_at, id LIMIT ?)
			 RETURNING `+outboxColumns,
			leaseID, ms(now.Add(lease)), owner, ms(now), ms(now), limit)
		return err
	})
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	return n.withRecords(ctx, entries)
}

// withRecords returns the claimed entries with their records
// (store.Claimed).
func (n Notifications) withRecords(ctx context.Context, entries []store.OutboxEntry) ([]models.Notification, error) {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	records, err := queryAll(ctx, n.s, n.s.r, scanNotification, "records of claimed notifications",
		`SELECT `+notificationColumns+` FROM notifications WHERE id IN (SELECT value FROM json_each(?))`, idList(ids))
	if err != nil {
		return nil, err
	}
	return store.Claimed(entries, records), nil
}

// Queued returns a notification's outbox entry; not_found when it is not
// queued.
func (n Notifications) Queued(ctx context.Context, id string) (store.OutboxEntry, error) {
	return byKey[store.OutboxEntry](ctx, n.s, store.KindOutbox, id)
}

// Finish writes a delivery's final result to the record; not_found if it
// is missing.
func (n Notifications) Finish(ctx context.Context, x models.Notification) error {
	deliveries, err := jsonText(x.Deliveries)
	if err != nil {
		return err
	}
	set := []string{"state = ?", "attempts = ?", "next_attempt_at = ?", "deliveries = ?", "last_error = ?", "updated_at = max(?, updated_at + 1)"}
	args := []any{string(x.State), x.Attempts, ms(x.NextAttemptAt), deliveries, x.LastError, msOrZero(x.SentAt)}
	if x.SentAt != nil {
		set = append(set, "sent_at = ?")
		args = append(args, ms(*x.SentAt))
	}
	if x.CancelReason != "" {
		set = append(set, "cancel_reason = ?")
		args = append(args, x.CancelReason)
	}
	changed, err := n.s.exec(ctx, "finish notification "+x.ID,
		`UPDATE notifications SET `+strings.Join(set, ", ")+` WHERE id = ?`, append(args, x.ID)...)
	if err == nil && changed == 0 {
		return models.Errorf(models.CodeNotFound, "notification not found")
	}
	return err
}

// Release removes the outbox entries of ids still held under leaseID.
func (n Notifications) Release(ctx context.Context, leaseID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := n.s.exec(ctx, fmt.Sprintf("release %d notifications", len(ids)),
		`DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?)) AND lease_id = ?`, idList(ids), leaseID)
	return err
}

// Reschedule puts the outbox entries of ids still held under leaseID back
// to pending at next and reports how many it changed.
func (n Notifications) Reschedule(ctx context.Context, leaseID string, ids []string, next time.Time, attemptsDelta int, lastError string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	changed, err := n.s.exec(ctx, fmt.Sprintf("reschedule %d notifications", len(ids)),
		`UPDATE outbox SET state = 'pending', next_attempt_at = ?, last_error = ?, lease_id = '', lease_until = NULL, claimed_by = '',
		 attempts = attempts + ? WHERE id IN (SELECT value FROM json_each(?)) AND lease_id = ?`,
		ms(next), lastError, attemptsDelta, idList(ids), leaseID)
	return int(changed), err
}

// Inbox returns up to limit of the recipient's notifications due at now
// and not cancelled, newest first, strictly after the key after.
func (n Notifications) Inbox(ctx context.Context, recipientID string, now time.Time, after *models.InboxKey, limit int) ([]models.Notification, error) {
	query := `SELECT ` + notificationColumns + ` FROM notifications WHERE recipient_id = ? AND due_at <= ? AND state != 'cancelled'`
	args := []any{recipientID, ms(now)}
	if after != nil {
		query += ` AND (due_at, id) < (?, ?)`
		args = append(args, ms(after.DueAt), after.ID)
	}
	return queryAll(ctx, n.s, n.s.r, scanNotification, "inbox of "+recipientID,
		query+` ORDER BY due_at DESC, id DESC LIMIT ?`, append(args, limit)...)
}

// MarkRead records the first time the notification was read; not_found if
// it is missing.
func (n Notifications) MarkRead(ctx context.Context, id string, at time.Time) error {
	changed, err := n.s.exec(ctx, "mark notification "+id+" read",
		`UPDATE notifications SET updated_at = CASE WHEN read_at IS NULL THEN max(?, updated_at + 1) ELSE updated_at END,
		read_at = min(coalesce(read_at, ?), ?) WHERE id = ?`, ms(at), ms(at), ms(at), id)
	if err == nil && changed == 0 {
		return models.Errorf(models.CodeNotFound, "notification not found")
	}
	return err
}

// PurgeFinished deletes up to limit sent, failed or cancelled
// notifications due before `before`, oldest first, in one statement; their
// outbox rows, if any are left, go with them (a foreign key).
func (n Notifications) PurgeFinished(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	deleted, err := n.s.exec(ctx, "purge finished notifications",
		`DELETE FROM notifications WHERE id IN (
			SELECT id FROM notifications INDEXED BY notifications_finished
			WHERE state IN ('sent', 'failed', 'cancelled') AND due_at < ? ORDER BY due_at LIMIT ?)`, ms(before), limit)
	return int(deleted), err
}

// Changed returns the recipient's notifications about the patient changed
// in (after, upTo], by (updatedAt, id) (index notifications_changes).
func (n Notifications) Changed(ctx context.Context, recipientID, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Notification, error) {
	return queryAll(ctx, n.s, n.s.r, scanNotification, "notification changes of "+recipientID,
		`SELECT `+notificationColumns+` FROM notifications WHERE recipient_id = ? AND `+changedSince,
		append([]any{recipientID}, changeArgs(patientID, after, upTo, limit)...)...)
}

// msOrZero is ms of *t, or 0 when t is nil.
func msOrZero(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return ms(*t)
}
