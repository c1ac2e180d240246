package fhir

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/concord-health/concord/models"
)

// deviceIn is the part of an R4 Device an import reads: who made it and
// which model it is.
type deviceIn struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Manufacturer string `json:"manufacturer"`
	DeviceName   []struct {
		Name string `json:"name"`
	} `json:"deviceName"`
	ModelNumber string `json:"modelNumber"`
}

// name is the device's make and model: manufacturer, the first device
// name and the model number, each once (a part that holds an earlier one,
// such as a device name that starts with the manufacturer, replaces it).
func (d deviceIn) name() string {
	var parts []string
	addPart := func(s string) {
		s = strings.TrimSpace(s)
		if s == "" {
			return
		}
		for i, p := range parts {
			switch {
			case strings.Contains(strings.ToLower(p), strings.ToLower(s)):
				return
			case strings.Contains(strings.ToLower(s), strings.ToLower(p)): // "Polar H10" after "Polar"
				parts[i] = s
				return
			}
		}
		parts = append(parts, s)
	}
	addPart(d.Manufacturer)
	if len(d.DeviceName) > 0 {
		addPart(d.DeviceName[0].Name)
	}
	addPart(d.ModelNumber)
	return strings.Join(parts, " ")
}

// deviceName returns the make and model of the device an Observation
// names (models.Reading.Device): the Device it references — contained
// ("#id"), or another entry of the Bundle by fullUrl or "Device/<id>" —
// else the reference's display; "" when neither says. The name is one
// line of at most models.MaxReadingDeviceLength characters: control and
// bidirectional-override characters are dropped, spaces collapsed, the
// rest cut.
func deviceName(ref Reference, contained []json.RawMessage, devices map[string]deviceIn) string {
	name := ""
	if id, ok := strings.CutPrefix(ref.Reference, "#"); ok {
		for _, raw := range contained {
			var d deviceIn
			if json.Unmarshal(raw, &d) == nil && d.ResourceType == "Device" && d.ID == id {
				name = d.name()
			}
		}
	} else if d, ok := devices[ref.Reference]; ok && ref.Reference != "" {
		name = d.name()
	}
	if name == "" {
		name = ref.Display
	}
	return cleanDeviceName(name)
}

// cleanDeviceName makes s one safe line of at most
// models.MaxReadingDeviceLength characters.
func cleanDeviceName(s string) string {
	var b strings.Builder
	n := 0
	for _, word := range strings.Fields(s) {
		var w strings.Builder
		for _, r := range word {
			if r == utf8.RuneError || models.TextProblem(string(r), false) != "" {
				continue
			}
			w.WriteRune(r)
		}
		if w.Len() == 0 {
			continue
		}
		if b.Len() > 0 {
			if n >= models.MaxReadingDeviceLength-1 {
				break
			}
			b.WriteByte(' ')
			n++
		}
		for _, r := range w.String() {
			if n == models.MaxReadingDeviceLength {
				return strings.TrimSpace(b.String())
			}
			b.WriteRune(r)
			n++
		}
	}
	return strings.TrimSpace(b.String())
}
