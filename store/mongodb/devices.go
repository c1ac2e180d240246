package mongodb

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

const devicesCollection = "devices"

var deviceIndexes = []index{
	{devicesCollection, mongo.IndexModel{Keys: bson.D{{Key: "userId", Value: 1}, {Key: "lastSeenAt", Value: -1}}, Options: options.Index().SetName("user_last_seen")}},
}

// Devices stores users' push devices, each under the hash of its FCM
// registration token (models.DeviceID) as _id: one token is one document,
// whoever registered it last.
type Devices struct{ c *mongo.Collection }

// Devices returns the devices store.
func (s *Store) Devices() store.Devices { return &Devices{c: s.db.Collection(devicesCollection)} }

// Get returns a device by id; not_found if there is none.
func (d *Devices) Get(ctx context.Context, id string) (models.Device, error) {
	return byID[models.Device](ctx, d.c, id, "device")
}

// Put stores the device, replacing any device with its id (the same token,
// perhaps registered by another user until now).
func (d *Devices) Put(ctx context.Context, dev models.Device) error {
	_, err := d.c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: dev.ID}}, dev, options.Replace().SetUpsert(true))
	return translate(err, "put device %s", dev.ID)
}

// ForUser returns the user's devices, most recently seen first.
func (d *Devices) ForUser(ctx context.Context, userID string) ([]models.Device, error) {
	cur, err := d.c.Find(ctx, bson.D{{Key: "userId", Value: userID}},
		options.Find().SetSort(bson.D{{Key: "lastSeenAt", Value: -1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, translate(err, "devices of %s", userID)
	}
	out := []models.Device{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, translate(err, "devices of %s", userID)
	}
	return out, nil
}

// ForUsers returns the devices of every user in userIDs (one query).
func (d *Devices) ForUsers(ctx context.Context, userIDs []string) ([]models.Device, error) {
	if len(userIDs) == 0 {
		return nil, nil
	}
	cur, err := d.c.Find(ctx, bson.D{{Key: "userId", Value: bson.D{{Key: "$in", Value: userIDs}}}})
	if err != nil {
		return nil, translate(err, "devices of %d users", len(userIDs))
	}
	var out []models.Device
	if err := cur.All(ctx, &out); err != nil {
		return nil, translate(err, "devices of %d users", len(userIDs))
	}
	return out, nil
}

// Delete removes the user's device id. Errors: not_found when the user has
// no such device (whether or not someone else does).
func (d *Devices) Delete(ctx context.Context, userID, id string) error {
	res, err := d.c.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "userId", Value: userID}})
	if err != nil {
		return translate(err, "delete device %s", id)
	}
	if res.DeletedCount == 0 {
		return models.Errorf(models.CodeNotFound, "device not found")
	}
	return nil
}

// DeleteMany removes the devices ids, whoever they belong to, and reports
// how many there were (one command, whatever the number).
func (d *Devices) DeleteMany(ctx context.Context, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	res, err := d.c.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return 0, translate(err, "delete %d devices", len(ids))
	}
	return int(res.DeletedCount), nil
}
