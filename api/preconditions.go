package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
)

// Versions and conditional requests (RFC 9110 §13). A record's version is
// its updatedAt, which every change moves forward (models.NextUpdatedAt);
// its entity tag is that instant in Unix milliseconds, quoted ("1764633600123").
//
//   - Reads of single records answer with ETag; If-None-Match naming the
//     current tag (or *) answers 304 Not Modified with no body.
//   - PATCH and DELETE of medications, of the account (PATCH /v1/me:
//     preferences, targets) and of carer links honour If-Match: one
//     strong tag or *; a tag that is not the current version answers 412
//     and changes nothing.
//   - A client opts in to conditional writes with Prefer: handling=strict
//     (RFC 7240) on its requests (a client library sets it on every
//     request): such a write without If-Match is refused with 428, so a
//     code path that forgot the header cannot overwrite another device's
//     change. The server answers Preference-Applied: handling=strict.
//     Without the preference a write without If-Match applies to the
//     latest version, as before.

// strictPreference is the Prefer token by which a client opts in.
const strictPreference = "handling=strict"

// etag is the entity tag of the version with updatedAt.
func etag(updatedAt time.Time) string {
	return `"` + strconv.FormatInt(updatedAt.UnixMilli(), 10) + `"`
}

// sendVersioned answers v (a record whose version is updatedAt) with its
// ETag, or 304 with no body when If-None-Match names that version.
func sendVersioned(c *fiber.Ctx, updatedAt time.Time, v any) error {
	tag := etag(updatedAt)
	c.Set(fiber.HeaderETag, tag)
	if noneMatch := c.Get(fiber.HeaderIfNoneMatch); noneMatch != "" && matchesAny(noneMatch, tag) {
		c.Status(http.StatusNotModified)
		c.Response().ResetBody()
		return nil
	}
	return c.JSON(v)
}

// matchesAny reports whether a list of entity tags (an If-None-Match
// value) names tag or is *, comparing weakly (a W/ prefix is ignored).
func matchesAny(list, tag string) bool {
	if strings.TrimSpace(list) == "*" {
		return true
	}
	for _, t := range strings.Split(list, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == tag {
			return true
		}
	}
	return false
}

// ifMatch returns the version a write's If-Match names: nil when it is
// absent or *. It refuses a write without If-Match from a client that
// opted in (428), and a value that names no version this server makes (a
// weak or malformed tag, or a list: 412, as it cannot match).
func ifMatch(c *fiber.Ctx) (*time.Time, error) {
	strict := prefersStrict(c)
	if strict {
		c.Set("Preference-Applied", strictPreference)
	}
	v := strings.TrimSpace(c.Get(fiber.HeaderIfMatch))
	switch v {
	case "":
		if strict {
			return nil, models.Errorf(models.CodePreconditionRequired,
				"this client asked for conditional writes (Prefer: handling=strict): send If-Match with the ETag of the version read")
		}
		return nil, nil
	case "*":
		return nil, nil
	}
	inner, ok := strings.CutPrefix(v, `"`)
	inner, ok2 := strings.CutSuffix(inner, `"`)
	n, err := strconv.ParseInt(inner, 10, 64)
	if !ok || !ok2 || err != nil || n < 0 {
		return nil, models.Errorf(models.CodePreconditionFailed, "If-Match must be one ETag this server sent, or *")
	}
	t := time.UnixMilli(n).UTC()
	return &t, nil
}

// prefersStrict reports whether the request carries Prefer: handling=strict.
func prefersStrict(c *fiber.Ctx) bool {
	for _, h := range c.Request().Header.PeekAll("Prefer") {
		for _, p := range strings.Split(string(h), ",") {
			p, _, _ = strings.Cut(p, ";")
			if strings.EqualFold(strings.ReplaceAll(strings.TrimSpace(p), " ", ""), strictPreference) {
				return true
			}
		}
	}
	return false
}
