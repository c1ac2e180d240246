package models

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readingBP and readingValue build normalised readings for band tests.
func readingBP(t *testing.T, sys, dia float64) Reading {
	t.Helper()
	return mustNormalizeReading(t, Reading{Type: ReadingBloodPressure, Unit: "mm[Hg]", Systolic: readingPtr(sys), Diastolic: readingPtr(dia)})
}

func readingValue(t *testing.T, typ ReadingType, unit string, v float64) Reading {
	t.Helper()
	return mustNormalizeReading(t, Reading{Type: typ, Unit: unit, Value: readingPtr(v)})
}

type readingBandResult struct {
	Band     string
	Rule     string
	Severity Severity
}

func TestBandClassifyDefaults(t *testing.T) {
	best500 := CarePlanTargets{PeakFlowPersonalBest: readingPtr(500)}
	copd := CarePlanTargets{SpO2TargetLow: readingPtr(88), SpO2TargetHigh: readingPtr(92)}
	tests := []struct {
		name    string
		reading Reading
		targets CarePlanTargets
		want    readingBandResult
	}{
		// Blood pressure, NICE NG136 home thresholds.
		{"bp 180/100 severe", readingBP(t, 180, 100), CarePlanTargets{}, readingBandResult{BandSevere, "bp.severe", SeveritySevere}},
		{"bp 179/120 severe on diastolic", readingBP(t, 179, 120), CarePlanTargets{}, readingBandResult{BandSevere, "bp.severe", SeveritySevere}},
		{"bp 179/119 stage 2", readingBP(t, 179, 119), CarePlanTargets{}, readingBandResult{BandHighStage2, "bp.stage2", SeverityModerate}},
		{"bp 150/80 stage 2", readingBP(t, 150, 80), CarePlanTargets{}, readingBandResult{BandHighStage2, "bp.stage2", SeverityModerate}},
		{"bp 140/95 stage 2 on diastolic", readingBP(t, 140, 95), CarePlanTargets{}, readingBandResult{BandHighStage2, "bp.stage2", SeverityModerate}},
		{"bp 149/94 stage 1", readingBP(t, 149, 94), CarePlanTargets{}, readingBandResult{BandHighStage1, "bp.stage1", SeverityLow}},
		{"bp 135/85 stage 1", readingBP(t, 135, 85), CarePlanTargets{}, readingBandResult{BandHighStage1, "bp.stage1", SeverityLow}},
		{"bp 135/70 stage 1 on systolic", readingBP(t, 135, 70), CarePlanTargets{}, readingBandResult{BandHighStage1, "bp.stage1", SeverityLow}},
		{"bp 120/85 stage 1 on diastolic", readingBP(t, 120, 85), CarePlanTargets{}, readingBandResult{BandHighStage1, "bp.stage1", SeverityLow}},
		{"bp 140/55 high beats low", readingBP(t, 140, 55), CarePlanTargets{}, readingBandResult{BandHighStage1, "bp.stage1", SeverityLow}},
		{"bp 134/84 normal", readingBP(t, 134, 84), CarePlanTargets{}, readingBandResult{BandNormal, "bp.normal", SeverityNone}},
		{"bp 90/60 normal", readingBP(t, 90, 60), CarePlanTargets{}, readingBandResult{BandNormal, "bp.normal", SeverityNone}},
		{"bp 89/70 low", readingBP(t, 89, 70), CarePlanTargets{}, readingBandResult{BandLow, "bp.low", SeverityModerate}},
		{"bp 100/59 low on diastolic", readingBP(t, 100, 59), CarePlanTargets{}, readingBandResult{BandLow, "bp.low", SeverityModerate}},

		// Glucose (mmol/L).
		{"glucose 2.9 severe hypo", readingValue(t, ReadingBloodGlucose, "mmol/L", 2.9), CarePlanTargets{}, readingBandResult{BandSevereHypo, "glucose.severe_hypo", SeveritySevere}},
		{"glucose 3.0 hypo", readingValue(t, ReadingBloodGlucose, "mmol/L", 3.0), CarePlanTargets{}, readingBandResult{BandHypo, "glucose.hypo", SeverityHigh}},
		{"glucose 3.9 hypo", readingValue(t, ReadingBloodGlucose, "mmol/L", 3.9), CarePlanTargets{}, readingBandResult{BandHypo, "glucose.hypo", SeverityHigh}},
		{"glucose 4.0 in range", readingValue(t, ReadingBloodGlucose, "mmol/L", 4.0), CarePlanTargets{}, readingBandResult{BandInRange, "glucose.in_range", SeverityNone}},
		{"glucose 13.9 in range", readingValue(t, ReadingBloodGlucose, "mmol/L", 13.9), CarePlanTargets{}, readingBandResult{BandInRange, "glucose.in_range", SeverityNone}},
		{"glucose 14.0 very high", readingValue(t, ReadingBloodGlucose, "mmol/L", 14.0), CarePlanTargets{}, readingBandResult{BandVeryHigh, "glucose.very_high", SeverityModerate}},
		// 65 mg/dL = 3.61 mmol/L; 252 mg/dL = 13.99 mmol/L.
		{"glucose 65 mg/dL hypo", readingValue(t, ReadingBloodGlucose, "mg/dL", 65), CarePlanTargets{}, readingBandResult{BandHypo, "glucose.hypo", SeverityHigh}},
		{"glucose 252 mg/dL very high", readingValue(t, ReadingBloodGlucose, "mg/dL", 252), CarePlanTargets{}, readingBandResult{BandVeryHigh, "glucose.very_high", SeverityModerate}},

		// SpO2.
		{"spo2 91 severe", readingValue(t, ReadingSpO2, "%", 91), CarePlanTargets{}, readingBandResult{BandSevere, "spo2.severe", SeveritySevere}},
		{"spo2 92 normal", readingValue(t, ReadingSpO2, "%", 92), CarePlanTargets{}, readingBandResult{BandNormal, "spo2.normal", SeverityNone}},
		{"spo2 100 normal", readingValue(t, ReadingSpO2, "%", 100), CarePlanTargets{}, readingBandResult{BandNormal, "spo2.normal", SeverityNone}},
		// A COPD care plan's target range (BTS: 88–92%) replaces <92% severe.
		{"spo2 87 below a 88-92 range", readingValue(t, ReadingSpO2, "%", 87), copd, readingBandResult{BandBelowTarget, "spo2.personal_low", SeveritySevere}},
		{"spo2 88 in a 88-92 range", readingValue(t, ReadingSpO2, "%", 88), copd, readingBandResult{BandNormal, "spo2.normal", SeverityNone}},
		{"spo2 90 in a 88-92 range", readingValue(t, ReadingSpO2, "%", 90), copd, readingBandResult{BandNormal, "spo2.normal", SeverityNone}},
		{"spo2 92 in a 88-92 range", readingValue(t, ReadingSpO2, "%", 92), copd, readingBandResult{BandNormal, "spo2.normal", SeverityNone}},
		{"spo2 93 above a 88-92 range", readingValue(t, ReadingSpO2, "%", 93), copd, readingBandResult{BandAboveTarget, "spo2.personal_high", SeverityLow}},

		// Peak flow against a personal best of 500 L/min.
		// BTS/SIGN 158 edges: >75% normal; >50–75% moderate; 33–50% acute
		// severe; <33% life-threatening.
		{"peak flow 376 (75.2%) normal", readingValue(t, ReadingPeakFlow, "L/min", 376), best500, readingBandResult{BandNormal, "peak_flow.normal", SeverityNone}},
		{"peak flow 375 (75%) moderate", readingValue(t, ReadingPeakFlow, "L/min", 375), best500, readingBandResult{BandModerate, "peak_flow.moderate", SeverityModerate}},
		{"peak flow 370 (74%) moderate", readingValue(t, ReadingPeakFlow, "L/min", 370), best500, readingBandResult{BandModerate, "peak_flow.moderate", SeverityModerate}},
		{"peak flow 251 (50.2%) moderate", readingValue(t, ReadingPeakFlow, "L/min", 251), best500, readingBandResult{BandModerate, "peak_flow.moderate", SeverityModerate}},
		{"peak flow 250 (50%) severe", readingValue(t, ReadingPeakFlow, "L/min", 250), best500, readingBandResult{BandSevere, "peak_flow.severe", SeveritySevere}},
		{"peak flow 240 (48%) severe", readingValue(t, ReadingPeakFlow, "L/min", 240), best500, readingBandResult{BandSevere, "peak_flow.severe", SeveritySevere}},
		{"peak flow 165 (33%) severe", readingValue(t, ReadingPeakFlow, "L/min", 165), best500, readingBandResult{BandSevere, "peak_flow.severe", SeveritySevere}},
		{"peak flow 160 (32%) life-threatening", readingValue(t, ReadingPeakFlow, "L/min", 160), best500, readingBandResult{BandLifeThreatening, "peak_flow.life_threatening", SeveritySevere}},
		{"peak flow 600 above best normal", readingValue(t, ReadingPeakFlow, "L/min", 600), best500, readingBandResult{BandNormal, "peak_flow.normal", SeverityNone}},
		{"peak flow without personal best", readingValue(t, ReadingPeakFlow, "L/min", 160), CarePlanTargets{}, readingBandResult{BandUnclassified, "peak_flow.no_personal_best", SeverityNone}},

		// Heart rate (NEWS2 extremes).
		{"heart rate 40 low", readingValue(t, ReadingHeartRate, "/min", 40), CarePlanTargets{}, readingBandResult{BandLow, "heart_rate.low", SeverityHigh}},
		{"heart rate 41 normal", readingValue(t, ReadingHeartRate, "/min", 41), CarePlanTargets{}, readingBandResult{BandNormal, "heart_rate.normal", SeverityNone}},
		{"heart rate 130 normal", readingValue(t, ReadingHeartRate, "/min", 130), CarePlanTargets{}, readingBandResult{BandNormal, "heart_rate.normal", SeverityNone}},
		{"heart rate 131 high", readingValue(t, ReadingHeartRate, "/min", 131), CarePlanTargets{}, readingBandResult{BandHigh, "heart_rate.high", SeverityHigh}},

		// Temperature.
		{"temperature 34.9 hypothermia", readingValue(t, ReadingTemperature, "Cel", 34.9), CarePlanTargets{}, readingBandResult{BandHypothermia, "temperature.hypothermia", SeverityHigh}},
		{"temperature 35.0 normal", readingValue(t, ReadingTemperature, "Cel", 35.0), CarePlanTargets{}, readingBandResult{BandNormal, "temperature.normal", SeverityNone}},
		{"temperature 37.9 normal", readingValue(t, ReadingTemperature, "Cel", 37.9), CarePlanTargets{}, readingBandResult{BandNormal, "temperature.normal", SeverityNone}},
		{"temperature 38.0 fever", readingValue(t, ReadingTemperature, "Cel", 38.0), CarePlanTargets{}, readingBandResult{BandFever, "temperature.fever", SeverityModerate}},
		{"temperature 100.4 degF fever", readingValue(t, ReadingTemperature, "[degF]", 100.4), CarePlanTargets{}, readingBandResult{BandFever, "temperature.fever", SeverityModerate}},

		// Weight has no default bands.
		{"weight unclassified", readingValue(t, ReadingWeight, "kg", 80), CarePlanTargets{}, readingBandResult{BandUnclassified, "weight.unclassified", SeverityNone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got readingBandResult
			got.Band, got.Rule, got.Severity = Classify(&tt.reading, tt.targets)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Classify (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBandClassifyPersonalTargets(t *testing.T) {
	target := func(sys, dia *float64) CarePlanTargets {
		return CarePlanTargets{BPSystolicTarget: sys, BPDiastolicTarget: dia}
	}
	tight := target(readingPtr(130), readingPtr(80))   // e.g. diabetes with CKD
	relaxed := target(readingPtr(145), readingPtr(85)) // NICE home target at 80 and over
	glucose := CarePlanTargets{GlucoseLow: readingPtr(5.0), GlucoseHigh: readingPtr(10.0)}
	tests := []struct {
		name    string
		reading Reading
		targets CarePlanTargets
		want    readingBandResult
	}{
		{"tight target, 132/78 above target", readingBP(t, 132, 78), tight, readingBandResult{BandAboveTarget, "bp.personal_target", SeverityLow}},
		{"tight target, 130/70 at target is above", readingBP(t, 130, 70), tight, readingBandResult{BandAboveTarget, "bp.personal_target", SeverityLow}},
		{"tight target, 125/80 above on diastolic", readingBP(t, 125, 80), tight, readingBandResult{BandAboveTarget, "bp.personal_target", SeverityLow}},
		{"tight target, 129/79 normal", readingBP(t, 129, 79), tight, readingBandResult{BandNormal, "bp.normal", SeverityNone}},
		{"tight target, stage 2 still wins", readingBP(t, 155, 85), tight, readingBandResult{BandHighStage2, "bp.stage2", SeverityModerate}},
		{"tight target, severe still wins", readingBP(t, 185, 100), tight, readingBandResult{BandSevere, "bp.severe", SeveritySevere}},
		{"tight target, low still applies", readingBP(t, 88, 55), tight, readingBandResult{BandLow, "bp.low", SeverityModerate}},
		{"relaxed target, 140/80 is normal", readingBP(t, 140, 80), relaxed, readingBandResult{BandNormal, "bp.normal", SeverityNone}},
		{"relaxed target, 146/80 above target", readingBP(t, 146, 80), relaxed, readingBandResult{BandAboveTarget, "bp.personal_target", SeverityLow}},
		{"systolic target only keeps diastolic 85", readingBP(t, 125, 86), target(readingPtr(130), nil), readingBandResult{BandAboveTarget, "bp.personal_target", SeverityLow}},
		{"systolic target only, 125/84 normal", readingBP(t, 125, 84), target(readingPtr(130), nil), readingBandResult{BandNormal, "bp.normal", SeverityNone}},
		{"diastolic target only keeps systolic 135", readingBP(t, 135, 70), target(nil, readingPtr(80)), readingBandResult{BandAboveTarget, "bp.personal_target", SeverityLow}},
		{"glucose targets leave bp alone", readingBP(t, 135, 85), glucose, readingBandResult{BandHighStage1, "bp.stage1", SeverityLow}},

		{"glucose 4.5 below personal low 5.0", readingValue(t, ReadingBloodGlucose, "mmol/L", 4.5), glucose, readingBandResult{BandBelowTarget, "glucose.personal_low", SeverityHigh}},
		{"glucose 5.0 at personal low is in range", readingValue(t, ReadingBloodGlucose, "mmol/L", 5.0), glucose, readingBandResult{BandInRange, "glucose.in_range", SeverityNone}},
		{"glucose 2.9 severe hypo stays", readingValue(t, ReadingBloodGlucose, "mmol/L", 2.9), glucose, readingBandResult{BandSevereHypo, "glucose.severe_hypo", SeveritySevere}},
		{"glucose 10.0 at personal high is in range", readingValue(t, ReadingBloodGlucose, "mmol/L", 10.0), glucose, readingBandResult{BandInRange, "glucose.in_range", SeverityNone}},
		{"glucose 10.5 above personal high", readingValue(t, ReadingBloodGlucose, "mmol/L", 10.5), glucose, readingBandResult{BandAboveTarget, "glucose.personal_high", SeverityModerate}},
		{"personal high only keeps hypo 4.0", readingValue(t, ReadingBloodGlucose, "mmol/L", 3.9), CarePlanTargets{GlucoseHigh: readingPtr(10)}, readingBandResult{BandHypo, "glucose.hypo", SeverityHigh}},
		{"personal low 3.5 relaxes hypo", readingValue(t, ReadingBloodGlucose, "mmol/L", 3.7), CarePlanTargets{GlucoseLow: readingPtr(3.5)}, readingBandResult{BandInRange, "glucose.in_range", SeverityNone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got readingBandResult
			got.Band, got.Rule, got.Severity = Classify(&tt.reading, tt.targets)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Classify (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBandMatchRuleShowsLimitsApplied(t *testing.T) {
	r := readingBP(t, 131, 70)
	got, ok := MatchBandRule(&r, CarePlanTargets{BPSystolicTarget: readingPtr(130)})
	if !ok {
		t.Fatal("MatchBandRule: not classified")
	}
	want := BandRule{
		ID: "bp.personal_target", Type: ReadingBloodPressure, Band: BandAboveTarget, Severity: SeverityLow,
		When:     []BandCondition{{"systolic", ">=", 130}, {"diastolic", ">=", 85}},
		Personal: true, Source: bandSourcePlan,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MatchBandRule (-want +got):\n%s", diff)
	}
	if got, want := got.Criteria(), "systolic >= 130 or diastolic >= 85"; got != want {
		t.Errorf("Criteria = %q, want %q", got, want)
	}
	// The table itself is untouched by the substitution.
	if got := readingBandRules[2]; got.ID != "bp.stage1" || got.When[0].Limit != 135 {
		t.Errorf("default stage 1 rule changed: %+v", got)
	}
}

func TestBandClassifyUnnormalizedReading(t *testing.T) {
	tests := []Reading{
		{Type: ReadingSpO2, Unit: "%", Value: readingPtr(80)}, // never normalised
		{Type: ReadingBloodPressure, Canonical: ReadingCanonical{Unit: "mm[Hg]", Systolic: readingPtr(200)}},
		{Type: ReadingBloodGlucose, Canonical: ReadingCanonical{Unit: "mg/dL", Value: readingPtr(40)}},
		{Type: "cholesterol", Canonical: ReadingCanonical{Unit: "mmol/L", Value: readingPtr(5)}},
	}
	for _, r := range tests {
		var got readingBandResult
		got.Band, got.Rule, got.Severity = Classify(&r, CarePlanTargets{})
		if diff := cmp.Diff(readingBandResult{BandUnclassified, "", SeverityNone}, got); diff != "" {
			t.Errorf("Classify(%+v) (-want +got):\n%s", r, diff)
		}
	}
}

func TestReadingIsSevere(t *testing.T) {
	best := CarePlanTargets{PeakFlowPersonalBest: readingPtr(500)}
	tests := []struct {
		name    string
		reading Reading
		want    Severity
	}{
		{"bp severe", readingBP(t, 190, 100), SeveritySevere},
		{"glucose severe hypo", readingValue(t, ReadingBloodGlucose, "mmol/L", 2.5), SeveritySevere},
		{"spo2 below 92", readingValue(t, ReadingSpO2, "%", 88), SeveritySevere},
		{"peak flow below 50%", readingValue(t, ReadingPeakFlow, "L/min", 200), SeveritySevere},
		{"peak flow below 33%", readingValue(t, ReadingPeakFlow, "L/min", 100), SeveritySevere},
		{"bp stage 2", readingBP(t, 160, 90), SeverityModerate},
		{"glucose hypo", readingValue(t, ReadingBloodGlucose, "mmol/L", 3.5), SeverityHigh},
		{"glucose below personal low", readingValue(t, ReadingBloodGlucose, "mmol/L", 4.2), SeverityHigh},
		{"peak flow moderate", readingValue(t, ReadingPeakFlow, "L/min", 300), SeverityModerate},
		{"normal", readingValue(t, ReadingHeartRate, "/min", 70), SeverityNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.reading
			r.Band, r.Rule, _ = Classify(&r, CarePlanTargets{PeakFlowPersonalBest: best.PeakFlowPersonalBest, GlucoseLow: readingPtr(4.5)})
			if got := r.BandSeverity(); got != tt.want {
				t.Errorf("BandSeverity = %q (rule %q), want %q", got, r.Rule, tt.want)
			}
			if got, want := r.IsSevere(), tt.want == SeveritySevere; got != want {
				t.Errorf("IsSevere = %v, want %v", got, want)
			}
		})
	}
	if (Reading{}).IsSevere() || (Reading{}).BandSeverity() != SeverityNone {
		t.Error("an unclassified reading is severe")
	}
}

func TestBandSeverityRank(t *testing.T) {
	got := map[Severity]int{}
	for _, s := range []Severity{SeverityNone, SeverityLow, SeverityModerate, SeverityHigh, SeveritySevere, "critical", ""} {
		got[s] = s.Rank()
		if s.Valid() != (s.Rank() >= 0) {
			t.Errorf("%q: Valid = %v, Rank = %d", s, s.Valid(), s.Rank())
		}
	}
	want := map[Severity]int{SeverityNone: 0, SeverityLow: 1, SeverityModerate: 2, SeverityHigh: 3, SeveritySevere: 4, "critical": -1, "": -1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Rank (-want +got):\n%s", diff)
	}
}

func TestBandCarePlanTargetsValidate(t *testing.T) {
	tests := []struct {
		name    string
		targets CarePlanTargets
		want    []string // nil: valid
	}{
		{"none set", CarePlanTargets{}, nil},
		{"all set", CarePlanTargets{
			BPSystolicTarget: readingPtr(130), BPDiastolicTarget: readingPtr(80), PeakFlowPersonalBest: readingPtr(450),
			GlucoseLow: readingPtr(4), GlucoseHigh: readingPtr(10),
		}, nil},
		{"limits inclusive", CarePlanTargets{
			BPSystolicTarget: readingPtr(180), BPDiastolicTarget: readingPtr(50), PeakFlowPersonalBest: readingPtr(60),
			GlucoseLow: readingPtr(3), GlucoseHigh: readingPtr(25),
		}, nil},
		{"out of range", CarePlanTargets{
			BPSystolicTarget: readingPtr(99), BPDiastolicTarget: readingPtr(121), PeakFlowPersonalBest: readingPtr(1001),
			GlucoseLow: readingPtr(2.9), GlucoseHigh: readingPtr(25.1),
		}, []string{"bpSystolicTarget", "bpDiastolicTarget", "peakFlowPersonalBest", "glucoseLow", "glucoseHigh"}},
		{"systolic not above diastolic", CarePlanTargets{BPSystolicTarget: readingPtr(110), BPDiastolicTarget: readingPtr(110)}, []string{"bpSystolicTarget"}},
		{"glucose low not below high", CarePlanTargets{GlucoseLow: readingPtr(7), GlucoseHigh: readingPtr(7)}, []string{"glucoseLow"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.targets.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if diff := cmp.Diff(tt.want, readingProblemFields(t, err)); diff != "" {
				t.Errorf("problem fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadingBandRulesTable(t *testing.T) {
	rules := ReadingBandRules()
	ids := map[string]bool{}
	for _, rule := range rules {
		if ids[rule.ID] {
			t.Errorf("rule %q listed twice", rule.ID)
		}
		ids[rule.ID] = true
		if !rule.Type.Valid() || rule.Band == "" || !rule.Severity.Valid() || rule.Source == "" {
			t.Errorf("rule %q is incomplete: %+v", rule.ID, rule)
		}
		for _, c := range rule.When {
			switch c.Measure {
			case "value", "systolic", "diastolic", "percentOfPersonalBest":
			default:
				t.Errorf("rule %q: unknown measure %q", rule.ID, c.Measure)
			}
			switch c.Op {
			case "<", "<=", ">=", ">", "unavailable":
			default:
				t.Errorf("rule %q: unknown op %q", rule.ID, c.Op)
			}
		}
	}
	// Every type's default rules end with one that always matches, so every
	// normalised reading gets a band.
	for _, rt := range ReadingTypes() {
		var last *BandRule
		for i := range readingBandRules {
			if readingBandRules[i].Type == rt {
				last = &readingBandRules[i]
			}
		}
		if last == nil || len(last.When) != 0 {
			t.Errorf("%s: rules do not end with a fallback: %+v", rt, last)
		}
	}
	// A personal rule replaces a default rule with as many limits as that
	// rule has conditions.
	for _, pr := range readingPersonalBandRules {
		rule := pr.apply(CarePlanTargets{})
		if rule.Type == "" || len(pr.limits(CarePlanTargets{})) != len(rule.When) {
			t.Errorf("personal rule %q does not fit the rule it replaces, %q", pr.rule.ID, pr.replaces)
		}
	}
	// Callers get copies: changing one leaves the table as it was.
	rules[0].When[0].Limit = 1
	if readingBandRules[0].When[0].Limit == 1 {
		t.Error("ReadingBandRules shares its conditions with the table")
	}
}
