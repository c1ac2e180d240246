package models

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// NotificationKind is what a notification is about.
type NotificationKind string

// The kinds of notification.
const (
	KindDoseReminder NotificationKind = "dose_reminder"
	KindDoseFollowUp NotificationKind = "dose_follow_up"
	// KindDoseSnooze reminds the patient again of one dose they snoozed.
	KindDoseSnooze         NotificationKind = "dose_snooze"
	KindRefillReminder     NotificationKind = "refill_reminder"
	KindCarerMissedDose    NotificationKind = "carer_missed_dose"
	KindCarerSevereReading NotificationKind = "carer_severe_reading"
	KindPharmacyFlag       NotificationKind = "pharmacy_flag"
	// KindPharmacyService tells a patient that a pharmacy service changed
	// something of theirs (the medicines list after a hospital discharge).
	KindPharmacyService NotificationKind = "pharmacy_service"
)

// Valid reports whether k is one of the kinds.
func (k NotificationKind) Valid() bool {
	switch k {
	case KindDoseReminder, KindDoseFollowUp, KindDoseSnooze, KindRefillReminder, KindCarerMissedDose, KindCarerSevereReading, KindPharmacyFlag,
		KindPharmacyService:
		return true
	}
	return false
}

// NotificationState is where a notification is in its delivery.
//
// The permanent record goes pending → sent | failed | cancelled. Sending
// exists only in the outbox: a pending notification claimed, under a
// lease, by one scheduler instance.
type NotificationState string

// The notification states.
const (
	NotificationPending   NotificationState = "pending"
	NotificationSending   NotificationState = "sending"
	NotificationSent      NotificationState = "sent"
	NotificationFailed    NotificationState = "failed"
	NotificationCancelled NotificationState = "cancelled"
)

// Terminal reports whether s is final: sent, failed or cancelled.
func (s NotificationState) Terminal() bool {
	return s == NotificationSent || s == NotificationFailed || s == NotificationCancelled
}

// Keys Concord always puts in a notification's Data; callers may set them
// only to the values Concord would.
const (
	DataNotificationID = "notificationId"
	DataKind           = "kind"
	DataPatientID      = "patientId"
	// DataDoseIDs holds the ids of the doses a dose reminder or follow-up
	// is about, comma-separated (dose ids are opaque and hold no name), so
	// the app's "Taken" and "Snooze" actions can act on them at once. Set
	// only by delivery (DoseIDsData), never stored in Data.
	DataDoseIDs = "doseIds"
)

// DoseReminderCategory is the push category of dose reminders and
// follow-ups: the actions the app offers on them ("Taken", "Snooze"),
// APNs aps.category and Android click_action.
const DoseReminderCategory = "DOSE_REMINDER"

// maxDoseIDsData bounds the doseIds data value: FCM refuses a message over
// 4 KB, and a reminder of more doses than fit is still useful without it
// (the app fetches the doses).
const maxDoseIDsData = 2048

// PushCategory is the push category of notifications of kind k:
// DoseReminderCategory for dose reminders, follow-ups and snoozed
// reminders, "" for the rest.
func (k NotificationKind) PushCategory() string {
	if k == KindDoseReminder || k == KindDoseFollowUp || k == KindDoseSnooze {
		return DoseReminderCategory
	}
	return ""
}

// DoseIDsData is the doseIds data value of n (DataDoseIDs): its dose ids,
// comma-separated, for the kinds with a push category; "" when it has none
// or they do not fit in maxDoseIDsData bytes.
func (n Notification) DoseIDsData() string {
	if n.Kind.PushCategory() == "" || len(n.DoseIDs) == 0 {
		return ""
	}
	v := strings.Join(n.DoseIDs, ",")
	if len(v) > maxDoseIDsData {
		return ""
	}
	return v
}

