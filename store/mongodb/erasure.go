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

// erasureIndexes find a person's records where no other index does, for
// ErasePerson: notifications about a patient and a patient's dose plans.
var erasureIndexes = []index{
	{notificationsCollection, mongo.IndexModel{Keys: bson.D{{Key: "patientId", Value: 1}}, Options: options.Index().SetName("patient")}},
	{dosePlansCollection, mongo.IndexModel{Keys: bson.D{{Key: "patientId", Value: 1}}, Options: options.Index().SetName("patient")}},
}

// ErasePerson deletes a person's records (store.Erasure): sessions and
// their tokens first, the user last, each step a deleteMany that a second
// call repeats harmlessly, so a call that fails part-way is finished by
// the next.
func (s *Store) ErasePerson(ctx context.Context, userID string, at time.Time) (map[string]int, error) {
	counts := map[string]int{}
	del := func(kind store.Kind, collection string, filter bson.D) error {
		res, err := s.db.Collection(collection).DeleteMany(ctx, filter)
		if err != nil {
			return translate(err, "erase %s of %s", collection, userID)
		}
		counts[string(kind)] += int(res.DeletedCount)
		return nil
	}
	is := func(field string) bson.D { return bson.D{{Key: field, Value: userID}} }

	sessions, err := findIDs(ctx, s.db.Collection(sessionsCollection), is("userId"), nil, 0, "sessions of "+userID)
	if err != nil {
		return nil, err
	}
	if err := del(store.KindRefreshTokens, refreshTokensCollection, bson.D{{Key: "sessionId", Value: bson.D{{Key: "$in", Value: sessions}}}}); err != nil {
		return nil, err
	}
	steps := []struct {
		kind       store.Kind
		collection string
		field      string
	}{
		{store.KindSessions, sessionsCollection, "userId"},
		{store.KindDevices, devicesCollection, "userId"},
		{store.KindReadings, readingsCollection, "patientId"},
		{store.KindDoses, dosesCollection, "patientId"},
		{store.KindDosePlans, dosePlansCollection, "patientId"},
		{store.KindMedications, medicationsCollection, "patientId"},
	}
	for _, st := range steps {
		if err := del(st.kind, st.collection, is(st.field)); err != nil {
			return nil, err
		}
	}
	// The change feed's dose tombstones: ids only, but of the person.
	if _, err := s.db.Collection(doseTombstonesCollection).DeleteMany(ctx, is("patientId")); err != nil {
		return nil, translate(err, "erase dose tombstones of %s", userID)
	}
	for _, field := range []string{"recipientId", "patientId"} {
		ids, err := findIDs(ctx, s.db.Collection(notificationsCollection), is(field), nil, 0, "notifications of "+userID)
		if err != nil {
			return nil, err
		}
		in := bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}
		if err := del(store.KindOutbox, outboxCollection, in); err != nil {
			return nil, err
		}
		if err := del(store.KindNotifications, notificationsCollection, in); err != nil {
			return nil, err
		}
	}
	for _, st := range []struct {
		kind       store.Kind
		collection string
		field      string
	}{
		{store.KindInvitations, invitationsCollection, "patientId"},
		{store.KindLinks, linksCollection, "patientId"},
		{store.KindLinks, linksCollection, "carerId"},
		{store.KindNominations, nominationsCollection, "_id"},
		{store.KindReportLinks, reportLinksCollection, "patientId"},
	} {
		if err := del(st.kind, st.collection, is(st.field)); err != nil {
			return nil, err
		}
	}
	if err := s.eraseFlags(ctx, userID, at, counts); err != nil {
		return nil, err
	}
	if err := del(store.KindFlagSlots, flagSlotsCollection, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: models.FlagSlotIDs(userID)}}}}); err != nil {
		return nil, err
	}
	if err := del(store.KindUsers, usersCollection, is("_id")); err != nil {
		return nil, err
	}
	return counts, nil
}

// eraseFlags deletes the patient's flags no pharmacist worked on and
// closes the live ones that are kept.
func (s *Store) eraseFlags(ctx context.Context, patientID string, at time.Time, counts map[string]int) error {
	f := s.Flags().(*Flags)
	flags, err := f.OfPatient(ctx, patientID)
	if err != nil {
		return err
	}
	for _, fl := range flags {
		if models.FlagWorkedOn(fl) {
			closed, err := f.Close(ctx, fl.ID, models.FlagClosedAccountDeleted, at)
			if err != nil {
				return err
			}
			if closed {
				counts[string(store.KindFlagsClosed)]++
			}
			continue
		}
		res, err := f.flags.DeleteOne(ctx, bson.D{{Key: "_id", Value: fl.ID}})
		if err != nil {
			return translate(err, "erase flag %s", fl.ID)
		}
		counts[string(store.KindFlags)] += int(res.DeletedCount)
	}
	return nil
}
