package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// ReportLinks stores the report share links (store.ReportLinks).
type ReportLinks struct{ s *Store }

// ReportLinks returns the report share links.
func (s *Store) ReportLinks() store.ReportLinks { return ReportLinks{s} }

const reportLinkColumns = `token_hash, public_id, patient_id, days, created_at, expires_at, revoked_at`

func scanReportLink(r scanner) (models.ReportLink, error) {
	var l models.ReportLink
	var created, expires int64
	var revoked sql.NullInt64
	err := r.Scan(&l.TokenHash, &l.ID, &l.PatientID, &l.Days, &created, &expires, &revoked)
	l.CreatedAt, l.ExpiresAt, l.RevokedAt = fromMS(created), fromMS(expires), fromNullMS(revoked)
	return l, err
}

func (s *Store) insertReportLink(ctx context.Context, db execer, l models.ReportLink) error {
	_, err := s.execOn(ctx, db, "create report link", `INSERT INTO report_links (`+reportLinkColumns+`) VALUES (?,?,?,?,?,?,?)`,
		l.TokenHash, l.ID, l.PatientID, l.Days, ms(l.CreatedAt), ms(l.ExpiresAt), msOrNil(l.RevokedAt))
	return err
}

// Create stores a link; conflict if its token hash or public id is taken.
func (r ReportLinks) Create(ctx context.Context, l models.ReportLink) error {
	return r.s.insertReportLink(ctx, r.s.w, l)
}

// ByTokenHash returns the link whose token hashes to hash (a primary-key
// read).
func (r ReportLinks) ByTokenHash(ctx context.Context, hash string) (models.ReportLink, error) {
	return queryOne(ctx, r.s, r.s.r, scanReportLink, "report link",
		`SELECT `+reportLinkColumns+` FROM report_links WHERE token_hash = ?`, hash)
}

// Get returns the patient's link with the public id.
func (r ReportLinks) Get(ctx context.Context, patientID, id string) (models.ReportLink, error) {
	return queryOne(ctx, r.s, r.s.r, scanReportLink, "report link",
		`SELECT `+reportLinkColumns+` FROM report_links WHERE public_id = ? AND patient_id = ?`, id, patientID)
}

// OfPatient returns up to limit of the patient's links, newest first.
func (r ReportLinks) OfPatient(ctx context.Context, patientID string, limit int) ([]models.ReportLink, error) {
	return queryAll(ctx, r.s, r.s.r, scanReportLink, "list report links",
		`SELECT `+reportLinkColumns+` FROM report_links WHERE patient_id = ? ORDER BY created_at DESC, public_id DESC LIMIT ?`,
		patientID, limit)
}

// CountLive counts the patient's links neither revoked nor expired at now.
func (r ReportLinks) CountLive(ctx context.Context, patientID string, now time.Time) (int, error) {
	var n int
	err := r.s.r.QueryRowContext(ctx, `SELECT count(*) FROM report_links WHERE patient_id = ? AND revoked_at IS NULL AND expires_at > ?`,
		patientID, ms(now)).Scan(&n)
	return n, r.s.translate(err, "count report links")
}

// PurgeExpired deletes up to limit links that expired before `before`:
// one DELETE over a range of report_links_expires.
func (r ReportLinks) PurgeExpired(ctx context.Context, before time.Time, limit int) (int, error) {
	n, err := r.s.exec(ctx, "purge report links", `DELETE FROM report_links WHERE token_hash IN
		(SELECT token_hash FROM report_links INDEXED BY report_links_expires WHERE expires_at < ? LIMIT ?)`, ms(before), limit)
	return int(n), err
}

// Revoke revokes the patient's link unless it already is: one conditional
// UPDATE.
func (r ReportLinks) Revoke(ctx context.Context, patientID, id string, at time.Time) (bool, error) {
	n, err := r.s.exec(ctx, "revoke report link",
		`UPDATE report_links SET revoked_at = ? WHERE public_id = ? AND patient_id = ? AND revoked_at IS NULL`, ms(at), id, patientID)
	return n == 1, err
}
