package api

import (
	"github.com/gofiber/fiber/v2"
)

// Workspace is a browser front end served on the API's app (web.Workspace).
// Routes registers its routes on r; its sign-in form checks passwords
// through guard, so that a password guesser meets one set of counters
// whether they use the API's login or the form.
//
// guard runs check, a password check for the account email made on
// request c, within the limits of POST /v1/auth/login: the per-address
// limit, then the login guard (failures per account and address, and the
// per-account ceiling for addresses the account has not signed in from).
// A refused attempt returns rate_limited (with RetryAfter) without calling
// check; otherwise guard returns check's error, which it reads as the
// attempt's outcome (unauthorized: a failure; nil: a success).
type Workspace interface {
	Routes(r fiber.Router, guard func(c *fiber.Ctx, email string, check func() error) error)
}

// guardSignIn is the guard the server gives its Workspace.
func (s *server) guardSignIn(c *fiber.Ctx, email string, check func() error) error {
	account := accountKey(email)
	address, err := s.limitAuth(c, "")
	if err != nil {
		return err
	}
	attempt, err := s.logins.begin(account, address)
	if err != nil {
		return err
	}
	defer attempt.abandon()
	err = check()
	attempt.end(err)
	return err
}
