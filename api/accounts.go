package api

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

func (s *server) accountRoutes(app *fiber.App) {
	auth := app.Group("/v1/auth")
	auth.Post("/register", s.register)
	auth.Post("/login", s.login)
	auth.Post("/refresh", s.refresh)
	auth.Post("/logout", s.logout)

	me := app.Group("/v1/me", authenticated(s.Accounts))
	me.Get("", s.getMe)
	me.Patch("", s.patchMe)
	me.Delete("", s.deleteMe)
	me.Post("/password", s.changePassword)

	app.Post("/v1/admin/users", authenticated(s.Accounts, models.RoleAdmin), s.adminCreateUser)
}

type registerRequest struct {
	Email    string      `json:"email"`
	Password string      `json:"password"`
	Name     string      `json:"name"`
	Role     models.Role `json:"role"`
	Timezone string      `json:"timezone"`
	Locale   *string     `json:"locale"`
}

// limitAuth applies the per-address limit of the credential routes and,
// for account != "", the per-account limit of registration and refresh.
// It returns the client's address as the limits count it.
func (s *server) limitAuth(c *fiber.Ctx, account string) (string, error) {
	address := throttleKey(s.clients.of(c))
	if err := s.perAddress.allow(address); err != nil {
		return address, err
	}
	if account == "" {
		return address, nil
	}
	return address, s.perAccount.allow(account)
}

func (s *server) register(c *fiber.Ctx) error {
	var req registerRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	email := accountKey(req.Email)
	address, err := s.limitAuth(c, email)
	if err != nil {
		return err
	}
	res, err := s.Accounts.Register(c.UserContext(), services.Registration{
		Email: req.Email, Password: req.Password, Name: req.Name, Role: req.Role, Timezone: req.Timezone, Locale: req.Locale,
	})
	if err != nil {
		return err
	}
	s.logins.remember(email, address)
	return c.Status(http.StatusCreated).JSON(res)
}

// accountKey is the key of an account in the login limits: its e-mail,
// normalised as Login normalises it ("" if it is not an e-mail).
func accountKey(email string) string {
	k, _ := models.NormalizeEmail(email)
	return k
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// login is guarded against password guessing by s.logins (failures per
// account and address, and a ceiling per account for unknown addresses)
// beside the per-address limit; a refused attempt never reaches the
// password check.
func (s *server) login(c *fiber.Ctx) error {
	var req loginRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	email := accountKey(req.Email)
	address, err := s.limitAuth(c, "")
	if err != nil {
		return err
	}
	attempt, err := s.logins.begin(email, address)
	if err != nil {
		return err
	}
	defer attempt.abandon()
	res, err := s.Accounts.Login(c.UserContext(), req.Email, req.Password)
	attempt.end(err)
	if err != nil {
		return err
	}
	return c.JSON(res)
}

type refreshRequest struct {
	RefreshToken string `json:"refreshToken"`
}

func (r refreshRequest) validate() error {
	var p models.Problems
	if r.RefreshToken == "" {
		p.Add("refreshToken", "is required")
	} else if len(r.RefreshToken) > 200 {
		p.Add("refreshToken", "is not a refresh token")
	}
	return p.Err()
}

func (s *server) refresh(c *fiber.Ctx) error {
	var req refreshRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	address, err := s.limitAuth(c, s.Accounts.RefreshOwner(c.UserContext(), req.RefreshToken))
	if err != nil {
		return err
	}
	res, err := s.Accounts.Refresh(c.UserContext(), req.RefreshToken)
	if err != nil {
		return err
	}
	s.logins.remember(accountKey(res.User.Email), address)
	return c.JSON(res)
}

func (s *server) logout(c *fiber.Ctx) error {
	var req refreshRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	if err := s.Accounts.Logout(c.UserContext(), req.RefreshToken); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

func (s *server) getMe(c *fiber.Ctx) error {
	u, err := s.Accounts.Me(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return sendVersioned(c, u.UpdatedAt, u)
}

type patchMeRequest struct {
	Name        *string                 `json:"name"`
	Timezone    *string                 `json:"timezone"`
	Preferences *models.Preferences     `json:"preferences"`
	Targets     *models.CarePlanTargets `json:"targets"`
	NHSNumber   *string                 `json:"nhsNumber"`
	Locale      *string                 `json:"locale"`
}

func (s *server) patchMe(c *fiber.Ctx) error {
	version, err := ifMatch(c)
	if err != nil {
		return err
	}
	var req patchMeRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	u, err := s.Accounts.UpdateMe(c.UserContext(), principal(c), services.Profile{Name: req.Name, Timezone: req.Timezone, Preferences: req.Preferences, Targets: req.Targets, NHSNumber: req.NHSNumber, Locale: req.Locale}, version)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderETag, etag(u.UpdatedAt))
	return c.JSON(u)
}

type passwordRequest struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

// changePassword is guarded per account by s.passwords: wrong current
// passwords slow the next attempt exponentially (429 with Retry-After,
// before the password is checked); a successful change resets the count.
func (s *server) changePassword(c *fiber.Ctx) error {
	var req passwordRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p := principal(c)
	var res services.AuthResult
	err := s.passwords.guard(p.UserID, func() (err error) {
		res, err = s.Accounts.ChangePassword(c.UserContext(), p, req.CurrentPassword, req.NewPassword)
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(res)
}

type adminUserRequest struct {
	Email      string      `json:"email"`
	Password   string      `json:"password"`
	Name       string      `json:"name"`
	Role       models.Role `json:"role"`
	PharmacyID string      `json:"pharmacyId"`
	Timezone   string      `json:"timezone"`
}

func (s *server) adminCreateUser(c *fiber.Ctx) error {
	var req adminUserRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	u, err := s.Accounts.CreateUser(c.UserContext(), services.Registration{
		Email: req.Email, Password: req.Password, Name: req.Name, Role: req.Role, PharmacyID: req.PharmacyID, Timezone: req.Timezone,
	})
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(u)
}
