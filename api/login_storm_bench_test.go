package api_test

import (
	"fmt"
	"net/http"

	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/concord-health/concord/api"
)

// BenchmarkMeDuringLoginStorm times GET /v1/me, one request at a time,
// first alone and then while 32 clients log in as fast as they can with the
// right password (each login an argon2id check of 19 MiB), through the
// app with the production hashing bound (services.PasswordHashing's
// default: one check per core at a time; a login that cannot start one
// within 2 s gets 503). Run with -benchtime=1x.
func BenchmarkMeDuringLoginStorm(b *testing.B) {
	// Rate limits out of the way: the storm is of logins that all reach
	// the password check.
	h := newHarness(b, func(c *api.Config) {
		c.AuthPerAddress = api.Limit{Burst: 1 << 30, Per: time.Second}
		c.AuthPerAccount = api.Limit{Burst: 1 << 30, Per: time.Second}
	})
	me := h.register(b, "storm@example.org", "patient")
	const samples, stormers = 300, 32
	for i := range stormers {
		h.register(b, fmt.Sprintf("stormer%02d@example.org", i), "patient")
	}
	measure := func() (p50, p99 time.Duration) {
		d := make([]time.Duration, samples)
		for i := range d {
			start := time.Now()
			if r := h.do(b, "GET", "/v1/me", me.Access, nil); r.status != http.StatusOK {
				b.Fatalf("GET /v1/me: %d %s", r.status, r.body)
			}
			d[i] = time.Since(start)
		}
		slices.Sort(d)
		return d[samples/2], d[samples*99/100]
	}
	for b.Loop() {
		aloneP50, aloneP99 := measure()

		var logins, refused, other atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i := range stormers {
			email := fmt.Sprintf("stormer%02d@example.org", i)
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					r := h.do(b, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": "correct horse battery"})
					switch r.status {
					case http.StatusOK:
						logins.Add(1)
					case http.StatusServiceUnavailable:
						refused.Add(1)
					default:
						other.Add(1)
					}
				}
			})
		}
		time.Sleep(500 * time.Millisecond) // the storm is under way
		start := time.Now()
		stormP50, stormP99 := measure()
		took := time.Since(start)
		close(stop)
		wg.Wait()
		if other.Load() > 0 {
			b.Fatalf("%d logins answered neither 200 nor 503", other.Load())
		}
		b.ReportMetric(float64(aloneP50.Microseconds())/1000, "me-alone-p50-ms")
		b.ReportMetric(float64(aloneP99.Microseconds())/1000, "me-alone-p99-ms")
		b.ReportMetric(float64(stormP50.Microseconds())/1000, "me-storm-p50-ms")
		b.ReportMetric(float64(stormP99.Microseconds())/1000, "me-storm-p99-ms")
		b.ReportMetric(float64(logins.Load())/(took.Seconds()+0.5), "logins/s")
		b.ReportMetric(float64(refused.Load()), "logins-503")
	}
}
