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

const reportLinksCollection = "report_links"

var reportLinkIndexes = []index{
	{reportLinksCollection, mongo.IndexModel{Keys: bson.D{{Key: "publicId", Value: 1}}, Options: options.Index().SetUnique(true).SetName("public_id_unique")}},
	// A patient's links, newest first (list, count, erase).
	{reportLinksCollection, mongo.IndexModel{Keys: bson.D{{Key: "patientId", Value: 1}, {Key: "createdAt", Value: -1}, {Key: "publicId", Value: -1}}, Options: options.Index().SetName("patient_created")}},
	// The retention purge, by expiry.
	{reportLinksCollection, mongo.IndexModel{Keys: bson.D{{Key: "expiresAt", Value: 1}}, Options: options.Index().SetName("expires")}},
}

// ReportLinks stores the report share links (store.ReportLinks), each
// under the hash of its token as _id.
type ReportLinks struct{ c *mongo.Collection }

// ReportLinks returns the report share links.
func (s *Store) ReportLinks() store.ReportLinks {
	return &ReportLinks{c: s.db.Collection(reportLinksCollection)}
}

// Create stores a link; conflict if its token hash or public id is taken.
func (r *ReportLinks) Create(ctx context.Context, l models.ReportLink) error {
	_, err := r.c.InsertOne(ctx, l)
	return translate(err, "create report link")
}

// ByTokenHash returns the link whose token hashes to hash (one exact-id
// read).
func (r *ReportLinks) ByTokenHash(ctx context.Context, hash string) (models.ReportLink, error) {
	return byID[models.ReportLink](ctx, r.c, hash, "report link")
}

// Get returns the patient's link with the public id (index
// public_id_unique).
func (r *ReportLinks) Get(ctx context.Context, patientID, id string) (models.ReportLink, error) {
	var l models.ReportLink
	err := r.c.FindOne(ctx, bson.D{{Key: "publicId", Value: id}, {Key: "patientId", Value: patientID}}).Decode(&l)
	return l, translate(err, "report link")
}

// OfPatient returns up to limit of the patient's links, newest first
// (index patient_created).
func (r *ReportLinks) OfPatient(ctx context.Context, patientID string, limit int) ([]models.ReportLink, error) {
	cur, err := r.c.Find(ctx, bson.D{{Key: "patientId", Value: patientID}},
		options.Find().SetSort(bson.D{{Key: "createdAt", Value: -1}, {Key: "publicId", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, translate(err, "list report links")
	}
	out := []models.ReportLink{}
	return out, translate(cur.All(ctx, &out), "list report links")
}

// CountLive counts the patient's links neither revoked nor expired at now.
func (r *ReportLinks) CountLive(ctx context.Context, patientID string, now time.Time) (int, error) {
	n, err := r.c.CountDocuments(ctx, bson.D{{Key: "patientId", Value: patientID}, {Key: "revokedAt", Value: nil},
		{Key: "expiresAt", Value: bson.D{{Key: "$gt", Value: store.Millis(now)}}}})
	return int(n), translate(err, "count report links")
}

// PurgeExpired deletes up to limit links that expired before `before`
// (index expires): their ids, then a delete of those ids, which a second
// call repeats harmlessly.
func (r *ReportLinks) PurgeExpired(ctx context.Context, before time.Time, limit int) (int, error) {
	ids, err := findIDs(ctx, r.c, bson.D{{Key: "expiresAt", Value: bson.D{{Key: "$lt", Value: store.Millis(before)}}}}, nil, limit, "expired report links")
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	res, err := r.c.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return 0, translate(err, "purge report links")
	}
	return int(res.DeletedCount), nil
}

// Revoke revokes the patient's link unless it already is: one conditional
// update of one document.
func (r *ReportLinks) Revoke(ctx context.Context, patientID, id string, at time.Time) (bool, error) {
	res, err := r.c.UpdateOne(ctx,
		bson.D{{Key: "publicId", Value: id}, {Key: "patientId", Value: patientID}, {Key: "revokedAt", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revokedAt", Value: store.Millis(at)}}}})
	if err != nil {
		return false, translate(err, "revoke report link")
	}
	return res.ModifiedCount == 1, nil
}
