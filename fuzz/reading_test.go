package fuzz_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/concord-health/concord/models"
)

// canonicalRanges are the plausible ranges of canonical values, per type
// and JSON field: the canonical-unit rows of readingPlausibleRanges in
// models/reading_types.go, written out again here as the oracle. A value entered
// in another unit is converted and rounded to 2 decimals, which keeps the
// converted limits inside these (9 mg/dL is 0.50 mmol/L, 1102 lb 499.86
// kg, 113 °F 45 °C).
var canonicalRanges = map[models.ReadingType]map[string][2]float64{
	models.ReadingBloodPressure: {"systolic": {50, 300}, "diastolic": {20, 200}, "pulse": {20, 250}},
	models.ReadingBloodGlucose:  {"value": {0.5, 50}},
	models.ReadingWeight:        {"value": {2, 500}},
	models.ReadingHeartRate:     {"value": {20, 250}},
	models.ReadingSpO2:          {"value": {50, 100}},
	models.ReadingPeakFlow:      {"value": {30, 1000}},
	models.ReadingTemperature:   {"value": {30, 45}},
}

// readingFields are the fields Normalize may name in a problem.
var readingFields = []string{"id", "type", "unit", "value", "systolic", "diastolic", "pulse", "takenAt", "context", "note"}

// glucoseContexts are the contexts a normalised glucose reading may carry.
var glucoseContexts = []string{"fasting", "before_meal", "after_meal", "bedtime", "random"}

// readingInput is one input of FuzzReading.
type readingInput struct {
	id, typ, unit                      string
	value, systolic, diastolic, pulse  float64
	present                            uint8 // bit 0 value, 1 systolic, 2 diastolic, 3 pulse
	context, note                      string
	takenSec, takenNsec                int64
	offsetMin                          int16 // takenAt's zone offset, minutes
	bpSys, bpDia, pefBest, gLow, gHigh float64
	targets                            uint8 // bit 0 bpSys … bit 4 gHigh
}

func (in readingInput) add(f *testing.F) {
	f.Add(in.id, in.typ, in.unit, in.value, in.systolic, in.diastolic, in.pulse, in.present, in.context, in.note,
		in.takenSec, in.takenNsec, in.offsetMin, in.bpSys, in.bpDia, in.pefBest, in.gLow, in.gHigh, in.targets)
}

