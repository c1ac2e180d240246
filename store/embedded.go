package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

var newMu sync.Mutex

// Embedded is a MongoDB-compatible server (FerretDB with its SQLite handler)
// running inside this process on a loopback port, with its files in one data
// directory that it holds an exclusive lock on.
type Embedded struct {
	uri    string
	dir    string
	cancel context.CancelFunc
	done   chan struct{}
	lock   *os.File
}

// StartEmbedded starts the embedded server on the data directory dir
// (created if missing). It fails if another process holds the directory.
// The server logs through log at error level only.
func StartEmbedded(ctx context.Context, dir string, log *slog.Logger) (*Embedded, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded store: data directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("embedded store: create data directory %s: %w", abs, err)
	}
	lock, err := lockDir(abs)
	if err != nil {
		return nil, err
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
		lock.Close()
		return nil, fmt.Errorf("embedded store: %w", err)
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(runCtx)
	}()
	// MongoDBURI waits until the listener is up.
	return &Embedded{uri: f.MongoDBURI(), dir: abs, cancel: cancel, done: done, lock: lock}, nil
}

// URI is the mongodb:// address clients connect to.
func (e *Embedded) URI() string { return e.uri }

// Close stops the server, waits for it to close its files (up to the
// context's deadline), then releases the directory lock.
func (e *Embedded) Close(ctx context.Context) error {
	e.cancel()
	var err error
	select {
	case <-e.done:
	case <-ctx.Done():
		err = fmt.Errorf("embedded store: stop: %w", ctx.Err())
	}
	e.lock.Close()
	return err
}

// ErrDataDirLocked means another process already serves the data directory.
var ErrDataDirLocked = errors.New("data directory is in use by another Concord process (the embedded store allows one process per directory; run several instances against MongoDB)")

func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "concord.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("embedded store: open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("embedded store %s: %w", dir, ErrDataDirLocked)
		}
		return nil, fmt.Errorf("embedded store: lock %s: %w", path, err)
	}
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "%d %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	return f, nil
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
