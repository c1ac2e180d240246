package fhir

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
)

// organization is a FHIR R4 Organization: the pharmacy.
type organization struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	Identifier   []Identifier      `json:"identifier"`
	Active       bool              `json:"active"`
	Type         []CodeableConcept `json:"type,omitempty"`
	Name         string            `json:"name,omitempty"`
	Address      []Address         `json:"address,omitempty"`
}

// Address is a postal address; Concord keeps a pharmacy's postcode only.
type Address struct {
	PostalCode string `json:"postalCode,omitempty"`
	Country    string `json:"country,omitempty"`
}

func newOrganization(ph models.Pharmacy) organization {
	id := resourceUUID("pharmacy", ph.ID)
	o := organization{ResourceType: "Organization", ID: id, Active: true, Name: ph.Name,
		Identifier: []Identifier{{System: SystemODS, Value: ph.ODSCode}},
		Type:       []CodeableConcept{{Text: "Community pharmacy"}}}
	if ph.Postcode != "" {
		o.Address = []Address{{PostalCode: ph.Postcode, Country: "GB"}}
	}
	return o
}

// practitioner is a FHIR R4 Practitioner: a pharmacist.
type practitioner struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id"`
	Identifier   []Identifier `json:"identifier"`
	Name         []HumanName  `json:"name,omitempty"`
}

// newPractitioner names the pharmacist whose account id is id; u is their
// account, zero when it is no longer held.
func newPractitioner(id string, u models.User) practitioner {
	rid := resourceUUID("user", id)
	p := practitioner{ResourceType: "Practitioner", ID: rid, Identifier: []Identifier{{System: SystemUUID, Value: rid}}}
	if name := strings.TrimSpace(u.Name); name != "" {
		p.Name = []HumanName{{Use: "usual", Text: name}}
	}
	return p
}

// episodeOfCare is a FHIR R4 EpisodeOfCare: the patient's course through
// one service at one pharmacy.
type episodeOfCare struct {
	ResourceType         string            `json:"resourceType"`
	ID                   string            `json:"id"`
	Identifier           []Identifier      `json:"identifier"`
	Status               string            `json:"status"`
	Type                 []CodeableConcept `json:"type"`
	Patient              Reference         `json:"patient"`
	ManagingOrganization *Reference        `json:"managingOrganization,omitempty"`
	Period               *Period           `json:"period,omitempty"`
}

// newEpisodeOfCare maps an episode: active while it is, finished once its
// stages are done, cancelled when a pharmacist closed it early.
func newEpisodeOfCare(e models.ServiceEpisode, subject, org Reference) episodeOfCare {
	id := resourceUUID("service-episode", e.ID)
	out := episodeOfCare{ResourceType: "EpisodeOfCare", ID: id, Identifier: []Identifier{{System: SystemUUID, Value: id}},
		Status: "active", Type: []CodeableConcept{{Text: serviceName(e.Service)}}, Patient: subject, ManagingOrganization: &org,
		Period: &Period{Start: dateTime(e.CreatedAt)}}
	switch e.Status {
	case models.EpisodeCompleted:
		out.Status, out.Period.End = "finished", dateTime(e.UpdatedAt)
	case models.EpisodeClosed:
		out.Status, out.Period.End = "cancelled", dateTime(e.UpdatedAt)
	}
	return out
}

// encounter is a FHIR R4 Encounter: one consultation.
type encounter struct {
	ResourceType    string                 `json:"resourceType"`
	ID              string                 `json:"id"`
	Identifier      []Identifier           `json:"identifier"`
	Status          string                 `json:"status"`
	Class           Coding                 `json:"class"`
	Type            []CodeableConcept      `json:"type"`
	ServiceType     *CodeableConcept       `json:"serviceType,omitempty"`
	Subject         Reference              `json:"subject"`
	EpisodeOfCare   []Reference            `json:"episodeOfCare"`
	Participant     []encounterParticipant `json:"participant"`
	Period          Period                 `json:"period"`
	ReasonCode      []CodeableConcept      `json:"reasonCode,omitempty"`
	ServiceProvider *Reference             `json:"serviceProvider,omitempty"`
}

type encounterParticipant struct {
	Type       []CodeableConcept `json:"type"`
	Individual Reference         `json:"individual"`
}

