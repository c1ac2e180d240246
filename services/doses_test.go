package services_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// TestDosesAcrossClockChangesAndFarZones plans doses through the service
// and the real store on the days the clocks change, and in zones far from
// UTC, and lists them back.
func TestDosesAcrossClockChangesAndFarZones(t *testing.T) {
	t.Parallel()
	id := medID(1)
	dose := func(date, clock, at string) doseKey { return doseKey{models.DoseID(id, date, clock), at} }
	tests := []struct {
		name     string
		zone     string
		created  string // the clock when the medicine is added
		schedule models.Schedule
		from, to string
		want     []doseKey
		// wantToday is what GET /doses lists with no range at `created`.
		wantToday []doseKey
	}{
		{
			// 2026-03-29: the clocks go forward at 01:00 GMT; 01:30 does
			// not exist and moves forward by the gap, to 02:30 BST.
			name: "Europe/London spring forward", zone: "Europe/London", created: "2026-03-28T00:00:00Z",
			schedule: daily("2026-03-28", "01:30", "08:00"),
			from:     "2026-03-28T00:00:00Z", to: "2026-03-31T00:00:00Z",
			want: []doseKey{
				dose("2026-03-28", "01:30", "2026-03-28T01:30:00Z"),
				dose("2026-03-28", "08:00", "2026-03-28T08:00:00Z"),
				dose("2026-03-29", "01:30", "2026-03-29T01:30:00Z"), // 02:30 BST
				dose("2026-03-29", "08:00", "2026-03-29T07:00:00Z"),
				dose("2026-03-30", "01:30", "2026-03-30T00:30:00Z"),
				dose("2026-03-30", "08:00", "2026-03-30T07:00:00Z"),
			},
			wantToday: []doseKey{
				dose("2026-03-28", "01:30", "2026-03-28T01:30:00Z"),
				dose("2026-03-28", "08:00", "2026-03-28T08:00:00Z"),
			},
		},
		{
			// 2026-10-25: the clocks go back at 02:00 BST; 01:30 happens
			// twice and the dose happens once, at the first (BST).
			name: "Europe/London autumn back", zone: "Europe/London", created: "2026-10-24T00:00:00Z",
			schedule: daily("2026-10-24", "01:30", "08:00"),
			from:     "2026-10-24T00:00:00Z", to: "2026-10-27T00:00:00Z",
			want: []doseKey{
				dose("2026-10-24", "01:30", "2026-10-24T00:30:00Z"),
				dose("2026-10-24", "08:00", "2026-10-24T07:00:00Z"),
				dose("2026-10-25", "01:30", "2026-10-25T00:30:00Z"), // once
				dose("2026-10-25", "08:00", "2026-10-25T08:00:00Z"),
				dose("2026-10-26", "01:30", "2026-10-26T01:30:00Z"),
				dose("2026-10-26", "08:00", "2026-10-26T08:00:00Z"),
			},
			wantToday: []doseKey{
				dose("2026-10-24", "01:30", "2026-10-24T00:30:00Z"),
				dose("2026-10-24", "08:00", "2026-10-24T07:00:00Z"),
			},
		},
		{
			// UTC+14, on the other side of the date line: the local date
			// is a day ahead of UTC's; 08:00 on the day the medicine was
			// added (18:00 UTC the day before) was before it existed.
			name: "Pacific/Kiritimati", zone: "Pacific/Kiritimati", created: "2026-06-09T00:00:00Z",
			schedule: daily("2026-06-09", "08:00", "21:00"),
			from:     "2026-06-09T00:00:00Z", to: "2026-06-10T12:00:00Z",
			want: []doseKey{
				dose("2026-06-09", "21:00", "2026-06-09T07:00:00Z"),
				dose("2026-06-10", "08:00", "2026-06-09T18:00:00Z"),
				dose("2026-06-10", "21:00", "2026-06-10T07:00:00Z"),
			},
			// Today there is 2026-06-09 (14:00 local): [06-08T10:00Z, 06-09T10:00Z).
			wantToday: []doseKey{dose("2026-06-09", "21:00", "2026-06-09T07:00:00Z")},
		},
		{
			// New Zealand springs forward at 02:00 NZST on 2026-09-27:
			// 02:30 does not exist and becomes 03:30 NZDT.
			name: "Pacific/Auckland spring forward", zone: "Pacific/Auckland", created: "2026-09-26T00:00:00Z",
			schedule: daily("2026-09-26", "02:30"),
			from:     "2026-09-26T00:00:00Z", to: "2026-09-28T00:00:00Z",
			want: []doseKey{
				dose("2026-09-27", "02:30", "2026-09-26T14:30:00Z"), // 03:30 NZDT
				dose("2026-09-28", "02:30", "2026-09-27T13:30:00Z"),
			},
			// Today is 2026-09-26 local (12:00 NZST): its 02:30 was before
			// the medicine existed.
			wantToday: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			created := utc(t, tt.created)
			e := newMedEnv(t, created)
			p := e.patient(t, "pat-dst", tt.zone)
			e.addMed(t, p, services.NewMedication{ID: id, Name: "Ramipril", Schedule: tt.schedule})
			ctx := context.Background()
			got, err := e.doses.List(ctx, p, services.DoseQuery{From: utc(t, tt.from), To: utc(t, tt.to)})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, keysOf(got)); diff != "" {
				t.Errorf("doses (-want +got):\n%s", diff)
			}
			// Stored once each: the documents in the window are these.
			var inWindow []models.Dose
			for _, d := range e.stored(t, p.ID) {
				if !d.ScheduledAt.Before(utc(t, tt.from)) && d.ScheduledAt.Before(utc(t, tt.to)) {
					inWindow = append(inWindow, d)
				}
			}
			if diff := cmp.Diff(tt.want, keysOf(inWindow)); diff != "" {
				t.Errorf("stored documents (-want +got):\n%s", diff)
			}
			today, err := e.doses.List(ctx, p, services.DoseQuery{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantToday, keysOf(today), cmpEmptyIsNil); diff != "" {
				t.Errorf("today's doses (-want +got):\n%s", diff)
			}
		})
	}
}

