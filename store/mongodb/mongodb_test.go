package mongodb_test

import (
	"context"
	"os"
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/concord-health/concord/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// EnsureIndexes creates every collection, those without secondary indexes
// too, and may run again.
func TestEnsureIndexesCreatesEveryCollection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewMongoDB(t) // has run EnsureIndexes once
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatalf("second run: %v", err)
	}
	names, err := s.Database().ListCollectionNames(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dose_plans", "flag_slots", "readings", "outbox"} {
		if !slices.Contains(names, want) {
			t.Errorf("collections %v lack %s", names, want)
		}
	}
}
