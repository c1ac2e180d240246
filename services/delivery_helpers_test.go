package services_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/concord-health/concord/internal/graphtest"
	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/push/fcmfake"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/storetest"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// pushEnv is one Concord process (graphtest: the graph run() builds) on a
// fresh store database, pushing through the real Firebase SDK to a local
// fake FCM server, on one settable clock, with small-batch, short-timeout
// delivery (testDeliveryConfig).
type pushEnv struct {
	graph    *graphtest.Graph
	st       store.Store
	fake     *fcmfake.Server
	fcm      services.Sender
	clock    *graphtest.Clock
	reg      *prometheus.Registry
	metrics  *services.NotificationMetrics
	notes    *services.Notifications
	devices  *services.Devices
	delivery *services.Delivery
	logs     *syncBuffer
	log      *slog.Logger
	// deliveryOpts change testDeliveryConfig for every process of the env.
	deliveryOpts []func(*services.DeliveryConfig)
}

// pushStart is the tests' default clock: a Tuesday morning in London (GMT).
var pushStart = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// testDeliveryConfig is a small-batch, short-timeout configuration.
func testDeliveryConfig(instance string) services.DeliveryConfig {
	cfg := services.DefaultDeliveryConfig(instance)
	cfg.SendTimeout = 2 * time.Second
	return cfg
}

func newPushEnv(t testing.TB, opts ...func(*services.DeliveryConfig)) *pushEnv {
	t.Helper()
	return newPushEnvWith(t, graphtest.Options{}, opts...)
}

// newPushEnvWith is newPushEnv with the graph's options g (its observers).
func newPushEnvWith(t testing.TB, g graphtest.Options, opts ...func(*services.DeliveryConfig)) *pushEnv {
	t.Helper()
	clk := graphtest.NewClock(pushStart)
	fake, fcm := graphtest.FCM(t, clk)
	logs := &syncBuffer{}
	e := &pushEnv{st: storetest.New(t), fake: fake, fcm: fcm, clock: clk, logs: logs, deliveryOpts: opts,
		log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	g.Instance = "instance-a"
	e.graph = e.process(t, g)
	e.reg, e.metrics, e.notes, e.devices, e.delivery = e.graph.Registry, e.graph.NotificationMetrics, e.graph.Notifications, e.graph.Devices, e.graph.Delivery
	return e
}

// process is a Concord process on the env's store, clock, log and fake
// FCM server, with its own memory and metrics: g.Instance names it.
func (e *pushEnv) process(t testing.TB, g graphtest.Options) *graphtest.Graph {
	t.Helper()
	g.Delivery = func(cfg *services.DeliveryConfig) {
		*cfg = testDeliveryConfig(cfg.Instance)
		for _, o := range e.deliveryOpts {
			o(cfg)
		}
	}
	return graphtest.New(t, e.st, e.clock, e.log, e.fcm, g)
}

// instance is another Delivery on the same store, clock and metrics, as
// another Concord process would run; sender nil disables push.
func (e *pushEnv) instance(name string, sender services.Sender, opts ...func(*services.DeliveryConfig)) *services.Delivery {
	cfg := testDeliveryConfig(name)
	for _, o := range opts {
		o(&cfg)
	}
	return services.NewDelivery(cfg, e.st.Notifications(), e.st.Devices(), e.st.Users(), sender, e.metrics, e.clock.Now, e.log)
}

// user stores an account directly.
func (e *pushEnv) user(t testing.TB, id, zone string, prefs models.Preferences) models.User {
	t.Helper()
	u := models.User{ID: id, Email: id + "@example.org", Name: "Pat " + id, Role: models.RolePatient, Timezone: zone,
		Preferences: prefs, CreatedAt: pushStart, UpdatedAt: pushStart}
	if err := e.st.Users().Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// device registers a token for the user.
func (e *pushEnv) device(t testing.TB, userID, token string) models.Device {
	t.Helper()
	d, _, err := e.devices.Register(context.Background(), models.Principal{UserID: userID, Role: models.RolePatient}, token, models.PlatformAndroid)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// reminder is a generic dose reminder for the user, due at due.
func reminder(id, userID string, due time.Time) models.Notification {
	return models.Notification{ID: id, RecipientID: userID, PatientID: userID, Kind: models.KindDoseReminder,
		Title: "Medicines", Body: "Time for your 08:00 medicines", Urgent: true, DueAt: due}
}

func (e *pushEnv) enqueue(t testing.TB, n models.Notification) models.Notification {
	t.Helper()
	got, _, err := e.notes.Enqueue(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (e *pushEnv) tick(t testing.TB) services.DeliveryStats {
	t.Helper()
	st, err := e.delivery.Tick(context.Background())
	if err != nil {
		t.Fatalf("tick: %v", err)
	}
	return st
}

func (e *pushEnv) record(t testing.TB, id string) models.Notification {
	t.Helper()
	n, err := e.st.Notifications().Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// queued returns the notification's outbox entry, or ok=false.
func (e *pushEnv) queued(t testing.TB, id string) (store.OutboxEntry, bool) {
	t.Helper()
	n, err := e.st.Notifications().Queued(context.Background(), id)
	if models.IsCode(err, models.CodeNotFound) {
		return store.OutboxEntry{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return n, true
}

// deliveredIDs counts the messages the fake accepted per notification id.
func deliveredIDs(fake *fcmfake.Server) map[string]int {
	out := map[string]int{}
	for _, m := range fake.Delivered() {
		out[m.Data[models.DataNotificationID]]++
	}
	return out
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// metric returns the value of a counter or gauge, or the sample count of a
// histogram, whose labels include the label pairs given; 0 if absent.
func (e *pushEnv) metric(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	families, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}
