package mongodb

import (
	"context"
	"reflect"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// collectionOf is the collection each kind of record lives in.
var collectionOf = map[store.Kind]string{
	store.KindUsers:         usersCollection,
	store.KindSessions:      sessionsCollection,
	store.KindRefreshTokens: refreshTokensCollection,
	store.KindPharmacies:    pharmaciesCollection,
	store.KindConsents:      consentsCollection,
	store.KindNominations:   nominationsCollection,
	store.KindInvitations:   invitationsCollection,
	store.KindLinks:         linksCollection,
	store.KindAudit:         auditCollection,
	store.KindReadings:      readingsCollection,
	store.KindMedications:   medicationsCollection,
	store.KindDoses:         dosesCollection,
	store.KindDosePlans:     dosePlansCollection,
	store.KindNotifications: notificationsCollection,
	store.KindOutbox:        outboxCollection,
	store.KindDevices:       devicesCollection,
	store.KindFlags:         flagsCollection,
	store.KindFlagSlots:     flagSlotsCollection,
	store.KindEpisodes:      episodesCollection,
	store.KindReportLinks:   reportLinksCollection,
}

// collection returns the collection of kind and the type of its records.
func (s *Store) collection(kind store.Kind) (*mongo.Collection, reflect.Type, error) {
	name, ok := collectionOf[kind]
	zero, err := store.KindType(kind)
	if !ok || err != nil {
		return nil, nil, models.Errorf(models.CodeInvalid, "unknown kind of record %q", kind)
	}
	return s.db.Collection(name), reflect.TypeOf(zero), nil
}

// Export calls fn with every record of kind in batches, in _id order
// (store.Copier).
func (s *Store) Export(ctx context.Context, kind store.Kind, batch int, fn func([]any) error) error {
	c, typ, err := s.collection(kind)
	if err != nil {
		return err
	}
	batch = max(batch, 1)
	cur, err := c.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetBatchSize(int32(min(batch, 10_000))))
	if err != nil {
		return translate(err, "export %s", kind)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	records := make([]any, 0, batch)
	for cur.Next(ctx) {
		v := reflect.New(typ)
		if err := cur.Decode(v.Interface()); err != nil {
			return translate(err, "export %s", kind)
		}
		records = append(records, v.Elem().Interface())
		if len(records) == batch {
			if err := fn(records); err != nil {
				return err
			}
			records = make([]any, 0, batch)
		}
	}
	if err := cur.Err(); err != nil {
		return translate(err, "export %s", kind)
	}
	if len(records) > 0 {
		return fn(records)
	}
	return nil
}

// Import stores records of kind as they are, in one ordered insert: it
// stops at the first id taken (store.Copier).
func (s *Store) Import(ctx context.Context, kind store.Kind, records []any) error {
	c, typ, err := s.collection(kind)
	if err != nil {
		return err
	}
	if len(records) == 0 {
		return nil
	}
	for i, r := range records {
		if reflect.TypeOf(r) != typ {
			return models.Errorf(models.CodeInvalid, "record %d of %s is a %T, not a %s", i, kind, r, typ)
		}
	}
	_, err = c.InsertMany(ctx, records)
	return translate(err, "import %d %s", len(records), kind)
}

// Count returns how many records of kind are stored (store.Copier).
func (s *Store) Count(ctx context.Context, kind store.Kind) (int64, error) {
	c, _, err := s.collection(kind)
	if err != nil {
		return 0, err
	}
	n, err := c.CountDocuments(ctx, bson.D{})
	return n, translate(err, "count %s", kind)
}
