package services

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/concord-health/concord/models"
)

// NotificationMetrics are the Prometheus metrics of notifications and
// their delivery (the scheduler's own are SchedulerMetrics).
type NotificationMetrics struct {
	queued  *prometheus.CounterVec
	sent    *prometheus.CounterVec
	failed  *prometheus.CounterVec
	pruned  prometheus.Counter
	lag     prometheus.Histogram
	claimed prometheus.Histogram
}

// NewNotificationMetrics creates the metrics and registers them on reg;
// a nil reg keeps them unregistered (tests).
func NewNotificationMetrics(reg prometheus.Registerer) *NotificationMetrics {
	m := &NotificationMetrics{
		queued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "concord_notifications_queued_total", Help: "Notifications created, by kind.",
		}, []string{"kind"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "concord_notifications_sent_total", Help: "Notifications delivered (to at least one device, or to the inbox only when the recipient has no device or push is disabled), by kind.",
		}, []string{"kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "concord_notifications_failed_total", Help: "Notifications given up on, by kind.",
		}, []string{"kind"}),
		pruned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "concord_push_tokens_pruned_total", Help: "Device tokens removed because FCM reported them unregistered or invalid.",
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "concord_notification_delivery_lag_seconds", Help: "Time from a notification's due time to its delivery.",
			Buckets: []float64{0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600},
		}),
		claimed: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "concord_scheduler_claimed", Help: "Notifications claimed per delivery batch.",
			Buckets: []float64{0, 1, 5, 10, 25, 50, 100, 250, 500},
		}),
	}
	if reg != nil {
		reg.MustRegister(m.queued, m.sent, m.failed, m.pruned, m.lag, m.claimed)
	}
	return m
}

func (m *NotificationMetrics) kindCounter(v *prometheus.CounterVec, k models.NotificationKind) prometheus.Counter {
	return v.WithLabelValues(string(k))
}
