package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

const readingsCollection = "readings"

// The list queries: a patient's readings (of one type, or of all), newest
// first by (takenAt, _id). Equality fields lead, then the sort keys, which
// also serve the takenAt range.
var readingIndexes = []index{
	changesIndex(readingsCollection, "patientId"),
	// An imported reading's key is unique (store.Readings). The keys
	// services make name the patient, so a single-field index is the
	// per-patient one; sparse leaves out the readings without a key (the
	// test stand-in ignores sparse but never compares missing fields).
	{readingsCollection, mongo.IndexModel{
		Keys:    bson.D{{Key: "importKey", Value: 1}},
		Options: options.Index().SetUnique(true).SetSparse(true).SetName("import_key_unique"),
	}},
	{readingsCollection, mongo.IndexModel{
		Keys:    bson.D{{Key: "patientId", Value: 1}, {Key: "type", Value: 1}, {Key: "takenAt", Value: -1}, {Key: "_id", Value: -1}},
		Options: options.Index().SetName("patient_type_taken"),
	}},
	{readingsCollection, mongo.IndexModel{
		Keys:    bson.D{{Key: "patientId", Value: 1}, {Key: "takenAt", Value: -1}, {Key: "_id", Value: -1}},
		Options: options.Index().SetName("patient_taken"),
	}},
}

// Readings stores patients' readings, each under its id as _id, so that a
// reading uploaded twice is stored once.
type Readings struct{ c *mongo.Collection }

// Readings returns the readings collection.
func (s *Store) Readings() store.Readings { return &Readings{c: s.db.Collection(readingsCollection)} }

// Insert stores a new reading; conflict if a reading with its id exists
// (for any patient, deleted or not), or with its import key.
func (r *Readings) Insert(ctx context.Context, reading models.Reading) error {
	_, err := r.c.InsertOne(ctx, reading)
	return translate(err, "insert reading %s", reading.ID)
}

// InsertMany stores readings in one unordered write: every reading whose id
// is free is stored, whatever happens to the others. It returns the
// positions (indexes into readings, ascending) of those not stored because
// their id or import key was taken — by a stored reading or by an earlier one in the same
// call. Any other failure is returned as an error, and then the caller
// cannot know which readings were stored (retrying is safe: stored ones
// come back as duplicates).
func (r *Readings) InsertMany(ctx context.Context, readings []models.Reading) (duplicates []int, err error) {
	if len(readings) == 0 {
		return nil, nil
	}
	_, err = r.c.InsertMany(ctx, readings, options.InsertMany().SetOrdered(false))
	if err == nil {
		return nil, nil
	}
	// MongoDB (and its test stand-in) answer an unordered insert with
	// one write error per failed document, carrying its position in the
	// batch (the driver adds the offset when it splits a batch) and code
	// 11000 for a duplicate key.
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return nil, fmt.Errorf("insert %d readings: %w", len(readings), err)
	}
	for _, we := range bwe.WriteErrors {
		if !mongo.IsDuplicateKeyError(mongo.WriteException{WriteErrors: []mongo.WriteError{we.WriteError}}) ||
			we.Index < 0 || we.Index >= len(readings) {
			return nil, fmt.Errorf("insert %d readings: %w", len(readings), err)
		}
		duplicates = append(duplicates, we.Index)
	}
	return duplicates, nil
}

// Lookup returns the reading stored under id, whichever patient it belongs
// to and even if it is deleted: what a duplicate id is checked against.
// Errors: not_found.
func (r *Readings) Lookup(ctx context.Context, id string) (models.Reading, error) {
	return byID[models.Reading](ctx, r.c, id, "reading")
}

// LookupMany returns the readings stored under ids, by id, whichever
// patient they belong to and even if deleted; ids with no reading are
// absent from the map.
func (r *Readings) LookupMany(ctx context.Context, ids []string) (map[string]models.Reading, error) {
	out := make(map[string]models.Reading, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cur, err := r.c.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return nil, translate(err, "look up %d readings", len(ids))
	}
	var found []models.Reading
	if err := cur.All(ctx, &found); err != nil {
		return nil, translate(err, "look up %d readings", len(ids))
	}
	for _, reading := range found {
		out[reading.ID] = reading
	}
	return out, nil
}