// newEncounter maps a consultation: finished, at the pharmacy
// (ambulatory), the pharmacist as primary performer, the service and the
// stage, and why (the NMS condition, the discharge).
func newEncounter(e models.ServiceEpisode, c models.Consultation, subject, eoc, by, org Reference) encounter {
	id := resourceUUID("consultation", e.ID+":"+c.ID)
	out := encounter{ResourceType: "Encounter", ID: id, Identifier: []Identifier{{System: SystemUUID, Value: id}},
		Status: "finished", Class: encounterAmbulatory,
		Type:            []CodeableConcept{{Text: serviceName(e.Service) + ": " + stageName(c.Stage)}},
		ServiceType:     &CodeableConcept{Text: serviceName(e.Service)},
		Subject:         subject,
		EpisodeOfCare:   []Reference{eoc},
		Participant:     []encounterParticipant{{Type: []CodeableConcept{{Coding: []Coding{participantPrimaryPerformer}}}, Individual: by}},
		Period:          Period{Start: dateTime(c.At), End: dateTime(c.At)},
		ServiceProvider: &org,
	}
	switch {
	case e.Condition != "":
		reason := e.Condition
		if cond, ok := nmsCondition(e.Condition); ok {
			reason = cond
		}
		if e.MedicationName != "" {
			reason = "New medicine " + e.MedicationName + " for " + reason
		}
		out.ReasonCode = []CodeableConcept{{Text: reason}}
	case e.Discharge != nil:
		out.ReasonCode = []CodeableConcept{{Text: "Discharged from " + e.Discharge.Hospital + " on " + dateTime(e.Discharge.DischargedAt)}}
	}
	return out
}

func nmsCondition(id string) (string, bool) {
	for _, c := range models.NMSConditions() {
		if c.ID == id {
			return c.Name, true
		}
	}
	return "", false
}

// consultationReading is a reading the consultation recorded, as a
// vital-signs Observation in the encounter, performed by the pharmacist,
// with how it was measured and its band.
type consultationReading struct {
	observation
	Encounter      *Reference        `json:"encounter,omitempty"`
	Performer      []Reference       `json:"performer,omitempty"`
	Interpretation []CodeableConcept `json:"interpretation,omitempty"`
	Method         *CodeableConcept  `json:"method,omitempty"`
}

func newConsultationReading(r models.Reading, f models.Findings, subject, enc, by Reference) (consultationReading, error) {
	o, err := newObservation(r, subject)
	if err != nil {
		return consultationReading{}, err
	}
	out := consultationReading{observation: o, Encounter: &enc, Performer: []Reference{by}}
	switch r.Source {
	case models.ReadingSourceClinic:
		out.Method = &CodeableConcept{Text: "Measured in the pharmacy (clinic reading)"}
	case models.ReadingSourceABPM:
		out.Method = &CodeableConcept{Text: "Ambulatory blood pressure monitoring: daytime average"}
		out.Code.Text += ", ambulatory daytime average"
	}
	if f.Band != "" {
		out.Interpretation = []CodeableConcept{{Text: fmt.Sprintf("%s (Concord band rule %s)", strings.ReplaceAll(f.Band, "_", " "), f.BandRule)}}
	}
	return out, nil
}

// finding is a FHIR R4 Observation of what a consultation found, said in
// words or figures.
type finding struct {
	ResourceType         string             `json:"resourceType"`
	ID                   string             `json:"id"`
	Status               string             `json:"status"`
	Code                 CodeableConcept    `json:"code"`
	Subject              Reference          `json:"subject"`
	Encounter            *Reference         `json:"encounter,omitempty"`
	EffectiveDateTime    string             `json:"effectiveDateTime,omitempty"`
	EffectivePeriod      *Period            `json:"effectivePeriod,omitempty"`
	Performer            []Reference        `json:"performer,omitempty"`
	ValueQuantity        *Quantity          `json:"valueQuantity,omitempty"`
	ValueString          string             `json:"valueString,omitempty"`
	ValueCodeableConcept *CodeableConcept   `json:"valueCodeableConcept,omitempty"`
	Note                 []Annotation       `json:"note,omitempty"`
	Component            []findingComponent `json:"component,omitempty"`
}

type findingComponent struct {
	Code         CodeableConcept `json:"code"`
	ValueInteger *int            `json:"valueInteger,omitempty"`
}

func newFinding(id, what string, subject, enc, by Reference, at string) finding {
	return finding{ResourceType: "Observation", ID: id, Status: "final", Code: CodeableConcept{Text: what},
		Subject: subject, Encounter: &enc, EffectiveDateTime: at, Performer: []Reference{by}}
}

