package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// Flags stores review flags and flag slots (store.Flags). Notes and
// history are JSON arrays that each write appends to in the same
// statement (json_insert), never read and written back. A row holds a
// store.FlagRecord: the live column always holds models.LiveFlag(status,
// follow_up_at IS NOT NULL), set by the insert and by every status change
// from that function (setStatus, setResolved), and severity_rank the
// severity's rank.
type Flags struct{ s *Store }

// Flags returns the review-flags store.
func (s *Store) Flags() store.Flags { return Flags{s} }

const flagColumns = `id, patient_id, pharmacy_id, rule, seq, severity, severity_rank, evidence, suggested_service, evidence_key,
	status, live, claimed_by, claimed_at, notes, outcome, resolved_by, resolved_at, follow_up_at, close_reason, closed_at,
	queued_at, history, created_at, updated_at`

func scanFlag(r scanner) (models.Flag, error) {
	rec, err := scanFlagRecord(r)
	return rec.Flag, err
}

func scanFlagRecord(r scanner) (store.FlagRecord, error) {
	var rec store.FlagRecord
	f := &rec.Flag
	var evidence, notes, history string
	var live int64
	var claimed, resolved, followUp, closed sql.NullInt64
	var queued, created, updated int64
	if err := r.Scan(&f.ID, &f.PatientID, &f.PharmacyID, &f.Rule, &f.Seq, &f.Severity, &rec.SeverityRank, &evidence, &f.SuggestedService,
		&f.EvidenceKey, &f.Status, &live, &f.ClaimedBy, &claimed, &notes, &f.Outcome, &f.ResolvedBy, &resolved, &followUp,
		&f.CloseReason, &closed, &queued, &history, &created, &updated); err != nil {
		return rec, err
	}
	rec.Live = live != 0
	f.ClaimedAt, f.ResolvedAt, f.FollowUpAt, f.ClosedAt = fromNullMS(claimed), fromNullMS(resolved), fromNullMS(followUp), fromNullMS(closed)
	f.QueuedAt, f.CreatedAt, f.UpdatedAt = fromMS(queued), fromMS(created), fromMS(updated)
	if err := fromJSON(evidence, &f.Evidence); err != nil {
		return rec, err
	}
	if err := fromJSON(notes, &f.Notes); err != nil {
		return rec, err
	}
	return rec, fromJSON(history, &f.History)
}

// insertFlag stores rec as it is: Insert gives it store.FlagRecordOf, an
// import what was exported.
func (s *Store) insertFlag(ctx context.Context, db execer, rec store.FlagRecord) error {
	f := rec.Flag
	evidence, err := jsonText(f.Evidence)
	if err != nil {
		return err
	}
	notes, err := jsonText(f.Notes)
	if err != nil {
		return err
	}
	history, err := jsonText(f.History)
	if err != nil {
		return err
	}
	_, err = s.execOn(ctx, db, "insert flag "+f.ID, `INSERT INTO flags (`+flagColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		f.ID, f.PatientID, f.PharmacyID, string(f.Rule), f.Seq, string(f.Severity), rec.SeverityRank, evidence, string(f.SuggestedService),
		f.EvidenceKey, string(f.Status), boolInt(rec.Live), f.ClaimedBy, msOrNil(f.ClaimedAt), notes, string(f.Outcome), f.ResolvedBy,
		msOrNil(f.ResolvedAt), msOrNil(f.FollowUpAt), f.CloseReason, msOrNil(f.ClosedAt), ms(f.QueuedAt), history, ms(f.CreatedAt), ms(f.UpdatedAt))
	return err
}

// Insert stores a new flag; conflict if its id is taken.
func (x Flags) Insert(ctx context.Context, f models.Flag) error {
	return x.s.insertFlag(ctx, x.s.w, store.FlagRecordOf(f))
}

// Get returns a flag by id; not_found if there is none.
func (x Flags) Get(ctx context.Context, id string) (models.Flag, error) {
	rec, err := byKey[store.FlagRecord](ctx, x.s, store.KindFlags, id)
	return rec.Flag, err
}

// LatestSeq returns the latest seq recorded for the patient's rule.
func (x Flags) LatestSeq(ctx context.Context, patientID string, rule models.FlagRuleID) (int, error) {
	seqs, err := queryAll(ctx, x.s, x.s.r, func(r scanner) (int, error) { var n int; return n, r.Scan(&n) },
		"flag slot of "+patientID, `SELECT seq FROM flag_slots WHERE id = ?`, models.FlagSlotID(patientID, rule))
	if err != nil || len(seqs) == 0 {
		return 0, err
	}
	return seqs[0], nil
}

// RecordSeq records seq unless a later one is recorded: one upsert.
func (x Flags) RecordSeq(ctx context.Context, patientID string, rule models.FlagRuleID, seq int) error {
	id := models.FlagSlotID(patientID, rule)
	_, err := x.s.exec(ctx, "record flag slot "+id,
		`INSERT INTO flag_slots (id, seq) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > flag_slots.seq`,
		id, seq)
	return err
}

