package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
)

func TestDevices(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	alice := h.register(t, "alice@example.org", "patient")
	bob := h.register(t, "bob@example.org", "carer")
	const token = "fcm-registration-token-of-a-phone-0123456789"

	r := h.do(t, "POST", "/v1/me/devices", alice.Access, map[string]any{"token": token, "platform": "android"})
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	dev := r.json(t)
	id, _ := dev["id"].(string)
	if id != models.DeviceID(token) || dev["tokenHint"] != "fcm-re…" || dev["platform"] != "android" {
		t.Errorf("registered device: %s", r.body)
	}
	if strings.Contains(string(r.body), "0123456789") {
		t.Errorf("the response holds the token: %s", r.body)
	}

	// The same user again: 200, updated.
	h.clock.Advance(time.Minute)
	r = h.do(t, "POST", "/v1/me/devices", alice.Access, map[string]any{"token": token, "platform": "ios"})
	if r.status != http.StatusOK || r.json(t)["platform"] != "ios" {
		t.Errorf("re-register: %d %s", r.status, r.body)
	}
	r = h.do(t, "GET", "/v1/me/devices", alice.Access, nil)
	if r.status != http.StatusOK || strings.Contains(string(r.body), "0123456789") {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	var list struct {
		Items []struct {
			ID         string    `json:"id"`
			Platform   string    `json:"platform"`
			CreatedAt  time.Time `json:"createdAt"`
			LastSeenAt time.Time `json:"lastSeenAt"`
		} `json:"items"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].ID != id || list.Items[0].Platform != "ios" || !list.Items[0].LastSeenAt.After(list.Items[0].CreatedAt) {
		t.Errorf("alice's devices: %s", r.body)
	}

	// Another user registers the same token (the phone changed hands):
	// it moves.
	if r := h.do(t, "POST", "/v1/me/devices", bob.Access, map[string]any{"token": token, "platform": "android"}); r.status != http.StatusCreated {
		t.Fatalf("bob registers: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", "/v1/me/devices", alice.Access, nil); !strings.Contains(string(r.body), `"items":[]`) {
		t.Errorf("alice still has the device: %s", r.body)
	}
	// Someone else's device: 404, and it stays.
	if r := h.do(t, "DELETE", "/v1/me/devices/"+id, alice.Access, nil); r.status != http.StatusNotFound || r.problemCode(t) != "not_found" {
		t.Errorf("alice deletes bob's device: %d %s", r.status, r.body)
	}
	if r := h.do(t, "DELETE", "/v1/me/devices/"+id, bob.Access, nil); r.status != http.StatusNoContent {
		t.Errorf("bob deletes his device: %d %s", r.status, r.body)
	}
	if r := h.do(t, "DELETE", "/v1/me/devices/"+id, bob.Access, nil); r.status != http.StatusNotFound {
		t.Errorf("delete again: %d %s", r.status, r.body)
	}

	invalid := []struct {
		name   string
		body   any
		fields []string
	}{
		{"no token", map[string]any{"platform": "android"}, []string{"token"}},
		{"bad platform", map[string]any{"token": "abc", "platform": "symbian"}, []string{"platform"}},
		{"token with spaces", map[string]any{"token": "a b", "platform": "web"}, []string{"token"}},
		{"unknown field", map[string]any{"token": "abc", "platform": "web", "userId": bob.ID}, []string{"userId"}},
	}
	for _, tc := range invalid {
		r := h.do(t, "POST", "/v1/me/devices", alice.Access, tc.body)
		if r.status != http.StatusBadRequest || r.problemCode(t) != "invalid" {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
			continue
		}
		if diff := cmp.Diff(tc.fields, r.fields(t)); diff != "" {
			t.Errorf("%s: fields (-want +got):\n%s", tc.name, diff)
		}
	}
	for _, path := range []string{"/v1/me/devices", "/v1/me/notifications"} {
		if r := h.do(t, "GET", path, "", nil); r.status != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d", path, r.status)
		}
	}
}

func TestInbox(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	alice := h.register(t, "alice@example.org", "patient")
	bob := h.register(t, "bob@example.org", "patient")
	notes := h.notes
	ctx := context.Background()
	now := h.clock.Now()
	enqueue := func(id, recipient string, due time.Time) {
		t.Helper()
		if _, _, err := notes.Enqueue(ctx, models.Notification{ID: id, RecipientID: recipient, PatientID: recipient,
			Kind: models.KindDoseReminder, Title: "Medicines", Body: "Time for your medicines", Urgent: true, DueAt: due}); err != nil {
			t.Fatal(err)
		}
	}
	enqueue("dose_reminder:a1:2026-11-25T07:00", alice.ID, now.Add(-2*time.Hour))
	enqueue("dose_reminder:a2:2026-11-25T08:00", alice.ID, now.Add(-time.Hour))
	enqueue("dose_reminder:a3:2026-11-25T08:00", alice.ID, now.Add(-time.Hour))  // same due time: ordered by id
	enqueue("dose_reminder:a4:2026-11-25T12:00", alice.ID, now.Add(3*time.Hour)) // not due yet
	enqueue("dose_reminder:a5:2026-11-25T06:00", alice.ID, now.Add(-3*time.Hour))
	if ok, err := notes.Cancel(ctx, "dose_reminder:a5:2026-11-25T06:00", "dose_logged"); err != nil || !ok {
		t.Fatalf("cancel: %v %v", ok, err)
	}
	enqueue("dose_reminder:b1:2026-11-25T08:00", bob.ID, now.Add(-time.Hour))

	type page struct {
		Items []struct {
			ID     string            `json:"id"`
			Kind   string            `json:"kind"`
			State  string            `json:"state"`
			Data   map[string]string `json:"data"`
			ReadAt *time.Time        `json:"readAt"`
		} `json:"items"`
		NextCursor string `json:"nextCursor"`
	}
	get := func(acc account, query string) page {
		t.Helper()
		r := h.do(t, "GET", "/v1/me/notifications"+query, acc.Access, nil)
		if r.status != http.StatusOK {
			t.Fatalf("inbox%s: %d %s", query, r.status, r.body)
		}
		var p page
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ids := func(p page) []string {
		var out []string
		for _, it := range p.Items {
			out = append(out, it.ID)
		}
		return out
	}

	first := get(alice, "?limit=2")
	if diff := cmp.Diff([]string{"dose_reminder:a3:2026-11-25T08:00", "dose_reminder:a2:2026-11-25T08:00"}, ids(first)); diff != "" || first.NextCursor == "" {
		t.Errorf("first page (-want +got):\n%s\ncursor %q", diff, first.NextCursor)
	}
	second := get(alice, "?limit=2&cursor="+url.QueryEscape(first.NextCursor))
	if diff := cmp.Diff([]string{"dose_reminder:a1:2026-11-25T07:00"}, ids(second)); diff != "" || second.NextCursor != "" {
		t.Errorf("second page (-want +got):\n%s\ncursor %q", diff, second.NextCursor)
	}
	if it := first.Items[0]; it.Kind != "dose_reminder" || it.State != "pending" || it.Data["notificationId"] != it.ID {
		t.Errorf("inbox item: %+v", it)
	}
	if diff := cmp.Diff([]string{"dose_reminder:b1:2026-11-25T08:00"}, ids(get(bob, ""))); diff != "" {
		t.Errorf("bob's inbox (-want +got):\n%s", diff)
	}

	// Mark read: the id as is, and percent-encoded.
	read := "/v1/me/notifications/dose_reminder:a2:2026-11-25T08:00/read"
	for i := range 2 {
		if r := h.do(t, "POST", read, alice.Access, nil); r.status != http.StatusNoContent {
			t.Fatalf("mark read #%d: %d %s", i, r.status, r.body)
		}
	}
	encoded := "/v1/me/notifications/" + url.PathEscape("dose_reminder:a1:2026-11-25T07:00") + "/read"
	encoded = strings.ReplaceAll(encoded, ":", "%3A")
	if r := h.do(t, "POST", encoded, alice.Access, nil); r.status != http.StatusNoContent {
		t.Errorf("mark read (encoded %s): %d %s", encoded, r.status, r.body)
	}
	all := get(alice, "")
	readIDs := map[string]bool{}
	for _, it := range all.Items {
		readIDs[it.ID] = it.ReadAt != nil
	}
	want := map[string]bool{"dose_reminder:a1:2026-11-25T07:00": true, "dose_reminder:a2:2026-11-25T08:00": true, "dose_reminder:a3:2026-11-25T08:00": false}
	if diff := cmp.Diff(want, readIDs); diff != "" {
		t.Errorf("read marks (-want +got):\n%s", diff)
	}

	notFound := []struct{ name, path string }{
		{"someone else's", "/v1/me/notifications/dose_reminder:b1:2026-11-25T08:00/read"},
		{"not yet due", "/v1/me/notifications/dose_reminder:a4:2026-11-25T12:00/read"},
		{"cancelled", "/v1/me/notifications/dose_reminder:a5:2026-11-25T06:00/read"},
		{"missing", "/v1/me/notifications/dose_reminder:nope/read"},
	}
	for _, tc := range notFound {
		if r := h.do(t, "POST", tc.path, alice.Access, nil); r.status != http.StatusNotFound || r.problemCode(t) != "not_found" {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
	}
	for _, q := range []string{"?limit=0", "?limit=201", "?limit=x", "?cursor=not-a-cursor"} {
		if r := h.do(t, "GET", "/v1/me/notifications"+q, alice.Access, nil); r.status != http.StatusBadRequest || r.problemCode(t) != "invalid" {
			t.Errorf("inbox%s: %d %s", q, r.status, r.body)
		}
	}
}
