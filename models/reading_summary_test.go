package models

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// summaryReading returns a normalised, classified reading taken at takenAt.
func summaryReading(t *testing.T, id string, takenAt time.Time, r Reading) Reading {
	t.Helper()
	r.ID = id
	r.TakenAt = takenAt
	r = mustNormalizeReading(t, r)
	r.Band, r.Rule, _ = Classify(&r, CarePlanTargets{})
	return r
}

func TestSummarizeReadingsGlucose(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2025, 3, d, 8, 0, 0, 0, time.UTC) }
	glucose := func(unit string, v float64) Reading {
		return Reading{Type: ReadingBloodGlucose, Unit: unit, Value: readingPtr(v)}
	}
	deleted := readingNow
	gone := summaryReading(t, "00000000-0000-0000-0000-000000000005", day(5), glucose("mmol/L", 20))
	gone.DeletedAt = &deleted
	latest := summaryReading(t, "00000000-0000-0000-0000-000000000004", day(4), glucose("mmol/L", 15))
	readings := []Reading{
		// 90 mg/dL is 5.00 mmol/L: the summary uses canonical values.
		summaryReading(t, "00000000-0000-0000-0000-000000000001", day(1), glucose("mg/dL", 90)),
		latest,
		summaryReading(t, "00000000-0000-0000-0000-000000000002", day(2), glucose("mmol/L", 6)),
		summaryReading(t, "00000000-0000-0000-0000-000000000003", day(3), glucose("mmol/L", 3.5)),
		gone, // deleted: ignored
		summaryReading(t, "00000000-0000-0000-0000-000000000006", day(5), Reading{Type: ReadingWeight, Unit: "kg", Value: readingPtr(80)}), // other type: ignored
	}

	got := SummarizeReadings(ReadingBloodGlucose, 14, readings, nil)

	// Mean (5.0 + 15 + 6 + 3.5) / 4 = 7.375, rounded to 7.4.
	want := ReadingSummary{
		Type: ReadingBloodGlucose, Days: 14, Unit: "mmol/L", Count: 4,
		Mean: readingPtr(7.4), Min: readingPtr(3.5), Max: readingPtr(15),
		Latest: &latest,
		Bands:  map[string]float64{BandInRange: 0.5, BandHypo: 0.25, BandVeryHigh: 0.25},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

func TestSummarizeReadingsBloodPressureNICEHomeAverage(t *testing.T) {
	// The patient lives at UTC+1. Seven readings over four local days; the
	// one at 23:30 UTC on 1 July is 00:30 on 2 July locally, so it belongs
	// to day 2 and is kept.
	loc := time.FixedZone("BST", 3600)
	at := func(d, hour, min int) time.Time { return time.Date(2024, 7, d, hour, min, 0, 0, loc) }
	bp := func(sys, dia float64) Reading {
		return Reading{Type: ReadingBloodPressure, Unit: "mm[Hg]", Systolic: readingPtr(sys), Diastolic: readingPtr(dia)}
	}
	last := summaryReading(t, "00000000-0000-0000-0000-000000000007", at(4, 7, 0), bp(131, 83))
	readings := []Reading{
		last,
		summaryReading(t, "00000000-0000-0000-0000-000000000001", at(1, 7, 0), bp(160, 100)),                                  // day 1, discarded
		summaryReading(t, "00000000-0000-0000-0000-000000000002", at(1, 19, 0), bp(150, 96)),                                  // day 1, discarded
		summaryReading(t, "00000000-0000-0000-0000-000000000003", at(2, 7, 0), bp(140, 90)),                                   // day 2
		summaryReading(t, "00000000-0000-0000-0000-000000000004", time.Date(2024, 7, 1, 23, 30, 0, 0, time.UTC), bp(136, 86)), // day 2 locally
		summaryReading(t, "00000000-0000-0000-0000-000000000005", at(3, 7, 0), bp(132, 84)),                                   // day 3
		summaryReading(t, "00000000-0000-0000-0000-000000000006", at(3, 19, 0), bp(128, 80)),                                  // day 3
	}

	got := SummarizeReadings(ReadingBloodPressure, 7, readings, loc)

	// Worked by hand. Home average, day 1 discarded, 5 readings over 3 days:
	//   systolic  (140 + 136 + 132 + 128 + 131) / 5 = 667 / 5 = 133.4
	//   diastolic ( 90 +  86 +  84 +  80 +  83) / 5 = 423 / 5 =  84.6
	// Means of all 7 readings:
	//   systolic  (160 + 150 + 667) / 7 = 977 / 7 = 139.57… → 139.6
	//   diastolic (100 +  96 + 423) / 7 = 619 / 7 =  88.43… →  88.4
	// Bands: 160/100 and 150/96 stage 2; 140/90 and 136/86 stage 1; the
	// other three normal: 2/7 = 0.286, 2/7 = 0.286, 3/7 = 0.429.
	want := ReadingSummary{
		Type: ReadingBloodPressure, Days: 7, Unit: "mm[Hg]", Count: 7,
		MeanSystolic: readingPtr(139.6), MeanDiastolic: readingPtr(88.4),
		MinSystolic: readingPtr(128), MaxSystolic: readingPtr(160),
		MinDiastolic: readingPtr(80), MaxDiastolic: readingPtr(100),
		Latest: &last,
		Bands:  map[string]float64{BandHighStage2: 0.286, BandHighStage1: 0.286, BandNormal: 0.429},
		HomeAverage: &BPHomeAverage{
			Systolic: 133.4, Diastolic: 84.6, Days: 3, Readings: 5,
			DiscardedFirstDay: true, EnoughDays: true,
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}

	// Grouped in UTC instead, the 23:30 reading falls on day 1 and is
	// discarded: (140 + 132 + 128 + 131) / 4 = 132.75 → 132.8.
	if got := SummarizeReadings(ReadingBloodPressure, 7, readings, time.UTC).HomeAverage; got.Systolic != 132.8 || got.Readings != 4 {
		t.Errorf("home average grouped in UTC = %+v, want systolic 132.8 over 4 readings", got)
	}
}

func TestSummarizeReadingsBloodPressureOneDay(t *testing.T) {
	at := func(hour int) time.Time { return time.Date(2025, 3, 9, hour, 0, 0, 0, time.UTC) }
	bp := func(sys, dia float64) Reading {
		return Reading{Type: ReadingBloodPressure, Unit: "mm[Hg]", Systolic: readingPtr(sys), Diastolic: readingPtr(dia)}
	}
	readings := []Reading{
		summaryReading(t, "00000000-0000-0000-0000-000000000001", at(7), bp(130, 80)),
		summaryReading(t, "00000000-0000-0000-0000-000000000002", at(19), bp(141, 91)),
	}
	got := SummarizeReadings(ReadingBloodPressure, 7, readings, nil).HomeAverage
	// One day only: it is used, not discarded. (130 + 141) / 2 = 135.5,
	// (80 + 91) / 2 = 85.5.
	want := &BPHomeAverage{Systolic: 135.5, Diastolic: 85.5, Days: 1, Readings: 2, DiscardedFirstDay: false, EnoughDays: false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("home average (-want +got):\n%s", diff)
	}
}

// A pharmacy's clinic reading and an ABPM average count in the summary
// but not in the NICE home average, which is of home readings only.
func TestSummarizeReadingsHomeAverageIsOfHomeReadings(t *testing.T) {
	at := func(day, hour int) time.Time { return time.Date(2025, 3, day, hour, 0, 0, 0, time.UTC) }
	bp := func(sys, dia float64, source string) Reading {
		return Reading{Type: ReadingBloodPressure, Unit: "mm[Hg]", Systolic: readingPtr(sys), Diastolic: readingPtr(dia), Source: source}
	}
	readings := []Reading{
		summaryReading(t, "00000000-0000-0000-0000-000000000001", at(9, 7), bp(130, 80, ReadingSourceHome)),
		summaryReading(t, "00000000-0000-0000-0000-000000000002", at(9, 19), bp(140, 90, ReadingSourceHome)),
		summaryReading(t, "00000000-0000-0000-0000-000000000003", at(9, 11), bp(170, 100, ReadingSourceClinic)),
		summaryReading(t, "00000000-0000-0000-0000-000000000004", at(9, 12), bp(150, 95, ReadingSourceABPM)),
	}
	got := SummarizeReadings(ReadingBloodPressure, 7, readings, nil)
	want := &BPHomeAverage{Systolic: 135, Diastolic: 85, Days: 1, Readings: 2}
	if diff := cmp.Diff(want, got.HomeAverage); diff != "" || got.Count != 4 {
		t.Errorf("home average (-want +got):\n%s (count %d, want 4)", diff, got.Count)
	}
	if got := SummarizeReadings(ReadingBloodPressure, 7, readings[2:], nil); got.HomeAverage != nil || got.Count != 2 {
		t.Errorf("no home readings: home average %+v, count %d; want none and 2", got.HomeAverage, got.Count)
	}
}

func TestSummarizeReadingsUnclassifiedAndEmpty(t *testing.T) {
	weight := func(v float64) Reading { return Reading{Type: ReadingWeight, Unit: "kg", Value: readingPtr(v)} }
	a := summaryReading(t, "00000000-0000-0000-0000-000000000001", readingNow.Add(-2*time.Hour), weight(80))
	b := summaryReading(t, "00000000-0000-0000-0000-000000000002", readingNow.Add(-2*time.Hour), weight(81))
	b.Band = ""              // stored before banding existed
	b.CreatedAt = readingNow // same takenAt: the later stored is latest

	got := SummarizeReadings(ReadingWeight, 30, []Reading{b, a}, nil)
	want := ReadingSummary{
		Type: ReadingWeight, Days: 30, Unit: "kg", Count: 2,
		Mean: readingPtr(80.5), Min: readingPtr(80), Max: readingPtr(81),
		Latest: &b,
		Bands:  map[string]float64{BandUnclassified: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}

	got = SummarizeReadings(ReadingSpO2, 7, nil, nil)
	want = ReadingSummary{Type: ReadingSpO2, Days: 7, Unit: "%", Bands: map[string]float64{}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("empty summary (-want +got):\n%s", diff)
	}
	if got.Bands == nil {
		t.Error("empty summary has nil Bands (JSON null)")
	}
}
