package models

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// MedicationStatus says whether a medicine is still being taken.
type MedicationStatus string

// The medication statuses. Deleting a medicine through the API stops it: its
// doses and history stay.
const (
	MedicationActive  MedicationStatus = "active"
	MedicationStopped MedicationStatus = "stopped"
)

// Limits on a medication's fields. They keep records small and schedules
// sane; none of them is a clinical rule.
const (
	MaxMedicationNameLength         = 200
	MaxMedicationStrengthLength     = 100
	MaxMedicationFormLength         = 100
	MaxMedicationInstructionsLength = 1000
	// MedicationCodeMinDigits and MedicationCodeMaxDigits bound a dm+d or
	// SNOMED CT identifier (an SCTID is 6 to 18 digits).
	MedicationCodeMinDigits = 6
	MedicationCodeMaxDigits = 18
	MaxDoseTimesPerDay      = 12
	MaxEveryNDays           = 365
	MaxRefillLeadDays       = 60
	// MaxStockQuantity bounds a stock count so that days-of-stock figures
	// stay finite and meaningful.
	MaxStockQuantity = 1_000_000
)

// Medication is one medicine a patient takes, with its dosing schedule and,
// optionally, the stock the patient holds. Server-owned fields (ID,
// PatientID, Status, StoppedAt, CreatedAt, UpdatedAt) are set by services,
// never from a request.
type Medication struct {
	ID           string `json:"id" bson:"_id"`
	PatientID    string `json:"patientId" bson:"patientId"`
	Name         string `json:"name" bson:"name"`
	Strength     string `json:"strength,omitempty" bson:"strength,omitempty"`
	Form         string `json:"form,omitempty" bson:"form,omitempty"`
	Instructions string `json:"instructions,omitempty" bson:"instructions,omitempty"`
	// Code is an optional dm+d / SNOMED CT concept id (digits only).
	Code      string           `json:"code,omitempty" bson:"code,omitempty"`
	Schedule  Schedule         `json:"schedule" bson:"schedule"`
	Stock     *Stock           `json:"stock,omitempty" bson:"stock,omitempty"`
	Status    MedicationStatus `json:"status" bson:"status"`
	StoppedAt *time.Time       `json:"stoppedAt,omitempty" bson:"stoppedAt,omitempty"`
	CreatedAt time.Time        `json:"createdAt" bson:"createdAt"`
	UpdatedAt time.Time        `json:"updatedAt" bson:"updatedAt"`
}

// Schedule says when a medicine is due, as local wall-clock times in the
// patient's time zone (the zone is the patient's, not the schedule's).
//
// With neither DaysOfWeek nor EveryNDays the medicine is due every day from
// StartDate to EndDate (inclusive). An as-needed medicine has no times and no
// scheduled doses; its doses are logged as they are taken.
type Schedule struct {
	// Times are "HH:MM" 24-hour local times, sorted, without duplicates.
	Times []string `json:"times" bson:"times"`
	// DaysOfWeek, when not empty, limits the schedule to these days
	// ("mon".."sun").
	DaysOfWeek []string `json:"daysOfWeek,omitempty" bson:"daysOfWeek,omitempty"`
	// EveryNDays, when not 0, makes the medicine due on StartDate and every
	// EveryNDays-th day after it. It cannot be combined with DaysOfWeek.
	EveryNDays int `json:"everyNDays,omitempty" bson:"everyNDays,omitempty"`
	// StartDate is the first local date ("YYYY-MM-DD") the medicine is due.
	StartDate string `json:"startDate" bson:"startDate"`
	// EndDate, when set, is the last local date the medicine is due.
	EndDate  string `json:"endDate,omitempty" bson:"endDate,omitempty"`
	AsNeeded bool   `json:"asNeeded,omitempty" bson:"asNeeded,omitempty"`
}

// MarshalJSON writes Times as an array in every case, [] for an as-needed
// medicine (never null): typed clients read schedule.times as an array.
func (s Schedule) MarshalJSON() ([]byte, error) {
	type plain Schedule // without this method
	p := plain(s)
	if p.Times == nil {
		p.Times = []string{}
	}
	return json.Marshal(p)
}

