package models_test

import (
	"testing"

	"github.com/concord-health/concord/models"
)

func TestParseLocale(t *testing.T) {
	t.Parallel()
	for tag, want := range map[string]models.Locale{"en": "en", "EN-gb": "en-GB", "cy": "cy", "Cy-Gb": "cy-GB", "fr": "", "en-US": "", "": "", "cy_GB": ""} {
		got, ok := models.ParseLocale(tag)
		if got != want || ok != (want != "") {
			t.Errorf("ParseLocale(%q) = %q, %v; want %q", tag, got, ok, want)
		}
	}
	for l, lang := range map[models.Locale]string{"": "en", "en": "en", "en-GB": "en", "cy": "cy", "cy-GB": "cy"} {
		if got := l.Language(); got != lang {
			t.Errorf("%q.Language() = %q, want %q", l, got, lang)
		}
	}
	if b, _ := models.Locale("").MarshalText(); string(b) != "en-GB" {
		t.Errorf("an unset locale shows as %q, want en-GB", b)
	}
}
