package fuzz_test

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has

	"github.com/concord-health/concord/models"
)

// planZones are the zones FuzzSchedule plans in, chosen for their clock
// changes: one-hour DST both hemispheres, a 30-minute DST (Lord Howe), a
// two-hour one (Troll), a skipped day (Apia, 2011-12-30), offsets of +14 h
// and +12:45, negative DST (Casablanca in Ramadan, Dublin's winter time),
// half-hour zones, and zones with no DST. An index past the list plans in
// a fixed offset instead.
var planZones = []string{
	"Europe/London", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe", "Antarctica/Troll",
	"Pacific/Apia", "Pacific/Kiritimati", "Pacific/Chatham", "Africa/Casablanca", "Europe/Dublin",
	"America/St_Johns", "Asia/Kathmandu", "Asia/Kolkata", "America/Santiago", "America/Scoresbysund", "UTC",
}

// planLocations are planZones loaded.
var planLocations = func() []*time.Location {
	out := make([]*time.Location, len(planZones))
	for i, z := range planZones {
		loc, err := time.LoadLocation(z)
		if err != nil {
			panic(err)
		}
		out[i] = loc
	}
	return out
}()

// scheduleFields are the fields Schedule.Validate may name.
var scheduleFields = []string{"times", "daysOfWeek", "everyNDays", "startDate", "endDate"}

// Bounds of FuzzSchedule's planning window: its start within the years
// planYears, its length at most maxPlanSpan (the service plans at most
// 92 days at once, services.MaxDoseListRange).
var (
	planYears   = [2]int{1800, 2300}
	maxPlanSpan = 92 * 24 * time.Hour
)

// scheduleInput is one input of FuzzSchedule.
type scheduleInput struct {
	times, days     string // comma-separated
	everyN          int
	start, end      string
	asNeeded        bool
	zone            uint8
	offsetMin       int16
	fromSec         int64
	spanMin         uint32
	stoppedAfterMin int32 // > 0: stopped this long after the window starts
}

func (in scheduleInput) add(f *testing.F) {
	f.Add(in.times, in.days, in.everyN, in.start, in.end, in.asNeeded, in.zone, in.offsetMin, in.fromSec, in.spanMin, in.stoppedAfterMin)
}

