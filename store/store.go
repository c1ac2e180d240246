// One job past 400 lines: the whole storage contract, every repository's guarantees side by side.

// Package store states Concord's storage contract once: what every
// repository guarantees, whichever database is behind it. Two backends
// implement it: store/sqlite (the embedded default, one file in the data
// directory) and store/mongodb (MongoDB, for production and scale-out).
// services, api and models know neither: they see these guarantees only.
//
// Every backend:
//   - returns *models.Error with CodeNotFound for a missing record,
//     CodeConflict for a taken id or unique key, and CodeUnavailable when
//     the database is busy, full or unreachable (the request may be
//     retried); anything else is wrapped with what it was doing;
//   - keeps every time as a UTC instant to the millisecond (Millis): it
//     truncates each time it is given, nested ones included, as it writes
//     it, and every time it returns is so, read back or handed back
//     (Enqueue's new notification). A time given in a filter or in a
//     compare-and-set's condition is compared as it would be stored, so a
//     time read from the store and passed back (the updatedAt
//     Doses.Replace matches) matches itself. Bounds a method calls exact
//     (Readings' [from, to)) select what the exact instants would. Callers
//     need not truncate times;
//   - makes every compare-and-set below (a method that "reports whether")
//     atomic in the database: of any number of concurrent calls from one
//     state, across goroutines and processes, exactly one succeeds.
//
// The contract test suite (this package's tests) runs on each backend;
// CONCORD_TEST_STORE chooses which (store/storetest).
package store

import (
	"context"
	"time"

	"github.com/concord-health/concord/models"
)

// RetryAfter is how long an unavailable error asks the client to wait.
const RetryAfter = 2 * time.Second

// Store is one Concord database.
type Store interface {
	Users() Users
	Sessions() Sessions
	Readings() Readings
	Medications() Medications
	Doses() Doses
	Notifications() Notifications
	Devices() Devices
	Flags() Flags
	Care() Care
	Consents() Consents
	Pharmacies() Pharmacies
	Audit() Audit
	Services() ServiceEpisodes
	ReportLinks() ReportLinks
	// Ping reports whether the database answers and can take writes.
	Ping(ctx context.Context) error
	// Close releases the database; nothing may be called afterwards.
	Close(ctx context.Context) error
	// Copier moves whole databases between backends (concord migrate).
	Copier
	// Erasure deletes a person's records (account deletion).
	Erasure
}

// Users stores accounts; the e-mail is unique.
type Users interface {
	// Create inserts a user. Errors: conflict if the id or e-mail exists.
	Create(ctx context.Context, u models.User) error
	// Get returns a user by id. Errors: not_found.
	Get(ctx context.Context, id string) (models.User, error)
	// ByEmail returns a user by normalised e-mail. Errors: not_found.
	ByEmail(ctx context.Context, email string) (models.User, error)
	// GetMany returns the users with the given ids that exist, in no
	// particular order, in one query.
	GetMany(ctx context.Context, ids []string) ([]models.User, error)
	// Update replaces the stored user (matched by id). Errors: not_found;
	// conflict if the new e-mail is taken.
	Update(ctx context.Context, u models.User) error
	// UpdateIf is Update if the stored user's updatedAt is still prev, and
	// reports whether it did (compare-and-set).
	UpdateIf(ctx context.Context, u models.User, prev time.Time) (bool, error)
	// SetPassword stores a new password hash. Errors: not_found.
	SetPassword(ctx context.Context, id, hash string, at time.Time) error
	// CountByRole counts the accounts with a role.
	CountByRole(ctx context.Context, role models.Role) (int64, error)
}

