package models

import (
	"math"
	"slices"
	"strings"
	"time"
)

// The contexts a blood glucose reading may carry.
const (
	GlucoseContextFasting    = "fasting"
	GlucoseContextBeforeMeal = "before_meal"
	GlucoseContextAfterMeal  = "after_meal"
	GlucoseContextBedtime    = "bedtime"
	GlucoseContextRandom     = "random"
)

// Where a reading was taken (Reading.Source).
const (
	// ReadingSourceHome: logged by the patient by hand (absent in JSON).
	ReadingSourceHome   = ""
	ReadingSourceClinic = "clinic"
	ReadingSourceABPM   = "abpm"
	// ReadingSourceDevice: imported from a measuring device's platform;
	// Reading.Device names the device when it was known.
	ReadingSourceDevice = "device"
	// ReadingSourceImport: imported from another app (FHIR), no device
	// named.
	ReadingSourceImport = "import"
)

// MaxReadingDeviceLength bounds Reading.Device, in characters.
const MaxReadingDeviceLength = 100

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

// readingGlucoseContexts are the accepted glucose contexts, in the order
// problems name them.
var readingGlucoseContexts = []string{
	GlucoseContextFasting, GlucoseContextBeforeMeal, GlucoseContextAfterMeal,
	GlucoseContextBedtime, GlucoseContextRandom,
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
	ID        string      `json:"id" bson:"_id"`
	PatientID string      `json:"patientId" bson:"patientId"`
	Type      ReadingType `json:"type" bson:"type"`
	TakenAt   time.Time   `json:"takenAt" bson:"takenAt"`
	Unit      string      `json:"unit" bson:"unit"`
	Value     *float64    `json:"value,omitempty" bson:"value,omitempty"`
	Systolic  *float64    `json:"systolic,omitempty" bson:"systolic,omitempty"`
	Diastolic *float64    `json:"diastolic,omitempty" bson:"diastolic,omitempty"`
	Pulse     *float64    `json:"pulse,omitempty" bson:"pulse,omitempty"`
	Context   string      `json:"context,omitempty" bson:"context,omitempty"`
	Note      string      `json:"note,omitempty" bson:"note,omitempty"`
	// Source is where the reading came from: "" logged by the patient by
	// hand (at home), ReadingSourceClinic in the pharmacy,
	// ReadingSourceABPM the daytime average of ambulatory monitoring,
	// ReadingSourceDevice and ReadingSourceImport imported (FHIR; banded
	// as home readings). Server-owned: set by the pharmacy services and
	// the import. The bands of each setting differ (BandRule.Setting).
	Source string `json:"source,omitempty" bson:"source,omitempty"`
	// Device is the make and model of the device an imported reading
	// came from, when known (at most MaxReadingDeviceLength characters,
	// one line). Server-owned.
	Device string `json:"device,omitempty" bson:"device,omitempty"`
	// ImportKey identifies an imported reading among the patient's
	// (services.ImportKey); unique per patient, "" for every other
	// reading. Server-owned, never shown.
	ImportKey string           `json:"-" bson:"importKey,omitempty"`
	Canonical ReadingCanonical `json:"canonical" bson:"canonical"`
	Band      string           `json:"band" bson:"band"`
	Rule      string           `json:"rule" bson:"rule"`
	LOINC     string           `json:"loinc" bson:"loinc"`
	CreatedAt time.Time        `json:"createdAt" bson:"createdAt"`
	// UpdatedAt is when the server last changed the reading: its creation,
	// or its deletion (the change feed's tombstone).
	UpdatedAt time.Time  `json:"updatedAt" bson:"updatedAt"`
	DeletedAt *time.Time `json:"-" bson:"deletedAt,omitempty"`
}

// Normalize validates the client-supplied fields of r against now and, when
// they are all valid, puts them in canonical form: the id lower-cased, the
// unit in its UCUM spelling, the glucose context in its listed spelling,
// takenAt as Concord records it (Instant), Canonical filled in and LOINC
// set from the type. It returns a CodeInvalid *Error
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
	r.TakenAt = Instant(r.TakenAt)
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
// content: type, the takenAt instant (as recorded: Instant),
// unit, values, context and note. Server-owned fields, the ID included, are
// ignored, so a retried upload of a stored reading compares equal. Compare
// normalised readings; callers must check PatientID themselves, since a
// reading's ID is unique across patients.
func (r Reading) SameContent(o Reading) bool {
	return r.Type == o.Type &&
		Instant(r.TakenAt).Equal(Instant(o.TakenAt)) &&
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
