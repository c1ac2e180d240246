package models

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FlagInput is what the rules look at for one patient.
type FlagInput struct {
	Now time.Time
	// Location is the patient's time zone (nil: UTC).
	Location *time.Location
	// DoseGrace is the patient's grace period (Preferences.DoseGrace).
	DoseGrace time.Duration
	// Medications are the patient's medicines, active and stopped.
	Medications []Medication
	// Doses are the patient's doses over at least the last FlagWindowDays days.
	Doses []Dose
	// Readings are the patient's live readings over at least the last
	// FlagWindowDays days, classified.
	Readings []Reading
}

// FlagFiring is a rule that fired, with its evidence.
type FlagFiring struct {
	Rule     FlagRuleID
	Severity Severity
	Service  PharmacyService
	Evidence FlagEvidence
	// Key identifies what fired (see Flag.EvidenceKey).
	Key string
	// RearmDays is the criterion's (see FlagCriterion.RearmDays).
	RearmDays int
}

// EvaluateFlags runs the rules (all of them when none are named) on one
// patient's data and returns those that fire, at most one per rule (its
// first criterion that holds, and for rules about one medicine the most
// urgent medicine), in FlagRuleIDs order. It reads nothing but its input.
func EvaluateFlags(in FlagInput, rules ...FlagRuleID) []FlagFiring {
	if in.Location == nil {
		in.Location = time.UTC
	}
	in.Now = in.Now.UTC()
	var out []FlagFiring
	for _, rule := range FlagRuleIDs {
		if len(rules) > 0 && !slices.Contains(rules, rule) {
			continue
		}
		for _, c := range flagRules {
			if c.Rule != rule {
				continue
			}
			if f, ok := evaluateCriterion(c, in); ok {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// candidate is one measurement a criterion may fire on.
type candidate struct {
	value   float64
	and     float64 // the And condition's metric (when the criterion has one)
	key     string
	details map[string]string
}

func evaluateCriterion(c FlagCriterion, in FlagInput) (FlagFiring, bool) {
	var cands []candidate
	switch c.Name {
	case "severe_reading":
		cands = severeReadings(c, in)
	case "recurrent_hypo":
		cands = recurrentHypos(c, in)
	case "running_out":
		cands = runningOut(in)
	case "missed_streak":
		cands = missedStreaks(c, in)
	case "low_adherence":
		cands = lowAdherence(c, in)
	case "new_medicine":
		cands = newMedicines(in)
	}
	// The most urgent candidate that holds: the lowest value for "<"
	// conditions, the highest otherwise; ties keep input order.
	best := -1
	for i, cd := range cands {
		if !c.When.Holds(cd.value) || (c.And != nil && !c.And.Holds(cd.and)) {
			continue
		}
		if best < 0 || moreUrgent(c.When.Op, cd.value, cands[best].value) {
			best = i
		}
	}
	if best < 0 {
		return FlagFiring{}, false
	}
	cd := cands[best]
	return FlagFiring{
		Rule: c.Rule, Severity: c.Severity, Service: c.Service, Key: cd.key, RearmDays: c.RearmDays,
		Evidence: FlagEvidence{Criterion: c.Name, Metric: c.When.Metric, Value: roundEvidence(cd.value), Op: c.When.Op,
			Threshold: c.When.Threshold, Window: isoDays(c.WindowDays), Details: cd.details},
	}, true
}

func moreUrgent(op string, a, b float64) bool {
	if op == "<" || op == "<=" {
		return a < b
	}
	return a > b
}

// severeReadings: one candidate, the number of severe readings in the
// window, keyed by the newest of them.
func severeReadings(c FlagCriterion, in FlagInput) []candidate {
	rs := readingsInWindow(in, c.WindowDays, Reading.IsSevere)
	if len(rs) == 0 {
		return nil
	}
	latest := rs[0]
	return []candidate{{value: float64(len(rs)), key: "reading:" + latest.ID, details: map[string]string{
		"readingId": latest.ID, "readingType": string(latest.Type), "band": latest.Band, "bandRule": latest.Rule,
		"takenAt": latest.TakenAt.UTC().Format(time.RFC3339), "readingIds": readingIDs(rs),
	}}}
}

// recurrentHypos: one candidate, the number of hypos (Reading.IsHypo) in
// the window, keyed by the newest.
func recurrentHypos(c FlagCriterion, in FlagInput) []candidate {
	rs := readingsInWindow(in, c.WindowDays, Reading.IsHypo)
	if len(rs) == 0 {
		return nil
	}
	return []candidate{{value: float64(len(rs)), key: "hypo:" + rs[0].ID, details: map[string]string{
		"readingId": rs[0].ID, "readingIds": readingIDs(rs),
		"takenAt": rs[0].TakenAt.UTC().Format(time.RFC3339),
	}}}
}

// readingsInWindow returns the readings taken in (now - days, now] that
// match, newest first.
func readingsInWindow(in FlagInput, days int, match func(Reading) bool) []Reading {
	from := in.Now.Add(-time.Duration(days) * 24 * time.Hour)
	var out []Reading
	for _, r := range in.Readings {
		if r.DeletedAt == nil && r.TakenAt.After(from) && !r.TakenAt.After(in.Now) && match(r) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Reading) int {
		if c := b.TakenAt.Compare(a.TakenAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out
}

func readingIDs(rs []Reading) string {
	ids := make([]string, 0, min(len(rs), 10))
	for _, r := range rs[:min(len(rs), 10)] {
		ids = append(ids, r.ID)
	}
	return strings.Join(ids, ",")
}

// runningOut: one candidate per active medicine that records stock: its
// days of stock left (0 when the stock is gone, as-needed medicines
// included), keyed by the medicine and its last edit (a stock episode).
func runningOut(in FlagInput) []candidate {
	var out []candidate
	today := localDateOf(in.Now.In(in.Location))
	for _, m := range in.Medications {
		if m.Status != MedicationActive || m.Stock == nil {
			continue
		}
		days, ok := daysOfStockLeft(m)
		switch {
		case m.Stock.Quantity <= 0:
			days, ok = 0, true
		case !ok:
			continue
		}
		details := map[string]string{"medicationId": m.ID, "medicationName": m.Name,
			"quantity": strconv.FormatFloat(m.Stock.Quantity, 'f', -1, 64)}
		if days > 0 {
			details["runOutDate"] = today.AddDate(0, 0, int(math.Floor(days))).Format(LocalDateLayout)
		} else {
			details["runOutDate"] = today.Format(LocalDateLayout)
		}
		out = append(out, candidate{value: days, details: details,
			key: m.ID + "@" + strconv.FormatInt(m.UpdatedAt.UnixMilli(), 10)})
	}
	return out
}

// missedStreaks: one candidate per active scheduled medicine: its current
// run of missed doses within the window (as ComputeAdherence counts it),
// keyed by the run's first dose.
func missedStreaks(c FlagCriterion, in FlagInput) []candidate {
	from := in.Now.Add(-time.Duration(c.WindowDays) * 24 * time.Hour)
	byMed := map[string][]Dose{}
	for _, d := range in.Doses {
		if d.AsNeeded || !d.ScheduledAt.After(from) || d.ScheduledAt.After(in.Now) {
			continue
		}
		d.Status = d.EffectiveStatus(in.Now, in.DoseGrace)
		if d.Status == DosePending {
			continue // not due yet
		}
		byMed[d.MedicationID] = append(byMed[d.MedicationID], d)
	}
	var out []candidate
	for _, m := range in.Medications {
		if m.Status != MedicationActive || m.Schedule.AsNeeded {
			continue
		}
		doses := byMed[m.ID]
		slices.SortFunc(doses, func(a, b Dose) int {
			if c := a.ScheduledAt.Compare(b.ScheduledAt); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		streak, first, last := 0, "", Dose{}
		for _, d := range doses {
			if d.Status != DoseMissed {
				streak, first = 0, ""
				continue
			}
			if streak == 0 {
				first = d.ID
			}
			streak++
			last = d
		}
		if streak == 0 {
			continue
		}
		out = append(out, candidate{value: float64(streak), key: first, details: map[string]string{
			"medicationId": m.ID, "medicationName": m.Name, "firstMissedDoseId": first, "lastMissedDoseId": last.ID,
			"lastMissedAt": last.ScheduledAt.UTC().Format(time.RFC3339),
		}})
	}
	return out
}

// lowAdherence: one candidate, the overall dose adherence over the window
// (ComputeAdherence), with the doses due for the And condition.
func lowAdherence(c FlagCriterion, in FlagInput) []candidate {
	a := ComputeAdherence(nil, in.Doses, in.Location, c.WindowDays, in.Now, in.DoseGrace)
	f := a.Overall
	if f.DoseAdherence == nil {
		return nil
	}
	return []candidate{{value: *f.DoseAdherence, and: float64(f.Due), key: string(RuleLowAdherence), details: map[string]string{
		"due": strconv.Itoa(f.Due), "taken": strconv.Itoa(f.Taken), "skipped": strconv.Itoa(f.Skipped), "missed": strconv.Itoa(f.Missed),
	}}}
}

// newMedicines: one candidate per active medicine: local days since its
// schedule's start date, keyed by the medicine.
func newMedicines(in FlagInput) []candidate {
	today := localDateOf(in.Now.In(in.Location))
	var out []candidate
	for _, m := range in.Medications {
		if m.Status != MedicationActive {
			continue
		}
		start, ok := parseScheduleDate(m.Schedule.StartDate)
		if !ok {
			continue
		}
		days := math.Round(today.Sub(start).Hours() / 24)
		out = append(out, candidate{value: days, and: days, key: m.ID, details: map[string]string{
			"medicationId": m.ID, "medicationName": m.Name, "startDate": m.Schedule.StartDate,
		}})
	}
	// The medicine started longest ago first: its check-in window closes
	// soonest (moreUrgent keeps the highest value for ">=").
	return out
}

// isoDays writes a number of days as an ISO 8601 duration ("P28D").
func isoDays(days int) string { return "P" + strconv.Itoa(days) + "D" }

// roundEvidence keeps four decimals: 11/14 is 0.7857.
func roundEvidence(v float64) float64 { return math.Round(v*10000) / 10000 }
