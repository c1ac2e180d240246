package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// Medications stores patients' medicines (store.Medications).
type Medications struct{ s *Store }

// Medications returns the medications.
func (s *Store) Medications() store.Medications { return Medications{s} }

const medicationColumns = `id, patient_id, name, strength, form, instructions, code, schedule,
	stock_quantity, stock_units_per_dose, stock_refill_lead_days, status, stopped_at, created_at, updated_at`

func scanMedication(r scanner) (models.Medication, error) {
	var m models.Medication
	var schedule string
	var qty, perDose sql.NullFloat64
	var lead sql.NullInt64
	var stopped sql.NullInt64
	var created, updated int64
	if err := r.Scan(&m.ID, &m.PatientID, &m.Name, &m.Strength, &m.Form, &m.Instructions, &m.Code, &schedule,
		&qty, &perDose, &lead, &m.Status, &stopped, &created, &updated); err != nil {
		return m, err
	}
	if qty.Valid {
		m.Stock = &models.Stock{Quantity: qty.Float64, UnitsPerDose: perDose.Float64, RefillLeadDays: int(lead.Int64)}
	}
	m.StoppedAt, m.CreatedAt, m.UpdatedAt = fromNullMS(stopped), fromMS(created), fromMS(updated)
	return m, fromJSON(schedule, &m.Schedule)
}

// stockArgs are the stock columns' values: NULLs for no stock.
func stockArgs(st *models.Stock) []any {
	if st == nil {
		return []any{nil, nil, nil}
	}
	return []any{st.Quantity, st.UnitsPerDose, st.RefillLeadDays}
}

// Create stores a new medication; conflict if its id is taken.
func (m Medications) Create(ctx context.Context, med models.Medication) error {
	return m.s.insertMedication(ctx, m.s.w, med)
}

func (s *Store) insertMedication(ctx context.Context, db execer, med models.Medication) error {
	schedule, err := jsonText(med.Schedule)
	if err != nil {
		return err
	}
	args := append([]any{med.ID, med.PatientID, med.Name, med.Strength, med.Form, med.Instructions, med.Code, schedule},
		stockArgs(med.Stock)...)
	args = append(args, string(med.Status), msOrNil(med.StoppedAt), ms(med.CreatedAt), ms(med.UpdatedAt))
	_, err = s.execOn(ctx, db, "create medication "+med.ID,
		`INSERT INTO medications (`+medicationColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, args...)
	return err
}

// Get returns the medication stored under id; not_found if there is none.
func (m Medications) Get(ctx context.Context, id string) (models.Medication, error) {
	return byKey[models.Medication](ctx, m.s, store.KindMedications, id)
}

// ListByPatient returns every medication of the patient, by (createdAt, id).
func (m Medications) ListByPatient(ctx context.Context, patientID string) ([]models.Medication, error) {
	return queryAll(ctx, m.s, m.s.r, scanMedication, "list medications",
		`SELECT `+medicationColumns+` FROM medications WHERE patient_id = ? ORDER BY created_at, id`, patientID)
}

// ListActive returns every active medication of every patient, by
// (patientId, id): one read of the partial index of active medications.
func (m Medications) ListActive(ctx context.Context) ([]models.Medication, error) {
	return queryAll(ctx, m.s, m.s.r, scanMedication, "list active medications",
		`SELECT `+medicationColumns+` FROM medications INDEXED BY medications_active WHERE status = 'active' ORDER BY patient_id, id`)
}

// CountActive returns how many active medications the patient has: one
// count over the partial index of active medications.
func (m Medications) CountActive(ctx context.Context, patientID string) (int, error) {
	counts, err := queryAll(ctx, m.s, m.s.r, func(r scanner) (int, error) { var n int; return n, r.Scan(&n) }, "count active medications",
		`SELECT count(*) FROM medications INDEXED BY medications_active WHERE patient_id = ? AND status = 'active'`, patientID)
	if err != nil {
		return 0, err
	}
	return counts[0], nil
}

// Update stores the edited fields of an active medication whose updatedAt
// is still prev (see store.Medications) and reports whether it did;
// not_found, or conflict if it is stopped.
func (m Medications) Update(ctx context.Context, med models.Medication, setStock bool, prev time.Time) (bool, error) {
	schedule, err := jsonText(med.Schedule)
	if err != nil {
		return false, err
	}
	query := `UPDATE medications SET name = ?, strength = ?, form = ?, instructions = ?, code = ?, schedule = ?, updated_at = ?`
	args := []any{med.Name, med.Strength, med.Form, med.Instructions, med.Code, schedule, ms(med.UpdatedAt)}
	if setStock {
		query += `, stock_quantity = ?, stock_units_per_dose = ?, stock_refill_lead_days = ?`
		args = append(args, stockArgs(med.Stock)...)
	}
	n, err := m.s.exec(ctx, "update medication "+med.ID, query+` WHERE id = ? AND status = 'active' AND updated_at = ?`, append(args, med.ID, ms(prev))...)
	if err != nil || n == 1 {
		return n == 1, err
	}
	stored, err := m.Get(ctx, med.ID)
	if err != nil {
		return false, err
	}
	if stored.Status != models.MedicationActive {
		return false, models.Errorf(models.CodeConflict, "the medication is stopped")
	}
	return false, nil
}

// Stop marks an active medication stopped (if prev is not zero, only while
// its updatedAt is prev) and reports whether this call did; not_found if
// there is none.
func (m Medications) Stop(ctx context.Context, id string, at, prev time.Time) (bool, error) {
	query := `UPDATE medications SET status = 'stopped', stopped_at = ?, updated_at = max(?, updated_at + 1) WHERE id = ? AND status = 'active'`
	args := []any{ms(at), ms(at), id}
	if !prev.IsZero() {
		query += ` AND updated_at = ?`
		args = append(args, ms(prev))
	}
	n, err := m.s.exec(ctx, "stop medication "+id, query, args...)
	if err != nil || n == 1 {
		return n == 1, err
	}
	_, err = m.Get(ctx, id)
	return false, err
}

// AdjustStock adds delta to a recorded stock quantity, never below zero,
// and makes the medication's updatedAt at least `at` and later than it was,
// in one UPDATE.
func (m Medications) AdjustStock(ctx context.Context, id string, delta float64, at time.Time) error {
	if delta == 0 {
		return nil
	}
	_, err := m.s.exec(ctx, "adjust stock of medication "+id,
		`UPDATE medications SET stock_quantity = max(0, stock_quantity + ?), updated_at = max(?, updated_at + 1)
		WHERE id = ? AND stock_quantity IS NOT NULL`, delta, ms(at), id)
	return err
}

// Changed returns the patient's medications changed in (after, upTo], by
// (updatedAt, id) (index medications_changes).
func (m Medications) Changed(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Medication, error) {
	return queryAll(ctx, m.s, m.s.r, scanMedication, "medication changes of "+patientID,
		`SELECT `+medicationColumns+` FROM medications WHERE `+changedSince, changeArgs(patientID, after, upTo, limit)...)
}
