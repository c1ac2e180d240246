package api_test

import (
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/concord-health/concord/internal/contract"
)

// The contract is tested against the traffic: every exchange of the API
// suite (each harness.do, and each request a client from validating(t, …)
// sends over a real TCP connection to harness.serve) is checked against
// api/openapi.yaml by kin-openapi's OpenAPI 3.1 validator (openapi3filter;
// the rules are internal/contract's Violations). A violation fails the
// test that made the exchange. CONCORD_CONTRACT_REPORT names a file to
// which every violation is also appended, one per line, for counting them
// across the suite.

// loadContract loads api/openapi.yaml once per process.
var loadContract = sync.OnceValues(func() (*contract.Document, error) { return contract.Load("openapi.yaml") })

var reportMu sync.Mutex

// checkExchange reports every way x breaks the contract on t.
func checkExchange(t testing.TB, x contract.Exchange) {
	t.Helper()
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range c.Violations(x) {
		v = x.String() + ": " + v
		t.Errorf("contract violation: %s", v)
		if path := os.Getenv("CONCORD_CONTRACT_REPORT"); path != "" {
			reportMu.Lock()
			if f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err == nil {
				fmt.Fprintf(f, "%s\t%s\n", t.Name(), strings.ReplaceAll(v, "\n", " "))
				f.Close()
			}
			reportMu.Unlock()
		}
	}
}

// validating returns a client whose exchanges are checked against the
// contract on t; base is its transport (nil: a fresh http.Transport).
func validating(t testing.TB, base http.RoundTripper) *http.Client {
	if base == nil {
		base = &http.Transport{}
	}
	return &http.Client{Transport: contract.Transport{Base: base, Check: func(x contract.Exchange) { checkExchange(t, x) }}}
}

// TestContractDocumentsEveryOperation checks what the validator cannot see
// from traffic: every operation has a stable operationId, a description,
// tags that are declared, an example for its request body, the problem
// schema on every error status, and the statuses every route can answer.
func TestContractDocumentsEveryOperation(t *testing.T) {
	t.Parallel()
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, tag := range c.Doc.Tags {
		if tag.Description == "" {
			t.Errorf("tag %s has no description", tag.Name)
		}
		declared[tag.Name] = true
	}
	if c.Doc.Info.License == nil || c.Doc.Info.Contact == nil {
		t.Error("info has no licence or contact")
	}
	// 405 belongs to no operation (it answers a method a path does not
	// list); it is documented once, as a reusable response.
	if r := c.Doc.Components.Responses["MethodNotAllowed"]; r == nil || r.Value.Content["application/problem+json"] == nil {
		t.Error("components.responses has no problem+json MethodNotAllowed (405)")
	}
	ids := map[string]string{}
	var paths []string
	for p := range c.Doc.Paths.Map() {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		for method, op := range c.Doc.Paths.Value(p).Operations() {
			name := method + " " + p
			switch {
			case op.OperationID == "":
				t.Errorf("%s has no operationId", name)
			case ids[op.OperationID] != "":
				t.Errorf("%s and %s share operationId %s", name, ids[op.OperationID], op.OperationID)
			}
			ids[op.OperationID] = name
			if strings.TrimSpace(op.Description) == "" {
				t.Errorf("%s has no description", name)
			}
			for _, tag := range op.Tags {
				if !declared[tag] {
					t.Errorf("%s uses the undeclared tag %s", name, tag)
				}
			}
			if rb := op.RequestBody; rb != nil && rb.Value != nil {
				for ct, mt := range rb.Value.Content {
					if mt.Example == nil && len(mt.Examples) == 0 {
						t.Errorf("%s: request body %s has no example", name, ct)
					}
					if mt.Schema != nil && mt.Schema.Ref == "" {
						t.Errorf("%s: request body %s has an anonymous schema", name, ct)
					}
				}
			}
			for code, r := range op.Responses.Map() {
				for ct, mt := range r.Value.Content {
					if mt.Schema != nil && mt.Schema.Ref == "" && ct == "application/json" {
						t.Errorf("%s: response %s has an anonymous schema", name, code)
					}
				}
				// getReadiness's 503 is a Status; an HTML page (the
				// account-deletion page) answers its refusals as HTML.
				if code >= "400" && op.OperationID != "getReadiness" && !htmlPage(op) {
					if _, ok := r.Value.Content["application/problem+json"]; !ok {
						t.Errorf("%s: response %s is not problem+json", name, code)
					}
				}
			}
			// Every operation can fail inside the server, and refuses a
			// path or query that is not UTF-8 (400); every authenticated
			// one answers 401, and one about a patient 403 (the policy).
			codes := []int{http.StatusBadRequest, http.StatusInternalServerError}
			if op.Security == nil || len(*op.Security) > 0 {
				codes = append(codes, http.StatusUnauthorized)
			}
			if strings.HasPrefix(p, "/v1/patients/{patientId}") {
				codes = append(codes, http.StatusForbidden)
			}
			for _, code := range codes {
				if op.Responses.Status(code) == nil {
					t.Errorf("%s does not document %d", name, code)
				}
			}
			if mainOperations[op.OperationID] && !hasSuccessExample(op) {
				t.Errorf("%s is a main operation without an example of its success response", name)
			}
			if op.RequestBody != nil && op.Responses.Status(http.StatusRequestEntityTooLarge) == nil {
				t.Errorf("%s takes a body but does not document 413", name)
			}
		}
	}
}

// mainOperations are the operations of the README walkthrough's core
// (sign-up, readings, medicines, doses): their success responses carry
// examples.
var mainOperations = map[string]bool{
	"registerAccount": true, "loginAccount": true, "refreshTokens": true, "getCurrentUser": true,
	"createReading": true, "listReadings": true, "getReading": true, "getReadingSummary": true,
	"createMedication": true, "getMedication": true, "listDoses": true, "markDoseTaken": true,
}

// hasSuccessExample reports whether one of op's 2xx JSON responses has an
// example.
func hasSuccessExample(op *openapi3.Operation) bool {
	for code, r := range op.Responses.Map() {
		if mt := r.Value.Content.Get("application/json"); strings.HasPrefix(code, "2") && mt != nil &&
			(mt.Example != nil || len(mt.Examples) > 0) {
			return true
		}
	}
	return false
}

// htmlPage reports whether op is a server-rendered page: its 200 is
// text/html.
func htmlPage(op *openapi3.Operation) bool {
	r := op.Responses.Status(http.StatusOK)
	if r == nil || r.Value == nil {
		return false
	}
	_, ok := r.Value.Content["text/html"]
	return ok
}
