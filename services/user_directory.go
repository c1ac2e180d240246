package services

import (
	"context"

	"github.com/concord-health/concord/models"
)

// UserDirectory finds accounts by id (the user store): the one way every
// service that holds an id reads the account behind it. Get's error is
// not_found for an id with no account.
type UserDirectory interface {
	Get(ctx context.Context, id string) (models.User, error)
}

// UserBatchDirectory is a UserDirectory that also reads many accounts in
// one read: GetMany returns those of the ids that have an account, in no
// particular order. The scheduler's reminder steps, which read every
// patient with an active medication, use it.
type UserBatchDirectory interface {
	UserDirectory
	GetMany(ctx context.Context, ids []string) ([]models.User, error)
}
