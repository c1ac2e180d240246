package sqlite

import (
	"context"
	"fmt"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// Devices stores push devices (store.Devices).
type Devices struct{ s *Store }

// Devices returns the devices store.
func (s *Store) Devices() store.Devices { return Devices{s} }

const deviceColumns = `id, user_id, platform, token, token_hint, created_at, last_seen_at`

func scanDevice(r scanner) (models.Device, error) {
	var d models.Device
	var created, seen int64
	err := r.Scan(&d.ID, &d.UserID, &d.Platform, &d.Token, &d.TokenHint, &created, &seen)
	d.CreatedAt, d.LastSeenAt = fromMS(created), fromMS(seen)
	return d, err
}

func (s *Store) insertDevice(ctx context.Context, db execer, d models.Device, replace bool) error {
	query := `INSERT INTO devices (` + deviceColumns + `) VALUES (?,?,?,?,?,?,?)`
	if replace {
		query += ` ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, platform = excluded.platform, token = excluded.token,
			token_hint = excluded.token_hint, created_at = excluded.created_at, last_seen_at = excluded.last_seen_at`
	}
	_, err := s.execOn(ctx, db, "put device "+d.ID, query, d.ID, d.UserID, string(d.Platform), d.Token, d.TokenHint, ms(d.CreatedAt), ms(d.LastSeenAt))
	return err
}

// Get returns a device by id; not_found if there is none.
func (x Devices) Get(ctx context.Context, id string) (models.Device, error) {
	return byKey[models.Device](ctx, x.s, store.KindDevices, id)
}

// Put stores the device, replacing any device with its id.
func (x Devices) Put(ctx context.Context, d models.Device) error {
	return x.s.insertDevice(ctx, x.s.w, d, true)
}

// ForUser returns the user's devices, most recently seen first.
func (x Devices) ForUser(ctx context.Context, userID string) ([]models.Device, error) {
	return queryAll(ctx, x.s, x.s.r, scanDevice, "devices of "+userID,
		`SELECT `+deviceColumns+` FROM devices WHERE user_id = ? ORDER BY last_seen_at DESC, id`, userID)
}

// ForUsers returns the devices of every user in userIDs, in one query.
func (x Devices) ForUsers(ctx context.Context, userIDs []string) ([]models.Device, error) {
	if len(userIDs) == 0 {
		return nil, nil
	}
	return queryAll(ctx, x.s, x.s.r, scanDevice, fmt.Sprintf("devices of %d users", len(userIDs)),
		`SELECT `+deviceColumns+` FROM devices WHERE user_id IN (SELECT value FROM json_each(?))`, idList(userIDs))
}

// Delete removes the user's device; not_found when the user has none such.
func (x Devices) Delete(ctx context.Context, userID, id string) error {
	n, err := x.s.exec(ctx, "delete device "+id, `DELETE FROM devices WHERE id = ? AND user_id = ?`, id, userID)
	if err == nil && n == 0 {
		return models.Errorf(models.CodeNotFound, "device not found")
	}
	return err
}

// DeleteMany removes the devices ids and reports how many there were.
func (x Devices) DeleteMany(ctx context.Context, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	n, err := x.s.exec(ctx, fmt.Sprintf("delete %d devices", len(ids)), `DELETE FROM devices WHERE id IN (SELECT value FROM json_each(?))`, idList(ids))
	return int(n), err
}
