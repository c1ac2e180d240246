// Package services holds Concord's business rules: accounts and tokens, a
// patient's readings, medicines, doses and adherence, reminders, review
// flags, the care circle, and the one access policy. It declares the storage
// interfaces it needs; package store implements them.
package services

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/google/uuid"
)

// UserStore is what Auth needs of account storage.
type UserStore interface {
	UserDirectory
	Create(ctx context.Context, u models.User) error
	ByEmail(ctx context.Context, email string) (models.User, error)
	UpdateIf(ctx context.Context, u models.User, prev time.Time) (bool, error)
	SetPassword(ctx context.Context, id, hash string, at time.Time) error
	CountByRole(ctx context.Context, role models.Role) (int64, error)
}

// SessionStore is what Auth needs of session and refresh-token storage.
type SessionStore interface {
	Create(ctx context.Context, s models.Session) error
	Get(ctx context.Context, id string) (models.Session, error)
	Revoke(ctx context.Context, id, reason string, at time.Time) error
	RevokeAllForUser(ctx context.Context, userID, reason string, at time.Time) error
	AddToken(ctx context.Context, t models.RefreshToken) error
	Token(ctx context.Context, hash string) (models.RefreshToken, error)
	SpendToken(ctx context.Context, hash string, at time.Time) (bool, error)
}

// PharmacyChecker reports whether a pharmacy exists (the pharmacy store).
type PharmacyChecker interface {
	Exists(ctx context.Context, id string) (bool, error)
}

// Auth registers users, logs them in and out, and rotates refresh tokens.
type Auth struct {
	users      UserStore
	sessions   SessionStore
	tokens     *Tokens
	pharmacies PharmacyChecker
	timezones  TimezoneObserver
	now        func() time.Time
	log        *slog.Logger
	passwords  passwordGate

	// guesses counts wrong current passwords per session (ChangePassword),
	// in this process; counts older than guessMemory are forgotten.
	guessMu sync.Mutex
	guesses map[string]guessCount
}

// AuthOption tunes Auth.
type AuthOption func(*Auth)

// PasswordHashing sets how many password hashes or checks run at once
// (default: one per core, bounded by memory) and how long a request waits
// for one (DefaultPasswordWait).
func PasswordHashing(slots int, wait time.Duration) AuthOption {
	return func(a *Auth) { a.passwords = newPasswordGate(slots, wait) }
}

// TimezoneObserver is told when a patient's time zone changes, so that
// what is scheduled in local time can move (DosePlanner re-plans future
// doses).
type TimezoneObserver interface {
	TimezoneChanged(ctx context.Context, patient models.User, now time.Time) error
}

