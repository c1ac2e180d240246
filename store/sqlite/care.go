package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// Care stores invitations and carer links (store.Care). A link's scopes
// are rows of care_link_scopes, written with the link in one transaction.
type Care struct{ s *Store }

// Care returns the care-circle store.
func (s *Store) Care() store.Care { return Care{s} }

const invitationColumns = `code_hash, public_id, patient_id, scopes, note, created_at, expires_at, accepted_at, accepted_by, link_id, revoked_at`

func scanInvitation(r scanner) (models.CareInvitation, error) {
	var inv models.CareInvitation
	var scopes string
	var created, expires int64
	var accepted, revoked sql.NullInt64
	if err := r.Scan(&inv.CodeHash, &inv.ID, &inv.PatientID, &scopes, &inv.Note, &created, &expires, &accepted, &inv.AcceptedBy,
		&inv.LinkID, &revoked); err != nil {
		return inv, err
	}
	inv.CreatedAt, inv.ExpiresAt, inv.AcceptedAt, inv.RevokedAt = fromMS(created), fromMS(expires), fromNullMS(accepted), fromNullMS(revoked)
	return inv, fromJSON(scopes, &inv.Scopes)
}

func (s *Store) insertInvitation(ctx context.Context, db execer, inv models.CareInvitation) error {
	scopes, err := jsonText(inv.Scopes)
	if err != nil {
		return err
	}
	_, err = s.execOn(ctx, db, "create invitation", `INSERT INTO care_invitations (`+invitationColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		inv.CodeHash, inv.ID, inv.PatientID, scopes, inv.Note, ms(inv.CreatedAt), ms(inv.ExpiresAt), msOrNil(inv.AcceptedAt),
		inv.AcceptedBy, inv.LinkID, msOrNil(inv.RevokedAt))
	return err
}

// CreateInvitation stores an invitation; conflict if its code hash or id
// is taken.
func (c Care) CreateInvitation(ctx context.Context, inv models.CareInvitation) error {
	return c.s.insertInvitation(ctx, c.s.w, inv)
}

// Invitation returns the invitation whose code hashes to hash.
func (c Care) Invitation(ctx context.Context, hash string) (models.CareInvitation, error) {
	return byKey[models.CareInvitation](ctx, c.s, store.KindInvitations, hash)
}

// Invitations returns up to limit of a patient's invitations, newest
// first.
func (c Care) Invitations(ctx context.Context, patientID string, limit int) ([]models.CareInvitation, error) {
	return queryAll(ctx, c.s, c.s.r, scanInvitation, "list invitations",
		`SELECT `+invitationColumns+` FROM care_invitations WHERE patient_id = ? ORDER BY created_at DESC, public_id DESC LIMIT ?`,
		patientID, limit)
}

// PendingInvitations returns up to limit of a patient's invitations
// pending at now, newest first: a range of the partial index of
// invitations neither accepted nor revoked, by expiry.
func (c Care) PendingInvitations(ctx context.Context, patientID string, now time.Time, limit int) ([]models.CareInvitation, error) {
	return queryAll(ctx, c.s, c.s.r, scanInvitation, "list pending invitations",
		`SELECT `+invitationColumns+` FROM care_invitations INDEXED BY care_invitations_open
		 WHERE patient_id = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?
		 ORDER BY created_at DESC, public_id DESC LIMIT ?`, patientID, ms(now), limit)
}

// InvitationByID returns the patient's invitation with the public id;
// not_found if there is none.
func (c Care) InvitationByID(ctx context.Context, patientID, id string) (models.CareInvitation, error) {
	return queryOne(ctx, c.s, c.s.r, scanInvitation, "invitation",
		`SELECT `+invitationColumns+` FROM care_invitations WHERE public_id = ? AND patient_id = ?`, id, patientID)
}

