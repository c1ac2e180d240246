package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/concord-health/concord/models"
)

const fhirImportPath = "/v1/patients/me/readings/fhir"

// fhirImport is the body of a 200 from the import.
type fhirImport struct {
	Created, Duplicates, Skipped int
	Entries                      []struct {
		Index        int
		FullURL      string
		ResourceType string
		Status       string
		Reason       string
		Reading      *models.Reading
	}
}

// importFHIR posts body as application/fhir+json and decodes a 200.
func (h *harness) importFHIR(t *testing.T, token string, body any, want int) (response, fhirImport) {
	t.Helper()
	r := h.do(t, "POST", fhirImportPath, token, body, "Content-Type", "application/fhir+json")
	if r.status != want {
		t.Fatalf("import: %d, want %d: %s", r.status, want, r.body)
	}
	var out fhirImport
	if want == http.StatusOK {
		if err := json.Unmarshal(r.body, &out); err != nil {
			t.Fatal(err)
		}
	}
	return r, out
}

// The parts of vital-signs Observations the tests build.
func loinc(code string) map[string]any {
	return map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": code}}}
}

func ucum(v float64, code string) map[string]any {
	return map[string]any{"value": v, "system": "http://unitsofmeasure.org", "code": code}
}

func observation(code string, at time.Time, value map[string]any, extra ...any) map[string]any {
	o := map[string]any{"resourceType": "Observation", "status": "final", "code": loinc(code),
		"effectiveDateTime": at.UTC().Format(time.RFC3339)}
	if value != nil {
		o["valueQuantity"] = value
	}
	for i := 0; i+1 < len(extra); i += 2 {
		o[extra[i].(string)] = extra[i+1]
	}
	return o
}

func bpObservation(at time.Time, sys, dia float64, unit string, extra ...any) map[string]any {
	o := observation("85354-9", at, nil, extra...)
	o["component"] = []any{
		map[string]any{"code": loinc("8480-6"), "valueQuantity": ucum(sys, unit)},
		map[string]any{"code": loinc("8462-4"), "valueQuantity": ucum(dia, unit)},
	}
	return o
}

func bundle(typ string, resources ...map[string]any) map[string]any {
	entries := make([]any, len(resources))
	for i, r := range resources {
		e := map[string]any{"resource": r}
		if u, ok := r["_fullUrl"]; ok {
			delete(r, "_fullUrl")
			e["fullUrl"] = u
		}
		entries[i] = e
	}
	return map[string]any{"resourceType": "Bundle", "type": typ, "entry": entries}
}

func identifier(system, value string) []any {
	return []any{map[string]any{"system": system, "value": value}}
}

