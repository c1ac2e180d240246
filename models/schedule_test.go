package models_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
)

// schedZone loads an IANA zone or fails the test.
func schedZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load zone %s: %v", name, err)
	}
	return loc
}

// schedUTC parses an RFC 3339 instant or fails the test.
func schedUTC(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return at.UTC()
}

// schedOcc builds an expected occurrence.
func schedOcc(t *testing.T, date, clock, utc string) models.Occurrence {
	t.Helper()
	return models.Occurrence{LocalDate: date, LocalTime: clock, At: schedUTC(t, utc)}
}

func TestScheduleOccurrences(t *testing.T) {
	daily := func(times ...string) models.Schedule {
		return models.Schedule{Times: times, StartDate: "2026-01-01"}
	}
	tests := []struct {
		name     string
		zone     string
		schedule models.Schedule
		from, to string
		want     []models.Occurrence
	}{
		{
			// 2026-03-29, Europe/London: 01:00 GMT jumps to 02:00 BST. 01:30
			// does not exist and moves forward by the hour to 02:30 BST
			// (01:30 UTC); 02:00 BST exists (01:00 UTC), so it comes first.
			name:     "London spring forward",
			zone:     "Europe/London",
			schedule: daily("01:30", "02:00", "08:00"),
			from:     "2026-03-29T00:00:00Z", to: "2026-03-30T00:00:00Z",
			want: []models.Occurrence{
				schedOcc(t, "2026-03-29", "02:00", "2026-03-29T01:00:00Z"),
				schedOcc(t, "2026-03-29", "01:30", "2026-03-29T01:30:00Z"),
				schedOcc(t, "2026-03-29", "08:00", "2026-03-29T07:00:00Z"),
			},
		},
		{
			// 01:30 and 02:30 name one instant on the spring-forward day:
			// two doses, ordered by wall time.
			name:     "London gap time and its image",
			zone:     "Europe/London",
			schedule: daily("01:30", "02:30"),
			from:     "2026-03-29T00:00:00Z", to: "2026-03-29T12:00:00Z",
			want: []models.Occurrence{
				schedOcc(t, "2026-03-29", "01:30", "2026-03-29T01:30:00Z"),
				schedOcc(t, "2026-03-29", "02:30", "2026-03-29T01:30:00Z"),
			},
		},
		{
			// 2026-10-25, Europe/London: 02:00 BST falls back to 01:00 GMT, so
			// 01:30 happens at 00:30 UTC and again at 01:30 UTC. One dose, at
			// the first (BST); the day after is plain GMT.
			name:     "London fall back happens once",
			zone:     "Europe/London",
			schedule: daily("01:30"),
			from:     "2026-10-24T12:00:00Z", to: "2026-10-26T12:00:00Z",
			want: []models.Occurrence{
				schedOcc(t, "2026-10-25", "01:30", "2026-10-25T00:30:00Z"),
				schedOcc(t, "2026-10-26", "01:30", "2026-10-26T01:30:00Z"),
			},
		},
		{
			// The second 01:30 (GMT, 01:30 UTC) is not a dose.
			name:     "London fall back second occurrence is not scheduled",
			zone:     "Europe/London",
			schedule: daily("01:30"),
			from:     "2026-10-25T01:00:00Z", to: "2026-10-25T03:00:00Z",
			want: nil,
		},
		{
			// New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT. time.Date
			// moves 02:30 back to 01:30 EST; the rule moves it forward to
			// 03:30 EDT (07:30 UTC).
			name:     "New York spring forward moves forward",
			zone:     "America/New_York",
			schedule: daily("02:30"),
			from:     "2026-03-08T00:00:00Z", to: "2026-03-09T00:00:00Z",
			want: []models.Occurrence{schedOcc(t, "2026-03-08", "02:30", "2026-03-08T07:30:00Z")},
		},
		{
			// New York, 2026-11-01: 01:30 happens in EDT then EST; first is EDT.
			name:     "New York fall back takes the first",
			zone:     "America/New_York",
			schedule: daily("01:30"),
			from:     "2026-11-01T00:00:00Z", to: "2026-11-02T00:00:00Z",
			want: []models.Occurrence{schedOcc(t, "2026-11-01", "01:30", "2026-11-01T05:30:00Z")},
		},
		{
			// Auckland, 2026-04-05: 03:00 NZDT falls back to 02:00 NZST. time.Date
			// picks NZST for 02:30; the rule takes the first, NZDT (+13),
			// which is 13:30 UTC on the previous UTC day.
			name:     "Auckland fall back takes the first",
			zone:     "Pacific/Auckland",
			schedule: daily("02:30"),
			from:     "2026-04-04T00:00:00Z", to: "2026-04-05T00:00:00Z",
			want: []models.Occurrence{schedOcc(t, "2026-04-05", "02:30", "2026-04-04T13:30:00Z")},
		},
		{
			// Auckland, 2026-09-27: 02:00 NZST jumps to 03:00 NZDT; 02:30
			// becomes 03:30 NZDT = 14:30 UTC on the 26th.
			name:     "Auckland spring forward",
			zone:     "Pacific/Auckland",
			schedule: daily("02:30"),
			from:     "2026-09-26T00:00:00Z", to: "2026-09-27T00:00:00Z",
			want: []models.Occurrence{schedOcc(t, "2026-09-27", "02:30", "2026-09-26T14:30:00Z")},
		},
		{
			// Lord Howe Island shifts by half an hour: on 2026-10-04 02:00
			// (+10:30) jumps to 02:30 (+11); 02:15 becomes 02:45 +11.
			name:     "Lord Howe half-hour gap",
			zone:     "Australia/Lord_Howe",
			schedule: daily("02:15"),
			from:     "2026-10-03T12:00:00Z", to: "2026-10-04T12:00:00Z",
			want: []models.Occurrence{schedOcc(t, "2026-10-04", "02:15", "2026-10-03T15:45:00Z")},
		},
		{
			// Auckland in winter is UTC+12: 08:00 local on 1 June is 20:00 UTC
			// on 31 May, and a UTC day holds the 20:00 of one local date and
			// the 08:00 of the next.
			name:     "Auckland local dates fall on the previous UTC day",
			zone:     "Pacific/Auckland",
			schedule: daily("08:00", "20:00"),
			from:     "2026-05-31T00:00:00Z", to: "2026-06-01T00:00:00Z",
			want: []models.Occurrence{
				schedOcc(t, "2026-05-31", "20:00", "2026-05-31T08:00:00Z"),
				schedOcc(t, "2026-06-01", "08:00", "2026-05-31T20:00:00Z"),
			},
		},
		{
			// Kiritimati is UTC+14 all year.
			name:     "Kiritimati",
			zone:     "Pacific/Kiritimati",
			schedule: daily("08:00", "20:00"),
			from:     "2026-03-09T00:00:00Z", to: "2026-03-10T00:00:00Z",
			want: []models.Occurrence{
				schedOcc(t, "2026-03-09", "20:00", "2026-03-09T06:00:00Z"),
				schedOcc(t, "2026-03-10", "08:00", "2026-03-09T18:00:00Z"),
			},
		},
		{
			// 2026-03-02 is a Monday.
			name:     "days of week",
			zone:     "UTC",
			schedule: models.Schedule{Times: []string{"09:00"}, DaysOfWeek: []string{"thu", "mon"}, StartDate: "2026-01-01"},
			from:     "2026-03-02T00:00:00Z", to: "2026-03-16T00:00:00Z",
			want: []models.Occurrence{
				schedOcc(t, "2026-03-02", "09:00", "2026-03-02T09:00:00Z"),
				schedOcc(t, "2026-03-05", "09:00", "2026-03-05T09:00:00Z"),
				schedOcc(t, "2026-03-09", "09:00", "2026-03-09T09:00:00Z"),
				schedOcc(t, "2026-03-12", "09:00", "2026-03-12T09:00:00Z"),
			},
		},
		{
			// Days of week are local: Sunday 08:00 in Auckland is Saturday in UTC.
			name:     "days of week are local days",
			zone:     "Pacific/Auckland",
			schedule: models.Schedule{Times: []string{"08:00"}, DaysOfWeek: []string{"sun"}, StartDate: "2026-01-01"},
			from:     "2026-06-01T00:00:00Z", to: "2026-06-15T00:00:00Z",
			want: []models.Occurrence{
				schedOcc(t, "2026-06-07", "08:00", "2026-06-06T20:00:00Z"),
				schedOcc(t, "2026-06-14", "08:00", "2026-06-13T20:00:00Z"),
			},
		},
		{
			// Every third day counted from the start (27 Feb), not the window:
			// 27 Feb, 2, 5, 8, 11 Mar.
			name:     "every n days from start date",
			zone:     "Europe/London",
			schedule: models.Schedule{Times: []string{"10:00"}, EveryNDays: 3, StartDate: "2026-02-27"},
			from:     "2026-03-01T00:00:00Z", to: "2026-03-10T00:00:00Z",
			want: []models.Occurrence{
				schedOcc(t, "2026-03-02", "10:00", "2026-03-02T10:00:00Z"),
				schedOcc(t, "2026-03-05", "10:00", "2026-03-05T10:00:00Z"),
				schedOcc(t, "2026-03-08", "10:00", "2026-03-08T10:00:00Z"),
			},
		},
		{
			// Every 2 days across the clock change: 28 Mar is GMT, 30 Mar BST.
			name:     "every n days across DST",
			zone:     "Europe/London",
			schedule: models.Schedule{Times: []string{"10:00"}, EveryNDays: 2, StartDate: "2026-03-28"},
			from:     "2026-03-27T00:00:00Z", to: "2026-04-01T00:00:00Z",
			want: []models.Occurrence{
				schedOcc(t, "2026-03-28", "10:00", "2026-03-28T10:00:00Z"),
				schedOcc(t, "2026-03-30", "10:00", "2026-03-30T09:00:00Z"),
			},
		},
		{
			name:     "start and end dates inclusive",
			zone:     "UTC",
			schedule: models.Schedule{Times: []string{"08:00"}, StartDate: "2026-03-03", EndDate: "2026-03-05"},
			from:     "2026-03-01T00:00:00Z", to: "2026-03-10T00:00:00Z",
			want: []models.Occurrence{
				schedOcc(t, "2026-03-03", "08:00", "2026-03-03T08:00:00Z"),
				schedOcc(t, "2026-03-04", "08:00", "2026-03-04T08:00:00Z"),
				schedOcc(t, "2026-03-05", "08:00", "2026-03-05T08:00:00Z"),
			},
		},
		{
			// Start and end are local dates: in Auckland the dose of 3 March
			// is on 2 March in UTC, and the window is in UTC.
			name:     "start and end are local dates",
			zone:     "Pacific/Auckland",
			schedule: models.Schedule{Times: []string{"09:00"}, StartDate: "2026-03-03", EndDate: "2026-03-03"},
			from:     "2026-03-01T00:00:00Z", to: "2026-03-10T00:00:00Z",
			want: []models.Occurrence{schedOcc(t, "2026-03-03", "09:00", "2026-03-02T20:00:00Z")},
		},
		{
			name:     "from is inclusive, to exclusive",
			zone:     "UTC",
			schedule: daily("08:00"),
			from:     "2026-03-03T08:00:00Z", to: "2026-03-05T08:00:00Z",
			want: []models.Occurrence{
				schedOcc(t, "2026-03-03", "08:00", "2026-03-03T08:00:00Z"),
				schedOcc(t, "2026-03-04", "08:00", "2026-03-04T08:00:00Z"),
			},
		},
		{
			name:     "as needed has none",
			zone:     "UTC",
			schedule: models.Schedule{AsNeeded: true, StartDate: "2026-01-01"},
			from:     "2026-03-01T00:00:00Z", to: "2026-03-10T00:00:00Z",
			want: nil,
		},
		{
			name:     "empty window has none",
			zone:     "UTC",
			schedule: daily("08:00"),
			from:     "2026-03-03T00:00:00Z", to: "2026-03-03T00:00:00Z",
			want: nil,
		},
		{
			name:     "invalid start date has none",
			zone:     "UTC",
			schedule: models.Schedule{Times: []string{"08:00"}, StartDate: "soon"},
			from:     "2026-03-01T00:00:00Z", to: "2026-03-10T00:00:00Z",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := schedZone(t, tt.zone)
			got := tt.schedule.Occurrences(loc, schedUTC(t, tt.from), schedUTC(t, tt.to))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Occurrences() (-want +got):\n%s", diff)
			}
			for _, o := range got {
				if o.At.Location() != time.UTC {
					t.Errorf("occurrence %s %s: At in %v, want UTC", o.LocalDate, o.LocalTime, o.At.Location())
				}
			}
		})
	}
}

