package models

import (
	"math"
	"strings"
)

// ReadingType names a kind of home measurement. Each type has its accepted
// units, a canonical unit, a plausible range per unit and clinical bands.
type ReadingType string

// The reading types (DESIGN.md "Clinical content").
const (
	ReadingBloodPressure ReadingType = "blood_pressure"
	ReadingBloodGlucose  ReadingType = "blood_glucose"
	ReadingWeight        ReadingType = "weight"
	ReadingHeartRate     ReadingType = "heart_rate"
	ReadingSpO2          ReadingType = "spo2"
	ReadingPeakFlow      ReadingType = "peak_flow"
	ReadingTemperature   ReadingType = "temperature"
)

// LOINC codes of the components of a blood pressure panel (LOINC 85354-9),
// for FHIR R4 export.
const (
	LOINCBPSystolic  = "8480-6"
	LOINCBPDiastolic = "8462-4"
	LOINCBPPulse     = "8867-4"
)

// readingTypeSpec is one row of readingTypeTable.
type readingTypeSpec struct {
	typ   ReadingType
	units []string // UCUM, canonical first
	loinc string
}

// readingTypeTable lists, per type, the units accepted (UCUM, the canonical
// unit first) and the LOINC code used in FHIR R4 export (DESIGN.md "Clinical
// content"). Its order is the order of ReadingTypes.
var readingTypeTable = []readingTypeSpec{
	{ReadingBloodPressure, []string{"mm[Hg]"}, "85354-9"},         // blood pressure panel
	{ReadingBloodGlucose, []string{"mmol/L", "mg/dL"}, "15074-8"}, // glucose [moles/volume] in blood
	{ReadingWeight, []string{"kg", "[lb_av]"}, "29463-7"},         // body weight
	{ReadingHeartRate, []string{"/min"}, "8867-4"},                // heart rate
	{ReadingSpO2, []string{"%"}, "59408-5"},                       // SpO2 by pulse oximetry
	{ReadingPeakFlow, []string{"L/min"}, "19935-6"},               // peak expiratory flow
	{ReadingTemperature, []string{"Cel", "[degF]"}, "8310-5"},     // body temperature
}

// readingUnitSpellings lists, per UCUM unit, the other spellings that
// apps, devices and people send for it. Matching ignores case and
// surrounding space; the UCUM spelling is what is stored.
var readingUnitSpellings = map[string][]string{
	"mm[Hg]":  {"mmHg", "mm Hg"},
	"mmol/L":  {},
	"mg/dL":   {},
	"kg":      {"kgs"},
	"[lb_av]": {"lb", "lbs"},
	"/min":    {"bpm", "beats/min", "{beats}/min"},
	"%":       {},
	"L/min":   {},
	"Cel":     {"C", "°C", "degC"},
	"[degF]":  {"F", "°F", "degF"},
}

// readingConversions converts a value in a non-canonical unit to its type's
// canonical unit. Glucose: 1 mmol/L = 18.016 mg/dL (molar mass of glucose,
// 180.16 g/mol; DESIGN.md). Weight: 1 lb = 0.45359237 kg exactly (the
// international avoirdupois pound). Temperature: °C = (°F − 32) × 5/9.
var readingConversions = map[string]func(float64) float64{
	"mg/dL":   func(v float64) float64 { return v / 18.016 },
	"[lb_av]": func(v float64) float64 { return v * 0.45359237 },
	"[degF]":  func(v float64) float64 { return (v - 32) * 5 / 9 },
}

// readingConvertedDecimals is the precision converted values are kept to:
// finer than any home device measures, and coarse enough that a band
// boundary is decided on the number a clinician would read (72 mg/dL is
// 4.00 mmol/L), not on floating-point noise.
const readingConvertedDecimals = 2

// readingPlausibleRanges bounds every value a reading may carry, per type,
// unit and field. A value outside is rejected as a typing or device error,
// never classified. The limits are the measuring ranges of home devices
// (blood pressure monitors, glucose meters reading to about 33 mmol/L,
// pulse oximeters, low- and standard-range peak flow meters) widened to
// the extremes a living person can show, so that every real reading,
// however dangerous, is kept and banded. The mg/dL, lb and °F rows are the
// rounded equivalents of the canonical rows.
var readingPlausibleRanges = []struct {
	typ      ReadingType
	unit     string // the reading's unit as entered
	field    string // the JSON field checked
	min, max float64
	shownIn  string // the unit named in the problem
}{
	{ReadingBloodPressure, "mm[Hg]", "systolic", 50, 300, "mm[Hg]"},
	{ReadingBloodPressure, "mm[Hg]", "diastolic", 20, 200, "mm[Hg]"},
	{ReadingBloodPressure, "mm[Hg]", "pulse", 20, 250, "/min"},
	{ReadingBloodGlucose, "mmol/L", "value", 0.5, 50, "mmol/L"},
	{ReadingBloodGlucose, "mg/dL", "value", 9, 900, "mg/dL"},
	{ReadingWeight, "kg", "value", 2, 500, "kg"},
	{ReadingWeight, "[lb_av]", "value", 4.4, 1102, "[lb_av]"},
	{ReadingHeartRate, "/min", "value", 20, 250, "/min"},
	{ReadingSpO2, "%", "value", 50, 100, "%"},
	{ReadingPeakFlow, "L/min", "value", 30, 1000, "L/min"},
	{ReadingTemperature, "Cel", "value", 30, 45, "Cel"},
	{ReadingTemperature, "[degF]", "value", 86, 113, "[degF]"},
}

// ReadingTypes returns every reading type, in a stable order.
func ReadingTypes() []ReadingType {
	types := make([]ReadingType, len(readingTypeTable))
	for i, row := range readingTypeTable {
		types[i] = row.typ
	}
	return types
}

// Valid reports whether t is one of the reading types.
func (t ReadingType) Valid() bool {
	_, ok := t.spec()
	return ok
}

// Units returns the UCUM units a reading of type t may be entered in, the
// canonical one first; nil for an unknown type.
func (t ReadingType) Units() []string {
	row, ok := t.spec()
	if !ok {
		return nil
	}
	return append([]string(nil), row.units...)
}

// CanonicalUnit returns the UCUM unit t's values are stored and classified
// in, "" for an unknown type.
func (t ReadingType) CanonicalUnit() string {
	row, ok := t.spec()
	if !ok {
		return ""
	}
	return row.units[0]
}

// LOINC returns the LOINC code a reading of type t is exported with (the
// panel code for blood pressure), "" for an unknown type.
func (t ReadingType) LOINC() string {
	row, ok := t.spec()
	if !ok {
		return ""
	}
	return row.loinc
}

func (t ReadingType) spec() (readingTypeSpec, bool) {
	for _, row := range readingTypeTable {
		if row.typ == t {
			return row, true
		}
	}
	return readingTypeSpec{}, false
}

// readingUnitFor returns the UCUM unit s spells, "" if none.
func readingUnitFor(s string) string {
	s = strings.TrimSpace(s)
	for unit, others := range readingUnitSpellings {
		if strings.EqualFold(s, unit) {
			return unit
		}
		for _, o := range others {
			if strings.EqualFold(s, o) {
				return unit
			}
		}
	}
	return ""
}

func readingTypeList() string {
	names := make([]string, len(readingTypeTable))
	for i, row := range readingTypeTable {
		names[i] = string(row.typ)
	}
	return strings.Join(names, ", ")
}

func readingRound(v float64, decimals int) float64 {
	scale := math.Pow10(decimals)
	return math.Round(v*scale) / scale
}