// FuzzSchedule checks medication and schedule validation and dose
// planning (models.PlanDoses) over a fuzzed schedule, time zone and
// window:
//
//   - Normalized, Validate, AverageDosesPerDay and PlanDoses never panic;
//     normalising twice is normalising once;
//   - a rejected schedule gets an invalid *models.Error naming only
//     schedule fields, and the medication holding it is rejected naming
//     them under "schedule"; a valid one makes a valid medication;
//   - every planned dose, for any schedule, lies in [from, to) (and before
//     a stopped medication's stop), in instant order, pending, of this
//     medication and patient, at one of the schedule's times, on a local
//     date between its start and end dates;
//   - for a valid schedule the dose ids are unique and made by
//     models.DoseID, every dose falls on a day the schedule is due
//     (daysOfWeek, everyNDays), its instant shows its local date and time
//     in the zone unless that wall time was skipped by a clock change (then
//     the instant is at most a day later on the wall clock, just after a
//     change), and every due wall time that is a safe margin (25 h) inside
//     the window is planned.
func FuzzSchedule(f *testing.F) {
	nov := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC).Unix()
	springUK := time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC).Unix()
	autumnUK := time.Date(2026, 10, 23, 0, 0, 0, 0, time.UTC).Unix()
	apia := time.Date(2011, 12, 27, 0, 0, 0, 0, time.UTC).Unix()
	const week = 7 * 24 * 60
	for _, in := range []scheduleInput{
		{times: "08:00", start: "2026-11-01", fromSec: nov, spanMin: week},
		{times: "20:00,08:00", days: "Mon,wed, FRI", start: "2026-11-01", end: "2027-05-01", fromSec: nov, spanMin: 4 * week, zone: 1},
		{times: "07:00", everyN: 7, start: "2026-11-01", fromSec: nov, spanMin: 8 * week, zone: 2},
		{asNeeded: true, start: "2026-11-01", fromSec: nov, spanMin: week},
		{times: "08:00,13:00,18:00,22:00", start: "2026-11-01", end: "2026-11-22", fromSec: nov, spanMin: week, stoppedAfterMin: 2*24*60 + 30},
		// Clock changes: spring gap and autumn overlap in London, Lord
		// Howe's half hour, Troll's two hours, Apia's lost day.
		{times: "00:30,01:00,01:30,02:00,02:30", start: "2026-01-01", fromSec: springUK, spanMin: 4 * 24 * 60},
		{times: "00:30,01:00,01:30,02:00,02:30", start: "2026-01-01", fromSec: autumnUK, spanMin: 4 * 24 * 60},
		{times: "01:45,02:00,02:15", start: "2026-01-01", fromSec: time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC).Unix(), spanMin: 4 * 24 * 60, zone: 3},
		{times: "01:00,02:00,03:00", start: "2026-01-01", fromSec: time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC).Unix(), spanMin: 4 * 24 * 60, zone: 4},
		{times: "00:00,12:00,23:59", start: "2011-12-01", fromSec: apia, spanMin: 6 * 24 * 60, zone: 5},
		{times: "08:00", days: "sat,sun", start: "2011-12-01", fromSec: apia, spanMin: 6 * 24 * 60, zone: 5},
		{times: "23:30", start: "2026-01-01", fromSec: nov, spanMin: week, zone: 255, offsetMin: 14 * 60},
		{times: "00:15", start: "2026-01-01", fromSec: nov, spanMin: week, zone: 254, offsetMin: -12 * 60},
		// Edges of the accepted years and of the window.
		{times: "08:00", start: "1900-01-01", end: "1900-01-03", fromSec: time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC).Unix(), spanMin: week},
		{times: "08:00", start: "2200-12-30", fromSec: time.Date(2200, 12, 29, 0, 0, 0, 0, time.UTC).Unix(), spanMin: week},
		{times: "08:00", start: "2026-11-01", fromSec: nov, spanMin: 0},
		{times: "08:00", start: "2026-11-01", fromSec: nov, spanMin: math.MaxUint32},
		// Nasty: invalid times, days, intervals and dates.
		{times: "24:00,8:00,08:60,08:00:00,٠٨:٠٠", start: "2026-11-01", fromSec: nov, spanMin: week},
		{times: "08:00,08:00, 08:00", start: "2026-11-01", fromSec: nov, spanMin: week},
		{times: "00:00,01:00,02:00,03:00,04:00,05:00,06:00,07:00,08:00,09:00,10:00,11:00,12:00", start: "2026-11-01", fromSec: nov, spanMin: week},
		{times: "08:00", days: "mon,MON,Monday,\u212aun,", start: "2026-11-01", fromSec: nov, spanMin: week},
		{times: "08:00", days: "mon", everyN: 2, start: "2026-11-01", fromSec: nov, spanMin: week},
		{times: "08:00", everyN: -1, start: "2026-11-01", fromSec: nov, spanMin: week},
		{times: "08:00", everyN: 366, start: "2026-11-01", fromSec: nov, spanMin: week},
		{times: "08:00", everyN: math.MaxInt, start: "2026-11-01", fromSec: nov, spanMin: week},
		{times: "08:00", start: "2026-02-30", fromSec: nov, spanMin: week},
		{times: "08:00", start: "+2026-11-01", end: "2026-10-31", fromSec: nov, spanMin: week},
		{times: "08:00", start: "2026-11-01\x00", fromSec: nov, spanMin: week},
		{times: "08:00", start: "", fromSec: nov, spanMin: week},
		{times: "08:00", asNeeded: true, days: "mon", everyN: 3, start: "2026-11-01", fromSec: nov, spanMin: week},
		{times: "08:00", start: "2026-11-01", fromSec: math.MinInt64, spanMin: week},
		{times: "08:00", start: "2026-11-01", fromSec: math.MaxInt64, spanMin: week, stoppedAfterMin: math.MinInt32},
	} {
		in.add(f)
	}
	f.Fuzz(func(t *testing.T, times, days string, everyN int, start, end string, asNeeded bool, zone uint8, offsetMin int16,
		fromSec int64, spanMin uint32, stoppedAfterMin int32) {
		skipKnownInput(t, "FuzzSchedule", times, days, everyN, start, end, asNeeded, zone, offsetMin, fromSec, spanMin, stoppedAfterMin)
		s := models.Schedule{Times: splitList(times), DaysOfWeek: splitList(days), EveryNDays: everyN,
			StartDate: start, EndDate: end, AsNeeded: asNeeded}
		n := s.Normalized()
		if twice := n.Normalized(); !reflect.DeepEqual(twice, n) {
			t.Fatalf("normalising twice: %+v, once: %+v", twice, n)
		}
		valid := n.Validate() == nil
		if err := n.Validate(); err != nil {
			checkRejected(t, err, scheduleFields)
		}
		m := models.Medication{ID: "0198f0e4-7a4c-7cde-8f00-5b5c6d7e8f90", PatientID: "patient-1", Name: "Fuzzamol", Schedule: n, Status: models.MedicationActive}
		if err := m.Validate(); (err == nil) != valid {
			t.Fatalf("schedule valid %v, but the medication's Validate says %v", valid, err)
		} else if err != nil {
			checkRejected(t, err, []string{"schedule"})
		}
		if avg := n.AverageDosesPerDay(); math.IsNaN(avg) || avg < 0 || (valid && avg > models.MaxDoseTimesPerDay) {
			t.Fatalf("AverageDosesPerDay %v for %+v", avg, n)
		}

		// The window: from within planYears, at most maxPlanSpan long.
		years := int64(planYears[1]-planYears[0]) * 365 * 86400
		base := time.Date(planYears[0], 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		from := time.Unix(base+((fromSec%years)+years)%years, 0).UTC()
		to := from.Add(time.Duration(spanMin) * time.Minute % (maxPlanSpan + time.Minute))
		var loc *time.Location
		if int(zone) < len(planLocations) {
			loc = planLocations[zone]
		} else {
			loc = time.FixedZone("fuzz", int(offsetMin)%(26*60)*60)
		}
		if stoppedAfterMin > 0 {
			at := from.Add(time.Duration(stoppedAfterMin) * time.Minute)
			m.Status, m.StoppedAt = models.MedicationStopped, &at
		}
		doses := models.PlanDoses(m, loc, from, to)

		before := to
		if m.StoppedAt != nil && m.StoppedAt.Before(to) {
			before = *m.StoppedAt
		}
		startDate, _ := time.Parse(models.LocalDateLayout, n.StartDate)
		endDate, _ := time.Parse(models.LocalDateLayout, n.EndDate)
		ids := map[string]bool{}
		planned := map[string]bool{} // local date + "T" + time
		for i, d := range doses {
			switch {
			case d.ScheduledAt.Before(from) || !d.ScheduledAt.Before(before):
				t.Fatalf("dose %s at %v outside [%v, %v)", d.ID, d.ScheduledAt, from, before)
			case i > 0 && d.ScheduledAt.Before(doses[i-1].ScheduledAt):
				t.Fatalf("dose %s at %v before the dose listed ahead of it, at %v", d.ID, d.ScheduledAt, doses[i-1].ScheduledAt)
			case d.ScheduledAt.Location() != time.UTC:
				t.Fatalf("dose %s at %v not in UTC", d.ID, d.ScheduledAt)
			case d.Status != models.DosePending || d.MedicationID != m.ID || d.PatientID != m.PatientID:
				t.Fatalf("dose %+v: want pending, of medication %s and patient %s", d, m.ID, m.PatientID)
			case !models.IsClock(d.LocalTime) || !slices.Contains(n.Times, d.LocalTime):
				t.Fatalf("dose %s at local time %q, not one of the schedule's %q", d.ID, d.LocalTime, n.Times)
			}
			date, err := time.Parse(models.LocalDateLayout, d.LocalDate)
			if err != nil || date.Before(startDate) || (n.EndDate != "" && date.After(endDate)) {
				t.Fatalf("dose %s on %q, outside %q..%q", d.ID, d.LocalDate, n.StartDate, n.EndDate)
			}
			if !valid {
				continue
			}
			if ids[d.ID] || d.ID != models.DoseID(m.ID, d.LocalDate, d.LocalTime) {
				t.Fatalf("dose id %q repeated or not DoseID(%s, %s, %s)", d.ID, m.ID, d.LocalDate, d.LocalTime)
			}
			ids[d.ID] = true
			planned[d.LocalDate+"T"+d.LocalTime] = true
			if !dueOn(n, startDate, date) {
				t.Fatalf("dose %s on %s (%s), a day the schedule %+v is not due", d.ID, d.LocalDate, date.Weekday(), n)
			}
			checkWallClock(t, d, loc)
		}
		if !valid || n.AsNeeded {
			return
		}
		// Completeness: every due wall time whose instant (by time.Date,
		// exact away from clock changes) is 25 h inside the window.
		first := time.Date(from.In(loc).Year(), from.In(loc).Month(), from.In(loc).Day(), 0, 0, 0, 0, time.UTC)
		for day := first; day.Before(to.Add(48 * time.Hour)); day = day.AddDate(0, 0, 1) {
			if day.Before(startDate) || (n.EndDate != "" && day.After(endDate)) || !dueOn(n, startDate, day) {
				continue
			}
			for _, hm := range n.Times {
				c, _ := time.Parse(models.LocalTimeLayout, hm)
				at := time.Date(day.Year(), day.Month(), day.Day(), c.Hour(), c.Minute(), 0, 0, loc)
				if at.Before(from.Add(25*time.Hour)) || !at.Before(before.Add(-25*time.Hour)) {
					continue
				}
				if key := day.Format(models.LocalDateLayout) + "T" + hm; !planned[key] {
					t.Fatalf("%s %s in %s (at %v) is due and inside [%v, %v) but not planned; schedule %+v", key, loc, loc, at, from, before, n)
				}
			}
		}
	})
}

