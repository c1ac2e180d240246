package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/FerretDB/FerretDB/ferretdb"
)

var newMu sync.Mutex

// ferret is FerretDB (with its SQLite handler) running inside the test
// process on a loopback port: the MongoDB backend's stand-in where no
// MongoDB server runs. It is not atomic across connections, so clients
// must use one connection, and it scans a collection for every filter but
// an exact _id; it is test-only and never shapes the code it tests.
type ferret struct {
	uri    string
	dir    string
	cancel context.CancelFunc
	done   chan struct{}
}

// startFerret starts the stand-in with its files in dir (created if
// missing). It logs through log at error level only.
func startFerret(ctx context.Context, dir string, log *slog.Logger) (*ferret, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("ferretdb: data directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("ferretdb: create data directory %s: %w", abs, err)
	}

	// FerretDB logs whole failed responses at warning level (which may quote
	// documents): only its errors reach our log.
	quiet := slog.New(levelFilter{Handler: log.Handler(), min: slog.LevelError})
	// ferretdb.New writes a package global; serialise it for processes (tests)
	// that start more than one embedded server.
	newMu.Lock()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Logger:    quiet,
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
	})
	newMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("ferretdb: %w", err)
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(runCtx)
	}()
	// MongoDBURI waits until the listener is up.
	return &ferret{uri: f.MongoDBURI(), dir: abs, cancel: cancel, done: done}, nil
}

// close stops the server and waits for it to close its files (up to the
// context's deadline).
func (e *ferret) close(ctx context.Context) error {
	e.cancel()
	var err error
	select {
	case <-e.done:
	case <-ctx.Done():
		err = fmt.Errorf("ferretdb: stop: %w", ctx.Err())
	}
	return err
}

// levelFilter drops records below min; FerretDB is chatty at info level.
type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (h levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{Handler: h.Handler.WithAttrs(a), min: h.min}
}

func (h levelFilter) WithGroup(name string) slog.Handler {
	return levelFilter{Handler: h.Handler.WithGroup(name), min: h.min}
}
