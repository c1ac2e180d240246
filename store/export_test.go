package store

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// CollectionNames lists the database's collections, for the tests.
func (s *Store) CollectionNames(ctx context.Context) ([]string, error) {
	return s.db.ListCollectionNames(ctx, bson.D{})
}
