package web

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
)

//go:embed templates
var templateFiles embed.FS

// pages holds one template set per page: the layout with that page's
// "content".
type pages struct {
	byName map[string]*template.Template
}

// pageNames are the pages under templates/ (besides layout.html).
var pageNames = []string{"sign_in", "queue", "patients", "patient", "care", "care_person", "admin", "error"}

func loadPages() *pages {
	layout := template.Must(template.New("layout.html").Funcs(templateFuncs).ParseFS(templateFiles, "templates/layout.html", "templates/parts.html"))
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t := template.Must(template.Must(layout.Clone()).ParseFS(templateFiles, "templates/"+name+".html"))
		p.byName[name] = t
	}
	return p
}

// pageData is what every page is rendered from; each page fills its part.
type pageData struct {
	Title  string
	Notice string
	Errors []fieldError

	// Filled by render from the visitor.
	SignedIn  bool
	Name      string
	Role      models.Role
	CSRF      string
	ExpiresAt time.Time
	Nav       string // the current section, for aria-current

	SignIn   *signInForm
	Queue    *queuePage
	Patients *patientsPage
	Patient  *patientPage
	Care     *carePage
	Person   *carePersonPage
	Error    *errorInfo
}

// fieldError is one problem with a form, shown in the error summary and
// beside its field (NHS.UK error pattern).
type fieldError struct {
	Field string
	Text  string
}

// FieldError returns the text of the problem with field, if any.
func (d pageData) FieldError(field string) string {
	for _, e := range d.Errors {
		if e.Field == field {
			return e.Text
		}
	}
	return ""
}

type signInForm struct {
	Token string
	Email string
}

type errorInfo struct {
	Status  int
	Heading string
	Text    string
}

// render writes the page name with status.
func (w *Workspace) render(c *fiber.Ctx, status int, name string, v *visitor, d pageData) error {
	if v != nil {
		d.SignedIn, d.Name, d.Role, d.CSRF, d.ExpiresAt = true, v.User.Name, v.Principal.Role, v.csrf, v.ExpiresAt
	}
	var buf bytes.Buffer
	if err := w.pages.byName[name].ExecuteTemplate(&buf, "layout.html", d); err != nil {
		w.Log.ErrorContext(c.UserContext(), "web page not rendered", "page", name, "err", err)
		c.Status(fiber.StatusInternalServerError)
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.SendString("Sorry, there is a problem with the service. Try again later.")
	}
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(buf.Bytes())
}

var errPageNotFound = models.Errorf(models.CodeNotFound, "page not found")

// page wraps a handler so that an error it returns becomes an HTML page
// here, never the API's problem+json.
func (w *Workspace) page(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := h(c); err != nil {
			return w.errorPage(c, err)
		}
		return nil
	}
}

// errorPage shows err as a page: a signed-out browser is sent to sign in,
// anything else gets a page with the status its code maps to. Internal
// errors are logged and shown as a fixed message.
func (w *Workspace) errorPage(c *fiber.Ctx, err error) error {
	v, _ := visitorOf(c)
	info := &errorInfo{Status: http.StatusInternalServerError, Heading: "Sorry, there is a problem with the service",
		Text: "Try again later."}
	switch models.ErrorCode(err) {
	case models.CodeUnauthorized:
		return c.Redirect(Prefix+"/sign-in?ended=1", fiber.StatusSeeOther)
	case models.CodeNotFound:
		info = &errorInfo{Status: http.StatusNotFound, Heading: "Page not found",
			Text: "It may have been a link from an earlier session, or you may no longer have access to it."}
	case models.CodeForbidden:
		info = &errorInfo{Status: http.StatusForbidden, Heading: "You cannot do this", Text: capitalise(messageOf(err)) + "."}
		if err == errBadForm {
			info.Heading = "This form could not be accepted"
			info.Text = "It may have expired, or it did not come from this workspace. Go back, reload the page and try again."
		}
	case models.CodeRateLimited:
		info = &errorInfo{Status: http.StatusTooManyRequests, Heading: "Too many attempts", Text: "Wait a few minutes, then try again."}
		if e, ok := err.(*models.Error); ok && e.RetryAfter > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(e.RetryAfter.Seconds()+0.999)))
		}
	case models.CodeConflict, models.CodeInvalid:
		info = &errorInfo{Status: http.StatusConflict, Heading: "This could not be done", Text: capitalise(messageOf(err)) + "."}
		if models.ErrorCode(err) == models.CodeInvalid {
			info.Status = http.StatusUnprocessableEntity
		}
	case models.CodeUnavailable:
		info.Status = http.StatusServiceUnavailable
	default:
		w.Log.ErrorContext(c.UserContext(), "web request failed", "err", err)
	}
	return w.render(c, info.Status, "error", v, pageData{Title: info.Heading, Error: info})
}

// messageOf is the client-safe message of err, with each field's problem.
func messageOf(err error) string {
	var e *models.Error
	if !errors.As(err, &e) {
		return ""
	}
	msg := e.Message
	for _, f := range e.Fields {
		msg += "; " + f.Field + " " + f.Problem
	}
	return msg
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	b := []byte(s)
	if b[0] >= 'a' && b[0] <= 'z' {
		b[0] -= 'a' - 'A'
	}
	return string(b)
}

var templateFuncs = template.FuncMap{
	"title": capitalise,
}
