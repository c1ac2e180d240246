package api

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// Policy is the access policy every patient-data route asks.
type Policy interface {
	Authorize(ctx context.Context, p models.Principal, patientID string, action services.Action) (models.User, error)
	// AuthorizeResource is Authorize naming what the request touches
	// (e.g. "readings/<id>") in the audit entry.
	AuthorizeResource(ctx context.Context, p models.Principal, patientID string, action services.Action, resource string) (models.User, error)
	// RecordOwn logs what the patient did to their own record that the
	// access log keeps (an export).
	RecordOwn(ctx context.Context, p models.Principal, action services.Action, resource string) error
}

// patientRoutes returns the router for /v1/patients/{patientId}: signed-in
// callers only; each handler then asks the policy through s.authorize.
func (s *server) patientRoutes(app *fiber.App) fiber.Router {
	return app.Group("/v1/patients/:patientId", authenticated(s.Accounts))
}

// authorize resolves the path's patient ("me" is the caller) and asks the
// policy whether the caller may do action; it returns the patient. The
// audit entry names the path after the patient (e.g. "readings/<id>").
func (s *server) authorize(c *fiber.Ctx, action services.Action) (models.User, error) {
	p := principal(c)
	id := c.Params("patientId")
	if id == "me" {
		id = p.UserID
	}
	return s.Access.AuthorizeResource(c.UserContext(), p, strings.Clone(id), action, patientResource(c.Path()))
}

// patientResource is the part of a patient route's path after
// /v1/patients/{patientId}/, such as "readings/<id>".
func patientResource(path string) string {
	rest, _ := strings.CutPrefix(path, "/v1/patients/")
	_, resource, _ := strings.Cut(rest, "/")
	return strings.Clone(strings.TrimSuffix(resource, "/"))
}
