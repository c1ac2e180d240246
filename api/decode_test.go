package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// encoding/json matches keys to fields ignoring case and keeps the last of
// two: "systolic":120, "SYSTOLIC":290 would store 290. Bodies whose objects
// give a key twice, or two keys that differ only in case, are refused at
// any depth with the field named; keys must spell the field exactly.
func TestJSONKeysAreExactAndUnique(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pat := h.register(t, "keys@example.org", "patient")
	at := h.clock.Now().Add(-time.Hour).Format(time.RFC3339)
	bp := `{"type":"blood_pressure","unit":"mm[Hg]","takenAt":"` + at + `","systolic":120,"diastolic":80}`
	bpWith := func(extra string) string { return strings.TrimSuffix(bp, "}") + "," + extra + "}" }

	tests := []struct {
		name, method, path, body string
		field                    string
	}{
		{"case twin", "POST", "/v1/patients/me/readings", bpWith(`"SYSTOLIC":290`), "systolic"},
		{"exact duplicate", "POST", "/v1/patients/me/readings", bpWith(`"systolic":290`), "systolic"},
		{"escaped duplicate", "POST", "/v1/patients/me/readings", bpWith(`"sy\u0073tolic":290`), "systolic"},
		{"Kelvin sign twin", "POST", "/v1/patients/me/readings", bpWith(`"ta` + "\u212a" + `enAt":"2020-01-01T00:00:00Z"`), "takenAt"},
		{"in a batch", "POST", "/v1/patients/me/readings/batch", `{"readings":[` + bp + `,` + bp + `,` + bp + `,` + bpWith(`"SYSTOLIC":290`) + `]}`, "readings[3].systolic"},
		{"nested", "PATCH", "/v1/me", `{"preferences":{"quietHours":{"start":"22:00","end":"07:00","Start":"23:00"}}}`, "preferences.quietHours.start"},
		{"top-level case twin", "PATCH", "/v1/me", `{"name":"Ann","NAME":"Bob"}`, "name"},
		{"field in the wrong case", "POST", "/v1/patients/me/readings", strings.Replace(bp, `"systolic"`, `"Systolic"`, 1), "Systolic"},
		{"nested field in the wrong case", "PATCH", "/v1/me", `{"preferences":{"QuietHours":{"start":"22:00","end":"07:00"}}}`, "preferences.QuietHours"},
		{"pointer field in the wrong case", "PATCH", "/v1/me", `{"Timezone":"Europe/Paris"}`, "Timezone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(t, tc.method, tc.path, pat.Access, tc.body)
			if r.status != http.StatusBadRequest || r.problemCode(t) != "invalid" {
				t.Fatalf("status %d body %s", r.status, r.body)
			}
			if diff := cmp.Diff([]string{tc.field}, r.fields(t)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
	// Nothing of those was stored, and the profile is unchanged.
	if n := len(h.listAll(t, pat.Access, "", 50)); n != 0 {
		t.Errorf("%d readings stored from refused bodies", n)
	}
	me := h.do(t, "GET", "/v1/me", pat.Access, nil).json(t)
	if me["name"] != "Test patient" || me["timezone"] != "Europe/London" || me["preferences"].(map[string]any)["quietHours"] != nil {
		t.Errorf("profile changed by refused bodies: %v", me)
	}

	// One batch item with a field in the wrong case is that item's
	// problem; the others are stored.
	r := h.do(t, "POST", "/v1/patients/me/readings/batch", pat.Access, `{"readings":[`+bp+`,`+strings.Replace(bp, `"diastolic"`, `"Diastolic"`, 1)+`]}`)
	if r.status != http.StatusOK {
		t.Fatalf("batch: %d %s", r.status, r.body)
	}
	res := decodeJSON[struct{ Results []batchResult }](t, r).Results
	if len(res) != 2 || res[0].Status != "created" || res[1].Status != "invalid" || res[1].Error == nil ||
		len(res[1].Error.Errors) != 1 || res[1].Error.Errors[0].Field != "Diastolic" {
		t.Errorf("batch results: %s", r.body)
	}
	// The same keys in their exact spelling are accepted.
	if r := h.do(t, "PATCH", "/v1/me", pat.Access, `{"name":"Ann","preferences":{"quietHours":{"start":"22:00","end":"07:00"}}}`); r.status != http.StatusOK {
		t.Errorf("exact keys: %d %s", r.status, r.body)
	}
}

// A medication PATCH's "stock" is decoded by its own unmarshaler, by the
// same rules.
func TestJSONKeysInsideCustomDecodedFields(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pat := h.register(t, "stockkeys@example.org", "patient")
	r := h.do(t, "POST", "/v1/patients/me/medications", pat.Access, map[string]any{
		"name": "Metformin", "schedule": map[string]any{"times": []string{"08:00"}, "startDate": "2026-11-25"},
	})
	if r.status != http.StatusCreated {
		t.Fatalf("create medication: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	for name, body := range map[string]string{
		"wrong case": `{"stock":{"Quantity":30,"unitsPerDose":1,"refillLeadDays":7}}`,
		"case twin":  `{"stock":{"quantity":30,"QUANTITY":3,"unitsPerDose":1,"refillLeadDays":7}}`,
	} {
		r := h.do(t, "PATCH", "/v1/patients/me/medications/"+id, pat.Access, body)
		if r.status != http.StatusBadRequest || !strings.HasPrefix(strings.Join(r.fields(t), ","), "stock") {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
}

// Text that is not UTF-8 once percent-decoded, anywhere in the path or the
// query string, is refused before routing with the parameter named: such
// text never reaches handlers, the store or the logs.
func TestInvalidUTF8InURL(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pat := h.register(t, "utf8@example.org", "patient")
	tests := []struct {
		path   string
		fields []string
	}{
		{"/v1/pharmacies?q=%FF", []string{"q"}},
		{"/v1/pharmacies?q=ok&cursor=%C3%28", []string{"cursor"}},
		{"/v1/pharmacies?%FE=1", []string{"(query parameter name)"}},
		{"/v1/patients/me/readings/%FF%FE", []string{"path"}},
		{"/v1/patients/%ED%A0%80/readings", []string{"path"}}, // a UTF-16 surrogate
		{"/v1/no-such-route/%FF", []string{"path"}},
		{"/v1/patients/me/readings/%FF?type=%FF&limit=5&cursor=%FE", []string{"path", "type", "cursor"}},
	}
	for _, tc := range tests {
		r := h.do(t, "GET", tc.path, pat.Access, nil)
		if r.status != http.StatusBadRequest || r.problemCode(t) != "invalid" {
			t.Errorf("%s: %d %s", tc.path, r.status, r.body)
			continue
		}
		if diff := cmp.Diff(tc.fields, r.fields(t)); diff != "" {
			t.Errorf("%s: fields (-want +got):\n%s", tc.path, diff)
		}
	}
	// Percent-encoded UTF-8 is fine.
	if r := h.do(t, "GET", "/v1/pharmacies?q=caf%C3%A9", pat.Access, nil); r.status != http.StatusOK {
		t.Errorf("q=café: %d %s", r.status, r.body)
	}
}
