package models

import (
	"math"
	"time"
)

// RefillOutlook is how long a medication's stock lasts at its schedule's
// average rate and whether the patient should be reminded to reorder.
type RefillOutlook struct {
	// DaysLeft is the stock's quantity ÷ (unitsPerDose × average doses a
	// day), as MedicationAdherence.DaysOfStockLeft.
	DaysLeft float64
	// RunOutDate is the local date ("YYYY-MM-DD") the stock runs out:
	// today in the patient's zone plus the whole days left, as
	// MedicationAdherence.RunOutDate.
	RunOutDate string
	// Due is DaysLeft ≤ Stock.RefillLeadDays: time to reorder.
	Due bool
}

// Refill works out m's refill outlook at now in the patient's zone loc
// (nil means UTC). ok is false when there is nothing to predict from: no
// stock recorded, an as-needed or stopped medicine, or a schedule with no
// doses.
func Refill(m Medication, now time.Time, loc *time.Location) (RefillOutlook, bool) {
	days, ok := daysOfStockLeft(m)
	if !ok {
		return RefillOutlook{}, false
	}
	if loc == nil {
		loc = time.UTC
	}
	today := localDateOf(now.In(loc))
	runOut := today.AddDate(0, 0, int(math.Min(math.Floor(days), maxRunOutDays)))
	return RefillOutlook{
		DaysLeft:   days,
		RunOutDate: runOut.Format(LocalDateLayout),
		Due:        days <= float64(m.Stock.RefillLeadDays),
	}, true
}