// Stock is the supply of a medicine the patient holds, in units (tablets,
// puffs, ml…) as written on the pack.
type Stock struct {
	Quantity     float64 `json:"quantity" bson:"quantity"`
	UnitsPerDose float64 `json:"unitsPerDose" bson:"unitsPerDose"`
	// RefillLeadDays is how many days before running out the patient (and
	// their pharmacy) should be told to reorder.
	RefillLeadDays int `json:"refillLeadDays" bson:"refillLeadDays"`
}

// Validate checks every field of the medication and returns nil or one
// CodeInvalid *Error naming each bad field by its JSON path ("name",
// "schedule.times[1]", "stock.unitsPerDose"). Services set Status before
// validating: it must be active (without stoppedAt) or stopped (with it).
func (m Medication) Validate() error {
	var p Problems
	name := strings.TrimSpace(m.Name)
	if name == "" {
		p.Add("name", "is required")
	} else {
		ValidateText("name", name, MaxMedicationNameLength, false, &p)
	}
	checkMedicationText(&p, "strength", m.Strength, MaxMedicationStrengthLength)
	checkMedicationText(&p, "form", m.Form, MaxMedicationFormLength)
	checkMedicationText(&p, "instructions", m.Instructions, MaxMedicationInstructionsLength)
	if m.Code != "" && !isMedicationCode(m.Code) {
		p.Add("code", "must be a dm+d or SNOMED CT code of %d to %d digits", MedicationCodeMinDigits, MedicationCodeMaxDigits)
	}
	p.Merge("schedule", m.Schedule.Validate())
	if m.Stock != nil {
		p.Merge("stock", m.Stock.Validate())
	}
	switch m.Status {
	case MedicationActive:
		if m.StoppedAt != nil {
			p.Add("stoppedAt", "must be empty for an active medication")
		}
	case MedicationStopped:
		if m.StoppedAt == nil {
			p.Add("stoppedAt", "is required for a stopped medication")
		}
	default:
		p.Add("status", "must be %q or %q", MedicationActive, MedicationStopped)
	}
	return p.Err()
}

// Stop marks the medication stopped at now and reports whether it changed
// (stopping a stopped medication changes nothing). Its past doses stay.
func (m *Medication) Stop(now time.Time) bool {
	if m.Status == MedicationStopped {
		return false
	}
	now = now.UTC()
	m.Status = MedicationStopped
	m.StoppedAt = &now
	m.UpdatedAt = now
	return true
}

func checkMedicationText(p *Problems, field, s string, max int) {
	ValidateText(field, s, max, field == "instructions", p)
}

