package report

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/concord-health/concord/models"
)

// typeNames are the reading types as the report names them.
var typeNames = map[models.ReadingType]string{
	models.ReadingBloodPressure: "Blood pressure",
	models.ReadingBloodGlucose:  "Blood glucose",
	models.ReadingWeight:        "Weight",
	models.ReadingHeartRate:     "Heart rate",
	models.ReadingSpO2:          "Oxygen saturation (SpO2)",
	models.ReadingPeakFlow:      "Peak flow",
	models.ReadingTemperature:   "Temperature",
}

func typeName(t models.ReadingType) string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return string(t)
}

// unitNames are UCUM units as people write them.
var unitNames = map[string]string{"mm[Hg]": "mmHg", "Cel": "°C", "/min": "/min"}

func unitName(u string) string {
	if n, ok := unitNames[u]; ok {
		return n
	}
	return u
}

// num words a number with at most one decimal: 3.44 → "3.4", 186 → "186".
func num(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// percent words a share: 0.7857 → "79%"; nil → "n/a".
func percent(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return strconv.Itoa(int(math.Round(*v*100))) + "%"
}

// plural words a count of things: "1 reading", "4 readings".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}

// words turns an identifier ("stage_1_hypertension") into words.
func words(id string) string { return strings.ReplaceAll(id, "_", " ") }

// bandShares words a summary's band shares, largest first: "high 60%,
// normal 40%".
func bandShares(b map[string]float64) string {
	type share struct {
		band string
		v    float64
	}
	var all []share
	for band, v := range b {
		all = append(all, share{band, v})
	}
	slices.SortFunc(all, func(a, b share) int {
		if a.v != b.v {
			if a.v > b.v {
				return -1
			}
			return 1
		}
		return strings.Compare(a.band, b.band)
	})
	parts := make([]string, len(all))
	for i, s := range all {
		v := s.v
		parts[i] = words(s.band) + " " + percent(&v)
	}
	return strings.Join(parts, ", ")
}

// readingValue words a reading's canonical value with its unit.
func readingValue(r models.Reading) string {
	c := r.Canonical
	unit := unitName(r.Type.CanonicalUnit())
	switch {
	case c.Systolic != nil && c.Diastolic != nil:
		return num(*c.Systolic) + "/" + num(*c.Diastolic) + " " + unit
	case c.Value != nil:
		return num(*c.Value) + " " + unit
	}
	return "?"
}

// flagName is the name of the criterion that raised a flag, or its rule.
func flagName(f models.FlagEvidence, rule models.FlagRuleID) string {
	if f.Criterion != "" {
		return words(f.Criterion)
	}
	return words(string(rule))
}
