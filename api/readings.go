package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// Readings is what the readings handlers call.
type Readings interface {
	Create(ctx context.Context, patient models.User, r models.Reading) (models.Reading, bool, error)
	CreateBatch(ctx context.Context, patient models.User, rs []models.Reading) ([]services.ReadingResult, error)
	List(ctx context.Context, patient models.User, q services.ReadingListQuery) (services.ReadingPage, error)
	Get(ctx context.Context, patient models.User, id string) (models.Reading, error)
	Delete(ctx context.Context, patient models.User, id string) error
	Summary(ctx context.Context, patient models.User, typ models.ReadingType, days int) (models.ReadingSummary, error)
	Import(ctx context.Context, patient models.User, items []services.ImportItem) ([]services.ImportResult, error)
}

// readingRoutes registers the readings routes on the patient group. The
// fixed paths come before /readings/:readingId, which would match them.
func (s *server) readingRoutes(patient fiber.Router) {
	patient.Post("/readings", s.createReading)
	patient.Post("/readings/batch", s.createReadingBatch)
	patient.Post("/readings/fhir", s.importReadingsFHIR)
	patient.Get("/readings", s.listReadings)
	patient.Get("/readings/summary", s.readingSummary)
	patient.Get("/readings/:readingId", s.getReading)
	patient.Delete("/readings/:readingId", s.deleteReading)
}

// readingInput is a reading as a client sends it: only client-owned fields.
type readingInput struct {
	ID        string             `json:"id"`
	Type      models.ReadingType `json:"type"`
	TakenAt   string             `json:"takenAt"`
	Unit      string             `json:"unit"`
	Value     *float64           `json:"value"`
	Systolic  *float64           `json:"systolic"`
	Diastolic *float64           `json:"diastolic"`
	Pulse     *float64           `json:"pulse"`
	Context   string             `json:"context"`
	Note      string             `json:"note"`
}

// toModel converts the input; a takenAt that is not RFC 3339 is invalid
// (a missing one is left zero, for the model's "is required").
func (in readingInput) toModel() (models.Reading, error) {
	var takenAt time.Time
	if in.TakenAt != "" {
		t, err := time.Parse(time.RFC3339Nano, in.TakenAt)
		if err != nil {
			return models.Reading{}, &models.Error{Code: models.CodeInvalid, Message: "the request has invalid fields",
				Fields: []models.FieldProblem{{Field: "takenAt", Problem: "must be an RFC 3339 date-time such as 2026-03-01T08:30:00Z"}}}
		}
		takenAt = t
	}
	return models.Reading{
		ID: in.ID, Type: in.Type, TakenAt: takenAt, Unit: in.Unit,
		Value: in.Value, Systolic: in.Systolic, Diastolic: in.Diastolic, Pulse: in.Pulse,
		Context: in.Context, Note: in.Note,
	}, nil
}

func (s *server) createReading(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.WriteReadings)
	if err != nil {
		return err
	}
	var in readingInput
	if err := decode(c, &in); err != nil {
		return err
	}
	r, err := in.toModel()
	if err != nil {
		return err
	}
	stored, created, err := s.Readings.Create(c.UserContext(), patient, r)
	if err != nil {
		return err
	}
	if created {
		return c.Status(http.StatusCreated).JSON(stored)
	}
	return c.JSON(stored)
}

// readingBatchRequest holds the readings undecoded: each is decoded on its
// own, so that one malformed reading is reported as invalid in its result
// instead of failing the batch.
type readingBatchRequest struct {
	Readings []json.RawMessage `json:"readings"`
}

// readingBatchResponse is the answer to a batch upload: one result per
// reading sent, in the same order.
type readingBatchResponse struct {
	Results []readingBatchResult `json:"results"`
}

type readingBatchResult struct {
	ID      string                 `json:"id,omitempty"`
	Status  services.ReadingStatus `json:"status"`
	Reading *models.Reading        `json:"reading,omitempty"`
	Error   *itemProblem           `json:"error,omitempty"`
}

// itemProblem is why one item of a batch failed: a problem's code, detail
// and per-field errors.
type itemProblem struct {
	Code   models.Code           `json:"code"`
	Detail string                `json:"detail,omitempty"`
	Errors []models.FieldProblem `json:"errors,omitempty"`
}

func itemProblemOf(err error) *itemProblem {
	var me *models.Error
	if !errors.As(err, &me) || me.Code == models.CodeInternal {
		return &itemProblem{Code: models.CodeInternal}
	}
	return &itemProblem{Code: me.Code, Detail: me.Message, Errors: me.Fields}
}

