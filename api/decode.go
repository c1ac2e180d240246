package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
)

var jsonMarshal = json.Marshal

// decode reads the request body as JSON into v: the content type must be
// JSON, and the body is then read as decodeJSON reads it. (The size limit
// is Fiber's BodyLimit: an over-long body never reaches a handler and gets
// 413.)
func decode(c *fiber.Ctx, v any) error {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return &models.Error{Code: models.CodeInvalid, Message: "the body must be JSON (Content-Type: application/json)",
			Fields: []models.FieldProblem{{Field: "Content-Type", Problem: "must be application/json"}}}
	}
	return decodeJSON(c.Body(), v)
}

// decodeJSON decodes body into v: no object may hold a key twice, or two
// keys that differ only in case (encoding/json would keep the last); keys
// must spell a field's JSON name exactly (encoding/json ignores case), and
// unknown fields are rejected; there must be exactly one value; errors are
// invalid and name the field ("readings[3].systolic") or byte position.
func decodeJSON(body []byte, v any) error {
	if err := checkKeys(body, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, dec)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return models.Errorf(models.CodeInvalid, "the body must hold one JSON value; extra data at byte %d", dec.InputOffset())
	}
	return nil
}

func decodeError(err error, dec *json.Decoder) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF):
		return models.Errorf(models.CodeInvalid, "the body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return models.Errorf(models.CodeInvalid, "the body ends in the middle of a JSON value (byte %d)", dec.InputOffset())
	case errors.As(err, &syn):
		return models.Errorf(models.CodeInvalid, "malformed JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return &models.Error{Code: models.CodeInvalid, Message: fmt.Sprintf("wrong type at byte %d", typ.Offset),
			Fields: []models.FieldProblem{{Field: field, Problem: "must be " + jsonKind(typ.Type.Kind().String())}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &models.Error{Code: models.CodeInvalid, Message: "the body has a field this endpoint does not accept",
			Fields: []models.FieldProblem{{Field: name, Problem: "is not a known field"}}}
	}
	var me *models.Error
	if errors.As(err, &me) {
		return me
	}
	return models.Errorf(models.CodeInvalid, "invalid JSON body at byte %d", dec.InputOffset())
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "float64", "float32", "int", "int64", "int32", "uint", "uint64", "uint32":
		return "a number"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "of another type"
}
