package sqlite

import (
	"context"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// Audit stores the access log (store.Audit).
type Audit struct{ s *Store }

// Audit returns the access log.
func (s *Store) Audit() store.Audit { return Audit{s} }

const auditColumns = `id, patient_id, actor_id, actor_role, action, resource, at, request_id, client_address`

func scanAudit(r scanner) (models.AuditEntry, error) {
	var e models.AuditEntry
	var at int64
	err := r.Scan(&e.ID, &e.PatientID, &e.ActorID, &e.ActorRole, &e.Action, &e.Resource, &at, &e.RequestID, &e.ClientAddress)
	e.At = fromMS(at)
	return e, err
}

func (s *Store) insertAudit(ctx context.Context, db execer, e models.AuditEntry) error {
	_, err := s.execOn(ctx, db, "write audit entry", `INSERT INTO audit_log (`+auditColumns+`) VALUES (?,?,?,?,?,?,?,?,?)`,
		e.ID, e.PatientID, e.ActorID, string(e.ActorRole), e.Action, e.Resource, ms(e.At), e.RequestID, e.ClientAddress)
	return err
}

// Insert stores an entry.
func (a Audit) Insert(ctx context.Context, e models.AuditEntry) error {
	return a.s.insertAudit(ctx, a.s.w, e)
}

// List returns up to limit of a patient's entries with id below before
// (all when before is ""), newest first.
func (a Audit) List(ctx context.Context, patientID, before string, limit int) ([]models.AuditEntry, error) {
	if before == "" {
		return queryAll(ctx, a.s, a.s.r, scanAudit, "list audit entries",
			`SELECT `+auditColumns+` FROM audit_log WHERE patient_id = ? ORDER BY id DESC LIMIT ?`, patientID, limit)
	}
	return queryAll(ctx, a.s, a.s.r, scanAudit, "list audit entries",
		`SELECT `+auditColumns+` FROM audit_log WHERE patient_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, patientID, before, limit)
}

// Count returns how many entries a patient's log holds.
func (a Audit) Count(ctx context.Context, patientID string) (int64, error) {
	var n int64
	err := a.s.r.QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE patient_id = ?`, patientID).Scan(&n)
	return n, a.s.translate(err, "count audit entries")
}
