// Package api is Concord's HTTP transport (Fiber v2): routes, handlers,
// middleware, the mapping of errors to problem+json, and the OpenAPI
// document that is the API's contract.
package api

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// Config tunes the HTTP layer.
type Config struct {
	// BodyLimit is the largest request body accepted (bytes); larger gets 413.
	BodyLimit int
	// RequestTimeout is every request's deadline.
	RequestTimeout time.Duration
	// AuthPerAddress limits register/login/refresh attempts per client
	// address, whatever their outcome.
	AuthPerAddress Limit
	// AuthPerAccount limits register/refresh per account. Logins are not
	// counted here: a budget of attempts per account would let anyone
	// lock its owner out (see LoginFailures).
	AuthPerAccount Limit
	// LoginFailures slows failed logins per account and client address;
	// a successful login from that address starts it afresh.
	LoginFailures Backoff
	// LoginAccountCeiling limits failed logins per account from every
	// address that has not signed in to it within KnownAddressFor: the
	// ceiling a guesser spread over many addresses meets. Addresses the
	// account signed in from recently are not held back by it.
	LoginAccountCeiling Limit
	// KnownAddressFor is how long an address stays known to an account
	// after the account signed in (login, registration or refresh) from it.
	KnownAddressFor time.Duration
	// PasswordFailures slows wrong current passwords on
	// POST /v1/me/password per account; a successful change resets it.
	PasswordFailures Backoff
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed: for a request whose direct peer is in one of them, the
	// client address is the rightmost X-Forwarded-For entry that is not
	// itself a trusted proxy. Empty: the direct peer is the client, and
	// forwarding headers are ignored.
	TrustedProxies []netip.Prefix

	// zeroCopy lets strings read from a request alias Fiber's buffers
	// (fiber.Config.Immutable off). Only the benchmark that measures what
	// copying costs sets it.
	zeroCopy bool
}

// DefaultConfig is the production configuration.
func DefaultConfig() Config {
	return Config{
		BodyLimit:      1 << 20,
		RequestTimeout: 30 * time.Second,
		AuthPerAddress: Limit{Burst: 30, Per: time.Minute},
		AuthPerAccount: Limit{Burst: 10, Per: 5 * time.Minute},
		// 5 failures free, then 1 s doubling to 15 minutes: 15 guesses
		// in the first 17 minutes, then 4 an hour per account and address.
		LoginFailures: Backoff{Free: 5, First: time.Second, Max: 15 * time.Minute, Forget: 24 * time.Hour},
		// 10 failures an hour per account across every unknown address.
		LoginAccountCeiling: Limit{Burst: 10, Per: time.Hour},
		// As long as a refresh token lives.
		KnownAddressFor:  30 * 24 * time.Hour,
		PasswordFailures: Backoff{Free: 3, First: time.Second, Max: 15 * time.Minute, Forget: 24 * time.Hour},
	}
}

// Accounts is what the account handlers call.
type Accounts interface {
	Authenticator
	Register(ctx context.Context, r services.Registration) (services.AuthResult, error)
	Login(ctx context.Context, email, password string) (services.AuthResult, error)
	Refresh(ctx context.Context, refreshToken string) (services.AuthResult, error)
	RefreshOwner(ctx context.Context, refreshToken string) string
	Logout(ctx context.Context, refreshToken string) error
	Me(ctx context.Context, p models.Principal) (models.User, error)
	UpdateMe(ctx context.Context, p models.Principal, change services.Profile, ifMatch *time.Time) (models.User, error)
	ChangePassword(ctx context.Context, p models.Principal, current, next string) (services.AuthResult, error)
	CreateUser(ctx context.Context, r services.Registration) (models.User, error)
}

// AccountDeleter deletes the caller's account (services.AccountDeletion).
type AccountDeleter interface {
	Delete(ctx context.Context, p models.Principal, password string) error
}

