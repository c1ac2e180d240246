package models

// FlagCondition is one comparison of a metric with a threshold: the metric
// Op ("<", "<=", ">=" or ">") Threshold.
type FlagCondition struct {
	Metric    string  `json:"metric"`
	Op        string  `json:"op"`
	Threshold float64 `json:"threshold"`
}

// Holds reports whether value meets the condition.
func (c FlagCondition) Holds(value float64) bool {
	switch c.Op {
	case "<":
		return value < c.Threshold
	case "<=":
		return value <= c.Threshold
	case ">=":
		return value >= c.Threshold
	case ">":
		return value > c.Threshold
	}
	return false
}

// FlagCriterion is one row of the rules table: the flag Rule is raised when
// When holds (and And, when set) for data of the last WindowDays days. A
// rule may have several criteria (tried in table order; the first that
// holds fires). Severity and Service are the rule's.
type FlagCriterion struct {
	Rule       FlagRuleID      `json:"rule"`
	Name       string          `json:"name"`
	When       FlagCondition   `json:"when"`
	And        *FlagCondition  `json:"and,omitempty"`
	WindowDays int             `json:"windowDays"`
	Severity   Severity        `json:"severity"`
	Service    PharmacyService `json:"suggestedService"`
	// RearmDays: after a flag is resolved (without a follow-up), the same
	// evidence (the same EvidenceKey) raises a new flag only this many days
	// later; 0 means never (only new evidence does, such as a new reading).
	RearmDays int    `json:"rearmDays,omitempty"`
	Source    string `json:"source"`
}

// HypoglycaemiaBelow is the blood glucose (mmol/L) below which a reading is
// a hypo (Reading.IsHypo): the same 4.0 as the glucose "hypo" band.
// Source: NICE NG28/NG17, Diabetes UK ("4 is the floor"). Personal
// care-plan targets do not move it: a reading below a personal low target
// of 5 is not a hypo.
const HypoglycaemiaBelow = 4.0

// IsHypo reports whether r is a hypo: a blood glucose reading whose
// canonical value (mmol/L) is below HypoglycaemiaBelow, whatever the
// patient's care plan says.
func (r Reading) IsHypo() bool {
	return r.Type == ReadingBloodGlucose && r.Canonical.Value != nil && *r.Canonical.Value < HypoglycaemiaBelow
}

// The metrics the criteria compare.
const (
	MetricDoseAdherence  = "dose_adherence"           // taken ÷ due (0..1)
	MetricDosesDue       = "doses_due"                // doses due in the window
	MetricMissedStreak   = "consecutive_missed_doses" // of one medicine, counting back from its latest due dose
	MetricDaysSinceStart = "days_since_start"         // local days since the schedule's start date
	MetricSevereReadings = "severe_readings"          // readings in a severe band
	MetricHypoReadings   = "hypo_readings"            // hypos (Reading.IsHypo)
	MetricDaysOfStock    = "days_of_stock_left"       // stock ÷ daily use; 0 when the stock is gone
)

// flagRules is the rules table. Every threshold a flag rule uses is here,
// with its source.
//
// "Refill logged" (running_out): a patient or carer logs a refill by
// editing the medicine's stock (PATCH .../medications/{id} with a higher
// stock.quantity). The prediction is always made from the current stock,
// so a refill that lasts more than 3 days stops the rule firing; and each
// stock edit starts a new stock episode (the evidence key), so a flag
// resolved for one episode is not raised again until the stock is edited.
var flagRules = []FlagCriterion{
	{
		Rule: RuleSevereReading, Name: "severe_reading",
		When:       FlagCondition{MetricSevereReadings, ">=", 1},
		WindowDays: 7, Severity: SeveritySevere, Service: ServiceUrgentAdvice,
		Source: "the severe reading bands (models/reading_bands.go: NICE NG136 BP ≥180/120, glucose <3.0, " +
			"SpO2 <92%, peak flow <50% of best)",
	},
	{
		Rule: RuleSevereReading, Name: "recurrent_hypo",
		When:       FlagCondition{MetricHypoReadings, ">=", 2},
		WindowDays: 7, Severity: SeveritySevere, Service: ServiceUrgentAdvice,
		Source: "Diabetes UK / TREND-UK hypoglycaemia guidance: recurrent hypos (below 4.0 mmol/L) call for a " +
			"review of treatment; two in a week is Concord's trigger",
	},
	{
		Rule: RuleRunningOut, Name: "running_out",
		When:       FlagCondition{MetricDaysOfStock, "<=", 3},
		WindowDays: 3, Severity: SeverityHigh, Service: ServiceMedicineSupply,
		Source: "NHS repeat-prescription advice (allow 2 to 3 working days); stock gone counts as 0 days",
	},
	{
		Rule: RuleMissedStreak, Name: "missed_streak",
		When:       FlagCondition{MetricMissedStreak, ">=", 3},
		WindowDays: 28, Severity: SeverityHigh, Service: ServiceAdherenceSupport,
		Source: "NICE CG76 medicines adherence (ask about missed doses); three in a row of one medicine is " +
			"Concord's trigger",
	},
	{
		Rule: RuleLowAdherence, Name: "low_adherence",
		When:       FlagCondition{MetricDoseAdherence, "<", AdherenceReviewThreshold},
		And:        &FlagCondition{MetricDosesDue, ">=", 14},
		WindowDays: 28, Severity: SeverityModerate, Service: ServiceSMRReferral, RearmDays: 28,
		Source: "the 80% adherence convention (AdherenceReviewThreshold); at least 14 doses due so a few " +
			"misses on little data do not fire; NHS England Network Contract DES: Structured Medication Reviews " +
			"are delivered by the Primary Care Network, so the community pharmacy refers the patient to the " +
			"PCN clinical pharmacist or GP practice with the evidence (POST .../services/smr-referrals)",
	},
	{
		Rule: RuleNewMedicine, Name: "new_medicine",
		When:       FlagCondition{MetricDaysSinceStart, ">=", 7},
		And:        &FlagCondition{MetricDaysSinceStart, "<=", 14},
		WindowDays: 14, Severity: SeverityLow, Service: ServiceNMS,
		Source: "NHS England New Medicine Service specification: the intervention takes place 7 to 14 days " +
			"after the medicine is started",
	},
}

// FlagRules returns a copy of the rules table.
func FlagRules() []FlagCriterion {
	out := make([]FlagCriterion, len(flagRules))
	for i, c := range flagRules {
		if c.And != nil {
			and := *c.And
			c.And = &and
		}
		out[i] = c
	}
	return out
}

// FlagRuleCriteria returns the criteria of one rule, in table order.
func FlagRuleCriteria(rule FlagRuleID) []FlagCriterion {
	var out []FlagCriterion
	for _, c := range FlagRules() {
		if c.Rule == rule {
			out = append(out, c)
		}
	}
	return out
}

// FlagWindowDays is the longest window of any criterion: how far back the
// data given to EvaluateFlags must reach.
func FlagWindowDays() int {
	n := 0
	for _, c := range flagRules {
		n = max(n, c.WindowDays)
	}
	return n
}
