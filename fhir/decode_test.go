package fhir_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/concord-health/concord/fhir"
	"github.com/concord-health/concord/models"
)

// decodeOne decodes a lone Observation and returns its entry.
func decodeOne(t *testing.T, body string) fhir.Entry {
	t.Helper()
	entries, err := fhir.DecodeReadings([]byte(body), 10)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(entries) != 1 {
		t.Fatalf("%d entries", len(entries))
	}
	return entries[0]
}

func fields(e fhir.Entry) []string {
	var out []string
	for _, p := range e.Problems {
		out = append(out, p.Field)
	}
	return out
}

const (
	hrCode  = `"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]}`
	hrValue = `"valueQuantity":{"value":61,"system":"http://unitsofmeasure.org","code":"/min"}`
)

func obs(parts ...string) string {
	return `{"resourceType":"Observation","status":"final",` + strings.Join(parts, ",") + `}`
}

// TestDecodeEffectiveTime: every effective[x] form that names a moment is
// read; a date alone and a timing are problems naming their element.
func TestDecodeEffectiveTime(t *testing.T) {
	want := time.Date(2026, 11, 25, 7, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		effective string
		problem   string // the field named, "" for none
	}{
		{`"effectiveDateTime":"2026-11-25T07:30:00Z"`, ""},
		{`"effectiveDateTime":"2026-11-25T08:30:00+01:00"`, ""},
		{`"effectiveInstant":"2026-11-25T07:30:00.000Z"`, ""},
		{`"effectivePeriod":{"start":"2026-11-25T07:30:00Z","end":"2026-11-25T07:31:00Z"}`, ""},
		{`"effectivePeriod":{"end":"2026-11-25T07:30:00Z"}`, ""},
		{`"effectiveDateTime":"2026-11-25"`, "effectiveDateTime"},
		{`"effectiveTiming":{"event":["2026-11-25T07:30:00Z"]}`, "effectiveTiming"},
		{`"issued":"2026-11-25T07:30:00Z"`, "effectiveDateTime"},
	} {
		e := decodeOne(t, obs(hrCode, hrValue, c.effective))
		switch {
		case c.problem == "" && (e.Reading == nil || !e.Reading.Reading.TakenAt.Equal(want)):
			t.Errorf("%s: problems %v", c.effective, e.Problems)
		case c.problem != "" && !slices.Contains(fields(e), c.problem):
			t.Errorf("%s: problems %v, want one naming %s", c.effective, e.Problems, c.problem)
		}
	}
}

// TestDecodeKeys: an identifier is the key (Concord's own names the
// reading it was exported from); without one, the same measurement gives
// the same key and another measurement another.
func TestDecodeKeys(t *testing.T) {
	at := `"effectiveDateTime":"2026-11-25T07:30:00Z"`
	key := func(parts ...string) (string, string) {
		e := decodeOne(t, obs(append([]string{hrCode, at}, parts...)...))
		if e.Reading == nil {
			t.Fatalf("problems %v", e.Problems)
		}
		return e.Reading.Key, e.Reading.OwnID
	}
	k, own := key(hrValue, `"identifier":[{"value":"no system"},{"system":"https://a.example","value":"x1"}]`)
	if k != "id:https://a.example|x1" || own != "" {
		t.Errorf("identified: key %q, own %q", k, own)
	}
	_, own = key(hrValue, `"identifier":[{"system":"https://tools.ietf.org/html/rfc4122","value":"0B5E6C1E-8D3A-4F7E-9C2A-6F1D2E3B4A5C"}]`)
	if own != "0b5e6c1e-8d3a-4f7e-9c2a-6f1d2e3b4a5c" {
		t.Errorf("Concord's own identifier: own %q", own)
	}
	k1, _ := key(hrValue)
	k2, _ := key(hrValue, `"note":[{"text":"a note is not the measurement"}]`)
	k3, _ := key(`"valueQuantity":{"value":62,"system":"http://unitsofmeasure.org","code":"/min"}`)
	if !strings.HasPrefix(k1, "obs:") || k1 != k2 || k1 == k3 {
		t.Errorf("unidentified keys %q %q %q: want the first two equal, the third different", k1, k2, k3)
	}
}

