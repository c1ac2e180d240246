package fhircheck

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// get walks a decoded resource by keys and array indexes.
func get(v any, path ...any) any {
	if r, ok := v.(resource); ok {
		v = map[string]any(r)
	}
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// codings returns a CodeableConcept's codings as "system|code|display".
func codings(cc any) []string {
	var out []string
	for _, c := range asList(get(cc, "coding")) {
		out = append(out, fmt.Sprintf("%v|%v|%v", get(c, "system"), get(c, "code"), get(c, "display")))
	}
	return out
}

func asList(v any) []any {
	a, _ := v.([]any)
	return a
}

// quantity returns a Quantity as "value unit system|code".
func quantity(q any) string {
	return fmt.Sprintf("%v %v %v|%v", get(q, "value"), get(q, "unit"), get(q, "system"), get(q, "code"))
}

func byID(rs []resource, id string) resource {
	for _, r := range rs {
		if r["id"] == id {
			return r
		}
	}
	return nil
}

const (
	loinc  = "http://loinc.org"
	snomed = "http://snomed.info/sct"
	ucum   = "http://unitsofmeasure.org"
)

// TestUKCoreVitalSigns is the table of the codings every reading type is
// exported with (HL7 R4 vital-signs profiles and UK Core): LOINC first,
// then the UK Core SNOMED CT coding, the value in the type's UCUM unit
// with its display, converted from the unit it was entered in. The
// values are worked by hand: 140 mg/dL / 18.016 = 7.77 mmol/L; 157 lb ×
// 0.45359237 = 71.21 kg; (99.5 °F − 32) × 5/9 = 37.5 °C.
func TestUKCoreVitalSigns(t *testing.T) {
	_, rs := readBundle(t, exportRecord(t))
	patient := "urn:uuid:" + rs[0]["id"].(string)
	cases := []struct {
		id      string
		codes   []string
		value   string // the valueQuantity, "" for the BP panel
		profile string
	}{
		{"a1b2c3d4-0001-4000-8000-000000000003",
			[]string{loinc + "|15074-8|Glucose [Moles/volume] in Blood", snomed + "|997671000000106|Blood glucose level"},
			"6.2 millimole per liter " + ucum + "|mmol/L", ""},
		{"a1b2c3d4-0001-4000-8000-000000000004",
			[]string{loinc + "|15074-8|Glucose [Moles/volume] in Blood", snomed + "|997671000000106|Blood glucose level"},
			"7.77 millimole per liter " + ucum + "|mmol/L", ""},
		{"a1b2c3d4-0001-4000-8000-000000000005",
			[]string{loinc + "|29463-7|Body weight", snomed + "|27113001|Body weight"},
			"71.4 kilogram " + ucum + "|kg", "http://hl7.org/fhir/StructureDefinition/bodyweight"},
		{"a1b2c3d4-0001-4000-8000-000000000006",
			[]string{loinc + "|29463-7|Body weight", snomed + "|27113001|Body weight"},
			"71.21 kilogram " + ucum + "|kg", "http://hl7.org/fhir/StructureDefinition/bodyweight"},
		{"a1b2c3d4-0001-4000-8000-000000000007",
			[]string{loinc + "|8867-4|Heart rate", snomed + "|364075005|Heart rate"},
			"64 beats/minute " + ucum + "|/min", "http://hl7.org/fhir/StructureDefinition/heartrate"},
		{"a1b2c3d4-0001-4000-8000-000000000008",
			[]string{loinc + "|59408-5|Oxygen saturation in Arterial blood by Pulse oximetry", loinc + "|2708-6|Oxygen saturation in Arterial blood",
				snomed + "|431314004|Peripheral oxygen saturation"},
			"96 percent " + ucum + "|%", "http://hl7.org/fhir/StructureDefinition/oxygensat"},
		{"a1b2c3d4-0001-4000-8000-000000000009",
			[]string{loinc + "|19935-6|Maximum expiratory gas flow Respiratory system airway by Peak flow meter"},
			"410 liter per minute " + ucum + "|L/min", ""},
		{"a1b2c3d4-0001-4000-8000-00000000000a",
			[]string{loinc + "|8310-5|Body temperature", snomed + "|386725007|Body temperature"},
			"37.2 degree Celsius " + ucum + "|Cel", "http://hl7.org/fhir/StructureDefinition/bodytemp"},
		{"a1b2c3d4-0001-4000-8000-00000000000b",
			[]string{loinc + "|8310-5|Body temperature", snomed + "|386725007|Body temperature"},
			"37.5 degree Celsius " + ucum + "|Cel", "http://hl7.org/fhir/StructureDefinition/bodytemp"},
		{"a1b2c3d4-0001-4000-8000-000000000001",
			[]string{loinc + "|85354-9|Blood pressure panel with all children optional", snomed + "|75367002|Blood pressure"},
			"", "http://hl7.org/fhir/StructureDefinition/bp"},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			o := byID(rs, c.id)
			if o == nil {
				t.Fatalf("no Observation %s", c.id)
			}
			// The R4 vital-signs profile: status, the vital-signs
			// category, the code, the patient, an effective time, and a
			// value or components; the profile claimed.
			if o["status"] != "final" {
				t.Errorf("status %v", o["status"])
			}
			if got := codings(get(o, "category", 0)); !slices.Equal(got, []string{"http://terminology.hl7.org/CodeSystem/observation-category|vital-signs|Vital Signs"}) {
				t.Errorf("category %v", got)
			}
			if got := codings(o["code"]); !slices.Equal(got, c.codes) {
				t.Errorf("code\n got %v\nwant %v", got, c.codes)
			}
			if get(o, "subject", "reference") != patient || get(o, "effectiveDateTime") == nil {
				t.Errorf("subject %v, effective %v", o["subject"], o["effectiveDateTime"])
			}
			profiles := fmt.Sprint(get(o, "meta", "profile"))
			if !strings.Contains(profiles, "http://hl7.org/fhir/StructureDefinition/vitalsigns") || !strings.Contains(profiles, c.profile) {
				t.Errorf("profiles %s, want vitalsigns and %q", profiles, c.profile)
			}
			if c.value != "" {
				if got := quantity(o["valueQuantity"]); got != c.value {
					t.Errorf("value %q, want %q", got, c.value)
				}
				if o["component"] != nil {
					t.Errorf("components on a single value: %v", o["component"])
				}
			}
		})
	}
	t.Run("deleted reading", func(t *testing.T) {
		o := byID(rs, "a1b2c3d4-0001-4000-8000-00000000000c")
		if o == nil || o["status"] != "entered-in-error" || quantity(o["valueQuantity"]) != "190 beats/minute "+ucum+"|/min" {
			t.Errorf("deleted reading: %v", o)
		}
		for _, r := range rs {
			if r["resourceType"] == "Observation" && r["status"] != "final" && r["id"] != "a1b2c3d4-0001-4000-8000-00000000000c" {
				t.Errorf("live reading %s has status %v", r["id"], r["status"])
			}
		}
	})
	t.Run("blood pressure panel", func(t *testing.T) {
		o := byID(rs, "a1b2c3d4-0001-4000-8000-000000000001")
		if o["valueQuantity"] != nil {
			t.Errorf("the panel has a value of its own: %v", o["valueQuantity"])
		}
		want := [][2]string{
			{loinc + "|8480-6|Systolic blood pressure," + snomed + "|72313002|Systolic arterial pressure", "138 millimeter of mercury " + ucum + "|mm[Hg]"},
			{loinc + "|8462-4|Diastolic blood pressure," + snomed + "|1091811000000102|Diastolic arterial pressure", "86 millimeter of mercury " + ucum + "|mm[Hg]"},
			{loinc + "|8867-4|Heart rate," + snomed + "|364075005|Heart rate", "72 beats/minute " + ucum + "|/min"},
		}
		comps := asList(o["component"])
		if len(comps) != len(want) {
			t.Fatalf("%d components, want %d: %v", len(comps), len(want), comps)
		}
		for i, w := range want {
			if got := strings.Join(codings(get(comps[i], "code")), ","); got != w[0] {
				t.Errorf("component %d code %s, want %s", i, got, w[0])
			}
			if got := quantity(get(comps[i], "valueQuantity")); got != w[1] {
				t.Errorf("component %d value %s, want %s", i, got, w[1])
			}
		}
		// A cuff reading without a pulse has the two pressures only.
		if n := len(asList(byID(rs, "a1b2c3d4-0001-4000-8000-000000000002")["component"])); n != 2 {
			t.Errorf("a reading without pulse has %d components, want 2", n)
		}
	})
}

