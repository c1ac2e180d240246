package mongodb

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

const auditCollection = "audit_log"

// An entry's _id begins with its time, so (patientId, _id) orders a
// patient's log by time and is the pagination key.
var auditIndexes = []index{
	{auditCollection, mongo.IndexModel{Keys: bson.D{{Key: "patientId", Value: 1}, {Key: "_id", Value: -1}}, Options: options.Index().SetName("patient_id")}},
}

// Audit stores the access log: one entry per access to a patient's data by
// someone other than the patient. Entries are never changed or deleted.
type Audit struct{ c *mongo.Collection }

// Audit returns the access-log collection.
func (s *Store) Audit() store.Audit { return &Audit{c: s.db.Collection(auditCollection)} }

// Insert stores an entry.
func (a *Audit) Insert(ctx context.Context, e models.AuditEntry) error {
	_, err := a.c.InsertOne(ctx, e)
	return translate(err, "write audit entry")
}

// List returns up to limit of a patient's entries with _id below before (all
// when before is ""), newest first.
func (a *Audit) List(ctx context.Context, patientID, before string, limit int) ([]models.AuditEntry, error) {
	filter := bson.D{{Key: "patientId", Value: patientID}}
	if before != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: before}}})
	}
	cur, err := a.c.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, translate(err, "list audit entries")
	}
	out := []models.AuditEntry{}
	return out, translate(cur.All(ctx, &out), "list audit entries")
}

// Count returns how many entries a patient's log holds.
func (a *Audit) Count(ctx context.Context, patientID string) (int64, error) {
	n, err := a.c.CountDocuments(ctx, bson.D{{Key: "patientId", Value: patientID}})
	return n, translate(err, "count audit entries")
}
