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

const (
	dosesCollection          = "doses"
	dosePlansCollection      = "dose_plans"
	doseTombstonesCollection = "dose_tombstones"
)

// A patient's doses in a time range; a medication's doses in a time range
// (re-planning after a schedule edit); doses by status and time (the
// scheduler's overdue-dose sweep across patients). dose_plans is only ever
// read and written by _id.
var doseIndexes = []index{
	changesIndex(dosesCollection, "patientId"),
	{doseTombstonesCollection, mongo.IndexModel{
		Keys:    bson.D{{Key: "patientId", Value: 1}, {Key: "deletedAt", Value: 1}, {Key: "_id", Value: 1}},
		Options: options.Index().SetName("changes"),
	}},
	{dosesCollection, mongo.IndexModel{
		Keys:    bson.D{{Key: "patientId", Value: 1}, {Key: "scheduledAt", Value: 1}},
		Options: options.Index().SetName("patient_scheduled"),
	}},
	{dosesCollection, mongo.IndexModel{
		Keys:    bson.D{{Key: "medicationId", Value: 1}, {Key: "scheduledAt", Value: 1}},
		Options: options.Index().SetName("medication_scheduled"),
	}},
	{dosesCollection, mongo.IndexModel{
		Keys:    bson.D{{Key: "status", Value: 1}, {Key: "scheduledAt", Value: 1}},
		Options: options.Index().SetName("status_scheduled"),
	}},
}

// Doses stores doses, each under its id as _id: a scheduled dose's id is
// deterministic (models.DoseID), so the same planned dose inserted twice,
// by one instance or several, is stored once. It also keeps, per
// medication, a record of how far its doses have been planned (the "dose
// plan"), so planning need not start again from the beginning.
type Doses struct {
	c          *mongo.Collection
	plans      *mongo.Collection
	tombstones *mongo.Collection
}

// Doses returns the doses collection.
func (s *Store) Doses() store.Doses {
	return &Doses{c: s.db.Collection(dosesCollection), plans: s.db.Collection(dosePlansCollection),
		tombstones: s.db.Collection(doseTombstonesCollection)}
}

// Insert stores a new dose. Errors: conflict if its id is taken.
func (d *Doses) Insert(ctx context.Context, dose models.Dose) error {
	_, err := d.c.InsertOne(ctx, dose)
	return translate(err, "insert dose %s", dose.ID)
}

// InsertMissing stores every dose whose id is free, in one unordered write,
// and returns how many it stored; a dose whose id is taken is already there
// and is skipped, so calling it again, or from several instances at once,
// stores each dose once.
func (d *Doses) InsertMissing(ctx context.Context, doses []models.Dose) (int, error) {
	if len(doses) == 0 {
		return 0, nil
	}
	_, err := d.c.InsertMany(ctx, doses, options.InsertMany().SetOrdered(false))
	if err == nil {
		return len(doses), nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return 0, fmt.Errorf("insert %d doses: %w", len(doses), err)
	}
	for _, we := range bwe.WriteErrors {
		if !mongo.IsDuplicateKeyError(mongo.WriteException{WriteErrors: []mongo.WriteError{we.WriteError}}) {
			return 0, fmt.Errorf("insert %d doses: %w", len(doses), err)
		}
	}
	return len(doses) - len(bwe.WriteErrors), nil
}

// Get returns the dose stored under id, whichever patient it belongs to
// (callers check the owner). Errors: not_found.
func (d *Doses) Get(ctx context.Context, id string) (models.Dose, error) {
	return byID[models.Dose](ctx, d.c, id, "dose")
}

// ListByPatient returns the patient's doses scheduled in [from, to), in
// time order (then id).
func (d *Doses) ListByPatient(ctx context.Context, patientID string, from, to time.Time) ([]models.Dose, error) {
	return d.find(ctx, bson.D{{Key: "patientId", Value: patientID}, {Key: "scheduledAt", Value: between(from, to)}})
}