// splitList splits a comma-separated fuzz string; "" is no list.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// dueOn reports whether the valid schedule s (starting on start) is due on
// the local date day, by its days of the week or its interval: written
// here again as the oracle for PlanDoses.
func dueOn(s models.Schedule, start, day time.Time) bool {
	if len(s.DaysOfWeek) > 0 {
		code := strings.ToLower(day.Weekday().String()[:3])
		return slices.Contains(s.DaysOfWeek, code)
	}
	if s.EveryNDays > 1 {
		return int(day.Sub(start).Hours()/24)%s.EveryNDays == 0
	}
	return true
}

// checkWallClock: the dose's instant shows its local date and time in loc,
// or that wall time did not exist (a clock change skipped it) and the
// instant shows a wall time at most a day later, with a change of offset
// in the day before it.
func checkWallClock(t *testing.T, d models.Dose, loc *time.Location) {
	t.Helper()
	want, err := time.Parse(models.LocalDateLayout+"T"+models.LocalTimeLayout, d.LocalDate+"T"+d.LocalTime)
	if err != nil {
		t.Fatalf("dose %s: local date and time %q %q do not parse: %v", d.ID, d.LocalDate, d.LocalTime, err)
	}
	local := d.ScheduledAt.In(loc)
	shown := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), local.Second(), 0, time.UTC)
	if shown.Equal(want) {
		return
	}
	_, offNow := local.Zone()
	_, offBefore := d.ScheduledAt.Add(-25 * time.Hour).In(loc).Zone()
	if late := shown.Sub(want); late <= 0 || late > 24*time.Hour || offNow == offBefore {
		t.Fatalf("dose %s at %v shows %s in %s, want %s (or a skipped wall time moved a little later)", d.ID, d.ScheduledAt,
			shown.Format("2006-01-02T15:04:05"), loc, want.Format("2006-01-02T15:04"))
	}
}
