package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// Readings stores patients' readings (store.Readings).
type Readings struct{ s *Store }

// Readings returns the readings.
func (s *Store) Readings() store.Readings { return Readings{s} }

const readingColumns = `id, patient_id, type, taken_at, unit, value, systolic, diastolic, pulse, context, note,
	canonical_unit, canonical_value, canonical_systolic, canonical_diastolic, canonical_pulse, band, rule, loinc, created_at, deleted_at, source, updated_at, device, import_key`

const insertReading = `INSERT INTO readings (` + readingColumns + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

func scanReading(r scanner) (models.Reading, error) {
	var x models.Reading
	var takenAt, created, updated int64
	var value, sys, dia, pulse, cValue, cSys, cDia, cPulse sql.NullFloat64
	var deleted sql.NullInt64
	var importKey sql.NullString
	err := r.Scan(&x.ID, &x.PatientID, &x.Type, &takenAt, &x.Unit, &value, &sys, &dia, &pulse, &x.Context, &x.Note,
		&x.Canonical.Unit, &cValue, &cSys, &cDia, &cPulse, &x.Band, &x.Rule, &x.LOINC, &created, &deleted, &x.Source, &updated, &x.Device, &importKey)
	x.ImportKey = importKey.String
	x.TakenAt, x.CreatedAt, x.DeletedAt, x.UpdatedAt = fromMS(takenAt), fromMS(created), fromNullMS(deleted), fromMS(updated)
	x.Value, x.Systolic, x.Diastolic, x.Pulse = fromNullFloat(value), fromNullFloat(sys), fromNullFloat(dia), fromNullFloat(pulse)
	c := &x.Canonical
	c.Value, c.Systolic, c.Diastolic, c.Pulse = fromNullFloat(cValue), fromNullFloat(cSys), fromNullFloat(cDia), fromNullFloat(cPulse)
	return x, err
}

func readingArgs(x models.Reading) []any {
	c := x.Canonical
	return []any{x.ID, x.PatientID, string(x.Type), ms(x.TakenAt), x.Unit,
		float64OrNil(x.Value), float64OrNil(x.Systolic), float64OrNil(x.Diastolic), float64OrNil(x.Pulse), x.Context, x.Note,
		c.Unit, float64OrNil(c.Value), float64OrNil(c.Systolic), float64OrNil(c.Diastolic), float64OrNil(c.Pulse),
		x.Band, x.Rule, x.LOINC, ms(x.CreatedAt), msOrNil(x.DeletedAt), x.Source, ms(x.UpdatedAt), x.Device, stringOrNil(x.ImportKey)}
}

// stringOrNil is s, NULL for "".
func stringOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Insert stores a new reading; conflict if its id is taken, or its import
// key among the patient's readings.
func (r Readings) Insert(ctx context.Context, x models.Reading) error {
	_, err := r.s.exec(ctx, "insert reading "+x.ID, insertReading, readingArgs(x)...)
	return err
}

