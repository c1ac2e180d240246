package services

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Step is one piece of the scheduler's work, run on every tick in the
// order the steps were given.
type Step struct {
	// Name names the step in logs and metrics.
	Name string
	// Run does the work due at now (the tick's time). ctx ends when
	// shutdown begins: a step that works in batches finishes the batch in
	// hand (with a context shutdown does not end, such as
	// context.WithoutCancel plus a timeout) and returns.
	Run func(ctx context.Context, now time.Time) error
}

// Scheduler runs its steps every interval, one tick at a time. Any number of
// instances may run on one database: each step must make its own work safe
// to do concurrently (dedupe keys, claims).
type Scheduler struct {
	interval time.Duration
	instance string
	steps    []Step
	metrics  *SchedulerMetrics
	now      func() time.Time
	log      *slog.Logger
}

// NewScheduler returns a scheduler that runs steps, in order, every
// interval. instance names this process in logs.
func NewScheduler(interval time.Duration, instance string, metrics *SchedulerMetrics, now func() time.Time, log *slog.Logger, steps ...Step) *Scheduler {
	return &Scheduler{interval: interval, instance: instance, steps: steps, metrics: metrics, now: now, log: log}
}

// Tick runs every step once, in order, with the same now. A failing step
// is logged and counted and the later steps still run; the error joins the
// steps' errors. When ctx has ended, the steps not yet started are skipped.
func (s *Scheduler) Tick(ctx context.Context) error {
	start := time.Now()
	now := s.now().UTC()
	var errs []error
	for _, step := range s.steps {
		if ctx.Err() != nil {
			break
		}
		if err := step.Run(ctx, now); err != nil {
			s.metrics.stepErrors.WithLabelValues(step.Name).Inc()
			s.log.ErrorContext(ctx, "scheduler step failed", "step", step.Name, "instance", s.instance, "err", err)
			errs = append(errs, fmt.Errorf("scheduler step %s: %w", step.Name, err))
		}
	}
	elapsed := time.Since(start)
	s.metrics.tick.Observe(elapsed.Seconds())
	s.log.DebugContext(ctx, "scheduler tick", "instance", s.instance, "duration_ms", elapsed.Milliseconds())
	return errors.Join(errs...)
}

// Run ticks at once and then every interval until ctx ends; it returns when
// the tick in progress (which finishes its current batch) is over. A tick
// that takes longer than the interval delays the next one; ticks never
// overlap.
func (s *Scheduler) Run(ctx context.Context) {
	s.log.InfoContext(ctx, "scheduler started", "instance", s.instance, "interval", s.interval.String(), "steps", len(s.steps))
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		_ = s.Tick(ctx) // logged by Tick
		select {
		case <-ctx.Done():
			s.log.Info("scheduler stopped", "instance", s.instance)
			return
		case <-t.C:
		}
	}
}

// NewInstanceID names this process among the instances sharing a database:
// host name, process id and a random suffix (a restarted process with a
// reused pid is another instance).
func NewInstanceID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "concord"
	}
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), randomHex(3))
}
