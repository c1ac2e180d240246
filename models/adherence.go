package models

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Adherence rules. The review threshold and window are clinical conventions,
// kept here in one place.
const (
	// AdherenceReviewThreshold is the share of due doses (or of days
	// covered) below which adherence is low enough for a medicines review.
	// Source: the proportion-of-days-covered convention of 80% (Pharmacy
	// Quality Alliance PDC measures, widely used in NHS medicines
	// optimisation). NICE CG76 "Medicines adherence" (2009) asks for
	// adherence to be assessed routinely but sets no number itself.
	AdherenceReviewThreshold = 0.8
	// OnTimeWindow is how far either side of its scheduled time a dose may
	// be taken and still count as on time: ±1 hour, the timing window
	// commonly used in electronic-monitoring studies of "timing adherence"
	// (a convention, not a guideline figure).
	OnTimeWindow = time.Hour
	// DefaultAdherenceWindowDays is the window when none is asked for (the
	// API's ?days=28, four weeks: one usual repeat-prescription cycle).
	DefaultAdherenceWindowDays = 28
	// MaxAdherenceWindowDays is the longest window computed.
	MaxAdherenceWindowDays = 365
	// maxRunOutDays bounds the run-out date arithmetic (100 years).
	maxRunOutDays = 36500
)

// Adherence is how well a patient took their scheduled medicines in a window
// of WindowDays days, (From, To], overall and per medication. As-needed
// doses are never due, so they count in none of the figures.
type Adherence struct {
	WindowDays  int                   `json:"windowDays"`
	From        time.Time             `json:"from"`
	To          time.Time             `json:"to"`
	Overall     AdherenceFigures      `json:"overall"`
	Medications []MedicationAdherence `json:"medications"`
}

// AdherenceFigures are the counts and shares for a set of due doses. A dose
// is due when it is scheduled in the window, not as needed, and is taken,
// skipped or (effectively) missed: a pending dose still within its grace
// period is not due yet. Due = Taken + Skipped + Missed. Shares are nil
// when there is nothing to divide by, rather than a misleading 0 or 1.
type AdherenceFigures struct {
	Due     int `json:"due"`
	Taken   int `json:"taken"`
	Skipped int `json:"skipped"`
	Missed  int `json:"missed"`
	// DoseAdherence is Taken ÷ Due (0..1); nil when nothing was due.
	DoseAdherence *float64 `json:"doseAdherence"`
	// PDC, the proportion of days covered, is the share of local dates with
	// at least one due dose on which every due dose was taken; nil when no
	// day had a due dose. (Days with no dose due, such as the off days of an
	// every-other-day schedule, count neither way.)
	PDC *float64 `json:"pdc"`
	// OnTime is the share of taken doses taken within OnTimeWindow of their
	// scheduled time; nil when none was taken.
	OnTime *float64 `json:"onTime"`
	// MissedStreak is the number of consecutive missed doses counting back
	// from the most recent due dose, within the window; a taken or skipped
	// dose ends it. Overall it is the longest current streak of any one
	// medication, not a count across interleaved medicines.
	MissedStreak int `json:"missedStreak"`
}

// MedicationAdherence is one medication's figures, with its stock outlook.
type MedicationAdherence struct {
	MedicationID     string `json:"medicationId"`
	Name             string `json:"name"`
	AdherenceFigures `bson:",inline"`
	// DaysOfStockLeft is Stock.Quantity ÷ (UnitsPerDose ×
	// Schedule.AverageDosesPerDay()); nil for a medication without stock,
	// as needed or stopped.
	DaysOfStockLeft *float64 `json:"daysOfStockLeft"`
	// RunOutDate is the local date ("YYYY-MM-DD") the stock runs out: today
	// in the patient's zone plus the whole days of stock left; nil when
	// DaysOfStockLeft is.
	RunOutDate *string `json:"runOutDate"`
}

// BelowReviewThreshold reports whether the figures call for a medicines
// review: dose adherence or PDC known and below AdherenceReviewThreshold.
func (f AdherenceFigures) BelowReviewThreshold() bool {
	return (f.DoseAdherence != nil && *f.DoseAdherence < AdherenceReviewThreshold) ||
		(f.PDC != nil && *f.PDC < AdherenceReviewThreshold)
}

