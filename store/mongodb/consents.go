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

const (
	consentsCollection    = "consents"
	nominationsCollection = "nominations"
)

var consentIndexes = []index{
	{consentsCollection, mongo.IndexModel{Keys: bson.D{{Key: "patientId", Value: 1}, {Key: "grantedAt", Value: -1}}, Options: options.Index().SetName("patient_granted")}},
	{nominationsCollection, mongo.IndexModel{Keys: bson.D{{Key: "pharmacyId", Value: 1}}, Options: options.Index().SetName("pharmacy")}},
}

// Consents stores patients' consent to share with a pharmacy: the history
// (one record per grant, never deleted) and each patient's current
// nomination (one record per patient, _id = patient id, present only while
// consent stands).
type Consents struct {
	consents    *mongo.Collection
	nominations *mongo.Collection
}

// Consents returns the consents store.
func (s *Store) Consents() store.Consents {
	return &Consents{consents: s.db.Collection(consentsCollection), nominations: s.db.Collection(nominationsCollection)}
}

// Insert stores a consent record.
func (c *Consents) Insert(ctx context.Context, consent models.Consent) error {
	_, err := c.consents.InsertOne(ctx, consent)
	return translate(err, "insert consent")
}

// Consent returns a consent record by id; not_found if there is none.
func (c *Consents) Consent(ctx context.Context, id string) (models.Consent, error) {
	return byID[models.Consent](ctx, c.consents, id, "consent")
}

// End marks a consent record ended (withdrawn, changed or superseded); a
// record that has already ended keeps its first end.
func (c *Consents) End(ctx context.Context, id, reason string, at time.Time) error {
	_, err := c.consents.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "withdrawnAt", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "withdrawnAt", Value: at}, {Key: "endReason", Value: reason}}}})
	return translate(err, "end consent %s", id)
}

// History returns a patient's consent records, newest first.
func (c *Consents) History(ctx context.Context, patientID string) ([]models.Consent, error) {
	cur, err := c.consents.Find(ctx, bson.D{{Key: "patientId", Value: patientID}},
		options.Find().SetSort(bson.D{{Key: "grantedAt", Value: -1}, {Key: "_id", Value: -1}}))
	if err != nil {
		return nil, translate(err, "consent history")
	}
	out := []models.Consent{}
	return out, translate(cur.All(ctx, &out), "consent history")
}

// Nomination returns a patient's current nomination (one exact-id read);
// not_found when the patient has none.
func (c *Consents) Nomination(ctx context.Context, patientID string) (models.Nomination, error) {
	return byID[models.Nomination](ctx, c.nominations, patientID, "nomination")
}

// SwapNomination makes n the patient's nomination if the current one is
// still the one the caller read: held by consent expectConsentID, or none
// when expectConsentID is "". It reports false when another change came
// first. One conditional write: of concurrent swaps from one state exactly
// one wins.
func (c *Consents) SwapNomination(ctx context.Context, expectConsentID string, n models.Nomination) (bool, error) {
	if expectConsentID == "" {
		_, err := c.nominations.InsertOne(ctx, n)
		if mongo.IsDuplicateKeyError(err) {
			return false, nil
		}
		return err == nil, translate(err, "insert nomination")
	}
	res, err := c.nominations.ReplaceOne(ctx, bson.D{{Key: "_id", Value: n.PatientID}, {Key: "consentId", Value: expectConsentID}}, n)
	if err != nil {
		return false, translate(err, "replace nomination")
	}
	return res.MatchedCount == 1, nil
}

// DeleteNomination removes a patient's nomination if it is still held by
// consentID; it reports false when another change came first.
func (c *Consents) DeleteNomination(ctx context.Context, patientID, consentID string) (bool, error) {
	res, err := c.nominations.DeleteOne(ctx, bson.D{{Key: "_id", Value: patientID}, {Key: "consentId", Value: consentID}})
	if err != nil {
		return false, translate(err, "delete nomination")
	}
	return res.DeletedCount == 1, nil
}

// Nominations returns the current nominations of one pharmacy's patients,
// or of every pharmacy when pharmacyID is "".
func (c *Consents) Nominations(ctx context.Context, pharmacyID string) ([]models.Nomination, error) {
	filter := bson.D{}
	if pharmacyID != "" {
		filter = bson.D{{Key: "pharmacyId", Value: pharmacyID}}
	}
	cur, err := c.nominations.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, translate(err, "list nominations")
	}
	out := []models.Nomination{}
	return out, translate(cur.All(ctx, &out), "list nominations")
}
