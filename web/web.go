// Package web is the workspace pharmacists and carers use in a browser, at
// /app/ on the API's own server: server-rendered HTML (html/template,
// embedded with the stylesheet and one small script), charts drawn on the
// server as SVG, and JavaScript only as progressive enhancement (the queue
// updating itself). It calls the same services as the API, so the same
// access policy decides, and audits, every look at a patient's data.
//
// Security: a browser holds a login session (services.Auth's web
// sessions) in an HttpOnly, SameSite=Strict cookie, Secure under TLS or
// behind a trusted proxy; every form carries a token bound to the session
// (csrf.go); every response carries a strict Content-Security-Policy with
// no inline script or style, frame-ancestors 'none', X-Frame-Options and
// Referrer-Policy (headers.go). No health data is put in a URL: patients
// and flags are named in links by handles sealed with the session's key
// (handles.go), which mean nothing outside that browser session.
package web

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// Prefix is where the workspace is served.
const Prefix = "/app"

// Config tunes the workspace.
type Config struct {
	// PollInterval is how often an open queue asks whether it changed.
	PollInterval time.Duration
}

// DefaultConfig is the production configuration.
func DefaultConfig() Config {
	return Config{PollInterval: 10 * time.Second}
}

// Sessions starts, finds and ends browser sessions (services.Auth).
type Sessions interface {
	StartWebSession(ctx context.Context, email, password string) (services.WebSession, error)
	WebSession(ctx context.Context, token string) (services.WebSession, error)
	EndWebSession(ctx context.Context, token string) error
}

// Policy is the access policy (services.Access).
type Policy interface {
	Pharmacist(ctx context.Context, p models.Principal) (models.User, bool, error)
	AuthorizeResource(ctx context.Context, p models.Principal, patientID string, action services.Action, resource string) (models.User, error)
}

// FlagQueue is the pharmacist's review queue (services.Flags).
type FlagQueue interface {
	List(ctx context.Context, p models.Principal, q services.FlagListQuery) (services.FlagPage, error)
	Get(ctx context.Context, p models.Principal, id string) (models.Flag, error)
	Claim(ctx context.Context, p models.Principal, id string) (models.Flag, error)
	AddNote(ctx context.Context, p models.Principal, id, text string) (models.Flag, error)
	Resolve(ctx context.Context, p models.Principal, id string, r services.FlagResolution) (models.Flag, error)
}

// QueueWatch reads a pharmacy's queue as stored (the flag store), only to
// tell an open queue page that it changed: nothing it reads is shown, so
// polling writes no audit entry; the page then reloads its rows through
// FlagQueue, which authorises and audits them.
type QueueWatch interface {
	Queue(ctx context.Context, q models.FlagQuery) ([]models.Flag, error)
}

// Summaries builds the patient summary (services.Summaries).
type Summaries interface {
	Summary(ctx context.Context, patient models.User) (services.PatientSummary, error)
}

// Readings lists and summarises a patient's readings (services.Readings).
type Readings interface {
	List(ctx context.Context, patient models.User, q services.ReadingListQuery) (services.ReadingPage, error)
	Summary(ctx context.Context, patient models.User, typ models.ReadingType, days int) (models.ReadingSummary, error)
}

// Medications lists a patient's medicines (services.Medications).
type Medications interface {
	List(ctx context.Context, patient models.User, status models.MedicationStatus) ([]models.Medication, error)
}

// Doses lists a patient's doses and works out adherence (services.Doses).
type Doses interface {
	List(ctx context.Context, patient models.User, q services.DoseQuery) ([]models.Dose, error)
	Adherence(ctx context.Context, patient models.User, days int, now time.Time) (models.Adherence, error)
}

// CareCircle lists the patients a carer cares for (services.Care).
type CareCircle interface {
	MyPatients(ctx context.Context, carerID string) ([]models.CaredPatient, error)
}

// Inbox lists a user's notifications (services.Notifications): a carer's
// alerts.
type Inbox interface {
	Inbox(ctx context.Context, p models.Principal, limit int, cursor string) (services.NotificationPage, error)
}

// ConsentedPatients lists a pharmacy's current nominations
// (services.Nominations, or Consents).
type ConsentedPatients interface {
	ConsentedPatients(ctx context.Context, pharmacyID string) ([]models.Nomination, error)
}

// UserDirectory reads accounts (the user store): the names a pharmacist
// searches the pharmacy's patients by. Each patient shown is then
// authorised, and audited, by the policy.
type UserDirectory interface {
	Get(ctx context.Context, id string) (models.User, error)
}

