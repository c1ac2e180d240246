package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// Consents stores consent records and nominations (store.Consents).
type Consents struct{ s *Store }

// Consents returns the consents store.
func (s *Store) Consents() store.Consents { return Consents{s} }

const consentColumns = `id, patient_id, pharmacy_id, granted_by, granted_at, text_version, withdrawn_at, end_reason`

func scanConsent(r scanner) (models.Consent, error) {
	var c models.Consent
	var granted int64
	var withdrawn sql.NullInt64
	err := r.Scan(&c.ID, &c.PatientID, &c.PharmacyID, &c.GrantedBy, &granted, &c.TextVersion, &withdrawn, &c.EndReason)
	c.GrantedAt, c.WithdrawnAt = fromMS(granted), fromNullMS(withdrawn)
	return c, err
}

const nominationColumns = `patient_id, pharmacy_id, consent_id, granted_at`

func scanNomination(r scanner) (models.Nomination, error) {
	var n models.Nomination
	var granted int64
	err := r.Scan(&n.PatientID, &n.PharmacyID, &n.ConsentID, &granted)
	n.GrantedAt = fromMS(granted)
	return n, err
}

func (s *Store) insertConsent(ctx context.Context, db execer, c models.Consent) error {
	_, err := s.execOn(ctx, db, "insert consent", `INSERT INTO consents (`+consentColumns+`) VALUES (?,?,?,?,?,?,?,?)`,
		c.ID, c.PatientID, c.PharmacyID, c.GrantedBy, ms(c.GrantedAt), c.TextVersion, msOrNil(c.WithdrawnAt), c.EndReason)
	return err
}

func (s *Store) insertNomination(ctx context.Context, db execer, n models.Nomination, orIgnore bool) (int64, error) {
	query := `INSERT INTO nominations (` + nominationColumns + `) VALUES (?,?,?,?)`
	if orIgnore {
		query += ` ON CONFLICT (patient_id) DO NOTHING`
	}
	return s.execOn(ctx, db, "insert nomination", query, n.PatientID, n.PharmacyID, n.ConsentID, ms(n.GrantedAt))
}

// Insert stores a consent record.
func (c Consents) Insert(ctx context.Context, consent models.Consent) error {
	return c.s.insertConsent(ctx, c.s.w, consent)
}

// Consent returns a consent record by id; not_found if there is none.
func (c Consents) Consent(ctx context.Context, id string) (models.Consent, error) {
	return byKey[models.Consent](ctx, c.s, store.KindConsents, id)
}

// End marks a consent record ended; its first end stays.
func (c Consents) End(ctx context.Context, id, reason string, at time.Time) error {
	_, err := c.s.exec(ctx, "end consent "+id, `UPDATE consents SET withdrawn_at = ?, end_reason = ? WHERE id = ? AND withdrawn_at IS NULL`,
		ms(at), reason, id)
	return err
}

// History returns a patient's consent records, newest first.
func (c Consents) History(ctx context.Context, patientID string) ([]models.Consent, error) {
	return queryAll(ctx, c.s, c.s.r, scanConsent, "consent history",
		`SELECT `+consentColumns+` FROM consents WHERE patient_id = ? ORDER BY granted_at DESC, id DESC`, patientID)
}

// Nomination returns a patient's current nomination; not_found if none.
func (c Consents) Nomination(ctx context.Context, patientID string) (models.Nomination, error) {
	return byKey[models.Nomination](ctx, c.s, store.KindNominations, patientID)
}

// SwapNomination makes n the patient's nomination if the current one is
// still held by expectConsentID (none when ""): one statement.
func (c Consents) SwapNomination(ctx context.Context, expectConsentID string, n models.Nomination) (bool, error) {
	if expectConsentID == "" {
		changed, err := c.s.insertNomination(ctx, c.s.w, n, true)
		return changed == 1, err
	}
	changed, err := c.s.exec(ctx, "replace nomination", `UPDATE nominations SET pharmacy_id = ?, consent_id = ?, granted_at = ?
		WHERE patient_id = ? AND consent_id = ?`, n.PharmacyID, n.ConsentID, ms(n.GrantedAt), n.PatientID, expectConsentID)
	return changed == 1, err
}

// DeleteNomination removes a nomination still held by consentID.
func (c Consents) DeleteNomination(ctx context.Context, patientID, consentID string) (bool, error) {
	n, err := c.s.exec(ctx, "delete nomination", `DELETE FROM nominations WHERE patient_id = ? AND consent_id = ?`, patientID, consentID)
	return n == 1, err
}

// Nominations returns the current nominations of one pharmacy (all when
// pharmacyID is ""), by patient id.
func (c Consents) Nominations(ctx context.Context, pharmacyID string) ([]models.Nomination, error) {
	if pharmacyID == "" {
		return queryAll(ctx, c.s, c.s.r, scanNomination, "list nominations",
			`SELECT `+nominationColumns+` FROM nominations ORDER BY patient_id`)
	}
	return queryAll(ctx, c.s, c.s.r, scanNomination, "list nominations",
		`SELECT `+nominationColumns+` FROM nominations WHERE pharmacy_id = ? ORDER BY patient_id`, pharmacyID)
}
