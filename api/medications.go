package api

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// Medications is what the medication handlers call.
type Medications interface {
	Create(ctx context.Context, patient models.User, in services.NewMedication) (models.Medication, bool, error)
	List(ctx context.Context, patient models.User, status models.MedicationStatus) ([]models.Medication, error)
	Get(ctx context.Context, patient models.User, id string) (models.Medication, error)
	Update(ctx context.Context, patient models.User, id string, change services.MedicationChange, ifMatch *time.Time) (models.Medication, error)
	Stop(ctx context.Context, patient models.User, id string, ifMatch *time.Time) (models.Medication, error)
}

// medicationRoutes registers /v1/patients/{patientId}/medications.
func (s *server) medicationRoutes(patient fiber.Router) {
	patient.Post("/medications", s.createMedication)
	patient.Get("/medications", s.listMedications)
	patient.Get("/medications/:medicationId", s.getMedication)
	patient.Patch("/medications/:medicationId", s.patchMedication)
	patient.Delete("/medications/:medicationId", s.stopMedication)
}

type medicationRequest struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Strength     string          `json:"strength"`
	Form         string          `json:"form"`
	Instructions string          `json:"instructions"`
	Code         string          `json:"code"`
	Schedule     models.Schedule `json:"schedule"`
	Stock        *models.Stock   `json:"stock"`
}

func (s *server) createMedication(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.WriteMedications)
	if err != nil {
		return err
	}
	var req medicationRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	m, created, err := s.Medications.Create(c.UserContext(), patient, services.NewMedication{
		ID: req.ID, Name: req.Name, Strength: req.Strength, Form: req.Form, Instructions: req.Instructions,
		Code: req.Code, Schedule: req.Schedule, Stock: req.Stock,
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.Status(status).JSON(m)
}

// itemsResponse is a list that is not paginated (it is bounded).
type itemsResponse[T any] struct {
	Items []T `json:"items"`
}

func (s *server) listMedications(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ReadMedications)
	if err != nil {
		return err
	}
	meds, err := s.Medications.List(c.UserContext(), patient, models.MedicationStatus(strings.Clone(c.Query("status"))))
	if err != nil {
		return err
	}
	return c.JSON(itemsResponse[models.Medication]{Items: meds})
}

func (s *server) getMedication(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ReadMedications)
	if err != nil {
		return err
	}
	m, err := s.Medications.Get(c.UserContext(), patient, pathParam(c, "medicationId"))
	if err != nil {
		return err
	}
	return sendVersioned(c, m.UpdatedAt, m)
}

// medicationPatch is a PATCH body: absent fields stay; "stock": null
// removes the stock.
type medicationPatch struct {
	Name         *string          `json:"name"`
	Strength     *string          `json:"strength"`
	Form         *string          `json:"form"`
	Instructions *string          `json:"instructions"`
	Code         *string          `json:"code"`
	Schedule     *models.Schedule `json:"schedule"`
	Stock        optionalStock    `json:"stock"`
}

// optionalStock tells an absent "stock" from "stock": null.
type optionalStock struct {
	set   bool
	value *models.Stock
}

// UnmarshalJSON records that the field was present, and its value (nil for
// null), rejecting unknown fields as decode does.
func (o *optionalStock) UnmarshalJSON(b []byte) error {
	o.set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.value = nil
		return nil
	}
	var st models.Stock
	if err := decodeJSON(b, &st); err != nil {
		return &models.Error{Code: models.CodeInvalid, Message: "stock must be an object with quantity, unitsPerDose and refillLeadDays, or null",
			Fields: []models.FieldProblem{{Field: "stock", Problem: "must be {quantity, unitsPerDose, refillLeadDays} or null"}}}
	}
	o.value = &st
	return nil
}

func (s *server) patchMedication(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.WriteMedications)
	if err != nil {
		return err
	}
	version, err := ifMatch(c)
	if err != nil {
		return err
	}
	var req medicationPatch
	if err := decode(c, &req); err != nil {
		return err
	}
	m, err := s.Medications.Update(c.UserContext(), patient, pathParam(c, "medicationId"), services.MedicationChange{
		Name: req.Name, Strength: req.Strength, Form: req.Form, Instructions: req.Instructions, Code: req.Code,
		Schedule: req.Schedule, Stock: req.Stock.value, RemoveStock: req.Stock.set && req.Stock.value == nil,
	}, version)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderETag, etag(m.UpdatedAt))
	return c.JSON(m)
}

func (s *server) stopMedication(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.WriteMedications)
	if err != nil {
		return err
	}
	version, err := ifMatch(c)
	if err != nil {
		return err
	}
	m, err := s.Medications.Stop(c.UserContext(), patient, pathParam(c, "medicationId"), version)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderETag, etag(m.UpdatedAt))
	return c.JSON(m)
}
