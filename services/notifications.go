package services

import (
	"context"
	"log/slog"
	"maps"
	"time"
	"unicode/utf8"

	"github.com/concord-health/concord/models"
)

// NotificationStore is what Notifications needs of notification storage
// (the permanent record and inbox, and the outbox of delivery work).
type NotificationStore interface {
	Enqueue(ctx context.Context, n models.Notification) (models.Notification, bool, error)
	Get(ctx context.Context, id string) (models.Notification, error)
	Cancel(ctx context.Context, id, reason string, at time.Time) (bool, error)
	Inbox(ctx context.Context, recipientID string, now time.Time, after *models.InboxKey, limit int) ([]models.Notification, error)
	MarkRead(ctx context.Context, id string, at time.Time) error
}

// Inbox page sizes.
const (
	DefaultInboxPage = 50
	MaxInboxPage     = 200
)

// NotificationPage is one page of an inbox, newest first. NextCursor is ""
// on the last page.
type NotificationPage struct {
	Items      []models.Notification
	NextCursor string
}

// Notifications creates notifications (the outbox every message to a person
// goes through) and serves each user's in-app inbox. Delivery does the
// pushing.
type Notifications struct {
	store   NotificationStore
	users   UserDirectory
	metrics *NotificationMetrics
	now     func() time.Time
	log     *slog.Logger
}

// NewNotifications returns the notifications service; users gives each
// recipient's locale, the language of their notifications.
func NewNotifications(store NotificationStore, users UserDirectory, metrics *NotificationMetrics, now func() time.Time, log *slog.Logger) *Notifications {
	return &Notifications{store: store, users: users, metrics: metrics, now: now, log: log}
}

// Enqueue creates a notification, pending, due at n.DueAt, and queues it
// for delivery. Its ID is the dedupe key of the event (built by the kind's
// key function in models, such as models.DoseReminderID): if a notification
// with that ID exists, Enqueue returns it with created=false and changes
// nothing (besides re-queueing it if it is pending and was not queued), so
// the same event may be enqueued on every scheduler tick and is still
// delivered once.
//
// The caller sets ID, RecipientID, PatientID, Kind, Title and Body or
// Text, Data, Urgent, RespectQuietHours, DueAt, ExpiresAt and DoseIDs; the
// rest is the server's. With Text (message catalogue keys), Title and Body
// are rendered from it in the recipient's language (models.User.Locale;
// English when the recipient is not stored), the body cut to
// models.MaxNotificationBody characters.
// Data gains notificationId, kind and (when set) patientId. Title and Body
// must carry no health data unless the patient opted in
// (Preferences.PushDetails). Errors: invalid (a programming error: the
// fields are named).
func (s *Notifications) Enqueue(ctx context.Context, n models.Notification) (models.Notification, bool, error) {
	if n.Text.TitleKey != "" || n.Text.BodyKey != "" {
		lang := models.LanguageEnglish
		u, err := s.users.Get(ctx, n.RecipientID)
		switch {
		case err == nil:
			lang = u.Locale.Language()
		case !models.IsCode(err, models.CodeNotFound):
			return models.Notification{}, false, err
		}
		n.Title, n.Body = renderPushText(n.Text, lang)
		if utf8.RuneCountInString(n.Body) > models.MaxNotificationBody {
			n.Body = string([]rune(n.Body)[:models.MaxNotificationBody-1]) + "…"
		}
	}
	if err := n.Validate(); err != nil {
		return models.Notification{}, false, err
	}
	data := make(map[string]string, len(n.Data)+3)
	maps.Copy(data, n.Data)
	data[models.DataNotificationID] = n.ID
	data[models.DataKind] = string(n.Kind)
	if n.PatientID != "" {
		data[models.DataPatientID] = n.PatientID
	}
	x := models.Notification{
		ID: n.ID, RecipientID: n.RecipientID, PatientID: n.PatientID, Kind: n.Kind,
		Title: n.Title, Body: n.Body, Text: n.Text, Data: data, Urgent: n.Urgent, RespectQuietHours: n.RespectQuietHours,
		DueAt: n.DueAt, ExpiresAt: n.ExpiresAt, DoseIDs: n.DoseIDs,
		State: models.NotificationPending, NextAttemptAt: n.DueAt, CreatedAt: s.now().UTC(),
	}
	stored, created, err := s.store.Enqueue(ctx, x)
	if err != nil {
		return models.Notification{}, false, err
	}
	if created {
		s.metrics.kindCounter(s.metrics.queued, stored.Kind).Inc()
		s.log.DebugContext(ctx, "notification queued", "notification", stored.ID, "kind", stored.Kind, "due", stored.DueAt)
	}
	return stored, created, nil
}

