package services_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/concord-health/concord/internal/graphtest"
	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store/storetest"
)

// BenchmarkSchedulerTick measures one scheduler tick (materialise, remind,
// follow_up, missed, refill and deliver) with nothing due, over 10,000
// active schedules on the store the tests use (CONCORD_TEST_STORE): 2,000 patients with 5 medicines each (3 once a day, 2 twice; a
// week of doses planned: 98,000 dose documents), ticked every 15 s of clock
// time in the afternoon, when no dose is due. Timed (ms/tick): the ticks
// between two reads of the schedules (every RefreshInterval). Reported
// besides: the first tick after a start (reads the schedules, sweeps for
// overdue doses, reads 1,000 plan records), the next nine (the other plan
// records), a tick that reads the schedules again, the two reads alone,
// and the seeding time. Run with -benchtime=3x.
func BenchmarkSchedulerTick(b *testing.B) {
	const patients, perPatient = 2000, 5
	ctx := context.Background()
	seedStart := time.Now()
	st := storetest.New(b)
	log := quietLog()
	created := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	clk := graphtest.NewClock(created)
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		b.Fatal(err)
	}
	var doses []models.Dose
	for i := range patients {
		u := models.User{ID: fmt.Sprintf("patient-%04d", i), Email: fmt.Sprintf("p%04d@example.org", i), Name: "Pat", Role: models.RolePatient,
			Timezone: "Europe/London", CreatedAt: created, UpdatedAt: created}
		if err := st.Users().Create(ctx, u); err != nil {
			b.Fatal(err)
		}
		for j := range perPatient {
			times := []string{"08:00"}
			if j >= 3 {
				times = []string{"08:00", "20:00"}
			}
			m := models.Medication{ID: fmt.Sprintf("%s-med-%d", u.ID, j), PatientID: u.ID, Name: "Medicine", Status: models.MedicationActive,
				Schedule: models.Schedule{Times: times, StartDate: "2026-11-01"},
				Stock:    &models.Stock{Quantity: 56, UnitsPerDose: 1, RefillLeadDays: 7}, CreatedAt: created, UpdatedAt: created}
			if err := st.Medications().Create(ctx, m); err != nil {
				b.Fatal(err)
			}
			through := created.Add(services.DoseHorizon)
			doses = append(doses, models.PlanDoses(m, london, created, through)...)
			if _, err := st.Doses().SwapDosePlan(ctx, m.ID, u.ID, "", services.PlanFingerprint(m, london), through); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i := range doses {
		doses[i].CreatedAt, doses[i].UpdatedAt = created, created
	}
	for i := 0; i < len(doses); i += 1000 {
		if _, err := st.Doses().InsertMissing(ctx, doses[i:min(i+1000, len(doses))]); err != nil {
			b.Fatal(err)
		}
	}
	seed := time.Since(seedStart)

	// The graph run() builds, push disabled; the scheduler runs its
	// reminder steps and delivery only, the work this measures.
	g := graphtest.New(b, st, clk, log, nil, graphtest.Options{Instance: "bench",
		Delivery: func(cfg *services.DeliveryConfig) { *cfg = testDeliveryConfig(cfg.Instance) }})
	r := g.Reminders
	s := services.NewScheduler(15*time.Second, "bench", services.NewSchedulerMetrics(nil), clk.Now, log,
		r.MaterializeStep(), r.ReminderStep(), r.FollowUpStep(), r.MissedStep(), r.RefillStep(), g.Delivery.Step())

	tick := func() time.Duration {
		b.Helper()
		clk.Advance(15 * time.Second)
		start := time.Now()
		if err := s.Tick(ctx); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	clk.Set(time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC))
	first := tick() // reads the schedules, sweeps, reads 1,000 plans
	var learning time.Duration
	for range patients*perPatient/services.DefaultMaxPlanReadsPerTick - 1 {
		learning += tick()
	}
	learning /= time.Duration(patients*perPatient/services.DefaultMaxPlanReadsPerTick - 1)

	for b.Loop() {
		// Within one RefreshInterval: the ticks between reads.
		clk.Advance(15 * time.Second)
		if err := s.Tick(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	clk.Advance(services.DefaultReminderRefreshInterval)
	refresh := tick() // one that reads the schedules again
	if n, err := st.Notifications().Inbox(ctx, "patient-0000", clk.Now(), nil, 10); err != nil || len(n) != 0 {
		b.Fatalf("something was due: %v %v", n, err)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/tick")
	b.ReportMetric(float64(first.Milliseconds()), "first_tick_ms")
	b.ReportMetric(float64(learning.Milliseconds()), "plan_learning_tick_ms")
	b.ReportMetric(float64(refresh.Milliseconds()), "refresh_tick_ms")
	b.ReportMetric(seed.Seconds(), "seed_s")
	b.ReportMetric(float64(len(doses)), "doses")

	// Where a warm tick's time goes: the two reads every tick makes.
	t0 := time.Now()
	meds, err := st.Medications().ListActive(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(t0).Milliseconds()), "list_active_ms")
	ids := make([]string, 0, patients)
	for i := range patients {
		ids = append(ids, fmt.Sprintf("patient-%04d", i))
	}
	t0 = time.Now()
	if _, err := st.Users().GetMany(ctx, ids); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(t0).Milliseconds()), "get_users_ms")
	if len(meds) != patients*perPatient {
		b.Fatalf("%d active medications", len(meds))
	}
}
