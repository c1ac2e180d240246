package fhir

import (
	"time"

	"github.com/concord-health/concord/models"
)

// consent is a FHIR R4 Consent: the patient's consent to share with the
// pharmacy they nominated.
type consent struct {
	ResourceType     string            `json:"resourceType"`
	ID               string            `json:"id"`
	Identifier       []Identifier      `json:"identifier"`
	Status           string            `json:"status"`
	Scope            CodeableConcept   `json:"scope"`
	Category         []CodeableConcept `json:"category"`
	Patient          Reference         `json:"patient"`
	DateTime         string            `json:"dateTime,omitempty"`
	Performer        []Reference       `json:"performer,omitempty"`
	SourceAttachment *Attachment       `json:"sourceAttachment,omitempty"`
	PolicyRule       CodeableConcept   `json:"policyRule"`
	Provision        consentProvision  `json:"provision"`
}

type consentProvision struct {
	Type    string            `json:"type"`
	Period  *Period           `json:"period,omitempty"`
	Actor   []consentActor    `json:"actor"`
	Action  []CodeableConcept `json:"action"`
	Purpose []Coding          `json:"purpose"`
}

type consentActor struct {
	Role      CodeableConcept `json:"role"`
	Reference Reference       `json:"reference"`
}

// newConsent maps a consent record to a Consent: the patient opted in
// (given by the patient, at GrantedAt) to the pharmacy, as information
// recipient, accessing their record for treatment, from GrantedAt until
// it was withdrawn or replaced. It is active until then, inactive after.
func newConsent(c models.Consent, ph models.Pharmacy, subject Reference) consent {
	id := resourceUUID("consent", c.ID)
	out := consent{
		ResourceType: "Consent",
		ID:           id,
		Identifier:   []Identifier{{System: SystemUUID, Value: id}},
		Status:       "active",
		Scope:        CodeableConcept{Coding: []Coding{consentScopePrivacy}},
		Category:     []CodeableConcept{{Coding: []Coding{consentCategoryINFA}}},
		Patient:      subject,
		DateTime:     dateTime(c.GrantedAt),
		Performer:    []Reference{subject},
		PolicyRule:   CodeableConcept{Coding: []Coding{consentPolicyOptIn}},
		Provision: consentProvision{
			Type:    "permit",
			Period:  &Period{Start: dateTime(c.GrantedAt), End: optDateTime(c.WithdrawnAt)},
			Actor:   []consentActor{{Role: CodeableConcept{Coding: []Coding{consentActorRecipient}}, Reference: *pharmacyReference(ph)}},
			Action:  []CodeableConcept{{Coding: []Coding{consentActionAccess}}},
			Purpose: []Coding{consentPurposeTreat},
		},
	}
	if c.TextVersion != "" {
		out.SourceAttachment = &Attachment{Title: "Concord pharmacy sharing consent, wording version " + c.TextVersion}
	}
	if c.WithdrawnAt != nil || c.EndReason != "" {
		out.Status = "inactive"
	}
	return out
}

// firstSet is the first of ts that is set, as a dateTime; "" if none.
func firstSet(ts ...*time.Time) string {
	for _, t := range ts {
		if t != nil {
			return dateTime(*t)
		}
	}
	return ""
}
