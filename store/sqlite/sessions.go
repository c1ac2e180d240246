package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// Sessions stores logins and their refresh tokens (store.Sessions).
type Sessions struct{ s *Store }

// Sessions returns the sessions store.
func (s *Store) Sessions() store.Sessions { return Sessions{s} }

const sessionColumns = `id, user_id, created_at, revoked_at, revoked_reason`

func scanSession(r scanner) (models.Session, error) {
	var x models.Session
	var created int64
	var revoked sql.NullInt64
	err := r.Scan(&x.ID, &x.UserID, &created, &revoked, &x.RevokedReason)
	x.CreatedAt, x.RevokedAt = fromMS(created), fromNullMS(revoked)
	return x, err
}

const tokenColumns = `hash, session_id, user_id, created_at, expires_at, spent_at`

func scanToken(r scanner) (models.RefreshToken, error) {
	var t models.RefreshToken
	var created, expires int64
	var spent sql.NullInt64
	err := r.Scan(&t.Hash, &t.SessionID, &t.UserID, &created, &expires, &spent)
	t.CreatedAt, t.ExpiresAt, t.SpentAt = fromMS(created), fromMS(expires), fromNullMS(spent)
	return t, err
}

// Create stores a new session.
func (x Sessions) Create(ctx context.Context, sess models.Session) error {
	return x.s.insertSession(ctx, x.s.w, sess)
}

func (s *Store) insertSession(ctx context.Context, db execer, sess models.Session) error {
	_, err := s.execOn(ctx, db, "create session", `INSERT INTO sessions (`+sessionColumns+`) VALUES (?,?,?,?,?)`,
		sess.ID, sess.UserID, ms(sess.CreatedAt), msOrNil(sess.RevokedAt), sess.RevokedReason)
	return err
}

// Get returns a session by id; not_found if none.
func (x Sessions) Get(ctx context.Context, id string) (models.Session, error) {
	return queryOne(ctx, x.s, x.s.r, scanSession, "session", `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id)
}

// Revoke marks a session revoked; the first revocation stays.
func (x Sessions) Revoke(ctx context.Context, id, reason string, at time.Time) error {
	_, err := x.s.exec(ctx, "revoke session", `UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL`,
		ms(at), reason, id)
	return err
}

// RevokeAllForUser revokes every open session of a user.
func (x Sessions) RevokeAllForUser(ctx context.Context, userID, reason string, at time.Time) error {
	_, err := x.s.exec(ctx, "revoke sessions of user", `UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE user_id = ? AND revoked_at IS NULL`,
		ms(at), reason, userID)
	return err
}

// AddToken stores a refresh token's hash.
func (x Sessions) AddToken(ctx context.Context, t models.RefreshToken) error {
	return x.s.insertToken(ctx, x.s.w, t)
}

func (s *Store) insertToken(ctx context.Context, db execer, t models.RefreshToken) error {
	_, err := s.execOn(ctx, db, "store refresh token", `INSERT INTO refresh_tokens (`+tokenColumns+`) VALUES (?,?,?,?,?,?)`,
		t.Hash, t.SessionID, t.UserID, ms(t.CreatedAt), ms(t.ExpiresAt), msOrNil(t.SpentAt))
	return err
}

// Token returns a refresh token by hash; not_found if none.
func (x Sessions) Token(ctx context.Context, hash string) (models.RefreshToken, error) {
	return queryOne(ctx, x.s, x.s.r, scanToken, "refresh token", `SELECT `+tokenColumns+` FROM refresh_tokens WHERE hash = ?`, hash)
}

// SpendToken marks an unspent refresh token spent and reports whether this
// call did: one conditional UPDATE.
func (x Sessions) SpendToken(ctx context.Context, hash string, at time.Time) (bool, error) {
	n, err := x.s.exec(ctx, "spend refresh token", `UPDATE refresh_tokens SET spent_at = ? WHERE hash = ? AND spent_at IS NULL`, ms(at), hash)
	return n == 1, err
}