// FuzzReading checks reading validation and banding on fuzzed fields:
//
//   - Normalize and Classify never panic;
//   - a rejected reading gets one invalid *models.Error naming only the
//     reading's fields, and is left unchanged;
//   - an accepted reading is canonical: a known type, a UCUM unit of that
//     type, canonical values present for the type, finite and within the
//     type's plausible range (systolic above diastolic), takenAt in UTC at
//     millisecond precision between 2000 and now+10 min, the LOINC of its
//     type, a listed glucose context, a note of valid UTF-8 within 1000
//     characters; and normalising it again changes nothing;
//   - Classify changes nothing, bands an accepted reading by a rule of the
//     table (with that rule's band and severity) whatever the care plan,
//     keeps the worst bands (BP 180/120, glucose below 3.0, SpO2 below 92)
//     ahead of any personal target, and leaves a rejected one
//     unclassified.
func FuzzReading(f *testing.F) {
	t0 := time.Date(2026, 11, 24, 8, 30, 0, 0, time.UTC).Unix()
	for _, in := range []readingInput{
		{typ: "blood_pressure", unit: "mmHg", systolic: 128, diastolic: 82, pulse: 64, present: 0b1110, takenSec: t0},
		{typ: "blood_pressure", unit: "mm[Hg]", systolic: 182, diastolic: 121, present: 0b0110, takenSec: t0, bpSys: 130, bpDia: 80, targets: 0b11},
		{typ: "blood_pressure", unit: " MM HG ", systolic: 80, diastolic: 80, present: 0b0110, takenSec: t0},
		{id: "0B5E6C1E-8D3A-4F7E-9C2A-6F1D2E3B4A5C", typ: "blood_glucose", unit: "mg/dL", value: 72, present: 1, context: "Before Meal", takenSec: t0, offsetMin: 60},
		{typ: "blood_glucose", unit: "mmol/L", value: 2.9, present: 1, context: "fasting", takenSec: t0, gLow: 5, gHigh: 9, targets: 0b11000},
		{typ: "blood_glucose", unit: "mg/dL", value: 9, present: 1, context: "random", takenSec: t0},
		{typ: "weight", unit: "lbs", value: 1102, present: 1, takenSec: t0},
		{typ: "weight", unit: "[lb_av]", value: 4.4, present: 1, takenSec: t0},
		{typ: "heart_rate", unit: "bpm", value: 40, present: 1, takenSec: t0, offsetMin: -300},
		{typ: "spo2", unit: "%", value: 91.99, present: 1, takenSec: t0},
		{typ: "peak_flow", unit: "L/min", value: 150, present: 1, takenSec: t0, pefBest: 450, targets: 0b100},
		{typ: "peak_flow", unit: "L/min", value: 150, present: 1, takenSec: t0},
		{typ: "temperature", unit: "°F", value: 113, present: 1, takenSec: t0, note: "après la course ☕"},
		{typ: "temperature", unit: "degC", value: 37.5, present: 1, takenSec: fuzzNow.Add(10 * time.Minute).Unix()},
		// Nasty: out of range, NaN, infinities, negative zero, huge numbers.
		{typ: "spo2", unit: "%", value: math.NaN(), present: 1, takenSec: t0},
		{typ: "weight", unit: "kg", value: math.Inf(1), present: 1, takenSec: t0},
		{typ: "weight", unit: "kg", value: math.Copysign(0, -1), present: 1, takenSec: t0},
		{typ: "blood_glucose", unit: "mg/dL", value: math.MaxFloat64, present: 1, takenSec: t0},
		{typ: "blood_pressure", unit: "mmHg", systolic: math.SmallestNonzeroFloat64, diastolic: -1e308, value: 5, present: 0b1111, takenSec: t0},
		{typ: "blood_glucose", unit: "mg/dL", value: 8.999999999999999, present: 1, takenSec: t0},
		{typ: "temperature", unit: "[degF]", value: 85.99999999999999, present: 1, takenSec: t0},
		// Nasty: case variants, unknown types and units, control characters.
		{typ: "Blood_Pressure", unit: "mmHg", systolic: 120, diastolic: 80, present: 0b0110, takenSec: t0},
		{typ: "weight\x00", unit: "kg", value: 70, present: 1, takenSec: t0},
		{typ: "weight", unit: "KG", value: 70, present: 1, takenSec: t0},
		{typ: "weight", unit: "\u212ag", value: 70, present: 1, takenSec: t0}, // KELVIN SIGN
		{typ: "blood_glucose", unit: "mmol/L", value: 5, present: 1, context: "before-meal\u200b", takenSec: t0},
		{typ: "heart_rate", unit: "/min", value: 70, present: 1, context: "fasting", takenSec: t0},
		// Nasty: ids, notes, times.
		{id: "00000000-0000-0000-0000-000000000000", typ: "spo2", unit: "%", value: 97, present: 1, takenSec: t0},
		{id: "0b5e6c1e8d3a4f7e9c2a6f1d2e3b4a5c", typ: "spo2", unit: "%", value: 97, present: 1, takenSec: t0},
		{id: "0b5e6c1e-8d3a-4f7e-9c2a-6f1d2e3b4a5\xff", typ: "spo2", unit: "%", value: 97, present: 1, takenSec: t0},
		{typ: "spo2", unit: "%", value: 97, present: 1, note: "\xff\xfe\x00", takenSec: t0},
		{typ: "spo2", unit: "%", value: 97, present: 1, note: strings.Repeat("é", 1000), takenSec: t0},
		{typ: "spo2", unit: "%", value: 97, present: 1, note: strings.Repeat("x", 1001), takenSec: t0},
		{typ: "spo2", unit: "%", value: 97, present: 1, note: "\u202egnp.exe\r\n\t\x1b[31m", takenSec: t0},
		{typ: "spo2", unit: "%", value: 97, present: 1, takenSec: 0},
		{typ: "spo2", unit: "%", value: 97, present: 1, takenSec: time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC).Unix(), takenNsec: 999_999_999},
		{typ: "spo2", unit: "%", value: 97, present: 1, takenSec: fuzzNow.Add(10 * time.Minute).Unix(), takenNsec: 1},
		{typ: "spo2", unit: "%", value: 97, present: 1, takenSec: math.MaxInt64, takenNsec: math.MaxInt64},
		{typ: "spo2", unit: "%", value: 97, present: 1, takenSec: math.MinInt64, offsetMin: math.MinInt16},
	} {
		in.add(f)
	}
	// The rule table, for the band and severity of each rule ID.
	rules := map[string]models.BandRule{}
	for _, r := range models.ReadingBandRules() {
		rules[r.ID] = r
	}
	f.Fuzz(func(t *testing.T, id, typ, unit string, value, systolic, diastolic, pulse float64, present uint8, context, note string,
		takenSec, takenNsec int64, offsetMin int16, bpSys, bpDia, pefBest, gLow, gHigh float64, targetMask uint8) {
		skipKnownInput(t, "FuzzReading", id, typ, unit, value, systolic, diastolic, pulse, present, context, note,
			takenSec, takenNsec, offsetMin, bpSys, bpDia, pefBest, gLow, gHigh, targetMask)
		opt := func(bit uint8, v float64) *float64 {
			if present&bit == 0 {
				return nil
			}
			return &v
		}
		r := models.Reading{
			ID: id, Type: models.ReadingType(typ), Unit: unit,
			Value: opt(1, value), Systolic: opt(2, systolic), Diastolic: opt(4, diastolic), Pulse: opt(8, pulse),
			Context: context, Note: note,
			TakenAt: time.Unix(takenSec, takenNsec).In(time.FixedZone("fuzz", int(offsetMin)*60)),
		}
		targets := models.CarePlanTargets{}
		for i, p := range []**float64{&targets.BPSystolicTarget, &targets.BPDiastolicTarget, &targets.PeakFlowPersonalBest, &targets.GlucoseLow, &targets.GlucoseHigh} {
			if targetMask&(1<<i) != 0 {
				v := []float64{bpSys, bpDia, pefBest, gLow, gHigh}[i]
				*p = &v
			}
		}

		before := cloneReading(r)
		err := r.Normalize(fuzzNow)
		if err != nil {
			checkRejected(t, err, readingFields)
			if !cmp.Equal(before, r, exactly...) {
				t.Fatalf("a rejected reading was changed (-before +after):\n%s", cmp.Diff(before, r, exactly...))
			}
			band, rule, sev := models.Classify(&r, targets)
			if band != models.BandUnclassified || rule != "" || sev != models.SeverityNone {
				t.Fatalf("a rejected reading was classified %s/%s/%s", band, rule, sev)
			}
			return
		}
		checkNormalized(t, r, fuzzNow)
		again := cloneReading(r)
		if err := again.Normalize(fuzzNow); err != nil {
			t.Fatalf("normalising a normalised reading %+v: %v", r, err)
		}
		if !cmp.Equal(r, again, exactly...) {
			t.Fatalf("normalising a normalised reading changed it (-once +twice):\n%s", cmp.Diff(r, again, exactly...))
		}

		for _, plan := range []models.CarePlanTargets{{}, targets} {
			before := cloneReading(r)
			band, ruleID, sev := models.Classify(&r, plan)
			if !cmp.Equal(before, r, exactly...) {
				t.Fatalf("Classify changed the reading (-before +after):\n%s", cmp.Diff(before, r, exactly...))
			}
			rule, ok := rules[ruleID]
			if !ok || rule.Type != r.Type || rule.Band != band || rule.Severity != sev {
				t.Fatalf("%+v banded %s/%s/%s, not a rule of the table for %s (plan %+v)", r, band, ruleID, sev, r.Type, plan)
			}
			c := r.Canonical
			var worst string
			switch {
			case r.Type == models.ReadingBloodPressure && (*c.Systolic >= 180 || *c.Diastolic >= 120):
				worst = "bp.severe"
			case r.Type == models.ReadingBloodGlucose && *c.Value < 3.0:
				worst = "glucose.severe_hypo"
			case r.Type == models.ReadingSpO2 && *c.Value < 92:
				worst = "spo2.severe"
			}
			if worst != "" && ruleID != worst {
				t.Fatalf("%+v banded by %s, want %s whatever the care plan (%+v)", c, ruleID, worst, plan)
			}
		}
	})
}

