package api

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// ChangeFeed is what the change-feed handler calls.
type ChangeFeed interface {
	Page(ctx context.Context, p models.Principal, patient models.User, since string, limit int) (services.ChangePage, error)
}

// changeRoutes registers /v1/patients/{patientId}/changes: the patient, a
// carer with an active link, the nominated pharmacy's pharmacist; each
// sees what their per-resource reads allow (services.Changes).
func (s *server) changeRoutes(patient fiber.Router) {
	patient.Get("/changes", s.listChanges)
}

// changeView is one entry of the feed: the record under the key of its
// kind, or only its id when it was deleted outright.
type changeView struct {
	Kind         models.FeedKind    `json:"kind"`
	ID           string             `json:"id"`
	UpdatedAt    time.Time          `json:"updatedAt"`
	Deleted      bool               `json:"deleted"`
	Reading      *models.Reading    `json:"reading,omitempty"`
	Medication   *models.Medication `json:"medication,omitempty"`
	Dose         *models.Dose       `json:"dose,omitempty"`
	Notification *notificationView  `json:"notification,omitempty"`
	CareLink     *models.CareLink   `json:"careLink,omitempty"`
}

type changesPage struct {
	Changes []changeView `json:"changes"`
	Next    string       `json:"next"`
	HasMore bool         `json:"hasMore"`
	Reset   bool         `json:"reset"`
}

func (s *server) listChanges(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ReadChanges)
	if err != nil {
		return err
	}
	limit := 0
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > services.MaxChangesPage {
			return &models.Error{Code: models.CodeInvalid, Message: "the request has invalid fields",
				Fields: []models.FieldProblem{{Field: "limit", Problem: "must be a whole number from 1 to " + strconv.Itoa(services.MaxChangesPage)}}}
		}
		limit = n
	}
	page, err := s.Changes.Page(c.UserContext(), principal(c), patient, strings.Clone(c.Query("since")), limit)
	if err != nil {
		return err
	}
	out := changesPage{Changes: make([]changeView, len(page.Changes)), Next: page.Next, HasMore: page.HasMore, Reset: page.Reset}
	for i, ch := range page.Changes {
		v := changeView{Kind: ch.Kind, ID: ch.ID, UpdatedAt: ch.UpdatedAt, Deleted: ch.Deleted,
			Reading: ch.Reading, Medication: ch.Medication, Dose: ch.Dose, CareLink: ch.CareLink}
		if n := ch.Notification; n != nil {
			v.Notification = &notificationView{ID: n.ID, Kind: n.Kind, PatientID: n.PatientID, Title: n.Title, Body: n.Body, Data: n.Data,
				DueAt: n.DueAt, State: n.State, SentAt: n.SentAt, ReadAt: n.ReadAt}
		}
		out.Changes[i] = v
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}
