package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
)

// problem is an RFC 9457 problem details body with Concord's extensions.
type problem struct {
	Type      string                `json:"type"`
	Title     string                `json:"title"`
	Status    int                   `json:"status"`
	Detail    string                `json:"detail,omitempty"`
	Code      models.Code           `json:"code"`
	Instance  string                `json:"instance,omitempty"`
	RequestID string                `json:"requestId,omitempty"`
	Errors    []models.FieldProblem `json:"errors,omitempty"`
}

var statusOf = map[models.Code]int{
	models.CodeInvalid:              http.StatusBadRequest,
	models.CodeUnauthorized:         http.StatusUnauthorized,
	models.CodeForbidden:            http.StatusForbidden,
	models.CodeNotFound:             http.StatusNotFound,
	models.CodeConflict:             http.StatusConflict,
	models.CodeRateLimited:          http.StatusTooManyRequests,
	models.CodeTooLarge:             http.StatusRequestEntityTooLarge,
	models.CodePreconditionFailed:   http.StatusPreconditionFailed,
	models.CodePreconditionRequired: http.StatusPreconditionRequired,
	models.CodeUnavailable:          http.StatusServiceUnavailable,
	models.CodeInternal:             http.StatusInternalServerError,
}

// codeOfStatus maps Fiber's own errors (unknown route, wrong method, body
// too large) to codes.
func codeOfStatus(status int) models.Code {
	switch status {
	case http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return models.CodeInvalid
	case http.StatusUnauthorized:
		return models.CodeUnauthorized
	case http.StatusForbidden:
		return models.CodeForbidden
	case http.StatusNotFound:
		return models.CodeNotFound
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusConflict:
		return models.CodeConflict
	case http.StatusRequestEntityTooLarge:
		return models.CodeTooLarge
	case http.StatusTooManyRequests:
		return models.CodeRateLimited
	}
	return models.CodeInternal
}

// errorHandler is the one place errors become responses: models errors by
// code, Fiber errors by status, anything else a 500 with a fixed message
// (logged with the request id, never shown).
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		var (
			me     *models.Error
			fe     *fiber.Error
			status int
			p      problem
		)
		switch {
		case errors.As(err, &me) && me.Code != models.CodeInternal:
			status = statusOf[me.Code]
			if status == 0 {
				status = http.StatusInternalServerError
			}
			p = problem{Code: me.Code, Detail: me.Message, Errors: me.Fields}
			if me.Code == models.CodeUnavailable {
				// The cause names what failed (busy, disk full), never
				// a record's content; clients see the fixed message.
				log.WarnContext(c.UserContext(), "store unavailable", "err", err, "method", c.Method(), "route", c.Route().Path)
			}
			if me.RetryAfter > 0 {
				c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int((me.RetryAfter+999_999_999)/1_000_000_000)))
			}
		case errors.As(err, &fe) && fe.Code < 500:
			status = fe.Code
			p = problem{Code: codeOfStatus(fe.Code), Detail: fe.Message}
		default:
			status = http.StatusInternalServerError
			p = problem{Code: models.CodeInternal, Detail: "something went wrong on our side; the request id identifies it in our logs"}
			log.ErrorContext(c.UserContext(), "internal error", "err", err, "method", c.Method(), "route", c.Route().Path)
		}
		p.Type = "urn:concord:problem:" + string(p.Code)
		p.Title = http.StatusText(status)
		p.Status = status
		p.Instance = c.Path()
		p.RequestID = requestID(c)
		c.Status(status)
		c.Set(fiber.HeaderContentType, "application/problem+json")
		body, merr := jsonMarshal(p)
		if merr != nil {
			return c.SendString(`{"type":"about:blank","status":500,"code":"internal"}`)
		}
		return c.Send(body)
	}
}
