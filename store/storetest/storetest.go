// Package storetest gives tests a real store: the embedded MongoDB-compatible
// server (one per test binary), or the server at MONGODB_URI when that is set,
// with a fresh database for every test, dropped when the test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/concord-health/concord/store"
)

var (
	mu       sync.Mutex
	embedded *store.Embedded
	dataDir  string
	uri      string
)

// Main runs a package's tests and then stops the embedded server and removes
// its files. Use it from TestMain: os.Exit(storetest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if embedded != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = embedded.Close(ctx)
		_ = os.RemoveAll(dataDir)
	}
	return code
}

// URI returns the address of the test server, starting the embedded one on
// first use unless MONGODB_URI is set. Serialised reports whether clients
// must serialise their commands (the embedded server).
func URI(t testing.TB) (u string, serialised bool) {
	t.Helper()
	if env := os.Getenv("MONGODB_URI"); env != "" {
		return env, false
	}
	mu.Lock()
	defer mu.Unlock()
	if uri == "" {
		dir, err := os.MkdirTemp("", "concord-test-")
		if err != nil {
			t.Fatalf("temp dir: %v", err)
		}
		e, err := store.StartEmbedded(context.Background(), dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatalf("start embedded store: %v", err)
		}
		embedded, dataDir, uri = e, dir, e.URI()
	}
	return uri, true
}

// New returns a store on a fresh database, with indexes, dropped (and
// disconnected) when the test ends.
func New(t testing.TB) *store.Store {
	t.Helper()
	u, serialised := URI(t)
	ctx := context.Background()
	name := DatabaseName()
	s, err := store.Open(ctx, store.Options{URI: u, Database: name, Serialised: serialised})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatalf("ensure indexes: %v", err)
	}
	if serialised {
		mu.Lock()
		err := embedded.IndexIDs(ctx, name)
		mu.Unlock()
		if err != nil {
			t.Fatalf("index ids: %v", err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Drop(ctx); err != nil {
			t.Errorf("drop test database: %v", err)
		}
		_ = s.Close(ctx)
	})
	return s
}

// DatabaseName returns a new unique database name for a test.
func DatabaseName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("test_%s", hex.EncodeToString(b))
}