// Sessions stores logins (refresh-token families) and their refresh
// tokens, each token under its hash.
type Sessions interface {
	// Create stores a new session. Errors: conflict.
	Create(ctx context.Context, s models.Session) error
	// Get returns a session by id. Errors: not_found.
	Get(ctx context.Context, id string) (models.Session, error)
	// Revoke marks a session revoked; the first revocation's time and
	// reason stay.
	Revoke(ctx context.Context, id, reason string, at time.Time) error
	// RevokeAllForUser revokes every open session of a user.
	RevokeAllForUser(ctx context.Context, userID, reason string, at time.Time) error
	// AddToken stores a refresh token. Errors: conflict.
	AddToken(ctx context.Context, t models.RefreshToken) error
	// Token returns a refresh token by hash. Errors: not_found.
	Token(ctx context.Context, hash string) (models.RefreshToken, error)
	// SpendToken marks an unspent token spent and reports whether this call
	// did (compare-and-set).
	SpendToken(ctx context.Context, hash string, at time.Time) (bool, error)
	// PurgeEnded deletes what is left of logins that ended before
	// `before`, and returns how many sessions and refresh tokens it
	// deleted; one call deletes at most 2·limit of each (call it again
	// until it returns 0):
	//   - the refresh tokens of sessions revoked before `before`, and then
	//     those sessions: no token of a revoked session can be used again;
	//   - refresh tokens that expired before `before`, and then the
	//     sessions they leave without a token (the session's last token
	//     expired before `before`).
	// A token of a standing session is never deleted before it expires:
	// while it could be presented, finding it spent is how a replay is
	// detected (reuse revokes the session). A session is deleted only once
	// it has no token, so no token outlives its session; a session created
	// at or after `before` is never deleted.
	PurgeEnded(ctx context.Context, before time.Time, limit int) (int, error)
}

// Readings stores patients' readings under their ids (any patient's id
// space is one), so a reading uploaded twice is stored once. An imported
// reading's ImportKey is unique too: no two readings of a patient share
// one (the keys services make also name the patient, so none are shared
// at all), whether deleted or not; readings without one ("") are not
// compared.
type Readings interface {
	// Insert stores a new reading. Errors: conflict if the id is taken (by
	// any patient's reading, deleted or not), or its import key among the
	// patient's readings.
	Insert(ctx context.Context, r models.Reading) error
	// InsertMany stores every reading whose id and import key are free,
	// whatever happens to the others, and returns the positions
	// (ascending) of those not stored because their id or import key was
	// taken, by a stored reading or an earlier one in the call. On any other error the caller cannot know which were
	// stored; retrying is safe.
	InsertMany(ctx context.Context, rs []models.Reading) (duplicates []int, err error)
	// Lookup returns the reading under id, any patient's, deleted or not.
	// Errors: not_found.
	Lookup(ctx context.Context, id string) (models.Reading, error)
	// LookupMany is Lookup for many ids; missing ids are absent.
	LookupMany(ctx context.Context, ids []string) (map[string]models.Reading, error)
	// Get returns a live reading of the patient. Errors: not_found when
	// there is none, it is another patient's, or it was deleted.
	Get(ctx context.Context, patientID, id string) (models.Reading, error)
	// List returns one page of the patient's live readings matching q,
	// newest first by (takenAt, id), at most q.Limit; q.From and q.To
	// bound takenAt as exact instants.
	List(ctx context.Context, q models.ReadingQuery) ([]models.Reading, error)
	// Range returns every live reading of the patient of type typ taken in
	// [from, to) (exact instants), in no particular order.
	Range(ctx context.Context, patientID string, typ models.ReadingType, from, to time.Time) ([]models.Reading, error)
	// SoftDelete marks the patient's live reading deleted (updatedAt at):
	// it leaves Get, List and Range and its id stays taken. Errors:
	// not_found.
	SoftDelete(ctx context.Context, patientID, id string, at time.Time) error
	// Changed returns the patient's readings, deleted ones included (with
	// DeletedAt), changed after `after` and at or before upTo (see
	// models.ChangeKey), at most limit.
	Changed(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Reading, error)
}

