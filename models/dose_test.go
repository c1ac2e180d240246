package models_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
)

// doseAt is a UTC instant on 2026-03-10 at h:m.
func doseAt(h, m int) time.Time {
	return time.Date(2026, 3, 10, h, m, 0, 0, time.UTC)
}

// doseScheduled is a pending dose scheduled at 2026-03-10 08:00 UTC.
func doseScheduled() models.Dose {
	return models.Dose{
		ID:           models.DoseID("med-1", "2026-03-10", "08:00"),
		PatientID:    "pat-1",
		MedicationID: "med-1",
		ScheduledAt:  doseAt(8, 0),
		LocalDate:    "2026-03-10",
		LocalTime:    "08:00",
		Status:       models.DosePending,
	}
}

func dosePtr(t time.Time) *time.Time { return &t }

func TestDoseID(t *testing.T) {
	tests := []struct {
		med, date, clock, want string
	}{
		{"med-1", "2026-03-29", "08:00", "med-1:2026-03-29T08:00"},
		{"6650a1", "2026-10-25", "01:30", "6650a1:2026-10-25T01:30"},
	}
	for _, tt := range tests {
		if got := models.DoseID(tt.med, tt.date, tt.clock); got != tt.want {
			t.Errorf("DoseID(%q, %q, %q) = %q, want %q", tt.med, tt.date, tt.clock, got, tt.want)
		}
	}
}

func TestPlanDoses(t *testing.T) {
	london := schedZone(t, "Europe/London")
	med := models.Medication{
		ID:        "med-1",
		PatientID: "pat-1",
		Name:      "Ramipril",
		Schedule:  models.Schedule{Times: []string{"01:30", "08:00"}, StartDate: "2026-03-29"},
		Status:    models.MedicationActive,
	}
	pending := func(date, clock, utc string) models.Dose {
		return models.Dose{
			ID:           models.DoseID("med-1", date, clock),
			PatientID:    "pat-1",
			MedicationID: "med-1",
			ScheduledAt:  schedUTC(t, utc),
			LocalDate:    date,
			LocalTime:    clock,
			Status:       models.DosePending,
		}
	}
	stopped := med
	stopped.Status = models.MedicationStopped
	stopped.StoppedAt = dosePtr(schedUTC(t, "2026-03-30T07:00:00Z")) // the 08:00 BST dose's instant
	asNeeded := med
	asNeeded.Schedule = models.Schedule{AsNeeded: true, StartDate: "2026-03-29"}

	from, to := schedUTC(t, "2026-03-28T00:00:00Z"), schedUTC(t, "2026-03-31T00:00:00Z")
	tests := []struct {
		name string
		med  models.Medication
		want []models.Dose
	}{
		{
			// The ids keep the schedule's local time even where the clock
			// change moves the instant (01:30 → 02:30 BST on the 29th).
			name: "active across the clock change",
			med:  med,
			want: []models.Dose{
				pending("2026-03-29", "01:30", "2026-03-29T01:30:00Z"),
				pending("2026-03-29", "08:00", "2026-03-29T07:00:00Z"),
				pending("2026-03-30", "01:30", "2026-03-30T00:30:00Z"),
				pending("2026-03-30", "08:00", "2026-03-30T07:00:00Z"),
			},
		},
		{
			name: "stopped plans nothing from StoppedAt on",
			med:  stopped,
			want: []models.Dose{
				pending("2026-03-29", "01:30", "2026-03-29T01:30:00Z"),
				pending("2026-03-29", "08:00", "2026-03-29T07:00:00Z"),
				pending("2026-03-30", "01:30", "2026-03-30T00:30:00Z"),
			},
		},
		{name: "as needed plans nothing", med: asNeeded, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := models.PlanDoses(tt.med, london, from, to)
			if diff := cmp.Diff(tt.want, first); diff != "" {
				t.Errorf("PlanDoses() (-want +got):\n%s", diff)
			}
			// A second run (another instance, a retried job) plans the same
			// documents, so inserting them collides on _id.
			if diff := cmp.Diff(first, models.PlanDoses(tt.med, london, from, to)); diff != "" {
				t.Errorf("second PlanDoses() differs (-first +second):\n%s", diff)
			}
		})
	}
}

