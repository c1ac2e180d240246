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

const medicationsCollection = "medications"

// A patient's medicines, all or by status.
var medicationIndexes = []index{
	changesIndex(medicationsCollection, "patientId"),
	{medicationsCollection, mongo.IndexModel{
		Keys:    bson.D{{Key: "patientId", Value: 1}, {Key: "status", Value: 1}},
		Options: options.Index().SetName("patient_status"),
	}},
}

// Medications stores patients' medicines, each under its id as _id, so a
// medicine created offline and uploaded twice is stored once.
type Medications struct{ c *mongo.Collection }

// Medications returns the medications collection.
func (s *Store) Medications() store.Medications {
	return &Medications{c: s.db.Collection(medicationsCollection)}
}

// Create stores a new medication. Errors: conflict if its id is taken (by
// any patient's medication).
func (m *Medications) Create(ctx context.Context, med models.Medication) error {
	_, err := m.c.InsertOne(ctx, med)
	return translate(err, "create medication %s", med.ID)
}

// Get returns the medication stored under id, whichever patient it belongs
// to (callers check the owner). Errors: not_found.
func (m *Medications) Get(ctx context.Context, id string) (models.Medication, error) {
	return byID[models.Medication](ctx, m.c, id, "medication")
}

// ListByPatient returns every medication of the patient, active and
// stopped, oldest first (by createdAt, then id).
func (m *Medications) ListByPatient(ctx context.Context, patientID string) ([]models.Medication, error) {
	cur, err := m.c.Find(ctx, bson.D{{Key: "patientId", Value: patientID}},
		options.Find().SetSort(bson.D{{Key: "createdAt", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, translate(err, "list medications")
	}
	meds := []models.Medication{}
	if err := cur.All(ctx, &meds); err != nil {
		return nil, translate(err, "list medications")
	}
	return meds, nil
}

// CountActive returns how many active medications the patient has (index
// patient_status).
func (m *Medications) CountActive(ctx context.Context, patientID string) (int, error) {
	n, err := m.c.CountDocuments(ctx, bson.D{{Key: "patientId", Value: patientID}, {Key: "status", Value: models.MedicationActive}})
	if err != nil {
		return 0, translate(err, "count active medications")
	}
	return int(n), nil
}

// Update stores the edited fields of an active medication (name, strength,
// form, instructions, code, schedule, updatedAt and, when setStock, its
// stock: removed when med.Stock is nil). Other fields, and the stock count
// when setStock is false, are left as stored, so a concurrent dose log's
// stock change is not lost; only while its updatedAt is prev, reporting
// whether it did. Errors: not_found; conflict if it was stopped.
func (m *Medications) Update(ctx context.Context, med models.Medication, setStock bool, prev time.Time) (bool, error) {
	set := bson.D{
		{Key: "name", Value: med.Name},
		{Key: "strength", Value: med.Strength},
		{Key: "form", Value: med.Form},
		{Key: "instructions", Value: med.Instructions},
		{Key: "code", Value: med.Code},
		{Key: "schedule", Value: med.Schedule},
		{Key: "updatedAt", Value: med.UpdatedAt},
	}
	update := bson.D{}
	switch {
	case setStock && med.Stock != nil:
		set = append(set, bson.E{Key: "stock", Value: *med.Stock})
	case setStock:
		update = append(update, bson.E{Key: "$unset", Value: bson.D{{Key: "stock", Value: ""}}})
	}
	update = append(update, bson.E{Key: "$set", Value: set})
	res, err := m.c.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: med.ID}, {Key: "status", Value: models.MedicationActive}, {Key: "updatedAt", Value: store.Millis(prev)}}, update)
	if err != nil {
		return false, translate(err, "update medication %s", med.ID)
	}
	if res.MatchedCount == 1 {
		return true, nil
	}
	stored, err := m.Get(ctx, med.ID)
	if err != nil {
		return false, err
	}
	if stored.Status != models.MedicationActive {
		return false, models.Errorf(models.CodeConflict, "the medication is stopped")
	}
	return false, nil
}