// TestDecodeBloodPressure: the panel's components by code, the pulse in
// /min, unknown components passed over; a missing diastolic, a pulse in
// another unit and mismatched units are problems at their components.
func TestDecodeBloodPressure(t *testing.T) {
	comp := func(code string, v float64, unit string) string {
		return `{"code":{"coding":[{"system":"http://loinc.org","code":"` + code + `"}]},"valueQuantity":{"value":` +
			strconv.FormatFloat(v, 'g', -1, 64) + `,"code":"` + unit + `"}}`
	}
	panel := func(components ...string) string {
		return obs(`"code":{"coding":[{"system":"http://snomed.info/sct","code":"75367002"}]}`,
			`"effectiveDateTime":"2026-11-25T07:30:00Z"`, `"component":[`+strings.Join(components, ",")+`]`)
	}
	e := decodeOne(t, panel(comp("8478-0", 100, "mm[Hg]"), comp("8462-4", 86, "mm[Hg]"), comp("8480-6", 138, "mmHg"), comp("8867-4", 64, "{beats}/min")))
	if e.Reading == nil {
		t.Fatalf("problems %v", e.Problems)
	}
	r := e.Reading.Reading
	if r.Type != models.ReadingBloodPressure || *r.Systolic != 138 || *r.Diastolic != 86 || *r.Pulse != 64 || r.Unit != "mmHg" {
		t.Errorf("panel read as %+v", r)
	}
	if got := e.Reading.Field("systolic"); got != "component[2].valueQuantity.value" {
		t.Errorf("systolic came from %s", got)
	}

	for name, c := range map[string]struct {
		body  string
		field string
	}{
		"no diastolic":   {panel(comp("8480-6", 138, "mm[Hg]")), "component"},
		"pulse in Hz":    {panel(comp("8480-6", 138, "mm[Hg]"), comp("8462-4", 86, "mm[Hg]"), comp("8867-4", 1, "Hz")), "component[2].valueQuantity.code"},
		"units disagree": {panel(comp("8480-6", 138, "mm[Hg]"), comp("8462-4", 11, "kPa")), "component[1].valueQuantity.code"},
		"repeated":       {panel(comp("8480-6", 138, "mm[Hg]"), comp("8480-6", 139, "mm[Hg]"), comp("8462-4", 86, "mm[Hg]")), "component[1].code"},
	} {
		if e := decodeOne(t, c.body); !slices.Contains(fields(e), c.field) {
			t.Errorf("%s: problems %v, want one naming %s", name, e.Problems, c.field)
		}
	}
}

// TestDecodeGlucoseContext: when the blood was taken, from UK Core's
// SNOMED CT codes or the text Concord's export writes.
func TestDecodeGlucoseContext(t *testing.T) {
	value := `"valueQuantity":{"value":5.1,"system":"http://unitsofmeasure.org","code":"mmol/L"}`
	at := `"effectiveDateTime":"2026-11-25T07:30:00Z"`
	for code, want := range map[string]string{
		`"code":{"coding":[{"system":"http://snomed.info/sct","code":"997681000000108"}]}`:                                         "fasting",
		`"code":{"coding":[{"system":"http://loinc.org","code":"15074-8"}],"text":"Glucose [Moles/volume] in Blood, before meal"}`: "before_meal",
		`"code":{"coding":[{"system":"http://loinc.org","code":"15074-8"}],"text":"Blood sugar"}`:                                  "",
	} {
		e := decodeOne(t, obs(code, at, value))
		if e.Reading == nil || e.Reading.Reading.Context != want {
			t.Errorf("%s: %+v, want context %q", code, e, want)
		}
	}
}

