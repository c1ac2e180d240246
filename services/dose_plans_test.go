package services_test

import (
	"testing"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// TestPlanDue pins the one rule of a plan being current, which both
// DosePlanner and the scheduler's materialise step plan by: planned from what the
// medication is now, and either nothing ahead or reaching more than
// DoseHorizon-DoseReplanAfter ahead.
func TestPlanDue(t *testing.T) {
	t.Parallel()
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	now := utc(t, "2026-11-24T12:00:00Z")
	threshold := now.Add(services.DoseHorizon - services.DoseReplanAfter)
	active := models.Medication{ID: medID(1), PatientID: "pat", Status: models.MedicationActive, Schedule: daily("2026-11-01", "08:00")}
	stoppedAt := now.Add(-time.Hour)
	stopped := active
	stopped.Status, stopped.StoppedAt = models.MedicationStopped, &stoppedAt
	asNeeded := active
	asNeeded.Schedule = models.Schedule{AsNeeded: true}
	edited := active
	edited.Schedule = daily("2026-11-01", "09:00")
	tests := []struct {
		name        string
		m           models.Medication
		loc         *time.Location
		fingerprint string
		through     time.Time
		want        bool
	}{
		{"never planned", active, london, "", time.Time{}, true},
		{"current, reaching past the threshold", active, london, services.PlanFingerprint(active, london), threshold.Add(time.Millisecond), false},
		{"current, reaching exactly the threshold", active, london, services.PlanFingerprint(active, london), threshold, true},
		{"current, reaching less far", active, london, services.PlanFingerprint(active, london), threshold.Add(-time.Hour), true},
		{"schedule edited", edited, london, services.PlanFingerprint(active, london), now.Add(services.DoseHorizon), true},
		{"zone changed", active, time.UTC, services.PlanFingerprint(active, london), now.Add(services.DoseHorizon), true},
		{"stopped since planned", stopped, london, services.PlanFingerprint(active, london), now.Add(services.DoseHorizon), true},
		{"stopped and planned so: nothing ahead", stopped, london, services.PlanFingerprint(stopped, london), now.Add(-24 * time.Hour), false},
		{"as needed: nothing ahead", asNeeded, london, services.PlanFingerprint(asNeeded, london), time.Time{}, false},
	}
	for _, tt := range tests {
		if got := services.PlanDue(tt.m, tt.loc, tt.fingerprint, tt.through, now); got != tt.want {
			t.Errorf("%s: PlanDue = %v, want %v", tt.name, got, tt.want)
		}
	}
}
