// Command concord runs the Concord API server and its scheduler.
//
// With no configuration it starts an embedded MongoDB-compatible store under
// ./data and serves on :8080; see the README for every variable.
package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
	_ "time/tzdata" // IANA zones even where the system has none (containers)

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/concord-health/concord/api"
	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "concord: %v\n", err)
		os.Exit(1)
	}
}

// run starts everything, serves until ctx ends, then shuts down in reverse
// order: stop accepting and drain requests, stop the scheduler after its
// current batch, close the store.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	// Configuration and logging.
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := slog.New(requestIDHandler{slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})})
	// BSON dates hold milliseconds: the clock does too, so what is returned
	// before and after a round trip through the store is the same.
	now := func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

	// Store: MongoDB when MONGODB_URI is set, else the embedded server.
	uri, serialised := cfg.MongoURI, false
	if uri == "" {
		emb, err := store.StartEmbedded(ctx, cfg.DataDir, log)
		if err != nil {
			return err
		}
		defer func() {
			closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := emb.Close(closeCtx); err != nil {
				log.Error("embedded store did not stop cleanly", "err", err)
			}
			log.Info("embedded store stopped")
		}()
		uri, serialised = emb.URI(), true
		log.Info("embedded store started", "dir", cfg.DataDir)
	}
	st, err := store.Open(ctx, store.Options{URI: uri, Database: cfg.DBName, Serialised: serialised})
	if err != nil {
		if cfg.MongoURI != "" {
			return fmt.Errorf("MONGODB_URI: %w", err)
		}
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = st.Close(closeCtx)
	}()
	if err := st.EnsureIndexes(ctx); err != nil {
		return err
	}

	// Signing key: the configured file, or one kept in the data directory.
	var key ed25519.PrivateKey
	if cfg.JWTKeyFile != "" {
		k, err := services.LoadSigningKey(cfg.JWTKeyFile)
		if err != nil {
			return fmt.Errorf("CONCORD_JWT_KEY_FILE: %w", err)
		}
		key = k
	} else {
		k, err := services.LoadOrCreateSigningKey(filepath.Join(cfg.DataDir, "jwt-ed25519.pem"))
		if err != nil {
			return err
		}
		key = k
	}
	tokens := services.NewTokens(key, now)

	// Services.
	auth := services.NewAuth(st.Users(), st.Sessions(), tokens, now, log)
	if cfg.AdminEmail != "" {
		created, err := auth.EnsureAdmin(ctx, cfg.AdminEmail, cfg.AdminPassword)
		if err != nil {
			return fmt.Errorf("CONCORD_ADMIN_EMAIL: %w", err)
		}
		if created {
			log.Info("first admin account created")
		}
	}

	// HTTP.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	app := api.New(api.DefaultConfig(), api.Deps{
		Accounts: auth, Access: services.NewAccess(st.Users()), JWKS: tokens.JWKS, Store: st, Registry: reg, Log: log, Now: now,
	})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("CONCORD_ADDR: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	log.Info("listening", "addr", ln.Addr().String())

	// Serve until a signal, then shut down in reverse order.
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	}
	log.Info("shutting down")
	if err := app.ShutdownWithTimeout(20 * time.Second); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Error("http shutdown", "err", err)
	}
	return nil
}

// requestIDHandler adds the request id carried by a log call's context.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := models.RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(a)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