func (h *harness) readingsOf(t *testing.T, token string) []models.Reading {
	t.Helper()
	r := h.do(t, "GET", "/v1/patients/me/readings?limit=200", token, nil)
	if r.status != http.StatusOK {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	var page struct{ Items []models.Reading }
	if err := json.Unmarshal(r.body, &page); err != nil {
		t.Fatal(err)
	}
	return page.Items
}

// TestFHIRImportBundle: a device platform's Bundle becomes readings with
// their source and device, banded as the same readings logged by hand,
// glucose in mg/dL converted; other resources are skipped; posting it
// again stores nothing and reports duplicates; the source shows in the
// list and the change feed.
func TestFHIRImportBundle(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := h.register(t, "import@example.org", "patient")
	byHand := h.register(t, "byhand@example.org", "patient")
	at := h.clock.Now().Add(-2 * time.Hour).Truncate(time.Second)

	device := map[string]any{"resourceType": "Device", "manufacturer": "Omron", "modelNumber": "M3 Comfort",
		"_fullUrl": "urn:uuid:4f1c2b9e-1d7a-4f8e-9b3c-2a6d5e8f7c10"}
	b := bundle("transaction",
		map[string]any{"resourceType": "Patient", "id": "p"},
		device,
		bpObservation(at, 138, 86, "mm[Hg]", "identifier", identifier("https://health.example.com/samples", "bp-1"),
			"device", map[string]any{"reference": "urn:uuid:4f1c2b9e-1d7a-4f8e-9b3c-2a6d5e8f7c10"}),
		observation("2339-0", at.Add(time.Minute), ucum(99, "mg/dL")),
		observation("29463-7", at.Add(2*time.Minute), ucum(82.5, "kg"), "device",
			map[string]any{"display": "Withings\u202e Body+\n scale"}),
	)
	for _, e := range b["entry"].([]any) {
		e.(map[string]any)["request"] = map[string]any{"method": "POST", "url": "Observation"}
	}
	_, res := h.importFHIR(t, p.Access, b, http.StatusOK)
	if res.Created != 3 || res.Duplicates != 0 || res.Skipped != 2 || len(res.Entries) != 5 {
		t.Fatalf("created %d, duplicates %d, skipped %d, entries %d; want 3, 0, 2, 5", res.Created, res.Duplicates, res.Skipped, len(res.Entries))
	}
	statuses := []string{}
	for _, e := range res.Entries {
		statuses = append(statuses, e.Status)
	}
	if want := []string{"skipped", "skipped", "created", "created", "created"}; !slices.Equal(statuses, want) {
		t.Errorf("statuses %v, want %v", statuses, want)
	}
	bp, glucose, weight := res.Entries[2].Reading, res.Entries[3].Reading, res.Entries[4].Reading
	if bp.Source != "device" || bp.Device != "Omron M3 Comfort" || bp.Type != models.ReadingBloodPressure || *bp.Systolic != 138 {
		t.Errorf("bp reading %+v", bp)
	}
	if glucose.Source != "import" || glucose.Device != "" || glucose.Unit != "mg/dL" || *glucose.Canonical.Value != 5.5 || glucose.Canonical.Unit != "mmol/L" {
		t.Errorf("glucose reading: source %q, unit %s, canonical %v %s", glucose.Source, glucose.Unit, *glucose.Canonical.Value, glucose.Canonical.Unit)
	}
	if weight.Source != "device" || weight.Device != "Withings Body+ scale" {
		t.Errorf("weight reading: source %q, device %q (control characters must go)", weight.Source, weight.Device)
	}

	// Banded exactly as the same readings logged by hand.
	for _, imported := range []*models.Reading{bp, glucose} {
		in := map[string]any{"type": imported.Type, "takenAt": imported.TakenAt.Format(time.RFC3339), "unit": imported.Unit}
		if imported.Type == models.ReadingBloodPressure {
			in["systolic"], in["diastolic"] = *imported.Systolic, *imported.Diastolic
		} else {
			in["value"] = *imported.Value
		}
		r := h.do(t, "POST", "/v1/patients/me/readings", byHand.Access, in)
		var manual models.Reading
		_ = json.Unmarshal(r.body, &manual)
		if r.status != http.StatusCreated || manual.Band != imported.Band || manual.Rule != imported.Rule || manual.Band == models.BandUnclassified {
			t.Errorf("%s: by hand %d band %s rule %s, imported band %s rule %s", imported.Type, r.status, manual.Band, manual.Rule, imported.Band, imported.Rule)
		}
	}

	// Again: nothing new.
	_, again := h.importFHIR(t, p.Access, b, http.StatusOK)
	if again.Created != 0 || again.Duplicates != 3 || again.Entries[2].Reading.ID != bp.ID {
		t.Errorf("re-import: created %d, duplicates %d; want 0, 3 with the stored readings", again.Created, again.Duplicates)
	}
	list := h.readingsOf(t, p.Access)
	if len(list) != 3 {
		t.Fatalf("%d readings stored, want 3", len(list))
	}
	sources := map[string]string{}
	for _, r := range list {
		sources[string(r.Type)] = r.Source + "/" + r.Device
	}
	if sources["blood_pressure"] != "device/Omron M3 Comfort" || sources["blood_glucose"] != "import/" {
		t.Errorf("list sources %v", sources)
	}
	r := h.do(t, "GET", "/v1/patients/me/changes", p.Access, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"source":"device","device":"Omron M3 Comfort"`) {
		t.Errorf("change feed lacks the source: %d %s", r.status, r.body)
	}
	if !strings.Contains(string(h.do(t, "GET", "/v1/patients/me/readings", byHand.Access, nil).body), `"band"`) ||
		strings.Contains(string(h.do(t, "GET", "/v1/patients/me/readings", byHand.Access, nil).body), `"source"`) {
		t.Errorf("a reading logged by hand must show no source")
	}

	// A lone Observation, as application/json.
	lone := observation("8867-4", at.Add(3*time.Minute), ucum(64, "/min"))
	r = h.do(t, "POST", fhirImportPath, p.Access, lone)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"created":1`) {
		t.Errorf("lone observation: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", fhirImportPath, p.Access, lone, "Content-Type", "text/plain"); r.status != http.StatusBadRequest {
		t.Errorf("text/plain: %d", r.status)
	}
}

// TestFHIRImportAllOrNothing: one bad Observation stops the whole import,
// and the problem names each bad entry's element; nothing is stored.
func TestFHIRImportAllOrNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := h.register(t, "bad-import@example.org", "patient")
	at := h.clock.Now().Add(-time.Hour)
	typo := observation("29463-7", at, nil)
	typo["valueQuantitiy"] = ucum(80, "kg")
	b := bundle("collection",
		observation("29463-7", at, ucum(80, "kg")),     // fine
		observation("2093-3", at, ucum(5.1, "mmol/L")), // cholesterol: not a vital sign
		bpObservation(at, 18, 11, "kPa"),               // BP in kPa
		typo,                                           // an element FHIR does not define
		observation("15074-8", at, ucum(95, "mmol/L")), // out of range
		observation("8480-6", at, ucum(120, "mm[Hg]")), // systolic alone
		observation("8867-4", at, map[string]any{"value": 60, "code": "/min", "comparator": ">"}), // not exact
		observation("8310-5", at.Add(time.Hour), ucum(37, "Cel"), "modifierExtension", []any{map[string]any{"url": "x"}}),
	)
	r, _ := h.importFHIR(t, p.Access, b, http.StatusBadRequest)
	fields := r.fields(t)
	for _, want := range []string{
		"entry[1].resource.code", "entry[2].resource.component[0].valueQuantity.code", "entry[3].resource.valueQuantitiy",
		"entry[4].resource.valueQuantity.value", "entry[5].resource.code", "entry[6].resource.valueQuantity.comparator",
		"entry[7].resource.modifierExtension",
	} {
		if !slices.Contains(fields, want) {
			t.Errorf("problem does not name %s; it names %v", want, fields)
		}
	}
	if slices.ContainsFunc(fields, func(f string) bool { return strings.HasPrefix(f, "entry[0]") }) {
		t.Errorf("the good entry is named: %v", fields)
	}
	if n := len(h.readingsOf(t, p.Access)); n != 0 {
		t.Errorf("%d readings stored from a rejected import, want 0", n)
	}

	// The body itself.
	for name, body := range map[string]any{
		"not FHIR":       map[string]any{"readings": []any{}},
		"a Patient":      map[string]any{"resourceType": "Patient"},
		"a searchset":    bundle("searchset"),
		"a DELETE entry": map[string]any{"resourceType": "Bundle", "type": "batch", "entry": []any{map[string]any{"request": map[string]any{"method": "DELETE", "url": "Observation/1"}}}},
		"not an object":  `[1,2]`,
		"repeated key":   `{"resourceType":"Observation","status":"final","status":"final"}`,
	} {
		if r := h.do(t, "POST", fhirImportPath, p.Access, body, "Content-Type", "application/fhir+json"); r.status != http.StatusBadRequest || r.problemCode(t) != "invalid" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}

	// An identifier already naming a different reading: 409, nothing stored.
	id := identifier("https://app.example.com", "w-1")
	h.importFHIR(t, p.Access, observation("29463-7", at, ucum(80, "kg"), "identifier", id), http.StatusOK)
	r, _ = h.importFHIR(t, p.Access, bundle("collection",
		observation("29463-7", at.Add(time.Minute), ucum(70, "kg")),
		observation("29463-7", at, ucum(81, "kg"), "identifier", id)), http.StatusConflict)
	if f := r.fields(t); !slices.Equal(f, []string{"entry[1].resource.identifier"}) {
		t.Errorf("conflict names %v", f)
	}
	if n := len(h.readingsOf(t, p.Access)); n != 1 {
		t.Errorf("%d readings after the refused import, want 1", n)
	}
}

// TestFHIRImportLimits: over 1,000 Observations is a 413 and stores
// nothing; callers other than the patient are refused.
func TestFHIRImportLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := h.register(t, "big@example.org", "patient")
	at := h.clock.Now().Add(-time.Hour)
	var obs []map[string]any
	for i := range 1001 {
		obs = append(obs, observation("8867-4", at.Add(-time.Duration(i)*time.Minute), ucum(60, "/min")))
	}
	r, _ := h.importFHIR(t, p.Access, bundle("batch", obs...), http.StatusRequestEntityTooLarge)
	if r.problemCode(t) != "too_large" {
		t.Errorf("code %s", r.problemCode(t))
	}
	if n := len(h.readingsOf(t, p.Access)); n != 0 {
		t.Errorf("%d readings stored, want 0", n)
	}
	_, res := h.importFHIR(t, p.Access, bundle("batch", obs[:1000]...), http.StatusOK)
	if res.Created != 1000 {
		t.Errorf("1,000 observations: %d created", res.Created)
	}

	admin := h.firstAdmin(t)
	pharmacy := h.newPharmacy(t, admin, "FI001", "Import Pharmacy", "SW1A 1AA")
	pharmacist := h.newPharmacist(t, admin, "ph-import@example.org", pharmacy)
	h.nominate(t, p, pharmacy)
	carer := h.register(t, "carer-import@example.org", "carer")
	h.linkCarer(t, p, carer, allScopes...)
	one := observation("8867-4", at, ucum(61, "/min"))
	for _, c := range []struct {
		who   account
		path  string
		want  int
		title string
	}{
		{carer, fhirImportPath, http.StatusForbidden, "carer, me"},
		{pharmacist, fhirImportPath, http.StatusForbidden, "pharmacist, me"},
		{admin, fhirImportPath, http.StatusForbidden, "admin, me"},
		{carer, "/v1/patients/" + p.ID + "/readings/fhir", http.StatusForbidden, "linked carer, the patient's id"},
		{pharmacist, "/v1/patients/" + p.ID + "/readings/fhir", http.StatusForbidden, "nominated pharmacist, the patient's id"},
	} {
		if r := h.do(t, "POST", c.path, c.who.Access, one, "Content-Type", "application/fhir+json"); r.status != c.want {
			t.Errorf("%s: %d %s", c.title, r.status, r.body)
		}
	}
	if n := len(h.readingsOf(t, p.Access)); n != 200 { // the page size: still 1,000, none added
		t.Errorf("page of %d", n)
	}
}

