package fhir

import (
	"fmt"
	"strconv"

	"github.com/concord-health/concord/models"
)

// flag is a FHIR R4 Flag: a pharmacist's review flag.
type flag struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	Identifier   []Identifier      `json:"identifier"`
	Status       string            `json:"status"`
	Category     []CodeableConcept `json:"category"`
	Code         CodeableConcept   `json:"code"`
	Subject      Reference         `json:"subject"`
	Period       *Period           `json:"period,omitempty"`
	Author       *Reference        `json:"author,omitempty"`
}

// newFlag maps a review flag to a Flag: active while it is live
// (models.LiveFlag), inactive once resolved or closed, with the evidence
// that fired it as the code's text and the pharmacy, when given, as its
// author.
func newFlag(f models.Flag, pharmacy *models.Pharmacy, subject Reference) flag {
	id := resourceUUID("flag", f.ID)
	category := flagCategoryDrug
	if f.Rule == models.RuleSevereReading {
		category = flagCategoryClinical
	}
	out := flag{
		ResourceType: "Flag",
		ID:           id,
		Identifier:   []Identifier{{System: SystemUUID, Value: id}},
		Status:       "inactive",
		Category:     []CodeableConcept{{Coding: []Coding{category}}},
		Code:         CodeableConcept{Text: flagText(f)},
		Subject:      subject,
		Period:       &Period{Start: dateTime(f.CreatedAt)},
	}
	if models.LiveFlag(f.Status, f.FollowUpAt != nil) {
		out.Status = "active"
	} else if end := firstSet(f.ResolvedAt, f.ClosedAt); end != "" {
		out.Period.End = end
	}
	if f.CreatedAt.IsZero() {
		out.Period = nil
	}
	if pharmacy != nil {
		out.Author = pharmacyReference(*pharmacy)
	}
	return out
}

// flagText says what fired a flag in Concord's terms: the rule, the
// criterion and the metric against its threshold over the window, e.g.
// "Concord review flag low_adherence: dose_adherence 0.62 < 0.8 over P28D;
// suggested service structured_medication_review".
func flagText(f models.Flag) string {
	ev := f.Evidence
	text := "Concord review flag " + string(f.Rule)
	if ev.Metric != "" {
		text += fmt.Sprintf(": %s %s %s %s", ev.Metric, num(ev.Value), ev.Op, num(ev.Threshold))
		if ev.Window != "" {
			text += " over " + ev.Window
		}
	}
	if f.SuggestedService != "" {
		text += "; suggested service " + string(f.SuggestedService)
	}
	return text
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// pharmacyReference refers to a pharmacy by its ODS code.
func pharmacyReference(p models.Pharmacy) *Reference {
	return &Reference{Identifier: &Identifier{System: SystemODS, Value: p.ODSCode}, Display: p.Name}
}
