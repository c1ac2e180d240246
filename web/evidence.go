package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
)

// reason says in words why a patient is in the queue: what kind of case it
// is and the evidence that fired it ("BP 186/124 mmHg at 08:05 on Mon 30
// Nov", "Took 11 of 14 doses in 28 days (79%)").
type reason struct {
	Headline string
	Evidence string
}

// ruleHeadlines name each rule for people.
var ruleHeadlines = map[models.FlagRuleID]string{
	models.RuleSevereReading: "Reading in a severe band",
	models.RuleRunningOut:    "Running out of a medicine",
	models.RuleMissedStreak:  "Missed doses in a row",
	models.RuleLowAdherence:  "Low adherence",
	models.RuleNewMedicine:   "New medicine started",
}

// serviceNames name the pharmacy services flags suggest.
var serviceNames = map[models.PharmacyService]string{
	models.ServiceSMRReferral:      "Referral to the PCN for a structured medication review",
	models.ServiceAdherenceSupport: "Adherence support",
	models.ServiceNMS:              "New Medicine Service",
	models.ServiceUrgentAdvice:     "Urgent clinical advice",
	models.ServiceMedicineSupply:   "Medicine supply",
}

// outcomeNames name the outcomes a pharmacist records.
var outcomeNames = map[models.FlagOutcome]string{
	models.OutcomeAdviceGiven:    "Advice given",
	models.OutcomeNMSStarted:     "New Medicine Service started",
	models.OutcomeSMRRequested:   "Structured medication review requested from the PCN",
	models.OutcomeReferredToGP:   "Referred to GP",
	models.OutcomeDMSFollowUp:    "Discharge Medicines Service follow-up",
	models.OutcomeNoActionNeeded: "No action needed",
}

// explain words a flag's rule and evidence; times are shown in loc.
func explain(rule models.FlagRuleID, ev models.FlagEvidence, loc *time.Location) reason {
	d := ev.Details
	r := reason{Headline: ruleHeadlines[rule]}
	if r.Headline == "" {
		r.Headline = string(rule)
	}
	days := windowDays(ev.Window)
	switch ev.Criterion {
	case "severe_reading":
		r.Evidence = readingText(d, loc)
		if n := int(ev.Value); n > 1 {
			r.Evidence = fmt.Sprintf("%d severe readings in %s, the latest %s", n, plural(days, "day"), lowerFirst(r.Evidence))
		}
	case "recurrent_hypo":
		r.Headline = "Repeated low blood glucose"
		r.Evidence = fmt.Sprintf("%s in %s, the latest %s", plural(int(ev.Value), "hypo"), plural(days, "day"), lowerFirst(readingText(d, loc)))
	case "low_adherence":
		taken, _ := strconv.Atoi(d["taken"])
		due, _ := strconv.Atoi(d["due"])
		r.Evidence = fmt.Sprintf("Took %d of %d doses in %s (%s; a review is due below %s)",
			taken, due, plural(days, "day"), percent(ev.Value), percent(ev.Threshold))
	case "missed_streak":
		r.Evidence = fmt.Sprintf("Missed the last %s of %s", plural(int(ev.Value), "dose"), d["medicationName"])
		if t, err := time.Parse(time.RFC3339, d["lastMissedAt"]); err == nil {
			r.Evidence += ", the latest due " + at(t, loc)
		}
	case "running_out":
		r.Evidence = d["medicationName"] + ": "
		if ev.Value <= 0 {
			r.Evidence += "none left"
		} else {
			r.Evidence += fmt.Sprintf("%s left, about %s of stock", d["quantity"], plural(int(math.Floor(ev.Value)), "day"))
		}
		if day, err := time.Parse(models.LocalDateLayout, d["runOutDate"]); err == nil {
			r.Evidence += ", runs out " + day.Format("Mon 2 Jan")
		}
	case "new_medicine":
		r.Evidence = d["medicationName"] + " started"
		if day, err := time.Parse(models.LocalDateLayout, d["startDate"]); err == nil {
			r.Evidence += " on " + day.Format("Mon 2 Jan")
		}
		r.Evidence += fmt.Sprintf(", %s ago: time for the New Medicine Service check-in", plural(int(ev.Value), "day"))
	default:
		r.Evidence = fmt.Sprintf("%s %s %s %s over %s", ev.Metric, num(ev.Value), ev.Op, num(ev.Threshold), plural(days, "day"))
	}
	return r
}

// readingLabels name each reading type and how its value reads.
var readingLabels = map[models.ReadingType]struct{ name, unit string }{
	models.ReadingBloodPressure: {"BP", " mmHg"},
	models.ReadingBloodGlucose:  {"Glucose", " mmol/L"},
	models.ReadingSpO2:          {"SpO2", "%"},
	models.ReadingHeartRate:     {"Heart rate", " beats a minute"},
	models.ReadingPeakFlow:      {"Peak flow", " L/min"},
	models.ReadingTemperature:   {"Temperature", " °C"},
	models.ReadingWeight:        {"Weight", " kg"},
}

// readingText words the reading evidence names (FlagEvidence.WithReading):
// "BP 186/124 mmHg at 08:05 on Mon 30 Nov". Evidence from before readings'
// values were kept says which reading it was without them.
func readingText(d map[string]string, loc *time.Location) string {
	typ := models.ReadingType(d["readingType"])
	label, ok := readingLabels[typ]
	if !ok {
		label.name = "A reading"
	}
	var value string
	switch {
	case d[models.EvidenceSystolic] != "" && d[models.EvidenceDiastolic] != "":
		value = numText(d[models.EvidenceSystolic]) + "/" + numText(d[models.EvidenceDiastolic]) + label.unit
	case d[models.EvidenceValue] != "":
		value = numText(d[models.EvidenceValue]) + label.unit
	}
	s := label.name
	if value != "" {
		s += " " + value
	} else if ok {
		s = "A " + strings.ToLower(label.name) + " reading"
	}
	if t, err := time.Parse(time.RFC3339, d["takenAt"]); err == nil {
		s += " at " + at(t, loc)
	}
	return s
}

// at words an instant: "08:05 on Mon 30 Nov".
func at(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return t.Format("15:04") + " on " + t.Format("Mon 2 Jan")
}

// windowDays reads an ISO 8601 duration of days ("P28D").
func windowDays(w string) int {
	n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(w, "P"), "D"))
	return n
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// percent words a share: 0.7857 → "79%".
func percent(v float64) string { return strconv.Itoa(int(math.Round(v*100))) + "%" }

// num words a number with at most one decimal: 3.44 → "3.4", 186 → "186".
func num(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

func numText(s string) string {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return num(v)
}

func lowerFirst(s string) string {
	if s == "" || strings.HasPrefix(s, "BP") || strings.HasPrefix(s, "SpO2") {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
