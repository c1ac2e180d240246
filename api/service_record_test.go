package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestServiceConsultationRecord: a Blood Pressure Check referred the same
// day is exported as a FHIR R4 Bundle for the pharmacy's clinical system
// (its resources are validated by google/fhir in fhir/fhircheck; here the
// route: who may, what is in it, the access log). Another patient, an
// unlinked carer and another pharmacy's pharmacist are refused (404), the
// patient too (403); once the patient moves to another pharmacy, neither
// the old pharmacy (no consent) nor the new one (not its episode) gets it.
func TestServiceConsultationRecord(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	admin := h.firstAdmin(t)
	a := h.newPharmacy(t, admin, "FA001", "Alpha Pharmacy", "SW1A 1AA")
	b := h.newPharmacy(t, admin, "FB002", "Beta Pharmacy", "M1 1AE")
	pharmA, pharmB := h.newPharmacist(t, admin, "ph-a@example.org", a), h.newPharmacist(t, admin, "ph-b@example.org", b)
	patient, other := h.register(t, "ann@example.org", "patient"), h.register(t, "other@example.org", "patient")
	carer := h.register(t, "carer@example.org", "carer")
	h.nominate(t, patient, a)
	h.nominate(t, other, b)

	base := "/v1/patients/" + patient.ID + "/services"
	v := h.episode(t, "POST", base+"/bp-check", pharmA.Access, map[string]any{"systolic": 185, "diastolic": 95, "pulse": 88, "consent": true,
		"advice": "Go to your GP practice today"}, 201)
	path := base + "/" + v.ID + "/record"

	r := h.do(t, "GET", path, pharmA.Access, nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/fhir+json" ||
		!strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("record: %d %v %s", r.status, r.header, r.body)
	}
	var bundle struct {
		ResourceType, Type string
		Entry              []struct {
			FullURL  string
			Resource map[string]any
		}
	}
	if err := json.Unmarshal(r.body, &bundle); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	byKind := map[string][]map[string]any{}
	urls := map[string]string{}
	for _, e := range bundle.Entry {
		k := e.Resource["resourceType"].(string)
		kinds = append(kinds, k)
		byKind[k] = append(byKind[k], e.Resource)
		urls[e.FullURL] = k
	}
	want := []string{"Patient", "Organization", "Practitioner", "EpisodeOfCare", "Encounter", "Observation", "Observation", "Observation", "ServiceRequest"}
	if bundle.ResourceType != "Bundle" || bundle.Type != "collection" || !slices.Equal(kinds, want) {
		t.Fatalf("bundle %s %s of %v, want %v", bundle.ResourceType, bundle.Type, kinds, want)
	}
	enc := byKind["Encounter"][0]
	str := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	if s := str(enc); !strings.Contains(s, `"display":"Pharmacist ph-a@example.org"`) || !strings.Contains(s, "clinic blood pressure reading") ||
		enc["status"] != "finished" {
		t.Errorf("encounter: %s", s)
	}
	if s := str(byKind["Organization"][0]); !strings.Contains(s, `"value":"FA001"`) {
		t.Errorf("organization: %s", s)
	}
	bp := byKind["Observation"][0]
	if s := str(bp["component"]); !strings.Contains(s, `"value":185`) || !strings.Contains(s, `"value":95`) || !strings.Contains(s, `"value":88`) ||
		!strings.Contains(str(bp["method"]), "Measured in the pharmacy") {
		t.Errorf("clinic reading: %s", str(bp))
	}
	sr := byKind["ServiceRequest"][0]
	if sr["priority"] != "urgent" || !strings.Contains(str(sr["code"]), "GP practice") ||
		urls[fmt.Sprint(sr["supportingInfo"].([]any)[0].(map[string]any)["reference"])] != "Observation" {
		t.Errorf("referral: %s", str(sr))
	}
	h.checkAccessLog(t, &svcWorld{patient: patient, pharmA: pharmA}, "services.export", "services/"+v.ID+"/record")

	for _, acc := range []account{other, carer, pharmB} {
		h.refused(t, "GET", path, acc.Access, nil, http.StatusNotFound, "not_found")
	}
	h.refused(t, "GET", path, patient.Access, nil, http.StatusForbidden, "forbidden")
	h.refused(t, "GET", base+"/0192b7a0-0000-7000-8000-00000000dead/record", pharmA.Access, nil, http.StatusNotFound, "not_found")

	// The patient moves to pharmacy B: A has no consent any more, and B
	// did not deliver this episode.
	h.nominate(t, patient, b)
	h.refused(t, "GET", path, pharmA.Access, nil, http.StatusNotFound, "not_found")
	h.refused(t, "GET", path, pharmB.Access, nil, http.StatusNotFound, "not_found")
}
