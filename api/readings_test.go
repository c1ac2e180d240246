package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/concord-health/concord/models"
)

const myReadings = "/v1/patients/me/readings"

// uuidN returns a fixed, valid UUID made from n.
func uuidN(n int) string { return fmt.Sprintf("0b5e6c1e-8d3a-4f7e-9c2a-%012d", n) }

// bp is a blood pressure reading as a client sends it.
func bp(id string, takenAt time.Time, systolic, diastolic float64) map[string]any {
	m := map[string]any{"type": "blood_pressure", "takenAt": takenAt.Format(time.RFC3339Nano), "unit": "mmHg", "systolic": systolic, "diastolic": diastolic}
	if id != "" {
		m["id"] = id
	}
	return m
}

// single is a single-value reading as a client sends it.
func single(id, typ string, takenAt time.Time, value float64, unit string) map[string]any {
	m := map[string]any{"type": typ, "takenAt": takenAt.Format(time.RFC3339Nano), "unit": unit, "value": value}
	if id != "" {
		m["id"] = id
	}
	return m
}

// reading decodes a response body that is one reading.
func (r response) reading(t *testing.T) models.Reading {
	t.Helper()
	var rd models.Reading
	if err := json.Unmarshal(r.body, &rd); err != nil {
		t.Fatalf("body is not a reading: %v: %s", err, r.body)
	}
	return rd
}

type readingPage struct {
	Items      []models.Reading `json:"items"`
	NextCursor string           `json:"nextCursor"`
}

type batchResult struct {
	ID      string          `json:"id"`
	Status  string          `json:"status"`
	Reading *models.Reading `json:"reading"`
	Error   *struct {
		Code   string                `json:"code"`
		Detail string                `json:"detail"`
		Errors []models.FieldProblem `json:"errors"`
	} `json:"error"`
}

func decodeJSON[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, r.body)
	}
	return v
}

// listAll pages through a list query with the given page size and returns
// every reading's id in order.
func (h *harness) listAll(t *testing.T, token, query string, limit int) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for range 1000 {
		q := fmt.Sprintf("%s?limit=%d%s", myReadings, limit, query)
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		r := h.do(t, "GET", q, token, nil)
		if r.status != 200 {
			t.Fatalf("list %s: %d %s", q, r.status, r.body)
		}
		page := decodeJSON[readingPage](t, r)
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		if page.NextCursor == "" {
			return ids
		}
		cursor = page.NextCursor
	}
	t.Fatal("paging did not end")
	return nil
}

func TestReadingCreateIdempotent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann := h.register(t, "ann@example.org", "patient")
	bob := h.register(t, "bob@example.org", "patient")
	now := h.clock.Now()
	in := bp(uuidN(1), now.Add(-time.Hour), 128, 82)

	r := h.do(t, "POST", myReadings, ann.Access, in)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	first := r.reading(t)
	want := models.Reading{
		ID: uuidN(1), PatientID: ann.ID, Type: models.ReadingBloodPressure, TakenAt: now.Add(-time.Hour),
		Unit: "mm[Hg]", Systolic: ptr(128.0), Diastolic: ptr(82.0),
		Canonical: models.ReadingCanonical{Unit: "mm[Hg]", Systolic: ptr(128.0), Diastolic: ptr(82.0)},
		Band:      models.BandNormal, Rule: "bp.normal", LOINC: "85354-9", CreatedAt: now, UpdatedAt: now,
	}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("created reading (-want +got):\n%s", diff)
	}

	// The same reading again, even spelt differently (upper-case id, UCUM
	// unit), is the stored one: 200, nothing new.
	h.clock.Advance(time.Minute)
	again := bp(strings.ToUpper(uuidN(1)), now.Add(-time.Hour), 128, 82)
	again["unit"] = "mm[Hg]"
	r = h.do(t, "POST", myReadings, ann.Access, again)
	if r.status != http.StatusOK {
		t.Fatalf("replay: %d %s, want 200", r.status, r.body)
	}
	if diff := cmp.Diff(first, r.reading(t)); diff != "" {
		t.Errorf("replay returns the stored reading (-want +got):\n%s", diff)
	}

	// The same id with other content: 409.
	r = h.do(t, "POST", myReadings, ann.Access, bp(uuidN(1), now.Add(-time.Hour), 129, 82))
	if r.status != http.StatusConflict || r.problemCode(t) != "conflict" {
		t.Fatalf("other content: %d %s, want 409", r.status, r.body)
	}
	ownConflict := r.json(t)

	// Another patient sending Ann's id, with her content or not, gets the
	// very same answer: nothing tells them the id is someone else's.
	for _, body := range []map[string]any{bp(uuidN(1), now.Add(-time.Hour), 128, 82), bp(uuidN(1), now, 120, 80)} {
		r = h.do(t, "POST", myReadings, bob.Access, body)
		if r.status != http.StatusConflict {
			t.Fatalf("another patient's id: %d %s, want 409", r.status, r.body)
		}
		got := r.json(t)
		for _, k := range []string{"code", "detail", "errors", "title", "type"} {
			if diff := cmp.Diff(ownConflict[k], got[k]); diff != "" {
				t.Errorf("conflict %s differs for another patient's id (-own +other):\n%s", k, diff)
			}
		}
		if strings.Contains(string(r.body), ann.ID) || strings.Contains(string(r.body), "systolic") {
			t.Errorf("conflict reveals the other reading: %s", r.body)
		}
	}

	// Without an id the server gives one.
	r = h.do(t, "POST", myReadings, ann.Access, bp("", now, 120, 80))
	if r.status != http.StatusCreated {
		t.Fatalf("create without id: %d %s", r.status, r.body)
	}
	if id := r.reading(t).ID; len(id) != 36 || id == uuidN(1) {
		t.Errorf("server id %q", id)
	}
	if got := h.listAll(t, ann.Access, "", 50); len(got) != 2 {
		t.Errorf("ann has %d readings, want 2", len(got))
	}
	if got := h.listAll(t, bob.Access, "", 50); len(got) != 0 {
		t.Errorf("bob has %d readings, want 0", len(got))
	}
	if logs := h.log.String(); strings.Contains(logs, "systolic") || strings.Contains(logs, "mm[Hg]") || !strings.Contains(logs, uuidN(1)) {
		t.Error("the log names a reading's values, or not its id")
	}
}

