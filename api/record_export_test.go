package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRecordExport: the patient's JSON export carries their account and
// every section; the FHIR Bundle carries the Patient with its NHS number
// and the blood pressure panel with LOINC and SNOMED codings in mm[Hg];
// both exports are in the access log; a bad format is refused.
func TestRecordExport(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := h.register(t, "export@example.org", "patient")
	if r := h.do(t, "PATCH", "/v1/me", p.Access, map[string]any{"nhsNumber": "9991111115"}); r.status != http.StatusOK {
		t.Fatalf("profile: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", "/v1/patients/me/readings", p.Access, map[string]any{"type": "blood_pressure", "unit": "mm[Hg]",
		"systolic": 142, "diastolic": 91, "pulse": 70, "takenAt": h.clock.Now().Add(-time.Minute).Format(time.RFC3339)}); r.status != http.StatusCreated {
		t.Fatalf("reading: %d %s", r.status, r.body)
	}
	h.addMedicine(t, p, "Ramipril", nil)

	r := h.do(t, "GET", "/v1/patients/me/export", p.Access, nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("json export: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("json export does not parse: %v", err)
	}
	for _, section := range []string{"patient", "readings", "medications", "doses", "flags", "consents", "carers", "invitations", "accessLog", "notifications", "devices"} {
		if _, ok := doc[section]; !ok {
			t.Errorf("json export lacks %s", section)
		}
	}
	var readings []map[string]any
	_ = json.Unmarshal(doc["readings"], &readings)
	if len(readings) != 1 || !strings.Contains(string(doc["patient"]), "9991111115") {
		t.Errorf("json export: readings %v, patient %s", readings, doc["patient"])
	}

	r = h.do(t, "GET", "/v1/patients/me/export?format=fhir", p.Access, nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/fhir+json" {
		t.Fatalf("fhir export: %d %s", r.status, r.body)
	}
	var bundle struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(r.body, &bundle); err != nil {
		t.Fatalf("bundle does not parse: %v", err)
	}
	kinds := map[string]int{}
	for _, e := range bundle.Entry {
		kinds[e.Resource["resourceType"].(string)]++
	}
	if bundle.ResourceType != "Bundle" || kinds["Patient"] != 1 || kinds["Observation"] != 1 || kinds["MedicationStatement"] != 1 {
		t.Errorf("bundle %s holds %v", bundle.ResourceType, kinds)
	}
	for _, want := range []string{`"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9991111115"`, `"code":"85354-9"`,
		`"code":"8480-6"`, `"code":"8462-4"`, `"code":"72313002"`, `"code":"1091811000000102"`, `"unit":"millimeter of mercury"`, `"code":"mm[Hg]"`} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("bundle lacks %s", want)
		}
	}
	if r := h.do(t, "GET", "/v1/patients/me/export", p.Access, nil, "Accept", "application/fhir+json"); r.header.Get("Content-Type") != "application/fhir+json" {
		t.Errorf("Accept: application/fhir+json gave %s", r.header.Get("Content-Type"))
	}
	if r := h.do(t, "GET", "/v1/patients/me/export?format=pdf", p.Access, nil); r.status != http.StatusBadRequest {
		t.Errorf("format=pdf: %d", r.status)
	}
	if n := h.auditCount(t, p.ID); n != 3 {
		t.Errorf("%d access-log entries, want 3 (one per export)", n)
	}
}