// Limits on a notification's content. FCM refuses messages over 4 KB.
const (
	MaxNotificationIDLength = 200
	MaxNotificationTitle    = 100 // characters
	MaxNotificationBody     = 500 // characters
	MaxNotificationData     = 10  // caller-set keys
	maxDataKey              = 64
	maxDataValue            = 512
)

// Notification is one message to one person: the dose reminder, follow-up,
// refill reminder, carer alert or pharmacist notice. Its ID is the dedupe
// key of the event it announces, built by the kind's key function
// (DoseReminderID and the others beside it), so the same event can never
// produce two notifications. Every notification is in its
// recipient's in-app inbox from DueAt; it is also pushed to their devices.
//
// Title and Body are the push text. They carry no health data unless the
// patient opted in (Preferences.PushDetails): the caller decides the text.
type Notification struct {
	ID          string `json:"id" bson:"_id"`
	RecipientID string `json:"recipientId" bson:"recipientId"`
	// PatientID is whom the notification is about (may be the recipient).
	PatientID string           `json:"patientId,omitempty" bson:"patientId,omitempty"`
	Kind      NotificationKind `json:"kind" bson:"kind"`
	Title     string           `json:"title" bson:"title"`
	Body      string           `json:"body" bson:"body"`
	// Text is the title and body as message catalogue keys with the
	// body's arguments: Title and Body are rendered from it in the
	// recipient's language when it is queued, and it is pushed so that an
	// app may localise the push itself. Zero for a notification whose
	// caller set Title and Body directly.
	Text PushText `json:"-" bson:"text"`
	// Data goes to the app with the push; it always holds notificationId,
	// kind and (when set) patientId.
	Data map[string]string `json:"data,omitempty" bson:"data,omitempty"`
	// Urgent marks a time-critical push (dose reminders): high priority, and
	// never delayed by quiet hours.
	Urgent bool `json:"urgent" bson:"urgent"`
	// RespectQuietHours delays the push (not the inbox entry) to the end of
	// the recipient's quiet hours. Ignored when Urgent.
	RespectQuietHours bool      `json:"-" bson:"respectQuietHours"`
	DueAt             time.Time `json:"dueAt" bson:"dueAt"`
	// ExpiresAt, when set, is when the push stops being useful (a reminder
	// for a dose already missed): not pushed after it, and its push asks FCM
	// to give up by then.
	ExpiresAt *time.Time        `json:"-" bson:"expiresAt,omitempty"`
	State     NotificationState `json:"state" bson:"state"`
	// DoseIDs are the doses a dose reminder or follow-up is about, kept
	// with the record so that logging them can cancel it. Pushed in the
	// data (DataDoseIDs) for the app's actions; not shown in the inbox.
	DoseIDs []string `json:"-" bson:"doseIds,omitempty"`

	// Delivery bookkeeping; never shown to clients.
	Attempts      int        `json:"-" bson:"attempts"`
	NextAttemptAt time.Time  `json:"-" bson:"nextAttemptAt"`
	LastError     string     `json:"-" bson:"lastError,omitempty"`
	Deliveries    []Delivery `json:"-" bson:"deliveries,omitempty"`
	CancelReason  string     `json:"-" bson:"cancelReason,omitempty"`
	CancelledAt   *time.Time `json:"-" bson:"cancelledAt,omitempty"`

	SentAt    *time.Time `json:"sentAt,omitempty" bson:"sentAt,omitempty"`
	ReadAt    *time.Time `json:"readAt,omitempty" bson:"readAt,omitempty"`
	CreatedAt time.Time  `json:"createdAt" bson:"createdAt"`
	// UpdatedAt is the notification's place in the change feed: when it
	// enters the inbox (its due time) or later, when it is delivered, read
	// or cancelled. Set by the store.
	UpdatedAt time.Time `json:"updatedAt" bson:"updatedAt"`
}

