package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// PharmacyRegister is what the pharmacy handlers call.
type PharmacyRegister interface {
	Create(ctx context.Context, odsCode, name, postcode string) (models.Pharmacy, error)
	Get(ctx context.Context, id string) (models.Pharmacy, error)
	Search(ctx context.Context, text string) ([]models.Pharmacy, error)
}

// ConsentManager is what the nomination handlers call.
type ConsentManager interface {
	Nominate(ctx context.Context, patientID, pharmacyID string, consent bool) (services.PharmacyNomination, error)
	Withdraw(ctx context.Context, patientID string) error
	Current(ctx context.Context, patientID string) (services.PharmacyNomination, error)
	History(ctx context.Context, patientID string) ([]models.Consent, error)
}

// pharmacyRoutes registers the pharmacy register (admins add, anyone
// signed in searches) and a patient's nomination of their pharmacy.
func (s *server) pharmacyRoutes(app *fiber.App, patient fiber.Router) {
	app.Post("/v1/admin/pharmacies", authenticated(s.Accounts, models.RoleAdmin), s.createPharmacy)
	app.Get("/v1/pharmacies", authenticated(s.Accounts), s.searchPharmacies)
	app.Get("/v1/pharmacies/:pharmacyId", authenticated(s.Accounts), s.getPharmacy)

	patient.Get("/pharmacy", s.getNomination)
	patient.Put("/pharmacy", s.nominatePharmacy)
	patient.Delete("/pharmacy", s.withdrawPharmacy)
	patient.Get("/pharmacy/consents", s.consentHistory)
}

type pharmacyRequest struct {
	ODSCode  string `json:"odsCode"`
	Name     string `json:"name"`
	Postcode string `json:"postcode"`
}

func (s *server) createPharmacy(c *fiber.Ctx) error {
	var req pharmacyRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ph, err := s.Pharmacies.Create(c.UserContext(), req.ODSCode, req.Name, req.Postcode)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(ph)
}

func (s *server) searchPharmacies(c *fiber.Ctx) error {
	found, err := s.Pharmacies.Search(c.UserContext(), strings.TrimSpace(c.Query("q")))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": found})
}

func (s *server) getPharmacy(c *fiber.Ctx) error {
	ph, err := s.Pharmacies.Get(c.UserContext(), strings.Clone(c.Params("pharmacyId")))
	if err != nil {
		return err
	}
	return c.JSON(ph)
}

func (s *server) getNomination(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ManagePharmacy)
	if err != nil {
		return err
	}
	n, err := s.Consents.Current(c.UserContext(), patient.ID)
	if err != nil {
		return err
	}
	return c.JSON(n)
}

type nominationRequest struct {
	PharmacyID string `json:"pharmacyId"`
	Consent    bool   `json:"consent"`
}

func (s *server) nominatePharmacy(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ManagePharmacy)
	if err != nil {
		return err
	}
	var req nominationRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	n, err := s.Consents.Nominate(c.UserContext(), patient.ID, req.PharmacyID, req.Consent)
	if err != nil {
		return err
	}
	return c.JSON(n)
}

func (s *server) withdrawPharmacy(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ManagePharmacy)
	if err != nil {
		return err
	}
	if err := s.Consents.Withdraw(c.UserContext(), patient.ID); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

func (s *server) consentHistory(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ManagePharmacy)
	if err != nil {
		return err
	}
	h, err := s.Consents.History(c.UserContext(), patient.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": h})
}