// ComputeAdherence works out adherence over the windowDays days up to now
// ((now - windowDays×24h, now]) from the patient's medications and their
// doses in that window (doses outside it are ignored, so callers may pass
// more). windowDays below 1 means DefaultAdherenceWindowDays and above
// MaxAdherenceWindowDays is capped. Statuses are effective ones at now with
// the patient's grace (Dose.EffectiveStatus); days are the doses' local dates
// (in loc, nil meaning UTC, when a dose has none). Medications are listed in
// the order given; doses of medications not given count only overall.
func ComputeAdherence(meds []Medication, doses []Dose, loc *time.Location, windowDays int, now time.Time, grace time.Duration) Adherence {
	if loc == nil {
		loc = time.UTC
	}
	switch {
	case windowDays < 1:
		windowDays = DefaultAdherenceWindowDays
	case windowDays > MaxAdherenceWindowDays:
		windowDays = MaxAdherenceWindowDays
	}
	now = now.UTC()
	from := now.Add(-time.Duration(windowDays) * 24 * time.Hour)

	// In time order, so that each medication's missed streak is its tail.
	due := make([]Dose, 0, len(doses))
	for _, d := range doses {
		if d.AsNeeded || !d.ScheduledAt.After(from) || d.ScheduledAt.After(now) {
			continue
		}
		d.Status = d.EffectiveStatus(now, grace)
		if d.Status != DoseTaken && d.Status != DoseSkipped && d.Status != DoseMissed {
			continue // pending within grace: not due yet
		}
		if d.LocalDate == "" {
			d.LocalDate = d.ScheduledAt.In(loc).Format(LocalDateLayout)
		}
		due = append(due, d)
	}
	slices.SortStableFunc(due, func(a, b Dose) int {
		if c := a.ScheduledAt.Compare(b.ScheduledAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})

	overall := newAdherenceTally()
	perMed := map[string]*adherenceTally{}
	for _, d := range due {
		overall.add(d)
		t := perMed[d.MedicationID]
		if t == nil {
			t = newAdherenceTally()
			perMed[d.MedicationID] = t
		}
		t.add(d)
	}

	a := Adherence{
		WindowDays:  windowDays,
		From:        from,
		To:          now,
		Overall:     overall.figures(),
		Medications: make([]MedicationAdherence, 0, len(meds)),
	}
	// Overall, the worst streak of one medicine: a run across interleaved
	// medicines would say little about any of them.
	a.Overall.MissedStreak = 0
	for _, t := range perMed {
		a.Overall.MissedStreak = max(a.Overall.MissedStreak, t.streak)
	}
	today := localDateOf(now.In(loc))
	for _, m := range meds {
		ma := MedicationAdherence{MedicationID: m.ID, Name: m.Name}
		if t := perMed[m.ID]; t != nil {
			ma.AdherenceFigures = t.figures()
		}
		if days, ok := daysOfStockLeft(m); ok {
			ma.DaysOfStockLeft = &days
			runOut := today.AddDate(0, 0, int(math.Min(math.Floor(days), maxRunOutDays))).Format(LocalDateLayout)
			ma.RunOutDate = &runOut
		}
		a.Medications = append(a.Medications, ma)
	}
	return a
}

// daysOfStockLeft is how long m's stock lasts at its schedule's average
// rate, if that is known.
func daysOfStockLeft(m Medication) (float64, bool) {
	if m.Stock == nil || m.Status == MedicationStopped || m.Schedule.AsNeeded {
		return 0, false
	}
	perDay := m.Stock.UnitsPerDose * m.Schedule.AverageDosesPerDay()
	if !(perDay > 0) || m.Stock.Quantity < 0 {
		return 0, false
	}
	days := m.Stock.Quantity / perDay
	if math.IsNaN(days) || math.IsInf(days, 0) {
		return 0, false
	}
	return days, true
}

// adherenceTally accumulates due doses, in time order.
type adherenceTally struct {
	due, taken, skipped, missed, onTime int
	// covered maps each local date with a due dose to whether every due
	// dose on it was taken.
	covered map[string]bool
	streak  int
}

func newAdherenceTally() *adherenceTally {
	return &adherenceTally{covered: map[string]bool{}}
}

// add counts one due dose whose Status is its effective status.
func (t *adherenceTally) add(d Dose) {
	t.due++
	allTaken, seen := t.covered[d.LocalDate]
	t.covered[d.LocalDate] = (allTaken || !seen) && d.Status == DoseTaken
	switch d.Status {
	case DoseTaken:
		t.taken++
		if d.TakenAt != nil && d.TakenAt.Sub(d.ScheduledAt).Abs() <= OnTimeWindow {
			t.onTime++
		}
		t.streak = 0
	case DoseSkipped:
		t.skipped++
		t.streak = 0
	case DoseMissed:
		t.missed++
		t.streak++
	}
}

func (t *adherenceTally) figures() AdherenceFigures {
	f := AdherenceFigures{
		Due:          t.due,
		Taken:        t.taken,
		Skipped:      t.skipped,
		Missed:       t.missed,
		MissedStreak: t.streak,
	}
	if t.due > 0 {
		f.DoseAdherence = adherenceShare(t.taken, t.due)
	}
	if days := len(t.covered); days > 0 {
		full := 0
		for _, ok := range t.covered {
			if ok {
				full++
			}
		}
		f.PDC = adherenceShare(full, days)
	}
	if t.taken > 0 {
		f.OnTime = adherenceShare(t.onTime, t.taken)
	}
	return f
}

func adherenceShare(n, of int) *float64 {
	v := float64(n) / float64(of)
	return &v
}
