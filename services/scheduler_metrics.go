package services

import "github.com/prometheus/client_golang/prometheus"

// SchedulerMetrics are the Prometheus metrics of the scheduler loop: how
// long each tick takes and which steps fail.
type SchedulerMetrics struct {
	tick       prometheus.Histogram
	stepErrors *prometheus.CounterVec
}

// NewSchedulerMetrics creates the metrics and registers them on reg; a nil
// reg keeps them unregistered (tests).
func NewSchedulerMetrics(reg prometheus.Registerer) *SchedulerMetrics {
	m := &SchedulerMetrics{
		tick: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "concord_scheduler_tick_seconds", Help: "Duration of one scheduler tick (every step).",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}),
		stepErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "concord_scheduler_step_errors_total", Help: "Scheduler steps that ended with an error, by step.",
		}, []string{"step"}),
	}
	if reg != nil {
		reg.MustRegister(m.tick, m.stepErrors)
	}
	return m
}
