package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/concord-health/concord/models"
)

// TestSnoozeDose: the "Snooze" action of a dose reminder. A pending dose
// is snoozed twice (15 minutes, then the default 10) and the third time
// refused with a problem saying why; bad minutes are refused naming the
// field. The snoozed reminder is pushed through the real Firebase SDK at
// its time, actionable (category, doseIds) and naming no medicine; logging
// the dose cancels the snooze still pending, and a logged dose cannot be
// snoozed. Another patient cannot snooze it (404; the access matrix
// covers carers and pharmacists).
func TestSnoozeDose(t *testing.T) {
	t.Parallel()
	h, fake := newHarnessPushing(t)
	ann := h.register(t, "ann@example.org", "patient")
	bob := h.register(t, "bob@example.org", "patient")
	const token = "anns-phone-token-0123456789"
	if r := h.do(t, "POST", "/v1/me/devices", ann.Access, map[string]any{"token": token, "platform": "ios"}); r.status != http.StatusCreated {
		t.Fatalf("device: %d %s", r.status, r.body)
	}
	med := h.addMedicine(t, ann, "Ramipril", nil) // 2026-11-25 09:00: the first dose is tomorrow 08:00
	dose := med + ":2026-11-26T08:00"
	path := "/v1/patients/me/doses/" + dose + "/snooze"
	h.later(t, 23*time.Hour+5*time.Minute, &ann, &bob) // 2026-11-26 08:05 (London is UTC in November)

	for _, bad := range []map[string]any{{"minutes": 9}, {"minutes": 61}, {"minutes": "ten"}} {
		if r := h.do(t, "POST", path, ann.Access, bad); r.status != http.StatusBadRequest || !strings.Contains(strings.Join(r.fields(t), ","), "minutes") {
			t.Errorf("snooze %v: %d %s, want 400 naming minutes", bad, r.status, r.body)
		}
	}
	if r := h.do(t, "POST", path, ann.Access, map[string]any{"mins": 10}); r.status != http.StatusBadRequest {
		t.Errorf("unknown field: %d %s, want 400", r.status, r.body)
	}
	if r := h.do(t, "POST", "/v1/patients/me/doses/"+dose+"/snooze", bob.Access, map[string]any{}); r.status != http.StatusNotFound {
		t.Errorf("another patient's dose: %d %s, want 404", r.status, r.body)
	}

	first := h.do(t, "POST", path, ann.Access, map[string]any{"minutes": 15})
	second := h.do(t, "POST", strings.Replace(path, ":", "%3A", 1), ann.Access, nil) // the default 10 minutes
	third := h.do(t, "POST", path, ann.Access, map[string]any{"minutes": 30})
	for i, c := range []struct {
		r        response
		snoozes  float64
		remindAt string
	}{{first, 1, "2026-11-26T08:20:00Z"}, {second, 2, "2026-11-26T08:15:00Z"}} {
		if c.r.status != http.StatusCreated {
			t.Fatalf("snooze %d: %d %s", i+1, c.r.status, c.r.body)
		}
		b := c.r.json(t)
		if b["doseId"] != dose || b["snoozes"] != c.snoozes || b["remindAt"] != c.remindAt || b["notificationId"] != models.DoseSnoozeID(dose, i+1) {
			t.Errorf("snooze %d: %s", i+1, c.r.body)
		}
	}
	if third.status != http.StatusConflict || third.problemCode(t) != "conflict" || !strings.Contains(third.json(t)["detail"].(string), "snoozed 2 times") {
		t.Errorf("third snooze: %d %s, want 409 saying it was snoozed twice", third.status, third.body)
	}

	// 08:16: the second snooze (08:15) is pushed, actionable and generic.
	h.clock.Set(time.Date(2026, 11, 26, 8, 16, 0, 0, time.UTC))
	if _, err := h.delivery.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	msgs := fake.MessagesFor(token)
	if len(msgs) != 1 {
		t.Fatalf("%d pushes at 08:16, want the one snoozed reminder: %+v", len(msgs), msgs)
	}
	m := msgs[0]
	if m.Data[models.DataKind] != "dose_snooze" || m.Data[models.DataDoseIDs] != dose || m.APNSAps["category"] != models.DoseReminderCategory ||
		m.Body != "Time for your 08:00 medicines" || strings.Contains(string(m.Raw), "Ramipril") {
		t.Errorf("snoozed reminder: data %v aps %v body %q", m.Data, m.APNSAps, m.Body)
	}

	// Taking the dose cancels the 08:20 snooze; a logged dose cannot be snoozed.
	if r := h.do(t, "POST", "/v1/patients/me/doses/"+dose+"/taken", ann.Access, nil); r.status != http.StatusOK {
		t.Fatalf("take: %d %s", r.status, r.body)
	}
	h.clock.Set(time.Date(2026, 11, 26, 8, 21, 0, 0, time.UTC))
	if _, err := h.delivery.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.MessagesFor(token)); n != 1 {
		t.Errorf("%d pushes after the dose was taken, want still 1", n)
	}
	rec, err := h.store.Notifications().Get(context.Background(), models.DoseSnoozeID(dose, 1))
	if err != nil || rec.State != models.NotificationCancelled || rec.CancelReason != "dose_logged" {
		t.Errorf("first snooze after taking: %+v %v, want cancelled (dose_logged)", rec.State, err)
	}
	h.later(t, 0, &ann)
	if r := h.do(t, "POST", path, ann.Access, nil); r.status != http.StatusConflict || !strings.Contains(r.json(t)["detail"].(string), "not pending") {
		t.Errorf("snooze a taken dose: %d %s, want 409 not pending", r.status, r.body)
	}
}
