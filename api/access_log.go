package api

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// AccessLogReader is what the access-log handler calls.
type AccessLogReader interface {
	AccessLog(ctx context.Context, patientID string, limit int, cursor string) (services.AccessLogPage, error)
}

func (s *server) accessLogRoutes(patient fiber.Router) {
	patient.Get("/access-log", s.accessLog)
}

func (s *server) accessLog(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ReadAccessLog)
	if err != nil {
		return err
	}
	limit := 0
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return &models.Error{Code: models.CodeInvalid, Message: "the request has invalid query parameters",
				Fields: []models.FieldProblem{{Field: "limit", Problem: "must be a whole number from 1 to " + strconv.Itoa(services.MaxAccessLogPage)}}}
		}
		limit = n
	}
	page, err := s.AccessLog.AccessLog(c.UserContext(), patient.ID, limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	return c.JSON(page)
}
