package models

import (
	"slices"
	"strings"
	"time"
)

// LocalDateLayout and LocalTimeLayout are the formats of a schedule's local
// dates ("2026-03-29") and wall-clock times ("08:00").
const (
	LocalDateLayout = "2006-01-02"
	LocalTimeLayout = "15:04"
)

// Schedule dates outside these years are rejected: they are typing mistakes,
// and bounding them keeps date arithmetic far from overflow.
const (
	minScheduleYear = 1900
	maxScheduleYear = 2200
)

// Occurrence is one scheduled dose time: the local date and wall-clock time
// the schedule names, and the instant (UTC) it falls on in the patient's zone.
type Occurrence struct {
	LocalDate string    `json:"localDate"`
	LocalTime string    `json:"localTime"`
	At        time.Time `json:"at"`
}

// Occurrences returns every scheduled local date and time whose instant is
// in [from, to), ordered by instant (then local time), with At in UTC.
// Dates are the patient's local dates in loc (nil means UTC); StartDate and
// EndDate are inclusive, DaysOfWeek and EveryNDays (counted from StartDate)
// are honoured, and an as-needed or invalid schedule has none.
//
// Clock changes in loc are handled the same way everywhere:
//   - a wall time that does not exist (spring forward) happens at the same
//     instant as it would have without the change, i.e. it moves forward by
//     the gap: 01:30 on 2026-03-29 in Europe/London is 02:30 BST (01:30 UTC);
//   - a wall time that happens twice (autumn) is scheduled once, at its first
//     occurrence: 01:30 on 2026-10-25 in Europe/London is 01:30 BST (00:30 UTC).
//
// (time.Date makes no such promise: it moves some gaps backwards and picks
// either side of an overlap depending on the zone.)
//
// The work is proportional to the number of local days between from and to.
func (s Schedule) Occurrences(loc *time.Location, from, to time.Time) []Occurrence {
	if s.AsNeeded || len(s.Times) == 0 || !from.Before(to) {
		return nil
	}
	if loc == nil {
		loc = time.UTC
	}
	start, ok := parseScheduleDate(s.StartDate)
	if !ok {
		return nil
	}
	var end time.Time
	if s.EndDate != "" {
		if end, ok = parseScheduleDate(s.EndDate); !ok {
			return nil
		}
	}
	type clock struct {
		text         string
		hour, minute int
	}
	clocks := make([]clock, 0, len(s.Times))
	for _, t := range s.Times {
		if c, err := time.Parse(LocalTimeLayout, t); err == nil && IsClock(t) {
			clocks = append(clocks, clock{t, c.Hour(), c.Minute()})
		}
	}

	// A wall time on local date D falls on an instant whose local date is D
	// or, after a gap, later; an overlap can pull an instant back by less
	// than a day. A day's margin each side therefore covers every instant
	// in [from, to).
	first := localDateOf(from.In(loc)).AddDate(0, 0, -1)
	last := localDateOf(to.In(loc)).AddDate(0, 0, 1)
	if first.Before(start) {
		first = start
	}
	if !end.IsZero() && last.After(end) {
		last = end
	}

	var out []Occurrence
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		if !s.scheduledOn(d, start) {
			continue
		}
		date := d.Format(LocalDateLayout)
		for _, c := range clocks {
			at := resolveWallClock(loc, d.Year(), d.Month(), d.Day(), c.hour, c.minute)
			if at.Before(from) || !at.Before(to) {
				continue
			}
			out = append(out, Occurrence{LocalDate: date, LocalTime: c.text, At: at})
		}
	}
	// Across a gap wall times can change order (Europe/London, 2026-03-29:
	// 01:30 moves to 01:30 UTC, after 02:00 BST at 01:00 UTC); callers want
	// instants in order.
	slices.SortStableFunc(out, func(a, b Occurrence) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		if a.LocalDate != b.LocalDate {
			return strings.Compare(a.LocalDate, b.LocalDate)
		}
		return strings.Compare(a.LocalTime, b.LocalTime)
	})
	return out
}