// NewAuth returns the accounts service. pharmacies checks the pharmacy of
// a pharmacist an admin creates (nil: not checked); timezones hears of
// every change of a patient's time zone (nil: nobody does).
func NewAuth(users UserStore, sessions SessionStore, pharmacies PharmacyChecker, tokens *Tokens, timezones TimezoneObserver, now func() time.Time, log *slog.Logger, opts ...AuthOption) *Auth {
	a := &Auth{users: users, sessions: sessions, pharmacies: pharmacies, tokens: tokens, timezones: timezones, now: now, log: log,
		passwords: newPasswordGate(defaultPasswordSlots(), DefaultPasswordWait), guesses: map[string]guessCount{}}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Registration is a new account's details.
type Registration struct {
	Email, Password, Name, Timezone string
	Role                            models.Role
	PharmacyID                      string
	// Locale is a BCP 47 tag of a supported locale (models.ParseLocale);
	// nil is models.DefaultLocale.
	Locale *string
}

// AuthResult is what a successful register, login or refresh returns.
type AuthResult struct {
	User         models.User `json:"user"`
	AccessToken  string      `json:"accessToken"`
	RefreshToken string      `json:"refreshToken"`
	ExpiresIn    int         `json:"expiresIn"`
}

// Register creates a patient or carer account and logs it in. Errors:
// invalid (named fields), conflict (e-mail taken).
func (a *Auth) Register(ctx context.Context, r Registration) (AuthResult, error) {
	u, err := a.createUser(ctx, r, models.RolePatient, models.RoleCarer)
	if err != nil {
		return AuthResult{}, err
	}
	return a.startSession(ctx, u)
}

// CreateUser creates an account of any role without logging it in (admins
// create pharmacists and admins). Errors: invalid, conflict.
func (a *Auth) CreateUser(ctx context.Context, r Registration) (models.User, error) {
	return a.createUser(ctx, r, models.RolePharmacist, models.RoleAdmin)
}

// createUser validates every field (the role against the roles this path
// may create) and stores the account.
func (a *Auth) createUser(ctx context.Context, r Registration, roles ...models.Role) (models.User, error) {
	var p models.Problems
	email, ok := canonicalEmail(r.Email)
	if !ok {
		p.Add("email", "must be a valid e-mail address without invisible characters")
	}
	models.ValidatePassword("password", r.Password, &p)
	models.ValidateName("name", r.Name, &p)
	if r.Timezone == "" {
		r.Timezone = "Europe/London"
	}
	if !models.ValidTimezone(r.Timezone) {
		p.Add("timezone", "must be an IANA time zone such as Europe/London")
	}
	locale := models.DefaultLocale
	if r.Locale != nil {
		locale = models.ValidateLocale("locale", *r.Locale, &p)
	}
	if !slices.Contains(roles, r.Role) {
		p.Add("role", "must be one of %s", joinRoles(roles))
	}
	switch {
	case !slices.Contains(roles, r.Role):
	case r.Role == models.RolePharmacist && r.PharmacyID == "":
		p.Add("pharmacyId", "is required for a pharmacist")
	case r.Role != models.RolePharmacist && r.PharmacyID != "":
		p.Add("pharmacyId", "only pharmacists belong to a pharmacy")
	case r.PharmacyID != "" && a.pharmacies != nil:
		exists, err := a.pharmacies.Exists(ctx, r.PharmacyID)
		if err != nil {
			return models.User{}, err
		}
		if !exists {
			p.Add("pharmacyId", "no such pharmacy")
		}
	}
	if err := p.Err(); err != nil {
		return models.User{}, err
	}
	hash, err := a.passwords.hash(ctx, r.Password)
	if err != nil {
		return models.User{}, err
	}
	now := a.now().UTC()
	u := models.User{
		ID: uuid.NewString(), Email: email, EmailKey: emailKey(email), Name: strings.TrimSpace(r.Name), Role: r.Role,
		Timezone: r.Timezone, Locale: locale, PharmacyID: r.PharmacyID, PasswordHash: hash,
		PasswordChangedAt: now, CreatedAt: now, UpdatedAt: now,
	}
	if err := a.users.Create(ctx, u); err != nil {
		if models.IsCode(err, models.CodeConflict) {
			return models.User{}, &models.Error{Code: models.CodeConflict, Message: "an account with this e-mail, or one that looks like it, already exists",
				Fields: []models.FieldProblem{{Field: "email", Problem: "is already registered, or looks like an address that is"}}}
		}
		return models.User{}, err
	}
	a.log.InfoContext(ctx, "account created", "user", u.ID, "role", u.Role)
	return u, nil
}

// EnsureAdmin creates the first admin if no admin exists yet. It reports
// whether it created one.
func (a *Auth) EnsureAdmin(ctx context.Context, email, password string) (bool, error) {
	n, err := a.users.CountByRole(ctx, models.RoleAdmin)
	if err != nil || n > 0 {
		return false, err
	}
	_, err = a.createUser(ctx, Registration{Email: email, Password: password, Name: "Administrator", Role: models.RoleAdmin, Timezone: "Europe/London"}, models.RoleAdmin)
	if models.IsCode(err, models.CodeConflict) {
		return false, models.Errorf(models.CodeConflict, "CONCORD_ADMIN_EMAIL belongs to an existing non-admin account")
	}
	return err == nil, err
}

var errBadLogin = &models.Error{Code: models.CodeUnauthorized, Message: "e-mail or password is wrong"}

// Login checks the password and starts a session. Errors: unauthorized
// (the same for an unknown e-mail and a wrong password).
func (a *Auth) Login(ctx context.Context, email, password string) (AuthResult, error) {
	norm, _ := canonicalEmail(email)
	u, err := a.users.ByEmail(ctx, norm)
	if models.IsCode(err, models.CodeNotFound) || norm == "" {
		if _, err := a.passwords.check(ctx, dummyHash, password); err != nil {
			return AuthResult{}, err
		}
		return AuthResult{}, errBadLogin
	}
	if err != nil {
		return AuthResult{}, err
	}
	ok, err := a.passwords.check(ctx, u.PasswordHash, password)
	if err != nil {
		return AuthResult{}, err
	}
	if !ok {
		return AuthResult{}, errBadLogin
	}
	return a.startSession(ctx, u)
}

func (a *Auth) startSession(ctx context.Context, u models.User) (AuthResult, error) {
	now := a.now().UTC()
	sess := models.Session{ID: newID(), UserID: u.ID, CreatedAt: now}
	if err := a.sessions.Create(ctx, sess); err != nil {
		return AuthResult{}, err
	}
	return a.issue(ctx, u, sess.ID)
}

func (a *Auth) issue(ctx context.Context, u models.User, sessionID string) (AuthResult, error) {
	token, hash := newRefreshToken()
	return a.issueWith(ctx, u, sessionID, token, hash)
}

// issueWith stores the refresh token (its hash) for the session, unless a
// concurrent refresh of the same spent token stored it first, and returns
// it with a new access token.
func (a *Auth) issueWith(ctx context.Context, u models.User, sessionID, token, hash string) (AuthResult, error) {
	now := a.now().UTC()
	err := a.sessions.AddToken(ctx, models.RefreshToken{Hash: hash, SessionID: sessionID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(RefreshTokenTTL)})
	if err != nil && !models.IsCode(err, models.CodeConflict) {
		return AuthResult{}, err
	}
	access, err := a.tokens.Issue(models.Principal{UserID: u.ID, Role: u.Role, SessionID: sessionID})
	if err != nil {
		return AuthResult{}, err
	}
	return AuthResult{User: u, AccessToken: access, RefreshToken: token, ExpiresIn: int(AccessTokenTTL / time.Second)}, nil
}

var errBadRefresh = &models.Error{Code: models.CodeUnauthorized, Message: "refresh token is invalid, expired or revoked"}

// RefreshOwner returns the user id a refresh token belongs to, for rate
// limiting per account; "" if the token is unknown.
func (a *Auth) RefreshOwner(ctx context.Context, refreshToken string) string {
	t, err := a.sessions.Token(ctx, hashToken(refreshToken))
	if err != nil {
		return ""
	}
	return t.UserID
}

// Refresh spends a refresh token and returns a new pair. The same token
// presented again within RefreshReuseGrace of being spent (concurrent
// refreshes of one app, a retry) returns the same successor refresh token
// with a fresh access token; presented later it is a replay, and it
// revokes its whole session, logging out the holder of the newest token
// too. Errors: unauthorized.
func (a *Auth) Refresh(ctx context.Context, refreshToken string) (AuthResult, error) {
	now := a.now().UTC()
	t, err := a.sessions.Token(ctx, hashToken(refreshToken))
	if models.IsCode(err, models.CodeNotFound) {
		return AuthResult{}, errBadRefresh
	}
	if err != nil {
		return AuthResult{}, err
	}
	sess, err := a.sessions.Get(ctx, t.SessionID)
	if models.IsCode(err, models.CodeNotFound) {
		return AuthResult{}, errBadRefresh // the session was purged (retention)
	}
	if err != nil {
		return AuthResult{}, err
	}
	if sess.RevokedAt != nil || !now.Before(t.ExpiresAt) {
		return AuthResult{}, errBadRefresh
	}
	won := false
	if t.SpentAt == nil {
		if won, err = a.sessions.SpendToken(ctx, t.Hash, now); err != nil {
			return AuthResult{}, err
		}
	}
	if !won {
		// Spent by a concurrent call just now, or earlier: read when.
		if spent, err := a.sessions.Token(ctx, t.Hash); err != nil || spent.SpentAt == nil || now.Sub(*spent.SpentAt) > RefreshReuseGrace {
			if err := a.sessions.Revoke(ctx, sess.ID, "refresh_token_reuse", now); err != nil {
				return AuthResult{}, err
			}
			a.log.WarnContext(ctx, "refresh token reuse: session revoked", "user", t.UserID, "session", sess.ID)
			return AuthResult{}, errBadRefresh
		}
	}
	u, err := a.users.Get(ctx, t.UserID)
	if err != nil {
		return AuthResult{}, err
	}
	successor, hash := a.tokens.successorRefreshToken(refreshToken)
	return a.issueWith(ctx, u, sess.ID, successor, hash)
}

// Logout revokes the session a refresh token belongs to. An unknown token is
// not an error: logging out is idempotent.
func (a *Auth) Logout(ctx context.Context, refreshToken string) error {
	t, err := a.sessions.Token(ctx, hashToken(refreshToken))
	if models.IsCode(err, models.CodeNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return a.sessions.Revoke(ctx, t.SessionID, "logout", a.now().UTC())
}

// Authenticate verifies an access token and that its session still stands
// (so logout and password change take effect at once). Errors: unauthorized.
func (a *Auth) Authenticate(ctx context.Context, raw string) (models.Principal, error) {
	p, err := a.tokens.Verify(raw)
	if err != nil {
		return models.Principal{}, err
	}
	sess, err := a.sessions.Get(ctx, p.SessionID)
	if models.IsCode(err, models.CodeNotFound) || (err == nil && (sess.RevokedAt != nil || sess.UserID != p.UserID)) {
		return models.Principal{}, &models.Error{Code: models.CodeUnauthorized, Message: "session has ended"}
	}
	if err != nil {
		return models.Principal{}, err
	}
	return p, nil
}

// Me returns the caller's account.
func (a *Auth) Me(ctx context.Context, p models.Principal) (models.User, error) {
	return a.users.Get(ctx, p.UserID)
}

// Profile is a change to one's own account; nil fields stay as they are.
type Profile struct {
	Name        *string
	Timezone    *string
	Preferences *models.Preferences
	Targets     *models.CarePlanTargets
	// NHSNumber sets a patient's NHS number ("" clears it); spaces and
	// hyphens are ignored.
	NHSNumber *string
	// Locale sets the language of the user's notifications: a supported
	// BCP 47 tag (models.ParseLocale).
	Locale *string
}

// UpdateMe changes the caller's name, time zone, locale (invalid, naming
// locale, when not supported), preferences, care-plan targets or (a
// patient's) NHS number (invalid, naming nhsNumber, with a
// bad check digit or on an account that is not a patient's). With ifMatch (the updatedAt the client last read, its ETag) the
// change is stored only onto that version. Errors: invalid, not_found,
// precondition_failed.
func (a *Auth) UpdateMe(ctx context.Context, p models.Principal, change Profile, ifMatch *time.Time) (models.User, error) {
	for attempt := 0; ; attempt++ {
		u, done, err := a.updateMeOnce(ctx, p, change, ifMatch)
		if err != nil || done {
			return u, err
		}
		if ifMatch != nil {
			return models.User{}, models.StaleVersion("account")
		}
		if attempt == 4 {
			return models.User{}, models.Errorf(models.CodeConflict, "the account is being changed by another request; try again")
		}
	}
}

// updateMeOnce reads the caller, applies the change and stores it if the
// account was not changed meanwhile; done is false when it was.
func (a *Auth) updateMeOnce(ctx context.Context, p models.Principal, change Profile, ifMatch *time.Time) (models.User, bool, error) {
	u, err := a.users.Get(ctx, p.UserID)
	if err != nil {
		return models.User{}, false, err
	}
	if ifMatch != nil && !u.UpdatedAt.Equal(models.Instant(*ifMatch)) {
		return models.User{}, false, models.StaleVersion("account")
	}
	var pr models.Problems
	oldTimezone := u.Timezone
	if change.Name != nil {
		models.ValidateName("name", *change.Name, &pr)
		u.Name = strings.TrimSpace(*change.Name)
	}
	if change.Timezone != nil {
		if !models.ValidTimezone(*change.Timezone) {
			pr.Add("timezone", "must be an IANA time zone such as Europe/London")
		}
		u.Timezone = *change.Timezone
	}
	if change.Locale != nil {
		u.Locale = models.ValidateLocale("locale", *change.Locale, &pr)
	}
	if change.Preferences != nil {
		pr.Merge("", change.Preferences.Validate())
		u.Preferences = *change.Preferences
	}
	if change.Targets != nil {
		pr.Merge("targets", change.Targets.Validate())
		u.Targets = *change.Targets
	}
	if change.NHSNumber != nil {
		if u.Role != models.RolePatient {
			pr.Add("nhsNumber", "only a patient's account holds an NHS number")
		}
		u.NHSNumber = models.ValidateNHSNumber("nhsNumber", *change.NHSNumber, &pr)
	}
	if err := pr.Err(); err != nil {
		return models.User{}, false, err
	}
	prev := u.UpdatedAt
	u.UpdatedAt = models.NextUpdatedAt(prev, a.now())
	ok, err := a.users.UpdateIf(ctx, u, prev)
	if err != nil || !ok {
		return models.User{}, false, err
	}
	if a.timezones != nil && u.Role == models.RolePatient && u.Timezone != oldTimezone {
		// The change is stored; doses not moved now are moved by the next
		// planning (the zone is part of each plan's fingerprint).
		if err := a.timezones.TimezoneChanged(ctx, u, u.UpdatedAt); err != nil {
			a.log.WarnContext(ctx, "future doses not yet moved to the new time zone", "user", u.ID, "err", err)
		}
	}
	return u, true, nil
}

func joinRoles(roles []models.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}
