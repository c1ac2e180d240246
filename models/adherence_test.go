package models_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
)

func adhFloat(v float64) *float64 { return &v }
func adhString(s string) *string  { return &s }

// TestComputeAdherence works one week through by hand.
//
// Patient in Europe/London (BST, UTC+1). now = Monday 2026-06-08 12:00 UTC
// (13:00 BST); window 7 days: (2026-06-01 12:00Z, 2026-06-08 12:00Z]; grace 2h.
//
// A "Amlodipine", 12:30 daily (11:30Z); stock 20.5 tablets, 1 a dose.
//
//	06-01 taken          11:30Z is before the window          → ignored
//	06-02 taken 11:35Z   on time                              → taken, on time
//	06-03 taken 13:00Z   90 min late                          → taken, late
//	06-04 skipped                                             → skipped
//	06-05 taken 11:30Z   on time                              → taken, on time
//	06-06 pending        11:30Z+2h ≤ now                      → missed
//	06-07 missed (stored)                                     → missed
//	06-08 pending        11:30Z, within grace at 12:00Z       → not due yet
//	due 6, taken 3, skipped 1, missed 2; adherence 3/6; on time 2/3;
//	days 06-02..06-07 = 6, fully taken 06-02, 06-03, 06-05 → PDC 3/6;
//	streak: 06-06, 06-07 missed → 2.
//	stock 20.5 ÷ (1 × 1/day) = 20.5 days → run-out 06-08 + 20 = 2026-06-28.
//
// B "Metformin", 08:00 and 20:00 daily (07:00Z, 19:00Z); stock 30, 1 a dose.
//
//	06-01 08:00 pending (07:00Z, before the window)           → ignored
//	06-01 20:00 taken 19:10Z  on time                          → day full
//	06-02 taken 07:05Z, 19:00Z  both on time                   → day full
//	06-03 taken 07:30Z, 21:30Z  second 2.5h late               → day full
//	06-04 taken 07:00Z; 20:00 pending → missed                 → day not full
//	06-05 08:00 skipped "felt sick"; 20:00 taken 19:20Z        → day not full
//	06-06 taken 07:10Z, 19:50Z  both on time                   → day full
//	06-07 taken 06:10Z (50 min early), 20:00Z (exactly 1h late: on time) → full
//	06-08 08:00 pending → missed (07:00Z+2h ≤ 12:00Z)          → day not full
//	06-08 20:00 pending, in the future                          → not due
//	due 1+12+1 = 14; taken 1+2+2+1+1+2+2 = 11; skipped 1; missed 2.
//	adherence 11/14; on time 10/11 (only 06-03 20:00 late);
//	days 06-01..06-08 = 8, full 06-01, 02, 03, 06, 07 = 5 → PDC 5/8;
//	streak: last due 06-08 08:00 missed, before it taken → 1.
//	stock 30 ÷ (1 × 2/day) = 15 days → run-out 2026-06-23.
//
// C "Salbutamol", as needed, two puffs taken on 06-03 and 06-05: never due,
// no figures; as needed, so no stock outlook either.
//
// Overall: due 6+14 = 20, taken 3+11 = 14, skipped 2, missed 4;
// adherence 14/20; on time (2+10)/14;
// days 06-01..06-08 = 8; full only where both medicines' due doses were all
// taken: 06-01 (B only), 06-02, 06-03 → PDC 3/8 (06-04 A skipped, 06-05 B
// skipped, 06-06 and 06-07 A missed, 06-08 B missed);
// missed streak = max(2, 1) = 2.
func TestComputeAdherence(t *testing.T) {
	london := schedZone(t, "Europe/London")
	now := schedUTC(t, "2026-06-08T12:00:00Z")
	meds := []models.Medication{
		{ID: "A", Name: "Amlodipine", Status: models.MedicationActive,
			Schedule: models.Schedule{Times: []string{"12:30"}, StartDate: "2026-05-01"},
			Stock:    &models.Stock{Quantity: 20.5, UnitsPerDose: 1, RefillLeadDays: 7}},
		{ID: "B", Name: "Metformin", Status: models.MedicationActive,
			Schedule: models.Schedule{Times: []string{"08:00", "20:00"}, StartDate: "2026-05-01"},
			Stock:    &models.Stock{Quantity: 30, UnitsPerDose: 1, RefillLeadDays: 7}},
		{ID: "C", Name: "Salbutamol", Status: models.MedicationActive,
			Schedule: models.Schedule{AsNeeded: true, StartDate: "2026-05-01"},
			Stock:    &models.Stock{Quantity: 200, UnitsPerDose: 2}},
	}

	type outcome struct {
		status  models.DoseStatus
		takenAt string
	}
	outcomes := map[string]outcome{
		"A:2026-06-01T12:30": {models.DoseTaken, "2026-06-01T11:30:00Z"},
		"A:2026-06-02T12:30": {models.DoseTaken, "2026-06-02T11:35:00Z"},
		"A:2026-06-03T12:30": {models.DoseTaken, "2026-06-03T13:00:00Z"},
		"A:2026-06-04T12:30": {models.DoseSkipped, ""},
		"A:2026-06-05T12:30": {models.DoseTaken, "2026-06-05T11:30:00Z"},
		"A:2026-06-07T12:30": {models.DoseMissed, ""},
		"B:2026-06-01T20:00": {models.DoseTaken, "2026-06-01T19:10:00Z"},
		"B:2026-06-02T08:00": {models.DoseTaken, "2026-06-02T07:05:00Z"},
		"B:2026-06-02T20:00": {models.DoseTaken, "2026-06-02T19:00:00Z"},
		"B:2026-06-03T08:00": {models.DoseTaken, "2026-06-03T07:30:00Z"},
		"B:2026-06-03T20:00": {models.DoseTaken, "2026-06-03T21:30:00Z"},
		"B:2026-06-04T08:00": {models.DoseTaken, "2026-06-04T07:00:00Z"},
		"B:2026-06-05T08:00": {models.DoseSkipped, ""},
		"B:2026-06-05T20:00": {models.DoseTaken, "2026-06-05T19:20:00Z"},
		"B:2026-06-06T08:00": {models.DoseTaken, "2026-06-06T07:10:00Z"},
		"B:2026-06-06T20:00": {models.DoseTaken, "2026-06-06T19:50:00Z"},
		"B:2026-06-07T08:00": {models.DoseTaken, "2026-06-07T06:10:00Z"},
		"B:2026-06-07T20:00": {models.DoseTaken, "2026-06-07T20:00:00Z"},
	}
	var doses []models.Dose
	for _, m := range meds[:2] {
		for _, d := range models.PlanDoses(m, london, schedUTC(t, "2026-06-01T00:00:00Z"), schedUTC(t, "2026-06-09T00:00:00Z")) {
			if o, ok := outcomes[d.ID]; ok {
				d.Status = o.status
				if o.takenAt != "" {
					d.TakenAt = dosePtr(schedUTC(t, o.takenAt))
				}
				if o.status == models.DoseSkipped {
					d.SkipReason = "felt sick"
				}
				delete(outcomes, d.ID)
			}
			doses = append(doses, d)
		}
	}
	if len(outcomes) != 0 {
		t.Fatalf("outcomes for doses that were not planned: %v", outcomes)
	}
	for _, at := range []string{"2026-06-03T10:00:00Z", "2026-06-05T16:00:00Z"} {
		d, err := models.NewAsNeededDose("c-"+at[:10], "p", "C", schedUTC(t, at), schedUTC(t, at), london)
		if err != nil {
			t.Fatal(err)
		}
		doses = append(doses, d)
	}
	if len(doses) != 8+16+2 {
		t.Fatalf("built %d doses, want 26 (8 of A, 16 of B, 2 of C)", len(doses))
	}

	want := models.Adherence{
		WindowDays: 7,
		From:       schedUTC(t, "2026-06-01T12:00:00Z"),
		To:         now,
		Overall: models.AdherenceFigures{
			Due: 20, Taken: 14, Skipped: 2, Missed: 4,
			DoseAdherence: adhFloat(14.0 / 20),
			PDC:           adhFloat(3.0 / 8),
			OnTime:        adhFloat(12.0 / 14),
			MissedStreak:  2,
		},
		Medications: []models.MedicationAdherence{
			{
				MedicationID: "A", Name: "Amlodipine",
				AdherenceFigures: models.AdherenceFigures{
					Due: 6, Taken: 3, Skipped: 1, Missed: 2,
					DoseAdherence: adhFloat(3.0 / 6),
					PDC:           adhFloat(3.0 / 6),
					OnTime:        adhFloat(2.0 / 3),
					MissedStreak:  2,
				},
				DaysOfStockLeft: adhFloat(20.5),
				RunOutDate:      adhString("2026-06-28"),
			},
			{
				MedicationID: "B", Name: "Metformin",
				AdherenceFigures: models.AdherenceFigures{
					Due: 14, Taken: 11, Skipped: 1, Missed: 2,
					DoseAdherence: adhFloat(11.0 / 14),
					PDC:           adhFloat(5.0 / 8),
					OnTime:        adhFloat(10.0 / 11),
					MissedStreak:  1,
				},
				DaysOfStockLeft: adhFloat(15),
				RunOutDate:      adhString("2026-06-23"),
			},
			{MedicationID: "C", Name: "Salbutamol"},
		},
	}
	got := models.ComputeAdherence(meds, doses, london, 7, now, models.DefaultDoseGrace)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ComputeAdherence() (-want +got):\n%s", diff)
	}
	// Both medicines are below the 80% review threshold; so is the whole.
	for _, m := range got.Medications[:2] {
		if !m.BelowReviewThreshold() {
			t.Errorf("%s: BelowReviewThreshold() = false, want true", m.Name)
		}
	}
}