var cmpEmptyIsNil = cmp.Comparer(func(a, b []doseKey) bool {
	return len(a) == 0 && len(b) == 0 || cmp.Equal([]doseKey(a), []doseKey(b))
})

// TestScheduleEditReplansFutureOnly: an edit keeps every past dose and
// every logged dose, and replaces the future pending ones.
func TestScheduleEditReplansFutureOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newMedEnv(t, utc(t, "2026-11-02T06:00:00Z")) // London is on GMT (UTC) in November
	p := e.patient(t, "pat-edit", "Europe/London")
	id := medID(2)
	e.addMed(t, p, services.NewMedication{ID: id, Name: "Ramipril", Schedule: daily("2026-11-02", "08:00", "20:00")})

	now := utc(t, "2026-11-04T12:00:00Z")
	e.clock.Set(now)
	if _, err := e.doses.MarkTaken(ctx, p, models.DoseID(id, "2026-11-03", "08:00"), utc(t, "2026-11-03T08:05:00Z")); err != nil {
		t.Fatal(err)
	}
	// Tonight's dose skipped in advance: logged, so it stays.
	if _, err := e.doses.MarkSkipped(ctx, p, models.DoseID(id, "2026-11-04", "20:00"), "away tonight"); err != nil {
		t.Fatal(err)
	}
	before := map[string]models.Dose{}
	for _, d := range e.stored(t, p.ID) {
		before[d.ID] = d
	}

	newTimes := models.Schedule{Times: []string{"21:00", "09:00"}, StartDate: "2026-11-02"} // any order
	m, err := e.meds.Update(ctx, p, id, services.MedicationChange{Schedule: &newTimes}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"09:00", "21:00"}, m.Schedule.Times); diff != "" {
		t.Errorf("stored times (-want +got):\n%s", diff)
	}

	dose := func(date, clock string) doseKey {
		return doseKey{models.DoseID(id, date, clock), date + "T" + clock + ":00Z"}
	}
	want := []doseKey{
		// The past, as it was (09:00 today is past: not added).
		dose("2026-11-02", "08:00"), dose("2026-11-02", "20:00"),
		dose("2026-11-03", "08:00"), dose("2026-11-03", "20:00"),
		dose("2026-11-04", "08:00"),
		// Logged ahead of time: stays.
		dose("2026-11-04", "20:00"),
		// The new schedule from now to now+7 days.
		dose("2026-11-04", "21:00"),
	}
	for day := 5; day <= 10; day++ {
		date := fmt.Sprintf("2026-11-%02d", day)
		want = append(want, dose(date, "09:00"), dose(date, "21:00"))
	}
	want = append(want, dose("2026-11-11", "09:00"))
	after := e.stored(t, p.ID)
	if diff := cmp.Diff(want, keysOf(after)); diff != "" {
		t.Errorf("doses after the edit (-want +got):\n%s", diff)
	}
	// Past and logged doses are untouched documents.
	for _, d := range after {
		if d.ScheduledAt.After(now) && d.Status == models.DosePending {
			continue // re-planned
		}
		if diff := cmp.Diff(before[d.ID], d); diff != "" {
			t.Errorf("dose %s changed (-before +after):\n%s", d.ID, diff)
		}
	}
	// Editing something else moves nothing.
	name := "Ramipril 5mg"
	if _, err := e.meds.Update(ctx, p, id, services.MedicationChange{Name: &name}, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, keysOf(e.stored(t, p.ID))); diff != "" {
		t.Errorf("doses after a name edit (-want +got):\n%s", diff)
	}
}

