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
	return byKey[models.Session](ctx, x.s, store.KindSessions, id)
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
	return byKey[models.RefreshToken](ctx, x.s, store.KindRefreshTokens, hash)
}

// SpendToken marks an unspent refresh token spent and reports whether this
// call did: one conditional UPDATE.
func (x Sessions) SpendToken(ctx context.Context, hash string, at time.Time) (bool, error) {
	n, err := x.s.exec(ctx, "spend refresh token", `UPDATE refresh_tokens SET spent_at = ? WHERE hash = ? AND spent_at IS NULL`, ms(at), hash)
	return n == 1, err
}

// PurgeEnded deletes, in one transaction, up to limit tokens of sessions
// revoked before `before` and the revoked sessions left without one, then
// up to limit tokens that expired before `before` and the sessions they
// leave without one (see store.Sessions).
func (x Sessions) PurgeEnded(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	deleted := 0
	err := x.s.tx(ctx, "purge ended sessions", func(tx *sql.Tx) error {
		deleted = 0
		revoked, err := queryAll(ctx, x.s, tx, scanString, "find revoked sessions",
			`SELECT id FROM sessions INDEXED BY sessions_revoked WHERE revoked_at IS NOT NULL AND revoked_at < ? ORDER BY revoked_at LIMIT ?`,
			ms(before), limit)
		if err != nil {
			return err
		}
		if len(revoked) > 0 {
			n, err := x.s.execOn(ctx, tx, "delete tokens of revoked sessions", `DELETE FROM refresh_tokens WHERE hash IN (
				SELECT hash FROM refresh_tokens WHERE session_id IN (SELECT value FROM json_each(?)) LIMIT ?)`, idList(revoked), limit)
			if err != nil {
				return err
			}
			m, err := x.s.deleteTokenless(ctx, tx, revoked, before)
			if err != nil {
				return err
			}
			deleted += int(n + m)
		}
		sessions, err := queryAll(ctx, x.s, tx, scanString, "delete expired refresh tokens",
			`DELETE FROM refresh_tokens WHERE hash IN (
				SELECT hash FROM refresh_tokens INDEXED BY refresh_tokens_expires WHERE expires_at < ? ORDER BY expires_at LIMIT ?)
			 RETURNING session_id`, ms(before), limit)
		if err != nil || len(sessions) == 0 {
			return err
		}
		n, err := x.s.deleteTokenless(ctx, tx, sessions, before)
		deleted += len(sessions) + int(n)
		return err
	})
	return deleted, err
}

// deleteTokenless deletes the sessions ids created before `before` that
// have no refresh token left.
func (s *Store) deleteTokenless(ctx context.Context, tx *sql.Tx, ids []string, before time.Time) (int64, error) {
	return s.execOn(ctx, tx, "delete ended sessions", `DELETE FROM sessions
		WHERE id IN (SELECT value FROM json_each(?)) AND created_at < ?
		AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = sessions.id)`, idList(ids), ms(before))
}

func scanString(r scanner) (string, error) {
	var s string
	err := r.Scan(&s)
	return s, err
}
