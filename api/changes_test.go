package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
)

// feedEntry is one change as a device reads it.
type feedEntry struct {
	Kind      string          `json:"kind"`
	ID        string          `json:"id"`
	UpdatedAt time.Time       `json:"updatedAt"`
	Deleted   bool            `json:"deleted"`
	Reading   json.RawMessage `json:"reading"`
	Dose      *models.Dose    `json:"dose"`
}

type feedPage struct {
	Changes []feedEntry `json:"changes"`
	Next    string      `json:"next"`
	HasMore bool        `json:"hasMore"`
	Reset   bool        `json:"reset"`
}

// device is a phone's local copy of a patient's data, kept by the feed.
type device struct {
	token   string
	records map[string]feedEntry // kind/id → the newest entry applied
}

// sync catches the device up (every page, limit a page) and returns the
// pages it read.
func (d *device) sync(t *testing.T, h *harness, a account, patient string, limit int) []feedPage {
	t.Helper()
	var pages []feedPage
	for {
		q := url.Values{"limit": {fmt.Sprint(limit)}}
		if d.token != "" {
			q.Set("since", d.token)
		}
		r := h.do(t, "GET", "/v1/patients/"+patient+"/changes?"+q.Encode(), a.Access, nil)
		if r.status != http.StatusOK {
			t.Fatalf("sync: %d %s", r.status, r.body)
		}
		p := decodeJSON[feedPage](t, r)
		if p.Reset {
			d.records = map[string]feedEntry{}
		}
		for _, e := range p.Changes {
			key := e.Kind + "/" + e.ID
			// Apply only what is as new as the copy held (ties: the later
			// entry of the feed wins).
			if held, ok := d.records[key]; !ok || !e.UpdatedAt.Before(held.UpdatedAt) {
				d.records[key] = e
			}
		}
		d.token = p.Next
		pages = append(pages, p)
		if !p.HasMore {
			return pages
		}
	}
}

// live returns the device's records that are not deleted, by kind/id,
// with their updatedAt.
func (d *device) live() map[string]time.Time {
	out := map[string]time.Time{}
	for k, e := range d.records {
		if !e.Deleted {
			out[k] = e.UpdatedAt
		}
	}
	return out
}

func weightReading(n int, at time.Time) map[string]any {
	return map[string]any{"id": fmt.Sprintf("0192b7a0-0000-7000-8000-%012d", n), "type": "weight", "unit": "kg",
		"value": 70 + float64(n)/10, "takenAt": at.Format(time.RFC3339)}
}

