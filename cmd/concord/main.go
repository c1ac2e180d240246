// Command concord runs the Concord API server and its scheduler.
//
// With no configuration it keeps its data in an embedded SQLite database
// under ./data and serves on :8080; see the README for every variable.
// Two more commands look after the data:
//
//	concord backup FILE               a consistent copy of the embedded database, while the server runs
//	concord migrate --to-mongodb URI  copy the embedded database into MongoDB
//	concord migrate --from-mongodb URI  and back
package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
	_ "time/tzdata" // IANA zones even where the system has none (containers)

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/concord-health/concord/api"
	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/push"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/mongodb"
	"github.com/concord-health/concord/store/sqlite"
	"github.com/concord-health/concord/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := command(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "concord: %v\n", err)
		os.Exit(1)
	}
}

// run starts everything, serves until ctx ends, then shuts down in reverse
// order: stop accepting and drain requests, stop the scheduler after its
// current batch, close the store.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	return runOn(ctx, getenv, stdout, time.Now)
}

// runOn is run on the clock clock: every service reads the time from it
// (the README walkthrough's test moves it forward instead of waiting).
func runOn(ctx context.Context, getenv func(string) string, stdout io.Writer, clock func() time.Time) error {
	// Configuration and logging.
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := slog.New(requestIDHandler{slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})})
	// The clock ticks in milliseconds, as the store keeps times
	// (store.Millis): what a service hands back from memory is then what a
	// later read of the store returns.
	now := func() time.Time { return clock().UTC().Truncate(time.Millisecond) }

	// Store: MongoDB when MONGODB_URI is set, else the embedded SQLite
	// database in the data directory.
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := st.Close(closeCtx); err != nil {
			log.Error("store did not close cleanly", "err", err)
		}
		log.Info("store closed")
	}()

	// Signing key: the configured file, or one kept in the data directory.
	var key ed25519.PrivateKey
	if cfg.JWTKeyFile != "" {
		k, err := services.LoadSigningKey(cfg.JWTKeyFile)
		if err != nil {
			return fmt.Errorf("CONCORD_JWT_KEY_FILE: %w", err)
		}
		key = k
	} else {
		k, err := services.LoadOrCreateSigningKey(filepath.Join(cfg.DataDir, "jwt-ed25519.pem"))
		if err != nil {
			return err
		}
		key = k
	}
	tokens := services.NewTokens(key, now)

	// Metrics: every part registers on one registry, served at /metrics.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Services: each is built complete, on what it needs and with the
	// observers it tells, so nothing below uses what is not built yet. Dose
	// planning (and marking doses missed) comes first: accounts, flags,
	// reminders, doses and medicines all plan through it. It is apart from
	// Doses because Reminders plans and marks missed, and Doses tells
	// Reminders of every logged dose: the planner first, Reminders on it,
	// then Doses with Reminders as its observer.
	planner := services.NewDosePlanner(st.Doses(), st.Medications(), log)
	// A patient's future doses move with their time zone.
	auth := services.NewAuth(st.Users(), st.Sessions(), st.Pharmacies(), tokens, planner, now, log)
	if cfg.AdminEmail != "" {
		created, err := auth.EnsureAdmin(ctx, cfg.AdminEmail, cfg.AdminPassword)
		if err != nil {
			return fmt.Errorf("CONCORD_ADMIN_EMAIL/CONCORD_ADMIN_PASSWORD: cannot create the first admin: %w", err)
		}
		if created {
			log.Info("first admin account created")
		}
	}
	pharmacies := services.NewPharmacies(st.Pharmacies(), now, log)
	care := services.NewCare(st.Care(), st.Users(), now, log)
	access := services.NewAccess(st.Users(), st.Care(), st.Consents(), st.Audit(), now, log)

	// Notifications: the outbox and inbox, devices, and delivery through FCM
	// (with no FCM configured, to the inbox and the log only), driven by the
	// scheduler loop. instance names this process among those sharing the
	// database, in leases and logs.
	instance := services.NewInstanceID()
	notificationMetrics := services.NewNotificationMetrics(reg)
	notes := services.NewNotifications(st.Notifications(), st.Users(), notificationMetrics, now, log)
	devices := services.NewDevices(st.Devices(), now, log)
	var sender services.Sender // nil: push disabled
	fcmCfg := push.FCMConfig{CredentialsFile: cfg.FCMCredentials, ProjectID: cfg.FCMProjectID, Endpoint: cfg.FCMEndpoint, Now: now}
	if fcmCfg.Configured() {
		fcm, err := push.NewFCM(ctx, fcmCfg)
		if err != nil {
			return fmt.Errorf("CONCORD_FCM_ENDPOINT/CONCORD_FCM_CREDENTIALS_FILE/CONCORD_FCM_PROJECT_ID: %w", err)
		}
		sender = fcm
		log.Info("push delivery through FCM", "project", fcm.ProjectID(), "endpoint_override", cfg.FCMEndpoint != "")
	} else {
		log.Warn("push delivery disabled: no FCM credentials or endpoint; notifications go to the inbox and the log")
	}
	delivery := services.NewDelivery(services.DefaultDeliveryConfig(instance), st.Notifications(), st.Devices(), st.Users(), sender, notificationMetrics, now, log)

	// Review flags for the nominated pharmacy, and carer alerts through the
	// outbox: both hear of every new reading and of every dose the
	// reminders mark missed; flags also of consent ending. Flags read
	// nominations through Nominations, apart from Consents, because
	// Consents tells Flags of every consent that ends: Flags first, then
	// Consents with Flags as its observer.
	flags := services.NewFlags(st.Flags(), services.FlagSources{Planner: planner, Doses: st.Doses(), Medications: st.Medications(), Readings: st.Readings()},
		st.Users(), services.NewNominations(st.Consents()), access, now, log)
	carerAlerts := services.NewCarerAlerts(care, notes, now, log)
	consents := services.NewConsents(st.Consents(), st.Pharmacies(), now, log, flags)
	readings := services.NewReadings(st.Readings(), now, log, flags, carerAlerts)

	// Reminders: the patient's dose reminders, follow-ups, missed doses and
	// refill reminders. The doses the missed step marks missed, each once,
	// go to the patient's carers (with missed_dose_alerts) and the
	// review-flag rules (missed streak, low adherence); both are safe to
	// retry. Reminders hear of every dose logged (a dose logged early
	// cancels its pending reminders) and of every change to a medicine.
	reminders := services.NewReminders(services.ReminderConfig{},
		services.ReminderSources{Medications: st.Medications(), Users: st.Users(), Doses: st.Doses(), Notifications: st.Notifications()},
		planner, notes, now, log, carerAlerts.AlertMissedDoses, flags.OnDosesMissed)
	doses := services.NewDoses(st.Doses(), st.Medications(), planner, now, log, reminders)
	medications := services.NewMedications(st.Medications(), planner, now, log, reminders)
	summaries := services.NewSummaries(doses, st.Medications(), st.Readings(), st.Flags(), now)
	// Pharmacy services (New Medicine Service, Blood Pressure Check,
	// Discharge Medicines Service stage one, referrals for Structured
	// Medication Reviews): they read and change the patient's record
	// through the services above, and tell the patient through the inbox.
	pharmacyServices := services.NewPharmacyServices(st.Services(),
		services.ServiceSources{Medications: medications, Readings: readings, Doses: doses, Flags: flags},
		access, st.Users(), notes, now, log)
	// Account deletion: consent ends (flags hear of it), then the store
	// erases the person (README "Deleting an account").
	deletion := services.NewAccountDeletion(auth, consents, access, st, now, log)
	// The patient's export reads every store a page at a time.
	export := services.NewExport(services.ExportSources{Readings: st.Readings(), Medications: st.Medications(), Doses: st.Doses(),
		Flags: st.Flags(), Consents: st.Consents(), Pharmacies: st.Pharmacies(), Care: st.Care(), Audit: st.Audit(),
		Notifications: st.Notifications(), Devices: st.Devices()}, now)
	// The consultation report (one-page PDF) and its share links, which
	// open it without signing in through the same policy and access log.
	reports := services.NewReports(services.ReportSources{Readings: st.Readings(), Medications: st.Medications(), Adherence: doses,
		Flags: st.Flags()}, now)
	reportLinks := services.NewReportLinks(st.ReportLinks(), now, log)

	// Scheduler: every CONCORD_SCHEDULER_INTERVAL, these steps in order.
	// Retention deletes what is no longer kept (services/retention.go).
	retention := services.NewRetention(st.Sessions(), st.Notifications(), st.ReportLinks(), now, log)
	scheduler := services.NewScheduler(cfg.SchedulerInterval, instance, services.NewSchedulerMetrics(reg), now, log,
		reminders.MaterializeStep(), // doses planned a week ahead
		reminders.ReminderStep(),    // a reminder at each dose's time
		reminders.FollowUpStep(),    // FollowUp() later if still not logged
		reminders.MissedStep(),      // missed after the grace period → carers and flags
		reminders.RefillStep(),      // stock within refillLeadDays of running out
		flags.Step(),                // due follow-ups; time rules hourly, every rule daily
		retention.Step(),            // hourly: ended logins, old finished notifications
		delivery.Step(),             // last: delivers what the steps before it queued
	)

	// HTTP: behind a reverse proxy, the client address comes from
	// X-Forwarded-For only when the peer is in CONCORD_TRUSTED_PROXIES.
	// The web workspace (/app/) is served on the same app, on the same
	// services: the same access policy and audit, the same login guard.
	workspace := web.New(web.DefaultConfig(), web.Deps{
		Sessions: auth, Access: access, Flags: flags, QueueWatch: st.Flags(), Summaries: summaries,
		Readings: readings, Medications: medications, Doses: doses, Care: care, Inbox: notes,
		Patients: services.NewNominations(st.Consents()), Users: st.Users(), Log: log, Now: now,
	})
	httpCfg := api.DefaultConfig()
	httpCfg.TrustedProxies = cfg.TrustedProxies
	app := api.New(httpCfg, api.Deps{
		Workspace: workspace,
		Accounts:  auth, Access: access, JWKS: tokens.JWKS, Store: st, Registry: reg, Log: log, Now: now,
		Deletion: deletion,
		Export:   export,
		Reports:  reports, ReportLinks: reportLinks, ShareLinks: access,
		Medications: medications, Doses: doses,
		Snoozes:    services.NewSnoozes(st.Doses(), st.Medications(), notes, now, log),
		Pharmacies: pharmacies, Consents: consents, Care: care, AccessLog: access,
		Readings: readings,
		Changes: services.NewChanges(services.ChangeSources{Readings: st.Readings(), Medications: st.Medications(), Doses: st.Doses(),
			Notifications: st.Notifications(), Links: st.Care()}, access, now),
		Devices: devices, Inbox: notes,
		Flags: flags, Summaries: summaries, Services: pharmacyServices,
	})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("CONCORD_ADDR: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "workspace", web.URL(ln.Addr()))

	// Scheduler: on its own context, so that at shutdown it stops after the
	// HTTP server has drained, finishing its current batch, and before the
	// store closes (this defer runs before the store's).
	schedCtx, stopScheduler := context.WithCancel(context.WithoutCancel(ctx))
	schedDone := make(chan struct{})
	go func() { defer close(schedDone); scheduler.Run(schedCtx) }()
	defer func() {
		stopScheduler()
		select {
		case <-schedDone:
		case <-time.After(90 * time.Second):
			log.Error("scheduler did not stop in time", "instance", instance)
		}
	}()

	// Serve until a signal, then shut down in reverse order.
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	}
	log.Info("shutting down")
	if err := app.ShutdownWithTimeout(20 * time.Second); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Error("http shutdown", "err", err)
	}
	return nil
}

