package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store/storetest"
)

var readingsEpoch = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// testReading returns a weight reading of the patient, its id made from n.
func testReading(patient string, n int, takenAt time.Time) models.Reading {
	v := 70 + float64(n)/10
	return models.Reading{
		ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", n), PatientID: patient, Type: models.ReadingWeight,
		TakenAt: takenAt, Unit: "kg", Value: &v, Canonical: models.ReadingCanonical{Unit: "kg", Value: &v},
		Band: models.BandUnclassified, Rule: "weight.unclassified", CreatedAt: readingsEpoch,
	}
}

func readingIDs(rs []models.Reading) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids
}

// TestReadingsInsertManyDuplicates checks the shape of an unordered bulk
// insert's errors as this server reports them: every free id is stored,
// and exactly the positions whose id was taken (by a stored reading, or
// earlier in the same batch) come back.
func TestReadingsInsertManyDuplicates(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	rs := s.Readings()
	for _, n := range []int{1, 2} {
		if err := rs.Insert(ctx, testReading("p1", n, readingsEpoch)); err != nil {
			t.Fatal(err)
		}
	}
	if err := rs.Insert(ctx, testReading("p2", 1, readingsEpoch)); models.ErrorCode(err) != models.CodeConflict {
		t.Fatalf("insert of a taken id: %v, want conflict", err)
	}

	batch := []models.Reading{
		testReading("p1", 1, readingsEpoch), // taken
		testReading("p1", 3, readingsEpoch),
		testReading("p1", 4, readingsEpoch),
		testReading("p1", 3, readingsEpoch.Add(time.Hour)), // taken earlier in the batch
		testReading("p1", 2, readingsEpoch),                // taken
		testReading("p1", 5, readingsEpoch),
	}
	dups, err := rs.InsertMany(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{0, 3, 4}, dups); diff != "" {
		t.Errorf("duplicates (-want +got):\n%s", diff)
	}
	got, err := rs.LookupMany(ctx, []string{batch[1].ID, batch[2].ID, batch[5].ID, "missing"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Errorf("stored %d of the 3 new readings: %v", len(got), got)
	}
	if r := got[batch[1].ID]; !r.TakenAt.Equal(readingsEpoch) {
		t.Errorf("the first of two readings with one id should win; stored takenAt %v", r.TakenAt)
	}

	// A batch with no duplicate reports none.
	dups, err = rs.InsertMany(ctx, []models.Reading{testReading("p1", 6, readingsEpoch)})
	if err != nil || dups != nil {
		t.Errorf("clean batch: %v, %v", dups, err)
	}
}

func TestReadingsGetAndSoftDelete(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	rs := s.Readings()
	r := testReading("p1", 1, readingsEpoch)
	if err := rs.Insert(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := rs.Get(ctx, "p1", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, err := rs.Get(ctx, "p2", r.ID); models.ErrorCode(err) != models.CodeNotFound {
		t.Errorf("another patient's get: %v, want not_found", err)
	}
	if err := rs.SoftDelete(ctx, "p2", r.ID, readingsEpoch); models.ErrorCode(err) != models.CodeNotFound {
		t.Errorf("another patient's delete: %v, want not_found", err)
	}
	if err := rs.SoftDelete(ctx, "p1", r.ID, readingsEpoch); err != nil {
		t.Fatal(err)
	}
	if err := rs.SoftDelete(ctx, "p1", r.ID, readingsEpoch); models.ErrorCode(err) != models.CodeNotFound {
		t.Errorf("second delete: %v, want not_found", err)
	}
	if _, err := rs.Get(ctx, "p1", r.ID); models.ErrorCode(err) != models.CodeNotFound {
		t.Errorf("get after delete: %v, want not_found", err)
	}
	stored, err := rs.Lookup(ctx, r.ID)
	if err != nil || stored.DeletedAt == nil {
		t.Errorf("lookup of a deleted reading: %+v, %v; want it, marked deleted", stored, err)
	}
	list, err := rs.List(ctx, models.ReadingQuery{PatientID: "p1", Limit: 10})
	if err != nil || len(list) != 0 {
		t.Errorf("list after delete: %v, %v", readingIDs(list), err)
	}
	rng, err := rs.Range(ctx, "p1", models.ReadingWeight, readingsEpoch.Add(-time.Hour), readingsEpoch.Add(time.Hour))
	if err != nil || len(rng) != 0 {
		t.Errorf("range after delete: %v, %v", readingIDs(rng), err)
	}
}

// TestReadingsListKeyset pages through readings that share takenAt
// instants, with and without filters: the order is (takenAt, id) newest
// first, and each page starts just after the previous one's last reading.
func TestReadingsListKeyset(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	rs := s.Readings()
	var all []models.Reading
	for n := range 9 {
		// Three readings at each of three instants.
		r := testReading("p1", n, readingsEpoch.Add(time.Duration(n/3)*time.Hour))
		if n == 4 {
			r.Type, r.Unit, r.Canonical.Unit = models.ReadingHeartRate, "/min", "/min"
		}
		all = append(all, r)
	}
	other := testReading("p2", 100, readingsEpoch.Add(time.Hour))
	deleted := testReading("p1", 101, readingsEpoch.Add(time.Hour))
	if _, err := rs.InsertMany(ctx, append(append([]models.Reading{}, all...), other, deleted)); err != nil {
		t.Fatal(err)
	}
	if err := rs.SoftDelete(ctx, "p1", deleted.ID, readingsEpoch); err != nil {
		t.Fatal(err)
	}
	id := func(n int) string { return all[n].ID }

	tests := []struct {
		name string
		q    models.ReadingQuery
		want []string
	}{
		{"all", models.ReadingQuery{}, []string{id(8), id(7), id(6), id(5), id(4), id(3), id(2), id(1), id(0)}},
		{"type", models.ReadingQuery{Type: models.ReadingWeight}, []string{id(8), id(7), id(6), id(5), id(3), id(2), id(1), id(0)}},
		{"from inclusive, to exclusive", models.ReadingQuery{From: readingsEpoch.Add(time.Hour), To: readingsEpoch.Add(2 * time.Hour)},
			[]string{id(5), id(4), id(3)}},
		{"from only", models.ReadingQuery{From: readingsEpoch.Add(2 * time.Hour)}, []string{id(8), id(7), id(6)}},
	}
	for _, tt := range tests {
		for _, limit := range []int{1, 2, 4, 20} {
			t.Run(fmt.Sprintf("%s/limit %d", tt.name, limit), func(t *testing.T) {
				var got []string
				q := tt.q
				q.PatientID, q.Limit = "p1", limit
				for range 20 {
					page, err := rs.List(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, readingIDs(page)...)
					if len(page) < limit {
						break
					}
					k := page[len(page)-1].Key()
					q.After = &k
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("pages (-want +got):\n%s", diff)
				}
			})
		}
	}
}
