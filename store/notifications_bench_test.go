package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/storetest"
)

// BenchmarkClaim claims 2,000 due notifications, as Notifications.Claim
// does (batches of 500: one candidate query, one updateMany and one query
// by lease per batch), and one at a time with findOneAndUpdate, the shape
// the issue first named. On the embedded store every filter but an exact
// _id is answered by scanning the outbox, once per findOneAndUpdate.
// Run with -benchtime=1x: one iteration claims all 2,000.
func BenchmarkClaim(b *testing.B) {
	const due = 2000
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	lease := 2 * time.Minute

	b.Run("batch_updateMany", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			s, _ := claimBenchStore(b, due, now)
			b.StartTimer()
			claimed := 0
			for i := 0; ; i++ {
				got, err := s.Notifications().Claim(ctx, now, fmt.Sprintf("bench/%d", i), "bench", lease, store.MaxClaim)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) == 0 {
					break
				}
				claimed += len(got)
			}
			if claimed != due {
				b.Fatalf("claimed %d, want %d", claimed, due)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/2000")
	})

	b.Run("one_at_a_time_findOneAndUpdate", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			_, outbox := claimBenchStore(b, due, now)
			b.StartTimer()
			claimed := 0
			for {
				err := outbox.FindOneAndUpdate(ctx,
					bson.D{{Key: "$or", Value: bson.A{
						bson.D{{Key: "state", Value: "pending"}, {Key: "nextAttemptAt", Value: bson.D{{Key: "$lte", Value: now}}}},
						bson.D{{Key: "state", Value: "sending"}, {Key: "leaseUntil", Value: bson.D{{Key: "$lt", Value: now}}}},
					}}},
					bson.D{
						{Key: "$set", Value: bson.D{{Key: "state", Value: "sending"}, {Key: "leaseId", Value: "bench/1"},
							{Key: "leaseUntil", Value: now.Add(lease)}, {Key: "claimedBy", Value: "bench"}}},
						{Key: "$inc", Value: bson.D{{Key: "attempts", Value: 1}}},
					},
					options.FindOneAndUpdate().SetSort(bson.D{{Key: "nextAttemptAt", Value: 1}})).Err()
				if errors.Is(err, mongo.ErrNoDocuments) {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				claimed++
			}
			if claimed != due {
				b.Fatalf("claimed %d, want %d", claimed, due)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/2000")
	})
}

// claimBenchStore returns a store on a fresh database holding n due
// notifications, and a second client's handle on its outbox collection.
func claimBenchStore(b *testing.B, n int, now time.Time) (*store.Store, *mongo.Collection) {
	b.Helper()
	ctx := context.Background()
	uri, serialised := storetest.URI(b)
	name := storetest.DatabaseName()
	s, err := store.Open(ctx, store.Options{URI: uri, Database: name, Serialised: serialised})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.EnsureIndexes(ctx); err != nil {
		b.Fatal(err)
	}
	client, err := mongo.Connect(options.Client().ApplyURI(uri).SetMaxPoolSize(1))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = s.Drop(ctx)
		_ = s.Close(ctx)
		_ = client.Disconnect(ctx)
	})
	for i := range n {
		due := now.Add(-time.Duration(i) * time.Second)
		x := models.Notification{ID: fmt.Sprintf("dose_reminder:m%05d", i), RecipientID: fmt.Sprintf("u%03d", i%100), Kind: models.KindDoseReminder,
			Title: "Medicines", Body: "Time for your 08:00 medicines", Urgent: true, DueAt: due, NextAttemptAt: due,
			State: models.NotificationPending, CreatedAt: now,
			Data: map[string]string{"notificationId": fmt.Sprintf("dose_reminder:m%05d", i), "kind": "dose_reminder"}}
		if _, _, err := s.Notifications().Enqueue(ctx, x); err != nil {
			b.Fatal(err)
		}
	}
	return s, client.Database(name).Collection("outbox")
}
