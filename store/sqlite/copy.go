package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// kindTable says how one kind of record is read and written whole.
type kindTable struct {
	from    string // table (with alias)
	key     string // primary key column, the export order
	columns string
	scan    func(scanner) (any, error)
	insert  func(ctx context.Context, s *Store, tx *sql.Tx, record any) error
}

func scanAs[T any](scan func(scanner) (T, error)) func(scanner) (any, error) {
	return func(r scanner) (any, error) { return scan(r) }
}

func insertAs[T any](insert func(context.Context, *Store, *sql.Tx, T) error) func(context.Context, *Store, *sql.Tx, any) error {
	return func(ctx context.Context, s *Store, tx *sql.Tx, record any) error {
		v, ok := record.(T)
		if !ok {
			var zero T
			return models.Errorf(models.CodeInvalid, "record is a %T, not a %T", record, zero)
		}
		return insert(ctx, s, tx, v)
	}
}

var kindTables = map[store.Kind]kindTable{
	store.KindUsers: {"users", "id", userColumns, scanAs(scanUser),
		insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, u models.User) error { return s.insertUser(ctx, tx, u) })},
	store.KindSessions: {"sessions", "id", sessionColumns, scanAs(scanSession),
		insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, x models.Session) error {
			return s.insertSession(ctx, tx, x)
		})},
	store.KindRefreshTokens: {"refresh_tokens", "hash", tokenColumns, scanAs(scanToken),
		insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, t models.RefreshToken) error {
			return s.insertToken(ctx, tx, t)
		})},
	store.KindPharmacies: {"pharmacies", "id", pharmacyColumns, scanAs(scanPharmacy),
		insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, p models.Pharmacy) error {
			return s.insertPharmacy(ctx, tx, p)
		})},
	store.KindConsents: {"consents", "id", consentColumns, scanAs(scanConsent),
		insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, c models.Consent) error {
			return s.insertConsent(ctx, tx, c)
		})},
	store.KindNominations: {"nominations", "patient_id", nominationColumns, scanAs(scanNomination),
		insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, n models.Nomination) error {
			_, err := s.insertNomination(ctx, tx, n, false)
			return err
		})},
	store.KindInvitations: {"care_invitations", "code_hash", invitationColumns, scanAs(scanInvitation),
		insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, inv models.CareInvitation) error {
			return s.insertInvitation(ctx, tx, inv)
		})},
	store.KindLinks: {"care_links l", "l.id", linkColumns, scanAs(scanLink),
		insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, l models.CareLink) error {
			return s.putLink(ctx, tx, l, false)
		})},
	store.KindAudit: {"audit_log", "id", auditColumns, scanAs(scanAudit),
		insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, e models.AuditEntry) error {
			return s.insertAudit(ctx, tx, e)
		})},
	store.KindReadings: {"readings", "id", readingColumns, scanAs(scanReading),
		insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, r models.Reading) error {
			_, err := s.execOn(ctx, tx, "import reading", insertReading, readingArgs(r)...)
			return err
		})},
	store.KindMedications: {"medications", "id", medicationColumns, scanAs(scanMedication),
		insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, m models.Medication) error {
			return s.insertMedication(ctx, tx, m)
		})},
	store.KindDoses: {"doses", "id", doseColumns, scanAs(scanDose),
		insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, d models.Dose) error {
			args, err := doseArgs(d)
			if err != nil {
				return err
			}
			_, err = s.execOn(ctx, tx, "import dose", insertDose, args...)
			return err
		})},
	store.KindDosePlans: {"dose_plans", "medication_id", dosePlanColumns, scanAs(scanDosePlan),
		insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, p store.DosePlan) error {
			_, err := s.execOn(ctx, tx, "import dose plan", `INSERT INTO dose_plans (`+dosePlanColumns+`) VALUES (?,?,?,?)`,
				p.MedicationID, p.PatientID, p.Fingerprint, ms(p.Through))
			return err
		})},
	store.KindNotifications: {"notifications", "id", notificationColumns, scanAs(scanNotification),
		insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, n models.Notification) error {
			_, err := s.insertNotification(ctx, tx, n, false)
			return err
		})},
	store.KindOutbox: {"outbox", "id", outboxColumns, scanAs(scanOutbox),
		insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, e store.OutboxEntry) error {
			return s.insertOutbox(ctx, tx, e, false)
		})},
	store.KindDevices: {"devices", "id", deviceColumns, scanAs(scanDevice),
		insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, d models.Device) error {
			return s.insertDevice(ctx, tx, d, false)
		})},
	store.KindFlags: {"flags", "id", flagColumns, scanAs(scanFlagRecord),
		insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, f store.FlagRecord) error {
			return s.insertFlag(ctx, tx, f)
		})},
	store.KindFlagSlots: {"flag_slots", "id", "id, seq", scanAs(func(r scanner) (store.FlagSlot, error) {
		var f store.FlagSlot
		return f, r.Scan(&f.ID, &f.Seq)
	}), insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, f store.FlagSlot) error {
		_, err := s.execOn(ctx, tx, "import flag slot", `INSERT INTO flag_slots (id, seq) VALUES (?, ?)`, f.ID, f.Seq)
		return err
	})},
	store.KindEpisodes: {"service_episodes", "id", episodeColumns, scanAs(scanEpisodeRecord),
		insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, e store.EpisodeRecord) error {
			return s.insertEpisode(ctx, tx, e)
		})},
	store.KindReportLinks: {"report_links", "token_hash", reportLinkColumns, scanAs(scanReportLink),
		insertAs(func(ctx context.Context, s *Store, tx *sql.Tx, l models.ReportLink) error {
			return s.insertReportLink(ctx, tx, l)
		})},
}

