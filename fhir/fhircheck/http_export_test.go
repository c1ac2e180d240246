package fhircheck

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/concord-health/concord/internal/graphtest"
	"github.com/concord-health/concord/store/sqlite"
)

// TestHTTPExportValidates validates the bytes GET /v1/patients/me/export
// answers, not only the encoder's output: a patient registers through the
// Fiber app of the whole graph (run()'s wiring, on a real SQLite store),
// adds an NHS number, uploads readings of several kinds, deletes one,
// adds a medicine and takes a dose, and asks for the FHIR export; the
// streamed Bundle and every resource in it must be valid R4 for
// google/fhir, and carry what was logged. The store is SQLite only, so
// this package reads no environment and the MongoDB pass of CI reuses
// its result; the export's paging on both backends is the api package's
// TestRecordExport*.
func TestHTTPExportValidates(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(ctx) })
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	g := graphtest.New(t, st, graphtest.NewClock(now), nil, nil, graphtest.Options{})

	call := func(method, path, token, body string, want int) []byte {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := g.App.Test(req, -1)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		out, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("%s %s: read body: %v", method, path, err)
		}
		if res.StatusCode != want {
			t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, out)
		}
		return out
	}
	var reg struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal(call(http.MethodPost, "/v1/auth/register", "",
		`{"email":"ann@example.org","password":"correct horse battery","name":"Ann Smith","role":"patient","timezone":"Europe/London"}`,
		http.StatusCreated), &reg); err != nil || reg.AccessToken == "" {
		t.Fatalf("register: %v", err)
	}
	tok := reg.AccessToken
	call(http.MethodPatch, "/v1/me", tok, `{"nhsNumber":"999 111 1115"}`, http.StatusOK)
	call(http.MethodPost, "/v1/patients/me/readings/batch", tok, `{"readings":[
		{"id":"6f1d2e3b-4a5c-4f7e-9c2a-0b5e6c1e8d3a","type":"blood_pressure","takenAt":"2026-11-25T08:00:00Z","unit":"mmHg","systolic":142,"diastolic":88,"pulse":71},
		{"type":"blood_pressure","takenAt":"2026-11-25T08:05:00Z","unit":"mmHg","systolic":138,"diastolic":86},
		{"type":"blood_glucose","takenAt":"2026-11-25T07:30:00Z","unit":"mg/dL","value":65,"context":"fasting"},
		{"type":"weight","takenAt":"2026-11-25T07:00:00Z","unit":"kg","value":81.5},
		{"type":"heart_rate","takenAt":"2026-11-25T07:01:00Z","unit":"/min","value":64},
		{"type":"peak_flow","takenAt":"2026-11-25T07:02:00Z","unit":"L/min","value":410},
		{"type":"temperature","takenAt":"2026-11-25T07:03:00Z","unit":"Cel","value":37.2}]}`, http.StatusOK)
	call(http.MethodDelete, "/v1/patients/me/readings/6f1d2e3b-4a5c-4f7e-9c2a-0b5e6c1e8d3a", tok, "", http.StatusNoContent)
	var med struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(call(http.MethodPost, "/v1/patients/me/medications", tok,
		`{"name":"Ramipril","strength":"5 mg","form":"capsule","schedule":{"times":["08:00","20:00"],"startDate":"2026-11-25"},"stock":{"quantity":56,"unitsPerDose":1}}`,
		http.StatusCreated), &med); err != nil || med.ID == "" {
		t.Fatalf("add a medicine: %v", err)
	}
	var doses struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal(call(http.MethodGet, "/v1/patients/me/doses?medicationId="+med.ID+"&from=2026-11-25T09:00:00Z&to=2026-11-26T09:00:00Z",
		tok, "", http.StatusOK), &doses); err != nil || len(doses.Items) == 0 {
		t.Fatalf("doses: %v %+v", err, doses)
	}
	call(http.MethodPost, "/v1/patients/me/doses/"+doses.Items[0].ID+"/taken", tok, "", http.StatusOK)

	b := call(http.MethodGet, "/v1/patients/me/export?format=fhir", tok, "", http.StatusOK)
	mustValidate(t, "the Bundle GET /v1/patients/me/export?format=fhir answered", b)
	bn, rs := readBundle(t, b)
	count := map[string]int{}
	for i, r := range rs {
		kind, _ := r["resourceType"].(string)
		count[kind]++
		mustValidate(t, kind+" from the HTTP export", bn.Entry[i].Resource)
	}
	// 7 readings, one of them deleted (entered-in-error); one medicine;
	// one taken dose.
	want := map[string]int{"Patient": 1, "Observation": 7, "MedicationStatement": 1, "MedicationAdministration": 1}
	for kind, n := range want {
		if count[kind] != n {
			t.Errorf("%d %s resources, want %d (all: %v)", count[kind], kind, n, count)
		}
	}
	for _, s := range []string{`"https://fhir.nhs.uk/Id/nhs-number"`, `"9991111115"`, `"85354-9"`, `"entered-in-error"`, `"mm[Hg]"`} {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("the HTTP export has no %s", s)
		}
	}
}
