package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// Doses stores doses and dose plans (store.Doses).
type Doses struct{ s *Store }

// Doses returns the doses.
func (s *Store) Doses() store.Doses { return Doses{s} }

const doseColumns = `id, patient_id, medication_id, scheduled_at, local_date, local_time, status, taken_at, logged_at,
	skip_reason, as_needed, history, created_at, updated_at`

const insertDose = `INSERT INTO doses (` + doseColumns + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

func scanDose(r scanner) (models.Dose, error) {
	var d models.Dose
	var scheduled, created, updated int64
	var taken, logged sql.NullInt64
	var asNeeded int64
	var history string
	if err := r.Scan(&d.ID, &d.PatientID, &d.MedicationID, &scheduled, &d.LocalDate, &d.LocalTime, &d.Status, &taken, &logged,
		&d.SkipReason, &asNeeded, &history, &created, &updated); err != nil {
		return d, err
	}
	d.ScheduledAt, d.CreatedAt, d.UpdatedAt = fromMS(scheduled), fromMS(created), fromMS(updated)
	d.TakenAt, d.LoggedAt, d.AsNeeded = fromNullMS(taken), fromNullMS(logged), asNeeded != 0
	return d, fromJSON(history, &d.History)
}

func doseArgs(d models.Dose) ([]any, error) {
	history, err := jsonText(d.History)
	if err != nil {
		return nil, err
	}
	return []any{d.ID, d.PatientID, d.MedicationID, ms(d.ScheduledAt), d.LocalDate, d.LocalTime, string(d.Status),
		msOrNil(d.TakenAt), msOrNil(d.LoggedAt), d.SkipReason, boolInt(d.AsNeeded), history, ms(d.CreatedAt), ms(d.UpdatedAt)}, nil
}

// Insert stores a new dose; conflict if its id is taken.
func (d Doses) Insert(ctx context.Context, dose models.Dose) error {
	args, err := doseArgs(dose)
	if err != nil {
		return err
	}
	_, err = d.s.exec(ctx, "insert dose "+dose.ID, insertDose, args...)
	return err
}