// TestUKCoreIdentifiersAndMedicines checks the UK identifiers and
// codings beside the vital signs: the NHS number under
// https://fhir.nhs.uk/Id/nhs-number (marked not traced), medicines coded
// in dm+d (https://dmd.nhs.uk) when the patient gave a code and as text
// when not, doses as administrations completed or not done, and
// pharmacies named by ODS code.
func TestUKCoreIdentifiersAndMedicines(t *testing.T) {
	_, rs := readBundle(t, exportRecord(t))
	p := rs[0]
	if p["resourceType"] != "Patient" {
		t.Fatalf("first entry %v, want the Patient", p["resourceType"])
	}
	if got := fmt.Sprintf("%v|%v", get(p, "identifier", 0, "system"), get(p, "identifier", 0, "value")); got != "https://fhir.nhs.uk/Id/nhs-number|9990000018" {
		t.Errorf("NHS number identifier %s", got)
	}
	if got := codings(get(p, "identifier", 0, "extension", 0, "valueCodeableConcept")); len(got) != 1 || !strings.Contains(got[0], "|02|") {
		t.Errorf("NHS number verification status %v, want 02 (not traced)", got)
	}

	statement := func(name string) resource {
		for _, r := range rs {
			if r["resourceType"] == "MedicationStatement" && strings.HasPrefix(fmt.Sprint(get(r, "medicationCodeableConcept", "text")), name) {
				return r
			}
		}
		t.Fatalf("no MedicationStatement for %s", name)
		return nil
	}
	meds := []struct {
		name, coding, text, status string
	}{
		{"Amlodipine", "https://dmd.nhs.uk|319283006|<nil>", "Amlodipine 5 mg tablets", "active"},
		{"Alendronic", "https://dmd.nhs.uk|39113611000001102|<nil>", "Alendronic acid 70 mg", "stopped"},
		{"Metformin", "", "Metformin 500 mg tablets", "active"},
		{"Salbutamol", "", "Salbutamol 100 micrograms/dose inhaler", "active"},
	}
	for _, m := range meds {
		s := statement(m.name)
		if got := strings.Join(codings(s["medicationCodeableConcept"]), ","); got != m.coding {
			t.Errorf("%s coding %q, want %q", m.name, got, m.coding)
		}
		if got := get(s, "medicationCodeableConcept", "text"); got != m.text || s["status"] != m.status {
			t.Errorf("%s: text %v status %v, want %q %q", m.name, got, s["status"], m.text, m.status)
		}
	}
	if got := get(statement("Alendronic"), "effectivePeriod", "end"); got != "2026-11-20T10:00:00Z" {
		t.Errorf("stopped medicine's period ends %v", got)
	}

	var admins []string
	for _, r := range rs {
		if r["resourceType"] == "MedicationAdministration" {
			admins = append(admins, fmt.Sprintf("%v %v %v %v", get(r, "medicationCodeableConcept", "text"), r["status"],
				r["effectiveDateTime"], get(r, "statusReason", 0, "text")))
		}
	}
	wantAdmins := []string{
		"Amlodipine 5 mg tablets completed 2026-11-29T08:40:00.123Z <nil>",
		"Metformin 500 mg tablets not-done 2026-11-27T08:00:00Z Skipped by the patient: felt sick",
		"Metformin 500 mg tablets not-done 2026-11-27T18:00:00Z Skipped by the patient",
		"Amlodipine 5 mg tablets not-done 2026-11-30T08:00:00Z Missed: not logged as taken within the grace period after its time",
		"Alendronic acid 70 mg not-done 2026-11-16T07:00:00Z Missed: not logged as taken within the grace period after its time",
		"Salbutamol 100 micrograms/dose inhaler completed 2026-11-28T15:00:00Z <nil>",
	}
	if !slices.Equal(admins, wantAdmins) {
		t.Errorf("administrations\n got %q\nwant %q", admins, wantAdmins)
	}

	for _, r := range rs {
		var ods any
		switch r["resourceType"] {
		case "Flag":
			if r["author"] == nil {
				continue // the pharmacy no longer exists
			}
			ods = get(r, "author", "identifier", "system")
		case "Consent":
			ods = get(r, "provision", "actor", 0, "reference", "identifier", "system")
		default:
			continue
		}
		if ods != "https://fhir.nhs.uk/Id/ods-organization-code" {
			t.Errorf("%s %s names its pharmacy under %v", r["resourceType"], r["id"], ods)
		}
	}
}
