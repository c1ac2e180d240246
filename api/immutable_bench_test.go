package api_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/concord-health/concord/api"
)

// BenchmarkImmutable measures what fiber.Config.Immutable costs: the same
// request through the app's handler (no network, so that the difference
// is not drowned) with Immutable on (production: strings copied) and off
// (zero-copy). The two apps take turns within each iteration, so that
// load from elsewhere on the machine weighs on both alike; it reports each
// one's median ns per request and their ratio (copied/zero-copy).
func BenchmarkImmutable(b *testing.B) {
	type target struct {
		handler fasthttp.RequestHandler
		ctx     *fasthttp.RequestCtx
		took    []time.Duration
	}
	copied, zeroCopy := newHarness(b), newHarness(b, api.WithZeroCopy)
	tokens := []string{copied.register(b, "bench@example.org", "patient").Access, zeroCopy.register(b, "bench@example.org", "patient").Access}
	for _, route := range []struct {
		name, path string
		auth       bool
	}{
		{"GET /v1/me", "/v1/me", true},
		{"GET /v1/patients/me/readings", "/v1/patients/me/readings?type=weight&limit=20", true},
		{"GET /healthz", "/healthz", false},
	} {
		b.Run("route="+route.name, func(b *testing.B) {
			targets := make([]*target, 2)
			for i, h := range []*harness{copied, zeroCopy} {
				ctx := &fasthttp.RequestCtx{}
				ctx.Request.Header.SetMethod("GET")
				ctx.Request.SetRequestURI(route.path)
				if route.auth {
					ctx.Request.Header.Set("Authorization", "Bearer "+tokens[i])
				}
				targets[i] = &target{handler: h.app.Handler(), ctx: ctx}
			}
			serve := func(t *target) {
				t.ctx.Response.Reset()
				t.ctx.ResetUserValues() // as fasthttp does between requests
				start := time.Now()
				t.handler(t.ctx)
				t.took = append(t.took, time.Since(start))
				if t.ctx.Response.StatusCode() != http.StatusOK {
					b.Fatalf("%s: %d %s", route.path, t.ctx.Response.StatusCode(), t.ctx.Response.Body())
				}
			}
			n := 0
			for b.Loop() {
				first, second := targets[n%2], targets[1-n%2] // alternate who goes first
				serve(first)
				serve(second)
				n++
			}
			c, z := median(targets[0].took), median(targets[1].took)
			b.ReportMetric(c, "copied-p50-ns")
			b.ReportMetric(z, "zero-copy-p50-ns")
			b.ReportMetric(c/z, "ratio")
		})
	}
}

func median(d []time.Duration) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[len(s)/2].Nanoseconds())
}