// TestTimezoneChangeMovesFutureDosesOnly: after a move to New York, future
// doses are at 08:00 New York time, past ones where they were, and today's
// 08:00 (past in London, future in New York) exists once.
func TestTimezoneChangeMovesFutureDosesOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newMedEnv(t, utc(t, "2026-11-02T06:00:00Z"))
	p := e.patient(t, "pat-tz", "Europe/London")
	id := medID(3)
	e.addMed(t, p, services.NewMedication{ID: id, Name: "Amlodipine", Schedule: daily("2026-11-02", "08:00")})
	e.clock.Set(utc(t, "2026-11-04T12:00:00Z"))
	if _, err := e.doses.MarkTaken(ctx, p, models.DoseID(id, "2026-11-03", "08:00"), time.Time{}); err != nil {
		t.Fatal(err)
	}

	p.Timezone = "America/New_York"
	if err := e.st.Users().Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := e.planner.TimezoneChanged(ctx, p, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	dose := func(date, at string) doseKey { return doseKey{models.DoseID(id, date, "08:00"), at} }
	want := []doseKey{
		dose("2026-11-02", "2026-11-02T08:00:00Z"),
		dose("2026-11-03", "2026-11-03T08:00:00Z"),
		dose("2026-11-04", "2026-11-04T08:00:00Z"), // past in London: stays, once
	}
	for day := 5; day <= 10; day++ {
		date := fmt.Sprintf("2026-11-%02d", day)
		want = append(want, dose(date, date+"T13:00:00Z")) // 08:00 EST
	}
	if diff := cmp.Diff(want, keysOf(e.stored(t, p.ID))); diff != "" {
		t.Errorf("doses after the move (-want +got):\n%s", diff)
	}
}

// fiveMedicines are the medicines of the planning and benchmark tests.
func fiveMedicines(start string) []services.NewMedication {
	return []services.NewMedication{
		{Name: "Ramipril", Schedule: daily(start, "08:00")},
		{Name: "Metformin", Schedule: daily(start, "08:00", "13:00", "18:00")},
		{Name: "Atorvastatin", Schedule: daily(start, "22:00")},
		{Name: "Alendronic acid", Schedule: models.Schedule{Times: []string{"07:00"}, DaysOfWeek: []string{"mon"}, StartDate: start}},
		{Name: "Vitamin D", Schedule: models.Schedule{Times: []string{"09:00"}, EveryNDays: 2, StartDate: start}},
	}
}

// expectedPlan is every dose the medications' schedules imply from their
// creation to the horizon, computed by the model alone.
func expectedPlan(meds []models.Medication, loc *time.Location, now time.Time) []models.Dose {
	var out []models.Dose
	for _, m := range meds {
		out = append(out, models.PlanDoses(m, loc, m.CreatedAt, now.Add(services.DoseHorizon))...)
	}
	return out
}

// TestMaterializeNeverDuplicates plans the same doses twice, then from 8
// goroutines on two instances at once (extending the window, then after a
// schedule edit and a time-zone change), and counts the documents.
func TestMaterializeNeverDuplicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	start := utc(t, "2026-11-02T06:17:00Z")
	e := newMedEnv(t, start)
	p := e.patient(t, "pat-dup", "Europe/London")
	var meds []models.Medication
	for i, in := range fiveMedicines("2026-11-02") {
		in.ID = medID(10 + i)
		meds = append(meds, e.addMed(t, p, in))
	}
	check := func(stage string, want []models.Dose) {
		t.Helper()
		got := e.stored(t, p.ID)
		if len(got) != len(want) {
			t.Errorf("%s: %d documents, want %d", stage, len(got), len(want))
		}
		if diff := cmp.Diff(keysOf(want), keysOf(got)); diff != "" {
			t.Errorf("%s: doses (-want +got):\n%s", stage, diff)
		}
	}
	check("after create", expectedPlan(meds, p.Location(), start))
	if err := e.planner.Materialize(ctx, p, start); err != nil {
		t.Fatal(err)
	}
	check("materialised twice", expectedPlan(meds, p.Location(), start))

	concurrently := func(patient models.User, now time.Time) {
		t.Helper()
		instances := []*services.DosePlanner{e.planner, e.otherInstance()}
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				if err := instances[g%2].Materialize(ctx, patient, now); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}

	// Three days on: the window is extended concurrently.
	now := start.Add(3 * 24 * time.Hour)
	e.clock.Set(now)
	concurrently(p, now)
	check("extended by 8 goroutines", expectedPlan(meds, p.Location(), now))

	// A schedule edit (stored without planning) and a move to India, then
	// 8 concurrent planners: the past stays, the future follows both.
	past := slices.DeleteFunc(e.stored(t, p.ID), func(d models.Dose) bool { return d.ScheduledAt.After(now) })
	edited := meds[1]
	edited.Schedule = daily("2026-11-02", "07:30", "19:30")
	edited.UpdatedAt = now
	if ok, err := e.st.Medications().Update(ctx, edited, false, meds[1].UpdatedAt); err != nil || !ok {
		t.Fatal(ok, err)
	}
	meds[1] = edited
	p.Timezone = "Asia/Kolkata"
	if err := e.st.Users().Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	concurrently(p, now)
	want := slices.Clone(past)
	pastIDs := map[string]bool{}
	for _, d := range past {
		pastIDs[d.ID] = true
	}
	for _, m := range meds {
		for _, d := range models.PlanDoses(m, p.Location(), now, now.Add(services.DoseHorizon)) {
			if !pastIDs[d.ID] {
				want = append(want, d)
			}
		}
	}
	check("re-planned by 8 goroutines", want)
}