func TestDoseEffectiveStatus(t *testing.T) {
	grace := models.DefaultDoseGrace
	deadline := doseAt(8, 0).Add(grace) // 10:00
	tests := []struct {
		name   string
		status models.DoseStatus
		now    time.Time
		want   models.DoseStatus
	}{
		{"pending before its time", models.DosePending, doseAt(7, 0), models.DosePending},
		{"pending just inside grace", models.DosePending, deadline.Add(-time.Nanosecond), models.DosePending},
		{"pending at the end of grace is missed", models.DosePending, deadline, models.DoseMissed},
		{"pending after grace is missed", models.DosePending, deadline.Add(24 * time.Hour), models.DoseMissed},
		{"taken stays taken", models.DoseTaken, deadline.Add(time.Hour), models.DoseTaken},
		{"skipped stays skipped", models.DoseSkipped, deadline.Add(time.Hour), models.DoseSkipped},
		{"stored missed stays missed", models.DoseMissed, deadline.Add(time.Hour), models.DoseMissed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := doseScheduled()
			d.Status = tt.status
			if got := d.EffectiveStatus(tt.now, grace); got != tt.want {
				t.Errorf("EffectiveStatus(%v) = %q, want %q", tt.now, got, tt.want)
			}
		})
	}
	if models.DefaultDoseGrace != 2*time.Hour {
		t.Errorf("DefaultDoseGrace = %v, want 2h", models.DefaultDoseGrace)
	}
}

func TestDoseTransitions(t *testing.T) {
	type step struct {
		name    string
		act     func(d *models.Dose) (bool, error)
		changed bool
		status  models.DoseStatus
	}
	steps := []step{
		{"taken at 08:05", func(d *models.Dose) (bool, error) { return d.MarkTaken(doseAt(8, 5), doseAt(8, 6)) }, true, models.DoseTaken},
		{"same again is a no-op", func(d *models.Dose) (bool, error) { return d.MarkTaken(doseAt(8, 5), doseAt(8, 7)) }, false, models.DoseTaken},
		{"retry without a time is a no-op", func(d *models.Dose) (bool, error) { return d.MarkTaken(time.Time{}, doseAt(8, 8)) }, false, models.DoseTaken},
		{"taken corrected to 08:01", func(d *models.Dose) (bool, error) { return d.MarkTaken(doseAt(8, 1), doseAt(8, 9)) }, true, models.DoseTaken},
		{"taken then skipped", func(d *models.Dose) (bool, error) { return d.MarkSkipped(" felt sick ", doseAt(9, 0)) }, true, models.DoseSkipped},
		{"skipped again is a no-op", func(d *models.Dose) (bool, error) { return d.MarkSkipped("felt sick", doseAt(9, 1)) }, false, models.DoseSkipped},
		{"skipped then taken late, time now", func(d *models.Dose) (bool, error) { return d.MarkTaken(time.Time{}, doseAt(11, 0)) }, true, models.DoseTaken},
	}
	d := doseScheduled()
	for _, s := range steps {
		changed, err := s.act(&d)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if changed != s.changed || d.Status != s.status {
			t.Errorf("%s: changed %v status %q, want %v %q", s.name, changed, d.Status, s.changed, s.status)
		}
	}
	want := models.Dose{
		ID:           "med-1:2026-03-10T08:00",
		PatientID:    "pat-1",
		MedicationID: "med-1",
		ScheduledAt:  doseAt(8, 0),
		LocalDate:    "2026-03-10",
		LocalTime:    "08:00",
		Status:       models.DoseTaken,
		TakenAt:      dosePtr(doseAt(11, 0)),
		LoggedAt:     dosePtr(doseAt(11, 0)),
		History: []models.DoseEvent{
			{At: doseAt(8, 6), From: models.DosePending, To: models.DoseTaken, TakenAt: dosePtr(doseAt(8, 5))},
			{At: doseAt(8, 9), From: models.DoseTaken, To: models.DoseTaken, TakenAt: dosePtr(doseAt(8, 1))},
			{At: doseAt(9, 0), From: models.DoseTaken, To: models.DoseSkipped, Reason: "felt sick"},
			{At: doseAt(11, 0), From: models.DoseSkipped, To: models.DoseTaken, TakenAt: dosePtr(doseAt(11, 0))},
		},
		UpdatedAt: doseAt(11, 0),
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("dose after the steps (-want +got):\n%s", diff)
	}
}

