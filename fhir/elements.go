package fhir

import (
	"strings"
	"time"
)

// The FHIR R4 data types the package writes and reads, with JSON names as
// in the specification (https://hl7.org/fhir/R4/datatypes.html). Only the
// elements Concord uses are declared; empty ones are omitted, since FHIR
// forbids empty elements.

// Coding is a code from a code system.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is a concept as one or more codings and, or, text.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// has reports whether any of c's codings is system|code.
func (c CodeableConcept) has(system, code string) bool {
	for _, cd := range c.Coding {
		if cd.System == system && cd.Code == code {
			return true
		}
	}
	return false
}

// Identifier is a business identifier: a value unique within System.
type Identifier struct {
	Extension []Extension `json:"extension,omitempty"`
	System    string      `json:"system,omitempty"`
	Value     string      `json:"value,omitempty"`
}

// Reference points at another resource: by URL (a bundle entry's fullUrl,
// "Type/id" or "#id" for a contained resource) or, logically, by
// identifier.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// Quantity is a measured amount; Code is its UCUM unit when System is
// SystemUCUM, Unit its human-readable form.
type Quantity struct {
	Value  *float64 `json:"value,omitempty"`
	Unit   string   `json:"unit,omitempty"`
	System string   `json:"system,omitempty"`
	Code   string   `json:"code,omitempty"`
}

// Period is a span of time; either end may be open.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Meta carries the profiles a resource claims to conform to.
type Meta struct {
	Profile []string `json:"profile,omitempty"`
}

// Annotation is a note.
type Annotation struct {
	Text string `json:"text"`
}

// HumanName is a person's name; Concord keeps one display name, so only
// Text is used.
type HumanName struct {
	Use  string `json:"use,omitempty"`
	Text string `json:"text,omitempty"`
}

// ContactPoint is a way to reach someone.
type ContactPoint struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
	Use    string `json:"use,omitempty"`
}

// Attachment describes content held elsewhere; Concord only titles it.
type Attachment struct {
	Title string `json:"title,omitempty"`
}

// dateTime writes an instant as a FHIR dateTime (and instant): UTC, to the
// nanosecond it carries, so a millisecond reading time survives the round
// trip.
func dateTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// optDateTime is dateTime, "" for nil.
func optDateTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return dateTime(*t)
}

// parseDateTime reads a FHIR dateTime or instant that names a moment: a
// date alone (or a year, or a month) is not one, nor is a time without a
// zone, which FHIR forbids.
func parseDateTime(s string) (time.Time, bool) {
	if !strings.Contains(s, "T") {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

func ptr[T any](v T) *T { return &v }

// Extension is an extension carrying a CodeableConcept, the only kind
// Concord writes.
type Extension struct {
	URL                  string           `json:"url"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept,omitempty"`
}
