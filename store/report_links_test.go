package store_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store/storetest"
)

// TestReportLinks: links are found by token hash and, for their patient
// only, by public id; listed newest first; counted live until revoked or
// expired; revoked once; a taken hash or id conflicts; and erasing the
// patient takes their links and leaves another patient's.
func TestReportLinks(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	at := time.Date(2026, 11, 25, 9, 0, 0, 123_456_789, time.UTC)
	link := func(hash, id, patient string, created time.Time, ttl time.Duration) models.ReportLink {
		return models.ReportLink{TokenHash: hash, ID: id, PatientID: patient, Days: 28, CreatedAt: created, ExpiresAt: created.Add(ttl)}
	}
	older := link("h1", "l1", "p1", at, 24*time.Hour)
	newer := link("h2", "l2", "p1", at.Add(time.Hour), 14*24*time.Hour)
	theirs := link("h3", "l3", "p2", at, 24*time.Hour)
	for _, l := range []models.ReportLink{older, newer, theirs} {
		if err := s.ReportLinks().Create(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	for _, dup := range []models.ReportLink{link("h1", "l9", "p1", at, time.Hour), link("h9", "l1", "p1", at, time.Hour)} {
		if err := s.ReportLinks().Create(ctx, dup); models.ErrorCode(err) != models.CodeConflict {
			t.Errorf("create %s/%s: %v, want conflict", dup.TokenHash, dup.ID, err)
		}
	}
	got, err := s.ReportLinks().ByTokenHash(ctx, "h2")
	want := newer
	want.CreatedAt, want.ExpiresAt = want.CreatedAt.Truncate(time.Millisecond), want.ExpiresAt.Truncate(time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ByTokenHash (-want +got):\n%s", diff)
	}
	if _, err := s.ReportLinks().ByTokenHash(ctx, "nope"); models.ErrorCode(err) != models.CodeNotFound {
		t.Errorf("unknown hash: %v, want not_found", err)
	}
	if _, err := s.ReportLinks().Get(ctx, "p2", "l1"); models.ErrorCode(err) != models.CodeNotFound {
		t.Errorf("another patient's link: %v, want not_found", err)
	}
	if got, err := s.ReportLinks().Get(ctx, "p1", "l1"); err != nil || got.TokenHash != "h1" {
		t.Errorf("Get: %+v %v", got, err)
	}
	list, err := s.ReportLinks().OfPatient(ctx, "p1", 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range list {
		ids = append(ids, l.ID)
	}
	if diff := cmp.Diff([]string{"l2", "l1"}, ids); diff != "" {
		t.Errorf("OfPatient (-want +got):\n%s", diff)
	}
	live := func(now time.Time) int {
		t.Helper()
		n, err := s.ReportLinks().CountLive(ctx, "p1", now)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := live(at.Add(2 * time.Hour)); n != 2 {
		t.Errorf("live: %d, want 2", n)
	}
	if n := live(at.Add(24 * time.Hour)); n != 1 {
		t.Errorf("live once the first expired: %d, want 1", n)
	}
	if ok, err := s.ReportLinks().Revoke(ctx, "p2", "l2", at); err != nil || ok {
		t.Errorf("another patient revokes: %v %v, want false", ok, err)
	}
	if ok, err := s.ReportLinks().Revoke(ctx, "p1", "l2", at.Add(3*time.Hour)); err != nil || !ok {
		t.Fatalf("revoke: %v %v", ok, err)
	}
	if ok, err := s.ReportLinks().Revoke(ctx, "p1", "l2", at.Add(4*time.Hour)); err != nil || ok {
		t.Errorf("revoke again: %v %v, want false", ok, err)
	}
	got, err = s.ReportLinks().ByTokenHash(ctx, "h2")
	if err != nil || got.RevokedAt == nil || !got.RevokedAt.Equal(at.Add(3*time.Hour).Truncate(time.Millisecond)) ||
		got.StatusAt(at) != models.ReportLinkRevoked {
		t.Errorf("revoked link: %+v %v", got, err)
	}
	if n := live(at.Add(2 * time.Hour)); n != 1 {
		t.Errorf("live after revoking one: %d, want 1", n)
	}

	// Purging: links expired before the bound go, at most limit a call.
	if n, err := s.ReportLinks().PurgeExpired(ctx, at.Add(24*time.Hour), 10); err != nil || n != 0 {
		t.Errorf("purge before any expired: %d %v, want 0", n, err)
	}
	extra := link("h4", "l4", "p3", at.Add(-48*time.Hour), time.Hour)
	if err := s.ReportLinks().Create(ctx, extra); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ReportLinks().PurgeExpired(ctx, at.Add(25*time.Hour), 1); err != nil || n != 1 {
		t.Errorf("purge with limit 1: %d %v, want 1", n, err)
	}
	// Three had expired (h1 and h3 a day after `at`, h4 before it).
	if n, err := s.ReportLinks().PurgeExpired(ctx, at.Add(25*time.Hour), 10); err != nil || n != 2 {
		t.Errorf("purge again: %d %v, want 2 (the other expired ones)", n, err)
	}
	if _, err := s.ReportLinks().ByTokenHash(ctx, "h2"); err != nil {
		t.Errorf("a link expiring later: %v", err)
	}
	if err := s.ReportLinks().Create(ctx, older); err != nil { // back for the erasure below
		t.Fatal(err)
	}
	if err := s.ReportLinks().Create(ctx, theirs); err != nil {
		t.Fatal(err)
	}

	counts, err := s.ErasePerson(ctx, "p1", at)
	if err != nil {
		t.Fatal(err)
	}
	if counts["report_links"] != 2 {
		t.Errorf("erased %d report links, want 2 (%v)", counts["report_links"], counts)
	}
	if _, err := s.ReportLinks().ByTokenHash(ctx, "h1"); models.ErrorCode(err) != models.CodeNotFound {
		t.Errorf("erased patient's link: %v, want not_found", err)
	}
	if _, err := s.ReportLinks().ByTokenHash(ctx, "h3"); err != nil {
		t.Errorf("another patient's link: %v", err)
	}
}