// Pinger reports whether the store is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are the services the handlers call.
type Deps struct {
	Accounts Accounts
	Access   Policy
	// Deletion deletes accounts (DELETE /v1/me and /account/delete).
	Deletion AccountDeleter
	// Export walks a patient's whole record (GET .../export).
	Export RecordExporter
	// A patient's medicines, doses and readings.
	Medications Medications
	Doses       Doses
	Snoozes     DoseSnoozer
	Readings    Readings
	// Changes is the change feed devices sync with.
	Changes ChangeFeed

	// Pharmacies, consent, the care circle and the access log.
	Pharmacies PharmacyRegister
	Consents   ConsentManager
	Care       CareCircle
	AccessLog  AccessLogReader

	// Devices and the in-app inbox (notifications).
	Devices DeviceRegistry
	Inbox   Inbox

	// The pharmacist's review queue and the patient summary.
	Flags     FlagQueue
	Summaries PatientSummaries
	// The NHS services the pharmacy delivers (and refers to).
	Services PharmacyServices
	// The consultation report, its share links and the policy a share
	// link's request goes through.
	Reports     ReportBuilder
	ReportLinks ReportLinkManager
	ShareLinks  ShareLinkPolicy

	// Workspace, if set, is served on the same app (the web workspace at
	// /app/), signing people in through the API's own login protection.
	Workspace Workspace

	JWKS  func() map[string]any
	Store Pinger
	// Registry receives the HTTP metrics and is served at /metrics.
	Registry *prometheus.Registry
	Log      *slog.Logger
	Now      func() time.Time
}

// server holds the handlers' dependencies.
type server struct {
	Deps
	cfg        Config
	perAddress *limiter
	perAccount *limiter
	shareLinks *limiter
	logins     *loginGuard
	passwords  *failures
	clients    clientAddresses
}

// New returns the Fiber app with every route.
func New(cfg Config, d Deps) *fiber.App {
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &server{Deps: d, cfg: cfg,
		perAddress: newLimiter(cfg.AuthPerAddress, d.Now),
		perAccount: newLimiter(cfg.AuthPerAccount, d.Now),
		// Share links are anonymous: the credential routes' per-address
		// limit, in a bucket of their own.
		shareLinks: newLimiter(cfg.AuthPerAddress, d.Now),
		logins:     newLoginGuard(cfg.LoginFailures, cfg.LoginAccountCeiling, cfg.KnownAddressFor, d.Now),
		passwords:  newFailures(cfg.PasswordFailures, d.Now),
		clients:    clientAddresses{trusted: cfg.TrustedProxies},
	}
	onError := errorHandler(d.Log)
	trusted := make([]string, len(cfg.TrustedProxies))
	for i, p := range cfg.TrustedProxies {
		trusted[i] = p.String()
	}
	app := fiber.New(fiber.Config{
		AppName:               "concord",
		BodyLimit:             cfg.BodyLimit,
		ErrorHandler:          onError,
		DisableStartupMessage: true,
		ReadTimeout:           cfg.RequestTimeout,
		WriteTimeout:          cfg.RequestTimeout,
		IdleTimeout:           2 * time.Minute,
		// Every string a handler reads from the request (method, path,
		// parameters, headers, body) is its own copy, not a view of a
		// buffer fasthttp reuses for the connection's next request: such
		// strings may be kept (metrics labels, rate-limit keys, audit
		// entries, logs, goroutines) without each caller remembering to
		// copy. The benchmark BenchmarkImmutable measures the cost.
		Immutable: !cfg.zeroCopy,
		// Fiber's own forwarded-header readers (c.Protocol, c.Hostname)
		// believe X-Forwarded-* only from these peers; the client address
		// is clientAddresses' (c.IP stays the direct peer: no ProxyHeader).
		EnableTrustedProxyCheck: true,
		TrustedProxies:          trusted,
	})
	app.Use(requestIDs, observe(d.Log, newHTTPMetrics(d.Registry), onError), validUTF8, recoverer(d.Log), deadline(cfg.RequestTimeout))

	s.operationsRoutes(app)
	s.accountRoutes(app)
	s.deletionPageRoutes(app)
	// Each area registers its routes under /v1/patients/{patientId} on
	// patient.
	patient := s.patientRoutes(app)
	s.medicationRoutes(patient)
	s.doseRoutes(patient)
	s.readingRoutes(patient)
	s.pharmacyRoutes(app, patient)
	s.careRoutes(app, patient)
	s.accessLogRoutes(patient)
	s.notificationRoutes(app)
	s.flagRoutes(app)
	s.summaryRoutes(patient)
	s.changeRoutes(patient)
	s.exportRoutes(patient)
	s.reportRoutes(app, patient)
	if d.Workspace != nil {
		d.Workspace.Routes(app, s.guardSignIn)
	}
	s.serviceRoutes(app, patient)
	return app
}