// Medications stores patients' medicines under their ids.
type Medications interface {
	// Create stores a new medication. Errors: conflict if the id is taken.
	Create(ctx context.Context, m models.Medication) error
	// Get returns a medication by id, any patient's. Errors: not_found.
	Get(ctx context.Context, id string) (models.Medication, error)
	// ListByPatient returns every medication of the patient, active and
	// stopped, by (createdAt, id).
	ListByPatient(ctx context.Context, patientID string) ([]models.Medication, error)
	// ListActive returns every active medication of every patient, by
	// (patientId, id).
	ListActive(ctx context.Context) ([]models.Medication, error)
	// CountActive returns how many active medications the patient has.
	CountActive(ctx context.Context, patientID string) (int, error)
	// Update stores the edited fields of an active medication (name,
	// strength, form, instructions, code, schedule, updatedAt and, with
	// setStock, its stock: removed when m.Stock is nil) if its updatedAt is
	// still prev, and reports whether it did (compare-and-set); the rest,
	// and the stock quantity without setStock, stay as stored. Errors:
	// not_found; conflict if it is stopped.
	Update(ctx context.Context, m models.Medication, setStock bool, prev time.Time) (bool, error)
	// Stop marks an active medication stopped, with updatedAt at least
	// `at`, and reports whether this call did; when prev is not zero, only
	// if its updatedAt is still prev. Errors: not_found.
	Stop(ctx context.Context, id string, at, prev time.Time) (bool, error)
	// AdjustStock adds delta to the stock quantity of a medication that
	// records stock, never below zero, atomically: concurrent calls each
	// apply once. It moves updatedAt to at least `at` (SQLite: and later
	// than it was). A medication without stock is left alone.
	AdjustStock(ctx context.Context, id string, delta float64, at time.Time) error
	// Changed returns the patient's medications changed after `after` and
	// at or before upTo (see models.ChangeKey), at most limit.
	Changed(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Medication, error)
}

// Doses stores doses under their ids (a scheduled dose's id is
// deterministic, models.DoseID, so one planned twice is stored once) and
// each medication's DosePlan.
type Doses interface {
	// Insert stores a new dose. Errors: conflict if the id is taken.
	Insert(ctx context.Context, d models.Dose) error
	// InsertMissing stores every dose whose id is free and returns how many
	// it stored; calling it again, or concurrently, stores each dose once.
	InsertMissing(ctx context.Context, doses []models.Dose) (int, error)
	// Get returns a dose by id, any patient's. Errors: not_found.
	Get(ctx context.Context, id string) (models.Dose, error)
	// ListByPatient returns the patient's doses scheduled in [from, to), by
	// (scheduledAt, id).
	ListByPatient(ctx context.Context, patientID string, from, to time.Time) ([]models.Dose, error)
	// ListByMedication returns the medication's doses scheduled in
	// [from, to), by (scheduledAt, id).
	ListByMedication(ctx context.Context, medicationID string, from, to time.Time) ([]models.Dose, error)
	// ListPendingDue returns the patient's doses stored as pending that are
	// scheduled at or before cutoff, by (scheduledAt, id).
	ListPendingDue(ctx context.Context, patientID string, cutoff time.Time) ([]models.Dose, error)
	// ListPendingBefore returns up to limit doses of any patient stored as
	// pending and scheduled at or before cutoff, oldest first.
	ListPendingBefore(ctx context.Context, cutoff time.Time, limit int) ([]models.Dose, error)
	// Replace stores next in place of prev if the stored dose is still prev
	// (same status and updatedAt) and reports whether it did
	// (compare-and-set).
	Replace(ctx context.Context, next, prev models.Dose) (bool, error)
	// DeletePending deletes a pending dose if it is still the version read
	// and reports whether it did (compare-and-set), leaving a tombstone
	// (deletedAt `at`) for the change feed.
	DeletePending(ctx context.Context, d models.Dose, at time.Time) (bool, error)
	// Changed returns the patient's doses changed after `after` and at or
	// before upTo (see models.ChangeKey), at most limit.
	Changed(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Dose, error)
	// Deleted returns the tombstones of the patient's deleted doses by
	// (deletedAt, id), after `after` and at or before upTo, at most limit.
	// A dose stored again after its deletion keeps its tombstone; the
	// later updatedAt tells which came last.
	Deleted(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Tombstone, error)
	// DosePlan returns the medication's plan: "" and the zero time if it
	// was never planned, "" and the old end if the plan was invalidated.
	DosePlan(ctx context.Context, medicationID string) (fingerprint string, through time.Time, err error)
	// SwapDosePlan records the plan (next, through) if the stored
	// fingerprint is still prev ("" also matching no plan) and reports
	// whether it did (compare-and-set).
	SwapDosePlan(ctx context.Context, medicationID, patientID, prev, next string, through time.Time) (bool, error)
	// InvalidateDosePlan clears the medication's fingerprint, keeping its
	// window, so the next planning re-plans its future doses.
	InvalidateDosePlan(ctx context.Context, medicationID string) error
}

