package fhir

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
)

// glucoseContextCodes are the UK Core BloodGlucose SNOMED CT codes that
// say when the blood was taken [UKCore BloodGlucose].
var glucoseContextCodes = map[string]string{
	"997681000000108":  models.GlucoseContextFasting,
	"1089381000000101": models.GlucoseContextRandom,
}

// decodeObservation reads one Observation (raw) into an entry: a reading,
// or the problems that stop it being one, each under path.
func decodeObservation(raw json.RawMessage, index int, path, fullURL string, devices map[string]deviceIn) Entry {
	e := Entry{Index: index, Path: path, FullURL: fullURL, ResourceType: "Observation"}
	var p models.Problems
	add := func(el, problem string) { p.Add(joinPath(path, el), "%s", problem) }
	prefix := ""
	if path != "" {
		prefix = path + "."
	}
	if !checkElements(raw, observationElements, prefix, func(f, pr string) { p.Add(f, "%s", pr) }) {
		e.Problems = p
		return e
	}
	var o observation
	if err := json.Unmarshal(raw, &o); err != nil {
		add(strings.TrimPrefix(typeErrorField(err, ""), "."), "has the wrong JSON type")
		e.Problems = p
		return e
	}
	if o.Status == "entered-in-error" {
		// Retracted (Concord's export writes a reading the patient deleted
		// so): nothing to import.
		e.Skipped = "entered in error: a retracted observation is not imported"
		return e
	}
	present := map[string]bool{}
	keys, _ := objectKeys(raw)
	for _, k := range keys {
		present[k] = true
	}

	r := ImportedReading{fields: map[string]string{}, path: path}
	switch {
	case o.Status == "":
		add("status", "is required")
	case !slices.Contains(importStatuses, o.Status):
		add("status", "must be one of "+strings.Join(importStatuses, ", ")+": only results that stand are imported")
	}

	vs, ok := importedVitalSign(o.Code)
	if !ok {
		add("code", codeProblem(o.Code))
	}
	r.Reading.Type = vs.typ
	r.fields["type"], r.fields["context"] = "code", "code"

	takenAt, el := observationTime(o, present, add)
	r.Reading.TakenAt = takenAt
	r.fields["takenAt"] = el

	if ok && vs.typ == models.ReadingBloodPressure {
		readPanel(&r, o, raw, present, add)
	} else if ok {
		readValue(&r, o, raw, present, add)
	}
	if ok && vs.typ == models.ReadingBloodGlucose {
		r.Reading.Context = glucoseContext(o.Code, vs)
	}
	var notes []string
	for _, n := range o.Note {
		if t := strings.TrimSpace(n.Text); t != "" {
			notes = append(notes, t)
		}
	}
	r.Reading.Note = strings.Join(notes, "\n")
	r.fields["note"] = "note"

	r.Source = models.ReadingSourceImport
	if o.Device != nil {
		r.Source = models.ReadingSourceDevice
		r.Device = deviceName(*o.Device, o.Contained, devices)
	}
	r.Key, r.OwnID = observationKey(o, r.Reading)
	r.fields["id"] = "identifier"

	if len(p) > 0 {
		e.Problems = p
		return e
	}
	e.Reading = &r
	return e
}

// importedVitalSign returns the reading type whose codings (exported or
// accepted on import, codes.go) code carries.
func importedVitalSign(code CodeableConcept) (vitalSign, bool) {
	for _, vs := range vitalSigns {
		if vs.matches(code) {
			return vs, true
		}
	}
	return vitalSign{}, false
}

// codeProblem says why code is not a reading Concord records.
func codeProblem(code CodeableConcept) string {
	for _, bc := range bpComponents[:2] {
		if bc.matches(code) {
			return "a " + bc.field + " pressure alone is not a reading; send the blood pressure panel (LOINC 85354-9) with systolic and diastolic components"
		}
	}
	var sent []string
	for _, c := range code.Coding {
		if c.Code != "" {
			sent = append(sent, c.System+"|"+c.Code)
		}
	}
	names := make([]string, len(vitalSigns))
	for i, vs := range vitalSigns {
		names[i] = vs.loinc.Code + " (" + string(vs.typ) + ")"
	}
	what := "no coding"
	if len(sent) > 0 {
		what = strings.Join(sent, ", ")
	}
	return "is not a vital sign Concord records (" + what + "); the LOINC codes accepted include " + strings.Join(names, ", ")
}