// InsertMany stores every reading whose id (and import key, if it has
// one) is free, in one transaction, and returns the positions of those
// whose id or import key was taken.
func (r Readings) InsertMany(ctx context.Context, readings []models.Reading) (duplicates []int, err error) {
	if len(readings) == 0 {
		return nil, nil
	}
	err = r.s.tx(ctx, "insert readings", func(tx *sql.Tx) error {
		duplicates = nil
		stmt, err := r.s.prepare(ctx, tx, insertReading+` ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, x := range readings {
			res, err := stmt.ExecContext(ctx, readingArgs(x)...)
			if err != nil {
				return r.s.translate(err, "insert %d readings", len(readings))
			}
			if n, _ := res.RowsAffected(); n == 0 {
				duplicates = append(duplicates, i)
			}
		}
		return nil
	})
	return duplicates, err
}

// Lookup returns the reading stored under id, any patient's, deleted or
// not; not_found if there is none.
func (r Readings) Lookup(ctx context.Context, id string) (models.Reading, error) {
	return byKey[models.Reading](ctx, r.s, store.KindReadings, id)
}

// LookupMany returns the readings stored under ids, by id.
func (r Readings) LookupMany(ctx context.Context, ids []string) (map[string]models.Reading, error) {
	out := make(map[string]models.Reading, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	found, err := queryAll(ctx, r.s, r.s.r, scanReading, "look up readings",
		`SELECT `+readingColumns+` FROM readings WHERE id IN (SELECT value FROM json_each(?))`, idList(ids))
	for _, x := range found {
		out[x.ID] = x
	}
	return out, err
}

// Get returns the patient's live reading id; not_found otherwise.
func (r Readings) Get(ctx context.Context, patientID, id string) (models.Reading, error) {
	x, err := queryOne(ctx, r.s, r.s.r, scanReading, "reading "+id,
		`SELECT `+readingColumns+` FROM readings WHERE id = ? AND patient_id = ? AND deleted_at IS NULL`, id, patientID)
	if models.IsCode(err, models.CodeNotFound) {
		return x, models.Errorf(models.CodeNotFound, "reading not found")
	}
	return x, err
}

// List returns one page of the patient's live readings matching q, newest
// first by (takenAt, id).
func (r Readings) List(ctx context.Context, q models.ReadingQuery) ([]models.Reading, error) {
	where, args := readingFilter(q)
	return queryAll(ctx, r.s, r.s.r, scanReading, "list readings of "+q.PatientID,
		`SELECT `+readingColumns+` FROM readings WHERE `+where+` ORDER BY taken_at DESC, id DESC LIMIT ?`, append(args, q.Limit)...)
}

// Range returns every live reading of the patient of type typ taken in
// [from, to).
func (r Readings) Range(ctx context.Context, patientID string, typ models.ReadingType, from, to time.Time) ([]models.Reading, error) {
	where, args := readingFilter(models.ReadingQuery{PatientID: patientID, Type: typ, From: from, To: to})
	return queryAll(ctx, r.s, r.s.r, scanReading, "readings of "+patientID+" in range",
		`SELECT `+readingColumns+` FROM readings WHERE `+where, args...)
}

// SoftDelete marks the patient's live reading deleted; not_found if there
// is none.
func (r Readings) SoftDelete(ctx context.Context, patientID, id string, at time.Time) error {
	n, err := r.s.exec(ctx, "delete reading "+id, `UPDATE readings SET deleted_at = ?, updated_at = max(?, updated_at + 1) WHERE id = ? AND patient_id = ? AND deleted_at IS NULL`,
		ms(at), ms(at), id, patientID)
	if err == nil && n == 0 {
		return models.Errorf(models.CodeNotFound, "reading not found")
	}
	return err
}

// readingFilter selects the patient's live readings that q asks for: of
// one type unless q.Type is "", taken in [q.From, q.To) as exact instants
// (a zero bound is open) and, with q.After, strictly after it in (takenAt desc, id desc)
// order. Every condition is on the columns of a partial index
// (readings_patient_taken, readings_patient_type_taken), which bounds the
// scan.
func readingFilter(q models.ReadingQuery) (string, []any) {
	conds := []string{"patient_id = ?", "deleted_at IS NULL"}
	args := []any{q.PatientID}
	if q.Type != "" {
		conds = append(conds, "type = ?")
		args = append(args, string(q.Type))
	}
	if !q.From.IsZero() {
		conds = append(conds, "taken_at >= ?")
		args = append(args, ms(store.MillisCeil(q.From)))
	}
	if !q.To.IsZero() {
		conds = append(conds, "taken_at < ?")
		args = append(args, ms(store.MillisCeil(q.To)))
	}
	if k := q.After; k != nil {
		conds = append(conds, "(taken_at, id) < (?, ?)")
		args = append(args, ms(k.TakenAt), k.ID)
	}
	return strings.Join(conds, " AND "), args
}

// Changed returns the patient's readings, deleted ones included, changed
// in (after, upTo], by (updatedAt, id) (index readings_changes).
func (r Readings) Changed(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Reading, error) {
	return queryAll(ctx, r.s, r.s.r, scanReading, "reading changes of "+patientID,
		`SELECT `+readingColumns+` FROM readings WHERE `+changedSince, changeArgs(patientID, after, upTo, limit)...)
}
