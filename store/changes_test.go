package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store/storetest"
)

// TestChangeFeeds: each Changed method returns one patient's records by
// (updatedAt, id) after a key and up to a bound, deletions included; pages
// follow one another without gaps or repeats; a deleted pending dose
// leaves a tombstone.
func TestChangeFeeds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	t0 := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

	// Readings: five of p1 created a second apart, one of p2; the second
	// of p1 is deleted later.
	var ids []string
	for i := range 5 {
		r := testReading("p1", i, t0)
		r.CreatedAt = t0.Add(time.Duration(i) * time.Second)
		r.UpdatedAt = r.CreatedAt
		if err := st.Readings().Insert(ctx, r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	other := testReading("p2", 9, t0)
	other.CreatedAt, other.UpdatedAt = t0, t0
	if err := st.Readings().Insert(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := st.Readings().SoftDelete(ctx, "p1", ids[1], t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	page := func(after models.ChangeKey, upTo time.Time, limit int) []string {
		t.Helper()
		rs, err := st.Readings().Changed(ctx, "p1", after, upTo, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
			if (r.ID == ids[1]) != (r.DeletedAt != nil) {
				t.Errorf("reading %s: deletedAt %v", r.ID, r.DeletedAt)
			}
		}
		return out
	}
	end := t0.Add(time.Hour)
	first := page(models.ChangeKey{}, end, 2)
	if diff := cmp.Diff([]string{ids[0], ids[2]}, first); diff != "" {
		t.Errorf("first page (-want +got):\n%s", diff)
	}
	rest := page(models.ChangeKey{At: t0.Add(2 * time.Second), ID: ids[2]}, end, 10)
	if diff := cmp.Diff([]string{ids[3], ids[4], ids[1]}, rest); diff != "" {
		t.Errorf("second page (-want +got):\n%s", diff)
	}
	if got := page(models.ChangeKey{}, t0.Add(3*time.Second), 10); len(got) != 3 {
		t.Errorf("bounded by upTo: %v", got)
	}

	// Doses: a deleted pending dose leaves a tombstone at its deletion.
	d := st.Doses()
	dose := testDose("m", 0)
	dose.PatientID = "p1"
	if err := d.Insert(ctx, dose); err != nil {
		t.Fatal(err)
	}
	if ds, err := d.Changed(ctx, "p1", models.ChangeKey{}, end, 10); err != nil || len(ds) != 1 || ds[0].ID != dose.ID {
		t.Fatalf("dose changes: %v, %v", ds, err)
	}
	if ok, err := d.DeletePending(ctx, dose, t0.Add(5*time.Minute)); err != nil || !ok {
		t.Fatalf("delete: %v, %v", ok, err)
	}
	ts, err := d.Deleted(ctx, "p1", models.ChangeKey{}, end, 10)
	want := []models.Tombstone{{Kind: models.FeedDose, ID: dose.ID, PatientID: "p1", DeletedAt: t0.Add(5 * time.Minute)}}
	if diff := cmp.Diff(want, ts); err != nil || diff != "" {
		t.Errorf("tombstones (-want +got):\n%s%v", diff, err)
	}
	if ts, err := d.Deleted(ctx, "p1", models.ChangeKey{At: t0.Add(5 * time.Minute), ID: dose.ID}, end, 10); err != nil || len(ts) != 0 {
		t.Errorf("tombstones after the last: %v, %v", ts, err)
	}

	// Notifications: a future one enters the feed at its due time.
	n := models.Notification{ID: "n1", RecipientID: "p1", PatientID: "p1", Kind: models.KindDoseReminder, Title: "t", Body: "b",
		DueAt: t0.Add(time.Hour), State: models.NotificationPending, NextAttemptAt: t0.Add(time.Hour), CreatedAt: t0}
	if _, _, err := st.Notifications().Enqueue(ctx, n); err != nil {
		t.Fatal(err)
	}
	if ns, err := st.Notifications().Changed(ctx, "p1", "p1", models.ChangeKey{}, t0.Add(time.Minute), 10); err != nil || len(ns) != 0 {
		t.Errorf("a notification not yet due is in the feed: %v, %v", ns, err)
	}
	if err := st.Notifications().MarkRead(ctx, "n1", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	ns, err := st.Notifications().Changed(ctx, "p1", "p1", models.ChangeKey{}, t0.Add(3*time.Hour), 10)
	if err != nil || len(ns) != 1 || !ns[0].UpdatedAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("a read notification: %v, %v", ns, err)
	}
}