func ptr[T any](v T) *T { return &v }

func TestReadingValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann := h.register(t, "ann@example.org", "patient")
	now := h.clock.Now()
	with := func(m map[string]any, kv ...any) map[string]any {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	tests := []struct {
		name   string
		body   any
		fields []string
	}{
		{"11 minutes in the future", bp(uuidN(1), now.Add(11*time.Minute), 120, 80), []string{"takenAt"}},
		{"glucose above 50 mmol/L", single(uuidN(2), "blood_glucose", now, 60, "mmol/L"), []string{"value"}},
		{"glucose above 900 mg/dL", single(uuidN(3), "blood_glucose", now, 950, "mg/dL"), []string{"value"}},
		{"systolic not above diastolic", bp(uuidN(4), now, 80, 90), []string{"systolic"}},
		{"every bad field named", with(bp("not-a-uuid", now, 400, 10), "pulse", 500.0), []string{"id", "systolic", "diastolic", "pulse"}},
		{"value on blood pressure", with(bp(uuidN(5), now, 120, 80), "value", 3.0), []string{"value"}},
		{"unit of another type", single(uuidN(6), "weight", now, 70, "mmol/L"), []string{"unit"}},
		{"unknown type", single(uuidN(7), "cholesterol", now, 5, "mmol/L"), []string{"type"}},
		{"context on weight", with(single(uuidN(8), "weight", now, 70, "kg"), "context", "fasting"), []string{"context"}},
		{"takenAt missing", with(bp(uuidN(9), now, 120, 80), "takenAt", nil), []string{"takenAt"}},
		{"takenAt not RFC 3339", with(bp(uuidN(10), now, 120, 80), "takenAt", "25/11/2026 08:00"), []string{"takenAt"}},
		{"value not a number", with(single(uuidN(11), "weight", now, 70, "kg"), "value", "seventy"), []string{"value"}},
		{"server-owned band", with(bp(uuidN(12), now, 120, 80), "band", "normal"), []string{"band"}},
		{"server-owned patientId", with(bp(uuidN(13), now, 120, 80), "patientId", "someone"), []string{"patientId"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(t, "POST", myReadings, ann.Access, tt.body)
			if r.status != http.StatusBadRequest || r.problemCode(t) != "invalid" {
				t.Fatalf("%d %s, want 400 invalid", r.status, r.body)
			}
			if diff := cmp.Diff(tt.fields, r.fields(t)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
	if got := h.listAll(t, ann.Access, "", 50); len(got) != 0 {
		t.Errorf("invalid readings were stored: %v", got)
	}
	// Inside the allowed clock skew is fine.
	if r := h.do(t, "POST", myReadings, ann.Access, bp(uuidN(1), now.Add(9*time.Minute), 120, 80)); r.status != http.StatusCreated {
		t.Errorf("9 minutes ahead: %d %s, want 201", r.status, r.body)
	}
}

// TestReadingUnitsAndBands: values are stored as entered and in the
// canonical unit, and the band and rule are stored and returned.
func TestReadingUnitsAndBands(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann := h.register(t, "ann@example.org", "patient")
	now := h.clock.Now()
	tests := []struct {
		name      string
		body      map[string]any
		unit      string
		canonical models.ReadingCanonical
		band      string
		rule      string
	}{
		{"glucose in mg/dL", single(uuidN(1), "blood_glucose", now, 126, "mg/dL"), "mg/dL",
			models.ReadingCanonical{Unit: "mmol/L", Value: ptr(6.99)}, models.BandInRange, "glucose.in_range"},
		{"glucose hypo in mg/dL (54 mg/dL is 3.00 mmol/L)", single(uuidN(2), "blood_glucose", now, 54, "mg/dL"), "mg/dL",
			models.ReadingCanonical{Unit: "mmol/L", Value: ptr(3.0)}, models.BandHypo, "glucose.hypo"},
		{"severe hypo", single(uuidN(3), "blood_glucose", now, 2.8, "mmol/L"), "mmol/L",
			models.ReadingCanonical{Unit: "mmol/L", Value: ptr(2.8)}, models.BandSevereHypo, "glucose.severe_hypo"},
		{"weight in lb", single(uuidN(4), "weight", now, 154, "lb"), "[lb_av]",
			models.ReadingCanonical{Unit: "kg", Value: ptr(69.85)}, models.BandUnclassified, "weight.unclassified"},
		{"fever in °F", single(uuidN(5), "temperature", now, 100.4, "F"), "[degF]",
			models.ReadingCanonical{Unit: "Cel", Value: ptr(38.0)}, models.BandFever, "temperature.fever"},
		{"severe blood pressure", bp(uuidN(6), now, 182, 100), "mm[Hg]",
			models.ReadingCanonical{Unit: "mm[Hg]", Systolic: ptr(182.0), Diastolic: ptr(100.0)}, models.BandSevere, "bp.severe"},
		{"NICE stage 1 on diastolic", bp(uuidN(7), now, 130, 85), "mm[Hg]",
			models.ReadingCanonical{Unit: "mm[Hg]", Systolic: ptr(130.0), Diastolic: ptr(85.0)}, models.BandHighStage1, "bp.stage1"},
		{"low SpO2", single(uuidN(8), "spo2", now, 90, "%"), "%",
			models.ReadingCanonical{Unit: "%", Value: ptr(90.0)}, models.BandSevere, "spo2.severe"},
		{"peak flow without a personal best", single(uuidN(9), "peak_flow", now, 300, "L/min"), "L/min",
			models.ReadingCanonical{Unit: "L/min", Value: ptr(300.0)}, models.BandUnclassified, "peak_flow.no_personal_best"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(t, "POST", myReadings, ann.Access, tt.body)
			if r.status != http.StatusCreated {
				t.Fatalf("%d %s", r.status, r.body)
			}
			for _, got := range []models.Reading{r.reading(t), h.do(t, "GET", myReadings+"/"+tt.body["id"].(string), ann.Access, nil).reading(t)} {
				if got.Unit != tt.unit || got.Band != tt.band || got.Rule != tt.rule {
					t.Errorf("unit, band, rule = %q, %q, %q; want %q, %q, %q", got.Unit, got.Band, got.Rule, tt.unit, tt.band, tt.rule)
				}
				if v, ok := tt.body["value"].(float64); ok && (got.Value == nil || *got.Value != v) {
					t.Errorf("value as entered = %v, want %v", got.Value, v)
				}
				if diff := cmp.Diff(tt.canonical, got.Canonical); diff != "" {
					t.Errorf("canonical (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestReadingPersonalTargets: targets set in the profile replace the
// default bands for readings stored afterwards; stored bands stay.
func TestReadingPersonalTargets(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann := h.register(t, "ann@example.org", "patient")
	now := h.clock.Now()
	before := h.do(t, "POST", myReadings, ann.Access, bp(uuidN(1), now, 132, 78)).reading(t)
	if before.Band != models.BandNormal || before.Rule != "bp.normal" {
		t.Fatalf("132/78 by default: %s/%s, want normal/bp.normal", before.Band, before.Rule)
	}
	r := h.do(t, "PATCH", "/v1/me", ann.Access, map[string]any{"targets": map[string]any{
		"bpSystolicTarget": 130, "bpDiastolicTarget": 80, "peakFlowPersonalBest": 500, "glucoseLow": 5,
	}})
	if r.status != http.StatusOK {
		t.Fatalf("set targets: %d %s", r.status, r.body)
	}
	tests := []struct {
		body       map[string]any
		band, rule string
	}{
		{bp(uuidN(2), now, 132, 78), models.BandAboveTarget, "bp.personal_target"},
		{bp(uuidN(3), now, 128, 78), models.BandNormal, "bp.normal"},
		{bp(uuidN(4), now, 152, 80), models.BandHighStage2, "bp.stage2"},                                        // worse bands still win
		{single(uuidN(5), "peak_flow", now, 300, "L/min"), models.BandModerate, "peak_flow.moderate"},           // 60% of 500
		{single(uuidN(6), "peak_flow", now, 240, "L/min"), models.BandSevere, "peak_flow.severe"},               // 48%
		{single(uuidN(7), "blood_glucose", now, 4.5, "mmol/L"), models.BandBelowTarget, "glucose.personal_low"}, // below 5
	}
	for _, tt := range tests {
		got := h.do(t, "POST", myReadings, ann.Access, tt.body).reading(t)
		if got.Band != tt.band || got.Rule != tt.rule {
			t.Errorf("%v: %s/%s, want %s/%s", tt.body, got.Band, got.Rule, tt.band, tt.rule)
		}
	}
	again := h.do(t, "GET", myReadings+"/"+uuidN(1), ann.Access, nil).reading(t)
	if again.Band != models.BandNormal {
		t.Errorf("a stored reading was re-banded: %s", again.Band)
	}
}

func TestReadingBatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann := h.register(t, "ann@example.org", "patient")
	bob := h.register(t, "bob@example.org", "patient")
	now := h.clock.Now()
	day := func(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }
	if r := h.do(t, "POST", myReadings, ann.Access, bp(uuidN(1), day(3), 130, 80)); r.status != 201 {
		t.Fatal(r.status, string(r.body))
	}
	if r := h.do(t, "POST", myReadings, bob.Access, bp(uuidN(99), day(3), 130, 80)); r.status != 201 {
		t.Fatal(r.status, string(r.body))
	}

	items := []any{
		bp(uuidN(1), day(3), 130, 80),                                              // 0: stored before: unchanged
		bp(uuidN(2), day(2), 140, 90),                                              // 1: created (high)
		bp(uuidN(1), day(3), 131, 80),                                              // 2: stored before with other content: conflict
		single(uuidN(3), "blood_glucose", day(2), 60, "mmol/L"),                    // 3: implausible: invalid
		bp("", day(1), 120, 70),                                                    // 4: no id: created with a server id
		map[string]any{"id": uuidN(4), "type": "weight", "value": "x"},             // 5: malformed: invalid
		bp(uuidN(2), day(2), 140, 90),                                              // 6: repeated in the batch: unchanged
		bp(uuidN(99), day(3), 130, 80),                                             // 7: Bob's id, Bob's content: conflict
		single(uuidN(5), "blood_glucose", day(1), 72, "mg/dL"),                     // 8: created
		map[string]any{"type": "weight", "unit": "kg", "value": 70, "extra": true}, // 9: unknown field, no id: invalid
	}
	type outcome struct {
		ID, Status, Code string
		Fields           []string
	}
	run := func() ([]outcome, []batchResult) {
		r := h.do(t, "POST", myReadings+"/batch", ann.Access, map[string]any{"readings": items})
		if r.status != http.StatusOK {
			t.Fatalf("batch: %d %s", r.status, r.body)
		}
		res := decodeJSON[struct{ Results []batchResult }](t, r).Results
		out := make([]outcome, len(res))
		for i, br := range res {
			out[i] = outcome{ID: br.ID, Status: br.Status}
			if br.Error != nil {
				out[i].Code = br.Error.Code
				for _, f := range br.Error.Errors {
					out[i].Fields = append(out[i].Fields, f.Field)
				}
			}
		}
		return out, res
	}
	got, res := run()
	serverID := got[4].ID
	want := []outcome{
		{uuidN(1), "unchanged", "", nil},
		{uuidN(2), "created", "", nil},
		{uuidN(1), "conflict", "conflict", []string{"id"}},
		{uuidN(3), "invalid", "invalid", []string{"value"}},
		{serverID, "created", "", nil},
		{uuidN(4), "invalid", "invalid", []string{"value"}},
		{uuidN(2), "unchanged", "", nil},
		{uuidN(99), "conflict", "conflict", []string{"id"}},
		{uuidN(5), "created", "", nil},
		{"", "invalid", "invalid", []string{"extra"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if len(serverID) != 36 {
		t.Errorf("no server id for the reading sent without one: %q", serverID)
	}
	if rd := res[1].Reading; rd == nil || rd.Band != models.BandHighStage1 || rd.PatientID != ann.ID {
		t.Errorf("created result carries the stored reading: %+v", rd)
	}
	if rd := res[8].Reading; rd == nil || rd.Canonical.Value == nil || *rd.Canonical.Value != 4.0 {
		t.Errorf("mg/dL item not converted: %+v", rd)
	}

	// Every valid reading is stored, once; nothing else is.
	stored := h.listAll(t, ann.Access, "", 50)
	if diff := cmp.Diff([]string{serverID, uuidN(5), uuidN(2), uuidN(1)}, stored, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("stored readings (-want +got):\n%s", diff)
	}
	if r := h.do(t, "GET", myReadings+"/"+uuidN(1), ann.Access, nil); r.reading(t).Systolic == nil || *r.reading(t).Systolic != 130 {
		t.Errorf("a conflicting item changed the stored reading: %s", r.body)
	}
	if r := h.do(t, "GET", "/v1/patients/me/readings/"+uuidN(99), bob.Access, nil); r.status != 200 || r.reading(t).PatientID != bob.ID {
		t.Errorf("bob's reading: %d %s", r.status, r.body)
	}

	// The same batch again: every reading stored the first time is
	// unchanged; the rest fail as before; the id-less one is new again
	// (only an id makes an upload idempotent).
	again, _ := run()
	for i := range want {
		w := want[i]
		if w.Status == "created" {
			w.Status = "unchanged"
		}
		if i == 4 {
			w = outcome{again[4].ID, "created", "", nil}
			if again[4].ID == serverID {
				t.Errorf("the id-less reading got the same server id twice")
			}
		}
		if diff := cmp.Diff(w, again[i]); diff != "" {
			t.Errorf("replay item %d (-want +got):\n%s", i, diff)
		}
	}
	if n := len(h.listAll(t, ann.Access, "", 50)); n != 5 {
		t.Errorf("after the replay ann has %d readings, want 5", n)
	}
}

func TestReadingBatchLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann := h.register(t, "ann@example.org", "patient")
	now := h.clock.Now()
	batch := func(n int) map[string]any {
		items := make([]any, n)
		for i := range items {
			items[i] = single(uuidN(i), "heart_rate", now.Add(-time.Duration(i)*time.Minute), 70, "bpm")
		}
		return map[string]any{"readings": items}
	}
	r := h.do(t, "POST", myReadings+"/batch", ann.Access, batch(501))
	if r.status != http.StatusBadRequest || r.problemCode(t) != "invalid" {
		t.Fatalf("501 readings: %d %s, want 400", r.status, r.body)
	}
	if diff := cmp.Diff([]string{"readings"}, r.fields(t)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if n := len(h.listAll(t, ann.Access, "", 200)); n != 0 {
		t.Errorf("a rejected batch stored %d readings", n)
	}
	for _, body := range []any{map[string]any{}, map[string]any{"readings": "x"}} {
		if r := h.do(t, "POST", myReadings+"/batch", ann.Access, body); r.status != http.StatusBadRequest {
			t.Errorf("batch %v: %d %s, want 400", body, r.status, r.body)
		}
	}

	r = h.do(t, "POST", myReadings+"/batch", ann.Access, batch(500))
	if r.status != http.StatusOK {
		t.Fatalf("500 readings: %d %s", r.status, r.body)
	}
	for i, res := range decodeJSON[struct{ Results []batchResult }](t, r).Results {
		if res.Status != "created" || res.ID != uuidN(i) {
			t.Fatalf("item %d: %+v", i, res)
		}
	}
	if n := len(h.listAll(t, ann.Access, "&type=heart_rate", 200)); n != 500 {
		t.Errorf("stored %d of 500", n)
	}
}

// TestReadingPaginationConcurrentInserts pages through a patient's
// readings while other goroutines upload more, some newer and some older
// than the pages already read: every reading that existed at the start is
// listed exactly once, and no reading twice.
func TestReadingPaginationConcurrentInserts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann := h.register(t, "ann@example.org", "patient")
	now := h.clock.Now()
	const initial, writers, perWriter = 120, 4, 30
	// Many readings share a takenAt, so that the id must break ties.
	takenAt := func(n int) time.Time { return now.Add(-time.Duration(n%40) * time.Hour) }
	items := make([]any, initial)
	for i := range items {
		items[i] = single(uuidN(i), "weight", takenAt(i), 70, "kg")
	}
	if r := h.do(t, "POST", myReadings+"/batch", ann.Access, map[string]any{"readings": items}); r.status != 200 {
		t.Fatal(r.status, string(r.body))
	}

	post := func(body any) error {
		b, _ := json.Marshal(body)
		req := httptest.NewRequest("POST", myReadings, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+ann.Access)
		res, err := h.app.Test(req, -1)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			return fmt.Errorf("status %d", res.StatusCode)
		}
		return nil
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			<-start
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range perWriter {
				n := 1000 + w*perWriter + i
				if err := post(single(uuidN(n), "weight", takenAt(rng.IntN(40)), 71, "kg")); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	close(start)
	seen := h.listAll(t, ann.Access, "", 7)
	wg.Wait()

	count := map[string]int{}
	for _, id := range seen {
		count[id]++
	}
	for id, n := range count {
		if n > 1 {
			t.Errorf("reading %s listed %d times", id, n)
		}
	}
	for i := range initial {
		if count[uuidN(i)] != 1 {
			t.Errorf("initial reading %d listed %d times, want 1", i, count[uuidN(i)])
		}
	}
	t.Logf("listed %d readings (%d existed at the start, %d uploaded meanwhile)", len(seen), initial, writers*perWriter)
	// Once the writers are done, a full listing has every reading, in order.
	all := h.listAll(t, ann.Access, "", 13)
	if len(all) != initial+writers*perWriter {
		t.Errorf("final listing has %d readings, want %d", len(all), initial+writers*perWriter)
	}
}

func TestReadingListFiltersAndQueryErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann := h.register(t, "ann@example.org", "patient")
	now := h.clock.Now()
	hour := func(n int) time.Time { return now.Add(-time.Duration(n) * time.Hour) }
	items := []any{
		bp(uuidN(1), hour(5), 120, 80),
		single(uuidN(2), "weight", hour(4), 70, "kg"),
		bp(uuidN(3), hour(3), 121, 80),
		bp(uuidN(4), hour(2), 122, 80),
		single(uuidN(5), "weight", hour(1), 70, "kg"),
	}
	if r := h.do(t, "POST", myReadings+"/batch", ann.Access, map[string]any{"readings": items}); r.status != 200 {
		t.Fatal(r.status, string(r.body))
	}
	q := func(t time.Time) string { return url.QueryEscape(t.Format(time.RFC3339)) }
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{uuidN(5), uuidN(4), uuidN(3), uuidN(2), uuidN(1)}},
		{"&type=blood_pressure", []string{uuidN(4), uuidN(3), uuidN(1)}},
		{"&type=weight&from=" + q(hour(4)), []string{uuidN(5), uuidN(2)}},
		{"&from=" + q(hour(4)) + "&to=" + q(hour(2)), []string{uuidN(3), uuidN(2)}},
		// An offset with an unencoded "+" (which arrives as a space).
		{"&to=" + strings.Replace(hour(2).In(time.FixedZone("", 3600)).Format(time.RFC3339), "+", "%2B", 1), []string{uuidN(3), uuidN(2), uuidN(1)}},
		{"&to=" + hour(2).In(time.FixedZone("", 3600)).Format(time.RFC3339), []string{uuidN(3), uuidN(2), uuidN(1)}},
	}
	for _, tt := range tests {
		for _, limit := range []int{1, 2, 50} {
			if diff := cmp.Diff(tt.want, h.listAll(t, ann.Access, tt.query, limit)); diff != "" {
				t.Errorf("%q limit %d (-want +got):\n%s", tt.query, limit, diff)
			}
		}
	}

	bad := []struct{ path, field string }{
		{myReadings + "?limit=0", "limit"},
		{myReadings + "?limit=201", "limit"},
		{myReadings + "?limit=ten", "limit"},
		{myReadings + "?from=yesterday", "from"},
		{myReadings + "?to=2026-13-01T00:00:00Z", "to"},
		{myReadings + "?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "to"},
		{myReadings + "?type=cholesterol", "type"},
		{myReadings + "?cursor=not-a-cursor", "cursor"},
		{myReadings + "/summary", "type"},
		{myReadings + "/summary?type=weight&days=0", "days"},
		{myReadings + "/summary?type=weight&days=366", "days"},
		{myReadings + "/summary?type=sugar", "type"},
	}
	for _, tt := range bad {
		r := h.do(t, "GET", tt.path, ann.Access, nil)
		if r.status != http.StatusBadRequest || r.problemCode(t) != "invalid" {
			t.Errorf("%s: %d %s, want 400", tt.path, r.status, r.body)
			continue
		}
		if diff := cmp.Diff([]string{tt.field}, r.fields(t)); diff != "" {
			t.Errorf("%s fields (-want +got):\n%s", tt.path, diff)
		}
	}
}

func TestReadingDelete(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann := h.register(t, "ann@example.org", "patient")
	now := h.clock.Now()
	keep := single(uuidN(1), "weight", now.Add(-2*time.Hour), 70, "kg")
	gone := single(uuidN(2), "weight", now.Add(-time.Hour), 90, "kg")
	for _, b := range []any{keep, gone} {
		if r := h.do(t, "POST", myReadings, ann.Access, b); r.status != 201 {
			t.Fatal(r.status, string(r.body))
		}
	}
	if r := h.do(t, "DELETE", myReadings+"/"+uuidN(2), ann.Access, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", myReadings+"/"+uuidN(2), ann.Access, nil); r.status != http.StatusNotFound || r.problemCode(t) != "not_found" {
		t.Errorf("get after delete: %d %s, want 404", r.status, r.body)
	}
	if r := h.do(t, "DELETE", myReadings+"/"+uuidN(2), ann.Access, nil); r.status != http.StatusNotFound {
		t.Errorf("second delete: %d, want 404", r.status)
	}
	if diff := cmp.Diff([]string{uuidN(1)}, h.listAll(t, ann.Access, "", 50)); diff != "" {
		t.Errorf("list after delete (-want +got):\n%s", diff)
	}
	sum := decodeJSON[models.ReadingSummary](t, h.do(t, "GET", myReadings+"/summary?type=weight", ann.Access, nil))
	if sum.Count != 1 || sum.Mean == nil || *sum.Mean != 70 {
		t.Errorf("summary counts a deleted reading: %+v", sum)
	}
	// A late retry of the deleted reading's upload does not bring it back.
	if r := h.do(t, "POST", myReadings, ann.Access, gone); r.status != http.StatusOK {
		t.Errorf("replay of a deleted reading: %d %s, want 200", r.status, r.body)
	}
	if r := h.do(t, "GET", myReadings+"/"+uuidN(2), ann.Access, nil); r.status != http.StatusNotFound {
		t.Errorf("replay resurrected a deleted reading: %d", r.status)
	}
	if r := h.do(t, "DELETE", myReadings+"/"+uuidN(3), ann.Access, nil); r.status != http.StatusNotFound {
		t.Errorf("delete of an unknown reading: %d, want 404", r.status)
	}
}

// TestReadingSummaryBloodPressure works a week of home readings by hand.
func TestReadingSummaryBloodPressure(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann := h.register(t, "ann@example.org", "patient") // Europe/London: GMT in November
	at := func(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC) }
	items := []any{
		// Day 1, 21 Nov: discarded from the home average.
		bp(uuidN(1), at(21, 7), 150, 95),  // high_stage2
		bp(uuidN(2), at(21, 19), 148, 92), // high_stage1
		// Days 2-4: averaged.
		bp(uuidN(3), at(22, 7), 140, 88),  // high_stage1
		bp(uuidN(4), at(22, 19), 136, 86), // high_stage1
		bp(uuidN(5), at(23, 7), 132, 84),  // normal
		bp(uuidN(6), at(23, 19), 138, 90), // high_stage1
		bp(uuidN(7), at(24, 7), 130, 80),  // normal
		bp(uuidN(8), at(24, 19), 134, 82), // normal, the latest
		// Outside a 7-day window (18 Nov is 8 local days ago on 25 Nov).
		bp(uuidN(9), at(18, 23), 200, 110),
		// Deleted below.
		bp(uuidN(10), at(23, 12), 190, 120),
		// Another type.
		single(uuidN(11), "heart_rate", at(23, 12), 70, "bpm"),
	}
	if r := h.do(t, "POST", myReadings+"/batch", ann.Access, map[string]any{"readings": items}); r.status != 200 {
		t.Fatal(r.status, string(r.body))
	}
	if r := h.do(t, "DELETE", myReadings+"/"+uuidN(10), ann.Access, nil); r.status != 204 {
		t.Fatal(r.status)
	}
	r := h.do(t, "GET", myReadings+"/summary?type=blood_pressure&days=7", ann.Access, nil)
	if r.status != 200 {
		t.Fatalf("summary: %d %s", r.status, r.body)
	}
	got := decodeJSON[models.ReadingSummary](t, r)
	// Home average: systolic (140+136+132+138+130+134)/6 = 810/6 = 135.0,
	// diastolic (88+86+84+90+80+82)/6 = 510/6 = 85.0 over 3 days.
	// All eight: systolic 1108/8 = 138.5, diastolic 697/8 = 87.125 → 87.1.
	want := models.ReadingSummary{
		Type: models.ReadingBloodPressure, Days: 7, Unit: "mm[Hg]", Count: 8,
		MeanSystolic: ptr(138.5), MeanDiastolic: ptr(87.1),
		MinSystolic: ptr(130.0), MaxSystolic: ptr(150.0), MinDiastolic: ptr(80.0), MaxDiastolic: ptr(95.0),
		Bands:       map[string]float64{models.BandHighStage2: 0.125, models.BandHighStage1: 0.5, models.BandNormal: 0.375},
		HomeAverage: &models.BPHomeAverage{Systolic: 135, Diastolic: 85, Days: 3, Readings: 6, DiscardedFirstDay: true, EnoughDays: true},
	}
	if got.Latest == nil || got.Latest.ID != uuidN(8) {
		t.Errorf("latest = %+v, want reading 8", got.Latest)
	}
	got.Latest = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}

	// The default window (30 days) takes in the reading of 18 Nov.
	got = decodeJSON[models.ReadingSummary](t, h.do(t, "GET", myReadings+"/summary?type=blood_pressure", ann.Access, nil))
	if got.Days != 30 || got.Count != 9 || *got.MaxSystolic != 200 {
		t.Errorf("30-day summary: days %d count %d max %v", got.Days, got.Count, *got.MaxSystolic)
	}
	// A type with no readings.
	got = decodeJSON[models.ReadingSummary](t, h.do(t, "GET", myReadings+"/summary?type=spo2", ann.Access, nil))
	if diff := cmp.Diff(models.ReadingSummary{Type: models.ReadingSpO2, Days: 30, Unit: "%", Bands: map[string]float64{}}, got); diff != "" {
		t.Errorf("empty summary (-want +got):\n%s", diff)
	}
}

// TestReadingSummaryTimeZone: days and windows are the patient's local
// days. In Auckland (UTC+13 in November) 10:30 and 11:30 UTC on 24 Nov are
// 23:30 on the 24th and 00:30 on the 25th; the clock is 09:00 UTC on the
// 25th, 22:00 in Auckland.
func TestReadingSummaryTimeZone(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann := h.register(t, "ann@example.org", "patient")
	if r := h.do(t, "PATCH", "/v1/me", ann.Access, map[string]any{"timezone": "Pacific/Auckland"}); r.status != 200 {
		t.Fatal(r.status, string(r.body))
	}
	items := []any{
		bp(uuidN(1), time.Date(2026, 11, 24, 10, 30, 0, 0, time.UTC), 150, 90),
		bp(uuidN(2), time.Date(2026, 11, 24, 11, 30, 0, 0, time.UTC), 130, 80),
	}
	if r := h.do(t, "POST", myReadings+"/batch", ann.Access, map[string]any{"readings": items}); r.status != 200 {
		t.Fatal(r.status, string(r.body))
	}
	// Today only (in Auckland): the second reading.
	got := decodeJSON[models.ReadingSummary](t, h.do(t, "GET", myReadings+"/summary?type=blood_pressure&days=1", ann.Access, nil))
	if got.Count != 1 || *got.MeanSystolic != 130 {
		t.Errorf("days=1: count %d mean %v, want 1 reading of 130", got.Count, got.MeanSystolic)
	}
	// Two local days: the first is discarded from the home average.
	got = decodeJSON[models.ReadingSummary](t, h.do(t, "GET", myReadings+"/summary?type=blood_pressure&days=2", ann.Access, nil))
	want := &models.BPHomeAverage{Systolic: 130, Diastolic: 80, Days: 1, Readings: 1, DiscardedFirstDay: true}
	if diff := cmp.Diff(want, got.HomeAverage); got.Count != 2 || diff != "" {
		t.Errorf("days=2: count %d, home average (-want +got):\n%s", got.Count, diff)
	}
}

// TestReadingsAccess: another patient gets 404 on every readings route,
// whether they name the patient or ask for the reading under their own
// id; without a token every route is 401.
func TestReadingsAccess(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ann := h.register(t, "ann@example.org", "patient")
	bob := h.register(t, "bob@example.org", "patient")
	now := h.clock.Now()
	if r := h.do(t, "POST", myReadings, ann.Access, bp(uuidN(1), now, 120, 80)); r.status != 201 {
		t.Fatal(r.status, string(r.body))
	}
	anns := "/v1/patients/" + ann.ID + "/readings"
	routes := []struct {
		method, path string
		body         any
	}{
		{"GET", anns, nil},
		{"GET", anns + "/" + uuidN(1), nil},
		{"POST", anns, bp(uuidN(2), now, 120, 80)},
		{"POST", anns + "/batch", map[string]any{"readings": []any{bp(uuidN(3), now, 120, 80)}}},
		{"GET", anns + "/summary?type=blood_pressure", nil},
		{"DELETE", anns + "/" + uuidN(1), nil},
		// Bob's own routes do not reach Ann's reading.
		{"GET", myReadings + "/" + uuidN(1), nil},
		{"DELETE", myReadings + "/" + uuidN(1), nil},
		// Nor does a made-up or non-patient id.
		{"GET", "/v1/patients/no-such-patient/readings", nil},
	}
	for _, rt := range routes {
		r := h.do(t, rt.method, rt.path, bob.Access, rt.body)
		if r.status != http.StatusNotFound || r.problemCode(t) != "not_found" {
			t.Errorf("bob %s %s: %d %s, want 404", rt.method, rt.path, r.status, r.body)
		}
		if r := h.do(t, rt.method, rt.path, "", rt.body); r.status != http.StatusUnauthorized || r.problemCode(t) != "unauthorized" {
			t.Errorf("no token %s %s: %d %s, want 401", rt.method, rt.path, r.status, r.body)
		}
	}
	// Ann, by her id, sees exactly her one reading, untouched.
	if r := h.do(t, "GET", anns+"/"+uuidN(1), ann.Access, nil); r.status != 200 {
		t.Errorf("ann's reading after bob's attempts: %d %s", r.status, r.body)
	}
	if diff := cmp.Diff([]string{uuidN(1)}, h.listAll(t, ann.Access, "", 50)); diff != "" {
		t.Errorf("ann's readings (-want +got):\n%s", diff)
	}
	if n := len(h.listAll(t, bob.Access, "", 50)); n != 0 {
		t.Errorf("bob has %d readings", n)
	}
}
