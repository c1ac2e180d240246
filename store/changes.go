package store

import (
	"time"

	"github.com/concord-health/concord/models"
)

// NotificationUpdatedAt is the updatedAt a new notification is stored
// with: the later of its creation and its due time, so that the change
// feed carries it when it enters the inbox, not before.
func NotificationUpdatedAt(n models.Notification) time.Time {
	if n.DueAt.After(n.CreatedAt) {
		return n.DueAt
	}
	return n.CreatedAt
}
