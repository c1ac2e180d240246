package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/push/fcmfake"
)

// TestReminderEndToEnd is the "done when", as a new user would do
// it: Concord started with CONCORD_FCM_ENDPOINT at a local FCM-compatible
// server; a patient registers a device and a medicine due at the next
// whole minute; exactly one push arrives at its time and one inbox entry
// appears. Schedules have minute resolution, so this test waits for up to
// 65 seconds of real time (the scheduler ticks every 200ms); it runs in
// parallel with the others.
func TestReminderEndToEnd(t *testing.T) {
	t.Parallel()
	fake := fcmfake.New(t)
	vars := storeEnv(t, t.TempDir())
	vars["CONCORD_FCM_ENDPOINT"] = fake.URL()
	vars["CONCORD_SCHEDULER_INTERVAL"] = "200ms"
	in := start(t, vars)
	if _, ok := in.logs.find("push delivery through FCM"); !ok {
		t.Fatalf("start-up does not say it pushes through FCM\nlog:\n%s", in.logs)
	}

	reg := in.register(t, "rae@example.org", "correct horse battery")
	token := "e2e-registration-token-0123456789abcdef"
	if status, body := in.call(t, http.MethodPost, "/v1/me/devices", reg.AccessToken, map[string]string{"token": token, "platform": "android"}); status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("register device: status %d; body %s", status, body)
	}
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	// The next whole minute at least 5 seconds ahead.
	due := time.Now().Add(5 * time.Second)
	if rounded := due.Truncate(time.Minute); rounded.Before(due) {
		due = rounded.Add(time.Minute)
	}
	local := due.In(london)
	status, body := in.call(t, http.MethodPost, "/v1/patients/me/medications", reg.AccessToken, map[string]any{
		"name": "Ramipril", "strength": "5 mg",
		"schedule": map[string]any{"times": []string{local.Format("15:04")}, "startDate": local.Format("2006-01-02")},
	})
	if status != http.StatusCreated {
		t.Fatalf("create medication: status %d; body %s", status, body)
	}

	// Watch the fake until a few ticks after the first push.
	var firstAt time.Time
	deadline := due.Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if firstAt.IsZero() && len(fake.Delivered()) > 0 {
			firstAt = time.Now()
			deadline = firstAt.Add(2 * time.Second)
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := fake.Delivered()
	if len(got) != 1 {
		t.Fatalf("%d pushes, want exactly 1: %+v\nlog:\n%s", len(got), got, in.logs)
	}
	if firstAt.Before(due) || firstAt.After(due.Add(5*time.Second)) {
		t.Errorf("pushed at %s, want at %s (within a few ticks)", firstAt.Format(time.StampMilli), due.Format(time.StampMilli))
	}
	id := "dose_reminder:" + reg.User.ID + ":" + local.Format("2006-01-02T15:04")
	m := got[0]
	var med struct{ ID string }
	if err := json.Unmarshal(body, &med); err != nil {
		t.Fatal(err)
	}
	dose := med.ID + ":" + local.Format("2006-01-02T15:04")
	if diff := cmp.Diff(map[string]string{"notificationId": id, "kind": "dose_reminder", "doseIds": dose}, m.Data); diff != "" {
		t.Errorf("push data (-want +got):\n%s", diff)
	}
	if want := "Time for your " + local.Format("15:04") + " medicines"; m.Body != want || m.Token != token || m.AndroidPriority != "high" {
		t.Errorf("push: body %q token %q priority %q; want %q to the device, high", m.Body, m.Token, m.AndroidPriority, want)
	}
	if strings.Contains(string(m.Raw), "Ramipril") {
		t.Errorf("the push names the medicine: %s", m.Raw)
	}

	status, body = in.call(t, http.MethodGet, "/v1/me/notifications", reg.AccessToken, nil)
	if status != http.StatusOK {
		t.Fatalf("inbox: status %d; body %s", status, body)
	}
	var inbox struct {
		Items []struct {
			ID    string    `json:"id"`
			Kind  string    `json:"kind"`
			State string    `json:"state"`
			DueAt time.Time `json:"dueAt"`
		} `json:"items"`
	}
	decodeJSON(t, "inbox", body, &inbox)
	if len(inbox.Items) != 1 || inbox.Items[0].ID != id || inbox.Items[0].Kind != "dose_reminder" || inbox.Items[0].State != "sent" || !inbox.Items[0].DueAt.Equal(due) {
		t.Errorf("inbox: %s; want one sent dose_reminder %s due %s", body, id, due.Format(time.RFC3339))
	}
	if strings.Contains(in.logs.String(), "Ramipril") {
		t.Error("the log names the medicine")
	}
}
