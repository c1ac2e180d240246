package models

import (
	"fmt"
	"strings"
)

// Severity ranks how urgently a reading needs someone's attention. The
// levels are ordered: none < low < moderate < high < severe.
type Severity string

// The severities, least urgent first.
const (
	// SeverityNone: within the usual or target range.
	SeverityNone Severity = "none"
	// SeverityLow: outside target; for the next routine review.
	SeverityLow Severity = "low"
	// SeverityModerate: worth a clinician's or pharmacist's look soon.
	SeverityModerate Severity = "moderate"
	// SeverityHigh: needs prompt (same-day) advice.
	SeverityHigh Severity = "high"
	// SeveritySevere: dangerous; needs urgent advice. Raises review flags
	// and carer alerts.
	SeveritySevere Severity = "severe"
)

var readingSeverityOrder = []Severity{SeverityNone, SeverityLow, SeverityModerate, SeverityHigh, SeveritySevere}

// Rank returns s's position in the order none (0) < low < moderate < high
// < severe (4), and -1 for an unknown severity.
func (s Severity) Rank() int {
	for i, x := range readingSeverityOrder {
		if x == s {
			return i
		}
	}
	return -1
}

// Valid reports whether s is one of the severities.
func (s Severity) Valid() bool { return s.Rank() >= 0 }

// The bands a reading can be classified in. Each reading type uses some of
// them (see the rules table); "unclassified" means no band applies, e.g. a
// peak flow with no personal best to compare it with.
const (
	BandNormal          = "normal"
	BandUnclassified    = "unclassified"
	BandLow             = "low"
	BandHigh            = "high"
	BandHighStage1      = "high_stage1"
	BandHighStage2      = "high_stage2"
	BandSevere          = "severe"
	BandAboveTarget     = "above_target"
	BandBelowTarget     = "below_target"
	BandSevereHypo      = "severe_hypo"
	BandHypo            = "hypo"
	BandVeryHigh        = "very_high"
	BandInRange         = "in_range"
	BandModerate        = "moderate"
	BandLifeThreatening = "life_threatening"
	BandFever           = "fever"
	BandHypothermia     = "hypothermia"
	// BandOfferABPM: a clinic blood pressure of 140/90 to 179/119; the
	// Blood Pressure Check Service offers ambulatory monitoring.
	BandOfferABPM = "offer_abpm"
	// BandSameDayReferral: a clinic blood pressure of 180/120 or above;
	// the Blood Pressure Check Service refers the patient the same day.
	BandSameDayReferral = "same_day_referral"
)

// BandCondition is one threshold test on a canonical value. Measure is
// "value", "systolic", "diastolic" or "percentOfPersonalBest" (a peak flow
// as a percentage of the care plan's personal best); Op is "<", "<=", ">="
// or ">" against Limit, or "unavailable", which holds when the measure
// cannot be computed.
type BandCondition struct {
	Measure string  `json:"measure" bson:"measure"`
	Op      string  `json:"op" bson:"op"`
	Limit   float64 `json:"limit" bson:"limit"`
}

// BandRule is one row of the banding table: a reading of Type that meets
// any of When (or any reading, when When is empty) is in Band with
// Severity. Rules of a type are tried in order; the first that matches
// fires. Personal is true for rules whose limits come from the patient's
// care plan. Source names the guideline.
type BandRule struct {
	ID       string          `json:"id" bson:"id"`
	Type     ReadingType     `json:"type" bson:"type"`
	Band     string          `json:"band" bson:"band"`
	Severity Severity        `json:"severity" bson:"severity"`
	When     []BandCondition `json:"when,omitempty" bson:"when,omitempty"`
	Personal bool            `json:"personal,omitempty" bson:"personal,omitempty"`
	// Setting is where the readings it bands were taken (Reading.Source):
	// "" at home, "clinic" in the pharmacy, "abpm" an ambulatory average.
	Setting string `json:"setting,omitempty" bson:"setting,omitempty"`
	Source  string `json:"source" bson:"source"`
}