func TestDoseMarkTakenLimits(t *testing.T) {
	tests := []struct {
		name    string
		status  models.DoseStatus
		at, now time.Time
		ok      bool
	}{
		{"on time", models.DosePending, doseAt(8, 0), doseAt(8, 0), true},
		{"ten minutes ahead of the server clock", models.DosePending, doseAt(8, 10), doseAt(8, 0), true},
		{"more than ten minutes ahead", models.DosePending, doseAt(8, 10).Add(time.Millisecond), doseAt(8, 0), false},
		{"twelve hours early", models.DosePending, doseAt(8, 0).Add(-12 * time.Hour), doseAt(8, 0).Add(-12 * time.Hour), true},
		{"more than twelve hours early", models.DosePending, doseAt(8, 0).Add(-12*time.Hour - time.Millisecond), doseAt(8, 0).Add(-12 * time.Hour), false},
		{"missed dose logged late", models.DoseMissed, doseAt(15, 0), doseAt(20, 0), true},
		{"pending dose logged a day later", models.DosePending, doseAt(9, 0), doseAt(9, 0).Add(24 * time.Hour), true},
		{"taken seven days after", models.DoseMissed, doseAt(8, 0).Add(7 * 24 * time.Hour), doseAt(8, 0).Add(7 * 24 * time.Hour), true},
		{"taken more than seven days after", models.DoseMissed, doseAt(8, 1).Add(7 * 24 * time.Hour), doseAt(8, 1).Add(7 * 24 * time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := doseScheduled()
			d.Status = tt.status
			before := d
			changed, err := d.MarkTaken(tt.at, tt.now)
			if tt.ok {
				if err != nil || !changed || d.Status != models.DoseTaken || !d.TakenAt.Equal(tt.at) {
					t.Errorf("MarkTaken(%v) = %v, %v; status %q takenAt %v; want taken at it", tt.at, changed, err, d.Status, d.TakenAt)
				}
				return
			}
			if changed || !models.IsCode(err, models.CodeInvalid) {
				t.Fatalf("MarkTaken(%v) = %v, %v; want false, invalid", tt.at, changed, err)
			}
			if got := medProblemFields(t, err); !cmp.Equal(got, []string{"takenAt"}) {
				t.Errorf("fields = %v, want [takenAt]", got)
			}
			if diff := cmp.Diff(before, d); diff != "" {
				t.Errorf("rejected MarkTaken changed the dose (-before +after):\n%s", diff)
			}
		})
	}
}

func TestDoseMarkSkippedLimits(t *testing.T) {
	long := make([]byte, models.MaxSkipReasonLength+1)
	for i := range long {
		long[i] = 'x'
	}
	tests := []struct {
		name     string
		asNeeded bool
		reason   string
		now      time.Time
		code     models.Code // "" when it succeeds
	}{
		{"skipped ahead within twelve hours", false, "", doseAt(8, 0).Add(-12 * time.Hour), ""},
		{"skipped too far ahead", false, "", doseAt(8, 0).Add(-12*time.Hour - time.Minute), models.CodeInvalid},
		{"reason too long", false, string(long), doseAt(8, 0), models.CodeInvalid},
		{"as needed", true, "", doseAt(8, 0), models.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := doseScheduled()
			d.AsNeeded = tt.asNeeded
			changed, err := d.MarkSkipped(tt.reason, tt.now)
			if got := models.ErrorCode(err); got != tt.code {
				t.Fatalf("MarkSkipped() error code = %q, want %q (%v)", got, tt.code, err)
			}
			wantStatus := models.DoseSkipped
			if tt.code != "" {
				wantStatus = models.DosePending
			}
			if changed != (tt.code == "") || d.Status != wantStatus {
				t.Errorf("MarkSkipped() changed %v status %q, want %v %q", changed, d.Status, tt.code == "", wantStatus)
			}
		})
	}
}

