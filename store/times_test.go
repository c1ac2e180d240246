package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/storetest"
)

// TestTimesKeptToTheMillisecond: times given finer than a millisecond and
// outside UTC, at the top of a record and nested in it, come back as
// store.Millis keeps them; what a method hands back without reading it
// (Enqueue's new notification) is as Get reads it; a value read back and
// passed to a compare-and-set matches itself; and Readings' [from, to)
// bounds select by the exact instants.
func TestTimesKeptToTheMillisecond(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	zone := time.FixedZone("UTC-5", -5*3600)
	fine := time.Date(2026, 3, 10, 7, 0, 0, 123456789, zone) // 12:00:00.123456789 UTC
	kept := time.Date(2026, 3, 10, 12, 0, 0, 123_000_000, time.UTC)
	later := fine.Add(time.Hour)

	// A reading: its columns, and the bounds of a page.
	r := testReading("p1", 1, fine)
	r.CreatedAt = fine
	if err := s.Readings().Insert(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.Readings().Lookup(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := r
	want.TakenAt, want.CreatedAt = kept, kept
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reading (-want +got):\n%s", diff)
	}
	assertUTC(t, "reading takenAt", got.TakenAt)
	for _, b := range []struct {
		name     string
		from, to time.Time
		want     int
	}{
		{"from the exact instant", fine, time.Time{}, 0}, // 12:00:00.123 is before it
		{"from just before it", fine.Add(-456789), time.Time{}, 1},
		{"to the exact instant", time.Time{}, fine, 1},
		{"to its millisecond", time.Time{}, kept, 0},
	} {
		page, err := s.Readings().List(ctx, models.ReadingQuery{PatientID: "p1", From: b.from, To: b.to, Limit: 10})
		if err != nil || len(page) != b.want {
			t.Errorf("list %s: %d readings (%v), want %d", b.name, len(page), err, b.want)
		}
	}

	// A medication stopped at a fine time.
	med := models.Medication{ID: "m1", PatientID: "p1", Name: "X", Schedule: models.Schedule{Times: []string{"08:00"}, StartDate: "2026-03-01"},
		Status: models.MedicationActive, CreatedAt: fine, UpdatedAt: fine}
	if err := s.Medications().Create(ctx, med); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Medications().Stop(ctx, med.ID, later, time.Time{}); err != nil || !ok {
		t.Fatalf("stop: %v %v", ok, err)
	}
	m, err := s.Medications().Get(ctx, med.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.StoppedAt == nil || !m.StoppedAt.Equal(kept.Add(time.Hour)) || !m.CreatedAt.Equal(kept) {
		t.Errorf("medication: stoppedAt %v createdAt %v, want %v and %v", m.StoppedAt, m.CreatedAt, kept.Add(time.Hour), kept)
	}
	assertUTC(t, "medication stoppedAt", *m.StoppedAt)

	// A dose with its history (nested times), replaced by the version read.
	d := testDose("m1", 0)
	d.UpdatedAt = fine
	d.History = []models.DoseEvent{{At: fine, From: models.DosePending, To: models.DoseTaken, TakenAt: &fine}}
	if err := s.Doses().Insert(ctx, d); err != nil {
		t.Fatal(err)
	}
	read, err := s.Doses().Get(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(store.AsStored(d), read); diff != "" {
		t.Errorf("dose (-want +got):\n%s", diff)
	}
	if h := read.History[0]; !h.At.Equal(kept) || h.TakenAt == nil || !h.TakenAt.Equal(kept) {
		t.Errorf("dose history %+v, want its times at %v", h, kept)
	}
	assertUTC(t, "dose history", read.History[0].At)
	next := read
	next.Status, next.UpdatedAt = models.DoseMissed, read.UpdatedAt.Add(time.Millisecond)
	if ok, err := s.Doses().Replace(ctx, next, read); err != nil || !ok {
		t.Errorf("replace the version read: %v %v, want true", ok, err)
	}

	// A notification: what Enqueue hands back is what Get reads.
	n := pendingNotification("n1", fine)
	n.CreatedAt = fine
	n.Deliveries = []models.Delivery{{DeviceID: "d1", Outcome: models.DeliverySent, At: fine}}
	enqueued, created, err := s.Notifications().Enqueue(ctx, n)
	if err != nil || !created {
		t.Fatalf("enqueue: %v %v", created, err)
	}
	stored, err := s.Notifications().Get(ctx, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stored, enqueued); diff != "" {
		t.Errorf("enqueued notification against the stored one (-stored +enqueued):\n%s", diff)
	}
	if !stored.DueAt.Equal(kept) || !stored.Deliveries[0].At.Equal(kept) {
		t.Errorf("notification: dueAt %v delivery at %v, want %v", stored.DueAt, stored.Deliveries[0].At, kept)
	}
	assertUTC(t, "enqueued dueAt", enqueued.DueAt)

	// A flag's notes and history.
	f := models.Flag{ID: models.FlagID("p1", models.RuleRunningOut, 1), PatientID: "p1", PharmacyID: "ph", Rule: models.RuleRunningOut, Seq: 1,
		Severity: models.SeverityHigh, Status: models.FlagOpen, Notes: []models.FlagNote{},
		History: []models.FlagEvent{{At: fine, Event: models.FlagEventRaised}}, QueuedAt: fine, CreatedAt: fine, UpdatedAt: fine}
	if err := s.Flags().Insert(ctx, f); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Flags().Resolve(ctx, f.ID, "b", models.OutcomeAdviceGiven, "n", &later, later); err != nil || !ok {
		t.Fatalf("resolve: %v %v", ok, err)
	}
	gotFlag, err := s.Flags().Get(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	at := kept.Add(time.Hour)
	if e := gotFlag.History[1]; !gotFlag.History[0].At.Equal(kept) || !e.At.Equal(at) || e.FollowUpAt == nil || !e.FollowUpAt.Equal(at) ||
		!gotFlag.Notes[0].At.Equal(at) || gotFlag.FollowUpAt == nil || !gotFlag.FollowUpAt.Equal(at) {
		t.Errorf("flag: history %+v notes %+v followUpAt %v, want their times at %v and %v", gotFlag.History, gotFlag.Notes, gotFlag.FollowUpAt, kept, at)
	}
	assertUTC(t, "flag note", gotFlag.Notes[0].At)
}

func assertUTC(t *testing.T, what string, at time.Time) {
	t.Helper()
	if at.Location() != time.UTC {
		t.Errorf("%s %v is not in UTC", what, at)
	}
}

// TestAsStored: every time in a value, at any depth, comes back as
// store.Millis keeps it, in a copy; the value given is not changed, and
// nil stays nil.
func TestAsStored(t *testing.T) {
	t.Parallel()
	fine := time.Date(2026, 3, 10, 7, 0, 0, 123456789, time.FixedZone("UTC-5", -5*3600))
	kept := store.Millis(fine)
	in := models.Dose{ID: "d", ScheduledAt: fine, TakenAt: &fine,
		History: []models.DoseEvent{{At: fine, TakenAt: &fine}}}
	got := store.AsStored(in)
	want := models.Dose{ID: "d", ScheduledAt: kept, TakenAt: &kept,
		History: []models.DoseEvent{{At: kept, TakenAt: &kept}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AsStored (-want +got):\n%s", diff)
	}
	if in.ScheduledAt != fine || *in.TakenAt != fine || in.History[0].At != fine || *in.History[0].TakenAt != fine {
		t.Errorf("AsStored changed the value it was given: %+v", in)
	}
	if got.ScheduledAt.Location() != time.UTC || got.History[0].TakenAt.Location() != time.UTC {
		t.Errorf("AsStored left times outside UTC: %v, %v", got.ScheduledAt, got.History[0].TakenAt)
	}
	if n := store.AsStored(models.Notification{}); n.ExpiresAt != nil || n.Data != nil || n.Deliveries != nil {
		t.Errorf("AsStored of nil fields: %+v", n)
	}
	var none any
	if store.AsStored(none) != nil {
		t.Error("AsStored of a nil interface is not nil")
	}
	if m := store.AsStored(map[string]time.Time{"a": fine}); !m["a"].Equal(kept) || m["a"].Location() != time.UTC {
		t.Errorf("AsStored of a map: %v", m)
	}
}