// byKey returns the record of kind stored under key (its primary key), as
// a T (the kind's type). Errors: not_found.
func byKey[T any](ctx context.Context, s *Store, kind store.Kind, key string) (T, error) {
	var zero T
	t, err := tableOf(kind)
	if err != nil {
		return zero, err
	}
	v, err := queryOne(ctx, s, s.r, t.scan, fmt.Sprintf("%s %s", kind, key),
		`SELECT `+t.columns+` FROM `+t.from+` WHERE `+t.key+` = ?`, key)
	if err != nil {
		return zero, err
	}
	return v.(T), nil
}

func tableOf(kind store.Kind) (kindTable, error) {
	t, ok := kindTables[kind]
	if !ok {
		return t, models.Errorf(models.CodeInvalid, "unknown kind of record %q", kind)
	}
	return t, nil
}

// Export calls fn with every record of kind in batches, in key order
// (store.Copier). Each batch is one read, so a large table is never held
// in memory whole.
func (s *Store) Export(ctx context.Context, kind store.Kind, batch int, fn func([]any) error) error {
	t, err := tableOf(kind)
	if err != nil {
		return err
	}
	batch = max(batch, 1)
	query := `SELECT ` + t.columns + ` FROM ` + t.from + ` WHERE ` + t.key + ` > ? ORDER BY ` + t.key + ` LIMIT ?`
	after := ""
	for {
		records, err := queryAll(ctx, s, s.r, t.scan, "export "+string(kind), query, after, batch)
		if err != nil || len(records) == 0 {
			return err
		}
		if err := fn(records); err != nil {
			return err
		}
		if len(records) < batch {
			return nil
		}
		if after, err = s.lastKey(ctx, t, after, batch); err != nil {
			return err
		}
	}
}

// lastKey returns the key of the batch-th row after `after`: where the next
// batch starts.
func (s *Store) lastKey(ctx context.Context, t kindTable, after string, batch int) (string, error) {
	var key string
	err := s.r.QueryRowContext(ctx, `SELECT max(k) FROM (SELECT `+t.key+` AS k FROM `+t.from+` WHERE `+t.key+` > ? ORDER BY `+t.key+` LIMIT ?)`,
		after, batch).Scan(&key)
	return key, s.translate(err, "export %s", t.from)
}

// Import stores the records as they are, in one transaction: all or none
// (store.Copier).
func (s *Store) Import(ctx context.Context, kind store.Kind, records []any) error {
	t, err := tableOf(kind)
	if err != nil {
		return err
	}
	if len(records) == 0 {
		return nil
	}
	return s.tx(ctx, fmt.Sprintf("import %d %s", len(records), kind), func(tx *sql.Tx) error {
		for _, r := range records {
			if err := t.insert(ctx, s, tx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// Count returns how many records of kind are stored (store.Copier).
func (s *Store) Count(ctx context.Context, kind store.Kind) (int64, error) {
	t, err := tableOf(kind)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.r.QueryRowContext(ctx, `SELECT count(*) FROM `+t.from).Scan(&n)
	return n, s.translate(err, "count %s", kind)
}
