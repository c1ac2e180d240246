package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// CareCircle is what the carer handlers call.
type CareCircle interface {
	Invite(ctx context.Context, patientID string, scopes []models.CareScope, note string) (services.NewInvitation, error)
	Invitations(ctx context.Context, patientID string) ([]models.CareInvitation, error)
	RevokeInvitation(ctx context.Context, patientID, id string) error
	Accept(ctx context.Context, carerID, code string) (models.CareLink, bool, error)
	Links(ctx context.Context, patientID string) ([]models.CareLink, error)
	Link(ctx context.Context, patientID, linkID string) (models.CareLink, error)
	UpdateLink(ctx context.Context, patientID, linkID string, change services.LinkChange, ifMatch *time.Time) (models.CareLink, error)
	RevokeLink(ctx context.Context, patientID, linkID string, ifMatch *time.Time) error
	MyPatients(ctx context.Context, carerID string) ([]models.CaredPatient, error)
	Leave(ctx context.Context, carerID, patientID string) error
}

// careRoutes registers the care circle: the patient's side under the
// patient routes (patient only, through the policy), the carer's side
// under /v1/care and /v1/me (carers only).
func (s *server) careRoutes(app *fiber.App, patient fiber.Router) {
	patient.Post("/carers/invitations", s.createInvitation)
	patient.Get("/carers/invitations", s.listInvitations)
	patient.Delete("/carers/invitations/:invitationId", s.revokeInvitation)
	patient.Get("/carers", s.listCarers)
	patient.Get("/carers/:linkId", s.getCarer)
	patient.Patch("/carers/:linkId", s.updateCarer)
	patient.Delete("/carers/:linkId", s.revokeCarer)

	carer := authenticated(s.Accounts, models.RoleCarer)
	app.Post("/v1/care/invitations/accept", carer, s.acceptInvitation)
	app.Get("/v1/me/patients", carer, s.myPatients)
	app.Delete("/v1/me/patients/:patientId", carer, s.leavePatient)
}

type invitationRequest struct {
	Scopes []models.CareScope `json:"scopes"`
	Note   string             `json:"note"`
}

func (s *server) createInvitation(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ManageCarers)
	if err != nil {
		return err
	}
	var req invitationRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	inv, err := s.Care.Invite(c.UserContext(), patient.ID, req.Scopes, req.Note)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(http.StatusCreated).JSON(inv)
}

func (s *server) listInvitations(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ManageCarers)
	if err != nil {
		return err
	}
	invs, err := s.Care.Invitations(c.UserContext(), patient.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": invs})
}

func (s *server) revokeInvitation(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ManageCarers)
	if err != nil {
		return err
	}
	if err := s.Care.RevokeInvitation(c.UserContext(), patient.ID, strings.Clone(c.Params("invitationId"))); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

func (s *server) listCarers(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ManageCarers)
	if err != nil {
		return err
	}
	links, err := s.Care.Links(c.UserContext(), patient.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": links})
}

type linkChangeRequest struct {
	Scopes *[]models.CareScope `json:"scopes"`
	Paused *bool               `json:"paused"`
}

func (s *server) getCarer(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ManageCarers)
	if err != nil {
		return err
	}
	l, err := s.Care.Link(c.UserContext(), patient.ID, pathParam(c, "linkId"))
	if err != nil {
		return err
	}
	return sendVersioned(c, l.UpdatedAt, l)
}

func (s *server) updateCarer(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ManageCarers)
	if err != nil {
		return err
	}
	version, err := ifMatch(c)
	if err != nil {
		return err
	}
	var req linkChangeRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	l, err := s.Care.UpdateLink(c.UserContext(), patient.ID, pathParam(c, "linkId"), services.LinkChange{Scopes: req.Scopes, Paused: req.Paused}, version)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderETag, etag(l.UpdatedAt))
	return c.JSON(l)
}

func (s *server) revokeCarer(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ManageCarers)
	if err != nil {
		return err
	}
	version, err := ifMatch(c)
	if err != nil {
		return err
	}
	if err := s.Care.RevokeLink(c.UserContext(), patient.ID, pathParam(c, "linkId"), version); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

type acceptRequest struct {
	Code string `json:"code"`
}

func (s *server) acceptInvitation(c *fiber.Ctx) error {
	var req acceptRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	link, created, err := s.Care.Accept(c.UserContext(), principal(c).UserID, req.Code)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.Status(status).JSON(link)
}

func (s *server) myPatients(c *fiber.Ctx) error {
	ps, err := s.Care.MyPatients(c.UserContext(), principal(c).UserID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": ps})
}

func (s *server) leavePatient(c *fiber.Ctx) error {
	if err := s.Care.Leave(c.UserContext(), principal(c).UserID, strings.Clone(c.Params("patientId"))); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}