// TestMarkTakenConcurrently: 8 goroutines on two instances mark one dose
// taken at once; the stock goes down by one dose, once.
func TestMarkTakenConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newMedEnv(t, utc(t, "2026-11-02T06:00:00Z"))
	p := e.patient(t, "pat-take", "Europe/London")
	id := medID(20)
	e.addMed(t, p, services.NewMedication{ID: id, Name: "Ramipril", Schedule: daily("2026-11-02", "08:00"),
		Stock: &models.Stock{Quantity: 30, UnitsPerDose: 2, RefillLeadDays: 7}})
	e.clock.Set(utc(t, "2026-11-02T08:10:00Z"))
	doseID := models.DoseID(id, "2026-11-02", "08:00")
	instances := []*services.Doses{e.doses, e.otherDoses()}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			d, err := instances[g%2].MarkTaken(ctx, p, doseID, time.Time{})
			if err != nil || d.Status != models.DoseTaken {
				t.Errorf("goroutine %d: %s, %v", g, d.Status, err)
			}
		})
	}
	wg.Wait()
	if got := e.stockOf(t, id); got != 28 {
		t.Errorf("stock = %v, want 28 (30 - one dose of 2)", got)
	}
	d, err := e.st.Doses().Get(ctx, doseID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.History) != 1 || d.History[0].To != models.DoseTaken {
		t.Errorf("history = %+v, want one change to taken", d.History)
	}
}

// TestTakeAndSkipConcurrently: 8 goroutines alternately take and skip one
// dose; whatever order they land in, the stock matches the final status
// and the history's changes in and out of taken (each stored change moved
// the stock exactly once).
func TestTakeAndSkipConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newMedEnv(t, utc(t, "2026-11-02T06:00:00Z"))
	p := e.patient(t, "pat-flip", "Europe/London")
	id := medID(21)
	e.addMed(t, p, services.NewMedication{ID: id, Name: "Ramipril", Schedule: daily("2026-11-02", "08:00"),
		Stock: &models.Stock{Quantity: 30, UnitsPerDose: 1}})
	e.clock.Set(utc(t, "2026-11-02T08:10:00Z"))
	doseID := models.DoseID(id, "2026-11-02", "08:00")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			var err error
			for i := range 5 {
				if (g+i)%2 == 0 {
					_, err = e.doses.MarkTaken(ctx, p, doseID, time.Time{})
				} else {
					_, err = e.doses.MarkSkipped(ctx, p, doseID, fmt.Sprintf("reason %d", g))
				}
				// Under this much contention a request may give up with
				// conflict ("try again"): allowed, as long as nothing is
				// half-applied.
				if err != nil && models.ErrorCode(err) != models.CodeConflict {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	d, err := e.st.Doses().Get(ctx, doseID)
	if err != nil {
		t.Fatal(err)
	}
	intoTaken := 0
	for _, ev := range d.History {
		switch {
		case ev.To == models.DoseTaken && ev.From != models.DoseTaken:
			intoTaken++
		case ev.From == models.DoseTaken && ev.To != models.DoseTaken:
			intoTaken--
		}
	}
	held := 0
	if d.Status == models.DoseTaken {
		held = 1
	}
	if intoTaken != held {
		t.Errorf("history nets %d doses taken, status %s", intoTaken, d.Status)
	}
	if got, want := e.stockOf(t, id), float64(30-held); got != want {
		t.Errorf("stock = %v, want %v (final status %s, %d changes)", got, want, d.Status, len(d.History))
	}
}

// TestMarkMissedExactlyOnce: 8 goroutines on two instances sweep for
// missed doses at once; each overdue dose is returned by exactly one.
func TestMarkMissedExactlyOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	start := utc(t, "2026-11-02T06:00:00Z")
	e := newMedEnv(t, start)
	p := e.patient(t, "pat-miss", "Europe/London")
	for i, in := range fiveMedicines("2026-11-02") {
		in.ID = medID(30 + i)
		e.addMed(t, p, in)
	}
	now := utc(t, "2026-11-05T10:30:00Z")
	e.clock.Set(now)
	grace := p.Preferences.DoseGrace()
	var overdue []string
	for _, d := range e.stored(t, p.ID) {
		if !d.ScheduledAt.Add(grace).After(now) {
			overdue = append(overdue, d.ID)
		}
	}
	if len(overdue) < 10 {
		t.Fatalf("only %d overdue doses: the test needs more", len(overdue))
	}
	instances := []*services.DosePlanner{e.planner, e.otherInstance()}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for g := range 8 {
		wg.Go(func() {
			missed, err := instances[g%2].MarkMissed(ctx, p, now)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, d := range missed {
				seen[d.ID]++
				if d.Status != models.DoseMissed {
					t.Errorf("returned %s with status %s", d.ID, d.Status)
				}
			}
		})
	}
	wg.Wait()
	want := map[string]int{}
	for _, id := range overdue {
		want[id] = 1
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("times each dose was returned (-want +got):\n%s", diff)
	}
	again, err := e.planner.MarkMissed(ctx, p, now)
	if err != nil || len(again) != 0 {
		t.Errorf("second sweep returned %d doses, %v", len(again), err)
	}
	for _, d := range e.stored(t, p.ID) {
		if want[d.ID] == 1 && d.Status != models.DoseMissed {
			t.Errorf("dose %s stored as %s", d.ID, d.Status)
		}
	}
}