func isMedicationCode(s string) bool {
	if len(s) < MedicationCodeMinDigits || len(s) > MedicationCodeMaxDigits {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// scheduleWeekdays are the day codes of Schedule.DaysOfWeek, in the order
// Normalized sorts them, with the time.Weekday each one means.
var scheduleWeekdays = []struct {
	code string
	day  time.Weekday
}{
	{"mon", time.Monday}, {"tue", time.Tuesday}, {"wed", time.Wednesday},
	{"thu", time.Thursday}, {"fri", time.Friday}, {"sat", time.Saturday},
	{"sun", time.Sunday},
}

// scheduleWeekdayIndex returns the position of a day code in
// scheduleWeekdays, or -1.
func scheduleWeekdayIndex(code string) int {
	for i, w := range scheduleWeekdays {
		if w.code == code {
			return i
		}
	}
	return -1
}

// Validate checks the schedule and returns nil or one CodeInvalid *Error
// naming each bad field relative to the schedule ("times[1]", "startDate");
// Medication.Validate puts them under "schedule".
func (s Schedule) Validate() error {
	var p Problems
	if s.AsNeeded {
		if len(s.Times) > 0 {
			p.Add("times", "must be empty for an as-needed medicine")
		}
		if len(s.DaysOfWeek) > 0 {
			p.Add("daysOfWeek", "must be empty for an as-needed medicine")
		}
		if s.EveryNDays != 0 {
			p.Add("everyNDays", "must be empty for an as-needed medicine")
		}
	} else {
		switch {
		case len(s.Times) == 0:
			p.Add("times", "at least one time is required unless the medicine is as needed")
		case len(s.Times) > MaxDoseTimesPerDay:
			p.Add("times", "must have at most %d times", MaxDoseTimesPerDay)
		}
		latest := "" // the latest valid time so far
		for i, t := range s.Times {
			switch {
			case !IsClock(t):
				p.Add(fmt.Sprintf("times[%d]", i), "must be a 24-hour time HH:MM")
			case t <= latest:
				p.Add(fmt.Sprintf("times[%d]", i), "times must be in ascending order without duplicates")
			default:
				latest = t
			}
		}
	}
	seen := map[string]bool{}
	for i, d := range s.DaysOfWeek {
		switch {
		case scheduleWeekdayIndex(d) < 0:
			p.Add(fmt.Sprintf("daysOfWeek[%d]", i), "must be one of mon, tue, wed, thu, fri, sat, sun")
		case seen[d]:
			p.Add(fmt.Sprintf("daysOfWeek[%d]", i), "is repeated")
		}
		seen[d] = true
	}
	switch {
	case s.AsNeeded: // reported above
	case s.EveryNDays < 0 || s.EveryNDays > MaxEveryNDays:
		p.Add("everyNDays", "must be between 1 and %d", MaxEveryNDays)
	case s.EveryNDays != 0 && len(s.DaysOfWeek) > 0:
		p.Add("everyNDays", "cannot be combined with daysOfWeek")
	}
	start, startOK := parseScheduleDate(s.StartDate)
	if s.StartDate == "" {
		p.Add("startDate", "is required")
	} else if !startOK {
		p.Add("startDate", "must be a date YYYY-MM-DD between %d and %d", minScheduleYear, maxScheduleYear)
	}
	if s.EndDate != "" {
		end, ok := parseScheduleDate(s.EndDate)
		switch {
		case !ok:
			p.Add("endDate", "must be a date YYYY-MM-DD between %d and %d", minScheduleYear, maxScheduleYear)
		case startOK && end.Before(start):
			p.Add("endDate", "must not be before startDate")
		}
	}
	return p.Err()
}

// Normalized returns a copy of the schedule with its times sorted and
// de-duplicated and its days lower-cased, de-duplicated and in week order
// (mon first), so that a request listing them in any order validates.
func (s Schedule) Normalized() Schedule {
	n := s
	if s.Times != nil {
		n.Times = slices.Clone(s.Times)
		for i := range n.Times {
			n.Times[i] = strings.TrimSpace(n.Times[i])
		}
		slices.Sort(n.Times)
		n.Times = slices.Compact(n.Times)
	}
	if s.DaysOfWeek != nil {
		n.DaysOfWeek = make([]string, len(s.DaysOfWeek))
		for i, d := range s.DaysOfWeek {
			n.DaysOfWeek[i] = strings.ToLower(strings.TrimSpace(d))
		}
		// Unknown codes keep their order after the known ones, for Validate
		// to name.
		rank := func(d string) int {
			if i := scheduleWeekdayIndex(d); i >= 0 {
				return i
			}
			return len(scheduleWeekdays)
		}
		slices.SortStableFunc(n.DaysOfWeek, func(a, b string) int { return rank(a) - rank(b) })
		n.DaysOfWeek = slices.Compact(n.DaysOfWeek)
	}
	return n
}

// Validate checks the stock and returns nil or one CodeInvalid *Error naming
// each bad field relative to the stock ("unitsPerDose"); Medication.Validate
// puts them under "stock".
func (s Stock) Validate() error {
	var p Problems
	if math.IsNaN(s.Quantity) || s.Quantity < 0 || s.Quantity > MaxStockQuantity {
		p.Add("quantity", "must be between 0 and %d", MaxStockQuantity)
	}
	if math.IsNaN(s.UnitsPerDose) || s.UnitsPerDose <= 0 || s.UnitsPerDose > MaxStockQuantity {
		p.Add("unitsPerDose", "must be more than 0 and at most %d", MaxStockQuantity)
	}
	if s.RefillLeadDays < 0 || s.RefillLeadDays > MaxRefillLeadDays {
		p.Add("refillLeadDays", "must be between 0 and %d", MaxRefillLeadDays)
	}
	return p.Err()
}
