package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// The contract is tested against the traffic: every exchange of the API
// suite (each harness.do, and each request over a real TCP connection to
// harness.serve or harness.doHTTP) is checked against api/openapi.yaml by
// kin-openapi's OpenAPI 3.1 validator (openapi3filter):
//
//   - the response: its status must be documented for the operation (no
//     "default" responses), its content type must be one the status
//     documents, and its body must match that schema;
//   - the request: one the document calls invalid (a missing required
//     field, a wrong type, an unknown enum value, an undocumented query
//     parameter's value...) must be refused with a 4xx, never served;
//   - a request the document has no operation for must get a problem+json
//     404 (no such path) or 405 (no such method).
//
// A violation fails the test that made the exchange. CONCORD_CONTRACT_REPORT
// names a file to which every violation is also appended, one per line,
// for counting them across the suite.

// contract is the loaded document and its router.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

var loadContract = sync.OnceValues(func() (*contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("openapi.yaml")
	if err != nil {
		return nil, fmt.Errorf("load api/openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("api/openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route api/openapi.yaml: %w", err)
	}
	return &contract{doc: doc, router: router}, nil
})

// exchange is one request and its response as they crossed the wire.
type exchange struct {
	method, target string // target: the path and query as sent
	reqHeader      http.Header
	reqBody        []byte
	status         int
	header         http.Header
	body           []byte
}

var reportMu sync.Mutex

// checkExchange reports every way x breaks the contract on t.
func checkExchange(t testing.TB, x exchange) {
	t.Helper()
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range c.violations(x) {
		v = fmt.Sprintf("%s %s → %d: %s", x.method, x.target, x.status, v)
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

// violations lists how the exchange breaks the document.
func (c *contract) violations(x exchange) []string {
	// Routed as if sent to the document's server.
	u, err := url.Parse("http://localhost:8080" + x.target)
	if err != nil {
		return []string{"unparsable target: " + err.Error()}
	}
	req := &http.Request{Method: x.method, URL: u, Header: x.reqHeader.Clone(), Host: "localhost:8080",
		Body: io.NopCloser(bytes.NewReader(x.reqBody)), ContentLength: int64(len(x.reqBody))}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	ctx := context.Background()
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		// No operation: only the router's own refusals are allowed.
		switch {
		case x.method == http.MethodHead || x.method == http.MethodOptions:
			return nil // served by Fiber for every GET route; not operations
		case x.status != http.StatusNotFound && x.status != http.StatusMethodNotAllowed && x.status != http.StatusBadRequest:
			return []string{fmt.Sprintf("no documented operation (%v), yet answered %d", err, x.status)}
		case !isProblem(x.header):
			return []string{"an unrouted request's answer is not application/problem+json"}
		}
		var body any
		if err := json.Unmarshal(x.body, &body); err != nil {
			return []string{"an unrouted request's answer is not JSON: " + err.Error()}
		}
		if err := c.doc.Components.Schemas["Problem"].Value.VisitJSON(body); err != nil {
			return []string{"an unrouted request's answer breaks the Problem schema: " + err.Error()}
		}
		return nil
	}
	var out []string
	leniencies(route, req)
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil && x.status < 400 && !itemResults(route, err) {
		out = append(out, fmt.Sprintf("the document calls the request invalid, yet it was answered %d: %v", x.status, err))
	}
	if x.status == http.StatusNotModified {
		if route.Operation.Responses.Status(http.StatusNotModified) == nil {
			out = append(out, "304 is not documented")
		}
		return out
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.status, Header: x.header,
		Body:    io.NopCloser(bytes.NewReader(x.body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	if err := openapi3filter.ValidateResponse(ctx, rin); err != nil {
		out = append(out, "response: "+err.Error())
	}
	return out
}

// leniencies undoes, in req, what the document says the server tolerates
// in requests: an unencoded "+" in a date-time query parameter's offset
// arrives as a space and is read as "+".
func leniencies(route *routers.Route, req *http.Request) {
	q := req.URL.Query()
	changed := false
	params := append(openapi3.Parameters{}, route.PathItem.Parameters...)
	params = append(params, route.Operation.Parameters...)
	for _, p := range params {
		if p.Value == nil || p.Value.In != "query" || p.Value.Schema == nil || p.Value.Schema.Value == nil ||
			p.Value.Schema.Value.Format != "date-time" {
			continue
		}
		if v := q.Get(p.Value.Name); strings.Contains(v, " ") {
			q.Set(p.Value.Name, strings.Replace(v, " ", "+", 1))
			changed = true
		}
	}
	if changed {
		req.URL.RawQuery = q.Encode()
	}
}

// itemResults reports whether err only concerns a request body that the
// operation answers item by item (x-item-results: each item that breaks
// its schema gets its own "invalid" result in a 200, as documented).
func itemResults(route *routers.Route, err error) bool {
	if _, ok := route.Operation.Extensions["x-item-results"]; !ok {
		return false
	}
	var re *openapi3filter.RequestError
	return errors.As(err, &re) && re.RequestBody != nil && re.Parameter == nil
}

func isProblem(h http.Header) bool {
	return strings.HasPrefix(h.Get("Content-Type"), "application/problem+json")
}

// contractTransport checks every exchange a real HTTP client makes (to
// harness.serve's listener) against the contract on t: the same check as
// harness.do, seen from the client's side of the connection.
type contractTransport struct {
	t    testing.TB
	base http.RoundTripper
}

// validating returns a client whose exchanges are checked against the
// contract on t; base is its transport (nil: a fresh http.Transport).
func validating(t testing.TB, base http.RoundTripper) *http.Client {
	if base == nil {
		base = &http.Transport{}
	}
	return &http.Client{Transport: contractTransport{t: t, base: base}}
}

// CloseIdleConnections closes the base transport's idle connections.
func (c contractTransport) CloseIdleConnections() {
	if ci, ok := c.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

func (c contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	res, err := c.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	checkExchange(c.t, exchange{method: req.Method, target: req.URL.RequestURI(), reqHeader: req.Header,
		reqBody: reqBody, status: res.StatusCode, header: res.Header, body: body})
	return res, nil
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
	for _, tag := range c.doc.Tags {
		if tag.Description == "" {
			t.Errorf("tag %s has no description", tag.Name)
		}
		declared[tag.Name] = true
	}
	if c.doc.Info.License == nil || c.doc.Info.Contact == nil {
		t.Error("info has no licence or contact")
	}
	// 405 belongs to no operation (it answers a method a path does not
	// list); it is documented once, as a reusable response.
	if r := c.doc.Components.Responses["MethodNotAllowed"]; r == nil || r.Value.Content["application/problem+json"] == nil {
		t.Error("components.responses has no problem+json MethodNotAllowed (405)")
	}
	ids := map[string]string{}
	var paths []string
	for p := range c.doc.Paths.Map() {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		for method, op := range c.doc.Paths.Value(p).Operations() {
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
				if code >= "400" && op.OperationID != "getReadiness" { // its 503 is a Status
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