// newAdherence is adherence evidence from Concord's dose log: the share
// of due doses taken over the window, with the counts as components.
func newAdherence(id string, a models.AdherenceEvidence, subject, enc, by Reference) finding {
	o := newFinding(id, fmt.Sprintf("Medicine adherence over %d days: doses taken of doses due", a.WindowDays), subject, enc, by, "")
	o.EffectiveDateTime = ""
	o.EffectivePeriod = &Period{Start: dateTime(a.At.Add(-time.Duration(a.WindowDays) * 24 * time.Hour)), End: dateTime(a.At)}
	if a.DoseAdherence != nil {
		o.ValueQuantity = quantity(roundTo(*a.DoseAdherence*100, 1), "%", "percent")
	}
	for _, c := range []struct {
		what string
		n    int
	}{{"Doses due", a.Due}, {"Doses taken", a.Taken}, {"Doses skipped", a.Skipped}, {"Doses missed", a.Missed}} {
		o.Component = append(o.Component, findingComponent{Code: CodeableConcept{Text: c.what}, ValueInteger: ptr(c.n)})
	}
	text := "Source: " + a.Source
	if a.PDC != nil {
		text += fmt.Sprintf("; proportion of days covered %s%%", num(roundTo(*a.PDC*100, 1)))
	}
	o.Note = []Annotation{{Text: text}}
	return o
}

// serviceRequest is a FHIR R4 ServiceRequest: a referral the pharmacy
// made.
type serviceRequest struct {
	ResourceType   string            `json:"resourceType"`
	ID             string            `json:"id"`
	Identifier     []Identifier      `json:"identifier"`
	Status         string            `json:"status"`
	Intent         string            `json:"intent"`
	Category       []CodeableConcept `json:"category"`
	Priority       string            `json:"priority"`
	Code           CodeableConcept   `json:"code"`
	Subject        Reference         `json:"subject"`
	Encounter      *Reference        `json:"encounter,omitempty"`
	AuthoredOn     string            `json:"authoredOn"`
	Requester      *Reference        `json:"requester,omitempty"`
	PerformerType  *CodeableConcept  `json:"performerType,omitempty"`
	ReasonCode     []CodeableConcept `json:"reasonCode,omitempty"`
	SupportingInfo []Reference       `json:"supportingInfo,omitempty"`
	Note           []Annotation      `json:"note,omitempty"`
}

// newReferral maps a referral: an active order (Concord does not learn
// whether it was acted on), urgent when same-day, to whom, why, and the
// evidence sent with it.
func newReferral(id string, r models.ServiceReferral, subject, enc, by Reference, at string, support []Reference) serviceRequest {
	to := referralTargetName(r.To)
	out := serviceRequest{ResourceType: "ServiceRequest", ID: id, Identifier: []Identifier{{System: SystemUUID, Value: id}},
		Status: "active", Intent: "order", Category: []CodeableConcept{{Coding: []Coding{categoryPatientReferral}}},
		Priority: "routine", Code: CodeableConcept{Text: "Referral to the " + to}, Subject: subject, Encounter: &enc,
		AuthoredOn: at, Requester: &by, PerformerType: &CodeableConcept{Text: to}, SupportingInfo: support}
	if r.Urgency == models.UrgencySameDay {
		out.Priority = "urgent"
		out.Code.Text += ", the same day"
	}
	if strings.TrimSpace(r.Reason) != "" {
		out.ReasonCode = []CodeableConcept{{Text: r.Reason}}
	}
	if ev := r.FlagEvidence; ev != nil && ev.Metric != "" {
		text := fmt.Sprintf("Concord review flag evidence: %s %s %s %s", ev.Metric, num(ev.Value), ev.Op, num(ev.Threshold))
		if ev.Window != "" {
			text += " over " + ev.Window
		}
		out.Note = []Annotation{{Text: text}}
	}
	return out
}

// reconciliationText lists a discharge reconciliation, one line per
// difference with the decision on it.
func reconciliationText(changes []models.MedicineChange) string {
	var lines []string
	for _, c := range changes {
		if c.Kind == models.ChangeUnchanged {
			continue
		}
		line := strings.ReplaceAll(c.Kind, "_", " ") + ": " + changeMedicine(c) + " (" + c.Decision + ")"
		if c.Note != "" {
			line += ": " + c.Note
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func changeMedicine(c models.MedicineChange) string {
	m := c.Discharge
	if m == nil {
		m = c.Current
	}
	if m == nil {
		return "a medicine"
	}
	return strings.Join(strings.Fields(strings.Join([]string{m.Name, m.Strength, m.Form}, " ")), " ")
}

func roundTo(v float64, decimals int) float64 {
	scale := math.Pow10(decimals)
	return math.Round(v*scale) / scale
}