// InsertMissing stores every dose whose id is free, in one transaction,
// and returns how many it stored.
func (d Doses) InsertMissing(ctx context.Context, doses []models.Dose) (int, error) {
	if len(doses) == 0 {
		return 0, nil
	}
	stored := 0
	err := d.s.tx(ctx, "insert doses", func(tx *sql.Tx) error {
		stored = 0
		stmt, err := d.s.prepare(ctx, tx, insertDose+` ON CONFLICT (id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, dose := range doses {
			args, err := doseArgs(dose)
			if err != nil {
				return err
			}
			res, err := stmt.ExecContext(ctx, args...)
			if err != nil {
				return d.s.translate(err, "insert %d doses", len(doses))
			}
			n, _ := res.RowsAffected()
			stored += int(n)
		}
		return nil
	})
	return stored, err
}

// Get returns the dose stored under id; not_found if there is none.
func (d Doses) Get(ctx context.Context, id string) (models.Dose, error) {
	return byKey[models.Dose](ctx, d.s, store.KindDoses, id)
}

// ListByPatient returns the patient's doses scheduled in [from, to), by
// (scheduledAt, id).
func (d Doses) ListByPatient(ctx context.Context, patientID string, from, to time.Time) ([]models.Dose, error) {
	return queryAll(ctx, d.s, d.s.r, scanDose, "list doses of patient",
		`SELECT `+doseColumns+` FROM doses WHERE patient_id = ? AND scheduled_at >= ? AND scheduled_at < ? ORDER BY scheduled_at, id`,
		patientID, ms(from), ms(to))
}

// ListByMedication returns the medication's doses scheduled in [from, to),
// by (scheduledAt, id).
func (d Doses) ListByMedication(ctx context.Context, medicationID string, from, to time.Time) ([]models.Dose, error) {
	return queryAll(ctx, d.s, d.s.r, scanDose, "list doses of medication",
		`SELECT `+doseColumns+` FROM doses WHERE medication_id = ? AND scheduled_at >= ? AND scheduled_at < ? ORDER BY scheduled_at, id`,
		medicationID, ms(from), ms(to))
}

// ListPendingDue returns the patient's pending doses scheduled at or
// before cutoff, by (scheduledAt, id).
func (d Doses) ListPendingDue(ctx context.Context, patientID string, cutoff time.Time) ([]models.Dose, error) {
	return queryAll(ctx, d.s, d.s.r, scanDose, "list pending doses",
		`SELECT `+doseColumns+` FROM doses INDEXED BY doses_patient_pending
		 WHERE patient_id = ? AND status = 'pending' AND scheduled_at <= ? ORDER BY scheduled_at, id`,
		patientID, ms(cutoff))
}

// ListPendingBefore returns up to limit pending doses of any patient
// scheduled at or before cutoff, oldest first.
func (d Doses) ListPendingBefore(ctx context.Context, cutoff time.Time, limit int) ([]models.Dose, error) {
	return queryAll(ctx, d.s, d.s.r, scanDose, "list overdue doses",
		`SELECT `+doseColumns+` FROM doses INDEXED BY doses_pending
		 WHERE status = 'pending' AND scheduled_at <= ? ORDER BY scheduled_at, id LIMIT ?`,
		ms(cutoff), limit)
}

// Replace stores next in place of prev if the stored dose is still prev
// (same status and updatedAt): one conditional UPDATE.
func (d Doses) Replace(ctx context.Context, next, prev models.Dose) (bool, error) {
	if next.ID != prev.ID {
		return false, fmt.Errorf("replace dose %s with dose %s", prev.ID, next.ID)
	}
	args, err := doseArgs(next)
	if err != nil {
		return false, err
	}
	n, err := d.s.exec(ctx, "update dose "+prev.ID, `UPDATE doses SET patient_id = ?, medication_id = ?, scheduled_at = ?,
		local_date = ?, local_time = ?, status = ?, taken_at = ?, logged_at = ?, skip_reason = ?, as_needed = ?, history = ?,
		created_at = ?, updated_at = ? WHERE id = ? AND status = ? AND updated_at = ?`,
		append(args[1:], prev.ID, string(prev.Status), ms(prev.UpdatedAt))...)
	return n == 1, err
}

// DeletePending deletes a pending dose if it is still the version read.
func (d Doses) DeletePending(ctx context.Context, dose models.Dose, at time.Time) (bool, error) {
	if dose.Status != models.DosePending {
		return false, nil
	}
	var deleted bool
	err := d.s.tx(ctx, "delete dose "+dose.ID, func(tx *sql.Tx) error {
		n, err := d.s.execOn(ctx, tx, "delete dose "+dose.ID, `DELETE FROM doses WHERE id = ? AND status = 'pending' AND updated_at = ?`,
			dose.ID, ms(dose.UpdatedAt))
		if deleted = n == 1; err != nil || !deleted {
			return err
		}
		_, err = d.s.execOn(ctx, tx, "tombstone dose "+dose.ID, `INSERT INTO dose_tombstones (id, patient_id, deleted_at) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET deleted_at = excluded.deleted_at`, dose.ID, dose.PatientID, ms(at))
		return err
	})
	return deleted && err == nil, err
}

// Changed returns the patient's doses changed in (after, upTo], by
// (updatedAt, id) (index doses_changes).
func (d Doses) Changed(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Dose, error) {
	return queryAll(ctx, d.s, d.s.r, scanDose, "dose changes of "+patientID,
		`SELECT `+doseColumns+` FROM doses WHERE `+changedSince, changeArgs(patientID, after, upTo, limit)...)
}

// Deleted returns the tombstones of the patient's doses deleted in
// (after, upTo], by (deletedAt, id) (index dose_tombstones_changes).
func (d Doses) Deleted(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Tombstone, error) {
	return queryAll(ctx, d.s, d.s.r, scanTombstone, "dose tombstones of "+patientID,
		`SELECT `+tombstoneColumns+` FROM dose_tombstones WHERE patient_id = ? AND (deleted_at, id) > (?, ?) AND deleted_at <= ?
		ORDER BY deleted_at, id LIMIT ?`, changeArgs(patientID, after, upTo, limit)...)
}

const tombstoneColumns = `id, patient_id, deleted_at`

func scanTombstone(r scanner) (models.Tombstone, error) {
	t := models.Tombstone{Kind: models.FeedDose}
	var at int64
	err := r.Scan(&t.ID, &t.PatientID, &at)
	t.DeletedAt = fromMS(at)
	return t, err
}

// DosePlan returns the medication's plan ("" and the zero time if none).
func (d Doses) DosePlan(ctx context.Context, medicationID string) (string, time.Time, error) {
	p, err := byKey[store.DosePlan](ctx, d.s, store.KindDosePlans, medicationID)
	if models.IsCode(err, models.CodeNotFound) {
		return "", time.Time{}, nil
	}
	return p.Fingerprint, p.Through, err
}

const dosePlanColumns = `medication_id, patient_id, fingerprint, through`

func scanDosePlan(r scanner) (store.DosePlan, error) {
	var p store.DosePlan
	var through int64
	err := r.Scan(&p.MedicationID, &p.PatientID, &p.Fingerprint, &through)
	p.Through = fromMS(through)
	return p, err
}

// SwapDosePlan records the plan if the stored fingerprint is still prev
// ("" also matching no plan): one UPDATE, or from "" one upsert whose
// update is conditional.
func (d Doses) SwapDosePlan(ctx context.Context, medicationID, patientID, prev, next string, through time.Time) (bool, error) {
	var n int64
	var err error
	if prev == "" {
		n, err = d.s.exec(ctx, "swap dose plan of "+medicationID, `INSERT INTO dose_plans (`+dosePlanColumns+`) VALUES (?,?,?,?)
			ON CONFLICT (medication_id) DO UPDATE SET patient_id = excluded.patient_id, fingerprint = excluded.fingerprint,
			through = excluded.through WHERE dose_plans.fingerprint = ''`, medicationID, patientID, next, ms(through))
	} else {
		n, err = d.s.exec(ctx, "swap dose plan of "+medicationID,
			`UPDATE dose_plans SET patient_id = ?, fingerprint = ?, through = ? WHERE medication_id = ? AND fingerprint = ?`,
			patientID, next, ms(through), medicationID, prev)
	}
	return n == 1, err
}

// InvalidateDosePlan clears the medication's plan fingerprint.
func (d Doses) InvalidateDosePlan(ctx context.Context, medicationID string) error {
	_, err := d.s.exec(ctx, "invalidate dose plan of "+medicationID, `UPDATE dose_plans SET fingerprint = '' WHERE medication_id = ?`, medicationID)
	return err
}