// MaxClaim is the most notifications one Notifications.Claim takes (FCM's
// SendEach limit).
const MaxClaim = 500

// Notifications stores notifications, each under its dedupe key (the
// permanent record and the inbox: the same event never makes two), and
// the outbox of delivery work (an OutboxEntry per pending or sending
// notification).
type Notifications interface {
	// Enqueue stores a new pending notification and queues it. If one with
	// its id exists it returns the stored one and created=false, whatever
	// its content or state: the first wins. A stored notification still
	// pending whose entry is missing is queued again.
	Enqueue(ctx context.Context, n models.Notification) (stored models.Notification, created bool, err error)
	// Get returns a notification's record. Errors: not_found.
	Get(ctx context.Context, id string) (models.Notification, error)
	// Cancel makes a pending notification cancelled with the reason and
	// drops its entry; it reports false, changing nothing, when there is
	// none or it is no longer pending (compare-and-set against Finish).
	Cancel(ctx context.Context, id, reason string, at time.Time) (bool, error)
	// Claim leases up to limit (at most MaxClaim) entries due at now
	// (pending and nextAttemptAt ≤ now, or sending with an expired lease),
	// oldest first: state sending, leaseID (unique to the call), lease
	// until now+lease, claimedBy owner, attempts+1. It returns each
	// claimed notification's record (State "" if the record is missing)
	// with the entry's delivery state (OutboxEntry.Apply), by
	// (nextAttemptAt, id); every one is held under leaseID. Each entry is
	// claimed by exactly one of any number of concurrent claimers.
	Claim(ctx context.Context, now time.Time, leaseID, owner string, lease time.Duration, limit int) ([]models.Notification, error)
	// Queued returns a notification's outbox entry. Errors: not_found when
	// it is not queued.
	Queued(ctx context.Context, id string) (OutboxEntry, error)
	// Finish writes a delivery's final result to the record: state,
	// attempts, nextAttemptAt, deliveries, last error, sentAt and cancel
	// reason when set. Errors: not_found.
	Finish(ctx context.Context, n models.Notification) error
	// Release drops the entries of ids still held under leaseID.
	Release(ctx context.Context, leaseID string, ids []string) error
	// Reschedule puts the entries of ids still held under leaseID back to
	// pending at next, lease dropped, attempts changed by attemptsDelta,
	// lastError recorded; it reports how many it changed.
	Reschedule(ctx context.Context, leaseID string, ids []string, next time.Time, attemptsDelta int, lastError string) (int, error)
	// Inbox returns up to limit of the recipient's notifications due at now
	// and not cancelled, newest first by (dueAt, id), strictly after the
	// key after when it is set.
	Inbox(ctx context.Context, recipientID string, now time.Time, after *models.InboxKey, limit int) ([]models.Notification, error)
	// MarkRead records the first time the notification was read. Errors:
	// not_found.
	MarkRead(ctx context.Context, id string, at time.Time) error
	// Changed returns the recipient's notifications about the patient
	// changed after `after` and at or before upTo (see models.ChangeKey), at most
	// limit. A notification's updatedAt is never before its due time:
	// Enqueue sets it to the later of createdAt and dueAt; Cancel,
	// Finish and the first MarkRead move it forward.
	Changed(ctx context.Context, recipientID, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Notification, error)
	// PurgeFinished deletes up to limit notifications that are sent,
	// failed or cancelled and were due before `before`, with any outbox
	// entry left of them, and returns how many it deleted (call it again
	// until it returns less than limit). A pending notification is never
	// deleted, however old. Its id (the dedupe key) is free again
	// afterwards: callers enqueue only events newer than any purged.
	PurgeFinished(ctx context.Context, before time.Time, limit int) (int, error)
}

