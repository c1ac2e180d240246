package store_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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
	st := storetest.New(t)
	f := st.Flags()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	flag := models.Flag{ID: models.FlagID("p1", models.RuleRunningOut, 1), PatientID: "p1", PharmacyID: "ph", Rule: models.RuleRunningOut, Seq: 1,
		Severity: models.SeverityHigh, Status: models.FlagOpen,
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
	if live := storetest.FlagRecord(t, st, flag.ID).Live; stored.Status != models.FlagResolved || live || len(stored.Notes) != 2 || len(stored.History) != 3 {
		t.Errorf("stored %+v, live %v", stored, live)
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
		Severity: models.SeverityHigh, Status: models.FlagOpen,
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

// TestFlagLiveFollowsTheRule: on insert, whatever the flag's status, and
// after every status change, a stored flag's live field
// (store.FlagRecord) is models.LiveFlag(status, has a follow-up date),
// claimed and closed flags with a follow-up date included, and its
// severity rank is its severity's; and LiveOfPatient, which filters on
// the stored value, returns exactly the flags the rule calls live.
func TestFlagLiveFollowsTheRule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	f := st.Flags()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	followUp := now.Add(7 * 24 * time.Hour)
	later := followUp.Add(time.Hour)
	var ids []string
	newFlag := func(rule models.FlagRuleID, status models.FlagStatus, followUpAt *time.Time) string {
		t.Helper()
		flag := models.Flag{ID: models.FlagID("p1", rule, 1), PatientID: "p1", PharmacyID: "ph", Rule: rule, Seq: 1,
			Severity: models.SeverityHigh, Status: status, FollowUpAt: followUpAt,
			Notes: []models.FlagNote{}, History: []models.FlagEvent{{At: now, Event: models.FlagEventRaised}}, QueuedAt: now, CreatedAt: now, UpdatedAt: now}
		if err := f.Insert(ctx, flag); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, flag.ID)
		return flag.ID
	}
	// check fails unless the flag is in the status, with a follow-up date
	// or not, that the step led to, and its stored live is the rule's.
	check := func(step, id string, status models.FlagStatus, hasFollowUp bool) {
		t.Helper()
		got, err := f.Get(ctx, id)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if got.Status != status || (got.FollowUpAt != nil) != hasFollowUp {
			t.Fatalf("%s: status %s, follow-up %v; want %s, follow-up %v", step, got.Status, got.FollowUpAt, status, hasFollowUp)
		}
		rec := storetest.FlagRecord(t, st, id)
		if want := models.LiveFlag(got.Status, got.FollowUpAt != nil); rec.Live != want {
			t.Errorf("%s: stored live %v, models.LiveFlag says %v", step, rec.Live, want)
		}
		if rec.SeverityRank != got.Severity.Rank() {
			t.Errorf("%s: stored severity rank %d, %s's is %d", step, rec.SeverityRank, got.Severity, got.Severity.Rank())
		}
	}
	must := func(step string, ok bool, err error) {
		t.Helper()
		if err != nil || !ok {
			t.Fatalf("%s: %v %v, want true", step, ok, err)
		}
	}

	// Claimed, resolved with a follow-up, reopened, claimed again and closed.
	a := newFlag(models.RuleRunningOut, models.FlagOpen, nil)
	check("insert open", a, models.FlagOpen, false)
	ok, err := f.Claim(ctx, a, "b", now)
	must("claim", ok, err)
	check("claimed", a, models.FlagClaimed, false)
	ok, err = f.Resolve(ctx, a, "b", models.OutcomeAdviceGiven, "n", &followUp, now)
	must("resolve with a follow-up", ok, err)
	check("resolved with a follow-up", a, models.FlagResolved, true)
	stored, err := f.Get(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	ok, err = f.ReopenFollowUp(ctx, stored, later)
	must("reopen the follow-up", ok, err)
	check("reopened", a, models.FlagOpen, true)
	ok, err = f.Claim(ctx, a, "b", later)
	must("claim the reopened flag", ok, err)
	check("claimed with a follow-up", a, models.FlagClaimed, true)
	ok, err = f.Close(ctx, a, models.FlagClosedConsentWithdrawn, later)
	must("close", ok, err)
	check("closed with a follow-up", a, models.FlagClosed, true)

	// Resolved with a follow-up, reopened by new evidence, resolved for good.
	b := newFlag(models.RuleMissedStreak, models.FlagOpen, nil)
	ok, err = f.Resolve(ctx, b, "b", models.OutcomeAdviceGiven, "n", &followUp, now)
	must("resolve b with a follow-up", ok, err)
	ok, err = f.Refire(ctx, b, models.FlagEvidence{Criterion: "missed_streak"}, "k2", models.SeverityHigh, now,
		models.FlagEvent{At: now, Event: models.FlagEventReopened}, true)
	must("refire with reopen", ok, err)
	check("reopened by new evidence", b, models.FlagOpen, true)
	ok, err = f.Resolve(ctx, b, "b", models.OutcomeAdviceGiven, "n", nil, now)
	must("resolve b for good", ok, err)
	check("resolved without a follow-up", b, models.FlagResolved, false)

	// Inserted resolved with a follow-up, then closed.
	c := newFlag(models.RuleLowAdherence, models.FlagResolved, &followUp)
	check("insert resolved with a follow-up", c, models.FlagResolved, true)
	ok, err = f.Close(ctx, c, models.FlagClosedConsentWithdrawn, now)
	must("close c", ok, err)
	check("closed c", c, models.FlagClosed, true)

	// Inserted closed, and open again.
	d := newFlag(models.RuleNewMedicine, models.FlagClosed, nil)
	check("insert closed", d, models.FlagClosed, false)
	e := newFlag(models.RuleSevereReading, models.FlagOpen, nil)
	check("insert open again", e, models.FlagOpen, false)

	var want []string
	for _, id := range ids {
		got, err := f.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if models.LiveFlag(got.Status, got.FollowUpAt != nil) {
			want = append(want, id)
		}
	}
	live, err := f.LiveOfPatient(ctx, "p1", "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fl := range live {
		got = append(got, fl.ID)
	}
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("live flags of the patient (-want +got):\n%s", diff)
	}
}