// ListByMedication returns the medication's doses scheduled in [from, to),
// in time order (then id).
func (d *Doses) ListByMedication(ctx context.Context, medicationID string, from, to time.Time) ([]models.Dose, error) {
	return d.find(ctx, bson.D{{Key: "medicationId", Value: medicationID}, {Key: "scheduledAt", Value: between(from, to)}})
}

// ListPendingDue returns the patient's doses still stored as pending whose
// scheduled time is not after cutoff, in time order.
func (d *Doses) ListPendingDue(ctx context.Context, patientID string, cutoff time.Time) ([]models.Dose, error) {
	return d.find(ctx, bson.D{
		{Key: "patientId", Value: patientID},
		{Key: "status", Value: models.DosePending},
		{Key: "scheduledAt", Value: bson.D{{Key: "$lte", Value: cutoff}}},
	})
}

// ListPendingBefore returns up to limit doses of any patient still stored
// as pending whose scheduled time is not after cutoff, oldest first: the
// scheduler's sweep for overdue doses (index status_scheduled).
func (d *Doses) ListPendingBefore(ctx context.Context, cutoff time.Time, limit int) ([]models.Dose, error) {
	cur, err := d.c.Find(ctx, bson.D{
		{Key: "status", Value: models.DosePending},
		{Key: "scheduledAt", Value: bson.D{{Key: "$lte", Value: cutoff}}},
	}, options.Find().SetSort(bson.D{{Key: "scheduledAt", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, translate(err, "list overdue doses")
	}
	doses := []models.Dose{}
	if err := cur.All(ctx, &doses); err != nil {
		return nil, translate(err, "list overdue doses")
	}
	return doses, nil
}

func between(from, to time.Time) bson.D {
	return bson.D{{Key: "$gte", Value: from}, {Key: "$lt", Value: to}}
}

func (d *Doses) find(ctx context.Context, filter bson.D) ([]models.Dose, error) {
	cur, err := d.c.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "scheduledAt", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, translate(err, "list doses")
	}
	doses := []models.Dose{}
	if err := cur.All(ctx, &doses); err != nil {
		return nil, translate(err, "list doses")
	}
	return doses, nil
}

// Replace stores next in place of prev if the stored dose is still prev
// (same status and updatedAt: services move updatedAt forward on every
// change, so the pair is the dose's version) and reports whether it did.
// Of any number of concurrent replacements of one version exactly one
// succeeds: one conditional single-document write, atomic on MongoDB.
func (d *Doses) Replace(ctx context.Context, next, prev models.Dose) (bool, error) {
	if next.ID != prev.ID {
		return false, fmt.Errorf("replace dose %s with dose %s", prev.ID, next.ID)
	}
	res, err := d.c.ReplaceOne(ctx, doseVersion(prev), next)
	if err != nil {
		return false, translate(err, "update dose %s", prev.ID)
	}
	return res.MatchedCount == 1, nil
}

// DeletePending deletes a dose if it is still the pending dose read (same
// version, see Replace) and reports whether it did: a dose logged, or moved,
// since is left alone.
//
// The tombstone is written first and taken back if the dose was not
// deleted: a process stopping in between leaves a tombstone for a dose
// that still exists, which its later updatedAt outranks in the change
// feed, never a deleted dose without one.
func (d *Doses) DeletePending(ctx context.Context, dose models.Dose, at time.Time) (bool, error) {
	if dose.Status != models.DosePending {
		return false, nil
	}
	prev, err := byID[models.Tombstone](ctx, d.tombstones, dose.ID, "dose tombstone")
	if err != nil && !models.IsCode(err, models.CodeNotFound) {
		return false, err
	}
	t := models.Tombstone{Kind: models.FeedDose, ID: dose.ID, PatientID: dose.PatientID, DeletedAt: at}
	if _, err := d.tombstones.ReplaceOne(ctx, bson.D{{Key: "_id", Value: dose.ID}}, t, options.Replace().SetUpsert(true)); err != nil {
		return false, translate(err, "tombstone dose %s", dose.ID)
	}
	res, err := d.c.DeleteOne(ctx, doseVersion(dose))
	if err == nil && res.DeletedCount == 1 {
		return true, nil
	}
	// Not deleted: put the tombstone back as it was.
	var undo error
	if prev.ID != "" {
		_, undo = d.tombstones.ReplaceOne(ctx, bson.D{{Key: "_id", Value: dose.ID}, {Key: "deletedAt", Value: store.Millis(at)}}, prev)
	} else {
		_, undo = d.tombstones.DeleteOne(ctx, bson.D{{Key: "_id", Value: dose.ID}, {Key: "deletedAt", Value: store.Millis(at)}})
	}
	if err != nil {
		return false, translate(err, "delete dose %s", dose.ID)
	}
	return false, translate(undo, "take back the tombstone of dose %s", dose.ID)
}

// Changed returns the patient's doses changed in (after, upTo], by
// (updatedAt, _id) (index changes).
func (d *Doses) Changed(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Dose, error) {
	return changed[models.Dose](ctx, d.c, bson.D{{Key: "patientId", Value: patientID}}, "updatedAt", after, upTo, limit, "dose changes")
}

// Deleted returns the tombstones of the patient's doses deleted in
// (after, upTo], by (deletedAt, _id) (index changes).
func (d *Doses) Deleted(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.Tombstone, error) {
	return changed[models.Tombstone](ctx, d.tombstones, bson.D{{Key: "patientId", Value: patientID}}, "deletedAt", after, upTo, limit, "dose tombstones")
}

func doseVersion(dose models.Dose) bson.D {
	return bson.D{
		{Key: "_id", Value: dose.ID},
		{Key: "status", Value: dose.Status},
		{Key: "updatedAt", Value: dose.UpdatedAt},
	}
}

// DosePlan returns the fingerprint and end of the window of the medication's
// last completed dose planning: "" and the zero time if it was never
// planned, "" and the old end if a planning was invalidated.
func (d *Doses) DosePlan(ctx context.Context, medicationID string) (fingerprint string, through time.Time, err error) {
	var p store.DosePlan
	err = d.plans.FindOne(ctx, bson.D{{Key: "_id", Value: medicationID}}).Decode(&p)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, translate(err, "dose plan of %s", medicationID)
	}
	return p.Fingerprint, p.Through, nil
}

// SwapDosePlan records that the medication's doses are planned from
// fingerprint `next` up to through, if the stored plan still has
// fingerprint prev ("" also matching no plan at all), and reports whether
// it did. Concurrent swaps from one prev: exactly one succeeds.
func (d *Doses) SwapDosePlan(ctx context.Context, medicationID, patientID, prev, next string, through time.Time) (bool, error) {
	// From "" the plan may not exist: insert it. Of two inserts of one _id
	// one wins, and the other goes on to the conditional update, as does a
	// swap from "" of a plan that exists (invalidated).
	if prev == "" {
		_, err := d.plans.InsertOne(ctx, store.DosePlan{MedicationID: medicationID, PatientID: patientID, Fingerprint: next, Through: through})
		if err == nil {
			return true, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return false, translate(err, "swap dose plan of %s", medicationID)
		}
	}
	res, err := d.plans.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: medicationID}, {Key: "fingerprint", Value: prev}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "patientId", Value: patientID},
			{Key: "fingerprint", Value: next},
			{Key: "through", Value: through},
		}}})
	if err != nil {
		return false, translate(err, "swap dose plan of %s", medicationID)
	}
	return res.MatchedCount == 1, nil
}

// InvalidateDosePlan clears the medication's plan fingerprint (keeping its
// window), so the next planning re-plans its future doses.
func (d *Doses) InvalidateDosePlan(ctx context.Context, medicationID string) error {
	_, err := d.plans.UpdateOne(ctx, bson.D{{Key: "_id", Value: medicationID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "fingerprint", Value: ""}}}})
	return translate(err, "invalidate dose plan of %s", medicationID)
}
