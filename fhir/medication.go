package fhir

import (
	"strconv"
	"strings"

	"github.com/concord-health/concord/models"
)

// medicationStatement is a FHIR R4 MedicationStatement: a medicine the
// patient says they take.
type medicationStatement struct {
	ResourceType              string           `json:"resourceType"`
	ID                        string           `json:"id"`
	Identifier                []Identifier     `json:"identifier"`
	Status                    string           `json:"status"`
	Category                  *CodeableConcept `json:"category,omitempty"`
	MedicationCodeableConcept CodeableConcept  `json:"medicationCodeableConcept"`
	Subject                   Reference        `json:"subject"`
	EffectivePeriod           *Period          `json:"effectivePeriod,omitempty"`
	DateAsserted              string           `json:"dateAsserted,omitempty"`
	InformationSource         *Reference       `json:"informationSource,omitempty"`
	Dosage                    []dosage         `json:"dosage,omitempty"`
}

// dosage is how the medicine is taken.
type dosage struct {
	Text            string  `json:"text,omitempty"`
	Timing          *timing `json:"timing,omitempty"`
	AsNeededBoolean bool    `json:"asNeededBoolean,omitempty"`
}

type timing struct {
	Repeat timingRepeat `json:"repeat"`
}

type timingRepeat struct {
	BoundsPeriod *Period  `json:"boundsPeriod,omitempty"`
	Period       int      `json:"period,omitempty"`
	PeriodUnit   string   `json:"periodUnit,omitempty"`
	DayOfWeek    []string `json:"dayOfWeek,omitempty"`
	TimeOfDay    []string `json:"timeOfDay,omitempty"`
}

// medicationAdministration is a FHIR R4 MedicationAdministration: one dose
// taken, or not.
type medicationAdministration struct {
	ResourceType              string            `json:"resourceType"`
	ID                        string            `json:"id"`
	Identifier                []Identifier      `json:"identifier"`
	Status                    string            `json:"status"`
	StatusReason              []CodeableConcept `json:"statusReason,omitempty"`
	MedicationCodeableConcept CodeableConcept   `json:"medicationCodeableConcept"`
	Subject                   Reference         `json:"subject"`
	SupportingInformation     []Reference       `json:"supportingInformation,omitempty"`
	EffectiveDateTime         string            `json:"effectiveDateTime"`
}

// medicationConcept names a medicine: its dm+d code when known
// (SystemDMD), and its name, strength and form as text. The dm+d term is
// not known to Concord, so the coding has no display.
func medicationConcept(m models.Medication) CodeableConcept {
	c := CodeableConcept{Text: strings.Join(strings.Fields(strings.Join([]string{m.Name, m.Strength, m.Form}, " ")), " ")}
	if m.Code != "" {
		c.Coding = []Coding{{System: SystemDMD, Code: m.Code}}
	}
	return c
}

// newMedicationStatement maps a medicine to a MedicationStatement:
// active, or stopped from StoppedAt; its schedule as the dosage timing.
func newMedicationStatement(m models.Medication, subject Reference) medicationStatement {
	id := resourceUUID("medication", m.ID)
	s := medicationStatement{
		ResourceType:              "MedicationStatement",
		ID:                        id,
		Identifier:                []Identifier{{System: SystemUUID, Value: id}},
		Status:                    "active",
		Category:                  &CodeableConcept{Coding: []Coding{medStatementPatientHeld}},
		MedicationCodeableConcept: medicationConcept(m),
		Subject:                   subject,
		InformationSource:         &subject,
	}
	if !m.CreatedAt.IsZero() {
		s.DateAsserted = dateTime(m.CreatedAt)
	}
	period := Period{Start: m.Schedule.StartDate, End: m.Schedule.EndDate}
	if m.Status == models.MedicationStopped {
		s.Status = "stopped"
		period.End = optDateTime(m.StoppedAt)
	}
	if period.Start != "" || period.End != "" {
		s.EffectivePeriod = &period
	}
	s.Dosage = []dosage{scheduleDosage(m)}
	return s
}

// scheduleDosage writes a schedule as a dosage: times of day, days of the
// week or every n days, as needed, and the instructions as text.
func scheduleDosage(m models.Medication) dosage {
	sc := m.Schedule
	d := dosage{Text: m.Instructions, AsNeededBoolean: sc.AsNeeded}
	if sc.AsNeeded || len(sc.Times) == 0 {
		return d
	}
	r := timingRepeat{DayOfWeek: sc.DaysOfWeek}
	if sc.StartDate != "" || sc.EndDate != "" {
		r.BoundsPeriod = &Period{Start: sc.StartDate, End: sc.EndDate}
	}
	for _, t := range sc.Times {
		r.TimeOfDay = append(r.TimeOfDay, t+":00")
	}
	if sc.EveryNDays > 1 {
		r.Period, r.PeriodUnit = sc.EveryNDays, "d"
	}
	d.Timing = &timing{Repeat: r}
	if d.Text == "" {
		d.Text = "At " + strings.Join(sc.Times, ", ")
		if sc.EveryNDays > 1 {
			d.Text += " every " + strconv.Itoa(sc.EveryNDays) + " days"
		}
		if len(sc.DaysOfWeek) > 0 {
			d.Text += " on " + strings.Join(sc.DaysOfWeek, ", ")
		}
	}
	return d
}

// newMedicationAdministration maps a dose, with its effective status, to a
// MedicationAdministration: completed when taken (at TakenAt), not-done
// with a status reason when skipped or missed (at the time it was due).
// ok is false for a dose that is neither (pending): it has no
// administration yet.
func newMedicationAdministration(d models.Dose, status models.DoseStatus, med medicationRef, subject Reference) (medicationAdministration, bool) {
	id := resourceUUID("dose", d.ID)
	a := medicationAdministration{
		ResourceType:              "MedicationAdministration",
		ID:                        id,
		Identifier:                []Identifier{{System: SystemUUID, Value: id}},
		MedicationCodeableConcept: med.concept,
		Subject:                   subject,
		SupportingInformation:     []Reference{{Reference: med.url}},
		EffectiveDateTime:         dateTime(d.ScheduledAt),
	}
	switch status {
	case models.DoseTaken:
		a.Status = "completed"
		if d.TakenAt != nil {
			a.EffectiveDateTime = dateTime(*d.TakenAt)
		}
	case models.DoseSkipped:
		a.Status = "not-done"
		text := "Skipped by the patient"
		if d.SkipReason != "" {
			text += ": " + d.SkipReason
		}
		a.StatusReason = []CodeableConcept{{Text: text}}
	case models.DoseMissed:
		a.Status = "not-done"
		a.StatusReason = []CodeableConcept{{Text: "Missed: not logged as taken within the grace period after its time"}}
	default:
		return medicationAdministration{}, false
	}
	return a, true
}

// medicationRef is what a dose's administration needs of its medicine,
// kept by the encoder for each medicine written.
type medicationRef struct {
	url     string
	concept CodeableConcept
}