// TestMissedWhenReadBeforeAnyJob: a dose not logged within the patient's
// grace period reads as missed, though nothing stored that.
func TestMissedWhenReadBeforeAnyJob(t *testing.T) {
	t.Parallel()
	thirty := 30
	tests := []struct {
		name  string
		grace *int
		at    string
		want  models.DoseStatus
	}{
		{"default grace, 1h59 late", nil, "2026-11-02T09:59:00Z", models.DosePending},
		{"default grace, 2h late", nil, "2026-11-02T10:00:00Z", models.DoseMissed},
		{"30-minute grace, 29 min late", &thirty, "2026-11-02T08:29:00Z", models.DosePending},
		{"30-minute grace, 30 min late", &thirty, "2026-11-02T08:30:00Z", models.DoseMissed},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newMedEnv(t, utc(t, "2026-11-02T06:00:00Z"))
			p := e.patient(t, "pat-grace", "Europe/London")
			p.Preferences.DoseGraceMinutes = tt.grace
			id := medID(40 + i)
			e.addMed(t, p, services.NewMedication{ID: id, Name: "Ramipril", Schedule: daily("2026-11-02", "08:00")})
			e.clock.Set(utc(t, tt.at))
			doses, err := e.doses.List(ctx, p, services.DoseQuery{})
			if err != nil {
				t.Fatal(err)
			}
			if len(doses) != 1 || doses[0].Status != tt.want {
				t.Fatalf("today's doses = %+v, want one %s", doses, tt.want)
			}
			stored, err := e.st.Doses().Get(ctx, doses[0].ID)
			if err != nil || stored.Status != models.DosePending {
				t.Errorf("stored status %s, %v; want still pending", stored.Status, err)
			}
		})
	}
}

