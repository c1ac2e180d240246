package store_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store/storetest"
)

// The reads the reminder scheduler makes across patients: every active
// medication, many users at once, every overdue pending dose.
func TestSchedulerReads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)

	for _, m := range []models.Medication{
		{ID: "m3", PatientID: "p2", Name: "A", Status: models.MedicationActive, CreatedAt: doseEpoch, UpdatedAt: doseEpoch},
		{ID: "m1", PatientID: "p1", Name: "B", Status: models.MedicationActive, CreatedAt: doseEpoch, UpdatedAt: doseEpoch},
		{ID: "m2", PatientID: "p1", Name: "C", Status: models.MedicationStopped, StoppedAt: &doseEpoch, CreatedAt: doseEpoch, UpdatedAt: doseEpoch},
		{ID: "m0", PatientID: "p2", Name: "D", Status: models.MedicationActive, CreatedAt: doseEpoch, UpdatedAt: doseEpoch},
	} {
		if err := s.Medications().Create(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	meds, err := s.Medications().ListActive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range meds {
		ids = append(ids, m.ID)
	}
	if diff := cmp.Diff([]string{"m1", "m0", "m3"}, ids); diff != "" {
		t.Errorf("active medications by patient (-want +got):\n%s", diff)
	}

	for _, id := range []string{"u1", "u2", "u3"} {
		if err := s.Users().Create(ctx, models.User{ID: id, Email: id + "@example.org", Role: models.RolePatient}); err != nil {
			t.Fatal(err)
		}
	}
	users, err := s.Users().GetMany(ctx, []string{"u3", "gone", "u1"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, u := range users {
		got[u.ID] = true
	}
	if diff := cmp.Diff(map[string]bool{"u1": true, "u3": true}, got); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	if none, err := s.Users().GetMany(ctx, nil); err != nil || len(none) != 0 {
		t.Errorf("no ids: %v %v", none, err)
	}

	taken := testDose("m", 0)
	taken.Status = models.DoseTaken
	other := testDose("n", 1)
	other.PatientID = "p2"
	if _, err := s.Doses().InsertMissing(ctx, []models.Dose{testDose("m", 2), taken, other, testDose("m", 1), testDose("m", 3)}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		limit int
		want  []string
	}{
		{10, []string{testDose("m", 1).ID, other.ID, testDose("m", 2).ID}},
		{2, []string{testDose("m", 1).ID, other.ID}},
	} {
		doses, err := s.Doses().ListPendingBefore(ctx, doseEpoch.AddDate(0, 0, 2), tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range doses {
			ids = append(ids, d.ID)
		}
		if diff := cmp.Diff(tt.want, ids); diff != "" {
			t.Errorf("pending doses up to day 2, limit %d (-want +got):\n%s", tt.limit, diff)
		}
	}
}