// exactly compares values as they are: NaN equals NaN, and times are equal
// only at the same instant in the same location.
var exactly = []cmp.Option{
	cmpopts.EquateNaNs(),
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) && a.Location() == b.Location() }),
}

// cloneReading copies r with its own value pointers, so that a change
// through one is seen by comparing the two.
func cloneReading(r models.Reading) models.Reading {
	cp := func(p *float64) *float64 {
		if p == nil {
			return nil
		}
		v := *p
		return &v
	}
	r.Value, r.Systolic, r.Diastolic, r.Pulse = cp(r.Value), cp(r.Systolic), cp(r.Diastolic), cp(r.Pulse)
	c := r.Canonical
	r.Canonical.Value, r.Canonical.Systolic, r.Canonical.Diastolic, r.Canonical.Pulse = cp(c.Value), cp(c.Systolic), cp(c.Diastolic), cp(c.Pulse)
	return r
}

// checkRejected: err is one invalid *models.Error with at least one field
// problem, each naming one of fields (or an indexed or nested field of
// one: "times[1]", "stock.quantity").
func checkRejected(t *testing.T, err error, fields []string) {
	t.Helper()
	var me *models.Error
	if !errors.As(err, &me) || me.Code != models.CodeInvalid || len(me.Fields) == 0 {
		t.Fatalf("rejected with %v (%T), want an invalid *models.Error naming fields", err, err)
	}
	for _, fp := range me.Fields {
		name, _, _ := strings.Cut(fp.Field, "[")
		if !slices.Contains(fields, name) && !slices.ContainsFunc(fields, func(f string) bool { return strings.HasPrefix(fp.Field, f+".") }) {
			t.Fatalf("problem %q names field %q, not one of %v", fp.Problem, fp.Field, fields)
		}
		if fp.Problem == "" {
			t.Fatalf("field %q has an empty problem", fp.Field)
		}
	}
}