// TestScheduleOccurrencesEveryDayAroundDST checks that a whole year of a
// daily schedule in London yields exactly one dose a day per time, each
// showing its wall time (or, across the gap, the wall time plus an hour).
func TestScheduleOccurrencesEveryDayAroundDST(t *testing.T) {
	loc := schedZone(t, "Europe/London")
	s := models.Schedule{Times: []string{"00:00", "01:00", "01:30", "02:00", "12:00", "23:59"}, StartDate: "2026-01-01", EndDate: "2026-12-31"}
	got := s.Occurrences(loc, schedUTC(t, "2025-12-31T00:00:00Z"), schedUTC(t, "2027-01-02T00:00:00Z"))
	if want := 365 * len(s.Times); len(got) != want {
		t.Fatalf("Occurrences() over 2026 = %d, want %d", len(got), want)
	}
	seen := map[string]bool{}
	for i, o := range got {
		key := o.LocalDate + " " + o.LocalTime
		if seen[key] {
			t.Errorf("%s scheduled twice", key)
		}
		seen[key] = true
		if i > 0 && o.At.Before(got[i-1].At) {
			t.Errorf("occurrence %d (%s) is before the one preceding it", i, key)
		}
		wall := o.At.In(loc).Format("2006-01-02 15:04")
		if wall != key && o.LocalDate != "2026-03-29" {
			t.Errorf("%s falls at %s local", key, wall)
		}
	}
}