// ClaimInvitation marks a pending, unexpired invitation accepted: one
// conditional UPDATE.
func (c Care) ClaimInvitation(ctx context.Context, hash, carerID, linkID string, at time.Time) (bool, error) {
	n, err := c.s.exec(ctx, "claim invitation", `UPDATE care_invitations SET accepted_at = ?, accepted_by = ?, link_id = ?
		WHERE code_hash = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?`, ms(at), carerID, linkID, hash, ms(at))
	return n == 1, err
}

// RevokeInvitation revokes a patient's pending invitation by public id.
func (c Care) RevokeInvitation(ctx context.Context, patientID, id string, at time.Time) (bool, error) {
	n, err := c.s.exec(ctx, "revoke invitation", `UPDATE care_invitations SET revoked_at = ?
		WHERE public_id = ? AND patient_id = ? AND accepted_at IS NULL AND revoked_at IS NULL`, ms(at), id, patientID)
	return n == 1, err
}

const linkColumns = `l.id, l.patient_id, l.carer_id, l.status, l.invitation_id, l.created_at, l.updated_at, l.revoked_at, l.ended_by,
	(SELECT json_group_array(scope) FROM (SELECT scope FROM care_link_scopes WHERE link_id = l.id ORDER BY position))`

func scanLink(r scanner) (models.CareLink, error) {
	var l models.CareLink
	var created, updated int64
	var revoked sql.NullInt64
	var scopes string
	if err := r.Scan(&l.ID, &l.PatientID, &l.CarerID, &l.Status, &l.InvitationID, &created, &updated, &revoked, &l.EndedBy, &scopes); err != nil {
		return l, err
	}
	l.CreatedAt, l.UpdatedAt, l.RevokedAt = fromMS(created), fromMS(updated), fromNullMS(revoked)
	return l, fromJSON(scopes, &l.Scopes)
}

// putLink stores the link and its scopes in the transaction tx, replacing
// any earlier link of the same id when replace is set (conflict otherwise).
func (s *Store) putLink(ctx context.Context, tx *sql.Tx, l models.CareLink, replace bool) error {
	query := `INSERT INTO care_links (id, patient_id, carer_id, status, invitation_id, created_at, updated_at, revoked_at, ended_by)
		VALUES (?,?,?,?,?,?,?,?,?)`
	if replace {
		query += ` ON CONFLICT (id) DO UPDATE SET patient_id = excluded.patient_id, carer_id = excluded.carer_id, status = excluded.status,
		invitation_id = excluded.invitation_id, created_at = excluded.created_at, updated_at = excluded.updated_at,
		revoked_at = excluded.revoked_at, ended_by = excluded.ended_by`
	}
	if _, err := s.execOn(ctx, tx, "store care link", query,
		l.ID, l.PatientID, l.CarerID, l.Status, l.InvitationID, ms(l.CreatedAt), ms(l.UpdatedAt), msOrNil(l.RevokedAt), l.EndedBy); err != nil {
		return err
	}
	return s.setScopes(ctx, tx, l.ID, l.Scopes)
}

func (s *Store) setScopes(ctx context.Context, tx *sql.Tx, linkID string, scopes []models.CareScope) error {
	if _, err := s.execOn(ctx, tx, "store care link scopes", `DELETE FROM care_link_scopes WHERE link_id = ?`, linkID); err != nil {
		return err
	}
	for i, scope := range scopes {
		if _, err := s.execOn(ctx, tx, "store care link scopes", `INSERT INTO care_link_scopes (link_id, position, scope) VALUES (?,?,?)`,
			linkID, i, string(scope)); err != nil {
			return err
		}
	}
	return nil
}

// PutLink stores a link, replacing any earlier link of the same pair.
func (c Care) PutLink(ctx context.Context, l models.CareLink) error {
	return c.s.tx(ctx, "store care link", func(tx *sql.Tx) error { return c.s.putLink(ctx, tx, l, true) })
}

// Link returns a link by id; not_found if there is none.
func (c Care) Link(ctx context.Context, id string) (models.CareLink, error) {
	return byKey[models.CareLink](ctx, c.s, store.KindLinks, id)
}

