package models_test

import (
	"errors"
	"testing"
	"time"

	"github.com/concord-health/concord/models"
)

func TestTextProblem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		text      string
		multiline bool
		bad       bool
	}{
		{"plain", "Took it after breakfast", false, false},
		{"accents and scripts", "Zoë Ωmega 山田 محمد עברית", false, false},
		{"left-to-right and right-to-left marks", "abc\u200edef\u200fghi", false, false},
		{"emoji", "felt fine 🙂", false, false},
		{"line breaks in a note", "line one\nline two\r\n\tindented", true, false},
		{"line break in a name", "Ada\nLovelace", false, true},
		{"NUL", "Ada\x00", true, true},
		{"escape sequence", "\x1b[31mred", true, true},
		{"DEL", "Ada\x7f", true, true},
		{"C1 control", "Ada\u0085", true, true},
		{"right-to-left override", "invoice\u202etxt.exe", true, true},
		{"left-to-right embedding", "a\u202ab", true, true},
		{"first strong isolate", "a\u2068b\u2069", true, true},
		{"Arabic letter mark", "a\u061cb", true, true},
		{"invalid UTF-8", "caf\xe9", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := models.TextProblem(tc.text, tc.multiline)
			if (got != "") != tc.bad {
				t.Errorf("TextProblem(%q, %v) = %q, want a problem: %v", tc.text, tc.multiline, got, tc.bad)
			}
		})
	}
}

// Names, reading notes (and every free text) refuse what TextProblem
// refuses, naming the field.
func TestFreeTextFields(t *testing.T) {
	t.Parallel()
	var p models.Problems
	models.ValidateName("name", "Eve\u202eevE", &p)
	if err := p.Err(); !hasField(err, "name") {
		t.Errorf("a name with a right-to-left override: %v, want a problem with name", err)
	}
	v := 70.0
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	r := models.Reading{Type: models.ReadingWeight, Unit: "kg", Value: &v, TakenAt: now, Note: "ok\x1b]0;pwned\x07"}
	if err := r.Normalize(now); !hasField(err, "note") {
		t.Errorf("a reading note with an escape sequence: %v, want a problem with note", err)
	}
	p = nil
	models.ValidateInvitationNote("for ‮mum", &p)
	if !hasField(p.Err(), "note") {
		t.Errorf("an invitation note with an override: %v", p.Err())
	}
	p = nil
	models.ValidateFlagNote("text", "called GP\x00", &p)
	if !hasField(p.Err(), "text") {
		t.Errorf("a flag note with a NUL: %v", p.Err())
	}
	m := models.Medication{Name: "Ramipril⁦", Instructions: "take with food[2J", Status: models.MedicationActive,
		Schedule: models.Schedule{Times: []string{"08:00"}, StartDate: "2026-12-01"}}
	err := m.Validate()
	if !hasField(err, "name") || !hasField(err, "instructions") {
		t.Errorf("a medicine with an isolate in its name and an escape in its instructions: %v", err)
	}
}

func TestNormalizeEmailRefusesInvisibleCharacters(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"pa\u200bul@example.org", // zero-width space
		"pa\u200dul@example.org", // zero-width joiner
		"pa\u00adul@example.org", // soft hyphen
		"pa\u202eul@example.org", // right-to-left override
		"paul@exa\u2060mple.org", // word joiner
		"pa\x00ul@example.org",
		"pa ul@example.org",
		"caf\xe9@example.org",
	} {
		if got, ok := models.NormalizeEmail(in); ok {
			t.Errorf("NormalizeEmail(%q) = %q, accepted; want refused", in, got)
		}
	}
	if got, ok := models.NormalizeEmail("  Zoë@Example.ORG "); !ok || got != "zoë@example.org" {
		t.Errorf("NormalizeEmail of an accented address = %q, %v", got, ok)
	}
}

func hasField(err error, field string) bool {
	var e *models.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}
