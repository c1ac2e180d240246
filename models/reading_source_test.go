package models

import (
	"testing"
	"time"
)

// TestImportedReadingsAreHomeReadings: readings imported from a device or
// another app are banded by the home bands and count in the NICE home
// average, as readings logged by hand do; clinic readings do not.
func TestImportedReadingsAreHomeReadings(t *testing.T) {
	at := func(hour int) time.Time { return time.Date(2025, 3, 9, hour, 0, 0, 0, time.UTC) }
	bp := func(sys, dia float64, source string) Reading {
		return Reading{Type: ReadingBloodPressure, Unit: "mm[Hg]", Systolic: readingPtr(sys), Diastolic: readingPtr(dia), Source: source}
	}
	readings := []Reading{
		summaryReading(t, "00000000-0000-0000-0000-000000000001", at(7), bp(130, 80, ReadingSourceDevice)),
		summaryReading(t, "00000000-0000-0000-0000-000000000002", at(19), bp(140, 90, ReadingSourceImport)),
		summaryReading(t, "00000000-0000-0000-0000-000000000003", at(11), bp(170, 100, ReadingSourceClinic)),
	}
	for _, r := range readings[:2] {
		hand := r
		hand.Source = ReadingSourceHome
		band, rule, _ := Classify(&hand, CarePlanTargets{})
		if r.Band != band || r.Rule != rule || r.Band == BandUnclassified {
			t.Errorf("%s reading banded %s (%s), by hand %s (%s)", r.Source, r.Band, r.Rule, band, rule)
		}
	}
	got := SummarizeReadings(ReadingBloodPressure, 7, readings, nil)
	if a := got.HomeAverage; a == nil || a.Readings != 2 || a.Systolic != 135 {
		t.Errorf("home average %+v, want the two imported readings (135 systolic)", a)
	}
}