// Stop marks an active medication stopped at `at` and reports whether it
// did (false: it was already stopped, or prev is not zero and its
// updatedAt is not prev). Errors: not_found.
func (m *Medications) Stop(ctx context.Context, id string, at, prev time.Time) (bool, error) {
	filter := bson.D{{Key: "_id", Value: id}, {Key: "status", Value: models.MedicationActive}}
	if !prev.IsZero() {
		filter = append(filter, bson.E{Key: "updatedAt", Value: store.Millis(prev)})
	}
	res, err := m.c.UpdateOne(ctx, filter,
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "status", Value: models.MedicationStopped},
			{Key: "stoppedAt", Value: at},
		}}, {Key: "$max", Value: bson.D{{Key: "updatedAt", Value: at}}}})
	if err != nil {
		return false, translate(err, "stop medication %s", id)
	}
	if res.MatchedCount == 0 {
		_, err := m.Get(ctx, id)
		return false, err
	}
	return true, nil
}

// AdjustStock adds delta (negative: a dose taken) to the stock quantity of
// a medication that records stock, in one atomic $inc, never below zero:
// taking more than the recorded stock leaves 0. A medication without stock
// is left alone. Any number of concurrent calls each apply once. Its
// updatedAt becomes at least `at`.
func (m *Medications) AdjustStock(ctx context.Context, id string, delta float64, at time.Time) error {
	if delta == 0 {
		return nil
	}
	const quantity = "stock.quantity"
	touch := bson.E{Key: "$max", Value: bson.D{{Key: "updatedAt", Value: store.Millis(at)}}}
	inc := bson.D{{Key: "$inc", Value: bson.D{{Key: quantity, Value: delta}}}, touch}
	if delta > 0 {
		_, err := m.c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: quantity, Value: bson.D{{Key: "$exists", Value: true}}}}, inc)
		return translate(err, "adjust stock of medication %s", id)
	}
	// Decrement when there is enough; else set 0. Between the two steps a
	// concurrent restore may make "enough" true again: try again then.
	for range 3 {
		res, err := m.c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: quantity, Value: bson.D{{Key: "$gte", Value: -delta}}}}, inc)
		if err != nil {
			return translate(err, "adjust stock of medication %s", id)
		}
		if res.MatchedCount == 1 {
			return nil
		}
		res, err = m.c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: quantity, Value: bson.D{{Key: "$lt", Value: -delta}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: quantity, Value: 0.0}}}, touch})
		if err != nil {
			return translate(err, "adjust stock of medication %s", id)
		}
		if res.MatchedCount == 1 {
			return nil
		}
		// Neither matched: no stock recorded, no such medication, or a
		// concurrent change in between.
		med, err := m.Get(ctx, id)
		if err != nil || med.Stock == nil {
			return nil
		}
	}
	return nil
}

// ListActive returns every active medication of every patient, ordered by
// patient (then id): the scheduler's one read of all schedules and stocks
// per refresh, whatever the number of patients (index patient_status).
func (m *Medications) ListActive(ctx context.Context) ([]models.Medication, error) {
	cur, err := m.c.Find(ctx, bson.D{{Key: "status", Value: models.MedicationActive}},
		options.Find().SetSort(bson.D{{Key: "patientId", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, translate(err, "list active medications")
	}
	meds := []models.Medication{}
	if err := cur.All(ctx, &meds); err != nil {
		return nil, translate(err, "list active medications")
	}
	return meds, nil
}

// Changed returns the patient's medications changed in (after, upTo], by
// (updatedAt, _id) (index changes).
func (m *Medications) Changed(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Medication, error) {
	return changed[models.Medication](ctx, m.c, bson.D{{Key: "patientId", Value: patientID}}, "updatedAt", after, upTo, limit, "medication changes")
}