// StandingLinks returns up to limit of a patient's links that are not
// revoked, by (createdAt, id).
func (c Care) StandingLinks(ctx context.Context, patientID string, limit int) ([]models.CareLink, error) {
	return c.links(ctx, `l.patient_id = ? AND l.status != 'revoked' ORDER BY l.created_at, l.id LIMIT ?`, patientID, limit)
}

// RevokedLinks returns up to limit of a patient's revoked links, newest
// first.
func (c Care) RevokedLinks(ctx context.Context, patientID string, limit int) ([]models.CareLink, error) {
	return c.links(ctx, `l.patient_id = ? AND l.status = 'revoked' ORDER BY l.created_at DESC, l.id DESC LIMIT ?`, patientID, limit)
}

// LinksOfCarer returns up to limit of a carer's links that are not
// revoked.
func (c Care) LinksOfCarer(ctx context.Context, carerID string, limit int) ([]models.CareLink, error) {
	return c.links(ctx, `l.carer_id = ? AND l.status != 'revoked' ORDER BY l.created_at, l.id LIMIT ?`, carerID, limit)
}

// ActiveLinks returns a patient's active links that share scope.
func (c Care) ActiveLinks(ctx context.Context, patientID string, scope models.CareScope) ([]models.CareLink, error) {
	return c.links(ctx, `l.patient_id = ? AND l.status = 'active' AND EXISTS (SELECT 1 FROM care_link_scopes s WHERE s.link_id = l.id AND s.scope = ?)
		ORDER BY l.created_at, l.id`, patientID, string(scope))
}

// links returns the links matching the condition and order in rest.
func (c Care) links(ctx context.Context, rest string, args ...any) ([]models.CareLink, error) {
	return queryAll(ctx, c.s, c.s.r, scanLink, "list care links", `SELECT `+linkColumns+` FROM care_links l WHERE `+rest, args...)
}

// UpdateLink changes the scopes and status of a link that is not revoked
// (and, if prev is not zero, whose updatedAt is prev), in one transaction.
func (c Care) UpdateLink(ctx context.Context, id string, scopes []models.CareScope, status string, at, prev time.Time) (bool, error) {
	var done bool
	err := c.s.tx(ctx, "update care link", func(tx *sql.Tx) error {
		set := []string{"updated_at = ?"}
		args := []any{ms(at)}
		if status != "" {
			set = append(set, "status = ?")
			args = append(args, status)
		}
		query := `UPDATE care_links SET ` + strings.Join(set, ", ") + ` WHERE id = ? AND status != 'revoked'`
		args = append(args, id)
		if !prev.IsZero() {
			query += ` AND updated_at = ?`
			args = append(args, ms(prev))
		}
		n, err := c.s.execOn(ctx, tx, "update care link", query, args...)
		if done = n == 1; err != nil || !done || scopes == nil {
			return err
		}
		return c.s.setScopes(ctx, tx, id, scopes)
	})
	return done, err
}

// EndLink revokes a link not yet revoked (and, if prev is not zero, whose
// updatedAt is prev).
func (c Care) EndLink(ctx context.Context, id, endedBy string, at, prev time.Time) (bool, error) {
	query := `UPDATE care_links SET status = 'revoked', revoked_at = ?, ended_by = ?, updated_at = max(?, updated_at + 1)
		WHERE id = ? AND status != 'revoked'`
	args := []any{ms(at), endedBy, ms(at), id}
	if !prev.IsZero() {
		query += ` AND updated_at = ?`
		args = append(args, ms(prev))
	}
	n, err := c.s.exec(ctx, "end care link", query, args...)
	return n == 1, err
}

// LinksChanged returns the patient's links changed in (after, upTo], by
// (updatedAt, id) (index care_links_changes).
func (c Care) LinksChanged(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.CareLink, error) {
	return c.links(ctx, `l.patient_id = ? AND (l.updated_at, l.id) > (?, ?) AND l.updated_at <= ? ORDER BY l.updated_at, l.id LIMIT ?`,
		changeArgs(patientID, after, upTo, limit)...)
}
