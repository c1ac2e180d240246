package fhircheck

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestValidatorBites shows that the validation above can fail: each case
// takes a resource the export really wrote, breaks one thing, and expects
// google/fhir to reject it, naming the element where it can. The
// unbroken resource is validated first, so a case cannot pass because
// the resource was broken before the test touched it.
func TestValidatorBites(t *testing.T) {
	bn, rs := readBundle(t, exportRecord(t))
	first := func(kind string, pred func(resource) bool) resource {
		t.Helper()
		for i, r := range rs {
			if r["resourceType"] == kind && (pred == nil || pred(r)) {
				mustValidate(t, kind, bn.Entry[i].Resource)
				var c resource
				if err := json.Unmarshal(bn.Entry[i].Resource, &c); err != nil {
					t.Fatal(err)
				}
				return c
			}
		}
		t.Fatalf("no %s in the export", kind)
		return nil
	}
	bp := func(r resource) bool { return r["component"] != nil }
	notDone := func(r resource) bool { return r["status"] == "not-done" }
	cases := []struct {
		name   string
		kind   string
		pred   func(resource) bool
		break_ func(r resource)
		want   string // a word the report must contain
	}{
		{"Observation status not in its value set", "Observation", nil,
			func(r resource) { r["status"] = "done" }, "status"},
		{"Observation without its required code", "Observation", nil,
			func(r resource) { delete(r, "code") }, "code"},
		{"Observation with an element FHIR does not have", "Observation", nil,
			func(r resource) { r["valueMmHg"] = 120 }, "unknown field"},
		{"Observation effectiveDateTime not a dateTime", "Observation", nil,
			func(r resource) { r["effectiveDateTime"] = "29/11/2026 07:30" }, "effectiveDateTime"},
		{"BP component without its code", "Observation", bp,
			func(r resource) { delete(r["component"].([]any)[0].(map[string]any), "code") }, "code"},
		{"Quantity value as a string", "Observation", bp,
			func(r resource) {
				r["component"].([]any)[1].(map[string]any)["valueQuantity"].(map[string]any)["value"] = "86"
			}, "value"},
		{"MedicationAdministration without effective[x]", "MedicationAdministration", nil,
			func(r resource) { delete(r, "effectiveDateTime") }, "effective"},
		{"not-done administration with a status that does not exist", "MedicationAdministration", notDone,
			func(r resource) { r["status"] = "skipped" }, "status"},
		{"MedicationStatement without its subject", "MedicationStatement", nil,
			func(r resource) { delete(r, "subject") }, "subject"},
		{"Flag status not in its value set", "Flag", nil,
			func(r resource) { r["status"] = "open" }, "status"},
		{"Consent without its scope", "Consent", nil,
			func(r resource) { delete(r, "scope") }, "scope"},
		{"MedicationStatement about a Device, not a Patient", "MedicationStatement", nil,
			func(r resource) { r["subject"] = map[string]any{"reference": "Device/abc"} }, "subject"},
		{"Patient active as a string", "Patient", nil,
			func(r resource) { r["active"] = "yes" }, "active"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := first(c.kind, c.pred)
			c.break_(r)
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			ps := mustReject(t, c.name, b)
			if len(ps) > 0 && !strings.Contains(strings.ToLower(strings.Join(ps, " ")), strings.ToLower(c.want)) {
				t.Errorf("rejected, but the report does not name %q: %v", c.want, ps)
			}
			t.Logf("google/fhir: %s", strings.Join(ps, "; "))
		})
	}
}