// Devices stores push devices, each under models.DeviceID of its token:
// one token is one device, whoever registered it last.
type Devices interface {
	// Get returns a device by id. Errors: not_found.
	Get(ctx context.Context, id string) (models.Device, error)
	// Put stores the device, replacing any with its id.
	Put(ctx context.Context, d models.Device) error
	// ForUser returns the user's devices, most recently seen first.
	ForUser(ctx context.Context, userID string) ([]models.Device, error)
	// ForUsers returns the devices of every user in userIDs.
	ForUsers(ctx context.Context, userIDs []string) ([]models.Device, error)
	// Delete removes the user's device. Errors: not_found when the user has
	// no such device.
	Delete(ctx context.Context, userID, id string) error
	// DeleteMany removes the devices ids, whoever's, and reports how many
	// there were.
	DeleteMany(ctx context.Context, ids []string) (int, error)
}

// Flags stores review flags under models.FlagID(patient, rule, seq): two
// evaluations raising one flag collide on its id and exactly one wins.
// Each is kept as its FlagRecord: live and the severity rank follow its
// status, follow-up date and severity on every write.
type Flags interface {
	// Insert stores a new flag. Errors: conflict if its id is taken.
	Insert(ctx context.Context, f models.Flag) error
	// Get returns a flag by id. Errors: not_found.
	Get(ctx context.Context, id string) (models.Flag, error)
	// LatestSeq returns the latest seq recorded for the patient's rule
	// (0: none). A newer flag may exist.
	LatestSeq(ctx context.Context, patientID string, rule models.FlagRuleID) (int, error)
	// RecordSeq records seq unless a later one is recorded.
	RecordSeq(ctx context.Context, patientID string, rule models.FlagRuleID, seq int) error
	// Refire stores new evidence, severity and a history event on a live
	// flag and reports whether it was live; with reopen (a flag resolved
	// with a follow-up to come) it is also open, unclaimed, queued at `at`.
	Refire(ctx context.Context, id string, ev models.FlagEvidence, key string, sev models.Severity, at time.Time, event models.FlagEvent, reopen bool) (bool, error)
	// Claim makes an open flag claimed by `by` and reports whether this
	// call did (compare-and-set).
	Claim(ctx context.Context, id, by string, at time.Time) (bool, error)
	// AddNote appends a note to a flag that is not closed and holds fewer
	// than maxNotes notes, and reports whether it did (compare-and-set:
	// concurrent notes never take a flag past maxNotes).
	AddNote(ctx context.Context, id string, note models.FlagNote, maxNotes int) (bool, error)
	// Resolve resolves a flag open, or claimed by `by`, with the outcome
	// and note, and reports whether it did. With a follow-up date it stays
	// live and is queued at that date; without, it is no longer live.
	Resolve(ctx context.Context, id, by string, outcome models.FlagOutcome, note string, followUpAt *time.Time, at time.Time) (bool, error)
	// ReopenFollowUp puts a resolved live flag whose follow-up date has
	// come by now back in the queue and reports whether this call did.
	ReopenFollowUp(ctx context.Context, f models.Flag, now time.Time) (bool, error)
	// Close closes a live flag without review and reports whether this
	// call did.
	Close(ctx context.Context, id, reason string, at time.Time) (bool, error)
	// LiveOfPatient returns the patient's live flags (of one pharmacy
	// unless pharmacyID is ""), by (rule, id).
	LiveOfPatient(ctx context.Context, patientID, pharmacyID string) ([]models.Flag, error)
	// OfPatient returns every flag of the patient, live or not, of any
	// pharmacy, by (createdAt, id): the patient's export.
	OfPatient(ctx context.Context, patientID string) ([]models.Flag, error)
	// DueFollowUps returns resolved flags whose follow-up date has come by
	// now (of one pharmacy unless pharmacyID is ""), by (followUpAt, id).
	DueFollowUps(ctx context.Context, pharmacyID string, now time.Time) ([]models.Flag, error)
	// Queue returns one page of a pharmacy's flags matching q, by
	// (severityRank desc, queuedAt, id), at most q.Limit.
	Queue(ctx context.Context, q models.FlagQuery) ([]models.Flag, error)
}