// Sources of the default bands.
const (
	bandSourceNG136 = "NICE NG136 hypertension in adults (home monitoring thresholds)"
	bandSourceLowBP = "NHS definition of low blood pressure (below 90/60 mm[Hg])"
	bandSourceHypo  = "NICE NG28/NG17, Diabetes UK (4 mmol/L hypo threshold); International Hypoglycaemia Study Group (<3.0 mmol/L)"
	bandSourceTIR   = "International consensus on time in range, Battelino 2019 (>13.9 mmol/L, level 2 hyperglycaemia)"
	bandSourceSpO2  = "BTS oxygen guideline 2017 (target 94-98%); RCP NEWS2 (SpO2 91% or below scores 3)"
	bandSourceSpO2H = "BTS oxygen guideline 2017 (target 88-92% for patients at risk of hypercapnic respiratory failure, e.g. COPD): the care plan's target range replaces the default"
	bandSourcePEF   = "BTS/SIGN 158 British guideline on the management of asthma (PEF as % of best or predicted): above 75% normal; above 50% up to 75% moderate; 33-50% inclusive acute severe; below 33% life-threatening"
	bandSourceNEWS2 = "RCP National Early Warning Score 2 (pulse scoring 3: 40 or below, 131 or above)"
	bandSourceTemp  = "NICE NG143 / NHS (fever 38 °C or above); hypothermia below 35 °C core temperature"
	bandSourceNone  = "no default bands: weight matters as a trend, judged by the flag rules"
	bandSourcePlan  = "the patient's care plan"
	bandSourceBPC   = "NHS England, NHS Community Pharmacy Blood Pressure Check Service (Hypertension Case-Finding Advanced Service) specification, clinic readings: below 90/60 low; up to 139/89 normal; 140/90 to 179/119 offer ambulatory monitoring (ABPM); 180/120 or above same-day referral"
	bandSourceABPM  = "NICE NG136 hypertension in adults (ABPM daytime average: 135/85 or above stage 1 hypertension, 150/95 or above stage 2), as the Blood Pressure Check Service specification applies it"
)

