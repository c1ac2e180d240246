package mongodb

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

const episodesCollection = "service_episodes"

var episodeIndexes = []index{
	// A patient's episodes, newest first.
	{episodesCollection, mongo.IndexModel{Keys: bson.D{{Key: "patientId", Value: 1}, {Key: "createdAt", Value: -1}, {Key: "_id", Value: -1}}, Options: options.Index().SetName("patient_episodes")}},
	// The service queue: a pharmacy's active episodes, soonest due first.
	{episodesCollection, mongo.IndexModel{Keys: bson.D{{Key: "pharmacyId", Value: 1}, {Key: "status", Value: 1}, {Key: "queueAt", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("pharmacy_queue")}},
}

// Services stores pharmacy service episodes, one document each
// (store.EpisodeRecord); every write replaces the whole document.
type Services struct{ c *mongo.Collection }

// Services returns the service-episodes collection.
func (s *Store) Services() store.ServiceEpisodes {
	return &Services{c: s.db.Collection(episodesCollection)}
}

// Insert stores a new episode; conflict if its _id is taken.
func (x *Services) Insert(ctx context.Context, e models.ServiceEpisode) error {
	_, err := x.c.InsertOne(ctx, store.EpisodeRecordOf(e))
	return translate(err, "insert service episode %s", e.ID)
}

// Get returns an episode; not_found if there is none.
func (x *Services) Get(ctx context.Context, id string) (models.ServiceEpisode, error) {
	rec, err := byID[store.EpisodeRecord](ctx, x.c, id, "service episode")
	return rec.ServiceEpisode, err
}

// Replace stores next if the stored episode is still at prevVersion: one
// conditional single-document write.
func (x *Services) Replace(ctx context.Context, next models.ServiceEpisode, prevVersion int) (bool, error) {
	res, err := x.c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: next.ID}, {Key: "version", Value: prevVersion}}, store.EpisodeRecordOf(next))
	if err != nil {
		return false, translate(err, "replace service episode %s", next.ID)
	}
	return res.MatchedCount == 1, nil
}

// OfPatient returns up to limit of a patient's episodes, newest first.
func (x *Services) OfPatient(ctx context.Context, patientID string, limit int) ([]models.ServiceEpisode, error) {
	return x.find(ctx, bson.D{{Key: "patientId", Value: patientID}},
		bson.D{{Key: "createdAt", Value: -1}, {Key: "_id", Value: -1}}, limit, "service episodes of "+patientID)
}

// Queue returns a page of a pharmacy's active episodes by (queueAt, _id).
func (x *Services) Queue(ctx context.Context, q models.ServiceEpisodeQuery) ([]models.ServiceEpisode, error) {
	filter := bson.D{{Key: "pharmacyId", Value: q.PharmacyID}, {Key: "status", Value: string(models.EpisodeActive)}}
	if q.AfterID != "" && q.AfterDue != nil {
		after := store.Millis(*q.AfterDue)
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "queueAt", Value: bson.D{{Key: "$gt", Value: after}}}},
			bson.D{{Key: "queueAt", Value: after}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: q.AfterID}}}},
		}})
	}
	return x.find(ctx, filter, bson.D{{Key: "queueAt", Value: 1}, {Key: "_id", Value: 1}}, q.Limit, "service queue of "+q.PharmacyID)
}

func (x *Services) find(ctx context.Context, filter, sort bson.D, limit int, what string) ([]models.ServiceEpisode, error) {
	cur, err := x.c.Find(ctx, filter, options.Find().SetSort(sort).SetLimit(int64(limit)))
	if err != nil {
		return nil, translate(err, "%s", what)
	}
	var recs []store.EpisodeRecord
	if err := cur.All(ctx, &recs); err != nil {
		return nil, translate(err, "%s", what)
	}
	out := make([]models.ServiceEpisode, len(recs))
	for i, r := range recs {
		out[i] = r.ServiceEpisode
	}
	return out, nil
}