func (s *server) createReadingBatch(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.WriteReadings)
	if err != nil {
		return err
	}
	var req readingBatchRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	switch {
	case req.Readings == nil:
		return &models.Error{Code: models.CodeInvalid, Message: "the request has invalid fields",
			Fields: []models.FieldProblem{{Field: "readings", Problem: "is required"}}}
	case len(req.Readings) > services.MaxReadingBatch:
		return &models.Error{Code: models.CodeInvalid, Message: "too many readings in one batch",
			Fields: []models.FieldProblem{{Field: "readings", Problem: "must hold at most " + strconv.Itoa(services.MaxReadingBatch) + " readings"}}}
	}

	results := make([]readingBatchResult, len(req.Readings))
	decoded := make([]models.Reading, 0, len(req.Readings))
	at := make([]int, 0, len(req.Readings)) // decoded[j] is item at[j]
	for i, raw := range req.Readings {
		r, err := decodeReadingItem(raw)
		if err != nil {
			results[i] = readingBatchResult{ID: itemID(raw), Status: services.ReadingInvalid, Error: itemProblemOf(err)}
			continue
		}
		decoded = append(decoded, r)
		at = append(at, i)
	}
	out, err := s.Readings.CreateBatch(c.UserContext(), patient, decoded)
	if err != nil {
		return err
	}
	for j, res := range out {
		br := readingBatchResult{ID: res.ID, Status: res.Status, Reading: res.Reading}
		if res.Err != nil {
			br.Error = itemProblemOf(res.Err)
		}
		results[at[j]] = br
	}
	return c.JSON(readingBatchResponse{Results: results})
}

// decodeReadingItem decodes one reading of a batch as decode does a body:
// keys exact and unique, unknown fields rejected, errors naming the field.
func decodeReadingItem(raw json.RawMessage) (models.Reading, error) {
	var in readingInput
	if err := decodeJSON(raw, &in); err != nil {
		return models.Reading{}, err
	}
	return in.toModel()
}

// itemID returns the id a malformed batch item carries, if it can be read,
// so that the client can match the result.
func itemID(raw json.RawMessage) string {
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &v) != nil || len(v.ID) > 64 {
		return ""
	}
	return v.ID
}

// readingListResponse is a page of readings.
type readingListResponse struct {
	Items      []models.Reading `json:"items"`
	NextCursor string           `json:"nextCursor,omitempty"`
}

func (s *server) listReadings(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ReadReadings)
	if err != nil {
		return err
	}
	var (
		p models.Problems
		q services.ReadingListQuery
	)
	q.Type = readingTypeParam(c, &p)
	q.From = timeParam(c, "from", &p)
	q.To = timeParam(c, "to", &p)
	q.Limit = intParam(c, "limit", 1, services.MaxReadingPage, services.DefaultReadingPage, &p)
	q.Cursor = strings.Clone(c.Query("cursor"))
	if err := p.Err(); err != nil {
		return err
	}
	page, err := s.Readings.List(c.UserContext(), patient, q)
	if err != nil {
		return err
	}
	return c.JSON(readingListResponse{Items: page.Items, NextCursor: page.NextCursor})
}

func (s *server) readingSummary(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ReadReadings)
	if err != nil {
		return err
	}
	var p models.Problems
	typ := readingTypeParam(c, &p)
	if typ == "" && len(p) == 0 {
		p.Add("type", "is required")
	}
	days := intParam(c, "days", 1, services.MaxSummaryDays, services.DefaultSummaryDays, &p)
	if err := p.Err(); err != nil {
		return err
	}
	sum, err := s.Readings.Summary(c.UserContext(), patient, typ, days)
	if err != nil {
		return err
	}
	return c.JSON(sum)
}

func (s *server) getReading(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ReadReadings)
	if err != nil {
		return err
	}
	r, err := s.Readings.Get(c.UserContext(), patient, strings.Clone(c.Params("readingId")))
	if err != nil {
		return err
	}
	// A reading never changes (it can only be deleted): its version is
	// its creation.
	return sendVersioned(c, r.CreatedAt, r)
}

func (s *server) deleteReading(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.WriteReadings)
	if err != nil {
		return err
	}
	if err := s.Readings.Delete(c.UserContext(), patient, strings.Clone(c.Params("readingId"))); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

// readingTypeParam reads the "type" query parameter: "" when absent.
func readingTypeParam(c *fiber.Ctx, p *models.Problems) models.ReadingType {
	v := c.Query("type")
	if v == "" {
		return ""
	}
	t := models.ReadingType(strings.Clone(v))
	if !t.Valid() {
		names := make([]string, 0, 8)
		for _, rt := range models.ReadingTypes() {
			names = append(names, string(rt))
		}
		p.Add("type", "must be one of %s", strings.Join(names, ", "))
		return ""
	}
	return t
}

// timeParam reads an RFC 3339 query parameter: zero when absent.
func timeParam(c *fiber.Ctx, name string, p *models.Problems) time.Time {
	v := c.Query(name)
	if v == "" {
		return time.Time{}
	}
	// An unencoded "+" in an offset arrives as a space.
	t, err := time.Parse(time.RFC3339Nano, strings.Replace(v, " ", "+", 1))
	if err != nil {
		p.Add(name, "must be an RFC 3339 date-time such as 2026-03-01T00:00:00Z")
		return time.Time{}
	}
	return t
}

// intParam reads an integer query parameter in [lo, hi]: def when absent.
func intParam(c *fiber.Ctx, name string, lo, hi, def int, p *models.Problems) int {
	v := c.Query(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.Add(name, "must be a whole number between %d and %d", lo, hi)
		return def
	}
	return n
}
