package sqlite

import (
	"context"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// Users stores accounts (store.Users).
type Users struct{ s *Store }

// Users returns the accounts.
func (s *Store) Users() store.Users { return Users{s} }

const userColumns = `id, email, email_key, name, role, timezone, pharmacy_id, preferences, targets, password_hash, password_changed_at, created_at, updated_at, nhs_number, locale`

func scanUser(r scanner) (models.User, error) {
	var u models.User
	var prefs, targets string
	var changed, created, updated int64
	if err := r.Scan(&u.ID, &u.Email, &u.EmailKey, &u.Name, &u.Role, &u.Timezone, &u.PharmacyID, &prefs, &targets, &u.PasswordHash, &changed, &created, &updated, &u.NHSNumber, &u.Locale); err != nil {
		return u, err
	}
	if err := fromJSON(prefs, &u.Preferences); err != nil {
		return u, err
	}
	if err := fromJSON(targets, &u.Targets); err != nil {
		return u, err
	}
	u.PasswordChangedAt, u.CreatedAt, u.UpdatedAt = fromMS(changed), fromMS(created), fromMS(updated)
	return u, nil
}

func userArgs(u models.User) ([]any, error) {
	prefs, err := jsonText(u.Preferences)
	if err != nil {
		return nil, err
	}
	targets, err := jsonText(u.Targets)
	if err != nil {
		return nil, err
	}
	return []any{u.ID, u.Email, u.EmailKey, u.Name, string(u.Role), u.Timezone, u.PharmacyID, prefs, targets, u.PasswordHash,
		ms(u.PasswordChangedAt), ms(u.CreatedAt), ms(u.UpdatedAt), u.NHSNumber, string(u.Locale)}, nil
}

// Create inserts a user; conflict if the id or e-mail exists.
func (u Users) Create(ctx context.Context, user models.User) error {
	return u.s.insertUser(ctx, u.s.w, user)
}

func (s *Store) insertUser(ctx context.Context, db execer, user models.User) error {
	args, err := userArgs(user)
	if err != nil {
		return err
	}
	_, err = s.execOn(ctx, db, "create user", `INSERT INTO users (`+userColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, args...)
	return err
}

// Get returns a user by id; not_found if there is none.
func (u Users) Get(ctx context.Context, id string) (models.User, error) {
	return byKey[models.User](ctx, u.s, store.KindUsers, id)
}

// ByEmail returns a user by normalised e-mail; not_found if there is none.
func (u Users) ByEmail(ctx context.Context, email string) (models.User, error) {
	return queryOne(ctx, u.s, u.s.r, scanUser, "user by email", `SELECT `+userColumns+` FROM users WHERE email = ?`, email)
}

// GetMany returns the users with the given ids that exist, in one query.
func (u Users) GetMany(ctx context.Context, ids []string) ([]models.User, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return queryAll(ctx, u.s, u.s.r, scanUser, "get users",
		`SELECT `+userColumns+` FROM users WHERE id IN (SELECT value FROM json_each(?))`, idList(ids))
}

// Update replaces the stored user; not_found if missing, conflict if the
// e-mail is taken.
func (u Users) Update(ctx context.Context, user models.User) error {
	args, err := userArgs(user)
	if err != nil {
		return err
	}
	n, err := u.s.exec(ctx, "update user "+user.ID, `UPDATE users SET email = ?, email_key = ?, name = ?, role = ?, timezone = ?, pharmacy_id = ?,
		preferences = ?, targets = ?, password_hash = ?, password_changed_at = ?, created_at = ?, updated_at = ?, nhs_number = ?, locale = ? WHERE id = ?`,
		append(args[1:], user.ID)...)
	if err == nil && n == 0 {
		return models.Errorf(models.CodeNotFound, "user not found")
	}
	return err
}

// UpdateIf replaces the stored user if its updatedAt is still prev and
// reports whether it did; not_found if missing.
func (u Users) UpdateIf(ctx context.Context, user models.User, prev time.Time) (bool, error) {
	args, err := userArgs(user)
	if err != nil {
		return false, err
	}
	n, err := u.s.exec(ctx, "update user "+user.ID, `UPDATE users SET email = ?, email_key = ?, name = ?, role = ?, timezone = ?, pharmacy_id = ?,
		preferences = ?, targets = ?, password_hash = ?, password_changed_at = ?, created_at = ?, updated_at = ?, nhs_number = ?, locale = ? WHERE id = ? AND updated_at = ?`,
		append(args[1:], user.ID, ms(prev))...)
	if err != nil || n == 1 {
		return n == 1, err
	}
	_, err = u.Get(ctx, user.ID)
	return false, err
}

// SetPassword stores a new password hash; not_found if the user is missing.
func (u Users) SetPassword(ctx context.Context, id, hash string, at time.Time) error {
	n, err := u.s.exec(ctx, "set password "+id, `UPDATE users SET password_hash = ?, password_changed_at = ?, updated_at = ? WHERE id = ?`,
		hash, ms(at), ms(at), id)
	if err == nil && n == 0 {
		return models.Errorf(models.CodeNotFound, "user not found")
	}
	return err
}

// CountByRole counts the accounts with a role.
func (u Users) CountByRole(ctx context.Context, role models.Role) (int64, error) {
	var n int64
	err := u.s.r.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = ?`, string(role)).Scan(&n)
	return n, u.s.translate(err, "count users")
}
