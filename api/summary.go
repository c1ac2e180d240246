package api

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// PatientSummaries is what the patient-summary handler calls.
type PatientSummaries interface {
	Summary(ctx context.Context, patient models.User) (services.PatientSummary, error)
}

// summaryRoutes registers /v1/patients/{patientId}/summary: the patient at
// a glance, through the policy like every patient route.
func (s *server) summaryRoutes(patient fiber.Router) {
	patient.Get("/summary", s.patientSummary)
}

func (s *server) patientSummary(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ReadSummary)
	if err != nil {
		return err
	}
	sum, err := s.Summaries.Summary(c.UserContext(), patient)
	if err != nil {
		return err
	}
	return c.JSON(sum)
}
