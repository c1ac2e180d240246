package mongodb

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// changesIndex is the index of a collection's change feed: its scope
// field (the patient), then updatedAt and _id, the feed's order.
func changesIndex(collection, scope string) index {
	return index{collection, mongo.IndexModel{
		Keys:    bson.D{{Key: scope, Value: 1}, {Key: "updatedAt", Value: 1}, {Key: "_id", Value: 1}},
		Options: options.Index().SetName("changes"),
	}}
}

// changed returns up to limit records of c matching scope whose (at, _id)
// is after `after` and whose at is no later than upTo, by (at, _id).
func changed[T any](ctx context.Context, c *mongo.Collection, scope bson.D, at string, after models.ChangeKey, upTo time.Time, limit int, what string) ([]T, error) {
	filter := append(scope,
		bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: at, Value: bson.D{{Key: "$gt", Value: store.Millis(after.At)}}}},
			bson.D{{Key: at, Value: store.Millis(after.At)}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: after.ID}}}},
		}},
		bson.E{Key: at, Value: bson.D{{Key: "$lte", Value: store.Millis(upTo)}}})
	cur, err := c.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: at, Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, translate(err, "%s", what)
	}
	out := []T{}
	return out, translate(cur.All(ctx, &out), "%s", what)
}