// TestTakenThenSkippedRestoresStock: a mistaken "taken" corrected to
// skipped gives the units back and both changes are in the history.
func TestTakenThenSkippedRestoresStock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newMedEnv(t, utc(t, "2026-11-02T06:00:00Z"))
	p := e.patient(t, "pat-undo", "Europe/London")
	id := medID(50)
	e.addMed(t, p, services.NewMedication{ID: id, Name: "Ramipril", Schedule: daily("2026-11-02", "08:00"),
		Stock: &models.Stock{Quantity: 10, UnitsPerDose: 1.5}})
	doseID := models.DoseID(id, "2026-11-02", "08:00")
	e.clock.Set(utc(t, "2026-11-02T08:05:00Z"))

	steps := []struct {
		name       string
		do         func() (models.Dose, error)
		wantStatus models.DoseStatus
		wantStock  float64
		wantEvents int
	}{
		{"taken", func() (models.Dose, error) { return e.doses.MarkTaken(ctx, p, doseID, time.Time{}) }, models.DoseTaken, 8.5, 1},
		{"taken again", func() (models.Dose, error) { return e.doses.MarkTaken(ctx, p, doseID, time.Time{}) }, models.DoseTaken, 8.5, 1},
		{"time corrected", func() (models.Dose, error) {
			return e.doses.MarkTaken(ctx, p, doseID, utc(t, "2026-11-02T08:01:00Z"))
		}, models.DoseTaken, 8.5, 2},
		{"skipped", func() (models.Dose, error) { return e.doses.MarkSkipped(ctx, p, doseID, "took it by mistake") }, models.DoseSkipped, 10, 3},
		{"skipped again", func() (models.Dose, error) { return e.doses.MarkSkipped(ctx, p, doseID, "took it by mistake") }, models.DoseSkipped, 10, 3},
		{"taken after all", func() (models.Dose, error) { return e.doses.MarkTaken(ctx, p, doseID, time.Time{}) }, models.DoseTaken, 8.5, 4},
	}
	for _, s := range steps {
		d, err := s.do()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if d.Status != s.wantStatus || len(d.History) != s.wantEvents {
			t.Errorf("%s: status %s with %d events, want %s with %d", s.name, d.Status, len(d.History), s.wantStatus, s.wantEvents)
		}
		if got := e.stockOf(t, id); got != s.wantStock {
			t.Errorf("%s: stock %v, want %v", s.name, got, s.wantStock)
		}
	}
	d, err := e.st.Doses().Get(ctx, doseID)
	if err != nil {
		t.Fatal(err)
	}
	skip := d.History[2]
	if skip.From != models.DoseTaken || skip.To != models.DoseSkipped || skip.Reason != "took it by mistake" {
		t.Errorf("history[2] = %+v, want taken→skipped with the reason", skip)
	}
}

