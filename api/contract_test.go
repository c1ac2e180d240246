package api_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
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
		case x.status != http.StatusNotFound && x.status != http.StatusMethodNotAllowed:
			return []string{fmt.Sprintf("no documented operation (%v), yet answered %d", err, x.status)}
		case !isProblem(x.header):
			return []string{"an unrouted request's answer is not application/problem+json"}
		}
		return nil
	}
	var out []string
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil && x.status < 400 {
		out = append(out, fmt.Sprintf("the document calls the request invalid, yet it was answered %d: %v", x.status, err))
	}
	if x.status == http.StatusNotModified {
		if route.Operation.Responses.Status(http.StatusNotModified) == nil {
			out = append(out, "304 is not documented")
		}
		return out
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.status, Header: x.header,
		Body: io.NopCloser(bytes.NewReader(x.body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	if err := openapi3filter.ValidateResponse(ctx, rin); err != nil {
		out = append(out, "response: "+err.Error())
	}
	return out
}

func isProblem(h http.Header) bool {
	return strings.HasPrefix(h.Get("Content-Type"), "application/problem+json")
}

// validatingListener wraps ln so that every HTTP/1.1 exchange over its
// connections is checked against the contract on t, without changing
// what either side sees (peer addresses included). wait blocks until
// every connection's exchanges are checked; call it after the server has
// closed its connections.
type validatingListener struct {
	net.Listener
	t  testing.TB
	wg sync.WaitGroup
}

func (l *validatingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	vc := &teeConn{Conn: conn, in: inW, out: outW}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.follow(inR, outR)
	}()
	return vc, nil
}

// follow reads the requests and responses of one connection from its two
// copies and checks each pair.
func (l *validatingListener) follow(in, out *io.PipeReader) {
	defer in.Close()
	defer out.Close()
	reqs, resps := bufio.NewReader(in), bufio.NewReader(out)
	for {
		req, err := http.ReadRequest(reqs)
		if err != nil {
			_, _ = io.Copy(io.Discard, out)
			return
		}
		reqBody, _ := io.ReadAll(req.Body)
		res, err := http.ReadResponse(resps, req)
		if err != nil {
			_, _ = io.Copy(io.Discard, in)
			return
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		checkExchange(l.t, exchange{method: req.Method, target: req.RequestURI, reqHeader: req.Header, reqBody: reqBody,
			status: res.StatusCode, header: res.Header, body: body})
	}
}

// teeConn copies what is read from and written to a connection to two
// pipes; a copy that is no longer read from is dropped.
type teeConn struct {
	net.Conn
	in, out   *io.PipeWriter
	closeOnce sync.Once
}

func (c *teeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		_, _ = c.in.Write(p[:n])
	}
	return n, err
}

func (c *teeConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		_, _ = c.out.Write(p[:n])
	}
	return n, err
}

func (c *teeConn) Close() error {
	c.closeOnce.Do(func() {
		c.in.Close()
		c.out.Close()
	})
	return c.Conn.Close()
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
				if code >= "400" {
					if _, ok := r.Value.Content["application/problem+json"]; !ok {
						t.Errorf("%s: response %s is not problem+json", name, code)
					}
				}
			}
			// Every operation can fail inside the server, and every
			// authenticated one with 401.
			for _, code := range []int{http.StatusInternalServerError, http.StatusMethodNotAllowed} {
				if op.Responses.Status(code) == nil && p != "/metrics" {
					t.Errorf("%s does not document %d", name, code)
				}
			}
			if op.RequestBody != nil && op.Responses.Status(http.StatusRequestEntityTooLarge) == nil {
				t.Errorf("%s takes a body but does not document 413", name)
			}
		}
	}
}
