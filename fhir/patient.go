package fhir

import (
	"strings"

	"github.com/concord-health/concord/models"
)

// patient is a FHIR R4 Patient.
type patient struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id"`
	Identifier   []Identifier   `json:"identifier"`
	Active       bool           `json:"active"`
	Name         []HumanName    `json:"name,omitempty"`
	Telecom      []ContactPoint `json:"telecom,omitempty"`
}

// newPatient maps a patient's account to a Patient. nhsNumber, when not
// empty, must be a valid NHS number (models.NormalizeNHSNumber); it is
// written under SystemNHSNumber and marked not traced, since the patient
// typed it and no one checked it against the Personal Demographics
// Service. It returns a CodeInvalid *Error for a bad NHS number.
func newPatient(u models.User, nhsNumber string) (patient, error) {
	id := resourceUUID("user", u.ID)
	p := patient{ResourceType: "Patient", ID: id, Active: true,
		Identifier: []Identifier{{System: SystemUUID, Value: id}}}
	if strings.TrimSpace(nhsNumber) != "" {
		n, ok := models.NormalizeNHSNumber(nhsNumber)
		if !ok {
			return patient{}, models.Errorf(models.CodeInvalid, "the NHS number is not valid")
		}
		p.Identifier = append([]Identifier{{
			Extension: []Extension{{URL: extensionNHSNumberVerification,
				ValueCodeableConcept: &CodeableConcept{Coding: []Coding{nhsNumberNotTraced}}}},
			System: SystemNHSNumber, Value: n,
		}}, p.Identifier...)
	}
	if name := strings.TrimSpace(u.Name); name != "" {
		p.Name = []HumanName{{Use: "usual", Text: name}}
	}
	if u.Email != "" {
		p.Telecom = []ContactPoint{{System: "email", Value: u.Email, Use: "home"}}
	}
	return p, nil
}
