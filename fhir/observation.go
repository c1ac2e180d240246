package fhir

import (
	"encoding/json"
	"strings"

	"github.com/concord-health/concord/models"
)

// observation is a FHIR R4 Observation. Export fills the vital-signs
// elements; import also reads the alternative effective[x] forms, a data
// absent reason and contained resources.
type observation struct {
	ResourceType      string            `json:"resourceType"`
	ID                string            `json:"id,omitempty"`
	Meta              *Meta             `json:"meta,omitempty"`
	Contained         []json.RawMessage `json:"contained,omitempty"`
	Identifier        []Identifier      `json:"identifier,omitempty"`
	Status            string            `json:"status"`
	Category          []CodeableConcept `json:"category,omitempty"`
	Code              CodeableConcept   `json:"code"`
	Subject           *Reference        `json:"subject,omitempty"`
	EffectiveDateTime string            `json:"effectiveDateTime,omitempty"`
	EffectiveInstant  string            `json:"effectiveInstant,omitempty"`
	EffectivePeriod   *Period           `json:"effectivePeriod,omitempty"`
	Issued            string            `json:"issued,omitempty"`
	ValueQuantity     *Quantity         `json:"valueQuantity,omitempty"`
	DataAbsentReason  *CodeableConcept  `json:"dataAbsentReason,omitempty"`
	Note              []Annotation      `json:"note,omitempty"`
	Device            *Reference        `json:"device,omitempty"`
	Component         []component       `json:"component,omitempty"`
}

// component is one value of a panel.
type component struct {
	Code             CodeableConcept  `json:"code"`
	ValueQuantity    *Quantity        `json:"valueQuantity,omitempty"`
	DataAbsentReason *CodeableConcept `json:"dataAbsentReason,omitempty"`
}

// newObservation maps a normalised reading to a vital-signs Observation
// about subject: the type's codings (vitalSigns), its canonical values in
// the canonical UCUM unit, taken at TakenAt. Blood pressure is the 85354-9
// panel with systolic, diastolic and, when the cuff gave one, pulse
// components. It returns a CodeInvalid *Error for a reading of an unknown
// type or without canonical values (not normalised).
func newObservation(r models.Reading, subject Reference) (observation, error) {
	vs, ok := vitalSignOf(r.Type)
	if !ok {
		return observation{}, models.Errorf(models.CodeInvalid, "reading %s has an unknown type %q", r.ID, r.Type)
	}
	if r.Canonical.Unit != vs.unit {
		return observation{}, models.Errorf(models.CodeInvalid, "reading %s has no canonical values", r.ID)
	}
	id := resourceUUID("reading", r.ID)
	profiles := []string{profileVitalSigns}
	if vs.profile != profileVitalSigns {
		profiles = append(profiles, vs.profile)
	}
	o := observation{
		ResourceType:      "Observation",
		ID:                id,
		Meta:              &Meta{Profile: profiles},
		Identifier:        []Identifier{{System: SystemUUID, Value: id}},
		Status:            "final",
		Category:          []CodeableConcept{{Coding: []Coding{categoryVitalSigns}}},
		Code:              vs.concept(),
		Subject:           &subject,
		EffectiveDateTime: dateTime(r.TakenAt),
	}
	if !r.CreatedAt.IsZero() {
		o.Issued = dateTime(r.CreatedAt)
	}
	if r.DeletedAt != nil {
		// The patient deleted it: kept in their copy, marked as an entry
		// in error [R4 observation-status].
		o.Status = "entered-in-error"
	}
	if r.Context != "" {
		o.Code.Text += ", " + strings.ReplaceAll(r.Context, "_", " ")
	}
	if strings.TrimSpace(r.Note) != "" {
		o.Note = []Annotation{{Text: r.Note}}
	}
	if r.Device != "" {
		o.Device = &Reference{Display: r.Device}
	}
	if r.Type != models.ReadingBloodPressure {
		if r.Canonical.Value == nil {
			return observation{}, models.Errorf(models.CodeInvalid, "reading %s has no canonical value", r.ID)
		}
		o.ValueQuantity = quantity(*r.Canonical.Value, vs.unit, vs.unitText)
		return o, nil
	}
	values := map[string]*float64{
		"systolic": r.Canonical.Systolic, "diastolic": r.Canonical.Diastolic, "pulse": r.Canonical.Pulse,
	}
	if values["systolic"] == nil || values["diastolic"] == nil {
		return observation{}, models.Errorf(models.CodeInvalid, "reading %s has no canonical systolic and diastolic values", r.ID)
	}
	for _, bc := range bpComponents {
		if v := values[bc.field]; v != nil {
			o.Component = append(o.Component, component{Code: bc.concept(), ValueQuantity: quantity(*v, bc.unit, bc.unitText)})
		}
	}
	return o, nil
}

// quantity is a UCUM quantity.
func quantity(v float64, unit, text string) *Quantity {
	return &Quantity{Value: ptr(v), Unit: text, System: SystemUCUM, Code: unit}
}
