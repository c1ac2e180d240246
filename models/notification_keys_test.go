package models_test

import (
	"testing"
	"time"

	"github.com/concord-health/concord/models"
)

// TestNotificationKeys pins every dedupe key's format: outboxes and inboxes
// hold these strings, so a change would announce an event twice (and a
// logged dose would no longer cancel its reminder).
func TestNotificationKeys(t *testing.T) {
	t.Parallel()
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, got, want string
		kind            models.NotificationKind
	}{
		{"dose reminder", models.DoseReminderID("pat1", "2026-03-29", "08:00"),
			"dose_reminder:pat1:2026-03-29T08:00", models.KindDoseReminder},
		{"dose follow-up", models.DoseFollowUpID("pat1", "2026-03-29", "08:00"),
			"dose_follow_up:pat1:2026-03-29T08:00", models.KindDoseFollowUp},
		{"refill reminder", models.RefillReminderID("med1", "2026-04-02"),
			"refill_reminder:med1:2026-04-02", models.KindRefillReminder},
		{"carer missed dose", models.CarerMissedDoseAlertID(models.DoseID("med1", "2026-03-29", "08:00"), "carer1"),
			"carer_missed_dose:med1:2026-03-29T08:00:carer1", models.KindCarerMissedDose},
		{"carer severe reading, start of the hour", models.CarerSevereReadingAlertID("pat1", "carer1", time.Date(2026, 3, 29, 14, 0, 0, 0, time.UTC)),
			"carer_severe_reading:pat1:carer1:2026-03-29T14:00Z", models.KindCarerSevereReading},
		{"carer severe reading, end of the hour", models.CarerSevereReadingAlertID("pat1", "carer1", time.Date(2026, 3, 29, 14, 59, 59, 999e6, time.UTC)),
			"carer_severe_reading:pat1:carer1:2026-03-29T14:00Z", models.KindCarerSevereReading},
		{"carer severe reading, local time in", models.CarerSevereReadingAlertID("pat1", "carer1", time.Date(2026, 7, 1, 9, 30, 0, 0, london)),
			"carer_severe_reading:pat1:carer1:2026-07-01T08:00Z", models.KindCarerSevereReading},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: key %q, want %q", tt.name, tt.got, tt.want)
		}
		if !models.ValidNotificationID(tt.got) {
			t.Errorf("%s: key %q is not a valid notification id", tt.name, tt.got)
		}
		if n := (models.Notification{ID: tt.got, RecipientID: "r", Kind: tt.kind, Title: "t", DueAt: time.Now()}); n.Validate() != nil {
			t.Errorf("%s: a notification with key %q does not validate: %v", tt.name, tt.got, n.Validate())
		}
	}
}