// Care stores the care circle: invitations (under the hash of their code)
// and carer links (under models.CareLinkID).
type Care interface {
	// CreateInvitation stores an invitation. Errors: conflict.
	CreateInvitation(ctx context.Context, inv models.CareInvitation) error
	// Invitation returns the invitation whose code hashes to hash.
	// Errors: not_found.
	Invitation(ctx context.Context, hash string) (models.CareInvitation, error)
	// Invitations returns up to limit of a patient's invitations, newest
	// first by (createdAt, id).
	Invitations(ctx context.Context, patientID string, limit int) ([]models.CareInvitation, error)
	// PendingInvitations returns up to limit of a patient's invitations
	// pending at now (neither accepted nor revoked, expiring after now),
	// newest first by (createdAt, id).
	PendingInvitations(ctx context.Context, patientID string, now time.Time, limit int) ([]models.CareInvitation, error)
	// InvitationByID returns the patient's invitation with the public id.
	// Errors: not_found (none, or another patient's).
	InvitationByID(ctx context.Context, patientID, id string) (models.CareInvitation, error)
	// ClaimInvitation marks a pending, unexpired invitation accepted by
	// carerID with the link it creates, and reports whether this call did
	// (compare-and-set).
	ClaimInvitation(ctx context.Context, hash, carerID, linkID string, at time.Time) (bool, error)
	// RevokeInvitation revokes a patient's pending invitation by its public
	// id and reports whether it did.
	RevokeInvitation(ctx context.Context, patientID, id string, at time.Time) (bool, error)
	// PutLink stores a link, replacing any earlier link of the same pair.
	PutLink(ctx context.Context, l models.CareLink) error
	// Link returns a link by id. Errors: not_found.
	Link(ctx context.Context, id string) (models.CareLink, error)
	// StandingLinks returns up to limit of a patient's links that are not
	// revoked (active or paused), by (createdAt, id).
	StandingLinks(ctx context.Context, patientID string, limit int) ([]models.CareLink, error)
	// RevokedLinks returns up to limit of a patient's revoked links, newest
	// first by (createdAt, id).
	RevokedLinks(ctx context.Context, patientID string, limit int) ([]models.CareLink, error)
	// LinksOfCarer returns up to limit of a carer's links that are not
	// revoked, by (createdAt, id).
	LinksOfCarer(ctx context.Context, carerID string, limit int) ([]models.CareLink, error)
	// ActiveLinks returns a patient's active links that share scope, by
	// (createdAt, id).
	ActiveLinks(ctx context.Context, patientID string, scope models.CareScope) ([]models.CareLink, error)
	// UpdateLink changes a link that is not revoked: its scopes (unless
	// nil), status (unless "") and updatedAt (to at). It reports false when
	// the link does not exist, is revoked, or prev is not zero and its
	// updatedAt is not prev (compare-and-set).
	UpdateLink(ctx context.Context, id string, scopes []models.CareScope, status string, at, prev time.Time) (bool, error)
	// LinksChanged returns the patient's links, revoked ones included,
	// changed after `after` and at or before upTo (see models.ChangeKey), at most
	// limit.
	LinksChanged(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.CareLink, error)
	// EndLink revokes a link not yet revoked (when prev is not zero, only
	// if its updatedAt is still prev), with updatedAt at least `at`, and
	// reports whether this call did.
	EndLink(ctx context.Context, id, endedBy string, at, prev time.Time) (bool, error)
}

// Consents stores consent to share with a pharmacy: the history (one
// record per grant, never deleted) and each patient's current nomination
// (present only while consent stands).
type Consents interface {
	// Insert stores a consent record. Errors: conflict.
	Insert(ctx context.Context, c models.Consent) error
	// Consent returns a consent record. Errors: not_found.
	Consent(ctx context.Context, id string) (models.Consent, error)
	// End marks a consent record ended; its first end stays.
	End(ctx context.Context, id, reason string, at time.Time) error
	// History returns a patient's consent records, newest first.
	History(ctx context.Context, patientID string) ([]models.Consent, error)
	// Nomination returns a patient's current nomination. Errors: not_found.
	Nomination(ctx context.Context, patientID string) (models.Nomination, error)
	// SwapNomination makes n the patient's nomination if the current one
	// is still held by expectConsentID (none when "") and reports whether
	// it did (compare-and-set).
	SwapNomination(ctx context.Context, expectConsentID string, n models.Nomination) (bool, error)
	// DeleteNomination removes the nomination if it is still held by
	// consentID and reports whether it did.
	DeleteNomination(ctx context.Context, patientID, consentID string) (bool, error)
	// Nominations returns the current nominations of one pharmacy (every
	// pharmacy when pharmacyID is ""), by patient id.
	Nominations(ctx context.Context, pharmacyID string) ([]models.Nomination, error)
}