// command runs the command args name: the server when there is none.
func command(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return run(ctx, getenv, stdout)
	}
	switch args[0] {
	case "backup":
		return backup(ctx, args[1:], getenv, stdout)
	case "migrate":
		return migrate(ctx, args[1:], getenv, stdout)
	}
	return fmt.Errorf("unknown command %q: run concord with no arguments to serve, or concord backup FILE, or concord migrate --to-mongodb URI | --from-mongodb URI", args[0])
}

// openStore opens the store the configuration names: MongoDB when
// MONGODB_URI is set (with its indexes), else the embedded SQLite database
// in the data directory.
func openStore(ctx context.Context, cfg config, log *slog.Logger) (store.Store, error) {
	if cfg.MongoURI != "" {
		st, err := openMongoDB(ctx, cfg.MongoURI, cfg.DBName)
		if err == nil {
			log.Info("mongodb store opened", "database", cfg.DBName)
		}
		return st, err
	}
	st, err := sqlite.Open(ctx, sqlite.Options{Dir: cfg.DataDir, Log: log})
	if err != nil {
		return nil, fmt.Errorf("CONCORD_DATA_DIR: %w", err)
	}
	log.Info("embedded store opened", "file", st.Path())
	return st, nil
}

func openMongoDB(ctx context.Context, uri, db string) (*mongodb.Store, error) {
	st, err := mongodb.Open(ctx, mongodb.Options{URI: uri, Database: db})
	if err != nil {
		return nil, fmt.Errorf("MONGODB_URI: %w", err)
	}
	if err := st.EnsureIndexes(ctx); err != nil {
		_ = st.Close(ctx)
		return nil, fmt.Errorf("MONGODB_URI: %w", err)
	}
	return st, nil
}

// requestIDHandler adds the request id carried by a log call's context.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := models.RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(a)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