// readingBandRules is the default banding table, tried in order per type
// on canonical values. Each type ends with a rule that always matches.
//
// Blood pressure: NICE thresholds apply to home averages; single readings
// are banded against the same numbers as a prompt, and the diagnostic home
// average is in ReadingSummary. "135/85" means systolic ≥ 135 or diastolic
// ≥ 85. A reading that is both high and low (e.g. 140/55) is banded high.
//
// Peak flow follows BTS/SIGN 158 to the edges: 75% of best is moderate,
// 50% and 33% are acute severe, below 33% is life-threatening.
//
// SpO2: below 92% is severe, unless the care plan sets a target range
// (patients at risk of hypercapnia, e.g. COPD, aim for 88-92%): then below
// its low end is severe, and above its high end is above target.
//
// Heart rate uses the NEWS2 limits that alone call for an urgent response;
// it does not know whether the person was at rest or has AF, so it flags
// only the extremes. Temperature is body temperature.
var readingBandRules = []BandRule{
	{ID: "bp.severe", Type: ReadingBloodPressure, Band: BandSevere, Severity: SeveritySevere, Source: bandSourceNG136,
		When: []BandCondition{{"systolic", ">=", 180}, {"diastolic", ">=", 120}}},
	{ID: "bp.stage2", Type: ReadingBloodPressure, Band: BandHighStage2, Severity: SeverityModerate, Source: bandSourceNG136,
		When: []BandCondition{{"systolic", ">=", 150}, {"diastolic", ">=", 95}}},
	{ID: "bp.stage1", Type: ReadingBloodPressure, Band: BandHighStage1, Severity: SeverityLow, Source: bandSourceNG136,
		When: []BandCondition{{"systolic", ">=", 135}, {"diastolic", ">=", 85}}},
	{ID: "bp.low", Type: ReadingBloodPressure, Band: BandLow, Severity: SeverityModerate, Source: bandSourceLowBP,
		When: []BandCondition{{"systolic", "<", 90}, {"diastolic", "<", 60}}},
	{ID: "bp.normal", Type: ReadingBloodPressure, Band: BandNormal, Severity: SeverityNone, Source: bandSourceNG136},

	// Clinic readings taken by the pharmacy (Blood Pressure Check Service):
	// a same-day referral is "high" (prompt, same-day advice), given in
	// person; it does not raise a flag or alert carers.
	{ID: "bp.clinic.same_day", Type: ReadingBloodPressure, Setting: ReadingSourceClinic, Band: BandSameDayReferral, Severity: SeverityHigh,
		Source: bandSourceBPC, When: []BandCondition{{"systolic", ">=", 180}, {"diastolic", ">=", 120}}},
	{ID: "bp.clinic.offer_abpm", Type: ReadingBloodPressure, Setting: ReadingSourceClinic, Band: BandOfferABPM, Severity: SeverityLow,
		Source: bandSourceBPC, When: []BandCondition{{"systolic", ">=", 140}, {"diastolic", ">=", 90}}},
	{ID: "bp.clinic.low", Type: ReadingBloodPressure, Setting: ReadingSourceClinic, Band: BandLow, Severity: SeverityModerate,
		Source: bandSourceBPC, When: []BandCondition{{"systolic", "<", 90}, {"diastolic", "<", 60}}},
	{ID: "bp.clinic.normal", Type: ReadingBloodPressure, Setting: ReadingSourceClinic, Band: BandNormal, Severity: SeverityNone, Source: bandSourceBPC},

	// Ambulatory (ABPM) daytime averages.
	{ID: "bp.abpm.stage2", Type: ReadingBloodPressure, Setting: ReadingSourceABPM, Band: BandHighStage2, Severity: SeverityModerate,
		Source: bandSourceABPM, When: []BandCondition{{"systolic", ">=", 150}, {"diastolic", ">=", 95}}},
	{ID: "bp.abpm.stage1", Type: ReadingBloodPressure, Setting: ReadingSourceABPM, Band: BandHighStage1, Severity: SeverityLow,
		Source: bandSourceABPM, When: []BandCondition{{"systolic", ">=", 135}, {"diastolic", ">=", 85}}},
	{ID: "bp.abpm.normal", Type: ReadingBloodPressure, Setting: ReadingSourceABPM, Band: BandNormal, Severity: SeverityNone, Source: bandSourceABPM},

	{ID: "glucose.severe_hypo", Type: ReadingBloodGlucose, Band: BandSevereHypo, Severity: SeveritySevere, Source: bandSourceHypo,
		When: []BandCondition{{"value", "<", 3.0}}},
	{ID: "glucose.hypo", Type: ReadingBloodGlucose, Band: BandHypo, Severity: SeverityHigh, Source: bandSourceHypo,
		When: []BandCondition{{"value", "<", 4.0}}},
	{ID: "glucose.very_high", Type: ReadingBloodGlucose, Band: BandVeryHigh, Severity: SeverityModerate, Source: bandSourceTIR,
		When: []BandCondition{{"value", ">", 13.9}}},
	{ID: "glucose.in_range", Type: ReadingBloodGlucose, Band: BandInRange, Severity: SeverityNone, Source: bandSourceHypo},

	{ID: "spo2.severe", Type: ReadingSpO2, Band: BandSevere, Severity: SeveritySevere, Source: bandSourceSpO2,
		When: []BandCondition{{"value", "<", 92}}},
	// Never fires without a care-plan target range (no SpO2 exceeds 100%).
	{ID: "spo2.above_range", Type: ReadingSpO2, Band: BandAboveTarget, Severity: SeverityLow, Source: bandSourceSpO2H,
		When: []BandCondition{{"value", ">", 100}}},
	{ID: "spo2.normal", Type: ReadingSpO2, Band: BandNormal, Severity: SeverityNone, Source: bandSourceSpO2},

	{ID: "peak_flow.no_personal_best", Type: ReadingPeakFlow, Band: BandUnclassified, Severity: SeverityNone, Source: bandSourcePEF,
		When: []BandCondition{{"percentOfPersonalBest", "unavailable", 0}}},
	{ID: "peak_flow.life_threatening", Type: ReadingPeakFlow, Band: BandLifeThreatening, Severity: SeveritySevere, Source: bandSourcePEF,
		When: []BandCondition{{"percentOfPersonalBest", "<", 33}}},
	{ID: "peak_flow.severe", Type: ReadingPeakFlow, Band: BandSevere, Severity: SeveritySevere, Source: bandSourcePEF,
		When: []BandCondition{{"percentOfPersonalBest", "<=", 50}}},
	{ID: "peak_flow.moderate", Type: ReadingPeakFlow, Band: BandModerate, Severity: SeverityModerate, Source: bandSourcePEF,
		When: []BandCondition{{"percentOfPersonalBest", "<=", 75}}},
	{ID: "peak_flow.normal", Type: ReadingPeakFlow, Band: BandNormal, Severity: SeverityNone, Source: bandSourcePEF},

	{ID: "heart_rate.low", Type: ReadingHeartRate, Band: BandLow, Severity: SeverityHigh, Source: bandSourceNEWS2,
		When: []BandCondition{{"value", "<=", 40}}},
	{ID: "heart_rate.high", Type: ReadingHeartRate, Band: BandHigh, Severity: SeverityHigh, Source: bandSourceNEWS2,
		When: []BandCondition{{"value", ">=", 131}}},
	{ID: "heart_rate.normal", Type: ReadingHeartRate, Band: BandNormal, Severity: SeverityNone, Source: bandSourceNEWS2},

	{ID: "temperature.hypothermia", Type: ReadingTemperature, Band: BandHypothermia, Severity: SeverityHigh, Source: bandSourceTemp,
		When: []BandCondition{{"value", "<", 35.0}}},
	{ID: "temperature.fever", Type: ReadingTemperature, Band: BandFever, Severity: SeverityModerate, Source: bandSourceTemp,
		When: []BandCondition{{"value", ">=", 38.0}}},
	{ID: "temperature.normal", Type: ReadingTemperature, Band: BandNormal, Severity: SeverityNone, Source: bandSourceTemp},

	{ID: "weight.unclassified", Type: ReadingWeight, Band: BandUnclassified, Severity: SeverityNone, Source: bandSourceNone},
}

