package mongodb

import (
	"context"
	"regexp"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

const pharmaciesCollection = "pharmacies"

var pharmacyIndexes = []index{
	{pharmaciesCollection, mongo.IndexModel{Keys: bson.D{{Key: "odsCode", Value: 1}}, Options: options.Index().SetUnique(true).SetName("ods_unique")}},
	{pharmaciesCollection, mongo.IndexModel{Keys: bson.D{{Key: "postcodeKey", Value: 1}}, Options: options.Index().SetName("postcode")}},
	{pharmaciesCollection, mongo.IndexModel{Keys: bson.D{{Key: "name", Value: 1}}, Options: options.Index().SetName("name")}},
}

// Pharmacies stores community pharmacies; an ODS code belongs to one.
type Pharmacies struct{ c *mongo.Collection }

// Pharmacies returns the pharmacies collection.
func (s *Store) Pharmacies() store.Pharmacies {
	return &Pharmacies{c: s.db.Collection(pharmaciesCollection)}
}

// Create stores a pharmacy; conflict if its id or ODS code is taken.
func (p *Pharmacies) Create(ctx context.Context, ph models.Pharmacy) error {
	_, err := p.c.InsertOne(ctx, ph)
	return translate(err, "create pharmacy")
}

// Get returns a pharmacy by id; not_found if there is none.
func (p *Pharmacies) Get(ctx context.Context, id string) (models.Pharmacy, error) {
	return byID[models.Pharmacy](ctx, p.c, id, "pharmacy")
}

// Exists reports whether a pharmacy with the id exists.
func (p *Pharmacies) Exists(ctx context.Context, id string) (bool, error) {
	_, err := p.Get(ctx, id)
	if models.IsCode(err, models.CodeNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Search returns up to limit pharmacies, by name, whose name contains text
// (any case), or whose postcode or ODS code starts with it (compared
// without spaces, upper case). An empty text matches every pharmacy.
func (p *Pharmacies) Search(ctx context.Context, text string, limit int) ([]models.Pharmacy, error) {
	filter := bson.D{}
	if text != "" {
		key := regexp.QuoteMeta(models.PostcodeKey(text))
		filter = bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "name", Value: bson.D{{Key: "$regex", Value: regexp.QuoteMeta(text)}, {Key: "$options", Value: "i"}}}},
			bson.D{{Key: "postcodeKey", Value: bson.D{{Key: "$regex", Value: "^" + key}}}},
			bson.D{{Key: "odsCode", Value: bson.D{{Key: "$regex", Value: "^" + key}}}},
		}}}
	}
	cur, err := p.c.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "name", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, translate(err, "search pharmacies")
	}
	out := []models.Pharmacy{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, translate(err, "search pharmacies")
	}
	return out, nil
}
