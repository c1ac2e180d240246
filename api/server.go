// Package api is Concord's HTTP transport (Fiber v2): routes, handlers,
// middleware, the mapping of errors to problem+json, and the OpenAPI
// document that is the API's contract.
package api

import (
	"context"
	"log/slog"
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
	// AuthPerAddress limits register/login/refresh per client address.
	AuthPerAddress Limit
	// AuthPerAccount limits register/login/refresh per account.
	AuthPerAccount Limit
}

// DefaultConfig is the production configuration.
func DefaultConfig() Config {
	return Config{
		BodyLimit:      1 << 20,
		RequestTimeout: 30 * time.Second,
		AuthPerAddress: Limit{Burst: 30, Per: time.Minute},
		AuthPerAccount: Limit{Burst: 10, Per: 5 * time.Minute},
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
	UpdateMe(ctx context.Context, p models.Principal, change services.Profile) (models.User, error)
	ChangePassword(ctx context.Context, p models.Principal, current, next string) (services.AuthResult, error)
	CreateUser(ctx context.Context, r services.Registration) (models.User, error)
}

// Pinger reports whether the store is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are the services the handlers call.
type Deps struct {
	Accounts Accounts
	Access   Policy
	// Feature services (one field per area; add yours here).
	Medications Medications
	Doses       Doses

	Readings Readings

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
}

// New returns the Fiber app with every route.
func New(cfg Config, d Deps) *fiber.App {
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &server{Deps: d, cfg: cfg,
		perAddress: newLimiter(cfg.AuthPerAddress, d.Now),
		perAccount: newLimiter(cfg.AuthPerAccount, d.Now),
	}
	onError := errorHandler(d.Log)
	app := fiber.New(fiber.Config{
		AppName:               "concord",
		BodyLimit:             cfg.BodyLimit,
		ErrorHandler:          onError,
		DisableStartupMessage: true,
		ReadTimeout:           cfg.RequestTimeout,
		WriteTimeout:          cfg.RequestTimeout,
		IdleTimeout:           2 * time.Minute,
	})
	app.Use(requestIDs, observe(d.Log, newHTTPMetrics(d.Registry), onError), recoverer(d.Log), deadline(cfg.RequestTimeout))

	s.operationsRoutes(app)
	s.accountRoutes(app)
	patient := s.patientRoutes(app)
	_ = patient // each area registers its routes on it below
	s.medicationRoutes(patient)
	s.doseRoutes(patient)
	s.readingRoutes(patient)
	s.pharmacyRoutes(app, patient)
	s.careRoutes(app, patient)
	s.accessLogRoutes(patient)
	s.notificationRoutes(app)
	s.flagRoutes(app, patient)
	return app
}