// AverageDosesPerDay is how many doses the schedule implies per day on
// average: times per day × the share of days it is due (n/7 for days of the
// week, 1/n for every n days). It is 0 for an as-needed schedule and
// ignores the start and end dates.
func (s Schedule) AverageDosesPerDay() float64 {
	if s.AsNeeded {
		return 0
	}
	perDay := float64(len(s.Times))
	switch {
	case len(s.DaysOfWeek) > 0:
		days := 0
		for i, d := range s.DaysOfWeek {
			if scheduleWeekdayIndex(d) >= 0 && !slices.Contains(s.DaysOfWeek[:i], d) {
				days++
			}
		}
		return perDay * float64(days) / 7
	case s.EveryNDays > 1:
		return perDay / float64(s.EveryNDays)
	}
	return perDay
}

// scheduledOn reports whether the medicine is due on the local date d (a UTC
// midnight), given the schedule's start date (also a UTC midnight); the end
// date is the caller's business.
func (s Schedule) scheduledOn(d, start time.Time) bool {
	if d.Before(start) {
		return false
	}
	if len(s.DaysOfWeek) > 0 {
		for _, code := range s.DaysOfWeek {
			if i := scheduleWeekdayIndex(code); i >= 0 && scheduleWeekdays[i].day == d.Weekday() {
				return true
			}
		}
		return false
	}
	if s.EveryNDays > 1 {
		days := (d.Unix() - start.Unix()) / 86400
		return days%int64(s.EveryNDays) == 0
	}
	return true
}

// parseScheduleDate parses a local date "YYYY-MM-DD" to its UTC midnight,
// which makes day arithmetic exact.
func parseScheduleDate(s string) (time.Time, bool) {
	d, err := time.Parse(LocalDateLayout, s)
	if err != nil || d.Year() < minScheduleYear || d.Year() > maxScheduleYear {
		return time.Time{}, false
	}
	return d, true
}

// localDateOf returns t's wall-clock date (in t's own location) as a UTC
// midnight.
func localDateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// resolveWallClock returns the UTC instant of a wall-clock time in loc,
// moving a time that does not exist forward by the gap and taking the first
// of a time that happens twice (see Schedule.Occurrences).
func resolveWallClock(loc *time.Location, year int, month time.Month, day, hour, minute int) time.Time {
	// wall is the wall time's seconds as if it were UTC: instant = wall - offset.
	wall := time.Date(year, month, day, hour, minute, 0, 0, time.UTC).Unix()

	// Every offset loc uses within a day and a bit either side: any instant
	// that shows this wall time lies in that span (offsets are within ±26h).
	const span = 27 * 60 * 60
	var offsets []int
	for t := time.Unix(wall-span, 0).In(loc); t.Unix() <= wall+span; {
		_, off := t.Zone()
		if !slices.Contains(offsets, off) {
			offsets = append(offsets, off)
		}
		_, next := t.ZoneBounds()
		if next.IsZero() || !next.After(t) {
			break
		}
		t = next.In(loc)
	}

	// The instants that really show this wall time: one normally, two in an
	// overlap (take the earlier), none in a gap.
	best, found := int64(0), false
	for _, off := range offsets {
		u := wall - int64(off)
		if zoneOffsetAt(loc, u) == off && (!found || u < best) {
			best, found = u, true
		}
	}
	if found {
		return time.Unix(best, 0).UTC()
	}

	// A gap: the offset jumped from o1 to a larger o2. Using the offset in
	// force before the jump (o1) lands the gap's length later on the wall
	// clock. o1 is the offset at wall - o2, just before the jump, where o2 is
	// the largest offset seen.
	largest := slices.Max(offsets)
	before := zoneOffsetAt(loc, wall-int64(largest))
	return time.Unix(wall-int64(before), 0).UTC()
}

// zoneOffsetAt is loc's UTC offset in seconds at a Unix instant.
func zoneOffsetAt(loc *time.Location, unix int64) int {
	_, off := time.Unix(unix, 0).In(loc).Zone()
	return off
}