func TestComputeAdherenceEdges(t *testing.T) {
	now := schedUTC(t, "2026-06-08T12:00:00Z")
	daily := models.Medication{ID: "A", Name: "Amlodipine", Status: models.MedicationActive,
		Schedule: models.Schedule{Times: []string{"08:00"}, StartDate: "2026-05-01"}}
	mwf := daily
	mwf.Stock = &models.Stock{Quantity: 9, UnitsPerDose: 1}
	mwf.Schedule.Times = []string{"08:00"}
	mwf.Schedule.DaysOfWeek = []string{"mon", "wed", "fri"}
	stopped := mwf
	stopped.Status = models.MedicationStopped
	stopped.StoppedAt = dosePtr(now.Add(-time.Hour))
	empty := daily
	empty.Stock = &models.Stock{Quantity: 0, UnitsPerDose: 1}

	tests := []struct {
		name       string
		med        models.Medication
		doses      []models.Dose
		windowDays int
		want       models.Adherence
	}{
		{
			name:       "nothing due: shares are nil, window defaults to 28 days",
			med:        daily,
			windowDays: 0,
			want: models.Adherence{
				WindowDays: 28, From: now.Add(-28 * 24 * time.Hour), To: now,
				Medications: []models.MedicationAdherence{{MedicationID: "A", Name: "Amlodipine"}},
			},
		},
		{
			name:       "window capped at a year",
			med:        daily,
			windowDays: 1000,
			want: models.Adherence{
				WindowDays: 365, From: now.Add(-365 * 24 * time.Hour), To: now,
				Medications: []models.MedicationAdherence{{MedicationID: "A", Name: "Amlodipine"}},
			},
		},
		{
			// 9 tablets at 3 doses a week (3/7 a day) last 21 days.
			name: "stock on three days a week",
			med:  mwf, windowDays: 7,
			want: models.Adherence{
				WindowDays: 7, From: now.Add(-7 * 24 * time.Hour), To: now,
				Medications: []models.MedicationAdherence{{MedicationID: "A", Name: "Amlodipine",
					DaysOfStockLeft: adhFloat(21), RunOutDate: adhString("2026-06-29")}},
			},
		},
		{
			name: "stopped medication has no stock outlook",
			med:  stopped, windowDays: 7,
			want: models.Adherence{
				WindowDays: 7, From: now.Add(-7 * 24 * time.Hour), To: now,
				Medications: []models.MedicationAdherence{{MedicationID: "A", Name: "Amlodipine"}},
			},
		},
		{
			name: "no stock left runs out today",
			med:  empty, windowDays: 7,
			want: models.Adherence{
				WindowDays: 7, From: now.Add(-7 * 24 * time.Hour), To: now,
				Medications: []models.MedicationAdherence{{MedicationID: "A", Name: "Amlodipine",
					DaysOfStockLeft: adhFloat(0), RunOutDate: adhString("2026-06-08")}},
			},
		},
		{
			// Taken but nothing on time, one day: adherence and PDC 1, on time 0.
			// The dose at exactly From is outside (the window is open there).
			name: "a late dose counts as taken, not on time",
			med:  daily,
			doses: []models.Dose{
				{ID: "A:x", MedicationID: "A", ScheduledAt: now.Add(-4 * time.Hour), LocalDate: "2026-06-08",
					Status: models.DoseTaken, TakenAt: dosePtr(now.Add(-2 * time.Hour))},
				{ID: "A:y", MedicationID: "A", ScheduledAt: now.Add(-7 * 24 * time.Hour), LocalDate: "2026-06-01",
					Status: models.DosePending},
			},
			windowDays: 7,
			want: models.Adherence{
				WindowDays: 7, From: now.Add(-7 * 24 * time.Hour), To: now,
				Overall: models.AdherenceFigures{Due: 1, Taken: 1,
					DoseAdherence: adhFloat(1), PDC: adhFloat(1), OnTime: adhFloat(0)},
				Medications: []models.MedicationAdherence{{MedicationID: "A", Name: "Amlodipine",
					AdherenceFigures: models.AdherenceFigures{Due: 1, Taken: 1,
						DoseAdherence: adhFloat(1), PDC: adhFloat(1), OnTime: adhFloat(0)}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := models.ComputeAdherence([]models.Medication{tt.med}, tt.doses, time.UTC, tt.windowDays, now, models.DefaultDoseGrace)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ComputeAdherence() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAdherenceConstants(t *testing.T) {
	if models.AdherenceReviewThreshold != 0.8 || models.OnTimeWindow != time.Hour {
		t.Errorf("review threshold %v, on-time window %v; want 0.8 and 1h", models.AdherenceReviewThreshold, models.OnTimeWindow)
	}
	f := models.AdherenceFigures{DoseAdherence: adhFloat(0.8), PDC: adhFloat(0.8)}
	if f.BelowReviewThreshold() {
		t.Error("exactly 80% is not below the threshold")
	}
	f.PDC = adhFloat(0.79)
	if !f.BelowReviewThreshold() {
		t.Error("PDC 79% is below the threshold")
	}
	if (models.AdherenceFigures{}).BelowReviewThreshold() {
		t.Error("no data is not below the threshold")
	}
}
