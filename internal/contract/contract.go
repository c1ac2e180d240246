// Package contract checks HTTP exchanges against Concord's OpenAPI
// document (api/openapi.yaml) with kin-openapi's OpenAPI 3.1 validator
// (openapi3filter). The API suite checks every exchange it makes with it,
// and the README walkthrough's test every request its curl commands send.
// Tests only: nothing in the service imports it.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Document is a loaded, valid OpenAPI document and its router.
type Document struct {
	// Doc is the document, for checks of its own (operationIds, tags…).
	Doc    *openapi3.T
	router routers.Router
}

// Load reads, validates (examples included) and routes the document at
// path. Loading takes a while: load once per process.
func Load(path string) (*Document, error) {
	// The account-deletion web page answers text/html (a string schema).
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("%s is not a valid OpenAPI document: %w", path, err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", path, err)
	}
	return &Document{Doc: doc, router: router}, nil
}

// Exchange is one request and its response as they crossed the wire.
type Exchange struct {
	Method, Target string // Target: the path and query as sent
	ReqHeader      http.Header
	ReqBody        []byte
	Status         int
	Header         http.Header
	Body           []byte
}

// String names the exchange ("GET /v1/me → 200").
func (x Exchange) String() string { return fmt.Sprintf("%s %s → %d", x.Method, x.Target, x.Status) }

// Violations lists how the exchange breaks the document:
//
//   - the response: its status must be documented for the operation (no
//     "default" responses), its content type must be one the status
//     documents, and its body must match that schema;
//   - the request: one the document calls invalid (a missing required
//     field, a wrong type, an unknown enum value, a bad query parameter...)
//     must be refused with a 4xx, never served;
//   - a request the document has no operation for must get a problem+json
//     400 (a path that is not UTF-8), 404 (no such path) or 405 (no such
//     method) that matches the Problem schema.
//
// What the document says the server tolerates is not a violation: an
// unencoded "+" in a date-time query parameter, and the items of a body
// the operation answers item by item (x-item-results).
func (d *Document) Violations(x Exchange) []string {
	// Routed as if sent to the document's server.
	u, err := url.Parse("http://localhost:8080" + x.Target)
	if err != nil {
		return []string{"unparsable target: " + err.Error()}
	}
	req := &http.Request{Method: x.Method, URL: u, Header: x.ReqHeader.Clone(), Host: "localhost:8080",
		Body: io.NopCloser(bytes.NewReader(x.ReqBody)), ContentLength: int64(len(x.ReqBody))}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	ctx := context.Background()
	route, params, err := d.router.FindRoute(req)
	if err != nil {
		// No operation: only the router's own refusals are allowed.
		switch {
		case x.Method == http.MethodHead || x.Method == http.MethodOptions:
			return nil // served by Fiber for every GET route; not operations
		case x.Status != http.StatusNotFound && x.Status != http.StatusMethodNotAllowed && x.Status != http.StatusBadRequest:
			return []string{fmt.Sprintf("no documented operation (%v), yet answered %d", err, x.Status)}
		case !isProblem(x.Header):
			return []string{"an unrouted request's answer is not application/problem+json"}
		}
		var body any
		if err := json.Unmarshal(x.Body, &body); err != nil {
			return []string{"an unrouted request's answer is not JSON: " + err.Error()}
		}
		if err := d.Doc.Components.Schemas["Problem"].Value.VisitJSON(body); err != nil {
			return []string{"an unrouted request's answer breaks the Problem schema: " + err.Error()}
		}
		return nil
	}
	var out []string
	leniencies(route, req)
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil && x.Status < 400 && !itemResults(route, err) {
		out = append(out, fmt.Sprintf("the document calls the request invalid, yet it was answered %d: %v", x.Status, err))
	}
	if x.Status == http.StatusNotModified {
		if route.Operation.Responses.Status(http.StatusNotModified) == nil {
			out = append(out, "304 is not documented")
		}
		return out
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.Status, Header: x.Header,
		Body:    io.NopCloser(bytes.NewReader(x.Body)),
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

// Transport is an http.RoundTripper that hands every exchange it carries
// to Check, unchanged, after it is complete.
type Transport struct {
	Base  http.RoundTripper // nil: http.DefaultTransport
	Check func(Exchange)
}

// CloseIdleConnections closes the base transport's idle connections.
func (t Transport) CloseIdleConnections() {
	if ci, ok := t.base().(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

func (t Transport) base() http.RoundTripper {
	if t.Base == nil {
		return http.DefaultTransport
	}
	return t.Base
}

// RoundTrip sends req and checks the exchange.
func (t Transport) RoundTrip(req *http.Request) (*http.Response, error) {
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
	res, err := t.base().RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	t.Check(Exchange{Method: req.Method, Target: req.URL.RequestURI(), ReqHeader: req.Header,
		ReqBody: reqBody, Status: res.StatusCode, Header: res.Header, Body: body})
	return res, nil
}