// TestLateLogRecordsMissed: a dose logged after its grace period is first
// recorded as missed, then taken (late, so not on time).
func TestLateLogRecordsMissed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newMedEnv(t, utc(t, "2026-11-02T06:00:00Z"))
	p := e.patient(t, "pat-late", "Europe/London")
	id := medID(51)
	e.addMed(t, p, services.NewMedication{ID: id, Name: "Ramipril", Schedule: daily("2026-11-02", "08:00")})
	e.clock.Set(utc(t, "2026-11-02T11:00:00Z"))
	d, err := e.doses.MarkTaken(ctx, p, models.DoseID(id, "2026-11-02", "08:00"), utc(t, "2026-11-02T10:30:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]models.DoseStatus
	for _, ev := range d.History {
		got = append(got, [2]models.DoseStatus{ev.From, ev.To})
	}
	want := [][2]models.DoseStatus{{models.DosePending, models.DoseMissed}, {models.DoseMissed, models.DoseTaken}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

// TestLogAsNeeded: as-needed doses are logged idempotently by client id,
// take stock once, and only for the patient's active as-needed medicines.
func TestLogAsNeeded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newMedEnv(t, utc(t, "2026-11-02T06:00:00Z"))
	p := e.patient(t, "pat-prn", "Europe/London")
	other := e.patient(t, "pat-other", "Europe/London")
	inhaler := e.addMed(t, p, services.NewMedication{ID: medID(60), Name: "Salbutamol", Form: "inhaler",
		Schedule: models.Schedule{AsNeeded: true, StartDate: "2026-11-02"}, Stock: &models.Stock{Quantity: 200, UnitsPerDose: 2}})
	scheduled := e.addMed(t, p, services.NewMedication{ID: medID(61), Name: "Ramipril", Schedule: daily("2026-11-02", "08:00")})
	othersInhaler := e.addMed(t, other, services.NewMedication{ID: medID(62), Name: "Salbutamol",
		Schedule: models.Schedule{AsNeeded: true, StartDate: "2026-11-02"}})
	e.clock.Set(utc(t, "2026-11-02T14:00:00Z"))
	takenAt := utc(t, "2026-11-02T13:45:00Z")

	d, created, err := e.doses.LogAsNeeded(ctx, p, services.AsNeededDose{ID: "prn-1", MedicationID: inhaler.ID, TakenAt: takenAt})
	if err != nil || !created {
		t.Fatalf("log: created=%v, %v", created, err)
	}
	if d.Status != models.DoseTaken || !d.AsNeeded || !d.ScheduledAt.Equal(takenAt) || d.LocalTime != "13:45" {
		t.Errorf("logged dose = %+v", d)
	}
	// A retry: the stored dose, no second decrement.
	again, created, err := e.doses.LogAsNeeded(ctx, p, services.AsNeededDose{ID: "prn-1", MedicationID: inhaler.ID, TakenAt: takenAt})
	if err != nil || created || again.ID != "prn-1" {
		t.Errorf("retry: created=%v, %v", created, err)
	}
	if got := e.stockOf(t, inhaler.ID); got != 198 {
		t.Errorf("stock %v, want 198", got)
	}
	// Listed among the day's doses, never due in adherence.
	doses, err := e.doses.List(ctx, p, services.DoseQuery{MedicationID: inhaler.ID})
	if err != nil || len(doses) != 1 || doses[0].ID != "prn-1" {
		t.Errorf("listed %+v, %v", doses, err)
	}

	bad := []struct {
		name  string
		in    services.AsNeededDose
		code  models.Code
		field string
	}{
		{"same id, other time", services.AsNeededDose{ID: "prn-1", MedicationID: inhaler.ID, TakenAt: takenAt.Add(time.Minute)}, models.CodeConflict, "id"},
		{"scheduled medicine", services.AsNeededDose{MedicationID: scheduled.ID}, models.CodeInvalid, "medicationId"},
		{"another patient's medicine", services.AsNeededDose{MedicationID: othersInhaler.ID}, models.CodeInvalid, "medicationId"},
		{"no medicine", services.AsNeededDose{}, models.CodeInvalid, "medicationId"},
		{"id with a colon", services.AsNeededDose{ID: "a:b", MedicationID: inhaler.ID}, models.CodeInvalid, "id"},
		{"in the future", services.AsNeededDose{MedicationID: inhaler.ID, TakenAt: utc(t, "2026-11-02T15:00:00Z")}, models.CodeInvalid, "takenAt"},
	}
	for _, tt := range bad {
		_, _, err := e.doses.LogAsNeeded(ctx, p, tt.in)
		if models.ErrorCode(err) != tt.code || !hasField(err, tt.field) {
			t.Errorf("%s: %v, want %s naming %q", tt.name, err, tt.code, tt.field)
		}
	}
	if got := e.stockOf(t, inhaler.ID); got != 198 {
		t.Errorf("stock after rejected logs %v, want 198", got)
	}
	// Stopped: no more logging.
	if _, err := e.meds.Stop(ctx, p, inhaler.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.doses.LogAsNeeded(ctx, p, services.AsNeededDose{MedicationID: inhaler.ID}); !hasField(err, "medicationId") {
		t.Errorf("stopped medicine: %v", err)
	}
}

func hasField(err error, field string) bool {
	var me *models.Error
	if !errors.As(err, &me) {
		return false
	}
	for _, f := range me.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

// TestDoseAccessAndRanges: another patient's dose is not found; list
// ranges are bounded; adherence windows are 7, 28 or 90 days.
func TestDoseAccessAndRanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newMedEnv(t, utc(t, "2026-11-02T06:00:00Z"))
	p := e.patient(t, "pat-a", "Europe/London")
	other := e.patient(t, "pat-b", "Europe/London")
	id := medID(70)
	e.addMed(t, p, services.NewMedication{ID: id, Name: "Ramipril", Schedule: daily("2026-11-02", "08:00")})
	doseID := models.DoseID(id, "2026-11-02", "08:00")
	e.clock.Set(utc(t, "2026-11-02T08:00:00Z"))
	if _, err := e.doses.MarkTaken(ctx, other, doseID, time.Time{}); models.ErrorCode(err) != models.CodeNotFound {
		t.Errorf("other patient's take: %v, want not_found", err)
	}
	if _, err := e.doses.MarkSkipped(ctx, other, doseID, ""); models.ErrorCode(err) != models.CodeNotFound {
		t.Errorf("other patient's skip: %v, want not_found", err)
	}
	if _, err := e.doses.MarkTaken(ctx, p, "nope:2026-11-02T08:00", time.Time{}); models.ErrorCode(err) != models.CodeNotFound {
		t.Errorf("unknown dose: %v, want not_found", err)
	}
	from := utc(t, "2026-11-01T00:00:00Z")
	for _, tt := range []struct {
		name string
		q    services.DoseQuery
		ok   bool
	}{
		{"92 days", services.DoseQuery{From: from, To: from.Add(92 * 24 * time.Hour)}, true},
		{"93 days", services.DoseQuery{From: from, To: from.Add(93 * 24 * time.Hour)}, false},
		{"empty", services.DoseQuery{From: from, To: from}, false},
	} {
		_, err := e.doses.List(ctx, p, tt.q)
		if (err == nil) != tt.ok || (!tt.ok && !hasField(err, "to")) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	for _, days := range []int{0, 1, 14, 30, 365} {
		if _, err := e.doses.Adherence(ctx, p, days, e.clock.Now()); !hasField(err, "days") {
			t.Errorf("adherence over %d days: %v, want invalid days", days, err)
		}
	}
	for _, days := range services.AdherenceWindows {
		a, err := e.doses.Adherence(ctx, p, days, e.clock.Now())
		if err != nil || a.WindowDays != days {
			t.Errorf("adherence over %d days: %+v, %v", days, a, err)
		}
	}
}

// pausingDoseStore holds the first InsertMissing until released, so a
// test can make a planner go stale: read a schedule, then have it edited
// and re-planned by someone else before it writes.
type pausingDoseStore struct {
	services.DosePlanStore
	once    sync.Once
	reached chan struct{}
	release chan struct{}
}

func (p *pausingDoseStore) InsertMissing(ctx context.Context, doses []models.Dose) (int, error) {
	p.once.Do(func() {
		close(p.reached)
		<-p.release
	})
	return p.DosePlanStore.InsertMissing(ctx, doses)
}

// TestStalePlannerIsUndone: a planner (on another instance) that read the
// old schedule writes its doses after an edit was planned; its plan record
// swap fails, it re-plans, and no dose of the old schedule is left ahead.
func TestStalePlannerIsUndone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	start := utc(t, "2026-11-02T06:00:00Z")
	e := newMedEnv(t, start)
	p := e.patient(t, "pat-stale", "Europe/London")
	id := medID(80)
	e.addMed(t, p, services.NewMedication{ID: id, Name: "Ramipril", Schedule: daily("2026-11-02", "08:00")})

	// Two days on the window needs extending: the stale planner plans the
	// old 08:00 doses for 9, 10 and 11 November, and waits.
	now := utc(t, "2026-11-04T12:00:00Z")
	e.clock.Set(now)
	paused := &pausingDoseStore{DosePlanStore: e.st.Doses(), reached: make(chan struct{}), release: make(chan struct{})}
	stale := services.NewDosePlanner(paused, e.st.Medications(), discardLog())
	done := make(chan error, 1)
	go func() { done <- stale.Materialize(ctx, p, now) }()
	<-paused.reached

	evening := daily("2026-11-02", "20:00")
	if _, err := e.meds.Update(ctx, p, id, services.MedicationChange{Schedule: &evening}, nil); err != nil {
		t.Fatal(err)
	}
	close(paused.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, d := range e.stored(t, p.ID) {
		if d.ScheduledAt.After(now) && d.LocalTime != "20:00" {
			t.Errorf("future dose %s of the old schedule left behind", d.ID)
		}
	}
	if n := len(e.stored(t, p.ID)); n != 3+7 { // 2, 3, 4 Nov at 08:00; 4–10 Nov at 20:00
		t.Errorf("%d doses, want 10", n)
	}
}

// crashingDoseStore fails the first recording of a real plan, as if the
// planner died after writing its doses.
type crashingDoseStore struct {
	services.DosePlanStore
	crashed sync.Once
}

func (c *crashingDoseStore) SwapDosePlan(ctx context.Context, medicationID, patientID, prev, next string, through time.Time) (bool, error) {
	crash := false
	if next != "" {
		c.crashed.Do(func() { crash = true })
	}
	if crash {
		return false, errors.New("planner died")
	}
	return c.DosePlanStore.SwapDosePlan(ctx, medicationID, patientID, prev, next, through)
}

// TestPlannerDyingHalfWay: a first planning that wrote its doses but died
// before recording its plan leaves a record that makes the next planning
// reconcile, so a schedule edited meanwhile leaves no stale doses.
func TestPlannerDyingHalfWay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := utc(t, "2026-11-02T06:00:00Z")
	e := newMedEnv(t, now)
	p := e.patient(t, "pat-crash", "Europe/London")
	m := models.Medication{ID: medID(81), PatientID: p.ID, Name: "Ramipril", Schedule: daily("2026-11-02", "08:00"),
		Status: models.MedicationActive, CreatedAt: now, UpdatedAt: now}
	if err := e.st.Medications().Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	dying := services.NewDosePlanner(&crashingDoseStore{DosePlanStore: e.st.Doses()}, e.st.Medications(), discardLog())
	if err := dying.Materialize(ctx, p, now); err == nil {
		t.Fatal("the planner did not die")
	}
	if n := len(e.stored(t, p.ID)); n != 7 {
		t.Fatalf("the dying planner wrote %d doses, want 7", n)
	}
	m.Schedule = daily("2026-11-02", "20:00")
	prev := m.UpdatedAt
	m.UpdatedAt = models.NextUpdatedAt(prev, m.UpdatedAt)
	if ok, err := e.st.Medications().Update(ctx, m, false, prev); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := e.planner.Materialize(ctx, p, now); err != nil {
		t.Fatal(err)
	}
	for _, d := range e.stored(t, p.ID) {
		if d.LocalTime != "20:00" {
			t.Errorf("stale dose %s left behind", d.ID)
		}
	}
}
