package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store/storetest"
)

// importedReading is testReading imported under key, from a device.
func importedReading(patient string, n int, key string) models.Reading {
	r := testReading(patient, n, readingsEpoch)
	r.Source, r.Device, r.ImportKey = models.ReadingSourceDevice, "Omron M3", key
	return r
}

// TestReadingsImportKeyUnique: an import key is stored, read back and
// never shared by two readings, under another id, deleted or not; readings
// without one are not compared.
func TestReadingsImportKeyUnique(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	rs := s.Readings()

	first := importedReading("p1", 1, "key-a")
	if err := rs.Insert(ctx, first); err != nil {
		t.Fatal(err)
	}
	got, err := rs.Lookup(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ImportKey != "key-a" || got.Source != models.ReadingSourceDevice || got.Device != "Omron M3" {
		t.Errorf("stored import key %q, source %q, device %q", got.ImportKey, got.Source, got.Device)
	}
	// Hand-logged readings have no key, and any number of them coexist.
	for _, n := range []int{2, 3} {
		if err := rs.Insert(ctx, testReading("p1", n, readingsEpoch)); err != nil {
			t.Fatalf("reading without a key: %v", err)
		}
	}
	if got, _ := rs.Lookup(ctx, testReading("p1", 2, readingsEpoch).ID); got.ImportKey != "" || got.Device != "" {
		t.Errorf("a hand-logged reading read back with key %q, device %q", got.ImportKey, got.Device)
	}

	// The key again under another id: conflict, alone or in a batch.
	if err := rs.Insert(ctx, importedReading("p1", 4, "key-a")); models.ErrorCode(err) != models.CodeConflict {
		t.Fatalf("insert of a taken import key: %v, want conflict", err)
	}
	dups, err := rs.InsertMany(ctx, []models.Reading{
		importedReading("p1", 5, "key-a"), // taken
		importedReading("p1", 6, "key-b"),
		importedReading("p1", 7, "key-b"), // taken earlier in the call
		testReading("p1", 8, readingsEpoch),
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{0, 2}, dups); diff != "" {
		t.Errorf("duplicates (-want +got):\n%s", diff)
	}
	stored, err := rs.LookupMany(ctx, []string{
		importedReading("p1", 4, "").ID, importedReading("p1", 5, "").ID, importedReading("p1", 6, "").ID,
		importedReading("p1", 7, "").ID, testReading("p1", 8, readingsEpoch).ID,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 2 || stored[importedReading("p1", 6, "").ID].ImportKey != "key-b" {
		t.Errorf("stored %v, want readings 6 (key-b) and 8 only", readingIDs(mapValues(stored)))
	}

	// A deleted reading keeps its key.
	if err := rs.SoftDelete(ctx, "p1", first.ID, readingsEpoch); err != nil {
		t.Fatal(err)
	}
	if err := rs.Insert(ctx, importedReading("p1", 9, "key-a")); models.ErrorCode(err) != models.CodeConflict {
		t.Errorf("insert of a deleted reading's import key: %v, want conflict", err)
	}
}

// TestReadingsImportKeyConcurrent: two imports of the same readings at
// once (as two posts of one Bundle would make them, each reading under a
// fresh id here so that only the import key can stop it) store each key
// exactly once.
func TestReadingsImportKeyConcurrent(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	rs := s.Readings()
	const n = 20
	batch := func(offset int) []models.Reading {
		out := make([]models.Reading, n)
		for i := range out {
			out[i] = importedReading("p1", offset+i, fmt.Sprintf("key-%d", i))
		}
		return out
	}
	var wg sync.WaitGroup
	dups := make([][]int, 2)
	errs := make([]error, 2)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dups[w], errs[w] = rs.InsertMany(ctx, batch(100*(w+1)))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := len(dups[0]) + len(dups[1]); got != n {
		t.Errorf("%d + %d duplicates, want %d in all (each key stored once)", len(dups[0]), len(dups[1]), n)
	}
	ids := append(readingIDs(batch(100)), readingIDs(batch(200))...)
	stored, err := rs.LookupMany(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]int{}
	for _, r := range stored {
		keys[r.ImportKey]++
	}
	for i := range n {
		if k := fmt.Sprintf("key-%d", i); keys[k] != 1 {
			t.Errorf("%s stored %d times", k, keys[k])
		}
	}
}

func mapValues(m map[string]models.Reading) []models.Reading {
	out := make([]models.Reading, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	return out
}
