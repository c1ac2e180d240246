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

// TestServiceEpisodes: an episode reads back as written (times to the
// millisecond, nothing worked out at read time stored); Replace is a
// compare-and-set on the version; a patient's episodes come newest first
// and the pharmacy's queue holds only active episodes by (due, id), those
// with nothing due last, page after page.
func TestServiceEpisodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	x := storetest.New(t).Services()
	at := time.Date(2026, 3, 10, 12, 0, 0, 123456789, time.UTC)
	due := func(d int) *time.Time { v := at.AddDate(0, 0, d); return &v }
	ep := func(id, patient string, created int, next *time.Time, status models.EpisodeStatus) models.ServiceEpisode {
		return models.ServiceEpisode{ID: id, PatientID: patient, PharmacyID: "ph", Service: models.ServiceKindNMS, Status: status,
			Stages:        []models.ServiceStage{{Stage: models.StageEngagement, DoneAt: &at, State: models.StageDone}, {Stage: models.StageIntervention, WindowFrom: "2026-03-17", WindowTo: "2026-03-24"}},
			Consultations: []models.Consultation{{ID: "1", Stage: models.StageEngagement, By: "pharm", ByName: "Priya", At: at, Outcome: models.OutcomeAdvice}},
			NextDue:       next, CreatedAt: at.Add(time.Duration(created) * time.Second), UpdatedAt: at, State: "active"}
	}
	eps := []models.ServiceEpisode{
		ep("e1", "p1", 1, due(14), models.EpisodeActive),
		ep("e2", "p1", 2, due(3), models.EpisodeActive),
		ep("e3", "p2", 3, nil, models.EpisodeActive),
		ep("e4", "p2", 4, due(1), models.EpisodeCompleted),
		ep("e5", "p3", 5, due(3), models.EpisodeActive),
	}
	for _, e := range eps {
		if err := x.Insert(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Insert(ctx, eps[0]); models.ErrorCode(err) != models.CodeConflict {
		t.Fatalf("second insert: %v, want conflict", err)
	}
	got, err := x.Get(ctx, "e1")
	if err != nil {
		t.Fatal(err)
	}
	want := store.EpisodeRecordOf(eps[0]).ServiceEpisode
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	if got.Consultations[0].ByName != "" || got.State != "" || !got.Stages[0].DoneAt.Equal(at.Truncate(time.Millisecond)) {
		t.Errorf("stored computed fields or exact times: %+v", got)
	}
	if _, err := x.Get(ctx, "nope"); models.ErrorCode(err) != models.CodeNotFound {
		t.Fatalf("get missing: %v", err)
	}

	next := got
	next.Version = 1
	next.Status = models.EpisodeCompleted
	if ok, err := x.Replace(ctx, next, 0); !ok || err != nil {
		t.Fatalf("replace at version 0: %v %v", ok, err)
	}
	if ok, err := x.Replace(ctx, next, 0); ok || err != nil {
		t.Fatalf("replace at a stale version: %v %v, want false", ok, err)
	}
	if g, _ := x.Get(ctx, "e1"); g.Version != 1 || g.Status != models.EpisodeCompleted {
		t.Fatalf("after replace: version %d status %s", g.Version, g.Status)
	}

	ids := func(es []models.ServiceEpisode) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	mine, err := x.OfPatient(ctx, "p2", 10)
	if err != nil || !cmp.Equal(ids(mine), []string{"e4", "e3"}) {
		t.Fatalf("p2's episodes %v (%v), want [e4 e3]", ids(mine), err)
	}
	var pages [][]string
	q := models.ServiceEpisodeQuery{PharmacyID: "ph", Limit: 2}
	for range 3 {
		page, err := x.Queue(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, ids(page))
		if len(page) < q.Limit {
			break
		}
		last := store.EpisodeRecordOf(page[len(page)-1])
		q.AfterDue, q.AfterID = &last.QueueAt, last.ID
	}
	if diff := cmp.Diff([][]string{{"e2", "e5"}, {"e3"}}, pages); diff != "" {
		t.Errorf("queue pages (-want +got):\n%s", diff)
	}
}