// readingPersonalBandRules lists the care-plan targets that replace a
// default rule: when any of limits is set, rule takes the place of the rule
// named by replaces, keeping its conditions in order with each set limit
// substituted (an unset one keeps the default). Rules before it in the
// table, the worse bands, still take precedence.
var readingPersonalBandRules = []readingPersonalBandRule{
	{"bp.stage1",
		BandRule{ID: "bp.personal_target", Band: BandAboveTarget, Severity: SeverityLow},
		func(t CarePlanTargets) []*float64 { return []*float64{t.BPSystolicTarget, t.BPDiastolicTarget} }},
	{"glucose.hypo",
		BandRule{ID: "glucose.personal_low", Band: BandBelowTarget, Severity: SeverityHigh},
		func(t CarePlanTargets) []*float64 { return []*float64{t.GlucoseLow} }},
	{"glucose.very_high",
		BandRule{ID: "glucose.personal_high", Band: BandAboveTarget, Severity: SeverityModerate},
		func(t CarePlanTargets) []*float64 { return []*float64{t.GlucoseHigh} }},
	{"spo2.severe",
		BandRule{ID: "spo2.personal_low", Band: BandBelowTarget, Severity: SeveritySevere},
		func(t CarePlanTargets) []*float64 { return []*float64{t.SpO2TargetLow} }},
	{"spo2.above_range",
		BandRule{ID: "spo2.personal_high", Band: BandAboveTarget, Severity: SeverityLow},
		func(t CarePlanTargets) []*float64 { return []*float64{t.SpO2TargetHigh} }},
}

// readingPersonalBandRule is one row of readingPersonalBandRules.
type readingPersonalBandRule struct {
	replaces string
	rule     BandRule
	limits   func(CarePlanTargets) []*float64
}

// targetSet reports whether the care plan t sets any of pr's limits.
func (pr readingPersonalBandRule) targetSet(t CarePlanTargets) bool {
	for _, l := range pr.limits(t) {
		if l != nil {
			return true
		}
	}
	return false
}

// apply returns the rule pr puts in place of its default rule under the
// care plan t: the default's conditions with t's set limits substituted.
func (pr readingPersonalBandRule) apply(t CarePlanTargets) BandRule {
	rule := pr.rule.clone()
	rule.Personal = true
	rule.Source = bandSourcePlan
	for _, def := range readingBandRules {
		if def.ID != pr.replaces {
			continue
		}
		rule.Type = def.Type
		rule.When = append([]BandCondition(nil), def.When...)
		for i, l := range pr.limits(t) {
			if l != nil && i < len(rule.When) {
				rule.When[i].Limit = *l
			}
		}
	}
	return rule
}

// ReadingBandRules returns a copy of the default banding table followed by
// the care-plan rules (with their default limits), for documentation and
// for naming the evidence of a flag.
func ReadingBandRules() []BandRule {
	rules := make([]BandRule, 0, len(readingBandRules)+len(readingPersonalBandRules))
	for _, rule := range readingBandRules {
		rules = append(rules, rule.clone())
	}
	for _, pr := range readingPersonalBandRules {
		rules = append(rules, pr.apply(CarePlanTargets{}))
	}
	return rules
}