func TestDoseMarkMissed(t *testing.T) {
	grace := models.DefaultDoseGrace
	tests := []struct {
		name   string
		status models.DoseStatus
		now    time.Time
		want   bool
	}{
		{"pending within grace", models.DosePending, doseAt(9, 59), false},
		{"pending past grace", models.DosePending, doseAt(10, 0), true},
		{"taken", models.DoseTaken, doseAt(12, 0), false},
		{"already missed", models.DoseMissed, doseAt(12, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := doseScheduled()
			d.Status = tt.status
			if got := d.MarkMissed(tt.now, grace); got != tt.want {
				t.Fatalf("MarkMissed() = %v, want %v", got, tt.want)
			}
			if !tt.want {
				if len(d.History) != 0 || d.Status != tt.status {
					t.Errorf("MarkMissed() = false but status %q history %v", d.Status, d.History)
				}
				return
			}
			want := []models.DoseEvent{{At: tt.now, From: models.DosePending, To: models.DoseMissed}}
			if diff := cmp.Diff(want, d.History); diff != "" || d.Status != models.DoseMissed {
				t.Errorf("status %q, history (-want +got):\n%s", d.Status, diff)
			}
			// A missed dose can still be taken late.
			if changed, err := d.MarkTaken(doseAt(11, 0), doseAt(12, 0)); err != nil || !changed {
				t.Errorf("MarkTaken on a missed dose = %v, %v; want true, nil", changed, err)
			}
		})
	}
}

func TestNewAsNeededDose(t *testing.T) {
	auckland := schedZone(t, "Pacific/Auckland")
	now := schedUTC(t, "2026-06-01T21:00:00Z") // 09:00 on 2 June in Auckland
	tests := []struct {
		name    string
		id      string
		takenAt time.Time
		want    *models.Dose
		fields  []string
	}{
		{
			name:    "taken an hour ago, local date in the patient's zone",
			id:      "5f0c6a8e-8c1e-4f4e-9a59-3b1f3f7f2d10",
			takenAt: now.Add(-time.Hour),
			want: &models.Dose{
				ID:           "5f0c6a8e-8c1e-4f4e-9a59-3b1f3f7f2d10",
				PatientID:    "pat-1",
				MedicationID: "med-inhaler",
				ScheduledAt:  now.Add(-time.Hour),
				LocalDate:    "2026-06-02",
				LocalTime:    "08:00",
				Status:       models.DoseTaken,
				TakenAt:      dosePtr(now.Add(-time.Hour)),
				LoggedAt:     dosePtr(now),
				AsNeeded:     true,
				History:      []models.DoseEvent{{At: now, To: models.DoseTaken, TakenAt: dosePtr(now.Add(-time.Hour))}},
				CreatedAt:    now,
				UpdatedAt:    now,
			},
		},
		{name: "no id", id: "", takenAt: now, fields: []string{"id"}},
		{name: "id shaped like a scheduled dose", id: "med-1:2026-06-02T08:00", takenAt: now, fields: []string{"id"}},
		{name: "in the future", id: "a1", takenAt: now.Add(11 * time.Minute), fields: []string{"takenAt"}},
		{name: "more than a week ago", id: "a1", takenAt: now.Add(-8 * 24 * time.Hour), fields: []string{"takenAt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := models.NewAsNeededDose(tt.id, "pat-1", "med-inhaler", tt.takenAt, now, auckland)
			if diff := cmp.Diff(tt.fields, medProblemFields(t, err)); diff != "" {
				t.Fatalf("NewAsNeededDose() fields (-want +got):\n%s", diff)
			}
			if tt.want == nil {
				return
			}
			if diff := cmp.Diff(*tt.want, got); diff != "" {
				t.Errorf("NewAsNeededDose() (-want +got):\n%s", diff)
			}
			if got.EffectiveStatus(now.Add(48*time.Hour), models.DefaultDoseGrace) != models.DoseTaken || got.IsFuturePending(now.Add(-24*time.Hour)) {
				t.Error("an as-needed dose must stay taken and never be future pending")
			}
		})
	}
}