// TestFHIRImportConcurrent: the same Bundle posted twice at once stores
// each reading once.
func TestFHIRImportConcurrent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p := h.register(t, "race@example.org", "patient")
	at := h.clock.Now().Add(-time.Hour)
	var obs []map[string]any
	for i := range 30 {
		obs = append(obs, observation("29463-7", at.Add(-time.Duration(i)*time.Minute), ucum(80, "kg"),
			"identifier", identifier("https://app.example.com", fmt.Sprint("race-", i))))
	}
	body, _ := json.Marshal(bundle("collection", obs...))
	var wg sync.WaitGroup
	created := make([]int, 2)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := h.do(t, "POST", fhirImportPath, p.Access, body, "Content-Type", "application/fhir+json")
			var res fhirImport
			if r.status != http.StatusOK || json.Unmarshal(r.body, &res) != nil {
				t.Errorf("import %d: %d %s", w, r.status, r.body)
				return
			}
			created[w] = res.Created
			if res.Created+res.Duplicates != 30 {
				t.Errorf("import %d: created %d + duplicates %d, want 30", w, res.Created, res.Duplicates)
			}
		}()
	}
	wg.Wait()
	if created[0]+created[1] != 30 {
		t.Errorf("created %v, want 30 in all", created)
	}
	if n := len(h.readingsOf(t, p.Access)); n != 30 {
		t.Errorf("%d readings stored, want 30", n)
	}
}