// MatchBandRule returns the rule that classifies r under the care plan t,
// with the limits that applied (a personal target's value in place of the
// default). It returns false when r cannot be classified: an unknown type,
// or canonical values missing because r was not normalised.
func MatchBandRule(r *Reading, t CarePlanTargets) (BandRule, bool) {
	if !r.hasCanonical() {
		return BandRule{}, false
	}
	for _, rule := range readingBandRules {
		if rule.Type != r.Type || rule.Setting != r.Setting() {
			continue
		}
		for _, pr := range readingPersonalBandRules {
			if pr.replaces == rule.ID && pr.targetSet(t) {
				rule = pr.apply(t)
			}
		}
		if rule.matches(r.Canonical, t) {
			return rule.clone(), true
		}
	}
	return BandRule{}, false
}

// Setting returns the setting whose bands classify r (BandRule.Setting):
// its Source, except that readings imported from a device or another app
// were taken at home, as readings logged by hand are.
func (r Reading) Setting() string {
	switch r.Source {
	case ReadingSourceDevice, ReadingSourceImport:
		return ReadingSourceHome
	}
	return r.Source
}

// Classify returns the band of the normalised reading r under the care plan
// t, the ID of the rule that fired and its severity. A reading that cannot
// be classified (see MatchBandRule) is "unclassified" with no rule and
// severity none. Classify reads only canonical values and changes nothing:
// the caller stores band and rule.
func Classify(r *Reading, t CarePlanTargets) (band string, ruleID string, severity Severity) {
	rule, ok := MatchBandRule(r, t)
	if !ok {
		return BandUnclassified, "", SeverityNone
	}
	return rule.Band, rule.ID, rule.Severity
}

// BandSeverity returns the severity of the rule that classified r (its
// Rule field), SeverityNone when r is unclassified or the rule is unknown.
func (r Reading) BandSeverity() Severity {
	for _, rule := range readingBandRules {
		if rule.ID == r.Rule {
			return rule.Severity
		}
	}
	for _, pr := range readingPersonalBandRules {
		if pr.rule.ID == r.Rule {
			return pr.rule.Severity
		}
	}
	return SeverityNone
}

// IsSevere reports whether r was classified in a severe band (severe blood
// pressure, severe hypoglycaemia, SpO2 below 92% or below the care plan's
// range, peak flow at or below 50% of best): the readings that raise review
// flags and carer alerts.
func (r Reading) IsSevere() bool { return r.BandSeverity() == SeveritySevere }

// Criteria describes when rule fires, e.g. "systolic >= 180 or diastolic
// >= 120", or "always" for a type's fallback rule.
func (rule BandRule) Criteria() string {
	if len(rule.When) == 0 {
		return "always"
	}
	parts := make([]string, len(rule.When))
	for i, c := range rule.When {
		if c.Op == "unavailable" {
			parts[i] = c.Measure + " unavailable"
			continue
		}
		parts[i] = fmt.Sprintf("%s %s %g", c.Measure, c.Op, c.Limit)
	}
	return strings.Join(parts, " or ")
}

func (rule BandRule) clone() BandRule {
	rule.When = append([]BandCondition(nil), rule.When...)
	return rule
}

func (rule BandRule) matches(c ReadingCanonical, t CarePlanTargets) bool {
	if len(rule.When) == 0 {
		return true
	}
	for _, cond := range rule.When {
		if cond.holds(c, t) {
			return true
		}
	}
	return false
}

func (cond BandCondition) holds(c ReadingCanonical, t CarePlanTargets) bool {
	var v *float64
	switch cond.Measure {
	case "value":
		v = c.Value
	case "systolic":
		v = c.Systolic
	case "diastolic":
		v = c.Diastolic
	case "percentOfPersonalBest":
		if c.Value != nil && t.PeakFlowPersonalBest != nil && *t.PeakFlowPersonalBest > 0 {
			pct := *c.Value * 100 / *t.PeakFlowPersonalBest
			v = &pct
		}
	}
	if cond.Op == "unavailable" {
		return v == nil
	}
	if v == nil {
		return false
	}
	switch cond.Op {
	case "<":
		return *v < cond.Limit
	case "<=":
		return *v <= cond.Limit
	case ">=":
		return *v >= cond.Limit
	case ">":
		return *v > cond.Limit
	}
	return false
}
