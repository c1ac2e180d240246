package models

import (
	"math"
	"time"
)

// ReadingSummary describes a patient's readings of one type over a window
// of Days days, in the type's canonical Unit. Mean, Min and Max are set for
// single-value types, the systolic and diastolic figures for blood
// pressure; all are nil when there are no readings. Means are rounded to
// one decimal. Bands gives the share (0 to 1, rounded to three decimals) of
// the readings in each band; it is empty, never nil, when Count is 0.
type ReadingSummary struct {
	Type          ReadingType        `json:"type"`
	Days          int                `json:"days"`
	Unit          string             `json:"unit"`
	Count         int                `json:"count"`
	Mean          *float64           `json:"mean,omitempty"`
	Min           *float64           `json:"min,omitempty"`
	Max           *float64           `json:"max,omitempty"`
	MeanSystolic  *float64           `json:"meanSystolic,omitempty"`
	MeanDiastolic *float64           `json:"meanDiastolic,omitempty"`
	MinSystolic   *float64           `json:"minSystolic,omitempty"`
	MaxSystolic   *float64           `json:"maxSystolic,omitempty"`
	MinDiastolic  *float64           `json:"minDiastolic,omitempty"`
	MaxDiastolic  *float64           `json:"maxDiastolic,omitempty"`
	Latest        *Reading           `json:"latest,omitempty"`
	Bands         map[string]float64 `json:"bands"`
	HomeAverage   *BPHomeAverage     `json:"homeAverage,omitempty"`
}

// BPHomeAverage is a home blood pressure average computed the NICE NG136
// way: readings grouped by the patient's local day, the first day's
// readings discarded, all the remaining readings averaged (rounded to one
// decimal). With readings on one day only, that day is used and
// DiscardedFirstDay is false. Days and Readings count what was averaged.
// EnoughDays reports whether the readings span the 4 days NICE asks for at
// least (the discarded first day included); an average without it is
// indicative only.
type BPHomeAverage struct {
	Systolic          float64 `json:"systolic"`
	Diastolic         float64 `json:"diastolic"`
	Days              int     `json:"days"`
	Readings          int     `json:"readings"`
	DiscardedFirstDay bool    `json:"discardedFirstDay"`
	EnoughDays        bool    `json:"enoughDays"`
}

// readingHomeAverageMinDays is the minimum monitoring period of NICE NG136
// (1.2.x, home blood pressure monitoring: "for at least 4 days, ideally for
// 7 days").
const readingHomeAverageMinDays = 4

// SummarizeReadings summarises readings of type rt over the last days days.
// The caller passes the readings in the window; deleted readings, readings
// of other types and readings without canonical values are ignored. Bands
// are counted from each reading's stored Band ("unclassified" when empty).
// For blood pressure it adds the NICE home average of the readings taken
// at home (Setting ReadingSourceHome: logged by hand or imported from a
// device or another app; nil when there are none: a pharmacy's
// clinic reading or an ABPM average is no home reading), grouping days in
// loc (UTC when nil). Latest is a copy of the reading taken last.
func SummarizeReadings(rt ReadingType, days int, readings []Reading, loc *time.Location) ReadingSummary {
	if loc == nil {
		loc = time.UTC
	}
	s := ReadingSummary{Type: rt, Days: days, Unit: rt.CanonicalUnit(), Bands: map[string]float64{}}

	var kept []Reading
	for _, r := range readings {
		if r.Type == rt && r.DeletedAt == nil && r.hasCanonical() {
			kept = append(kept, r)
		}
	}
	if len(kept) == 0 {
		return s
	}
	s.Count = len(kept)

	var value, systolic, diastolic readingStats
	latest := kept[0]
	bandCounts := map[string]int{}
	for _, r := range kept {
		if rt == ReadingBloodPressure {
			systolic.add(*r.Canonical.Systolic)
			diastolic.add(*r.Canonical.Diastolic)
		} else {
			value.add(*r.Canonical.Value)
		}
		band := r.Band
		if band == "" {
			band = BandUnclassified
		}
		bandCounts[band]++
		if r.takenAfter(latest) {
			latest = r
		}
	}
	for band, n := range bandCounts {
		s.Bands[band] = readingRound(float64(n)/float64(len(kept)), 3)
	}
	s.Latest = &latest

	if rt != ReadingBloodPressure {
		s.Mean, s.Min, s.Max = value.summary()
		return s
	}
	s.MeanSystolic, s.MinSystolic, s.MaxSystolic = systolic.summary()
	s.MeanDiastolic, s.MinDiastolic, s.MaxDiastolic = diastolic.summary()
	var home []Reading
	for _, r := range kept {
		if r.Setting() == ReadingSourceHome {
			home = append(home, r)
		}
	}
	if len(home) > 0 {
		s.HomeAverage = readingHomeAverage(home, loc)
	}
	return s
}

// readingHomeAverage computes the NICE home average of blood pressure
// readings with canonical values (at least one).
func readingHomeAverage(readings []Reading, loc *time.Location) *BPHomeAverage {
	// A local calendar day, as midnight UTC of that date: comparable and
	// ordered, whatever loc's offsets.
	dayOf := func(r Reading) time.Time {
		y, m, d := r.TakenAt.In(loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	first := dayOf(readings[0])
	days := map[time.Time]bool{}
	for _, r := range readings {
		d := dayOf(r)
		days[d] = true
		if d.Before(first) {
			first = d
		}
	}
	discard := len(days) > 1

	var systolic, diastolic readingStats
	for _, r := range readings {
		if discard && dayOf(r).Equal(first) {
			continue
		}
		systolic.add(*r.Canonical.Systolic)
		diastolic.add(*r.Canonical.Diastolic)
	}
	used := len(days)
	if discard {
		used--
	}
	return &BPHomeAverage{
		Systolic:          readingRound(systolic.sum/float64(systolic.n), 1),
		Diastolic:         readingRound(diastolic.sum/float64(diastolic.n), 1),
		Days:              used,
		Readings:          systolic.n,
		DiscardedFirstDay: discard,
		EnoughDays:        len(days) >= readingHomeAverageMinDays,
	}
}

// takenAfter orders readings by when they were taken, then by when they
// were stored and by ID, so that "latest" is deterministic.
func (r Reading) takenAfter(o Reading) bool {
	switch {
	case !r.TakenAt.Equal(o.TakenAt):
		return r.TakenAt.After(o.TakenAt)
	case !r.CreatedAt.Equal(o.CreatedAt):
		return r.CreatedAt.After(o.CreatedAt)
	}
	return r.ID > o.ID
}

// readingStats accumulates count, sum, minimum and maximum of values.
type readingStats struct {
	n        int
	sum      float64
	min, max float64
}

func (s *readingStats) add(v float64) {
	if s.n == 0 {
		s.min, s.max = v, v
	}
	s.n++
	s.sum += v
	s.min = math.Min(s.min, v)
	s.max = math.Max(s.max, v)
}

// summary returns the mean (one decimal), minimum and maximum, all nil
// when no value was added.
func (s readingStats) summary() (mean, lo, hi *float64) {
	if s.n == 0 {
		return nil, nil, nil
	}
	m := readingRound(s.sum/float64(s.n), 1)
	lo2, hi2 := s.min, s.max
	return &m, &lo2, &hi2
}
