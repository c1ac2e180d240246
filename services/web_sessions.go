package services

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
)

// Browser sessions of the web workspace (/app/).
//
// A browser session is a login (models.Session) like an app's, so logout,
// a password change (which ends every login of the account) and retention
// apply to it unchanged. The browser holds an opaque random token in a
// cookie; the session is stored under the token's hash, as refresh tokens
// are, so nothing stored can be turned back into the credential. A browser
// session issues no access or refresh token: its token is good for the
// workspace only, whose every request looks the session up, so a revoked
// or expired session ends at once.
//
// Its lifetime is recorded as a refresh token of the session whose secret
// was never kept (nobody can present it): retention ends the login when
// that token expires, as it ends any login whose last token expired.

// WebSessionTTL is how long a browser session lasts from sign-in: a
// working day at the counter. After it the workspace asks for the password
// again.
const WebSessionTTL = 10 * time.Hour

// webSessionRoles are the roles that may sign in to the workspace: the
// pharmacy's staff, administrators and carers. Patients use the app.
var webSessionRoles = []models.Role{models.RolePharmacist, models.RoleAdmin, models.RoleCarer}

// webTokenPrefix begins every browser-session token.
const webTokenPrefix = "cws_"

// WebSession is a signed-in browser.
type WebSession struct {
	// Token is the cookie's value; StartWebSession alone returns it.
	Token     string
	Principal models.Principal
	User      models.User
	ExpiresAt time.Time
}

var errWebSessionEnded = &models.Error{Code: models.CodeUnauthorized, Message: "the session has ended; sign in again"}

// StartWebSession checks the password and starts a browser session for a
// pharmacist, admin or carer. Errors: unauthorized (the same for an
// unknown e-mail and a wrong password), forbidden (a patient's account:
// patients use the app), unavailable (too many password checks at once).
func (a *Auth) StartWebSession(ctx context.Context, email, password string) (WebSession, error) {
	u, err := a.checkPassword(ctx, email, password)
	if err != nil {
		return WebSession{}, err
	}
	if !slices.Contains(webSessionRoles, u.Role) {
		return WebSession{}, models.Errorf(models.CodeForbidden, "the workspace is for pharmacists, administrators and carers; patients use the Concord app")
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token := webTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	now := a.now().UTC()
	sess := models.Session{ID: hashToken(token), UserID: u.ID, CreatedAt: now}
	if err := a.sessions.Create(ctx, sess); err != nil {
		return WebSession{}, err
	}
	_, unheld := newRefreshToken() // the lifetime marker: its secret is dropped here
	if err := a.sessions.AddToken(ctx, models.RefreshToken{Hash: unheld, SessionID: sess.ID, UserID: u.ID,
		CreatedAt: now, ExpiresAt: now.Add(WebSessionTTL)}); err != nil {
		return WebSession{}, err
	}
	a.log.InfoContext(ctx, "web session started", "user", u.ID, "role", u.Role)
	return WebSession{Token: token, Principal: models.Principal{UserID: u.ID, Role: u.Role, SessionID: sess.ID},
		User: u, ExpiresAt: now.Add(WebSessionTTL)}, nil
}

// WebSession returns the browser session a cookie's token names, with its
// account, while it stands: not signed out, not ended by a password
// change, not past WebSessionTTL. The returned Token is "". Errors:
// unauthorized.
func (a *Auth) WebSession(ctx context.Context, token string) (WebSession, error) {
	if !strings.HasPrefix(token, webTokenPrefix) || len(token) > 100 {
		return WebSession{}, errWebSessionEnded
	}
	sess, err := a.sessions.Get(ctx, hashToken(token))
	if models.IsCode(err, models.CodeNotFound) {
		return WebSession{}, errWebSessionEnded
	}
	if err != nil {
		return WebSession{}, err
	}
	expires := sess.CreatedAt.Add(WebSessionTTL)
	if sess.RevokedAt != nil || !a.now().Before(expires) {
		return WebSession{}, errWebSessionEnded
	}
	u, err := a.users.Get(ctx, sess.UserID)
	if models.IsCode(err, models.CodeNotFound) {
		return WebSession{}, errWebSessionEnded
	}
	if err != nil {
		return WebSession{}, err
	}
	if !slices.Contains(webSessionRoles, u.Role) {
		return WebSession{}, errWebSessionEnded
	}
	return WebSession{Principal: models.Principal{UserID: u.ID, Role: u.Role, SessionID: sess.ID}, User: u, ExpiresAt: expires}, nil
}

// EndWebSession signs a browser out: its session is revoked at once. An
// unknown token is not an error: signing out is idempotent.
func (a *Auth) EndWebSession(ctx context.Context, token string) error {
	if !strings.HasPrefix(token, webTokenPrefix) || len(token) > 100 {
		return nil
	}
	err := a.sessions.Revoke(ctx, hashToken(token), "logout", a.now().UTC())
	if models.IsCode(err, models.CodeNotFound) {
		return nil
	}
	return err
}

// checkPassword returns the account of email if password is its password,
// taking as long for an unknown e-mail as for a wrong password (the rule
// Login applies). Errors: unauthorized, unavailable.
func (a *Auth) checkPassword(ctx context.Context, email, password string) (models.User, error) {
	norm, _ := canonicalEmail(email)
	u, err := a.users.ByEmail(ctx, norm)
	if models.IsCode(err, models.CodeNotFound) || norm == "" {
		if _, err := a.passwords.check(ctx, dummyHash, password); err != nil {
			return models.User{}, err
		}
		return models.User{}, errBadLogin
	}
	if err != nil {
		return models.User{}, err
	}
	ok, err := a.passwords.check(ctx, u.PasswordHash, password)
	if err != nil {
		return models.User{}, err
	}
	if !ok {
		return models.User{}, errBadLogin
	}
	return u, nil
}
