package api_test

import (
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Mixed traffic over real connections (fasthttp reuses each connection's
// request buffers) leaves only real methods and routes in the metrics'
// labels, and /metrics keeps answering: a label value that aliased a
// request buffer would change under the registry ("GET" turning into
// "DEL"), and two label sets that come to collide make the scrape fail.
func TestMetricsLabelsSurviveBufferReuse(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	base := h.serve(t)

	type call struct{ method, path, body string }
	calls := []call{
		{"GET", "/healthz", ""},
		{"DELETE", "/v1/me/devices/some-device-id", ""},
		{"POST", "/v1/auth/login", `{"email":"nobody@example.org","password":"wrong password"}`},
		{"PATCH", "/v1/me", `{"name":"x"}`},
		{"PUT", "/v1/patients/me/pharmacy", `{"pharmacyId":"p","consent":true}`},
		{"GET", "/v1/patients/me/readings?type=weight&limit=5", ""},
		{"HEAD", "/healthz", ""},
		{"OPTIONS", "/v1/me", ""},
		{"GET", "/v1/no-such-route/with/a/long/path", ""},
		{"DELETE", "/healthz", ""},
		{"POST", "/v1/patients/me/readings/batch", `{"readings":[]}`},
		{"GET", "/.well-known/jwks.json", ""},
	}
	const workers, rounds = 8, 40
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			// One keep-alive connection per worker, so consecutive
			// requests of different methods share its buffers.
			client := validating(t, &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1})
			defer client.CloseIdleConnections()
			for i := range rounds {
				c := calls[(w+i*5)%len(calls)]
				req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
				if err != nil {
					t.Error(err)
					return
				}
				if c.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				res, err := client.Do(req)
				if err != nil {
					t.Errorf("%s %s: %v", c.method, c.path, err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	}
	wg.Wait()

	methods := map[string]bool{}
	for _, c := range calls {
		methods[c.method] = true
	}
	routes := map[string]bool{"(unmatched)": true, "/": true}
	for _, rt := range h.app.GetRoutes() { // with groups' middleware ("/v1/patients/:patientId")
		routes[rt.Path] = true
	}
	families, err := h.registry.Gather()
	if err != nil {
		t.Errorf("gathering metrics: %v", err)
	}
	var seen, bad []string
	for _, f := range families {
		if f.GetName() != "concord_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			set := labels["method"] + " " + labels["route"]
			seen = append(seen, set)
			if !methods[labels["method"]] || !routes[labels["route"]] {
				bad = append(bad, set)
			}
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Errorf("label sets that are not a real method and route: %q", bad)
	}
	if len(seen) < 5 {
		t.Errorf("only %d label sets recorded: %q", len(seen), seen)
	}

	client := validating(t, nil)
	defer client.CloseIdleConnections()
	res, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics after mixed traffic: %d %.600s", res.StatusCode, body)
	}
	if !strings.Contains(string(body), `concord_http_requests_total{method="DELETE"`) {
		t.Errorf("/metrics lacks the DELETE requests:\n%s", body)
	}
}
