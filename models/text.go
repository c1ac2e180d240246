package models

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Free text that one person writes and others read — names, reading notes,
// medicine instructions, skip reasons, flag notes, invitation notes — is
// shown to patients, carers and pharmacists. It must be what it looks like:
// no control characters (a NUL, an ESC starting a terminal sequence) and
// no bidirectional overrides or isolates, which can make text display in
// an order other than the one it is stored in (U+202E RIGHT-TO-LEFT
// OVERRIDE turning "…gpj.exe" into "…exe.jpg"). Right-to-left scripts
// themselves, and the plain left-to-right and right-to-left marks
// (U+200E, U+200F) they sometimes need, are fine.

// bidiControls are the Unicode bidirectional embeddings, overrides and
// isolates (UAX #9): invisible characters that reorder the text around
// them. The Arabic letter mark (U+061C) is among them.
var bidiControls = map[rune]bool{
	'\u061c': true,
	'\u202a': true, '\u202b': true, '\u202c': true, '\u202d': true, '\u202e': true,
	'\u2066': true, '\u2067': true, '\u2068': true, '\u2069': true,
}

// TextProblem returns what is wrong with free text s, or "" if nothing
// is: invalid UTF-8, a control character (line breaks and tabs allowed
// only when multiline), or a bidirectional override or isolate.
func TextProblem(s string, multiline bool) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8 text"
	}
	for _, r := range s {
		switch {
		case multiline && (r == '\n' || r == '\r' || r == '\t'):
		case unicode.IsControl(r):
			return fmt.Sprintf("must not contain control characters (U+%04X)", r)
		case bidiControls[r]:
			return fmt.Sprintf("must not contain bidirectional override or isolate characters (U+%04X)", r)
		}
	}
	return ""
}

// ValidateText records under field a problem with free text s: what
// TextProblem says, or more than max characters.
func ValidateText(field, s string, max int, multiline bool, p *Problems) {
	if problem := TextProblem(s, multiline); problem != "" {
		p.Add(field, "%s", problem)
		return
	}
	if utf8.RuneCountInString(s) > max {
		p.Add(field, "must be at most %d characters", max)
	}
}