// PushText is a push's text as message catalogue keys: the keys of its
// title and body and the body's arguments, in the order the catalogue
// gives them (Android title_loc_key/body_loc_key/body_loc_args, APNs
// title-loc-key/loc-key/loc-args). The arguments hold no health data
// unless the patient opted in (Preferences.PushDetails), as the text.
type PushText struct {
	TitleKey string   `json:"titleKey,omitempty" bson:"titleKey,omitempty"`
	BodyKey  string   `json:"bodyKey,omitempty" bson:"bodyKey,omitempty"`
	BodyArgs []string `json:"bodyArgs,omitempty" bson:"bodyArgs,omitempty"`
}

// Validate checks what the caller of Enqueue sets, naming each bad field.
func (n Notification) Validate() error {
	var p Problems
	if !ValidNotificationID(n.ID) {
		p.Add("id", "must be 1 to %d printable ASCII characters without spaces, '/', '?', '#' or '%%'", MaxNotificationIDLength)
	}
	if n.RecipientID == "" {
		p.Add("recipientId", "is required")
	}
	if !n.Kind.Valid() {
		p.Add("kind", "is not a notification kind")
	}
	if n.Title == "" && n.Body == "" {
		p.Add("title", "a title or a body is required")
	}
	if utf8.RuneCountInString(n.Title) > MaxNotificationTitle {
		p.Add("title", "must be at most %d characters", MaxNotificationTitle)
	}
	if utf8.RuneCountInString(n.Body) > MaxNotificationBody {
		p.Add("body", "must be at most %d characters", MaxNotificationBody)
	}
	if len(n.Data) > MaxNotificationData {
		p.Add("data", "must have at most %d keys", MaxNotificationData)
	}
	for k, v := range n.Data {
		switch {
		case k == "" || len(k) > maxDataKey:
			p.Add("data", "keys must be 1 to %d bytes", maxDataKey)
		case reservedDataKey(k) && !n.ownData(k, v):
			p.Add("data."+k, "is a reserved key")
		case len(v) > maxDataValue:
			p.Add("data."+k, "must be at most %d bytes", maxDataValue)
		}
	}
	if n.DueAt.IsZero() {
		p.Add("dueAt", "is required")
	}
	if n.ExpiresAt != nil && !n.ExpiresAt.After(n.DueAt) {
		p.Add("expiresAt", "must be after dueAt")
	}
	return p.Err()
}

// ownData reports whether v is the value Concord itself sets for the data
// key k (so a stored notification can be enqueued again as it is).
func (n Notification) ownData(k, v string) bool {
	switch k {
	case DataNotificationID:
		return v == n.ID
	case DataKind:
		return v == string(n.Kind)
	case DataPatientID:
		return v == n.PatientID && v != ""
	}
	return false
}

// reservedDataKey reports keys FCM refuses in a data payload and the keys
// Concord sets itself.
func reservedDataKey(k string) bool {
	switch k {
	case DataNotificationID, DataKind, DataPatientID, DataDoseIDs, "from", "notification", "message_type", "collapse_key":
		return true
	}
	return strings.HasPrefix(k, "google.") || strings.HasPrefix(k, "gcm.")
}

// ValidNotificationID reports whether id can be a notification id: it must
// fit in one URL path segment unescaped (ids contain ':', as in
// "dose_reminder:pat1:2026-03-29T08:00").
func ValidNotificationID(id string) bool {
	if id == "" || len(id) > MaxNotificationIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c > '~' || c == '/' || c == '?' || c == '#' || c == '%' {
			return false
		}
	}
	return true
}

// InboxKey is a notification's place in an inbox ordered newest first:
// (DueAt desc, ID desc).
type InboxKey struct {
	DueAt time.Time
	ID    string
}

// DeliveryOutcome is what became of a push to one device.
type DeliveryOutcome string

// The delivery outcomes (package push's outcomes).
const (
	DeliverySent         DeliveryOutcome = "sent"
	DeliveryUnregistered DeliveryOutcome = "unregistered"
	DeliveryInvalid      DeliveryOutcome = "invalid"
	DeliveryRetry        DeliveryOutcome = "retry"
	DeliveryFailed       DeliveryOutcome = "failed"
)

