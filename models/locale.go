package models

import "strings"

// Locale is a user's language for what Concord says to them (push texts
// and notifications), as a BCP 47 tag. The supported tags are English
// ("en", "en-GB") and Welsh ("cy", "cy-GB"); an unset locale ("", the
// accounts made before locales) is DefaultLocale and shown as such.
type Locale string

// DefaultLocale is the locale of a user who chose none.
const DefaultLocale Locale = "en-GB"

// The languages push texts exist in (the primary subtag of a Locale).
const (
	LanguageEnglish = "en"
	LanguageWelsh   = "cy"
)

// SupportedLocales are the locales a user may choose, in canonical form.
var SupportedLocales = []Locale{"en", "en-GB", "cy", "cy-GB"}

// ParseLocale returns the supported locale tag names, in canonical case
// (BCP 47 tags are case-insensitive: "EN-gb" is "en-GB"); ok is false for
// any other tag.
func ParseLocale(tag string) (Locale, bool) {
	for _, l := range SupportedLocales {
		if strings.EqualFold(tag, string(l)) {
			return l, true
		}
	}
	return "", false
}

// ValidateLocale adds a problem naming field when tag is not a supported
// locale, and returns the canonical locale.
func ValidateLocale(field, tag string, p *Problems) Locale {
	l, ok := ParseLocale(tag)
	if !ok {
		p.Add(field, "must be one of en, en-GB, cy or cy-GB (a BCP 47 tag)")
	}
	return l
}

// Or returns l, or DefaultLocale when l is unset.
func (l Locale) Or() Locale {
	if l == "" {
		return DefaultLocale
	}
	return l
}

// Language is the language of l's texts: LanguageWelsh for Welsh,
// LanguageEnglish for anything else (an unset locale included).
func (l Locale) Language() string {
	if strings.HasPrefix(strings.ToLower(string(l)), LanguageWelsh) {
		return LanguageWelsh
	}
	return LanguageEnglish
}

// MarshalText shows an unset locale as DefaultLocale.
func (l Locale) MarshalText() ([]byte, error) { return []byte(l.Or()), nil }
