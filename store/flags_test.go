package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store/storetest"
)

// TestFlagSeqOnlyMovesForward: the recorded latest seq of a rule starts at
// 0, is created by the first record, and never moves back.
func TestFlagSeqOnlyMovesForward(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := storetest.New(t).Flags()
	check := func(want int) {
		t.Helper()
		got, err := f.LatestSeq(ctx, "p1", models.RuleMissedStreak)
		if err != nil || got != want {
			t.Fatalf("latest seq %d (%v), want %d", got, err, want)
		}
	}
	check(0)
	for _, step := range []struct{ record, want int }{{2, 2}, {1, 2}, {2, 2}, {3, 3}} {
		if err := f.RecordSeq(ctx, "p1", models.RuleMissedStreak, step.record); err != nil {
			t.Fatalf("record %d: %v", step.record, err)
		}
		check(step.want)
	}
	if got, _ := f.LatestSeq(ctx, "p1", models.RuleLowAdherence); got != 0 {
		t.Errorf("another rule's seq: %d", got)
	}
}

// TestFlagTransitions: the conditional writes only apply in the states
// they are for.
func TestFlagTransitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := storetest.New(t).Flags()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	flag := models.Flag{ID: models.FlagID("p1", models.RuleRunningOut, 1), PatientID: "p1", PharmacyID: "ph", Rule: models.RuleRunningOut, Seq: 1,
		Severity: models.SeverityHigh, SeverityRank: models.SeverityHigh.Rank(), Status: models.FlagOpen, Live: true,
		Notes: []models.FlagNote{}, History: []models.FlagEvent{{At: now, Event: models.FlagEventRaised}}, QueuedAt: now, CreatedAt: now, UpdatedAt: now}
	if err := f.Insert(ctx, flag); err != nil {
		t.Fatal(err)
	}
	if err := f.Insert(ctx, flag); models.ErrorCode(err) != models.CodeConflict {
		t.Fatalf("second insert: %v, want conflict", err)
	}
	steps := []struct {
		name string
		do   func() (bool, error)
		want bool
	}{
		{"resolve by b while open", func() (bool, error) { return f.Resolve(ctx, flag.ID, "b", models.OutcomeAdviceGiven, "n", nil, now) }, true},
		{"claim a resolved flag", func() (bool, error) { return f.Claim(ctx, flag.ID, "a", now) }, false},
		{"resolve it again", func() (bool, error) { return f.Resolve(ctx, flag.ID, "b", models.OutcomeAdviceGiven, "n", nil, now) }, false},
		{"close a flag that is not live", func() (bool, error) { return f.Close(ctx, flag.ID, "x", now) }, false},
		{"note on a resolved flag", func() (bool, error) {
			return f.AddNote(ctx, flag.ID, models.FlagNote{By: "b", At: now, Text: "later"}, 10)
		}, true},
	}
	for _, s := range steps {
		got, err := s.do()
		if err != nil || got != s.want {
			t.Errorf("%s: %v %v, want %v", s.name, got, err, s.want)
		}
	}
	stored, err := f.Get(ctx, flag.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != models.FlagResolved || stored.Live || len(stored.Notes) != 2 || len(stored.History) != 3 {
		t.Errorf("stored %+v", stored)
	}
}

// TestFlagNotesStopAtTheirCap: AddNote appends while the flag holds fewer
// than maxNotes notes, then reports false and changes nothing, also when
// notes race for the last places.
func TestFlagNotesStopAtTheirCap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := storetest.New(t).Flags()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	flag := models.Flag{ID: models.FlagID("p1", models.RuleRunningOut, 1), PatientID: "p1", PharmacyID: "ph", Rule: models.RuleRunningOut, Seq: 1,
		Severity: models.SeverityHigh, SeverityRank: models.SeverityHigh.Rank(), Status: models.FlagOpen, Live: true,
		Notes: []models.FlagNote{{By: "a", At: now, Text: "first"}}, History: []models.FlagEvent{{At: now, Event: models.FlagEventRaised}},
		QueuedAt: now, CreatedAt: now, UpdatedAt: now}
	if err := f.Insert(ctx, flag); err != nil {
		t.Fatal(err)
	}
	const maxNotes, tries = 3, 6
	var added atomic.Int32
	var wg sync.WaitGroup
	for i := range tries {
		wg.Go(func() {
			ok, err := f.AddNote(ctx, flag.ID, models.FlagNote{By: "b", At: now.Add(time.Duration(i) * time.Second), Text: "note"}, maxNotes)
			if err != nil {
				t.Error(err)
			}
			if ok {
				added.Add(1)
			}
		})
	}
	wg.Wait()
	if got := added.Load(); got != maxNotes-1 {
		t.Errorf("%d notes added to a flag holding 1 of %d, want %d", got, maxNotes, maxNotes-1)
	}
	stored, err := f.Get(ctx, flag.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Notes) != maxNotes || len(stored.History) != maxNotes {
		t.Errorf("stored %d notes and %d events, want %d of each", len(stored.Notes), len(stored.History), maxNotes)
	}
}