// Pharmacies stores community pharmacies; an ODS code belongs to one.
type Pharmacies interface {
	// Create stores a pharmacy. Errors: conflict if its id or ODS code is
	// taken.
	Create(ctx context.Context, p models.Pharmacy) error
	// Get returns a pharmacy. Errors: not_found.
	Get(ctx context.Context, id string) (models.Pharmacy, error)
	// Exists reports whether a pharmacy with the id exists.
	Exists(ctx context.Context, id string) (bool, error)
	// Search returns up to limit pharmacies, by (name, id), whose name
	// contains text (any case) or whose postcode key or ODS code starts
	// with models.PostcodeKey(text). An empty text matches every pharmacy.
	Search(ctx context.Context, text string, limit int) ([]models.Pharmacy, error)
}

// Audit stores the access log; entries are never changed or deleted. An
// entry's id begins with its time, so ids order a patient's log by time.
type Audit interface {
	// Insert stores an entry.
	Insert(ctx context.Context, e models.AuditEntry) error
	// List returns up to limit of a patient's entries with id below before
	// (all when before is ""), newest first.
	List(ctx context.Context, patientID, before string, limit int) ([]models.AuditEntry, error)
	// Count returns how many entries a patient's log holds.
	Count(ctx context.Context, patientID string) (int64, error)
}

// ServiceEpisodes stores pharmacy service episodes (models.ServiceEpisode),
// each as its EpisodeRecord. Version counts an episode's writes.
type ServiceEpisodes interface {
	// Insert stores a new episode. Errors: conflict if its id is taken.
	Insert(ctx context.Context, e models.ServiceEpisode) error
	// Get returns an episode by id. Errors: not_found.
	Get(ctx context.Context, id string) (models.ServiceEpisode, error)
	// Replace stores next in place of the episode with next's id if the
	// stored one is still at version prevVersion, and reports whether it
	// did (compare-and-set).
	Replace(ctx context.Context, next models.ServiceEpisode, prevVersion int) (bool, error)
	// OfPatient returns up to limit of a patient's episodes, newest first
	// by (createdAt, id).
	OfPatient(ctx context.Context, patientID string, limit int) ([]models.ServiceEpisode, error)
	// Queue returns up to q.Limit of a pharmacy's active episodes by
	// (queueAt, id) (EpisodeRecord), strictly after (q.AfterDue,
	// q.AfterID) when q.AfterID is set.
	Queue(ctx context.Context, q models.ServiceEpisodeQuery) ([]models.ServiceEpisode, error)
}

// ReportLinks stores the share links of patients' consultation reports,
// each under the hash of its token (models.ReportLink); the public id is
// unique too.
type ReportLinks interface {
	// Create stores a link. Errors: conflict if its token hash or public
	// id is taken.
	Create(ctx context.Context, l models.ReportLink) error
	// ByTokenHash returns the link whose token hashes to hash, whatever
	// its state. Errors: not_found.
	ByTokenHash(ctx context.Context, hash string) (models.ReportLink, error)
	// Get returns the patient's link with the public id. Errors: not_found
	// (none, or another patient's).
	Get(ctx context.Context, patientID, id string) (models.ReportLink, error)
	// OfPatient returns up to limit of the patient's links, newest first
	// by (createdAt, id).
	OfPatient(ctx context.Context, patientID string, limit int) ([]models.ReportLink, error)
	// CountLive counts the patient's links neither revoked nor expired at
	// now.
	CountLive(ctx context.Context, patientID string, now time.Time) (int, error)
	// Revoke marks the patient's link revoked at `at` unless it already
	// is, and reports whether this call did (compare-and-set).
	Revoke(ctx context.Context, patientID, id string, at time.Time) (bool, error)
	// PurgeExpired deletes up to limit links that expired before `before`
	// (revoked ones included: every link expires) and returns how many it
	// deleted (call it again until it returns less than limit).
	PurgeExpired(ctx context.Context, before time.Time, limit int) (int, error)
}
