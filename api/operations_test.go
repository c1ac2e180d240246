package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRequestID(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.do(t, "GET", "/healthz", "", nil, "X-Request-ID", "client-abc-123")
	if got := r.header.Get("X-Request-ID"); got != "client-abc-123" {
		t.Errorf("echoed id = %q", got)
	}
	r = h.do(t, "GET", "/healthz", "", nil)
	if got := r.header.Get("X-Request-ID"); !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(got) {
		t.Errorf("generated id = %q", got)
	}
	// A malformed id (control characters, too long) is replaced.
	r = h.do(t, "GET", "/healthz", "", nil, "X-Request-ID", strings.Repeat("x", 200))
	if got := r.header.Get("X-Request-ID"); len(got) != 24 {
		t.Errorf("over-long id kept: %q", got)
	}
	// Problems name the request id, and the log lines carry it.
	r = h.do(t, "GET", "/v1/me", "", nil, "X-Request-ID", "trace-me-please")
	if r.json(t)["requestId"] != "trace-me-please" {
		t.Errorf("problem without request id: %s", r.body)
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.do(t, "GET", "/v1/nothing-here", "", nil)
	if r.status != 404 || r.problemCode(t) != "not_found" {
		t.Errorf("unknown route: %d %s", r.status, r.body)
	}
	r = h.do(t, "DELETE", "/healthz", "", nil)
	if r.status != 405 && r.status != 404 {
		t.Errorf("wrong method: %d", r.status)
	}
	_ = r.problemCode(t)
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.do(t, "GET", "/healthz", "", nil)
	h.do(t, "GET", "/v1/me", "", nil)
	r := h.do(t, "GET", "/metrics", "", nil)
	body := string(r.body)
	for _, want := range []string{
		`concord_http_requests_total{method="GET",route="/healthz",status="200"} 1`,
		`concord_http_requests_total{method="GET",route="/v1/me",status="401"} 1`,
		`concord_http_request_duration_seconds_bucket{method="GET",route="/healthz",status="200",le=`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if r := h.do(t, "GET", "/readyz", "", nil); r.status != 200 {
		t.Errorf("readyz: %d %s", r.status, r.body)
	}
}

// TestOpenAPIMatchesRoutes fails when a route is registered but not
// documented, or documented but not registered.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.do(t, "GET", "/openapi.json", "", nil)
	if r.status != 200 {
		t.Fatalf("openapi.json: %d", r.status)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi version %q", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+path)
			var o struct {
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(op, &o); err != nil || len(o.Responses) == 0 {
				t.Errorf("%s %s documents no responses", method, path)
			}
		}
	}
	param := regexp.MustCompile(`:([A-Za-z]+)`)
	seen := map[string]bool{}
	var registered []string
	for _, rt := range h.app.GetRoutes(true) {
		if rt.Method == http.MethodHead || rt.Method == http.MethodOptions || rt.Method == "USE" {
			continue
		}
		path := strings.TrimSuffix(param.ReplaceAllString(rt.Path, "{$1}"), "/")
		if path == "" {
			path = "/"
		}
		k := rt.Method + " " + path
		if !seen[k] {
			seen[k] = true
			registered = append(registered, k)
		}
	}
	sort.Strings(documented)
	sort.Strings(registered)
	if diff := cmp.Diff(documented, registered); diff != "" {
		t.Errorf("OpenAPI paths vs registered routes (-documented +registered):\n%s", diff)
	}
}