// Delivery records one push of a notification to one device, on the
// notification's last attempt. The token is never stored here: only its
// redacted hint and the device id.
type Delivery struct {
	DeviceID  string          `json:"deviceId" bson:"deviceId"`
	TokenHint string          `json:"tokenHint" bson:"tokenHint"`
	Outcome   DeliveryOutcome `json:"outcome" bson:"outcome"`
	MessageID string          `json:"messageId,omitempty" bson:"messageId,omitempty"`
	Error     string          `json:"error,omitempty" bson:"error,omitempty"`
	At        time.Time       `json:"at" bson:"at"`
}

// Platform is the kind of device an FCM registration token belongs to.
type Platform string

// The device platforms.
const (
	PlatformAndroid Platform = "android"
	PlatformIOS     Platform = "ios"
	PlatformWeb     Platform = "web"
)

// Valid reports whether p is one of the platforms.
func (p Platform) Valid() bool {
	return p == PlatformAndroid || p == PlatformIOS || p == PlatformWeb
}

// MaxPushTokenLength bounds an FCM registration token (an app's are about
// 160 characters; web push tokens are longer).
const MaxPushTokenLength = 4096

// Device is one of a user's devices: its FCM registration token. The token
// is a credential for the device; it never leaves the server, and its ID is
// the token's hash, so a token registered again (by anyone) is the same
// device.
type Device struct {
	ID       string   `json:"id" bson:"_id"`
	UserID   string   `json:"-" bson:"userId"`
	Platform Platform `json:"platform" bson:"platform"`
	Token    string   `json:"-" bson:"token"`
	// TokenHint is the token's first characters, to tell devices apart.
	TokenHint  string    `json:"tokenHint" bson:"tokenHint"`
	CreatedAt  time.Time `json:"createdAt" bson:"createdAt"`
	LastSeenAt time.Time `json:"lastSeenAt" bson:"lastSeenAt"`
}

// DeviceID is the id of the device a registration token belongs to: the
// token's SHA-256, hex.
func DeviceID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ValidatePushToken checks a registration token's shape (FCM decides
// whether it is real): 1 to MaxPushTokenLength printable ASCII characters
// without spaces.
func ValidatePushToken(field, token string, p *Problems) {
	if token == "" {
		p.Add(field, "is required")
		return
	}
	if len(token) > MaxPushTokenLength {
		p.Add(field, "must be at most %d characters", MaxPushTokenLength)
		return
	}
	for i := 0; i < len(token); i++ {
		if token[i] <= ' ' || token[i] > '~' {
			p.Add(field, "must be printable ASCII without spaces")
			return
		}
	}
}

// Until reports whether t falls within the quiet hours, read as local
// wall-clock times in loc, and if so when they end. A window whose start is
// after its end (22:00–07:00) crosses midnight. Ends are resolved in loc on
// the day they fall, so they stay at the same local time across DST changes.
func (q QuietHours) Until(t time.Time, loc *time.Location) (time.Time, bool) {
	start, ok1 := clockMinutes(q.Start)
	end, ok2 := clockMinutes(q.End)
	if !ok1 || !ok2 || start == end {
		return time.Time{}, false
	}
	local := t.In(loc)
	now := local.Hour()*60 + local.Minute()
	y, m, d := local.Date()
	endOn := func(day int) time.Time { return time.Date(y, m, day, end/60, end%60, 0, 0, loc) }
	switch {
	case start < end && now >= start && now < end:
		return endOn(d), true
	case start > end && now >= start:
		return endOn(d + 1), true
	case start > end && now < end:
		return endOn(d), true
	}
	return time.Time{}, false
}

// clockMinutes parses "HH:MM" into minutes after midnight.
func clockMinutes(s string) (int, bool) {
	if !IsClock(s) {
		return 0, false
	}
	return int(s[0]-'0')*600 + int(s[1]-'0')*60 + int(s[3]-'0')*10 + int(s[4]-'0'), true
}
