package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/report"
	"github.com/concord-health/concord/services"
)

// ReportBuilder gathers the consultation report (services.Reports).
type ReportBuilder interface {
	Report(ctx context.Context, patient models.User, days int) (services.Report, error)
}

// ReportLinkManager makes, lists, revokes and resolves the report's share
// links (services.ReportLinks).
type ReportLinkManager interface {
	Create(ctx context.Context, patientID string, days, expiresInDays int) (services.NewReportLink, error)
	List(ctx context.Context, patientID string) ([]models.ReportLink, error)
	Revoke(ctx context.Context, patientID, id string) error
	Resolve(ctx context.Context, token string) (models.ReportLink, error)
}

// ShareLinkPolicy decides a request through a share link (services.Access).
type ShareLinkPolicy interface {
	AuthorizeShareLink(ctx context.Context, link models.ReportLink, clientAddress string) (models.User, error)
}

// mediaPDF is the report's media type.
const mediaPDF = "application/pdf"

// sharedReportPath is where a share link's report is served, before its
// token.
const sharedReportPath = "/r/"

// reportRoutes registers the consultation report, its share links (the
// patient's) and the unauthenticated route a share link opens.
func (s *server) reportRoutes(app *fiber.App, patient fiber.Router) {
	patient.Get("/report", s.patientReport)
	patient.Post("/report/links", s.createReportLink)
	patient.Get("/report/links", s.listReportLinks)
	patient.Delete("/report/links/:linkId", s.revokeReportLink)
	app.Get(sharedReportPath+":token", s.sharedReport)
}

// patientReport renders the report for the patient or their nominated
// pharmacy's pharmacist (the policy decides and logs the pharmacist's
// access); the patient's own is written in their log too.
func (s *server) patientReport(c *fiber.Ctx) error {
	var p models.Problems
	days := intParam(c, "days", models.MinReportDays, models.MaxReportDays, models.DefaultReportDays, &p)
	if err := p.Err(); err != nil {
		return err
	}
	patient, err := s.authorize(c, services.ReadReport)
	if err != nil {
		return err
	}
	if me := principal(c); me.Role == models.RolePatient && me.UserID == patient.ID {
		if err := s.Access.RecordOwn(c.UserContext(), me, services.ReadReport, "report"); err != nil {
			return err
		}
	}
	return s.sendReport(c, patient, days)
}

// sendReport renders the patient's report and sends it, never to be
// cached.
func (s *server) sendReport(c *fiber.Ctx, patient models.User, days int) error {
	r, err := s.Reports.Report(c.UserContext(), patient, days)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := report.Write(&b, r); err != nil {
		return fmt.Errorf("render report of %s: %w", patient.ID, err)
	}
	c.Set(fiber.HeaderContentType, mediaPDF)
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`inline; filename="concord-report-%s.pdf"`, r.GeneratedAt.In(r.Location).Format(time.DateOnly)))
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(b.Bytes())
}

// sharedReport serves the report a share link opens, without signing in:
// limited per client address like the other anonymous routes, written in
// the patient's access log as the link from the client's address, never
// cached and never passing its address on as a referrer. An unknown,
// revoked or expired link is 404 alike.
func (s *server) sharedReport(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set("X-Robots-Tag", "noindex, nofollow")
	address := s.clients.of(c)
	if err := s.shareLinks.allow(throttleKey(address)); err != nil {
		return err
	}
	link, err := s.ReportLinks.Resolve(c.UserContext(), pathParam(c, "token"))
	if err != nil {
		return err
	}
	patient, err := s.ShareLinks.AuthorizeShareLink(c.UserContext(), link, address.String())
	if err != nil {
		return err
	}
	return s.sendReport(c, patient, link.Days)
}

// reportLinkRequest asks for a share link.
type reportLinkRequest struct {
	Days          int `json:"days"`
	ExpiresInDays int `json:"expiresInDays"`
}

// newReportLinkResponse is a link just made, with the address that opens
// it: shown this once.
type newReportLinkResponse struct {
	Link models.ReportLink `json:"link"`
	URL  string            `json:"url"`
}

type reportLinkList struct {
	Items []models.ReportLink `json:"items"`
}

func (s *server) createReportLink(c *fiber.Ctx) error {
	var req reportLinkRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	patient, err := s.authorize(c, services.ManageReportLinks)
	if err != nil {
		return err
	}
	made, err := s.ReportLinks.Create(c.UserContext(), patient.ID, req.Days, req.ExpiresInDays)
	if err != nil {
		return err
	}
	if err := s.Access.RecordOwn(c.UserContext(), principal(c), services.ManageReportLinks, "report/links"); err != nil {
		return err
	}
	url := strings.TrimSuffix(c.BaseURL(), "/") + sharedReportPath + made.Token
	return c.Status(http.StatusCreated).JSON(newReportLinkResponse{Link: made.Link, URL: url})
}

func (s *server) listReportLinks(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ManageReportLinks)
	if err != nil {
		return err
	}
	links, err := s.ReportLinks.List(c.UserContext(), patient.ID)
	if err != nil {
		return err
	}
	return c.JSON(reportLinkList{Items: links})
}

func (s *server) revokeReportLink(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ManageReportLinks)
	if err != nil {
		return err
	}
	id := pathParam(c, "linkId")
	if err := s.ReportLinks.Revoke(c.UserContext(), patient.ID, id); err != nil {
		return err
	}
	if err := s.Access.RecordOwn(c.UserContext(), principal(c), services.ManageReportLinks, "report/links/"+id); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}
