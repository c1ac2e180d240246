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

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

func TestSchedulerRunsStepsInOrder(t *testing.T) {
	t.Parallel()
	clk := &pushClock{t: pushStart}
	reg := prometheus.NewRegistry()
	m := services.NewNotificationMetrics(reg)
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
	s := services.NewScheduler(10*time.Millisecond, "test-instance", services.NewNotificationMetrics(nil), time.Now, quietLog(), slow, after)
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

func TestDeviceLimitForgetsLeastRecentlySeen(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t)
	ctx := context.Background()
	p := models.Principal{UserID: "u1", Role: models.RolePatient}
	token := func(i int) string { return fmt.Sprintf("phone-%02d-token-0123456789", i) }
	for i := range services.MaxDevicesPerUser {
		e.device(t, "u1", token(i))
		e.clock.Advance(time.Minute)
	}
	// Seen again: the first phone is now the most recently seen.
	if _, created, err := e.devices.Register(ctx, p, token(0), models.PlatformIOS); err != nil || created {
		t.Fatalf("re-register: created %v, %v", created, err)
	}
	e.clock.Advance(time.Minute)
	e.device(t, "u1", "phone-new-token-0123456789")

	devs, err := e.devices.List(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, d := range devs {
		got[d.ID] = true
	}
	want := map[string]bool{models.DeviceID("phone-new-token-0123456789"): true}
	for i := range services.MaxDevicesPerUser {
		if i != 1 { // the least recently seen
			want[models.DeviceID(token(i))] = true
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("devices kept (-want +got):\n%s", diff)
	}
	if devs[1].ID != models.DeviceID(token(0)) || devs[1].Platform != models.PlatformIOS {
		t.Errorf("second most recent: %+v, want the re-registered phone, now ios", devs[1])
	}
}