// observationTime reads effective[x] as an instant and returns it with the
// element it came from: effectiveDateTime, effectiveInstant, or the start
// (else the end) of effectivePeriod.
func observationTime(o observation, present map[string]bool, add func(string, string)) (time.Time, string) {
	el, s := "effectiveDateTime", o.EffectiveDateTime
	switch {
	case present["effectiveInstant"]:
		el, s = "effectiveInstant", o.EffectiveInstant
	case present["effectivePeriod"] && o.EffectivePeriod != nil && o.EffectivePeriod.Start != "":
		el, s = "effectivePeriod.start", o.EffectivePeriod.Start
	case present["effectivePeriod"] && o.EffectivePeriod != nil:
		el, s = "effectivePeriod.end", o.EffectivePeriod.End
	case present["effectiveTiming"]:
		add("effectiveTiming", "is not accepted: send effectiveDateTime, effectiveInstant or effectivePeriod")
		return time.Time{}, "effectiveTiming"
	}
	if s == "" {
		add(el, "is required: when the measurement was taken")
		return time.Time{}, el
	}
	t, ok := parseDateTime(s)
	if !ok {
		add(el, "must be a date and time with a time zone, such as 2026-03-01T08:30:00Z")
		return time.Time{}, el
	}
	return t, el
}

// readValue reads a single-valued vital sign's valueQuantity.
func readValue(r *ImportedReading, o observation, raw json.RawMessage, present map[string]bool, add func(string, string)) {
	r.fields["value"], r.fields["unit"] = "valueQuantity.value", "valueQuantity.code"
	if !present["valueQuantity"] {
		switch {
		case o.DataAbsentReason != nil:
			add("dataAbsentReason", "says the measurement has no value; only measurements with a value are imported")
		case otherValue(present):
			add("valueQuantity", "is required: the value must be a Quantity")
		default:
			add("valueQuantity", "is required")
		}
		return
	}
	var q struct {
		ValueQuantity json.RawMessage `json:"valueQuantity"`
	}
	_ = json.Unmarshal(raw, &q)
	value, unit, unitEl := readQuantity(o.ValueQuantity, q.ValueQuantity, "valueQuantity", add)
	r.Reading.Value, r.Reading.Unit = value, unit
	r.fields["unit"] = unitEl
}

// readPanel reads a blood pressure panel's systolic, diastolic and pulse
// components; components of other codes (a mean arterial pressure) are
// passed over.
func readPanel(r *ImportedReading, o observation, raw json.RawMessage, present map[string]bool, add func(string, string)) {
	if present["valueQuantity"] || otherValue(present) {
		add("valueQuantity", "is not used: a blood pressure panel carries its values in component")
	}
	var rc struct {
		Component []json.RawMessage `json:"component"`
	}
	_ = json.Unmarshal(raw, &rc)
	found := map[string]int{}
	for i, c := range o.Component {
		el := "component[" + strconv.Itoa(i) + "]"
		var bc *bpComponent
		for k := range bpComponents {
			if bpComponents[k].matches(c.Code) {
				bc = &bpComponents[k]
				break
			}
		}
		if bc == nil {
			continue
		}
		if _, dup := found[bc.field]; dup {
			add(el+".code", "repeats the "+bc.field+" component")
			continue
		}
		found[bc.field] = i
		checkElements(rc.Component[i], componentElements, el+".", add)
		if c.ValueQuantity == nil {
			if bc.field != "pulse" {
				add(el+".valueQuantity", "is required")
			}
			continue
		}
		var q struct {
			ValueQuantity json.RawMessage `json:"valueQuantity"`
		}
		_ = json.Unmarshal(rc.Component[i], &q)
		value, unit, unitEl := readQuantity(c.ValueQuantity, q.ValueQuantity, el+".valueQuantity", add)
		r.fields[bc.field] = el + ".valueQuantity.value"
		switch bc.field {
		case "systolic":
			r.Reading.Systolic = value
			r.Reading.Unit, r.fields["unit"] = unit, unitEl
		case "diastolic":
			r.Reading.Diastolic = value
			if _, ok := found["systolic"]; ok && unit != "" && r.Reading.Unit != "" && !strings.EqualFold(unit, r.Reading.Unit) {
				add(unitEl, "must be the systolic component's unit")
			}
		case "pulse":
			r.Reading.Pulse = value
			if !isPerMinute(unit) {
				add(unitEl, "must be /min")
			}
		}
	}
	for _, f := range []string{"systolic", "diastolic"} {
		if _, ok := found[f]; !ok {
			add("component", "must hold the "+f+" pressure (LOINC "+map[string]string{"systolic": "8480-6", "diastolic": "8462-4"}[f]+")")
		}
	}
}

