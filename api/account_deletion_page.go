package api

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
)

// The account-deletion web page: what Google Play requires beside the
// in-app deletion, for people who no longer have the app. One form, no
// script: the e-mail and password sign the person in and DELETE /v1/me's
// service deletes the account. The form carries the credentials, so a
// forged cross-site post cannot act for anyone; it also carries a
// double-submit token (a SameSite=Strict cookie matched against a hidden
// field), so only a form this server rendered is accepted.

// deletionPagePath is where the page is served (linked from the README).
const deletionPagePath = "/account/delete"

// deletionCSRFCookie holds the page's form token.
const deletionCSRFCookie = "concord_delete_csrf"

var deletionPage = template.Must(template.New("delete").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Delete your Concord account</title>
</head>
<body>
<main>
{{if .Done}}
<h1>Your account has been deleted</h1>
<p>Your readings, medicines, doses, carers, devices and notifications are gone, and you have been signed out everywhere.
What Concord keeps, and why, is listed at the address you came from (README, "Deleting an account").</p>
{{else}}
<h1>Delete your Concord account</h1>
<p>This deletes your account and your health records in Concord at once. It cannot be undone.
Your pharmacy's own records of its consultations with you, and the log of who saw your data, are kept without your name.</p>
{{if .Error}}<p role="alert"><strong>{{.Error}}</strong></p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<p><label for="email">E-mail</label><br><input id="email" name="email" type="email" autocomplete="username" required value="{{.Email}}"></p>
<p><label for="password">Password</label><br><input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><input id="confirm" name="confirm" type="checkbox" value="yes" required> <label for="confirm">I understand that my account and records are deleted for good</label></p>
<p><button type="submit">Delete my account</button></p>
</form>
{{end}}
</main>
</body>
</html>
`))

type deletionPageData struct {
	Action, CSRF, Email, Error string
	Done                       bool
}

func (s *server) deletionPageRoutes(app *fiber.App) {
	app.Get(deletionPagePath, s.deletionForm)
	app.Post(deletionPagePath, s.deletionSubmit)
}

// renderDeletionPage writes the page with the headers every page of it
// carries: no script, no framing, no caching, no referrer.
func renderDeletionPage(c *fiber.Ctx, status int, d deletionPageData) error {
	d.Action = deletionPagePath
	var b bytes.Buffer
	if err := deletionPage.Execute(&b, d); err != nil {
		return err
	}
	c.Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "no-referrer")
	c.Set("Cache-Control", "no-store")
	c.Set(fiber.HeaderContentType, "text/html; charset=utf-8")
	return c.Status(status).Send(b.Bytes())
}

// newDeletionToken sets a fresh form token cookie and returns the token.
func newDeletionToken(c *fiber.Ctx) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	c.Cookie(&fiber.Cookie{Name: deletionCSRFCookie, Value: token, Path: deletionPagePath, HTTPOnly: true,
		SameSite: fiber.CookieSameSiteStrictMode, Secure: c.Protocol() == "https", MaxAge: 3600})
	return token
}

func (s *server) deletionForm(c *fiber.Ctx) error {
	return renderDeletionPage(c, http.StatusOK, deletionPageData{CSRF: newDeletionToken(c)})
}

// deletionSubmit signs the person in (with the login route's limits and
// guard) and deletes the account. Every failure re-renders the form with
// a message and the status the API would give.
func (s *server) deletionSubmit(c *fiber.Ctx) error {
	email, password := c.FormValue("email"), c.FormValue("password")
	again := func(status int, msg string) error {
		return renderDeletionPage(c, status, deletionPageData{CSRF: newDeletionToken(c), Email: email, Error: msg})
	}
	cookie, field := c.Cookies(deletionCSRFCookie), c.FormValue("csrf")
	if cookie == "" || subtle.ConstantTimeCompare([]byte(cookie), []byte(field)) != 1 {
		return again(http.StatusForbidden, "This form has expired. Please try again.")
	}
	if c.FormValue("confirm") != "yes" {
		return again(http.StatusBadRequest, "Tick the box to confirm that you want your account deleted.")
	}
	key := accountKey(email)
	address, err := s.limitAuth(c, "")
	if err != nil {
		return again(http.StatusTooManyRequests, "Too many attempts. Please wait a minute and try again.")
	}
	attempt, err := s.logins.begin(key, address)
	if err != nil {
		return again(http.StatusTooManyRequests, "Too many attempts. Please wait and try again.")
	}
	defer attempt.abandon()
	res, err := s.Accounts.Login(c.UserContext(), email, password)
	attempt.end(err)
	if models.IsCode(err, models.CodeInvalid) || models.IsCode(err, models.CodeUnauthorized) {
		return again(statusOf[models.ErrorCode(err)], "The e-mail or password is wrong.")
	}
	if err != nil {
		return err
	}
	p, err := s.Accounts.Authenticate(c.UserContext(), res.AccessToken)
	if err == nil {
		err = s.Deletion.Delete(c.UserContext(), p, password)
	}
	switch {
	case models.IsCode(err, models.CodeForbidden):
		return again(http.StatusForbidden, "Pharmacist and admin accounts are removed by an admin.")
	case err != nil:
		return err
	}
	c.ClearCookie(deletionCSRFCookie)
	return renderDeletionPage(c, http.StatusOK, deletionPageData{Done: true})
}
