package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are the schema's versions, in order: migrations[i] takes the
// database from version i to i+1 (PRAGMA user_version). Each runs in one
// transaction with its version change, so a database is always at exactly
// one version. Append only: a released migration never changes.
//
// Conventions: times are INTEGER milliseconds since the Unix epoch (UTC),
// NULL when absent; every column that is filtered, sorted, joined or unique
// is typed and indexed; JSON (TEXT) holds only what is never queried
// (nested values read and written whole). Foreign keys tie rows that one
// repository keeps together (an outbox entry to its notification, a link's
// scopes to the link); records of different repositories refer to each
// other by id only, as on MongoDB, so the two backends keep one contract.
var migrations = []string{
	// 1: the first schema.
	`
CREATE TABLE users (
	id                  TEXT PRIMARY KEY,
	email               TEXT NOT NULL UNIQUE,
	name                TEXT NOT NULL,
	role                TEXT NOT NULL,
	timezone            TEXT NOT NULL,
	pharmacy_id         TEXT NOT NULL,
	preferences         TEXT NOT NULL, -- JSON models.Preferences
	targets             TEXT NOT NULL, -- JSON models.CarePlanTargets
	password_hash       TEXT NOT NULL,
	password_changed_at INTEGER NOT NULL,
	created_at          INTEGER NOT NULL,
	updated_at          INTEGER NOT NULL
) STRICT;
CREATE INDEX users_role ON users (role);

CREATE TABLE sessions (
	id             TEXT PRIMARY KEY,
	user_id        TEXT NOT NULL,
	created_at     INTEGER NOT NULL,
	revoked_at     INTEGER,
	revoked_reason TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
	hash       TEXT PRIMARY KEY,
	session_id TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	spent_at   INTEGER
) STRICT;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE pharmacies (
	id           TEXT PRIMARY KEY,
	ods_code     TEXT NOT NULL UNIQUE,
	name         TEXT NOT NULL,
	postcode     TEXT NOT NULL,
	postcode_key TEXT NOT NULL,
	created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX pharmacies_name ON pharmacies (name, id);
CREATE INDEX pharmacies_postcode ON pharmacies (postcode_key);

CREATE TABLE consents (
	id           TEXT PRIMARY KEY,
	patient_id   TEXT NOT NULL,
	pharmacy_id  TEXT NOT NULL,
	granted_by   TEXT NOT NULL,
	granted_at   INTEGER NOT NULL,
	text_version TEXT NOT NULL,
	withdrawn_at INTEGER,
	end_reason   TEXT NOT NULL
) STRICT;
CREATE INDEX consents_patient ON consents (patient_id, granted_at DESC, id DESC);

CREATE TABLE nominations (
	patient_id  TEXT PRIMARY KEY,
	pharmacy_id TEXT NOT NULL,
	consent_id  TEXT NOT NULL,
	granted_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX nominations_pharmacy ON nominations (pharmacy_id, patient_id);

CREATE TABLE care_invitations (
	code_hash   TEXT PRIMARY KEY,
	public_id   TEXT NOT NULL UNIQUE,
	patient_id  TEXT NOT NULL,
	scopes      TEXT NOT NULL, -- JSON []models.CareScope
	note        TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	accepted_at INTEGER,
	accepted_by TEXT NOT NULL,
	link_id     TEXT NOT NULL,
	revoked_at  INTEGER
) STRICT;
CREATE INDEX care_invitations_patient ON care_invitations (patient_id, created_at DESC, public_id DESC);

CREATE TABLE care_links (
	id            TEXT PRIMARY KEY,
	patient_id    TEXT NOT NULL,
	carer_id      TEXT NOT NULL,
	status        TEXT NOT NULL,
	invitation_id TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	revoked_at    INTEGER,
	ended_by      TEXT NOT NULL
) STRICT;
CREATE INDEX care_links_patient ON care_links (patient_id, created_at, id);
CREATE INDEX care_links_carer ON care_links (carer_id, created_at, id);

-- A link's scopes, in the order the patient gave them: who may be told of
-- what is a query (ActiveLinks), so it is rows, not JSON.
CREATE TABLE care_link_scopes (
	link_id  TEXT NOT NULL REFERENCES care_links (id) ON DELETE CASCADE,
	position INTEGER NOT NULL,
	scope    TEXT NOT NULL,
	PRIMARY KEY (link_id, position)
) STRICT;
CREATE INDEX care_link_scopes_scope ON care_link_scopes (scope, link_id);

CREATE TABLE audit_log (
	id         TEXT PRIMARY KEY, -- begins with its time
	patient_id TEXT NOT NULL,
	actor_id   TEXT NOT NULL,
	actor_role TEXT NOT NULL,
	action     TEXT NOT NULL,
	resource   TEXT NOT NULL,
	at         INTEGER NOT NULL,
	request_id TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_patient ON audit_log (patient_id, id DESC);

CREATE TABLE readings (
	id                  TEXT PRIMARY KEY,
	patient_id          TEXT NOT NULL,
	type                TEXT NOT NULL,
	taken_at            INTEGER NOT NULL,
	unit                TEXT NOT NULL,
	value               REAL,
	systolic            REAL,
	diastolic           REAL,
	pulse               REAL,
	context             TEXT NOT NULL,
	note                TEXT NOT NULL,
	canonical_unit      TEXT NOT NULL,
	canonical_value     REAL,
	canonical_systolic  REAL,
	canonical_diastolic REAL,
	canonical_pulse     REAL,
	band                TEXT NOT NULL,
	rule                TEXT NOT NULL,
	loinc               TEXT NOT NULL,
	created_at          INTEGER NOT NULL,
	deleted_at          INTEGER
) STRICT;
-- A patient's live readings newest first, of every type and of one type;
-- the same indexes serve the takenAt ranges of summaries.
CREATE INDEX readings_patient_taken ON readings (patient_id, taken_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX readings_patient_type_taken ON readings (patient_id, type, taken_at DESC, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE medications (
	id                     TEXT PRIMARY KEY,
	patient_id             TEXT NOT NULL,
	name                   TEXT NOT NULL,
	strength               TEXT NOT NULL,
	form                   TEXT NOT NULL,
	instructions           TEXT NOT NULL,
	code                   TEXT NOT NULL,
	schedule               TEXT NOT NULL, -- JSON models.Schedule
	stock_quantity         REAL,          -- NULL: no stock recorded
	stock_units_per_dose   REAL,
	stock_refill_lead_days INTEGER,
	status                 TEXT NOT NULL,
	stopped_at             INTEGER,
	created_at             INTEGER NOT NULL,
	updated_at             INTEGER NOT NULL
) STRICT;
CREATE INDEX medications_patient ON medications (patient_id, created_at, id);
CREATE INDEX medications_active ON medications (patient_id, id) WHERE status = 'active';

CREATE TABLE doses (
	id            TEXT PRIMARY KEY, -- models.DoseID for scheduled doses
	patient_id    TEXT NOT NULL,
	medication_id TEXT NOT NULL,
	scheduled_at  INTEGER NOT NULL,
	local_date    TEXT NOT NULL,
	local_time    TEXT NOT NULL,
	status        TEXT NOT NULL,
	taken_at      INTEGER,
	logged_at     INTEGER,
	skip_reason   TEXT NOT NULL,
	as_needed     INTEGER NOT NULL,
	history       TEXT NOT NULL, -- JSON []models.DoseEvent
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX doses_patient_scheduled ON doses (patient_id, scheduled_at, id);
CREATE INDEX doses_medication_scheduled ON doses (medication_id, scheduled_at, id);
-- Pending doses only: what the missed-dose steps look for.
CREATE INDEX doses_pending ON doses (scheduled_at, id) WHERE status = 'pending';
CREATE INDEX doses_patient_pending ON doses (patient_id, scheduled_at, id) WHERE status = 'pending';

CREATE TABLE dose_plans (
	medication_id TEXT PRIMARY KEY,
	patient_id    TEXT NOT NULL,
	fingerprint   TEXT NOT NULL,
	through       INTEGER NOT NULL
) STRICT;

CREATE TABLE notifications (
	id                  TEXT PRIMARY KEY, -- the dedupe key
	recipient_id        TEXT NOT NULL,
	patient_id          TEXT NOT NULL,
	kind                TEXT NOT NULL,
	title               TEXT NOT NULL,
	body                TEXT NOT NULL,
	data                TEXT NOT NULL, -- JSON map[string]string
	urgent              INTEGER NOT NULL,
	respect_quiet_hours INTEGER NOT NULL,
	due_at              INTEGER NOT NULL,
	expires_at          INTEGER,
	state               TEXT NOT NULL,
	dose_ids            TEXT NOT NULL, -- JSON []string
	attempts            INTEGER NOT NULL,
	next_attempt_at     INTEGER NOT NULL,
	lease_id            TEXT NOT NULL,
	lease_until         INTEGER,
	claimed_by          TEXT NOT NULL,
	last_error          TEXT NOT NULL,
	deliveries          TEXT NOT NULL, -- JSON []models.Delivery
	cancel_reason       TEXT NOT NULL,
	cancelled_at        INTEGER,
	sent_at             INTEGER,
	read_at             INTEGER,
	created_at          INTEGER NOT NULL
) STRICT;
CREATE INDEX notifications_inbox ON notifications (recipient_id, due_at DESC, id DESC);

-- Live delivery work: one row per pending or sending notification.
CREATE TABLE outbox (
	id              TEXT PRIMARY KEY REFERENCES notifications (id) ON DELETE CASCADE,
	recipient_id    TEXT NOT NULL,
	kind            TEXT NOT NULL,
	due_at          INTEGER NOT NULL,
	state           TEXT NOT NULL,
	attempts        INTEGER NOT NULL,
	next_attempt_at INTEGER NOT NULL,
	lease_id        TEXT NOT NULL,
	lease_until     INTEGER,
	claimed_by      TEXT NOT NULL,
	last_error      TEXT NOT NULL
) STRICT;
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_leased ON outbox (lease_until, id) WHERE state = 'sending';
CREATE INDEX outbox_lease ON outbox (lease_id) WHERE lease_id != '';

CREATE TABLE devices (
	id           TEXT PRIMARY KEY, -- models.DeviceID of the token
	user_id      TEXT NOT NULL,
	platform     TEXT NOT NULL,
	token        TEXT NOT NULL,
	token_hint   TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL
) STRICT;
CREATE INDEX devices_user ON devices (user_id, last_seen_at DESC, id);

CREATE TABLE flags (
	id                TEXT PRIMARY KEY, -- models.FlagID
	patient_id        TEXT NOT NULL,
	pharmacy_id       TEXT NOT NULL,
	rule              TEXT NOT NULL,
	seq               INTEGER NOT NULL,
	severity          TEXT NOT NULL,
	severity_rank     INTEGER NOT NULL,
	evidence          TEXT NOT NULL, -- JSON models.FlagEvidence
	suggested_service TEXT NOT NULL,
	evidence_key      TEXT NOT NULL,
	status            TEXT NOT NULL,
	live              INTEGER NOT NULL,
	claimed_by        TEXT NOT NULL,
	claimed_at        INTEGER,
	notes             TEXT NOT NULL, -- JSON []models.FlagNote
	outcome           TEXT NOT NULL,
	resolved_by       TEXT NOT NULL,
	resolved_at       INTEGER,
	follow_up_at      INTEGER,
	close_reason      TEXT NOT NULL,
	closed_at         INTEGER,
	queued_at         INTEGER NOT NULL,
	history           TEXT NOT NULL, -- JSON []models.FlagEvent
	created_at        INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL
) STRICT;
-- The queue: a pharmacy's flags in a status, most severe, then oldest first.
CREATE INDEX flags_queue ON flags (pharmacy_id, status, severity_rank DESC, queued_at, id);
CREATE INDEX flags_patient_live ON flags (patient_id, rule, id) WHERE live = 1;
CREATE INDEX flags_follow_up ON flags (follow_up_at, id) WHERE status = 'resolved' AND follow_up_at IS NOT NULL;

CREATE TABLE flag_slots (
	id  TEXT PRIMARY KEY, -- models.FlagSlotID
	seq INTEGER NOT NULL
) STRICT;
`,
	// 2: an e-mail's confusable skeleton (models.User.EmailKey), unique, so
	// that no two accounts have addresses that look alike. Accounts made
	// before it have no key ('') and are not compared.
	`
ALTER TABLE users ADD COLUMN email_key TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_email_key ON users (email_key) WHERE email_key != '';
`,
	// 3: the indexes behind the retention purges (services.Retention) and
	// the caps on what a user can grow: refresh tokens by expiry, revoked
	// sessions by revocation, finished notifications by due time, and a
	// patient's invitations that may still be pending by expiry.
	`
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX notifications_finished ON notifications (due_at) WHERE state IN ('sent', 'failed', 'cancelled');
CREATE INDEX care_invitations_open ON care_invitations (patient_id, expires_at) WHERE accepted_at IS NULL AND revoked_at IS NULL;
`,
	// 4: where a reading was taken: clinic readings and ambulatory averages
	// of the Blood Pressure Check Service are banded apart from home
	// readings ('' at home).
	`
ALTER TABLE readings ADD COLUMN source TEXT NOT NULL DEFAULT '';
`,
	// 5: pharmacy service episodes, each a JSON document with the columns
	// the patient's list and the pharmacy's queue need.
	`
CREATE TABLE service_episodes (
	id          TEXT PRIMARY KEY,
	patient_id  TEXT NOT NULL,
	pharmacy_id TEXT NOT NULL,
	service     TEXT NOT NULL,
	status      TEXT NOT NULL,
	queue_at    INTEGER NOT NULL,
	version     INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	body        TEXT NOT NULL -- JSON models.ServiceEpisode
) STRICT;
CREATE INDEX service_episodes_patient ON service_episodes (patient_id, created_at DESC, id DESC);
-- The service queue: a pharmacy's active episodes, soonest due first.
CREATE INDEX service_episodes_queue ON service_episodes (pharmacy_id, queue_at, id) WHERE status = 'active';
`,
	// 6: a patient's NHS number (models.User.NHSNumber), '' when unknown;
	// and the indexes account deletion (ErasePerson) finds a person's
	// records by where no index did: soft-deleted readings (a partial
	// index: only they), notifications about a patient, dose plans and
	// flags of a patient.
	`
ALTER TABLE users ADD COLUMN nhs_number TEXT NOT NULL DEFAULT '';
CREATE INDEX readings_patient_deleted ON readings (patient_id) WHERE deleted_at IS NOT NULL;
CREATE INDEX notifications_patient ON notifications (patient_id);
CREATE INDEX dose_plans_patient ON dose_plans (patient_id);
CREATE INDEX flags_patient ON flags (patient_id);
`,
	// 7: the change feed (models.ChangeKey): every record a device syncs
	// carries updated_at, indexed per patient (per recipient and patient
	// for notifications) with its id, so catching up reads only what
	// changed; pending doses deleted outright leave a tombstone.
	`
ALTER TABLE readings ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE readings SET updated_at = coalesce(deleted_at, created_at);
CREATE INDEX readings_changes ON readings (patient_id, updated_at, id);
CREATE INDEX medications_changes ON medications (patient_id, updated_at, id);
CREATE INDEX doses_changes ON doses (patient_id, updated_at, id);
ALTER TABLE notifications ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE notifications SET updated_at = max(created_at, due_at, coalesce(sent_at, 0), coalesce(read_at, 0), coalesce(cancelled_at, 0));
CREATE INDEX notifications_changes ON notifications (recipient_id, patient_id, updated_at, id);
CREATE INDEX care_links_changes ON care_links (patient_id, updated_at, id);
CREATE TABLE dose_tombstones (
	id         TEXT PRIMARY KEY, -- the deleted dose's id
	patient_id TEXT NOT NULL,
	deleted_at INTEGER NOT NULL
) STRICT;
CREATE INDEX dose_tombstones_changes ON dose_tombstones (patient_id, deleted_at, id);
`,
	// 8: consultation report share links (models.ReportLink), each under
	// the hash of its token, listed and counted per patient; and the
	// client address of an access-log entry (models.AuditEntry), '' where
	// none was recorded.
	`
CREATE TABLE report_links (
	token_hash TEXT PRIMARY KEY,
	public_id  TEXT NOT NULL UNIQUE,
	patient_id TEXT NOT NULL,
	days       INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	revoked_at INTEGER
) STRICT;
CREATE INDEX report_links_patient ON report_links (patient_id, created_at DESC, public_id DESC);
ALTER TABLE audit_log ADD COLUMN client_address TEXT NOT NULL DEFAULT '';
`,
	// 9: the retention purge of report share links, by expiry.
	`
CREATE INDEX report_links_expires ON report_links (expires_at);
`,
	// 10: a user's locale (models.User.Locale, '' = the default) and a
	// notification's text as message catalogue keys (models.PushText,
	// JSON; '' for none), pushed so that an app can localise it.
	`
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT '';
ALTER TABLE notifications ADD COLUMN text_keys TEXT NOT NULL DEFAULT '';
`,
	// 11: imported readings (FHIR): the device an imported reading came
	// from ('' when none was named) and its import key
	// (models.Reading.ImportKey), unique per patient, NULL for every
	// reading not imported.
	`
ALTER TABLE readings ADD COLUMN device TEXT NOT NULL DEFAULT '';
ALTER TABLE readings ADD COLUMN import_key TEXT;
CREATE UNIQUE INDEX readings_import_key ON readings (patient_id, import_key) WHERE import_key IS NOT NULL;
`,
}

// migrate brings the database on db (the writer) to the latest version,
// one migration per transaction. It refuses a database newer than this
// program.
func migrate(ctx context.Context, db *sql.DB, migrations []string) error {
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("the database is at schema version %d, newer than this program knows (%d): run a newer Concord", version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		if err := migrateOne(ctx, db, v+1, migrations[v]); err != nil {
			return err
		}
	}
	return nil
}

func migrateOne(ctx context.Context, db *sql.DB, version int, ddl string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate to schema version %d: %w", version, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("migrate to schema version %d: %w", version, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
		return fmt.Errorf("migrate to schema version %d: %w", version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate to schema version %d: %w", version, err)
	}
	return nil
}

// SchemaVersion is the schema version this program creates.
func SchemaVersion() int { return len(migrations) }
