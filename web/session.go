package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// Cookies the workspace sets, both HttpOnly and SameSite=Strict, on Path
// Prefix, without an expiry (the browser forgets them when it closes; the
// server ends the session at services.WebSessionTTL whatever the browser
// keeps).
const (
	// sessionCookie holds the browser session's token.
	sessionCookie = "concord_session"
	// signInCookie holds the sign-in form's token before there is a
	// session (a double-submit token against login CSRF).
	signInCookie = "concord_sign_in"
)

const localVisitor = "webVisitor"

// visitor is the signed-in browser of a request: its session, and the
// keys derived from the session's token.
type visitor struct {
	services.WebSession
	csrf    string
	handles handleKey
}

// visitorOf returns the signed-in browser of the request, if any.
func visitorOf(c *fiber.Ctx) (*visitor, bool) {
	v, ok := c.Locals(localVisitor).(*visitor)
	return v, ok
}

// loadSession finds the session the request's cookie names. A cookie
// whose session has ended (signed out, expired, ended by a password
// change) is cleared, and the request goes on signed out.
func (w *Workspace) loadSession(c *fiber.Ctx) error {
	token := c.Cookies(sessionCookie)
	if token == "" {
		return c.Next()
	}
	s, err := w.Sessions.WebSession(c.UserContext(), token)
	switch {
	case models.IsCode(err, models.CodeUnauthorized):
		w.clearCookie(c, sessionCookie)
		c.Locals("webSessionEnded", true)
		return c.Next()
	case err != nil:
		return w.errorPage(c, err)
	}
	c.Locals(localVisitor, &visitor{WebSession: s, csrf: csrfToken(token), handles: newHandleKey(token)})
	return c.Next()
}

// require lets through a signed-in browser of one of roles; anyone signed
// out is sent to sign in.
func (w *Workspace) require(roles ...models.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		v, ok := visitorOf(c)
		if !ok {
			to := Prefix + "/sign-in"
			if ended, _ := c.Locals("webSessionEnded").(bool); ended {
				to += "?ended=1"
			}
			return c.Redirect(to, fiber.StatusSeeOther)
		}
		for _, r := range roles {
			if v.Principal.Role == r {
				return c.Next()
			}
		}
		return w.errorPage(c, models.Errorf(models.CodeForbidden, "this page is not for the %s role", v.Principal.Role))
	}
}

// signInForm shows the sign-in form with a fresh form token.
func (w *Workspace) signInForm(c *fiber.Ctx) error {
	if _, ok := visitorOf(c); ok {
		return c.Redirect(Prefix+"/", fiber.StatusSeeOther)
	}
	d := pageData{Title: "Sign in"}
	if c.Query("ended") != "" {
		d.Notice = "Your session has ended. Sign in again to carry on."
	}
	return w.showSignIn(c, fiber.StatusOK, d, "")
}

func (w *Workspace) showSignIn(c *fiber.Ctx, status int, d pageData, email string) error {
	token := randomToken()
	w.setCookie(c, signInCookie, token)
	d.SignIn = &signInForm{Token: token, Email: email}
	return w.render(c, status, "sign_in", nil, d)
}

// signIn checks the form's token and the password, within the sign-in
// throttle, and starts a session.
func (w *Workspace) signIn(c *fiber.Ctx) error {
	if !sameToken(c.FormValue("csrf"), c.Cookies(signInCookie)) {
		return w.errorPage(c, errBadForm)
	}
	email, password := strings.TrimSpace(c.FormValue("email")), c.FormValue("password")
	d := pageData{Title: "Sign in"}
	if email == "" || password == "" {
		if email == "" {
			d.Errors = append(d.Errors, fieldError{Field: "email", Text: "Enter your e-mail address"})
		}
		if password == "" {
			d.Errors = append(d.Errors, fieldError{Field: "password", Text: "Enter your password"})
		}
		return w.showSignIn(c, fiber.StatusUnprocessableEntity, d, email)
	}
	var s services.WebSession
	err := w.guard(c, email, func() (err error) {
		s, err = w.Sessions.StartWebSession(c.UserContext(), email, password)
		return err
	})
	switch {
	case models.IsCode(err, models.CodeUnauthorized):
		d.Errors = []fieldError{{Field: "email", Text: "The e-mail address or password is wrong"}}
		return w.showSignIn(c, fiber.StatusUnauthorized, d, email)
	case models.IsCode(err, models.CodeForbidden):
		d.Errors = []fieldError{{Field: "email", Text: "The workspace is for pharmacists, administrators and carers. Patients use the Concord app."}}
		return w.showSignIn(c, fiber.StatusForbidden, d, email)
	case err != nil:
		return w.errorPage(c, err)
	}
	w.clearCookie(c, signInCookie)
	w.setCookie(c, sessionCookie, s.Token)
	return c.Redirect(Prefix+"/", fiber.StatusSeeOther)
}

// signOut ends the session (with the session's form token, so no other
// site can sign a pharmacist out) and clears the cookie.
func (w *Workspace) signOut(c *fiber.Ctx) error {
	v, ok := visitorOf(c)
	if ok && !sameToken(c.FormValue("csrf"), v.csrf) {
		return w.errorPage(c, errBadForm)
	}
	if ok {
		if err := w.Sessions.EndWebSession(c.UserContext(), c.Cookies(sessionCookie)); err != nil {
			return w.errorPage(c, err)
		}
	}
	w.clearCookie(c, sessionCookie)
	d := pageData{Title: "Signed out", Notice: "You have signed out."}
	return w.showSignIn(c, fiber.StatusOK, d, "")
}

// secure reports whether the cookie must be Secure: the request came over
// TLS, or through a trusted reverse proxy (which terminates TLS). Fiber
// decides both with the API's trusted-proxy list (fiber.Config
// TrustedProxies, from CONCORD_TRUSTED_PROXIES).
func secure(c *fiber.Ctx) bool {
	return c.Secure() || c.IsProxyTrusted()
}

func (w *Workspace) setCookie(c *fiber.Ctx, name, value string) {
	c.Cookie(&fiber.Cookie{Name: name, Value: value, Path: Prefix, HTTPOnly: true, Secure: secure(c),
		SameSite: fiber.CookieSameSiteStrictMode, SessionOnly: true})
}

func (w *Workspace) clearCookie(c *fiber.Ctx, name string) {
	c.Cookie(&fiber.Cookie{Name: name, Value: "", Path: Prefix, HTTPOnly: true, Secure: secure(c),
		SameSite: fiber.CookieSameSiteStrictMode, MaxAge: -1, Expires: time.Unix(0, 0)})
}

// randomToken returns 256 random bits, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sameToken compares a form's token with the expected one in constant
// time; an empty token never matches.
func sameToken(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
