package models

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// readingNow is the server clock in reading tests.
var readingNow = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

func readingPtr(v float64) *float64 { return &v }

// mustNormalizeReading returns r normalised at readingNow, failing the test
// if it is invalid.
func mustNormalizeReading(t *testing.T, r Reading) Reading {
	t.Helper()
	if r.TakenAt.IsZero() {
		r.TakenAt = readingNow.Add(-time.Hour)
	}
	if err := r.Normalize(readingNow); err != nil {
		t.Fatalf("Normalize(%+v) = %v", r, err)
	}
	return r
}

// readingProblemFields returns the fields an error names, failing the test
// unless it is a CodeInvalid *Error.
func readingProblemFields(t *testing.T, err error) []string {
	t.Helper()
	if got := ErrorCode(err); got != CodeInvalid {
		t.Fatalf("error code = %q (%v), want %q", got, err, CodeInvalid)
	}
	var e *Error
	errors.As(err, &e)
	fields := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		fields[i] = f.Field
	}
	return fields
}

func TestReadingNormalizeConvertsUnits(t *testing.T) {
	taken := time.Date(2025, 3, 10, 9, 30, 15, 123456789, time.FixedZone("BST", 3600))
	takenUTC := time.Date(2025, 3, 10, 8, 30, 15, 123000000, time.UTC)
	tests := []struct {
		name string
		in   Reading
		want Reading
	}{
		{
			name: "blood pressure with mmHg alias and pulse",
			in:   Reading{Type: ReadingBloodPressure, Unit: "mmHg", Systolic: readingPtr(128), Diastolic: readingPtr(82), Pulse: readingPtr(64)},
			want: Reading{Type: ReadingBloodPressure, Unit: "mm[Hg]", Systolic: readingPtr(128), Diastolic: readingPtr(82), Pulse: readingPtr(64),
				Canonical: ReadingCanonical{Unit: "mm[Hg]", Systolic: readingPtr(128), Diastolic: readingPtr(82), Pulse: readingPtr(64)}, LOINC: "85354-9"},
		},
		{
			name: "glucose in mmol/L is kept",
			in:   Reading{Type: ReadingBloodGlucose, Unit: "mmol/L", Value: readingPtr(6.2), Context: "fasting"},
			want: Reading{Type: ReadingBloodGlucose, Unit: "mmol/L", Value: readingPtr(6.2), Context: "fasting",
				Canonical: ReadingCanonical{Unit: "mmol/L", Value: readingPtr(6.2)}, LOINC: "15074-8"},
		},
		{
			// 100 / 18.016 = 5.5506...
			name: "glucose 100 mg/dL is 5.55 mmol/L",
			in:   Reading{Type: ReadingBloodGlucose, Unit: "mg/dL", Value: readingPtr(100), Context: "Before meal"},
			want: Reading{Type: ReadingBloodGlucose, Unit: "mg/dL", Value: readingPtr(100), Context: "before_meal",
				Canonical: ReadingCanonical{Unit: "mmol/L", Value: readingPtr(5.55)}, LOINC: "15074-8"},
		},
		{
			// 72 / 18.016 = 3.9964..., read as 4.00: in range, not a hypo.
			name: "glucose 72 mg/dl (lower case) is 4.00 mmol/L",
			in:   Reading{Type: ReadingBloodGlucose, Unit: "mg/dl", Value: readingPtr(72)},
			want: Reading{Type: ReadingBloodGlucose, Unit: "mg/dL", Value: readingPtr(72),
				Canonical: ReadingCanonical{Unit: "mmol/L", Value: readingPtr(4)}, LOINC: "15074-8"},
		},
		{
			// 150 × 0.45359237 = 68.0388555
			name: "weight 150 lb is 68.04 kg",
			in:   Reading{Type: ReadingWeight, Unit: "lb", Value: readingPtr(150)},
			want: Reading{Type: ReadingWeight, Unit: "[lb_av]", Value: readingPtr(150),
				Canonical: ReadingCanonical{Unit: "kg", Value: readingPtr(68.04)}, LOINC: "29463-7"},
		},
		{
			name: "weight in kg is kept",
			in:   Reading{Type: ReadingWeight, Unit: "kg", Value: readingPtr(81.35)},
			want: Reading{Type: ReadingWeight, Unit: "kg", Value: readingPtr(81.35),
				Canonical: ReadingCanonical{Unit: "kg", Value: readingPtr(81.35)}, LOINC: "29463-7"},
		},
		{
			// (98.6 − 32) × 5/9 = 37
			name: "temperature 98.6 degF is 37 Cel",
			in:   Reading{Type: ReadingTemperature, Unit: "[degF]", Value: readingPtr(98.6)},
			want: Reading{Type: ReadingTemperature, Unit: "[degF]", Value: readingPtr(98.6),
				Canonical: ReadingCanonical{Unit: "Cel", Value: readingPtr(37)}, LOINC: "8310-5"},
		},
		{
			// (100.4 − 32) × 5/9 = 38
			name: "temperature 100.4 F is 38 Cel",
			in:   Reading{Type: ReadingTemperature, Unit: "F", Value: readingPtr(100.4)},
			want: Reading{Type: ReadingTemperature, Unit: "[degF]", Value: readingPtr(100.4),
				Canonical: ReadingCanonical{Unit: "Cel", Value: readingPtr(38)}, LOINC: "8310-5"},
		},
		{
			name: "temperature C alias",
			in:   Reading{Type: ReadingTemperature, Unit: "C", Value: readingPtr(36.8)},
			want: Reading{Type: ReadingTemperature, Unit: "Cel", Value: readingPtr(36.8),
				Canonical: ReadingCanonical{Unit: "Cel", Value: readingPtr(36.8)}, LOINC: "8310-5"},
		},
		{
			name: "heart rate bpm alias",
			in:   Reading{Type: ReadingHeartRate, Unit: "bpm", Value: readingPtr(72)},
			want: Reading{Type: ReadingHeartRate, Unit: "/min", Value: readingPtr(72),
				Canonical: ReadingCanonical{Unit: "/min", Value: readingPtr(72)}, LOINC: "8867-4"},
		},
		{
			name: "spo2",
			in:   Reading{Type: ReadingSpO2, Unit: "%", Value: readingPtr(97)},
			want: Reading{Type: ReadingSpO2, Unit: "%", Value: readingPtr(97),
				Canonical: ReadingCanonical{Unit: "%", Value: readingPtr(97)}, LOINC: "59408-5"},
		},
		{
			name: "peak flow with l/min spelling",
			in:   Reading{Type: ReadingPeakFlow, Unit: "l/min", Value: readingPtr(420)},
			want: Reading{Type: ReadingPeakFlow, Unit: "L/min", Value: readingPtr(420),
				Canonical: ReadingCanonical{Unit: "L/min", Value: readingPtr(420)}, LOINC: "19935-6"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.ID = "0B5E6C1E-8D3A-4F7E-9C2A-6F1D2E3B4A5C"
			in.TakenAt = taken
			if err := in.Normalize(readingNow); err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			want := tt.want
			want.ID = "0b5e6c1e-8d3a-4f7e-9c2a-6f1d2e3b4a5c"
			want.TakenAt = takenUTC
			if diff := cmp.Diff(want, in); diff != "" {
				t.Errorf("normalised reading (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadingNormalizeProblems(t *testing.T) {
	hour := readingNow.Add(-time.Hour)
	bp := func(sys, dia float64) Reading {
		return Reading{Type: ReadingBloodPressure, Unit: "mm[Hg]", TakenAt: hour, Systolic: readingPtr(sys), Diastolic: readingPtr(dia)}
	}
	single := func(typ ReadingType, unit string, v float64) Reading {
		return Reading{Type: typ, Unit: unit, TakenAt: hour, Value: readingPtr(v)}
	}
	with := func(r Reading, edit func(*Reading)) Reading { edit(&r); return r }

	tests := []struct {
		name string
		in   Reading
		want []string // nil: valid
	}{
		{"empty", Reading{}, []string{"type", "takenAt"}},
		{"unknown type", Reading{Type: "cholesterol", Unit: "mmol/L", Value: readingPtr(5), TakenAt: hour}, []string{"type"}},
		{"missing unit", single(ReadingWeight, "", 70), []string{"unit"}},
		{"unit of another type", single(ReadingBloodGlucose, "kg", 5), []string{"unit"}},
		{"bp without values", Reading{Type: ReadingBloodPressure, Unit: "mmHg", TakenAt: hour}, []string{"systolic", "diastolic"}},
		{"bp with value", with(bp(120, 80), func(r *Reading) { r.Value = readingPtr(120) }), []string{"value"}},
		{"value type with systolic and pulse", with(single(ReadingHeartRate, "/min", 70), func(r *Reading) {
			r.Systolic = readingPtr(120)
			r.Pulse = readingPtr(70)
		}), []string{"systolic", "pulse"}},
		{"single value missing", Reading{Type: ReadingSpO2, Unit: "%", TakenAt: hour}, []string{"value"}},
		{"not a number", single(ReadingSpO2, "%", math.NaN()), []string{"value"}},
		{"infinite", single(ReadingSpO2, "%", math.Inf(1)), []string{"value"}},

		{"systolic 50 is the lowest", bp(50, 30), nil},
		{"systolic 49", bp(49, 30), []string{"systolic"}},
		{"systolic 300 is the highest", bp(300, 120), nil},
		{"systolic 301", bp(301, 120), []string{"systolic"}},
		{"diastolic 19", bp(120, 19), []string{"diastolic"}},
		{"diastolic 200", bp(250, 200), nil},
		{"diastolic 201", bp(250, 201), []string{"diastolic"}},
		{"systolic equal to diastolic", bp(100, 100), []string{"systolic"}},
		{"systolic below diastolic", bp(90, 110), []string{"systolic"}},
		{"pulse 251", with(bp(120, 80), func(r *Reading) { r.Pulse = readingPtr(251) }), []string{"pulse"}},
		{"pulse 19", with(bp(120, 80), func(r *Reading) { r.Pulse = readingPtr(19) }), []string{"pulse"}},

		{"glucose 0.5 mmol/L", single(ReadingBloodGlucose, "mmol/L", 0.5), nil},
		{"glucose 0.4 mmol/L", single(ReadingBloodGlucose, "mmol/L", 0.4), []string{"value"}},
		{"glucose 50.1 mmol/L", single(ReadingBloodGlucose, "mmol/L", 50.1), []string{"value"}},
		// 100 would be a plausible mg/dL value but not a plausible mmol/L one.
		{"glucose 100 mmol/L (wrong unit chosen)", single(ReadingBloodGlucose, "mmol/L", 100), []string{"value"}},
		{"glucose 9 mg/dL", single(ReadingBloodGlucose, "mg/dL", 9), nil},
		{"glucose 8 mg/dL", single(ReadingBloodGlucose, "mg/dL", 8), []string{"value"}},
		{"glucose 901 mg/dL", single(ReadingBloodGlucose, "mg/dL", 901), []string{"value"}},
		{"weight 1.9 kg", single(ReadingWeight, "kg", 1.9), []string{"value"}},
		{"weight 500 kg", single(ReadingWeight, "kg", 500), nil},
		{"weight 501 kg", single(ReadingWeight, "kg", 501), []string{"value"}},
		{"weight 4 lb", single(ReadingWeight, "lb", 4), []string{"value"}},
		{"weight 1103 lb", single(ReadingWeight, "[lb_av]", 1103), []string{"value"}},
		{"weight 600 lb", single(ReadingWeight, "lbs", 600), nil},
		{"heart rate 19", single(ReadingHeartRate, "/min", 19), []string{"value"}},
		{"heart rate 251", single(ReadingHeartRate, "/min", 251), []string{"value"}},
		{"spo2 49", single(ReadingSpO2, "%", 49), []string{"value"}},
		{"spo2 100", single(ReadingSpO2, "%", 100), nil},
		{"spo2 101", single(ReadingSpO2, "%", 101), []string{"value"}},
		{"peak flow 29", single(ReadingPeakFlow, "L/min", 29), []string{"value"}},
		{"peak flow 1001", single(ReadingPeakFlow, "L/min", 1001), []string{"value"}},
		{"temperature 29.9 Cel", single(ReadingTemperature, "Cel", 29.9), []string{"value"}},
		{"temperature 45.1 Cel", single(ReadingTemperature, "Cel", 45.1), []string{"value"}},
		{"temperature 85 degF", single(ReadingTemperature, "[degF]", 85), []string{"value"}},
		{"temperature 114 degF", single(ReadingTemperature, "[degF]", 114), []string{"value"}},
		// 37 is plausible in Cel, not in degF.
		{"temperature 37 degF", single(ReadingTemperature, "[degF]", 37), []string{"value"}},

		{"glucose context", with(single(ReadingBloodGlucose, "mmol/L", 5), func(r *Reading) { r.Context = "after-meal" }), nil},
		{"unknown glucose context", with(single(ReadingBloodGlucose, "mmol/L", 5), func(r *Reading) { r.Context = "after dinner" }), []string{"context"}},
		{"context on weight", with(single(ReadingWeight, "kg", 70), func(r *Reading) { r.Context = "fasting" }), []string{"context"}},

		{"taken 10 minutes ahead (clock skew)", with(single(ReadingWeight, "kg", 70), func(r *Reading) { r.TakenAt = readingNow.Add(10 * time.Minute) }), nil},
		{"taken in the future", with(single(ReadingWeight, "kg", 70), func(r *Reading) { r.TakenAt = readingNow.Add(11 * time.Minute) }), []string{"takenAt"}},
		{"taken before 2000", with(single(ReadingWeight, "kg", 70), func(r *Reading) { r.TakenAt = time.Date(1999, 12, 31, 23, 0, 0, 0, time.UTC) }), []string{"takenAt"}},

		{"note of 1000 characters", with(single(ReadingWeight, "kg", 70), func(r *Reading) { r.Note = strings.Repeat("é", 1000) }), nil},
		{"note of 1001 characters", with(single(ReadingWeight, "kg", 70), func(r *Reading) { r.Note = strings.Repeat("a", 1001) }), []string{"note"}},
		{"note not UTF-8", with(single(ReadingWeight, "kg", 70), func(r *Reading) { r.Note = "\xff" }), []string{"note"}},

		{"id not a UUID", with(single(ReadingWeight, "kg", 70), func(r *Reading) { r.ID = "reading-1" }), []string{"id"}},
		{"nil UUID", with(single(ReadingWeight, "kg", 70), func(r *Reading) { r.ID = "00000000-0000-0000-0000-000000000000" }), []string{"id"}},
		{"UUID without hyphens", with(single(ReadingWeight, "kg", 70), func(r *Reading) { r.ID = "0b5e6c1e8d3a4f7e9c2a6f1d2e3b4a5c" }), []string{"id"}},
		{"UUID v7", with(single(ReadingWeight, "kg", 70), func(r *Reading) { r.ID = "01956f4e-9d2b-7c3a-8e1f-2a3b4c5d6e7f" }), nil},

		{"every problem at once", Reading{
			ID: "x", Type: ReadingBloodPressure, Unit: "mmHg", Value: readingPtr(1), Systolic: readingPtr(400),
			Context: "fasting", TakenAt: readingNow.Add(time.Hour), Note: strings.Repeat("n", 1001),
		}, []string{"id", "value", "systolic", "diastolic", "context", "takenAt", "note"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.in
			err := r.Normalize(readingNow)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Normalize = %v, want nil", err)
				}
				return
			}
			if diff := cmp.Diff(tt.want, readingProblemFields(t, err)); diff != "" {
				t.Errorf("problem fields (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.in, r, cmpopts.EquateNaNs()); diff != "" {
				t.Errorf("an invalid reading was changed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadingSameContent(t *testing.T) {
	base := mustNormalizeReading(t, Reading{
		ID: "0b5e6c1e-8d3a-4f7e-9c2a-6f1d2e3b4a5c", Type: ReadingBloodPressure, Unit: "mm[Hg]",
		TakenAt:  time.Date(2025, 3, 10, 8, 0, 0, 0, time.UTC),
		Systolic: readingPtr(128), Diastolic: readingPtr(82), Pulse: readingPtr(64), Note: "after a walk",
	})
	tests := []struct {
		name string
		edit func(*Reading)
		want bool
	}{
		{"identical", func(*Reading) {}, true},
		{"server fields differ", func(r *Reading) {
			deleted := readingNow
			r.ID = "other"
			r.PatientID = "p2"
			r.Band, r.Rule, r.LOINC = BandHighStage1, "bp.stage1", ""
			r.Canonical = ReadingCanonical{}
			r.CreatedAt = readingNow
			r.DeletedAt = &deleted
		}, true},
		{"same instant in another zone", func(r *Reading) { r.TakenAt = r.TakenAt.In(time.FixedZone("X", -5*3600)) }, true},
		{"same instant below millisecond precision", func(r *Reading) { r.TakenAt = r.TakenAt.Add(400 * time.Microsecond) }, true},
		{"same values at new addresses", func(r *Reading) { r.Systolic, r.Pulse = readingPtr(128), readingPtr(64) }, true},
		{"taken a millisecond later", func(r *Reading) { r.TakenAt = r.TakenAt.Add(time.Millisecond) }, false},
		{"other systolic", func(r *Reading) { r.Systolic = readingPtr(129) }, false},
		{"other diastolic", func(r *Reading) { r.Diastolic = readingPtr(81) }, false},
		{"pulse left out", func(r *Reading) { r.Pulse = nil }, false},
		{"value added", func(r *Reading) { r.Value = readingPtr(1) }, false},
		{"other note", func(r *Reading) { r.Note = "" }, false},
		{"other context", func(r *Reading) { r.Context = "fasting" }, false},
		{"other unit", func(r *Reading) { r.Unit = "mmHg" }, false},
		{"other type", func(r *Reading) { r.Type = ReadingHeartRate }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.edit(&o)
			if got := base.SameContent(o); got != tt.want {
				t.Errorf("SameContent = %v, want %v", got, tt.want)
			}
			if got := o.SameContent(base); got != tt.want {
				t.Errorf("SameContent reversed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReadingSameContentAfterRetriedUpload(t *testing.T) {
	// The same upload normalised twice, once with a unit alias, is the same
	// content: a retry answers 200, not 409.
	in := Reading{Type: ReadingBloodGlucose, Unit: "mg/dL", Value: readingPtr(110), Context: "fasting",
		TakenAt: time.Date(2025, 3, 10, 7, 0, 0, 999999, time.UTC)}
	again := in
	again.Unit = "MG/DL"
	again.Context = "Fasting"
	a, b := mustNormalizeReading(t, in), mustNormalizeReading(t, again)
	if !a.SameContent(b) {
		t.Errorf("SameContent(%+v, %+v) = false, want true", a, b)
	}
}

func TestReadingTypes(t *testing.T) {
	type info struct {
		Valid     bool
		Canonical string
		Units     []string
		LOINC     string
	}
	got := map[ReadingType]info{}
	for _, rt := range append(ReadingTypes(), "cholesterol") {
		got[rt] = info{rt.Valid(), rt.CanonicalUnit(), rt.Units(), rt.LOINC()}
	}
	want := map[ReadingType]info{
		ReadingBloodPressure: {true, "mm[Hg]", []string{"mm[Hg]"}, "85354-9"},
		ReadingBloodGlucose:  {true, "mmol/L", []string{"mmol/L", "mg/dL"}, "15074-8"},
		ReadingWeight:        {true, "kg", []string{"kg", "[lb_av]"}, "29463-7"},
		ReadingHeartRate:     {true, "/min", []string{"/min"}, "8867-4"},
		ReadingSpO2:          {true, "%", []string{"%"}, "59408-5"},
		ReadingPeakFlow:      {true, "L/min", []string{"L/min"}, "19935-6"},
		ReadingTemperature:   {true, "Cel", []string{"Cel", "[degF]"}, "8310-5"},
		"cholesterol":        {false, "", nil, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reading types (-want +got):\n%s", diff)
	}
}

func TestReadingPlausibleRangesCoverEveryUnit(t *testing.T) {
	// Every value a type carries, in every unit it accepts, has a range, so
	// nothing is stored unchecked; every accepted unit is reachable through
	// the alias table.
	for _, row := range readingTypeTable {
		fields := []string{"value"}
		if row.typ == ReadingBloodPressure {
			fields = []string{"systolic", "diastolic", "pulse"}
		}
		for _, unit := range row.units {
			if readingUnitFor(strings.ToLower(unit)) != unit {
				t.Errorf("unit %q of %s is not in the spellings table", unit, row.typ)
			}
			if _, ok := readingConversions[unit]; ok == (unit == row.units[0]) {
				t.Errorf("unit %q of %s: conversion present = %v, want %v", unit, row.typ, ok, !ok)
			}
			for _, f := range fields {
				n := 0
				for _, rg := range readingPlausibleRanges {
					if rg.typ == row.typ && rg.unit == unit && rg.field == f {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%s %s in %s: %d plausible ranges, want 1", row.typ, f, unit, n)
				}
			}
		}
	}
}

func TestReadingJSON(t *testing.T) {
	deleted := readingNow
	r := mustNormalizeReading(t, Reading{ID: "0b5e6c1e-8d3a-4f7e-9c2a-6f1d2e3b4a5c", Type: ReadingSpO2, Unit: "%", Value: readingPtr(96)})
	r.PatientID = "p1"
	r.DeletedAt = &deleted
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	want := map[string]bool{"id": true, "patientId": true, "type": true, "takenAt": true, "unit": true, "value": true,
		"canonical": true, "band": true, "rule": true, "loinc": true, "createdAt": true, "updatedAt": true}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("JSON keys (-want +got):\n%s", diff)
	}
}

func TestReadingUnitSpellingsAreUnambiguous(t *testing.T) {
	for unit, others := range readingUnitSpellings {
		for _, s := range append([]string{unit, " " + strings.ToUpper(unit) + " "}, others...) {
			if got := readingUnitFor(s); got != unit {
				t.Errorf("readingUnitFor(%q) = %q, want %q", s, got, unit)
			}
		}
	}
	if got := readingUnitFor("stone"); got != "" {
		t.Errorf(`readingUnitFor("stone") = %q, want ""`, got)
	}
}
