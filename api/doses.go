package api

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// Doses is what the dose and adherence handlers call.
type Doses interface {
	List(ctx context.Context, patient models.User, q services.DoseQuery) ([]models.Dose, error)
	MarkTaken(ctx context.Context, patient models.User, doseID string, takenAt time.Time) (models.Dose, error)
	MarkSkipped(ctx context.Context, patient models.User, doseID, reason string) (models.Dose, error)
	LogAsNeeded(ctx context.Context, patient models.User, in services.AsNeededDose) (models.Dose, bool, error)
	Adherence(ctx context.Context, patient models.User, days int, now time.Time) (models.Adherence, error)
}

// DoseSnoozer snoozes doses (services.Snoozes).
type DoseSnoozer interface {
	Snooze(ctx context.Context, patient models.User, doseID string, minutes int) (services.DoseSnooze, error)
}

// doseRoutes registers /v1/patients/{patientId}/doses and /adherence.
// Scheduled dose ids contain ':' ("med:2026-03-29T08:00"); clients may
// send it as is or as %3A.
func (s *server) doseRoutes(patient fiber.Router) {
	patient.Get("/doses", s.listDoses)
	patient.Post("/doses", s.logAsNeededDose)
	patient.Post("/doses/:doseId/taken", s.markDoseTaken)
	patient.Post("/doses/:doseId/skipped", s.markDoseSkipped)
	patient.Post("/doses/:doseId/snooze", s.snoozeDose)
	patient.Get("/adherence", s.getAdherence)
}

// pathParam returns a path parameter, percent-decoded (Fiber leaves
// "%3A" as is) and copied out of Fiber's buffer.
func pathParam(c *fiber.Ctx, name string) string {
	raw := c.Params(name)
	if v, err := url.PathUnescape(raw); err == nil {
		return strings.Clone(v)
	}
	return strings.Clone(raw)
}

// queryTime parses an optional RFC 3339 query parameter, naming it in the
// problem when it is malformed.
func queryTime(c *fiber.Ctx, name string, p *models.Problems) time.Time {
	v := c.Query(name)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		p.Add(name, "must be an RFC 3339 time such as 2026-03-29T00:00:00Z")
	}
	return t
}

func (s *server) listDoses(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ReadDoses)
	if err != nil {
		return err
	}
	var p models.Problems
	q := services.DoseQuery{
		From:         queryTime(c, "from", &p),
		To:           queryTime(c, "to", &p),
		MedicationID: strings.Clone(c.Query("medicationId")),
	}
	if err := p.Err(); err != nil {
		return err
	}
	doses, err := s.Doses.List(c.UserContext(), patient, q)
	if err != nil {
		return err
	}
	return c.JSON(itemsResponse[models.Dose]{Items: doses})
}

// decodeOptional decodes a body that may be left out entirely.
func decodeOptional(c *fiber.Ctx, v any) error {
	if len(bytes.TrimSpace(c.Body())) == 0 {
		return nil
	}
	return decode(c, v)
}

// parseBodyTime parses an optional RFC 3339 time from a body field.
func parseBodyTime(field string, v *string, p *models.Problems) time.Time {
	if v == nil || *v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, *v)
	if err != nil {
		p.Add(field, "must be an RFC 3339 time such as 2026-03-29T08:05:00Z")
	}
	return t
}

type takenRequest struct {
	TakenAt *string `json:"takenAt"`
}

func (s *server) markDoseTaken(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.WriteDoses)
	if err != nil {
		return err
	}
	var req takenRequest
	if err := decodeOptional(c, &req); err != nil {
		return err
	}
	var p models.Problems
	at := parseBodyTime("takenAt", req.TakenAt, &p)
	if err := p.Err(); err != nil {
		return err
	}
	d, err := s.Doses.MarkTaken(c.UserContext(), patient, pathParam(c, "doseId"), at)
	if err != nil {
		return err
	}
	return c.JSON(d)
}

type skippedRequest struct {
	Reason string `json:"reason"`
}

func (s *server) markDoseSkipped(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.WriteDoses)
	if err != nil {
		return err
	}
	var req skippedRequest
	if err := decodeOptional(c, &req); err != nil {
		return err
	}
	d, err := s.Doses.MarkSkipped(c.UserContext(), patient, pathParam(c, "doseId"), req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(d)
}

type snoozeRequest struct {
	Minutes int `json:"minutes"`
}

// snoozeDose queues one more reminder of a pending dose: whoever may log
// the patient's doses may snooze them.
func (s *server) snoozeDose(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.WriteDoses)
	if err != nil {
		return err
	}
	var req snoozeRequest
	if err := decodeOptional(c, &req); err != nil {
		return err
	}
	sn, err := s.Snoozes.Snooze(c.UserContext(), patient, pathParam(c, "doseId"), req.Minutes)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(sn)
}

type asNeededRequest struct {
	ID           string  `json:"id"`
	MedicationID string  `json:"medicationId"`
	TakenAt      *string `json:"takenAt"`
}

func (s *server) logAsNeededDose(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.WriteDoses)
	if err != nil {
		return err
	}
	var req asNeededRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	var p models.Problems
	at := parseBodyTime("takenAt", req.TakenAt, &p)
	if err := p.Err(); err != nil {
		return err
	}
	d, created, err := s.Doses.LogAsNeeded(c.UserContext(), patient, services.AsNeededDose{ID: req.ID, MedicationID: req.MedicationID, TakenAt: at})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.Status(status).JSON(d)
}

func (s *server) getAdherence(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ReadAdherence)
	if err != nil {
		return err
	}
	days := models.DefaultAdherenceWindowDays
	if v := c.Query("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			var p models.Problems
			p.Add("days", "must be one of 7, 28 or 90")
			return p.Err()
		}
		days = n
	}
	a, err := s.Doses.Adherence(c.UserContext(), patient, days, s.Now())
	if err != nil {
		return err
	}
	return c.JSON(a)
}
