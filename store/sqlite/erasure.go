package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// erasures are the deletes of ErasePerson, in order, each with the kind
// it counts under; every one finds its rows through an index (? is the
// user's id).
var erasures = []struct {
	kind  store.Kind
	query string
}{
	{store.KindRefreshTokens, `DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?)`},
	{store.KindSessions, `DELETE FROM sessions WHERE user_id = ?`},
	{store.KindDevices, `DELETE FROM devices WHERE user_id = ?`},
	{store.KindReadings, `DELETE FROM readings WHERE patient_id = ? AND deleted_at IS NULL`},
	{store.KindReadings, `DELETE FROM readings WHERE patient_id = ? AND deleted_at IS NOT NULL`},
	{store.KindDoses, `DELETE FROM doses WHERE patient_id = ?`},
	{"", `DELETE FROM dose_tombstones WHERE patient_id = ?`}, // ids only, but of the person
	{store.KindDosePlans, `DELETE FROM dose_plans WHERE patient_id = ?`},
	{store.KindMedications, `DELETE FROM medications WHERE patient_id = ?`},
	{store.KindOutbox, `DELETE FROM outbox WHERE id IN (SELECT id FROM notifications WHERE recipient_id = ?)`},
	{store.KindOutbox, `DELETE FROM outbox WHERE id IN (SELECT id FROM notifications WHERE patient_id = ?)`},
	{store.KindNotifications, `DELETE FROM notifications WHERE recipient_id = ?`},
	{store.KindNotifications, `DELETE FROM notifications WHERE patient_id = ?`},
	{store.KindInvitations, `DELETE FROM care_invitations WHERE patient_id = ?`},
	{"", `DELETE FROM care_link_scopes WHERE link_id IN (SELECT id FROM care_links WHERE patient_id = ?)`},
	{"", `DELETE FROM care_link_scopes WHERE link_id IN (SELECT id FROM care_links WHERE carer_id = ?)`},
	{store.KindLinks, `DELETE FROM care_links WHERE patient_id = ?`},
	{store.KindLinks, `DELETE FROM care_links WHERE carer_id = ?`},
	{store.KindNominations, `DELETE FROM nominations WHERE patient_id = ?`},
	{store.KindReportLinks, `DELETE FROM report_links WHERE patient_id = ?`},
}

// ErasePerson deletes a person's records in one transaction
// (store.Erasure).
func (s *Store) ErasePerson(ctx context.Context, userID string, at time.Time) (map[string]int, error) {
	counts := map[string]int{}
	err := s.tx(ctx, "erase "+userID, func(tx *sql.Tx) error {
		clear(counts)
		for _, e := range erasures {
			n, err := s.execOn(ctx, tx, "erase "+string(e.kind)+" of "+userID, e.query, userID)
			if err != nil {
				return err
			}
			if e.kind != "" {
				counts[string(e.kind)] += int(n)
			}
		}
		if err := s.eraseFlags(ctx, tx, userID, at, counts); err != nil {
			return err
		}
		n, err := s.execOn(ctx, tx, "erase user "+userID, `DELETE FROM users WHERE id = ?`, userID)
		counts[string(store.KindUsers)] = int(n)
		return err
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// eraseFlags deletes the patient's flags no pharmacist worked on and
// their flag slots, and closes the live ones that are kept.
func (s *Store) eraseFlags(ctx context.Context, tx *sql.Tx, patientID string, at time.Time, counts map[string]int) error {
	flags, err := queryAll(ctx, s, tx, scanFlag, "flags of "+patientID,
		`SELECT `+flagColumns+` FROM flags INDEXED BY flags_patient WHERE patient_id = ? ORDER BY created_at, id`, patientID)
	if err != nil {
		return err
	}
	for _, f := range flags {
		if models.FlagWorkedOn(f) {
			closed, err := s.closeFlag(ctx, tx, f.ID, models.FlagClosedAccountDeleted, at)
			if err != nil {
				return err
			}
			if closed {
				counts[string(store.KindFlagsClosed)]++
			}
			continue
		}
		n, err := s.execOn(ctx, tx, "erase flag "+f.ID, `DELETE FROM flags WHERE id = ?`, f.ID)
		if err != nil {
			return err
		}
		counts[string(store.KindFlags)] += int(n)
	}
	for _, id := range models.FlagSlotIDs(patientID) {
		n, err := s.execOn(ctx, tx, "erase flag slot", `DELETE FROM flag_slots WHERE id = ?`, id)
		if err != nil {
			return err
		}
		counts[string(store.KindFlagSlots)] += int(n)
	}
	return nil
}