// Deps are what the workspace calls.
type Deps struct {
	Sessions    Sessions
	Access      Policy
	Flags       FlagQueue
	QueueWatch  QueueWatch
	Summaries   Summaries
	Readings    Readings
	Medications Medications
	Doses       Doses
	Care        CareCircle
	Inbox       Inbox
	Patients    ConsentedPatients
	Users       UserDirectory
	Log         *slog.Logger
	Now         func() time.Time
}

// Workspace is the web workspace: build it with New, serve it with Routes.
type Workspace struct {
	Deps
	cfg   Config
	pages *pages
	// guard is the API's login protection, given to Routes.
	guard func(c *fiber.Ctx, email string, check func() error) error
}

// New returns the workspace.
func New(cfg Config, d Deps) *Workspace {
	if d.Now == nil {
		d.Now = time.Now
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultConfig().PollInterval
	}
	return &Workspace{Deps: d, cfg: cfg, pages: loadPages()}
}

// Routes registers the workspace under Prefix on r (the API's app, whose
// middleware gives every request its id, deadline, log line and metrics;
// api.New calls it when the workspace is in api.Deps). Sign-in checks
// passwords within guard, the API's login protection (api.Workspace), so
// the form and POST /v1/auth/login share one set of counters. Every
// handler answers in HTML and never returns an error to the API's
// problem+json handler.
func (w *Workspace) Routes(r fiber.Router, guard func(c *fiber.Ctx, email string, check func() error) error) {
	w.guard = guard
	// Fiber routes without strict slashes: "/app" and "/app/" are both home.
	app := r.Group(Prefix, securityHeaders, w.loadSession)
	app.Get("/static/:name", serveStatic)
	app.Get("/", w.page(w.home))
	app.Get("/sign-in", w.page(w.signInForm))
	app.Post("/sign-in", w.page(w.signIn))
	app.Post("/sign-out", w.page(w.signOut))

	pharmacist := w.require(models.RolePharmacist)
	app.Get("/queue", pharmacist, w.page(w.queue))
	app.Get("/queue/version", pharmacist, w.page(w.queueVersion))
	app.Get("/patients", pharmacist, w.page(w.patients))
	app.Post("/patients", pharmacist, w.checkCSRF, w.page(w.patients))
	app.Get("/patients/:handle", pharmacist, w.page(w.patient))
	app.Post("/flags/:action", pharmacist, w.checkCSRF, w.page(w.flagAction))

	carer := w.require(models.RoleCarer)
	app.Get("/care", carer, w.page(w.care))
	app.Get("/care/:handle", carer, w.page(w.carePerson))

	app.Get("/admin", w.require(models.RoleAdmin), w.page(w.admin))
	app.All("/*", w.page(func(c *fiber.Ctx) error { return errPageNotFound }))
}

// URL is the workspace's address on a listener: "http://localhost:8080/app/"
// for one on every interface.
func URL(addr net.Addr) string {
	host, port := "localhost", ""
	if ap, err := netip.ParseAddrPort(addr.String()); err == nil {
		port = strconv.Itoa(int(ap.Port()))
		if a := ap.Addr().Unmap(); !a.IsUnspecified() {
			host = a.String()
			if a.Is6() {
				host = "[" + host + "]"
			}
		}
	} else if _, p, err := net.SplitHostPort(addr.String()); err == nil {
		port = p
	}
	return "http://" + host + ":" + port + Prefix + "/"
}

// home sends a signed-in user to their view and anyone else to sign in.
func (w *Workspace) home(c *fiber.Ctx) error {
	v, ok := visitorOf(c)
	if !ok {
		return c.Redirect(Prefix+"/sign-in", fiber.StatusSeeOther)
	}
	switch v.Principal.Role {
	case models.RolePharmacist:
		return c.Redirect(Prefix+"/queue", fiber.StatusSeeOther)
	case models.RoleCarer:
		return c.Redirect(Prefix+"/care", fiber.StatusSeeOther)
	}
	return c.Redirect(Prefix+"/admin", fiber.StatusSeeOther)
}

// admin is an administrator's page: administrators manage accounts and
// pharmacies (through the API) and see no patient's data.
func (w *Workspace) admin(c *fiber.Ctx) error {
	v, _ := visitorOf(c)
	return w.render(c, fiber.StatusOK, "admin", v, pageData{Title: "Administration"})
}
