package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// The elements FHIR R4 defines on the resources and parts an import reads
// (https://hl7.org/fhir/R4/bundle.html, observation.html, device.html).
// An element not listed is a mistake (a misspelling, another FHIR version)
// and rejects its resource; listed ones the import does not use are
// ignored, as FHIR allows for elements that are not modifiers. A
// primitive's extension ("_status") is allowed beside its element.
var (
	bundleElements = elementSet("resourceType id meta implicitRules language identifier type timestamp total link entry signature")
	entryElements  = elementSet("id extension modifierExtension link fullUrl resource search request response")
	// Observation, with every value[x] and effective[x] form.
	observationElements = elementSet(`resourceType id meta implicitRules language text contained extension
		modifierExtension identifier basedOn partOf status category code subject focus encounter
		effectiveDateTime effectivePeriod effectiveTiming effectiveInstant issued performer
		valueQuantity valueCodeableConcept valueString valueBoolean valueInteger valueRange valueRatio
		valueSampledData valueTime valueDateTime valuePeriod dataAbsentReason interpretation note
		bodySite method specimen device referenceRange hasMember derivedFrom component`)
	componentElements = elementSet(`id extension modifierExtension code valueQuantity valueCodeableConcept
		valueString valueBoolean valueInteger valueRange valueRatio valueSampledData valueTime
		valueDateTime valuePeriod dataAbsentReason interpretation referenceRange`)
	quantityElements = elementSet("id extension value comparator unit system code")
)

// Modifier elements change the meaning of the resource they are on; the
// import cannot honour them, so a resource carrying one is rejected
// (FHIR R4 "Extensibility": modifierExtension must not be ignored).
var modifierElements = []string{"modifierExtension", "implicitRules"}

func elementSet(names string) map[string]bool {
	set := map[string]bool{}
	for _, n := range strings.Fields(names) {
		set[n] = true
	}
	return set
}

// objectKeys returns the keys of the JSON object raw, in order, and an
// error when raw is not an object or holds a key twice (encoding/json
// would keep the last).
func objectKeys(raw json.RawMessage) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("is not valid JSON")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("must be a JSON object")
	}
	var keys []string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("is not valid JSON")
		}
		k, _ := tok.(string)
		if seen[k] {
			return nil, fmt.Errorf("holds the element %q twice", k)
		}
		seen[k] = true
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, fmt.Errorf("is not valid JSON")
		}
	}
	return keys, nil
}

// checkElements reports, under path, every key of raw that is not in
// allowed (or the extension of one) and every modifier element, through
// add; it returns false when raw is not a JSON object without repeated
// keys (also reported).
func checkElements(raw json.RawMessage, allowed map[string]bool, path string, add func(field, problem string)) bool {
	keys, err := objectKeys(raw)
	if err != nil {
		add(strings.TrimSuffix(path, "."), err.Error())
		return false
	}
	for _, k := range keys {
		base := strings.TrimPrefix(k, "_")
		switch {
		case !allowed[base]:
			add(path+k, "is not an element of this resource in FHIR R4")
		case k == base && isModifier(k):
			add(path+k, "changes the meaning of the resource in a way this import cannot honour")
		}
	}
	return true
}

func isModifier(k string) bool {
	for _, m := range modifierElements {
		if m == k {
			return true
		}
	}
	return false
}
