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
	if err := s.passwords.begin(p.UserID); err != nil {
		return err
	}
	o := neither
	defer func() { s.passwords.end(p.UserID, o) }()
	err := s.Deletion.Delete(c.UserContext(), p, req.Password)
	o = outcomeOf(err)
	if err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}