// TestChangeFeedTwoDevicesAgree: two phones of one patient edit offline,
// then sync, and hold the same data, which is the server's; deletions
// arrive as deleted entries (a removed reading, dose tombstones after a
// schedule change); pages of 2 cover what one page does, each entry once;
// a carer sees what their scopes allow.
func TestChangeFeedTwoDevicesAgree(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pat := h.register(t, "sync@example.org", "patient")
	phoneB := h.loginAs(t, "sync@example.org", "correct horse battery")
	a, b := &device{}, &device{}
	if p := a.sync(t, h, pat, "me", 50); !p[0].Reset || len(p[0].Changes) != 0 {
		t.Fatalf("first sync of an empty account: %+v", p)
	}
	b.sync(t, h, phoneB, "me", 50)

	// Offline, each phone records readings; A also adds a medicine. Then
	// both upload.
	taken := harnessStart.Add(-time.Hour)
	if r := h.do(t, "POST", "/v1/patients/me/readings/batch", pat.Access, map[string]any{"readings": []any{
		weightReading(1, taken), weightReading(2, taken.Add(time.Minute)), weightReading(3, taken.Add(2*time.Minute))}}); r.status != http.StatusOK {
		t.Fatalf("A uploads: %d %s", r.status, r.body)
	}
	med := h.addMedication(t, pat, map[string]any{"name": "Ramipril", "schedule": map[string]any{"times": []string{"10:00", "20:00"}, "startDate": "2026-11-25"}})
	h.clock.Advance(time.Second)
	if r := h.do(t, "POST", "/v1/patients/me/readings/batch", phoneB.Access, map[string]any{"readings": []any{
		weightReading(4, taken), weightReading(5, taken.Add(3*time.Minute))}}); r.status != http.StatusOK {
		t.Fatalf("B uploads: %d %s", r.status, r.body)
	}
	h.clock.Advance(time.Second)
	a.sync(t, h, pat, "me", 50)
	b.sync(t, h, phoneB, "me", 50)
	if diff := cmp.Diff(a.live(), b.live()); diff != "" {
		t.Fatalf("after the uploads the phones differ (-A +B):\n%s", diff)
	}
	h.checkFeedMatchesServer(t, pat, a)

	// A deletes one of B's readings and moves the medicine's evening dose:
	// future pending doses are deleted and planned again.
	if r := h.do(t, "DELETE", "/v1/patients/me/readings/"+weightReading(4, taken)["id"].(string), pat.Access, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete reading: %d %s", r.status, r.body)
	}
	h.clock.Advance(time.Second)
	if r := h.do(t, "PATCH", "/v1/patients/me/medications/"+med.ID, pat.Access,
		map[string]any{"schedule": map[string]any{"times": []string{"10:00", "21:00"}, "startDate": "2026-11-25"}}); r.status != http.StatusOK {
		t.Fatalf("move the dose: %d %s", r.status, r.body)
	}
	h.clock.Advance(time.Minute) // past the settle window: the next sync is short
	pages := b.sync(t, h, phoneB, "me", 50)
	var deletedReading, tombstones int
	for _, e := range pages[0].Changes {
		switch {
		case e.Kind == "reading" && e.Deleted:
			deletedReading++
		case e.Kind == "dose" && e.Deleted && e.Dose == nil:
			tombstones++
		}
	}
	if deletedReading != 1 || tombstones == 0 {
		t.Fatalf("B's sync after the deletions: %d deleted readings, %d dose tombstones: %+v", deletedReading, tombstones, pages[0].Changes)
	}
	a.sync(t, h, pat, "me", 50)
	if diff := cmp.Diff(a.live(), b.live()); diff != "" {
		t.Fatalf("after the deletions the phones differ (-A +B):\n%s", diff)
	}
	h.checkFeedMatchesServer(t, pat, b)

	// Nothing changed since: a sync past the settle window is empty.
	h.clock.Advance(time.Minute)
	if p := b.sync(t, h, phoneB, "me", 50); len(p) != 1 || len(p[0].Changes) != 0 || p[0].Reset {
		t.Fatalf("a sync with nothing new: %+v", p)
	}

	// Paging: a new phone syncing 2 at a time gets what one page gives,
	// each entry once.
	c := &device{}
	paged := c.sync(t, h, pat, "me", 2)
	seen := map[string]bool{}
	for _, p := range paged {
		if len(p.Changes) > 2 {
			t.Fatalf("a page of %d", len(p.Changes))
		}
		for _, e := range p.Changes {
			if k := e.Kind + "/" + e.ID; seen[k] {
				t.Errorf("%s sent twice in one catch-up", k)
			} else {
				seen[k] = true
			}
		}
	}
	if len(paged) < 3 {
		t.Fatalf("only %d pages", len(paged))
	}
	if diff := cmp.Diff(a.live(), c.live()); diff != "" {
		t.Fatalf("the paged phone differs (-A +C):\n%s", diff)
	}

	// A carer with view_readings only: readings, their own link, no
	// medicines or doses.
	carer := h.register(t, "sync-carer@example.org", "carer")
	h.linkCarer(t, pat, carer, models.ScopeViewReadings)
	cd := &device{}
	cd.sync(t, h, carer, pat.ID, 500)
	kinds := map[string]int{}
	for k := range cd.live() {
		kinds[k[:len(k)-len(cd.records[k].ID)-1]]++
	}
	if kinds["reading"] != 4 || kinds["careLink"] != 1 || kinds["medication"] != 0 || kinds["dose"] != 0 {
		t.Fatalf("the carer's feed: %v", kinds)
	}
	// A bad token names the field.
	if r := h.do(t, "GET", "/v1/patients/me/changes?since=nonsense", pat.Access, nil); r.status != http.StatusBadRequest || !slices.Equal(r.fields(t), []string{"since"}) {
		t.Fatalf("bad token: %d %s", r.status, r.body)
	}
}

// checkFeedMatchesServer: the device's live readings, medicines and doses
// are the server's, each at its updatedAt.
func (h *harness) checkFeedMatchesServer(t *testing.T, a account, d *device) {
	t.Helper()
	want := map[string]time.Time{}
	for _, r := range decodeJSON[struct{ Items []models.Reading }](t, h.do(t, "GET", "/v1/patients/me/readings?limit=200", a.Access, nil)).Items {
		want["reading/"+r.ID] = r.UpdatedAt
	}
	for _, m := range decodeJSON[struct{ Items []models.Medication }](t, h.do(t, "GET", "/v1/patients/me/medications", a.Access, nil)).Items {
		want["medication/"+m.ID] = m.UpdatedAt
	}
	q := "?from=" + url.QueryEscape("2026-11-20T00:00:00Z") + "&to=" + url.QueryEscape("2026-12-15T00:00:00Z")
	doses := h.do(t, "GET", "/v1/patients/me/doses"+q, a.Access, nil)
	if doses.status != http.StatusOK {
		t.Fatalf("list doses: %d %s", doses.status, doses.body)
	}
	for _, ds := range decodeJSON[struct{ Items []models.Dose }](t, doses).Items {
		want["dose/"+ds.ID] = ds.UpdatedAt
	}
	got := map[string]time.Time{}
	for k, at := range d.live() {
		if k[:len("careLink")] != "careLink" && k[:len("notification")] != "notification" {
			got[k] = at
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("the device differs from the server (-server +device):\n%s", diff)
	}
}