// readQuantity reads a measured amount at el: its value and its unit (the
// UCUM code, else the human-readable unit), with the element the unit
// came from. raw is the Quantity's JSON, for the elements it must not
// carry.
func readQuantity(q *Quantity, raw json.RawMessage, el string, add func(string, string)) (*float64, string, string) {
	var extra struct {
		Comparator string `json:"comparator"`
	}
	_ = json.Unmarshal(raw, &extra)
	checkElements(raw, quantityElements, el+".", add)
	if extra.Comparator != "" {
		add(el+".comparator", "is not accepted: only an exact value is a reading")
	}
	if q.System != "" && q.System != SystemUCUM {
		add(el+".system", "must be "+SystemUCUM+" (UCUM units)")
	}
	if q.Value == nil {
		add(el+".value", "is required")
	}
	if q.Code != "" {
		return q.Value, q.Code, el + ".code"
	}
	if q.Unit == "" {
		add(el+".code", "is required: the UCUM unit")
	}
	return q.Value, q.Unit, el + ".unit"
}

// otherValue reports whether an Observation (or component) carries a
// value[x] other than valueQuantity.
func otherValue(present map[string]bool) bool {
	for k := range present {
		if strings.HasPrefix(k, "value") && k != "valueQuantity" {
			return true
		}
	}
	return false
}

func isPerMinute(unit string) bool {
	switch strings.ToLower(strings.TrimSpace(unit)) {
	case "/min", "{beats}/min", "bpm", "beats/min":
		return true
	}
	return false
}

// glucoseContext reads when the blood was taken: a UK Core SNOMED CT code
// that says so, or the context Concord's export appends to code.text
// ("Glucose [Moles/volume] in Blood, fasting").
func glucoseContext(code CodeableConcept, vs vitalSign) string {
	for _, c := range code.Coding {
		if ctx, ok := glucoseContextCodes[c.Code]; ok && c.System == SystemSNOMED {
			return ctx
		}
	}
	if rest, ok := strings.CutPrefix(code.Text, vs.loinc.Display+", "); ok {
		return strings.ReplaceAll(rest, " ", "_")
	}
	return ""
}

// observationKey returns the observation's import key and, when Concord's
// own export identified it, the reading id: the first identifier with a
// system and a value, else a digest of the reading's type, instant, unit
// and values.
func observationKey(o observation, r models.Reading) (key, ownID string) {
	for _, id := range o.Identifier {
		if id.System == "" || id.Value == "" {
			continue
		}
		if id.System == SystemUUID && isUUID(id.Value) {
			ownID = strings.ToLower(id.Value)
		}
		return "id:" + id.System + "|" + id.Value, ownID
	}
	h := sha256.New()
	num := func(v *float64) string {
		if v == nil {
			return "-"
		}
		return strconv.FormatFloat(*v, 'g', -1, 64)
	}
	for _, part := range []string{string(r.Type), r.TakenAt.UTC().Format(time.RFC3339Nano), r.Unit,
		num(r.Value), num(r.Systolic), num(r.Diastolic), num(r.Pulse)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return "obs:" + hex.EncodeToString(h.Sum(nil)), ""
}
