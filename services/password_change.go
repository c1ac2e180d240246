package services

import (
	"context"
	"time"

	"github.com/concord-health/concord/models"
)

// guessCount is a session's wrong current passwords since first.
type guessCount struct {
	n     int
	first time.Time
}

// guessMemory is how long wrong current passwords count against a session.
const guessMemory = 24 * time.Hour

// MaxPasswordGuesses is how many wrong current passwords one session may
// send to ChangePassword: the last of them ends the session, so a stolen
// access token cannot be used to guess the password.
const MaxPasswordGuesses = 5

// ChangePassword checks the current password, stores the new one, and ends
// every session of the user, then starts a new one for the caller. The
// MaxPasswordGuesses-th wrong current password from one session ends that
// session. Errors: invalid, unauthorized (current password wrong, or the
// session ended), unavailable (too many password checks at once).
func (a *Auth) ChangePassword(ctx context.Context, p models.Principal, current, next string) (AuthResult, error) {
	u, err := a.users.Get(ctx, p.UserID)
	if err != nil {
		return AuthResult{}, err
	}
	var pr models.Problems
	models.ValidatePassword("newPassword", next, &pr)
	if err := pr.Err(); err != nil {
		return AuthResult{}, err
	}
	ok, err := a.passwords.check(ctx, u.PasswordHash, current)
	if err != nil {
		return AuthResult{}, err
	}
	if !ok {
		return AuthResult{}, a.wrongCurrentPassword(ctx, p, "currentPassword")
	}
	a.guessMu.Lock()
	delete(a.guesses, p.SessionID)
	a.guessMu.Unlock()
	hash, err := a.passwords.hash(ctx, next)
	if err != nil {
		return AuthResult{}, err
	}
	now := a.now().UTC()
	if err := a.users.SetPassword(ctx, u.ID, hash, now); err != nil {
		return AuthResult{}, err
	}
	if err := a.sessions.RevokeAllForUser(ctx, u.ID, "password_changed", now); err != nil {
		return AuthResult{}, err
	}
	a.log.InfoContext(ctx, "password changed; sessions revoked", "user", u.ID)
	return a.startSession(ctx, u)
}

// ConfirmPassword checks the caller's password before an action that
// needs it (deleting the account) and returns the caller's account. A
// wrong password counts against the session as ChangePassword's do, and
// the MaxPasswordGuesses-th ends the session. Errors: unauthorized (the
// password, under field, is wrong; or the session ended), unavailable.
func (a *Auth) ConfirmPassword(ctx context.Context, p models.Principal, password, field string) (models.User, error) {
	u, err := a.users.Get(ctx, p.UserID)
	if err != nil {
		return models.User{}, err
	}
	ok, err := a.passwords.check(ctx, u.PasswordHash, password)
	if err != nil {
		return models.User{}, err
	}
	if !ok {
		return models.User{}, a.wrongCurrentPassword(ctx, p, field)
	}
	a.guessMu.Lock()
	delete(a.guesses, p.SessionID)
	a.guessMu.Unlock()
	return u, nil
}

// wrongCurrentPassword counts a wrong password (under field) against the
// session and, at MaxPasswordGuesses, ends it.
func (a *Auth) wrongCurrentPassword(ctx context.Context, p models.Principal, field string) error {
	now := a.now().UTC()
	a.guessMu.Lock()
	for id, g := range a.guesses {
		if now.Sub(g.first) > guessMemory {
			delete(a.guesses, id)
		}
	}
	g := a.guesses[p.SessionID]
	if g.n == 0 {
		g.first = now
	}
	g.n++
	a.guesses[p.SessionID] = g
	n := g.n
	if n >= MaxPasswordGuesses {
		delete(a.guesses, p.SessionID)
	}
	a.guessMu.Unlock()
	if n < MaxPasswordGuesses {
		return &models.Error{Code: models.CodeUnauthorized, Message: "the password is wrong",
			Fields: []models.FieldProblem{{Field: field, Problem: "is wrong"}}}
	}
	if err := a.sessions.Revoke(ctx, p.SessionID, "password_guessing", now); err != nil {
		return err
	}
	a.log.WarnContext(ctx, "session ended after wrong current passwords", "user", p.UserID, "session", p.SessionID, "attempts", n)
	return &models.Error{Code: models.CodeUnauthorized, Message: "too many wrong passwords: this session has ended; sign in again"}
}