// checkNormalized holds for every reading Normalize accepted at now, and
// so for every reading the service stores.
func checkNormalized(t *testing.T, r models.Reading, now time.Time) {
	t.Helper()
	if !r.Type.Valid() {
		t.Fatalf("accepted a reading of type %q", r.Type)
	}
	if r.ID != "" && (r.ID != strings.ToLower(r.ID) || len(r.ID) != 36) {
		t.Fatalf("accepted id %q: not a lower-case UUID", r.ID)
	}
	if !slices.Contains(r.Type.Units(), r.Unit) {
		t.Fatalf("accepted unit %q for %s; the units are %v", r.Unit, r.Type, r.Type.Units())
	}
	if r.Canonical.Unit != r.Type.CanonicalUnit() || r.LOINC != r.Type.LOINC() {
		t.Fatalf("canonical unit %q and LOINC %q for %s, want %q and %q", r.Canonical.Unit, r.LOINC, r.Type, r.Type.CanonicalUnit(), r.Type.LOINC())
	}
	if r.TakenAt.Location() != time.UTC || !r.TakenAt.Equal(r.TakenAt.Truncate(time.Millisecond)) {
		t.Fatalf("takenAt %v is not UTC at millisecond precision", r.TakenAt)
	}
	if r.TakenAt.Before(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) || r.TakenAt.After(now.Add(models.ReadingClockSkew)) {
		t.Fatalf("accepted takenAt %v: before 2000 or after now+skew", r.TakenAt)
	}
	if !utf8.ValidString(r.Note) || utf8.RuneCountInString(r.Note) > models.MaxReadingNoteLength {
		t.Fatalf("accepted note of %d bytes: invalid UTF-8 or too long", len(r.Note))
	}
	if r.Context != "" && (r.Type != models.ReadingBloodGlucose || !slices.Contains(glucoseContexts, r.Context)) {
		t.Fatalf("accepted context %q on a %s reading", r.Context, r.Type)
	}
	bp := r.Type == models.ReadingBloodPressure
	c := r.Canonical
	values := map[string]*float64{"value": c.Value, "systolic": c.Systolic, "diastolic": c.Diastolic, "pulse": c.Pulse}
	entered := map[string]*float64{"value": r.Value, "systolic": r.Systolic, "diastolic": r.Diastolic, "pulse": r.Pulse}
	for field, v := range values {
		rg, used := canonicalRanges[r.Type][field]
		if (v == nil) != (entered[field] == nil) {
			t.Fatalf("%s entered %v but canonical %v", field, entered[field], v)
		}
		switch {
		case v == nil:
			if used && field != "pulse" {
				t.Fatalf("accepted a %s reading without %s", r.Type, field)
			}
		case !used:
			t.Fatalf("accepted %s on a %s reading", field, r.Type)
		case math.IsNaN(*v) || *v < rg[0] || *v > rg[1]:
			t.Fatalf("canonical %s %v %s outside the plausible %v (entered %v %s)", field, *v, c.Unit, rg, *entered[field], r.Unit)
		}
	}
	if bp && *c.Systolic <= *c.Diastolic {
		t.Fatalf("accepted %v/%v: systolic not above diastolic", *c.Systolic, *c.Diastolic)
	}
}
