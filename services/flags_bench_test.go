package services_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// BenchmarkFlagSweep measures the scheduler's flag sweeps over patients who
// each nominated pharmacy A and take two daily medicines with 28 days of
// doses, on the store the tests use (CONCORD_TEST_STORE):
// the hourly sweep (services.TimeFlagRules) and the daily one (every rule,
// which reads each patient's doses). Reported per patient.
func BenchmarkFlagSweep(b *testing.B) {
	for _, n := range []int{25, 100} {
		for _, sweep := range []struct {
			name  string
			rules []models.FlagRuleID
		}{{"hourly", services.TimeFlagRules}, {"daily", nil}} {
			b.Run(fmt.Sprintf("%s/patients=%d", sweep.name, n), func(b *testing.B) {
				w := newFlagWorld(b)
				ctx := context.Background()
				w.clock.Set(flagStart.Add(-28 * 24 * time.Hour))
				for i := range n {
					p := w.newPatient(b, fmt.Sprintf("p%04d", i), "Pat Example", w.pharmacyA)
					w.medicine(b, p, "A", "2026-02-10", ptr(60.0))
					w.medicine(b, p, "B", "2026-02-10", nil)
				}
				w.clock.Set(flagStart)
				if err := w.flags.EvaluateAll(ctx, w.clock.Now()); err != nil { // plans the doses, raises the flags
					b.Fatal(err)
				}
				b.ResetTimer()
				for range b.N {
					if err := w.flags.EvaluateAll(ctx, w.clock.Now(), sweep.rules...); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N)/float64(n), "ms/patient")
			})
		}
	}
}
