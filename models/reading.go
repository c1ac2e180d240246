package models

import (
	"math"
	"slices"
	"strings"
	"time"
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

// The contexts a blood glucose reading may carry.
const (
	GlucoseContextFasting    = "fasting"
	GlucoseContextBeforeMeal = "before_meal"
	GlucoseContextAfterMeal  = "after_meal"
	GlucoseContextBedtime    = "bedtime"
	GlucoseContextRandom     = "random"
)

// Limits on a reading's fields that are not clinical rules.
const (
	// MaxReadingNoteLength bounds a reading's note, in characters.
	MaxReadingNoteLength = 1000
	// ReadingClockSkew is how far after the server's clock a reading's
	// takenAt may be: phones' clocks drift, and a reading is not from the
	// future.
	ReadingClockSkew = 10 * time.Minute
)

// readingEarliest is the earliest takenAt accepted: anything before it is a
// device whose clock was never set.
var readingEarliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

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

// readingGlucoseContexts are the accepted glucose contexts, in the order
// problems name them.
var readingGlucoseContexts = []string{
	GlucoseContextFasting, GlucoseContextBeforeMeal, GlucoseContextAfterMeal,
	GlucoseContextBedtime, GlucoseContextRandom,
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

// ReadingCanonical holds a reading's values converted to its type's
// canonical unit; classification and summaries use only these.
type ReadingCanonical struct {
	Unit      string   `json:"unit" bson:"unit"`
	Value     *float64 `json:"value,omitempty" bson:"value,omitempty"`
	Systolic  *float64 `json:"systolic,omitempty" bson:"systolic,omitempty"`
	Diastolic *float64 `json:"diastolic,omitempty" bson:"diastolic,omitempty"`
	Pulse     *float64 `json:"pulse,omitempty" bson:"pulse,omitempty"`
}

// Reading is one measurement a patient took. Unit and the values are kept
// as entered; Canonical holds them in the type's canonical unit. Blood
// pressure carries Systolic, Diastolic and optionally Pulse; every other
// type carries Value. Server-owned fields (PatientID, Canonical, Band, Rule,
// LOINC, CreatedAt, DeletedAt) are set by services, never from a request.
type Reading struct {
	ID        string           `json:"id" bson:"_id"`
	PatientID string           `json:"patientId" bson:"patientId"`
	Type      ReadingType      `json:"type" bson:"type"`
	TakenAt   time.Time        `json:"takenAt" bson:"takenAt"`
	Unit      string           `json:"unit" bson:"unit"`
	Value     *float64         `json:"value,omitempty" bson:"value,omitempty"`
	Systolic  *float64         `json:"systolic,omitempty" bson:"systolic,omitempty"`
	Diastolic *float64         `json:"diastolic,omitempty" bson:"diastolic,omitempty"`
	Pulse     *float64         `json:"pulse,omitempty" bson:"pulse,omitempty"`
	Context   string           `json:"context,omitempty" bson:"context,omitempty"`
	Note      string           `json:"note,omitempty" bson:"note,omitempty"`
	Canonical ReadingCanonical `json:"canonical" bson:"canonical"`
	Band      string           `json:"band" bson:"band"`
	Rule      string           `json:"rule" bson:"rule"`
	LOINC     string           `json:"loinc" bson:"loinc"`
	CreatedAt time.Time        `json:"createdAt" bson:"createdAt"`
	DeletedAt *time.Time       `json:"-" bson:"deletedAt,omitempty"`
}

// Normalize validates the client-supplied fields of r against now and, when
// they are all valid, puts them in canonical form: the id lower-cased, the
// unit in its UCUM spelling, the glucose context in its listed spelling,
// takenAt in UTC at millisecond precision (what BSON stores), Canonical
// filled in and LOINC set from the type. It returns a CodeInvalid *Error
// naming every bad field (JSON names: id, type, unit, value, systolic,
// diastolic, pulse, takenAt, context, note) and then leaves r unchanged. An
// empty ID is allowed (the server assigns one). Normalize does not
// classify: call Classify afterwards.
func (r *Reading) Normalize(now time.Time) error {
	var p Problems

	id := strings.ToLower(r.ID)
	if r.ID != "" && !readingIsUUID(id) {
		p.Add("id", "must be a UUID such as 0b5e6c1e-8d3a-4f7e-9c2a-6f1d2e3b4a5c, not the nil UUID")
	}

	row, typeOK := r.Type.spec()
	switch {
	case r.Type == "":
		p.Add("type", "is required")
	case !typeOK:
		p.Add("type", "must be one of %s", readingTypeList())
	}

	unit := readingUnitFor(r.Unit)
	if typeOK {
		switch {
		case strings.TrimSpace(r.Unit) == "":
			p.Add("unit", "is required")
			unit = ""
		case !slices.Contains(row.units, unit):
			p.Add("unit", "must be one of %s for %s readings", strings.Join(row.units, ", "), r.Type)
			unit = ""
		}
		r.checkValues(&p, unit)
	}

	glucoseContext := strings.ToLower(strings.TrimSpace(r.Context))
	glucoseContext = strings.NewReplacer(" ", "_", "-", "_").Replace(glucoseContext)
	if glucoseContext != "" && typeOK {
		switch {
		case r.Type != ReadingBloodGlucose:
			p.Add("context", "is only recorded for %s readings", ReadingBloodGlucose)
		case !slices.Contains(readingGlucoseContexts, glucoseContext):
			p.Add("context", "must be one of %s", strings.Join(readingGlucoseContexts, ", "))
		}
	}

	switch {
	case r.TakenAt.IsZero():
		p.Add("takenAt", "is required")
	case r.TakenAt.Before(readingEarliest):
		p.Add("takenAt", "must not be before %s", readingEarliest.Format(time.DateOnly))
	case r.TakenAt.After(now.Add(ReadingClockSkew)):
		p.Add("takenAt", "must not be in the future")
	}

	ValidateText("note", r.Note, MaxReadingNoteLength, true, &p)

	if err := p.Err(); err != nil {
		return err
	}

	r.ID = id
	r.Unit = unit
	r.Context = glucoseContext
	r.TakenAt = r.TakenAt.UTC().Truncate(time.Millisecond)
	r.LOINC = row.loinc
	convert := readingConversions[unit]
	canonical := func(v *float64) *float64 {
		if v == nil {
			return nil
		}
		x := *v
		if convert != nil {
			x = readingRound(convert(x), readingConvertedDecimals)
		}
		return &x
	}
	r.Canonical = ReadingCanonical{
		Unit:      row.units[0],
		Value:     canonical(r.Value),
		Systolic:  canonical(r.Systolic),
		Diastolic: canonical(r.Diastolic),
		Pulse:     canonical(r.Pulse),
	}
	return nil
}

// checkValues records problems with the values of a reading of a known
// type: which are required or not used, and whether each lies in its
// plausible range for unit ("" when the unit is bad, which skips ranges).
func (r *Reading) checkValues(p *Problems, unit string) {
	bp := r.Type == ReadingBloodPressure
	fields := []struct {
		name     string
		v        *float64
		used     bool
		required bool
	}{
		{"value", r.Value, !bp, !bp},
		{"systolic", r.Systolic, bp, bp},
		{"diastolic", r.Diastolic, bp, bp},
		{"pulse", r.Pulse, bp, false},
	}
	inRange := map[string]bool{}
	for _, f := range fields {
		switch {
		case f.v == nil:
			if f.required {
				p.Add(f.name, "is required for %s readings", r.Type)
			}
		case !f.used:
			p.Add(f.name, "is not used for %s readings", r.Type)
		case math.IsNaN(*f.v) || math.IsInf(*f.v, 0):
			p.Add(f.name, "must be a number")
		case unit != "":
			for _, rg := range readingPlausibleRanges {
				if rg.typ != r.Type || rg.unit != unit || rg.field != f.name {
					continue
				}
				if *f.v < rg.min || *f.v > rg.max {
					p.Add(f.name, "must be between %g and %g %s", rg.min, rg.max, rg.shownIn)
				} else {
					inRange[f.name] = true
				}
			}
		}
	}
	if inRange["systolic"] && inRange["diastolic"] && *r.Systolic <= *r.Diastolic {
		p.Add("systolic", "must be higher than diastolic")
	}
}

// hasCanonical reports whether r's canonical values are complete for its
// type, as Normalize leaves them.
func (r Reading) hasCanonical() bool {
	if r.Canonical.Unit == "" || r.Canonical.Unit != r.Type.CanonicalUnit() {
		return false
	}
	if r.Type == ReadingBloodPressure {
		return r.Canonical.Systolic != nil && r.Canonical.Diastolic != nil
	}
	return r.Canonical.Value != nil
}

// SameContent reports whether r and o carry the same client-supplied
// content: type, the takenAt instant (at the millisecond precision stored),
// unit, values, context and note. Server-owned fields, the ID included, are
// ignored, so a retried upload of a stored reading compares equal. Compare
// normalised readings; callers must check PatientID themselves, since a
// reading's ID is unique across patients.
func (r Reading) SameContent(o Reading) bool {
	return r.Type == o.Type &&
		r.TakenAt.Truncate(time.Millisecond).Equal(o.TakenAt.Truncate(time.Millisecond)) &&
		r.Unit == o.Unit &&
		readingSameValue(r.Value, o.Value) &&
		readingSameValue(r.Systolic, o.Systolic) &&
		readingSameValue(r.Diastolic, o.Diastolic) &&
		readingSameValue(r.Pulse, o.Pulse) &&
		r.Context == o.Context &&
		r.Note == o.Note
}

func readingSameValue(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// readingIsUUID reports whether s is a lower-case UUID in its 8-4-4-4-12
// form (any version), other than the nil UUID, which every buggy client
// would share.
func readingIsUUID(s string) bool {
	if len(s) != 36 || s == "00000000-0000-0000-0000-000000000000" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
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