func TestScheduleAverageDosesPerDay(t *testing.T) {
	tests := []struct {
		name string
		s    models.Schedule
		want float64
	}{
		{"daily twice", models.Schedule{Times: []string{"08:00", "20:00"}}, 2},
		{"three days a week", models.Schedule{Times: []string{"08:00"}, DaysOfWeek: []string{"mon", "wed", "fri"}}, 3.0 / 7},
		{"every other day, twice", models.Schedule{Times: []string{"08:00", "20:00"}, EveryNDays: 2}, 1},
		{"weekly by interval", models.Schedule{Times: []string{"08:00"}, EveryNDays: 7}, 1.0 / 7},
		{"every day by interval", models.Schedule{Times: []string{"08:00"}, EveryNDays: 1}, 1},
		{"as needed", models.Schedule{AsNeeded: true}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.AverageDosesPerDay(); got != tt.want {
				t.Errorf("AverageDosesPerDay() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestScheduleTimeDateIsNotEnough records what time.Date does with wall times
// that do not exist or exist twice, which is why Occurrences resolves them
// itself: its documentation promises neither side, and in practice it moves
// some gaps backwards and picks the later side of some overlaps. If this test
// fails, Go changed; Occurrences does not rely on either behaviour.
func TestScheduleTimeDateIsNotEnough(t *testing.T) {
	tests := []struct {
		zone            string
		y, mo, d, h, mi int
		timeDate        string // what time.Date gives, in UTC
		rule            string // what the schedule rule wants
	}{
		{"Europe/London", 2026, 10, 25, 1, 30, "2026-10-25T01:30:00Z", "2026-10-25T00:30:00Z"},
		{"America/New_York", 2026, 3, 8, 2, 30, "2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z"},
		{"Pacific/Auckland", 2026, 4, 5, 2, 30, "2026-04-04T14:30:00Z", "2026-04-04T13:30:00Z"},
		// Here time.Date already agrees with the rule.
		{"Europe/London", 2026, 3, 29, 1, 30, "2026-03-29T01:30:00Z", "2026-03-29T01:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.zone+" "+tt.timeDate, func(t *testing.T) {
			loc := schedZone(t, tt.zone)
			got := time.Date(tt.y, time.Month(tt.mo), tt.d, tt.h, tt.mi, 0, 0, loc).UTC()
			if want := schedUTC(t, tt.timeDate); !got.Equal(want) {
				t.Errorf("time.Date = %v, want (observed on Go 1.26) %v", got, want)
			}
			s := models.Schedule{Times: []string{time.Date(0, 1, 1, tt.h, tt.mi, 0, 0, time.UTC).Format("15:04")}, StartDate: "2026-01-01"}
			day := time.Date(tt.y, time.Month(tt.mo), tt.d, 0, 0, 0, 0, time.UTC)
			occ := s.Occurrences(loc, day.AddDate(0, 0, -1), day.AddDate(0, 0, 2))
			var at []time.Time
			for _, o := range occ {
				if o.LocalDate == day.Format("2006-01-02") {
					at = append(at, o.At)
				}
			}
			if diff := cmp.Diff([]time.Time{schedUTC(t, tt.rule)}, at); diff != "" {
				t.Errorf("Occurrences on %s (-want +got):\n%s", day.Format("2006-01-02"), diff)
			}
		})
	}
}
