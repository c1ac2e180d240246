package services

import (
	"context"
	"log/slog"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/push"
)

// DeviceStore is what Devices and Delivery need of device storage.
type DeviceStore interface {
	Get(ctx context.Context, id string) (models.Device, error)
	Put(ctx context.Context, d models.Device) error
	ForUser(ctx context.Context, userID string) ([]models.Device, error)
	ForUsers(ctx context.Context, userIDs []string) ([]models.Device, error)
	Delete(ctx context.Context, userID, id string) error
	DeleteMany(ctx context.Context, ids []string) (int, error)
}

// MaxDevicesPerUser is how many devices a user keeps; registering one more
// forgets the least recently seen (old installs whose tokens FCM has not
// yet reported dead).
const MaxDevicesPerUser = 10

// Devices keeps the FCM registration tokens of each user's devices.
// Tokens are credentials: they are never returned or logged whole.
type Devices struct {
	store DeviceStore
	now   func() time.Time
	log   *slog.Logger
}

// NewDevices returns the devices service.
func NewDevices(store DeviceStore, now func() time.Time, log *slog.Logger) *Devices {
	return &Devices{store: store, now: now, log: log}
}

// Register records that the caller's device has the token. It reports
// created=false when the caller had already registered the token (its
// platform and last-seen time are updated). A token registered by another
// user until now moves to the caller: a token addresses one app install,
// and whoever signed in on it last is who it belongs to. Errors: invalid
// (token, platform).
func (s *Devices) Register(ctx context.Context, p models.Principal, token string, platform models.Platform) (models.Device, bool, error) {
	var pr models.Problems
	models.ValidatePushToken("token", token, &pr)
	if !platform.Valid() {
		pr.Add("platform", "must be one of android, ios, web")
	}
	if err := pr.Err(); err != nil {
		return models.Device{}, false, err
	}
	now := s.now().UTC()
	id := models.DeviceID(token)
	existing, err := s.store.Get(ctx, id)
	if err != nil && !models.IsCode(err, models.CodeNotFound) {
		return models.Device{}, false, err
	}
	if err == nil && existing.UserID == p.UserID {
		existing.Platform, existing.LastSeenAt = platform, now
		if err := s.store.Put(ctx, existing); err != nil {
			return models.Device{}, false, err
		}
		return existing, false, nil
	}
	d := models.Device{ID: id, UserID: p.UserID, Platform: platform, Token: token,
		TokenHint: push.RedactToken(token), CreatedAt: now, LastSeenAt: now}
	if err := s.store.Put(ctx, d); err != nil {
		return models.Device{}, false, err
	}
	if existing.UserID != "" {
		s.log.InfoContext(ctx, "push token moved to another user", "device", id, "from_user", existing.UserID, "user", p.UserID)
	} else {
		s.log.InfoContext(ctx, "device registered", "device", id, "user", p.UserID, "platform", platform)
	}
	if err := s.evict(ctx, p.UserID); err != nil {
		return models.Device{}, false, err
	}
	return d, true, nil
}

// evict forgets the user's least recently seen devices beyond
// MaxDevicesPerUser.
func (s *Devices) evict(ctx context.Context, userID string) error {
	all, err := s.store.ForUser(ctx, userID)
	if err != nil || len(all) <= MaxDevicesPerUser {
		return err
	}
	var old []string
	for _, d := range all[MaxDevicesPerUser:] {
		old = append(old, d.ID)
	}
	n, err := s.store.DeleteMany(ctx, old)
	if err == nil {
		s.log.InfoContext(ctx, "old devices forgotten", "user", userID, "count", n)
	}
	return err
}

// List returns the caller's devices, most recently seen first.
func (s *Devices) List(ctx context.Context, p models.Principal) ([]models.Device, error) {
	return s.store.ForUser(ctx, p.UserID)
}

// Remove forgets one of the caller's devices (on sign-out). Errors:
// not_found (the caller has no such device, whether or not someone else
// does).
func (s *Devices) Remove(ctx context.Context, p models.Principal, id string) error {
	if err := s.store.Delete(ctx, p.UserID, id); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "device removed", "device", id, "user", p.UserID)
	return nil
}
