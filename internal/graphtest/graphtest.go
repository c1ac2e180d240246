// Package graphtest builds, for tests, the graph of services that
// cmd/concord's run() builds: the same constructors, in the same order,
// with the same observers, on a test's store, settable clock, logger and
// push sender, with the Fiber app on top. Keep New in step with run().
// Only tests, and the fuzz suite, import it.
package graphtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/concord-health/concord/api"
	"github.com/concord-health/concord/push"
	"github.com/concord-health/concord/push/fcmfake"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/web"
)

// Clock is a settable clock, safe for concurrent use. Every service of a
// graph reads the time from it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// FCM starts a local fake FCM server that stops with the test and returns
// it with the real Firebase client pointed at it, on clock: the push
// sender for New.
func FCM(tb testing.TB, clock *Clock) (*fcmfake.Server, *push.FCM) {
	tb.Helper()
	fake := fcmfake.New(tb)
	fcm, err := push.NewFCM(tb.Context(), push.FCMConfig{Endpoint: fake.URL(), Now: clock.Now})
	if err != nil {
		tb.Fatal(err)
	}
	return fake, fcm
}

// Options are what a test changes of run()'s wiring; the zero value is
// run()'s wiring with its default configuration.
type Options struct {
	// Instance names the process among those sharing the store, in leases
	// and logs; "" is "graphtest". Two graphs on one store with different
	// instances are two Concord processes.
	Instance string
	// Registry receives every metric, as run()'s registry does; nil: a new
	// one. Two graphs cannot share one (each registers its metrics).
	Registry *prometheus.Registry
	// HTTP changes the API's configuration (api.DefaultConfig()).
	HTTP func(*api.Config)
	// Delivery changes delivery's configuration
	// (services.DefaultDeliveryConfig(Instance)).
	Delivery func(*services.DeliveryConfig)
	// SchedulerInterval is how often Scheduler.Run ticks; zero is run()'s
	// default, 15 seconds. Tests mostly call Scheduler.Tick instead.
	SchedulerInterval time.Duration
	// Auth tunes the accounts service (services.PasswordHashing).
	Auth []services.AuthOption
	// ConsentObservers hear of every end of a consent, after the review
	// flags.
	ConsentObservers []services.ConsentObserver
	// MissedDoses hear of the doses the reminders mark missed, after the
	// carer alerts and the review flags.
	MissedDoses []services.MissedDosesFunc
	// ServeWeb serves the web workspace on App, as run() does; without it
	// App has the API's routes alone (the API's route tests list them).
	ServeWeb bool
	// Web changes the web workspace's configuration (web.DefaultConfig()).
	Web func(*web.Config)
}

// Graph is one Concord process: its services, wired as run() wires them,
// and the Fiber app that serves them.
type Graph struct {
	Store    store.Store
	Clock    *Clock
	Log      *slog.Logger
	Registry *prometheus.Registry
	Instance string
	// Key signs the access tokens.
	Key    ed25519.PrivateKey
	Tokens *services.Tokens

	Planner    *services.DosePlanner
	Auth       *services.Auth
	Pharmacies *services.Pharmacies
	Care       *services.Care
	Access     *services.Access

	NotificationMetrics *services.NotificationMetrics
	Notifications       *services.Notifications
	Devices             *services.Devices
	Delivery            *services.Delivery

	Nominations *services.Nominations
	Flags       *services.Flags
	CarerAlerts *services.CarerAlerts
	Consents    *services.Consents
	Readings    *services.Readings

	Reminders   *services.Reminders
	Doses       *services.Doses
	Medications *services.Medications
	Summaries   *services.Summaries
	Services    *services.PharmacyServices
	Deletion    *services.AccountDeletion
	Export      *services.Export
	Reports     *services.Reports
	ReportLinks *services.ReportLinks

	Retention *services.Retention
	Scheduler *services.Scheduler

	App *fiber.App
	// Web is the web workspace, built as run() builds it; App serves it
	// with Options.ServeWeb.
	Web *web.Workspace
}

