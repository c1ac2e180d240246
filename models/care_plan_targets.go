package models

// CarePlanTargets are the personal targets in a patient's care plan. Each
// set target overrides a default band (see Classify); unset ones leave the
// defaults. Values are in canonical units: mm[Hg], L/min, mmol/L.
type CarePlanTargets struct {
	// BPSystolicTarget and BPDiastolicTarget: home readings at or above
	// either are above target (they replace the 135/85 stage 1 threshold).
	BPSystolicTarget  *float64 `json:"bpSystolicTarget,omitempty" bson:"bpSystolicTarget,omitempty"`
	BPDiastolicTarget *float64 `json:"bpDiastolicTarget,omitempty" bson:"bpDiastolicTarget,omitempty"`
	// PeakFlowPersonalBest is what peak flow readings are compared with.
	PeakFlowPersonalBest *float64 `json:"peakFlowPersonalBest,omitempty" bson:"peakFlowPersonalBest,omitempty"`
	// GlucoseLow and GlucoseHigh replace 4.0 and 13.9 mmol/L; severe
	// hypoglycaemia stays below 3.0.
	GlucoseLow  *float64 `json:"glucoseLow,omitempty" bson:"glucoseLow,omitempty"`
	GlucoseHigh *float64 `json:"glucoseHigh,omitempty" bson:"glucoseHigh,omitempty"`
	// SpO2TargetLow and SpO2TargetHigh are an oxygen saturation target
	// range (e.g. 88-92% in COPD with a risk of hypercapnia): below the low
	// end replaces "below 92% is severe"; above the high end is above
	// target.
	SpO2TargetLow  *float64 `json:"spo2TargetLow,omitempty" bson:"spo2TargetLow,omitempty"`
	SpO2TargetHigh *float64 `json:"spo2TargetHigh,omitempty" bson:"spo2TargetHigh,omitempty"`
}

// carePlanTargetRanges bounds each care-plan target to values a clinician
// might set: BP targets between the lowest in use (e.g. SPRINT's 120) with
// a margin and the severe threshold; a personal best from a child's to the
// top of a Wright meter's scale; a glucose low at or above the severe-hypo
// threshold; a glucose high from a tight fasting target to a relaxed one
// for frailty.
var carePlanTargetRanges = []struct {
	field    string
	get      func(CarePlanTargets) *float64
	min, max float64
	unit     string
}{
	{"bpSystolicTarget", func(t CarePlanTargets) *float64 { return t.BPSystolicTarget }, 100, 180, "mm[Hg]"},
	{"bpDiastolicTarget", func(t CarePlanTargets) *float64 { return t.BPDiastolicTarget }, 50, 120, "mm[Hg]"},
	{"peakFlowPersonalBest", func(t CarePlanTargets) *float64 { return t.PeakFlowPersonalBest }, 60, 1000, "L/min"},
	{"glucoseLow", func(t CarePlanTargets) *float64 { return t.GlucoseLow }, 3.0, 8.0, "mmol/L"},
	{"glucoseHigh", func(t CarePlanTargets) *float64 { return t.GlucoseHigh }, 5.0, 25.0, "mmol/L"},
	{"spo2TargetLow", func(t CarePlanTargets) *float64 { return t.SpO2TargetLow }, 80, 94, "%"},
	{"spo2TargetHigh", func(t CarePlanTargets) *float64 { return t.SpO2TargetHigh }, 88, 100, "%"},
}

// Validate returns nil when every set target lies in its plausible range,
// the systolic target exceeds the diastolic one and the glucose low is
// below the high; otherwise a CodeInvalid *Error naming every bad field.
func (t CarePlanTargets) Validate() error {
	var p Problems
	ok := map[string]bool{}
	for _, rg := range carePlanTargetRanges {
		v := rg.get(t)
		if v == nil {
			continue
		}
		if !(*v >= rg.min && *v <= rg.max) { // also rejects NaN
			p.Add(rg.field, "must be between %g and %g %s", rg.min, rg.max, rg.unit)
			continue
		}
		ok[rg.field] = true
	}
	if ok["bpSystolicTarget"] && ok["bpDiastolicTarget"] && *t.BPSystolicTarget <= *t.BPDiastolicTarget {
		p.Add("bpSystolicTarget", "must be higher than bpDiastolicTarget")
	}
	if ok["glucoseLow"] && ok["glucoseHigh"] && *t.GlucoseLow >= *t.GlucoseHigh {
		p.Add("glucoseLow", "must be lower than glucoseHigh")
	}
	if ok["spo2TargetLow"] && ok["spo2TargetHigh"] && *t.SpO2TargetLow >= *t.SpO2TargetHigh {
		p.Add("spo2TargetLow", "must be lower than spo2TargetHigh")
	}
	return p.Err()
}
