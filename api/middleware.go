package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/concord-health/concord/models"
)

const headerRequestID = "X-Request-ID"

const (
	localRequestID = "requestID"
	localPrincipal = "principal"
)

// requestIDs echoes a well-formed X-Request-ID or makes one, and puts it in
// the request context for logs and audit entries.
func requestIDs(c *fiber.Ctx) error {
	id := c.Get(headerRequestID)
	if !validRequestID(id) {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	} else {
		id = strings.Clone(id)
	}
	c.Locals(localRequestID, id)
	c.Set(headerRequestID, id)
	c.SetUserContext(models.WithRequestID(c.UserContext(), id))
	return c.Next()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(localRequestID).(string)
	return id
}

// deadline gives every request a context that ends after d.
func deadline(d time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), d)
		defer cancel()
		c.SetUserContext(ctx)
		return c.Next()
	}
}

// recoverer turns a panic into a 500 (through the error handler) and logs
// the stack; the client sees only the fixed message.
func recoverer(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(c.UserContext(), "panic serving request", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return c.Next()
	}
}

// httpMetrics are the Prometheus metrics of the HTTP layer.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "concord_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "concord_http_request_duration_seconds", Help: "HTTP request latency by route, method and status.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route", "status"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// observe logs and measures each request once its status is known. It sits
// outermost, so it calls the error handler itself to learn the final status.
func observe(log *slog.Logger, m *httpMetrics, onError fiber.ErrorHandler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			if herr := onError(c, err); herr != nil {
				return herr
			}
		}
		status := c.Response().StatusCode()
		route := c.Route().Path
		if status == fiber.StatusNotFound && route == "/" && c.Path() != "/" {
			route = "(unmatched)"
		}
		elapsed := time.Since(start)
		s := strconv.Itoa(status)
		// The labels outlive the request: the method is one of the
		// constants below, the route a string the router owns.
		method := methodLabel(c.Method())
		m.requests.WithLabelValues(method, route, s).Inc()
		m.latency.WithLabelValues(method, route, s).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		log.Log(c.UserContext(), level, "request", "method", method, "route", route, "status", status,
			"duration_ms", float64(elapsed.Microseconds())/1000)
		return nil
	}
}

// methodLabel returns the constant naming method, or "other": a label
// value never refers to a request's bytes, and a client inventing methods
// cannot add label sets.
func methodLabel(method string) string {
	for _, m := range [...]string{
		fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch,
		fiber.MethodDelete, fiber.MethodOptions, fiber.MethodConnect, fiber.MethodTrace,
	} {
		if method == m {
			return m
		}
	}
	return "other"
}

// validUTF8 refuses, before routing, a request whose path or query string
// is not valid UTF-8 once percent-decoded: such text would reach handlers,
// the store and the logs as parameters. The problem names each such query
// parameter, and "path".
func validUTF8(c *fiber.Ctx) error {
	var p models.Problems
	const problem = "must be valid UTF-8 text (percent-encoded UTF-8 bytes)"
	raw := c.Request().URI().PathOriginal()
	if decoded, err := url.PathUnescape(string(raw)); !utf8.Valid(raw) || (err == nil && !utf8.ValidString(decoded)) {
		p.Add("path", problem)
	}
	c.Context().QueryArgs().VisitAll(func(key, value []byte) {
		switch {
		case !utf8.Valid(key):
			p.Add("(query parameter name)", problem)
		case !utf8.Valid(value):
			p.Add(string(key), problem)
		}
	})
	if err := p.Err(); err != nil {
		return err
	}
	return c.Next()
}

// Authenticator verifies bearer tokens.
type Authenticator interface {
	Authenticate(ctx context.Context, raw string) (models.Principal, error)
}

// authenticated requires a valid access token (and a live session) and
// stores the principal for handlers; roles, if given, restrict the route.
func authenticated(a Authenticator, roles ...models.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		// An enclosing group may have authenticated the request already.
		if p, ok := c.Locals(localPrincipal).(models.Principal); ok {
			if len(roles) > 0 && !hasRole(p.Role, roles) {
				return models.Errorf(models.CodeForbidden, "this route is not for the %s role", p.Role)
			}
			return c.Next()
		}
		h := c.Get(fiber.HeaderAuthorization)
		raw, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || raw == "" {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="concord"`)
			return models.Errorf(models.CodeUnauthorized, "an access token is required (Authorization: Bearer ...)")
		}
		p, err := a.Authenticate(c.UserContext(), raw)
		if err != nil {
			if models.IsCode(err, models.CodeUnauthorized) {
				c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="concord", error="invalid_token"`)
			}
			return err
		}
		if len(roles) > 0 && !hasRole(p.Role, roles) {
			return models.Errorf(models.CodeForbidden, "this route is not for the %s role", p.Role)
		}
		c.Locals(localPrincipal, p)
		return c.Next()
	}
}

func hasRole(r models.Role, roles []models.Role) bool {
	for _, want := range roles {
		if r == want {
			return true
		}
	}
	return false
}

// principal returns the caller set by authenticated.
func principal(c *fiber.Ctx) models.Principal {
	p, _ := c.Locals(localPrincipal).(models.Principal)
	return p
}