// setStatus is the SET clause, and its arguments, of a write that moves a
// flag to status and keeps its follow-up date: live is models.LiveFlag's
// answer for status and the follow-up date the row holds.
func setStatus(status models.FlagStatus) (string, []any) {
	return `status = ?, live = CASE WHEN follow_up_at IS NULL THEN ? ELSE ? END`,
		[]any{string(status), boolInt(models.LiveFlag(status, false)), boolInt(models.LiveFlag(status, true))}
}

// setResolved is the SET clause, and its arguments, of a write that
// resolves a flag with the follow-up date followUpAt (nil: none): live is
// models.LiveFlag's answer for them.
func setResolved(followUpAt *time.Time) (string, []any) {
	return `status = ?, follow_up_at = ?, live = ?`,
		[]any{string(models.FlagResolved), msOrNil(followUpAt), boolInt(models.LiveFlag(models.FlagResolved, followUpAt != nil))}
}

// appendJSON is the SQL expression that appends one JSON value to the
// array in column (null counts as empty).
func appendJSON(column string) string {
	return column + ` = json_insert(CASE WHEN ` + column + ` = 'null' THEN '[]' ELSE ` + column + ` END, '$[#]', json(?))`
}

// Refire stores new evidence on a live flag (see store.Flags).
func (x Flags) Refire(ctx context.Context, id string, ev models.FlagEvidence, key string, sev models.Severity, at time.Time, event models.FlagEvent, reopen bool) (bool, error) {
	evidence, err := jsonText(ev)
	if err != nil {
		return false, err
	}
	ej, err := jsonText(event)
	if err != nil {
		return false, err
	}
	set := []string{"evidence = ?", "evidence_key = ?", "severity = ?", "severity_rank = ?", "updated_at = ?", appendJSON("history")}
	args := []any{evidence, key, string(sev), sev.Rank(), ms(at), ej}
	where := `id = ? AND live = 1`
	if reopen {
		status, statusArgs := setStatus(models.FlagOpen)
		set = append(set, status, "queued_at = ?", "claimed_by = ''", "claimed_at = NULL")
		args = append(append(args, statusArgs...), ms(at))
		where += ` AND status = 'resolved'`
	}
	n, err := x.s.exec(ctx, "refire flag "+id, `UPDATE flags SET `+strings.Join(set, ", ")+` WHERE `+where, append(args, id)...)
	return n == 1, err
}

// Claim makes an open flag claimed by `by`: one conditional UPDATE.
func (x Flags) Claim(ctx context.Context, id, by string, at time.Time) (bool, error) {
	ej, err := jsonText(models.FlagEvent{At: at, By: by, Event: models.FlagEventClaimed})
	if err != nil {
		return false, err
	}
	status, args := setStatus(models.FlagClaimed)
	n, err := x.s.exec(ctx, "claim flag "+id, `UPDATE flags SET `+status+`, claimed_by = ?, claimed_at = ?, updated_at = ?, `+
		appendJSON("history")+` WHERE id = ? AND status = 'open'`, append(args, by, ms(at), ms(at), ej, id)...)
	return n == 1, err
}

// AddNote appends a note to a flag that is not closed and holds fewer
// than maxNotes notes: one conditional UPDATE.
func (x Flags) AddNote(ctx context.Context, id string, note models.FlagNote, maxNotes int) (bool, error) {
	nj, err := jsonText(note)
	if err != nil {
		return false, err
	}
	ej, err := jsonText(models.FlagEvent{At: note.At, By: note.By, Event: models.FlagEventNote})
	if err != nil {
		return false, err
	}
	n, err := x.s.exec(ctx, "note on flag "+id, `UPDATE flags SET updated_at = ?, `+appendJSON("notes")+`, `+appendJSON("history")+
		` WHERE id = ? AND status != 'closed' AND json_array_length(notes) < ?`, ms(note.At), nj, ej, id, maxNotes)
	return n == 1, err
}

// Resolve resolves a flag open, or claimed by `by` (see store.Flags).
func (x Flags) Resolve(ctx context.Context, id, by string, outcome models.FlagOutcome, note string, followUpAt *time.Time, at time.Time) (bool, error) {
	nj, err := jsonText(models.FlagNote{By: by, At: at, Text: note})
	if err != nil {
		return false, err
	}
	ej, err := jsonText(models.FlagEvent{At: at, By: by, Event: models.FlagEventResolved, Outcome: outcome, FollowUpAt: followUpAt})
	if err != nil {
		return false, err
	}
	status, args := setResolved(followUpAt)
	set := []string{status, "outcome = ?", "resolved_by = ?", "resolved_at = ?", "claimed_by = ?", "updated_at = ?"}
	args = append(args, string(outcome), by, ms(at), by, ms(at))
	if followUpAt != nil {
		set = append(set, "queued_at = ?")
		args = append(args, ms(*followUpAt))
	}
	set = append(set, appendJSON("notes"), appendJSON("history"))
	args = append(args, nj, ej, id, by)
	n, err := x.s.exec(ctx, "resolve flag "+id, `UPDATE flags SET `+strings.Join(set, ", ")+
		` WHERE id = ? AND (status = 'open' OR (status = 'claimed' AND claimed_by = ?))`, args...)
	return n == 1, err
}

