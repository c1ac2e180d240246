package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// DeviceRegistry is what the device handlers call.
type DeviceRegistry interface {
	Register(ctx context.Context, p models.Principal, token string, platform models.Platform) (models.Device, bool, error)
	List(ctx context.Context, p models.Principal) ([]models.Device, error)
	Remove(ctx context.Context, p models.Principal, id string) error
}

// Inbox is what the in-app inbox handlers call.
type Inbox interface {
	Inbox(ctx context.Context, p models.Principal, limit int, cursor string) (services.NotificationPage, error)
	MarkRead(ctx context.Context, p models.Principal, id string) error
}

// notificationRoutes registers the caller's devices and inbox. Any
// signed-in user has them (patients, carers and pharmacists are all sent
// notifications).
func (s *server) notificationRoutes(app *fiber.App) {
	signedIn := authenticated(s.Accounts)
	app.Post("/v1/me/devices", signedIn, s.registerDevice)
	app.Get("/v1/me/devices", signedIn, s.listDevices)
	app.Delete("/v1/me/devices/:deviceId", signedIn, s.removeDevice)
	app.Get("/v1/me/notifications", signedIn, s.listNotifications)
	app.Post("/v1/me/notifications/:notificationId/read", signedIn, s.readNotification)
}

type deviceRequest struct {
	Token    string          `json:"token"`
	Platform models.Platform `json:"platform"`
}

// deviceView is a device as its owner sees it: never the token itself.
type deviceView struct {
	ID         string          `json:"id"`
	Platform   models.Platform `json:"platform"`
	TokenHint  string          `json:"tokenHint"`
	CreatedAt  time.Time       `json:"createdAt"`
	LastSeenAt time.Time       `json:"lastSeenAt"`
}

func viewDevice(d models.Device) deviceView {
	return deviceView{ID: d.ID, Platform: d.Platform, TokenHint: d.TokenHint, CreatedAt: d.CreatedAt, LastSeenAt: d.LastSeenAt}
}

func (s *server) registerDevice(c *fiber.Ctx) error {
	var req deviceRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	d, created, err := s.Devices.Register(c.UserContext(), principal(c), req.Token, req.Platform)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.Status(status).JSON(viewDevice(d))
}

func (s *server) listDevices(c *fiber.Ctx) error {
	devs, err := s.Devices.List(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	items := make([]deviceView, len(devs))
	for i, d := range devs {
		items[i] = viewDevice(d)
	}
	return c.JSON(fiber.Map{"items": items})
}

func (s *server) removeDevice(c *fiber.Ctx) error {
	if err := s.Devices.Remove(c.UserContext(), principal(c), pathParam(c, "deviceId")); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

// notificationView is a notification as its recipient's inbox shows it.
type notificationView struct {
	ID        string                   `json:"id"`
	Kind      models.NotificationKind  `json:"kind"`
	PatientID string                   `json:"patientId,omitempty"`
	Title     string                   `json:"title"`
	Body      string                   `json:"body"`
	Data      map[string]string        `json:"data,omitempty"`
	DueAt     time.Time                `json:"dueAt"`
	State     models.NotificationState `json:"state"`
	SentAt    *time.Time               `json:"sentAt,omitempty"`
	ReadAt    *time.Time               `json:"readAt,omitempty"`
}

// inboxPage is one page of the inbox, newest first.
type inboxPage struct {
	Items      []notificationView `json:"items"`
	NextCursor string             `json:"nextCursor,omitempty"`
}

func (s *server) listNotifications(c *fiber.Ctx) error {
	limit := 0
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > services.MaxInboxPage {
			return &models.Error{Code: models.CodeInvalid, Message: "the request has invalid fields",
				Fields: []models.FieldProblem{{Field: "limit", Problem: "must be a whole number from 1 to " + strconv.Itoa(services.MaxInboxPage)}}}
		}
		limit = n
	}
	page, err := s.Inbox.Inbox(c.UserContext(), principal(c), limit, strings.Clone(c.Query("cursor")))
	if err != nil {
		return err
	}
	items := make([]notificationView, len(page.Items))
	for i, n := range page.Items {
		items[i] = notificationView{ID: n.ID, Kind: n.Kind, PatientID: n.PatientID, Title: n.Title, Body: n.Body, Data: n.Data,
			DueAt: n.DueAt, State: n.State, SentAt: n.SentAt, ReadAt: n.ReadAt}
	}
	return c.JSON(inboxPage{Items: items, NextCursor: page.NextCursor})
}

func (s *server) readNotification(c *fiber.Ctx) error {
	// Notification ids contain ':' ("dose_reminder:med1:2026-03-29T08:00"),
	// which clients may send as is or percent-encoded; pathParam decodes.
	if err := s.Inbox.MarkRead(c.UserContext(), principal(c), pathParam(c, "notificationId")); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}
