package api

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// FlagQueue is what the pharmacist's review-queue handlers call.
type FlagQueue interface {
	List(ctx context.Context, p models.Principal, q services.FlagListQuery) (services.FlagPage, error)
	Get(ctx context.Context, p models.Principal, id string) (models.Flag, error)
	Claim(ctx context.Context, p models.Principal, id string) (models.Flag, error)
	AddNote(ctx context.Context, p models.Principal, id, text string) (models.Flag, error)
	Resolve(ctx context.Context, p models.Principal, id string, r services.FlagResolution) (models.Flag, error)
}

// flagRoutes registers the pharmacist's review queue (pharmacists only;
// each flag is authorised against its patient by the service).
func (s *server) flagRoutes(app *fiber.App) {
	pharmacist := authenticated(s.Accounts, models.RolePharmacist)
	app.Get("/v1/pharmacy/flags", pharmacist, s.listFlags)
	app.Get("/v1/pharmacy/flags/:flagId", pharmacist, s.getFlag)
	app.Post("/v1/pharmacy/flags/:flagId/claim", pharmacist, s.claimFlag)
	app.Post("/v1/pharmacy/flags/:flagId/notes", pharmacist, s.addFlagNote)
	app.Post("/v1/pharmacy/flags/:flagId/resolve", pharmacist, s.resolveFlag)
}

// listParam splits a comma-separated query parameter ("open,claimed").
func listParam[T ~string](c *fiber.Ctx, name string) []T {
	v := strings.TrimSpace(c.Query(name))
	if v == "" {
		return nil
	}
	var out []T
	for _, part := range strings.Split(v, ",") {
		out = append(out, T(strings.Clone(strings.TrimSpace(part))))
	}
	return out
}

func (s *server) listFlags(c *fiber.Ctx) error {
	var p models.Problems
	q := services.FlagListQuery{
		Statuses:   listParam[models.FlagStatus](c, "status"),
		Severities: listParam[models.Severity](c, "severity"),
		Rules:      listParam[models.FlagRuleID](c, "rule"),
		Limit:      intParam(c, "limit", 1, services.MaxFlagPage, services.DefaultFlagPage, &p),
		Cursor:     strings.Clone(c.Query("cursor")),
	}
	if err := p.Err(); err != nil {
		return err
	}
	page, err := s.Flags.List(c.UserContext(), principal(c), q)
	if err != nil {
		return err
	}
	return c.JSON(page)
}

func (s *server) getFlag(c *fiber.Ctx) error {
	f, err := s.Flags.Get(c.UserContext(), principal(c), pathParam(c, "flagId"))
	if err != nil {
		return err
	}
	return c.JSON(f)
}

func (s *server) claimFlag(c *fiber.Ctx) error {
	f, err := s.Flags.Claim(c.UserContext(), principal(c), pathParam(c, "flagId"))
	if err != nil {
		return err
	}
	return c.JSON(f)
}

type flagNoteRequest struct {
	Text string `json:"text"`
}

func (s *server) addFlagNote(c *fiber.Ctx) error {
	var req flagNoteRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	f, err := s.Flags.AddNote(c.UserContext(), principal(c), pathParam(c, "flagId"), req.Text)
	if err != nil {
		return err
	}
	return c.JSON(f)
}

type flagResolveRequest struct {
	Outcome    models.FlagOutcome `json:"outcome"`
	Note       string             `json:"note"`
	FollowUpAt *string            `json:"followUpAt"`
}

func (s *server) resolveFlag(c *fiber.Ctx) error {
	var req flagResolveRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	var p models.Problems
	r := services.FlagResolution{Outcome: req.Outcome, Note: req.Note}
	if at := parseBodyTime("followUpAt", req.FollowUpAt, &p); !at.IsZero() {
		r.FollowUpAt = &at
	}
	if err := p.Err(); err != nil {
		return err
	}
	f, err := s.Flags.Resolve(c.UserContext(), principal(c), pathParam(c, "flagId"), r)
	if err != nil {
		return err
	}
	return c.JSON(f)
}