// ReopenFollowUp puts a resolved live flag whose follow-up date has come
// back in the queue.
func (x Flags) ReopenFollowUp(ctx context.Context, f models.Flag, now time.Time) (bool, error) {
	if f.FollowUpAt == nil {
		return false, nil
	}
	ej, err := jsonText(models.FlagEvent{At: *f.FollowUpAt, Event: models.FlagEventFollowUpDue})
	if err != nil {
		return false, err
	}
	status, args := setStatus(models.FlagOpen)
	n, err := x.s.exec(ctx, "reopen flag "+f.ID, `UPDATE flags SET `+status+`, queued_at = ?, updated_at = ?, claimed_by = '', claimed_at = NULL, `+
		appendJSON("history")+` WHERE id = ? AND status = 'resolved' AND live = 1 AND follow_up_at <= ?`,
		append(args, ms(*f.FollowUpAt), ms(now), ej, f.ID, ms(now))...)
	return n == 1, err
}

// Close closes a live flag without review.
func (x Flags) Close(ctx context.Context, id, reason string, at time.Time) (bool, error) {
	return x.s.closeFlag(ctx, x.s.w, id, reason, at)
}

// closeFlag is Close on the writer or in a transaction.
func (s *Store) closeFlag(ctx context.Context, db execer, id, reason string, at time.Time) (bool, error) {
	ej, err := jsonText(models.FlagEvent{At: at, Event: models.FlagEventClosed, Reason: reason})
	if err != nil {
		return false, err
	}
	status, args := setStatus(models.FlagClosed)
	n, err := s.execOn(ctx, db, "close flag "+id, `UPDATE flags SET `+status+`, close_reason = ?, closed_at = ?, updated_at = ?, `+
		appendJSON("history")+` WHERE id = ? AND live = 1`, append(args, reason, ms(at), ms(at), ej, id)...)
	return n == 1, err
}

// LiveOfPatient returns the patient's live flags, by (rule, id).
func (x Flags) LiveOfPatient(ctx context.Context, patientID, pharmacyID string) ([]models.Flag, error) {
	query := `SELECT ` + flagColumns + ` FROM flags INDEXED BY flags_patient_live WHERE patient_id = ? AND live = 1`
	args := []any{patientID}
	if pharmacyID != "" {
		query += ` AND pharmacy_id = ?`
		args = append(args, pharmacyID)
	}
	return queryAll(ctx, x.s, x.s.r, scanFlag, "live flags of patient", query+` ORDER BY rule, id`, args...)
}

// OfPatient returns every flag of the patient, by (createdAt, id).
func (x Flags) OfPatient(ctx context.Context, patientID string) ([]models.Flag, error) {
	return queryAll(ctx, x.s, x.s.r, scanFlag, "flags of patient",
		`SELECT `+flagColumns+` FROM flags INDEXED BY flags_patient WHERE patient_id = ? ORDER BY created_at, id`, patientID)
}

// DueFollowUps returns resolved flags whose follow-up date has come, by
// (followUpAt, id).
func (x Flags) DueFollowUps(ctx context.Context, pharmacyID string, now time.Time) ([]models.Flag, error) {
	query := `SELECT ` + flagColumns + ` FROM flags INDEXED BY flags_follow_up
		WHERE status = 'resolved' AND follow_up_at IS NOT NULL AND follow_up_at <= ?`
	args := []any{ms(now)}
	if pharmacyID != "" {
		query += ` AND pharmacy_id = ?`
		args = append(args, pharmacyID)
	}
	return queryAll(ctx, x.s, x.s.r, scanFlag, "due follow-ups", query+` ORDER BY follow_up_at, id`, args...)
}

// Queue returns one page of a pharmacy's flags matching q.
func (x Flags) Queue(ctx context.Context, q models.FlagQuery) ([]models.Flag, error) {
	conds := []string{"pharmacy_id = ?"}
	args := []any{q.PharmacyID}
	in := func(column string, values []string) {
		if len(values) > 0 {
			conds = append(conds, column+` IN (SELECT value FROM json_each(?))`)
			args = append(args, idList(values))
		}
	}
	in("status", stringsOf(q.Statuses))
	in("severity", stringsOf(q.Severities))
	in("rule", stringsOf(q.Rules))
	if k := q.After; k != nil {
		conds = append(conds, `(severity_rank < ? OR (severity_rank = ? AND (queued_at, id) > (?, ?)))`)
		args = append(args, k.SeverityRank, k.SeverityRank, ms(k.QueuedAt), k.ID)
	}
	return queryAll(ctx, x.s, x.s.r, scanFlag, "flag queue of pharmacy "+q.PharmacyID,
		`SELECT `+flagColumns+` FROM flags WHERE `+strings.Join(conds, " AND ")+` ORDER BY severity_rank DESC, queued_at, id LIMIT ?`,
		append(args, q.Limit)...)
}

func stringsOf[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}
