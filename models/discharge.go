package models

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// DischargeMedicine is one medicine on a hospital discharge list. A
// medicine new to the patient needs Schedule to be added to their list.
type DischargeMedicine struct {
	Name         string    `json:"name" bson:"name"`
	Strength     string    `json:"strength,omitempty" bson:"strength,omitempty"`
	Form         string    `json:"form,omitempty" bson:"form,omitempty"`
	Instructions string    `json:"instructions,omitempty" bson:"instructions,omitempty"`
	Code         string    `json:"code,omitempty" bson:"code,omitempty"`
	Schedule     *Schedule `json:"schedule,omitempty" bson:"schedule,omitempty"`
}

// DischargeReferral is what the hospital sent the pharmacy: where from,
// when the patient was discharged, when the referral arrived, and the
// medicines on discharge.
type DischargeReferral struct {
	Hospital     string              `json:"hospital" bson:"hospital"`
	DischargedAt time.Time           `json:"dischargedAt" bson:"dischargedAt"`
	ReceivedAt   time.Time           `json:"receivedAt" bson:"receivedAt"`
	Medicines    []DischargeMedicine `json:"medicines" bson:"medicines"`
	// Changes is the reconciliation of Medicines against the patient's
	// active medicines when the referral was recorded.
	Changes []MedicineChange `json:"changes" bson:"changes"`
}

// The kinds of difference a reconciliation finds.
const (
	ChangeNew       = "new"          // on the discharge list, not in the patient's list
	ChangeStopped   = "stopped"      // in the patient's list, not on the discharge list
	ChangeDose      = "changed_dose" // on both, with another strength, instructions or times
	ChangeUnchanged = "unchanged"
)

// The decisions on a change.
const (
	DecisionPending  = "pending"
	DecisionAccepted = "accepted"
	DecisionRejected = "rejected"
)

// MedicineChange is one line of a reconciliation: what differs, the
// patient's medicine it is about (none for a new one), the discharge line
// (none for a stopped one), and the pharmacist's decision.
type MedicineChange struct {
	ID           string             `json:"id" bson:"id"`
	Kind         string             `json:"kind" bson:"kind"`
	MedicationID string             `json:"medicationId,omitempty" bson:"medicationId,omitempty"`
	Current      *DischargeMedicine `json:"current,omitempty" bson:"current,omitempty"`
	Discharge    *DischargeMedicine `json:"discharge,omitempty" bson:"discharge,omitempty"`
	Decision     string             `json:"decision" bson:"decision"`
	Note         string             `json:"note,omitempty" bson:"note,omitempty"`
}

// Limits on a discharge referral.
const (
	MaxDischargeMedicines = 50
	MaxServiceTextLength  = 2000
)

// ValidateDischargeMedicines checks a discharge list under field.
func ValidateDischargeMedicines(field string, meds []DischargeMedicine, p *Problems) {
	if len(meds) > MaxDischargeMedicines {
		p.Add(field, "must list at most %d medicines", MaxDischargeMedicines)
		return
	}
	for i, m := range meds {
		f := fmt.Sprintf("%s[%d]", field, i)
		probe := Medication{ID: "00000000-0000-4000-8000-000000000000", PatientID: "p", Name: m.Name, Strength: m.Strength,
			Form: m.Form, Instructions: m.Instructions, Code: m.Code, Status: MedicationActive,
			Schedule: Schedule{AsNeeded: true, StartDate: "2000-01-01"}}
		if m.Schedule != nil {
			probe.Schedule = *m.Schedule
			if probe.Schedule.StartDate == "" {
				probe.Schedule.StartDate = "2000-01-01" // the reconciliation's date is used
			}
		}
		if err := probe.Validate(); err != nil {
			p.Merge(f, err)
		}
	}
}

// medicineKey is how a discharge line and a patient's medicine are
// matched: the dm+d code when both have one, else the name (any case,
// spaces collapsed).
func medicineKey(name string) string { return strings.ToLower(strings.Join(strings.Fields(name), " ")) }

// lineOf is the discharge-style line of a patient's medicine.
func lineOf(m Medication) DischargeMedicine {
	sch := m.Schedule
	return DischargeMedicine{Name: m.Name, Strength: m.Strength, Form: m.Form, Instructions: m.Instructions, Code: m.Code, Schedule: &sch}
}

// sameDose reports whether a discharge line says the same dose as the
// patient's medicine: strength, instructions and (when the line has a
// schedule) the times.
func sameDose(d DischargeMedicine, m Medication) bool {
	if medicineKey(d.Strength) != medicineKey(m.Strength) || medicineKey(d.Instructions) != medicineKey(m.Instructions) {
		return false
	}
	return d.Schedule == nil || (slices.Equal(d.Schedule.Times, m.Schedule.Times) && d.Schedule.AsNeeded == m.Schedule.AsNeeded)
}

// Reconcile compares a discharge list with the patient's active medicines
// and returns one change per difference (new, stopped, changed dose) and
// per medicine unchanged, each pending, with ids "c1", "c2"… in order:
// the discharge list's lines first, then the stopped medicines.
func Reconcile(discharge []DischargeMedicine, active []Medication) []MedicineChange {
	var out []MedicineChange
	used := make([]bool, len(active))
	next := func(c MedicineChange) {
		c.ID = fmt.Sprintf("c%d", len(out)+1)
		c.Decision = DecisionPending
		if c.Kind == ChangeUnchanged {
			c.Decision = ""
		}
		out = append(out, c)
	}
	for _, d := range discharge {
		d := d
		match := -1
		for i, m := range active {
			if used[i] {
				continue
			}
			if (d.Code != "" && d.Code == m.Code) || medicineKey(d.Name) == medicineKey(m.Name) {
				match = i
				break
			}
		}
		if match < 0 {
			next(MedicineChange{Kind: ChangeNew, Discharge: &d})
			continue
		}
		used[match] = true
		m := active[match]
		cur := lineOf(m)
		kind := ChangeDose
		if sameDose(d, m) {
			kind = ChangeUnchanged
		}
		next(MedicineChange{Kind: kind, MedicationID: m.ID, Current: &cur, Discharge: &d})
	}
	for i, m := range active {
		if !used[i] {
			cur := lineOf(m)
			next(MedicineChange{Kind: ChangeStopped, MedicationID: m.ID, Current: &cur})
		}
	}
	return out
}