func TestReconcileDoses(t *testing.T) {
	utc := time.UTC
	now := schedUTC(t, "2026-03-10T12:00:00Z")
	from, to := now, now.Add(3*24*time.Hour)
	old := models.Medication{ID: "m", PatientID: "p", Status: models.MedicationActive,
		Schedule: models.Schedule{Times: []string{"08:00", "20:00"}, StartDate: "2026-03-01"}}
	edited := old
	edited.Schedule.Times = []string{"09:00", "20:00"}

	existing := models.PlanDoses(old, utc, now.Add(-24*time.Hour), to)
	// The morning dose of the 11th was taken early; the past ones are history.
	for i := range existing {
		if existing[i].ID == "m:2026-03-11T08:00" {
			existing[i].Status = models.DoseTaken
		}
	}
	// A dose planned beyond the window stays: this plan does not cover it.
	beyond := models.PlanDoses(old, utc, to, to.Add(24*time.Hour))
	existing = append(existing, beyond...)

	planned := models.PlanDoses(edited, utc, from, to)
	insert, remove := models.ReconcileDoses(planned, existing, from, to, now)

	ids := func(ds []models.Dose) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	// Future pending 08:00 doses in the window go (the 11th's was taken and
	// stays); 09:00 doses come; 20:00 doses are unchanged.
	wantRemove := []string{"m:2026-03-12T08:00", "m:2026-03-13T08:00"}
	wantInsert := []string{"m:2026-03-11T09:00", "m:2026-03-12T09:00", "m:2026-03-13T09:00"}
	if diff := cmp.Diff(wantRemove, ids(remove)); diff != "" {
		t.Errorf("remove (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantInsert, ids(insert)); diff != "" {
		t.Errorf("insert (-want +got):\n%s", diff)
	}

	// The patient moves to Auckland: every future pending dose in the window
	// moves instant, so each is removed and re-inserted under the same id;
	// the early-taken dose stays.
	auckland := schedZone(t, "Pacific/Auckland")
	current := models.PlanDoses(edited, utc, from, to)
	moved := models.PlanDoses(edited, auckland, from, to)
	insert, remove = models.ReconcileDoses(moved, current, from, to, now)
	if diff := cmp.Diff(ids(current), ids(remove)); diff != "" {
		t.Errorf("remove after zone change (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ids(moved), ids(insert)); diff != "" {
		t.Errorf("insert after zone change (-want +got):\n%s", diff)
	}

	// Planning again with nothing changed changes nothing.
	insert, remove = models.ReconcileDoses(planned, planned, from, to, now)
	if len(insert) != 0 || len(remove) != 0 {
		t.Errorf("unchanged plan: insert %v remove %v, want none", ids(insert), ids(remove))
	}
}

func TestDoseIsFuturePending(t *testing.T) {
	tests := []struct {
		name   string
		status models.DoseStatus
		now    time.Time
		want   bool
	}{
		{"pending ahead", models.DosePending, doseAt(7, 59), true},
		{"pending at its time", models.DosePending, doseAt(8, 0), false},
		{"taken early", models.DoseTaken, doseAt(7, 0), false},
		{"skipped ahead", models.DoseSkipped, doseAt(7, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := doseScheduled()
			d.Status = tt.status
			if got := d.IsFuturePending(tt.now); got != tt.want {
				t.Errorf("IsFuturePending(%v) = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
}
