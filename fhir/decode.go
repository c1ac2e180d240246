package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/concord-health/concord/models"
)

// Entry is one resource of an import, as DecodeReadings read it: a
// reading, a resource passed over (Skipped), or an Observation that cannot
// be a reading (Problems).
type Entry struct {
	// Index is the entry's position in Bundle.entry (0 for a lone
	// Observation); Path is the JSON path of its resource ("entry[3].resource",
	// "" for a lone Observation), which every problem's field begins with.
	Index        int
	Path         string
	FullURL      string
	ResourceType string
	// Reading is the reading the Observation holds, not yet validated.
	Reading *ImportedReading
	// Skipped says why a resource other than an Observation was passed
	// over.
	Skipped string
	// Problems say why the Observation cannot be imported, each naming
	// its element.
	Problems []models.FieldProblem
}

// ImportedReading is a reading read from an Observation.
type ImportedReading struct {
	// Reading holds the client fields (type, takenAt, unit, values,
	// context, note), unvalidated.
	Reading models.Reading
	// Source is models.ReadingSourceDevice when the Observation names a
	// device (Device is its make and model, when given), else
	// models.ReadingSourceImport.
	Source string
	Device string
	// Key identifies the observation at its origin: its identifier
	// ("id:" system "|" value) or, without one, what it measured ("obs:"
	// type, instant, unit and values). The same observation sent again
	// has the same key.
	Key string
	// OwnID is the reading id Concord's own export identified the
	// Observation by (SystemUUID), "" otherwise.
	OwnID string
	// fields maps a reading's JSON field to the element it came from.
	fields map[string]string
	path   string
}

// Field returns the JSON path, from the import's root, of the element a
// reading field (as models problems name them: value, systolic, unit,
// takenAt, …) was read from.
func (r ImportedReading) Field(field string) string {
	el, ok := r.fields[field]
	if !ok {
		el = field
	}
	return joinPath(r.path, el)
}

// The Bundle types an import accepts, and the statuses of an Observation
// it imports [R4 bundle-type, observation-status].
var (
	importBundleTypes = []string{"collection", "transaction", "batch"}
	importStatuses    = []string{"final", "amended", "corrected", "preliminary"}
)

// bundleIn is the part of a Bundle an import reads.
type bundleIn struct {
	Type  string            `json:"type"`
	Entry []json.RawMessage `json:"entry"`
}

// entryIn is the part of a Bundle entry an import reads.
type entryIn struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Request  *struct {
		Method string `json:"method"`
	} `json:"request"`
}

// resourceHead is what every resource says first.
type resourceHead struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
}

// DecodeReadings reads a FHIR R4 Bundle (type collection, transaction or
// batch) or a single Observation of vital signs into entries, in order.
// Only Observations become readings; a Device is read for the
// Observations that name it, and every other resource is skipped. It
// returns a CodeInvalid *Error naming the element when body is not such a
// Bundle or Observation, and a CodeTooLarge one when it holds more than
// maxReadings Observations. Problems of one Observation are its entry's.
func DecodeReadings(body []byte, maxReadings int) ([]Entry, error) {
	var p models.Problems
	add := func(field, problem string) { p.Add(field, "%s", problem) }
	if _, err := objectKeys(body); err != nil {
		return nil, invalidBody("(body)", err.Error())
	}
	var head resourceHead
	if err := json.Unmarshal(body, &head); err != nil {
		return nil, invalidBody("resourceType", "must be a string")
	}
	switch head.ResourceType {
	case "Observation":
		if countObservations(1, maxReadings) != nil {
			return nil, tooMany(maxReadings)
		}
		return []Entry{decodeObservation(body, 0, "", "", nil)}, nil
	case "Bundle":
	default:
		return nil, invalidBody("resourceType", "must be Bundle or Observation")
	}
	checkElements(body, bundleElements, "", add)
	var b bundleIn
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, invalidBody(typeErrorField(err, ""), "has the wrong JSON type")
	}
	if !slices.Contains(importBundleTypes, b.Type) {
		add("type", "must be one of "+strings.Join(importBundleTypes, ", "))
	}
	if err := p.Err(); err != nil {
		return nil, err
	}

	entries := make([]Entry, len(b.Entry))
	raws := make([]json.RawMessage, len(b.Entry))
	devices := map[string]deviceIn{} // by fullUrl and by "Device/<id>"
	observations := 0
	for i, raw := range b.Entry {
		path := "entry[" + strconv.Itoa(i) + "]"
		e := Entry{Index: i, Path: path + ".resource"}
		var ep models.Problems
		addE := func(field, problem string) { ep.Add(field, "%s", problem) }
		var in entryIn
		if checkElements(raw, entryElements, path+".", addE) {
			if err := json.Unmarshal(raw, &in); err != nil {
				addE(typeErrorField(err, path), "has the wrong JSON type")
			}
		}
		e.FullURL = in.FullURL
		if in.Request != nil && in.Request.Method != "POST" && in.Request.Method != "PUT" {
			addE(path+".request.method", "must be POST or PUT: an import only adds readings")
		}
		var rh resourceHead
		switch {
		case len(in.Resource) == 0 && len(ep) == 0:
			addE(path+".resource", "is required")
		case len(in.Resource) > 0 && json.Unmarshal(in.Resource, &rh) != nil:
			addE(path+".resource.resourceType", "must be a string")
		}
		e.ResourceType = rh.ResourceType
		switch {
		case len(ep) > 0:
			e.Problems = ep
		case rh.ResourceType == "Observation":
			observations++
			raws[i] = in.Resource
		case rh.ResourceType == "Device":
			var d deviceIn
			if json.Unmarshal(in.Resource, &d) == nil {
				if in.FullURL != "" {
					devices[in.FullURL] = d
				}
				if d.ID != "" {
					devices["Device/"+d.ID] = d
				}
			}
			e.Skipped = "a Device is read for the Observations that name it"
		default:
			e.Skipped = "only Observations are imported"
		}
		entries[i] = e
	}
	if err := countObservations(observations, maxReadings); err != nil {
		return nil, err
	}
	for i, raw := range raws {
		if raw != nil {
			entries[i] = decodeObservation(raw, i, entries[i].Path, entries[i].FullURL, devices)
		}
	}
	return entries, nil
}

func countObservations(n, max int) error {
	if n > max {
		return tooMany(max)
	}
	return nil
}

func tooMany(max int) error {
	return &models.Error{Code: models.CodeTooLarge, Message: fmt.Sprintf("an import holds at most %d Observations; send them in several imports", max),
		Fields: []models.FieldProblem{{Field: "entry", Problem: fmt.Sprintf("must hold at most %d Observations", max)}}}
}

func invalidBody(field, problem string) error {
	return &models.Error{Code: models.CodeInvalid, Message: "the body must be a FHIR R4 Bundle or Observation in JSON",
		Fields: []models.FieldProblem{{Field: field, Problem: problem}}}
}

// typeErrorField names the element a JSON type error is about, under path.
func typeErrorField(err error, path string) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return joinPath(path, te.Field)
	}
	return joinPath(path, "(resource)")
}

func joinPath(path, el string) string {
	if path == "" {
		return el
	}
	return path + "." + el
}