// Get returns the patient's reading id. Errors: not_found when there is
// none, it belongs to another patient, or it was deleted.
func (r *Readings) Get(ctx context.Context, patientID, id string) (models.Reading, error) {
	// Read by _id alone; the owner and deletion are checked here.
	reading, err := r.Lookup(ctx, id)
	if err != nil {
		return models.Reading{}, err
	}
	if reading.PatientID != patientID || reading.DeletedAt != nil {
		return models.Reading{}, models.Errorf(models.CodeNotFound, "reading not found")
	}
	return reading, nil
}

// List returns one page of the patient's live readings matching q, newest
// first by (takenAt, id), at most q.Limit of them.
func (r *Readings) List(ctx context.Context, q models.ReadingQuery) ([]models.Reading, error) {
	opts := options.Find().
		SetSort(bson.D{{Key: "takenAt", Value: -1}, {Key: "_id", Value: -1}}).
		SetLimit(int64(q.Limit))
	cur, err := r.c.Find(ctx, readingFilter(q), opts)
	if err != nil {
		return nil, translate(err, "list readings of %s", q.PatientID)
	}
	items := []models.Reading{}
	if err := cur.All(ctx, &items); err != nil {
		return nil, translate(err, "list readings of %s", q.PatientID)
	}
	return items, nil
}

// Range returns every live reading of the patient of type typ taken in
// [from, to), in no particular order: what a summary is computed from.
func (r *Readings) Range(ctx context.Context, patientID string, typ models.ReadingType, from, to time.Time) ([]models.Reading, error) {
	cur, err := r.c.Find(ctx, readingFilter(models.ReadingQuery{PatientID: patientID, Type: typ, From: from, To: to}))
	if err != nil {
		return nil, translate(err, "readings of %s in range", patientID)
	}
	var items []models.Reading
	if err := cur.All(ctx, &items); err != nil {
		return nil, translate(err, "readings of %s in range", patientID)
	}
	return items, nil
}

// SoftDelete marks the patient's reading id deleted at at: it then
// disappears from Get, List and Range, and its id stays taken. Errors:
// not_found when there is no such live reading of the patient.
func (r *Readings) SoftDelete(ctx context.Context, patientID, id string, at time.Time) error {
	res, err := r.c.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "patientId", Value: patientID}, {Key: "deletedAt", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "deletedAt", Value: at}}}, {Key: "$max", Value: bson.D{{Key: "updatedAt", Value: at}}}})
	if err != nil {
		return translate(err, "delete reading %s", id)
	}
	if res.MatchedCount == 0 {
		return models.Errorf(models.CodeNotFound, "reading not found")
	}
	return nil
}

// readingFilter selects the patient's live readings that q asks for: of
// one type unless q.Type is "", taken in [q.From, q.To) as exact instants
// (a zero bound is open) and, when q.After is set, strictly after it in
// (takenAt desc, _id desc) order. The upper takenAt bound is stated on its
// own, beside the tie-break on _id, so that MongoDB bounds the index scan
// with it.
func readingFilter(q models.ReadingQuery) bson.D {
	q.From, q.To = store.MillisCeil(q.From), store.MillisCeil(q.To)
	filter := bson.D{{Key: "patientId", Value: q.PatientID}}
	if q.Type != "" {
		filter = append(filter, bson.E{Key: "type", Value: q.Type})
	}
	var rng bson.D
	if !q.From.IsZero() {
		rng = append(rng, bson.E{Key: "$gte", Value: q.From})
	}
	switch k := q.After; {
	case k != nil && (q.To.IsZero() || k.TakenAt.Before(q.To)):
		rng = append(rng, bson.E{Key: "$lte", Value: k.TakenAt})
	case !q.To.IsZero():
		rng = append(rng, bson.E{Key: "$lt", Value: q.To})
	}
	if len(rng) > 0 {
		filter = append(filter, bson.E{Key: "takenAt", Value: rng})
	}
	if k := q.After; k != nil {
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "takenAt", Value: bson.D{{Key: "$lt", Value: k.TakenAt}}}},
			bson.D{{Key: "takenAt", Value: k.TakenAt}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: k.ID}}}},
		}})
	}
	return append(filter, bson.E{Key: "deletedAt", Value: nil})
}

// Changed returns the patient's readings, deleted ones included, changed
// in (after, upTo], by (updatedAt, _id) (index changes).
func (r *Readings) Changed(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Reading, error) {
	return changed[models.Reading](ctx, r.c, bson.D{{Key: "patientId", Value: patientID}}, "updatedAt", after, upTo, limit, "reading changes")
}
