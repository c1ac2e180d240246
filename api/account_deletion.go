package api

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

type deleteMeRequest struct {
	Password string `json:"password"`
}

// deleteMe deletes the caller's account once they confirm it with their
// password (services.AccountDeletion). Wrong passwords are slowed per
// account as a password change's are.
func (s *server) deleteMe(c *fiber.Ctx) error {
	var req deleteMeRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p := principal(c)
	err := s.passwords.guard(p.UserID, func() error { return s.Deletion.Delete(c.UserContext(), p, req.Password) })
	if err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}