// TestDecodeDevice: the make and model from a contained Device, a Device
// entry of the Bundle, or the reference's display, made one safe line of
// at most 100 characters.
func TestDecodeDevice(t *testing.T) {
	at := `"effectiveDateTime":"2026-11-25T07:30:00Z"`
	contained := obs(hrCode, hrValue, at, `"contained":[{"resourceType":"Device","id":"d1","manufacturer":"Polar","deviceName":[{"name":"Polar H10"}],"modelNumber":"H10"}]`,
		`"device":{"reference":"#d1","display":"ignored"}`)
	if e := decodeOne(t, contained); e.Reading == nil || e.Reading.Device != "Polar H10" || e.Reading.Source != models.ReadingSourceDevice {
		t.Errorf("contained device: %+v", e.Reading)
	}
	long := strings.Repeat("Acme ", 40) + "\u202eevil\x07"
	e := decodeOne(t, obs(hrCode, hrValue, at, `"device":{"display":"`+strings.ReplaceAll(long, "\x07", `\u0007`)+`"}`))
	if e.Reading == nil || len([]rune(e.Reading.Device)) > models.MaxReadingDeviceLength || models.TextProblem(e.Reading.Device, false) != "" ||
		strings.HasSuffix(e.Reading.Device, " ") {
		t.Errorf("long display became %q", e.Reading.Device)
	}
	if e := decodeOne(t, obs(hrCode, hrValue, at)); e.Reading.Source != models.ReadingSourceImport || e.Reading.Device != "" {
		t.Errorf("no device: source %q device %q", e.Reading.Source, e.Reading.Device)
	}

	bundle := `{"resourceType":"Bundle","type":"batch","entry":[
		{"resource":{"resourceType":"Device","id":"scale","manufacturer":"Withings","modelNumber":"Body+"}},
		{"resource":` + obs(`"code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]}`, at,
		`"valueQuantity":{"value":80,"system":"http://unitsofmeasure.org","code":"kg"}`, `"device":{"reference":"Device/scale"}`) + `}]}`
	entries, err := fhir.DecodeReadings([]byte(bundle), 10)
	if err != nil || len(entries) != 2 || entries[1].Reading == nil || entries[1].Reading.Device != "Withings Body+" || entries[0].Skipped == "" {
		t.Errorf("device entry: %v %+v", err, entries)
	}
}

// TestDecodeBodyProblems: what is not a Bundle or Observation, a Bundle
// of another type, an entry element FHIR does not define, and too many
// Observations are refused with the element named.
func TestDecodeBodyProblems(t *testing.T) {
	one := obs(hrCode, hrValue, `"effectiveDateTime":"2026-11-25T07:30:00Z"`)
	for name, c := range map[string]struct {
		body  string
		code  models.Code
		field string
	}{
		"array":       {`[]`, models.CodeInvalid, "(body)"},
		"patient":     {`{"resourceType":"Patient"}`, models.CodeInvalid, "resourceType"},
		"searchset":   {`{"resourceType":"Bundle","type":"searchset","entry":[]}`, models.CodeInvalid, "type"},
		"bundle typo": {`{"resourceType":"Bundle","type":"batch","entries":[]}`, models.CodeInvalid, "entries"},
		"too many":    {`{"resourceType":"Bundle","type":"batch","entry":[{"resource":` + one + `},{"resource":` + one + `}]}`, models.CodeTooLarge, "entry"},
	} {
		_, err := fhir.DecodeReadings([]byte(c.body), 1)
		var me *models.Error
		if !models.IsCode(err, c.code) || !errors.As(err, &me) || !slices.ContainsFunc(me.Fields, func(f models.FieldProblem) bool { return f.Field == c.field }) {
			t.Errorf("%s: %v, want %s naming %s", name, err, c.code, c.field)
		}
	}
	entries, err := fhir.DecodeReadings([]byte(`{"resourceType":"Bundle","type":"batch","entry":[{"resource":`+one+`,"fullurl":"x"}]}`), 1)
	if err != nil || !slices.Contains(fields(entries[0]), "entry[0].fullurl") {
		t.Errorf("misspelt entry element: %v %+v", err, entries)
	}
}
