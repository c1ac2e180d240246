package fhircheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
)

var (
	unmarshallerOnce sync.Once
	unmarshaller     *jsonformat.Unmarshaller
	unmarshallerErr  error
)

// validator returns google/fhir's R4 unmarshaller with validation on.
func validator(t testing.TB) *jsonformat.Unmarshaller {
	t.Helper()
	unmarshallerOnce.Do(func() {
		unmarshaller, unmarshallerErr = jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
	})
	if unmarshallerErr != nil {
		t.Fatalf("google/fhir unmarshaller: %v", unmarshallerErr)
	}
	return unmarshaller
}

// problems parses one resource (a Bundle included) with google/fhir and
// returns what it finds wrong: the parse error (unknown or misspelt
// elements, bad codes of required bindings, bad primitives) or the
// validation issues of its OperationOutcome (missing required elements,
// reference types, ...). None means the resource is valid R4.
func problems(t testing.TB, resource []byte) []string {
	t.Helper()
	_, outcome, err := validator(t).UnmarshalWithOutcome(resource)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	if outcome != nil && outcome.R4Outcome != nil {
		for _, is := range outcome.R4Outcome.GetIssue() {
			var where []string
			for _, e := range is.GetExpression() {
				where = append(where, e.GetValue())
			}
			out = append(out, fmt.Sprintf("%s %s at %s: %s", is.GetSeverity().GetValue(), is.GetCode().GetValue(),
				strings.Join(where, ","), is.GetDiagnostics().GetValue()))
		}
	}
	return out
}

// mustValidate fails the test with everything google/fhir finds wrong
// with the resource.
func mustValidate(t testing.TB, what string, resource []byte) {
	t.Helper()
	if ps := problems(t, resource); len(ps) > 0 {
		t.Errorf("%s is not valid FHIR R4:\n  %s\n%s", what, strings.Join(ps, "\n  "), indent(resource))
	}
}

// mustReject fails the test unless google/fhir finds the resource wrong,
// and returns what it found.
func mustReject(t testing.TB, what string, resource []byte) []string {
	t.Helper()
	ps := problems(t, resource)
	if len(ps) == 0 {
		t.Errorf("%s: google/fhir accepted a broken resource:\n%s", what, indent(resource))
	}
	return ps
}

func indent(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "  ", "  ") != nil {
		return string(b)
	}
	return "  " + out.String()
}

// bundle is a Bundle as the tests read it: each entry's resource kept raw
// for the validator, with its type and id.
type bundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Entry        []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

// resource is what every resource has, and what the tests look at.
type resource map[string]any

func readBundle(t testing.TB, b []byte) (bundle, []resource) {
	t.Helper()
	var bn bundle
	if err := json.Unmarshal(b, &bn); err != nil {
		t.Fatalf("the Bundle is not JSON: %v\n%s", err, b)
	}
	var rs []resource
	for _, e := range bn.Entry {
		var r resource
		if err := json.Unmarshal(e.Resource, &r); err != nil {
			t.Fatalf("entry %s: %v", e.FullURL, err)
		}
		if want := "urn:uuid:" + fmt.Sprint(r["id"]); e.FullURL != want {
			t.Errorf("entry fullUrl %q, want %q", e.FullURL, want)
		}
		rs = append(rs, r)
	}
	return bn, rs
}
