package services_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/concord-health/concord/internal/graphtest"
	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

func TestSchedulerRunsStepsInOrder(t *testing.T) {
	t.Parallel()
	clk := graphtest.NewClock(pushStart)
	reg := prometheus.NewRegistry()
	m := services.NewSchedulerMetrics(reg)
	var mu sync.Mutex
	var calls []string
	step := func(name string, err error) services.Step {
		return services.Step{Name: name, Run: func(_ context.Context, now time.Time) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, fmt.Sprintf("%s@%s", name, now.Format("15:04")))
			return err
		}}
	}
	boom := errors.New("boom")
	s := services.NewScheduler(time.Hour, "test-instance", m, clk.Now, quietLog(),
		step("materialise", nil), step("remind", boom), step("deliver", nil))
	err := s.Tick(context.Background())
	if !errors.Is(err, boom) {
		t.Errorf("tick error %v, want the failing step's", err)
	}
	if diff := cmp.Diff([]string{"materialise@09:00", "remind@09:00", "deliver@09:00"}, calls); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	e := &pushEnv{reg: reg}
	if got := e.metric(t, "concord_scheduler_step_errors_total", "step", "remind"); got != 1 {
		t.Errorf("step errors = %v", got)
	}
	if got := e.metric(t, "concord_scheduler_tick_seconds"); got != 1 {
		t.Errorf("tick observations = %v", got)
	}
}

// TestSchedulerStopsAfterCurrentTick: cancelling Run's context during a
// tick lets that tick's step finish, skips the later steps and returns.
func TestSchedulerStopsAfterCurrentTick(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	started, release := make(chan struct{}), make(chan struct{})
	var finished, later bool
	slow := services.Step{Name: "slow", Run: func(ctx context.Context, _ time.Time) error {
		close(started)
		<-release
		finished = true
		return nil
	}}
	after := services.Step{Name: "after", Run: func(context.Context, time.Time) error { later = true; return nil }}
	s := services.NewScheduler(10*time.Millisecond, "test-instance", services.NewSchedulerMetrics(nil), time.Now, quietLog(), slow, after)
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	<-started
	cancel()
	select {
	case <-done:
		t.Fatal("Run returned before its tick's step finished")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after shutdown")
	}
	if !finished || later {
		t.Errorf("finished %v, later step ran %v; want the step in hand finished and no later step", finished, later)
	}
}

// TestDeliveryStepFinishesBatchOnShutdown: a delivery tick whose context
// ends (shutdown) completes the batch it claimed rather than leaving it to
// the lease.
func TestDeliveryStepFinishesBatchOnShutdown(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t, func(c *services.DeliveryConfig) { c.BatchSize = 2 })
	e.user(t, "u1", "Europe/London", models.Preferences{})
	e.device(t, "u1", "shutdown-token-0123456789")
	for i := range 5 {
		e.enqueue(t, reminder(fmt.Sprintf("dose_reminder:s%d", i), "u1", pushStart))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // shutdown has begun: no batch is started
	if st, err := e.delivery.Tick(ctx); err != nil || st.Claimed != 0 {
		t.Errorf("tick after shutdown: %+v %v, want nothing claimed", st, err)
	}
	st, err := e.delivery.Tick(context.Background())
	if err != nil || st.Sent != 5 || st.Batches != 3 {
		t.Errorf("tick: %+v %v, want 5 sent in 3 batches", st, err)
	}
}
