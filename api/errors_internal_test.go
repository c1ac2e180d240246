package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

type downStore struct{}

func (downStore) Ping(context.Context) error {
	return errors.New("connection refused to 10.0.0.1:27017")
}

// TestInternalErrorsHideDetails: a 500 shows a fixed message and the request
// id, never the error text; panics become 500s too; readyz reports a down store.
func TestInternalErrorsHideDetails(t *testing.T) {
	var logs strings.Builder
	app := New(DefaultConfig(), Deps{
		Store: downStore{}, Registry: prometheus.NewRegistry(), JWKS: func() map[string]any { return nil },
		Log: slog.New(slog.NewTextHandler(&logs, nil)), Now: time.Now,
	})
	app.Get("/boom", func(*fiber.Ctx) error { return errors.New("secret database detail: mongodb://user:pw@host") })
	app.Get("/panic", func(*fiber.Ctx) error { panic("secret panic detail") })
	for _, path := range []string{"/boom", "/panic"} {
		res, err := app.Test(httptest.NewRequest("GET", path, nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 500 || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if strings.Contains(string(body), "secret") || !strings.Contains(string(body), `"code":"internal"`) {
			t.Errorf("%s body leaks or lacks code: %s", path, body)
		}
	}
	if !strings.Contains(logs.String(), "secret database detail") {
		t.Error("internal error not logged for operators")
	}
	res, _ := app.Test(httptest.NewRequest("GET", "/readyz", nil), -1)
	if res.StatusCode != 503 {
		t.Errorf("readyz with store down: %d", res.StatusCode)
	}
}