// New builds a graph on st: a new signing key, the services in run()'s
// order, the scheduler with run()'s steps and the Fiber app. log nil
// discards the logs; sender nil disables push, as run() does without FCM.
func New(tb testing.TB, st store.Store, clock *Clock, log *slog.Logger, sender services.Sender, opts Options) *Graph {
	tb.Helper()
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Instance == "" {
		opts.Instance = "graphtest"
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.SchedulerInterval == 0 {
		opts.SchedulerInterval = 15 * time.Second
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	now, reg := clock.Now, opts.Registry
	g := &Graph{Store: st, Clock: clock, Log: log, Registry: reg, Instance: opts.Instance, Key: key}
	g.Tokens = services.NewTokens(key, now)

	// Services, in run()'s order.
	g.Planner = services.NewDosePlanner(st.Doses(), st.Medications(), log)
	g.Auth = services.NewAuth(st.Users(), st.Sessions(), st.Pharmacies(), g.Tokens, g.Planner, now, log, opts.Auth...)
	g.Pharmacies = services.NewPharmacies(st.Pharmacies(), now, log)
	g.Care = services.NewCare(st.Care(), st.Users(), now, log)
	g.Access = services.NewAccess(st.Users(), st.Care(), st.Consents(), st.Audit(), now, log)

	// Notifications.
	g.NotificationMetrics = services.NewNotificationMetrics(reg)
	g.Notifications = services.NewNotifications(st.Notifications(), st.Users(), g.NotificationMetrics, now, log)
	g.Devices = services.NewDevices(st.Devices(), now, log)
	delivery := services.DefaultDeliveryConfig(opts.Instance)
	if opts.Delivery != nil {
		opts.Delivery(&delivery)
	}
	g.Delivery = services.NewDelivery(delivery, st.Notifications(), st.Devices(), st.Users(), sender, g.NotificationMetrics, now, log)

	// Review flags and carer alerts, and what tells them.
	g.Nominations = services.NewNominations(st.Consents())
	g.Flags = services.NewFlags(st.Flags(), services.FlagSources{Planner: g.Planner, Doses: st.Doses(), Medications: st.Medications(), Readings: st.Readings()},
		st.Users(), g.Nominations, g.Access, now, log)
	g.CarerAlerts = services.NewCarerAlerts(g.Care, g.Notifications, now, log)
	g.Consents = services.NewConsents(st.Consents(), st.Pharmacies(), now, log,
		append([]services.ConsentObserver{g.Flags}, opts.ConsentObservers...)...)
	g.Readings = services.NewReadings(st.Readings(), now, log, g.Flags, g.CarerAlerts)

	// Reminders, and the doses and medicines they hear of.
	g.Reminders = services.NewReminders(services.ReminderConfig{},
		services.ReminderSources{Medications: st.Medications(), Users: st.Users(), Doses: st.Doses(), Notifications: st.Notifications()},
		g.Planner, g.Notifications, now, log,
		append([]services.MissedDosesFunc{g.CarerAlerts.AlertMissedDoses, g.Flags.OnDosesMissed}, opts.MissedDoses...)...)
	g.Doses = services.NewDoses(st.Doses(), st.Medications(), g.Planner, now, log, g.Reminders)
	g.Medications = services.NewMedications(st.Medications(), g.Planner, now, log, g.Reminders)
	g.Summaries = services.NewSummaries(g.Doses, st.Medications(), st.Readings(), st.Flags(), now)
	g.Services = services.NewPharmacyServices(st.Services(),
		services.ServiceSources{Medications: g.Medications, Readings: g.Readings, Doses: g.Doses, Flags: g.Flags},
		g.Access, st.Users(), g.Notifications, now, log)
	g.Deletion = services.NewAccountDeletion(g.Auth, g.Consents, g.Access, st, now, log)
	g.Export = services.NewExport(services.ExportSources{Readings: st.Readings(), Medications: st.Medications(), Doses: st.Doses(),
		Flags: st.Flags(), Consents: st.Consents(), Pharmacies: st.Pharmacies(), Care: st.Care(), Audit: st.Audit(),
		Notifications: st.Notifications(), Devices: st.Devices()}, now)
	g.Reports = services.NewReports(services.ReportSources{Readings: st.Readings(), Medications: st.Medications(), Adherence: g.Doses,
		Flags: st.Flags()}, now)
	g.ReportLinks = services.NewReportLinks(st.ReportLinks(), now, log)

	// Scheduler, with run()'s steps in run()'s order.
	g.Retention = services.NewRetention(st.Sessions(), st.Notifications(), st.ReportLinks(), now, log)
	g.Scheduler = services.NewScheduler(opts.SchedulerInterval, opts.Instance, services.NewSchedulerMetrics(reg), now, log,
		g.Reminders.MaterializeStep(), g.Reminders.ReminderStep(), g.Reminders.FollowUpStep(), g.Reminders.MissedStep(),
		g.Reminders.RefillStep(), g.Flags.Step(), g.Retention.Step(), g.Delivery.Step())

	// Web workspace, on the same services.
	webCfg := web.DefaultConfig()
	if opts.Web != nil {
		opts.Web(&webCfg)
	}
	g.Web = web.New(webCfg, web.Deps{
		Sessions: g.Auth, Access: g.Access, Flags: g.Flags, QueueWatch: st.Flags(), Summaries: g.Summaries,
		Readings: g.Readings, Medications: g.Medications, Doses: g.Doses, Care: g.Care, Inbox: g.Notifications,
		Patients: g.Nominations, Users: st.Users(), Log: log, Now: now,
	})
	var workspace api.Workspace
	if opts.ServeWeb {
		workspace = g.Web
	}

	// HTTP.
	httpCfg := api.DefaultConfig()
	if opts.HTTP != nil {
		opts.HTTP(&httpCfg)
	}
	g.App = api.New(httpCfg, api.Deps{
		Workspace: workspace,
		Accounts:  g.Auth, Access: g.Access, JWKS: g.Tokens.JWKS, Store: st, Registry: reg, Log: log, Now: now,
		Deletion: g.Deletion,
		Export:   g.Export,
		Reports:  g.Reports, ReportLinks: g.ReportLinks, ShareLinks: g.Access,
		Medications: g.Medications, Doses: g.Doses, Readings: g.Readings,
		Snoozes: services.NewSnoozes(st.Doses(), st.Medications(), g.Notifications, now, log),
		Changes: services.NewChanges(services.ChangeSources{Readings: st.Readings(), Medications: st.Medications(), Doses: st.Doses(),
			Notifications: st.Notifications(), Links: st.Care()}, g.Access, now),
		Pharmacies: g.Pharmacies, Consents: g.Consents, Care: g.Care, AccessLog: g.Access,
		Devices: g.Devices, Inbox: g.Notifications,
		Flags: g.Flags, Summaries: g.Summaries, Services: g.Services,
	})

	return g
}
