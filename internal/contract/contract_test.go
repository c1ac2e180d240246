package contract_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/concord-health/concord/internal/contract"
)

// The checker's rules on hand-made exchanges: a documented answer passes;
// an undocumented status, a body that breaks its schema, a served request
// the document calls invalid, and an unrouted answer that is not a problem
// each fail.
func TestViolations(t *testing.T) {
	doc, err := contract.Load("../../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	problem := http.Header{"Content-Type": {"application/problem+json"}}
	cases := []struct {
		name string
		x    contract.Exchange
		want string // "" = no violation
	}{
		{"documented", contract.Exchange{Method: "GET", Target: "/healthz", Status: 200, Header: jsonHeader, Body: []byte(`{"status":"ok"}`)}, ""},
		{"undocumented status", contract.Exchange{Method: "GET", Target: "/healthz", Status: 418, Header: problem,
			Body: []byte(`{"type":"x","title":"x","status":418,"code":"internal"}`)}, "status is not supported"},
		{"body breaks the schema", contract.Exchange{Method: "GET", Target: "/healthz", Status: 200, Header: jsonHeader, Body: []byte(`{"status":"fine"}`)}, "doesn't match"},
		{"invalid request served", contract.Exchange{Method: "POST", Target: "/v1/auth/login", ReqHeader: jsonHeader,
			ReqBody: []byte(`{"email":"a@example.org"}`), Status: 200, Header: jsonHeader, Body: []byte(`{}`)}, "calls the request invalid"},
		{"unrouted, not a problem", contract.Exchange{Method: "GET", Target: "/nowhere", Status: 404, Header: jsonHeader, Body: []byte(`{}`)}, "problem+json"},
		{"unrouted problem", contract.Exchange{Method: "DELETE", Target: "/healthz", Status: 405, Header: problem,
			Body: []byte(`{"type":"urn:concord:problem:method_not_allowed","title":"Method Not Allowed","status":405,"code":"method_not_allowed"}`)}, ""},
	}
	for _, c := range cases {
		got := strings.Join(doc.Violations(c.x), "\n")
		switch {
		case c.want == "" && got != "":
			t.Errorf("%s: violations %s, want none", c.name, got)
		case c.want != "" && !strings.Contains(got, c.want):
			t.Errorf("%s: violations %q, want one saying %q", c.name, got, c.want)
		}
	}
}
