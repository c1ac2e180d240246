package api_test

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// A COPD patient's care plan sets an SpO2 target range (BTS: 88-92%):
// their usual 90% is no longer a severe reading, below the range still is,
// and another patient's 90% stays severe. Peak flow at exactly 50% of best
// is acute severe (BTS/SIGN 158), at 75% moderate.
func TestCarePlanBandsThroughTheAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	copd := h.register(t, "copd@example.org", "patient")
	other := h.register(t, "other@example.org", "patient")
	if r := h.do(t, "PATCH", "/v1/me", copd.Access, map[string]any{
		"targets": map[string]any{"spo2TargetLow": 88, "spo2TargetHigh": 92, "peakFlowPersonalBest": 400},
	}); r.status != http.StatusOK {
		t.Fatalf("set targets: %d %s", r.status, r.body)
	}
	if r := h.do(t, "PATCH", "/v1/me", copd.Access, map[string]any{
		"targets": map[string]any{"spo2TargetLow": 92, "spo2TargetHigh": 88},
	}); r.status != http.StatusBadRequest || !slices.Contains(r.fields(t), "targets.spo2TargetLow") {
		t.Errorf("an upside-down range: %d %s", r.status, r.body)
	}
	at := h.clock.Now().Add(-time.Minute).Format(time.RFC3339)
	for _, tc := range []struct {
		who        account
		typ, unit  string
		value      float64
		band, rule string
	}{
		{copd, "spo2", "%", 90, "normal", "spo2.normal"},
		{copd, "spo2", "%", 87, "below_target", "spo2.personal_low"},
		{copd, "spo2", "%", 95, "above_target", "spo2.personal_high"},
		{other, "spo2", "%", 90, "severe", "spo2.severe"},
		{copd, "peak_flow", "L/min", 200, "severe", "peak_flow.severe"},
		{copd, "peak_flow", "L/min", 300, "moderate", "peak_flow.moderate"},
		{copd, "peak_flow", "L/min", 301, "normal", "peak_flow.normal"},
	} {
		r := h.do(t, "POST", "/v1/patients/me/readings", tc.who.Access, map[string]any{"type": tc.typ, "unit": tc.unit, "value": tc.value, "takenAt": at})
		if r.status != http.StatusCreated {
			t.Fatalf("%s %v: %d %s", tc.typ, tc.value, r.status, r.body)
		}
		got := r.json(t)
		if got["band"] != tc.band || got["rule"] != tc.rule {
			t.Errorf("%s %v for %s: band %v rule %v, want %s %s", tc.typ, tc.value, tc.who.Email, got["band"], got["rule"], tc.band, tc.rule)
		}
	}
}