// TestFHIRExportImportRoundTrip: a Bundle Concord exports imports back.
// Into the same account every reading is a duplicate; into another
// account each comes back as the same measurement (type, time, canonical
// values, glucose context, note, band, device) with source import; and
// posting it there again stores nothing.
func TestFHIRExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.register(t, "roundtrip-a@example.org", "patient")
	b := h.register(t, "roundtrip-b@example.org", "patient")
	at := h.clock.Now().Add(-3 * time.Hour).Truncate(time.Millisecond)
	for _, in := range []map[string]any{
		{"type": "blood_pressure", "unit": "mmHg", "systolic": 152, "diastolic": 97, "pulse": 71, "takenAt": at.Format(time.RFC3339Nano), "note": "after the stairs"},
		{"type": "blood_glucose", "unit": "mg/dL", "value": 65, "context": "fasting", "takenAt": at.Add(time.Minute).Format(time.RFC3339Nano)},
		{"type": "weight", "unit": "lb", "value": 176, "takenAt": at.Add(2 * time.Minute).Format(time.RFC3339Nano)},
		{"type": "spo2", "unit": "%", "value": 91, "takenAt": at.Add(3 * time.Minute).Format(time.RFC3339Nano)},
		{"type": "peak_flow", "unit": "L/min", "value": 420, "takenAt": at.Add(4 * time.Minute).Format(time.RFC3339Nano)},
		{"type": "temperature", "unit": "[degF]", "value": 100.4, "takenAt": at.Add(5 * time.Minute).Format(time.RFC3339Nano)},
	} {
		if r := h.do(t, "POST", "/v1/patients/me/readings", a.Access, in); r.status != http.StatusCreated {
			t.Fatalf("reading: %d %s", r.status, r.body)
		}
	}
	// And one imported from a device, whose make and model travel too.
	h.importFHIR(t, a.Access, observation("8867-4", at.Add(6*time.Minute), ucum(58, "/min"),
		"device", map[string]any{"display": "Polar H10"}), http.StatusOK)
	h.addMedicine(t, a, "Ramipril", nil)
	// A deleted reading is exported as entered-in-error: skipped on import.
	gone := h.do(t, "POST", "/v1/patients/me/readings", a.Access, map[string]any{"type": "weight", "unit": "kg", "value": 80,
		"takenAt": at.Add(7 * time.Minute).Format(time.RFC3339Nano)})
	var goneReading models.Reading
	_ = json.Unmarshal(gone.body, &goneReading)
	if r := h.do(t, "DELETE", "/v1/patients/me/readings/"+goneReading.ID, a.Access, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	original := h.readingsOf(t, a.Access)

	export := h.do(t, "GET", "/v1/patients/me/export?format=fhir", a.Access, nil)
	if export.status != http.StatusOK {
		t.Fatalf("export: %d", export.status)
	}
	if !strings.Contains(string(export.body), `"entered-in-error"`) {
		t.Errorf("the export has no entered-in-error Observation for the deleted reading")
	}
	_, self := h.importFHIR(t, a.Access, export.body, http.StatusOK)
	if self.Created != 0 || self.Duplicates != len(original) || self.Skipped == 0 {
		t.Errorf("own export re-imported: created %d, duplicates %d (want 0, %d), skipped %d", self.Created, self.Duplicates, len(original), self.Skipped)
	}

	_, other := h.importFHIR(t, b.Access, export.body, http.StatusOK)
	if other.Created != len(original) {
		t.Fatalf("export imported into another account: created %d, want %d", other.Created, len(original))
	}
	imported := map[time.Time]models.Reading{}
	for _, r := range h.readingsOf(t, b.Access) {
		imported[r.TakenAt] = r
	}
	for _, o := range original {
		got, ok := imported[o.TakenAt]
		switch {
		case !ok:
			t.Errorf("%s at %s did not come back", o.Type, o.TakenAt)
		case got.Type != o.Type || !sameValue(got.Canonical, o.Canonical) || got.Context != o.Context || got.Note != o.Note ||
			got.Band != o.Band || got.Rule != o.Rule || got.Device != o.Device:
			t.Errorf("%s came back as %+v, was %+v", o.Type, got, o)
		case o.Device == "" && got.Source != "import", o.Device != "" && got.Source != "device":
			t.Errorf("%s came back with source %q", o.Type, got.Source)
		}
	}
	_, again := h.importFHIR(t, b.Access, export.body, http.StatusOK)
	if again.Created != 0 || again.Duplicates != len(original) {
		t.Errorf("the same export imported again: created %d, duplicates %d", again.Created, again.Duplicates)
	}
	// B's own export imports into B as duplicates too.
	exportB := h.do(t, "GET", "/v1/patients/me/export?format=fhir", b.Access, nil)
	if _, res := h.importFHIR(t, b.Access, exportB.body, http.StatusOK); res.Created != 0 || res.Duplicates != len(original) {
		t.Errorf("B's export into B: created %d, duplicates %d", res.Created, res.Duplicates)
	}
}

func sameValue(a, b models.ReadingCanonical) bool {
	eq := func(x, y *float64) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	return a.Unit == b.Unit && eq(a.Value, b.Value) && eq(a.Systolic, b.Systolic) && eq(a.Diastolic, b.Diastolic) && eq(a.Pulse, b.Pulse)
}