// Cancel cancels a notification that is still pending (not yet delivered,
// failed or cancelled); reason is recorded ("dose_logged"). It reports
// whether it cancelled it; a missing or already final notification is not
// an error. A notification being pushed at that moment may still arrive,
// and is then recorded as sent.
func (s *Notifications) Cancel(ctx context.Context, id, reason string) (bool, error) {
	ok, err := s.store.Cancel(ctx, id, reason, s.now().UTC())
	if err == nil && ok {
		s.log.DebugContext(ctx, "notification cancelled", "notification", id, "reason", reason)
	}
	return ok, err
}

// Inbox returns a page of the caller's notifications that are due and not
// cancelled, newest first. limit 0 means DefaultInboxPage. Errors: invalid
// (limit, cursor).
func (s *Notifications) Inbox(ctx context.Context, p models.Principal, limit int, cursor string) (NotificationPage, error) {
	var pr models.Problems
	switch {
	case limit == 0:
		limit = DefaultInboxPage
	case limit < 1 || limit > MaxInboxPage:
		pr.Add("limit", "must be between 1 and %d", MaxInboxPage)
	}
	var after *models.InboxKey
	if cursor != "" {
		k, ok := decodeInboxCursor(cursor)
		if !ok {
			pr.Add("cursor", "is not a cursor this server issued; start again without one")
		}
		after = &k
	}
	if err := pr.Err(); err != nil {
		return NotificationPage{}, err
	}
	items, err := s.store.Inbox(ctx, p.UserID, s.now().UTC(), after, limit+1)
	if err != nil {
		return NotificationPage{}, err
	}
	page := NotificationPage{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		last := page.Items[limit-1]
		page.NextCursor = encodeInboxCursor(models.InboxKey{DueAt: last.DueAt, ID: last.ID})
	}
	return page, nil
}

// MarkRead records that the caller read one of their notifications; doing
// it again changes nothing. Errors: not_found (no such notification in the
// caller's inbox: someone else's, not yet due, or cancelled).
func (s *Notifications) MarkRead(ctx context.Context, p models.Principal, id string) error {
	n, err := s.store.Get(ctx, id)
	if models.IsCode(err, models.CodeNotFound) {
		return errNotificationNotFound
	}
	if err != nil {
		return err
	}
	now := s.now().UTC()
	if n.RecipientID != p.UserID || n.State == models.NotificationCancelled || n.DueAt.After(now) {
		return errNotificationNotFound
	}
	if n.ReadAt != nil {
		return nil
	}
	return s.store.MarkRead(ctx, id, now)
}

var errNotificationNotFound = models.Errorf(models.CodeNotFound, "notification not found")

const inboxCursorVersion = "n1"

// encodeInboxCursor makes the opaque cursor for the page after key k.
func encodeInboxCursor(k models.InboxKey) string {
	return encodeTimeCursor(inboxCursorVersion, k.DueAt, k.ID)
}

func decodeInboxCursor(c string) (models.InboxKey, bool) {
	at, id, ok := decodeTimeCursor(inboxCursorVersion, c)
	if !ok || !models.ValidNotificationID(id) {
		return models.InboxKey{}, false
	}
	return models.InboxKey{DueAt: at, ID: id}, true
}
