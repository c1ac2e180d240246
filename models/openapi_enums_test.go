package models

import (
	"os"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
)

// The closed sets of values the API document lists as enums are the ones
// the models produce: a rule, band, context, outcome or service added here
// must be added to api/openapi.yaml (or responses carrying it break the
// contract the API suite checks) and the reverse.
func TestOpenAPIEnumsMatchTheModels(t *testing.T) {
	raw, err := os.ReadFile("../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Enum []string `yaml:"enum"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var ruleIDs, bands, services, outcomes, severities, flagRules []string
	add := func(list *[]string, v string) {
		if !slices.Contains(*list, v) {
			*list = append(*list, v)
		}
	}
	for _, r := range readingBandRules {
		add(&ruleIDs, r.ID)
		add(&bands, r.Band)
	}
	for _, pr := range readingPersonalBandRules {
		add(&ruleIDs, pr.rule.ID)
		add(&bands, pr.rule.Band)
	}
	for _, c := range FlagRules() {
		add(&services, string(c.Service))
	}
	for _, o := range FlagOutcomes {
		add(&outcomes, string(o))
	}
	for _, s := range readingSeverityOrder {
		add(&severities, string(s))
	}
	for _, r := range FlagRuleIDs {
		add(&flagRules, string(r))
	}
	for name, want := range map[string][]string{
		"BandRuleId": ruleIDs, "ReadingBand": bands, "GlucoseContext": readingGlucoseContexts,
		"PharmacyService": services, "FlagOutcome": outcomes, "Severity": severities, "FlagRule": flagRules,
	} {
		got := slices.Clone(doc.Components.Schemas[name].Enum)
		want = slices.Clone(want)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("components.schemas.%s.enum = %q, the models have %q", name, got, want)
		}
	}
}
