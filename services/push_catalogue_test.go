package services

import (
	"regexp"
	"slices"
	"testing"

	"github.com/concord-health/concord/models"
)

// TestCatalogueComplete: every text of the push message catalogue exists
// in English and in Welsh, and both use exactly the arguments the entry
// declares (pushed as loc args, so an app's own translations can rely on
// them).
func TestCatalogueComplete(t *testing.T) {
	t.Parallel()
	placeholder := regexp.MustCompile(`\{([a-z]+)\}`)
	used := func(s string) []string {
		var out []string
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	if len(catalogue) < 15 {
		t.Fatalf("the catalogue has %d texts", len(catalogue))
	}
	for key, m := range catalogue {
		if m.en == "" || m.cy == "" {
			t.Errorf("%s: English %q, Welsh %q: both are required", key, m.en, m.cy)
			continue
		}
		declared := slices.Sorted(slices.Values(m.args))
		if got := used(m.en); !slices.Equal(got, declared) {
			t.Errorf("%s: the English text uses %v, the entry declares %v", key, got, declared)
		}
		if got := used(m.cy); !slices.Equal(got, declared) {
			t.Errorf("%s: the Welsh text uses %v, the entry declares %v", key, got, declared)
		}
	}
}

// TestPushTextInEachLanguage: the texts Concord builds render in the
// recipient's language, with their arguments, the carer's fallback name
// and the list of medicines in that language.
func TestPushTextInEachLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, lang  string
		text        models.PushText
		title, body string
	}{
		{"reminder en", "en", reminderText(models.KindDoseReminder, "en", false, "08:00", []string{"Ramipril 5 mg"}),
			"Reminder", "Time for your 08:00 medicines"},
		{"reminder cy", "cy", reminderText(models.KindDoseReminder, "cy", false, "08:00", nil),
			"Nodyn atgoffa", "Amser am eich meddyginiaethau 08:00"},
		{"detailed cy", "cy", reminderText(models.KindDoseFollowUp, "cy", true, "20:00", []string{"A", "B", "C"}),
			"Nodyn atgoffa", "Ydych chi wedi cymryd eich meddyginiaethau 20:00? A, B a C"},
		{"refill en", "en", refillText("en", true, "Ramipril 5 mg", 3.7), "Reminder", "Ramipril 5 mg is running low: about 3 days left"},
		{"refill cy", "cy", refillText("cy", true, "Ramipril 5 mg", 0.5), "Nodyn atgoffa", "Mae Ramipril 5 mg yn mynd yn isel: llai na diwrnod ar ôl"},
		{"carer no name cy", "cy", pushText(msgCarerMissedDoseTitle, msgCarerMissedDoseBody, map[string]string{"name": ""}),
			"Dos wedi'i golli", "Mae Rhywun rydych yn gofalu amdano wedi colli dos"},
	}
	for _, tc := range tests {
		title, body := renderPushText(tc.text, tc.lang)
		if title != tc.title || body != tc.body {
			t.Errorf("%s: %q / %q, want %q / %q", tc.name, title, body, tc.title, tc.body)
		}
	}
	if got := joinNames("en", []string{"A", "B", "C", "D", "E", "F", "G"}); got != "A, B, C, D and 3 more" {
		t.Errorf("joinNames en = %q", got)
	}
	if got := joinNames("cy", []string{"A", "B", "C", "D", "E", "F", "G"}); got != "A, B, C, D a 3 arall" {
		t.Errorf("joinNames cy = %q", got)
	}
}
