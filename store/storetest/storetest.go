// Package storetest gives tests a real store, on the backend that
// CONCORD_TEST_STORE names:
//
//   - "sqlite" (the default): a fresh database in the test's own temporary
//     directory, with StrictPlans on, so any statement that would scan a
//     whole table of patient records fails the test that ran it;
//   - "mongodb": the MongoDB backend, on the server at MONGODB_URI when it
//     is set, else on FerretDB embedded in the test binary as a
//     wire-compatible stand-in (one per binary, one connection, since it is
//     not atomic across connections); a fresh database per test, dropped
//     when the test ends.
//
// The production binary never links this package (nor FerretDB).
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/mongodb"
	"github.com/concord-health/concord/store/sqlite"
)

// The backends CONCORD_TEST_STORE can name.
const (
	SQLite  = "sqlite"
	MongoDB = "mongodb"
)

// Backend returns the backend the tests run on.
func Backend() string {
	if b := os.Getenv("CONCORD_TEST_STORE"); b != "" {
		return b
	}
	return SQLite
}

var (
	mu      sync.Mutex
	stand   *ferret
	dataDir string
)

// Main runs a package's tests and then stops the stand-in, if one was
// started, and removes its files. Use it from TestMain:
// os.Exit(storetest.Main(m)).
func Main(m *testing.M) int {
	if b := Backend(); b != SQLite && b != MongoDB {
		fmt.Fprintf(os.Stderr, "CONCORD_TEST_STORE=%q: want %q or %q\n", b, SQLite, MongoDB)
		return 2
	}
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if stand != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = stand.close(ctx)
		_ = os.RemoveAll(dataDir)
	}
	return code
}

// New returns a fresh, empty store on the chosen backend, closed (and for
// MongoDB dropped) when the test ends.
func New(t testing.TB) store.Store {
	t.Helper()
	if Backend() == MongoDB {
		return NewMongoDB(t)
	}
	return NewSQLite(t, sqlite.Options{})
}

// NewSQLite opens a SQLite store with the options, StrictPlans on and, when
// o.Dir is "", in a new temporary directory; it is closed when the test
// ends.
func NewSQLite(t testing.TB, o sqlite.Options) *sqlite.Store {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	o.StrictPlans = true
	s, err := sqlite.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("open sqlite store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// NewMongoDB returns the MongoDB backend on a fresh database of the test
// server (MONGODB_URI, or the stand-in), dropped when the test ends.
func NewMongoDB(t testing.TB) *mongodb.Store {
	t.Helper()
	ctx := context.Background()
	uri, connections := mongoURI(t)
	name := DatabaseName()
	s, err := mongodb.Open(ctx, mongodb.Options{URI: uri, Database: name, MaxConnections: connections})
	if err != nil {
		t.Fatalf("open mongodb store: %v", err)
	}
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatalf("ensure indexes: %v", err)
	}
	if connections == 1 {
		mu.Lock()
		err := stand.indexIDs(ctx, name)
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

// MongoURI returns a mongodb:// address on the test server for a program
// that opens its own connections (concord run or migrate, with
// CONCORD_DB_NAME naming a database of its own): on the stand-in it caps
// the pool at one connection (maxPoolSize=1).
func MongoURI(t testing.TB) string {
	t.Helper()
	uri, connections := mongoURI(t)
	if connections == 0 {
		return uri
	}
	return withQuery(uri, fmt.Sprintf("maxPoolSize=%d", connections))
}

// MongoTarget returns, for a program that connects itself (concord run
// or migrate), a URI of the test server (MongoURI) and a new database name,
// dropped when the test ends.
func MongoTarget(t testing.TB) (uri, database string) {
	t.Helper()
	uri, database = MongoURI(t), DatabaseName()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := mongodb.Open(ctx, mongodb.Options{URI: uri, Database: database})
		if err != nil {
			t.Errorf("drop test database %s: %v", database, err)
			return
		}
		defer s.Close(ctx)
		if err := s.Drop(ctx); err != nil {
			t.Errorf("drop test database %s: %v", database, err)
		}
	})
	return uri, database
}

// mongoURI returns the address of the test server, starting the stand-in
// on first use unless MONGODB_URI is set, and the connection cap clients
// must keep to (1 on the stand-in; 0, no cap, on a real server).
func mongoURI(t testing.TB) (string, uint64) {
	t.Helper()
	if env := os.Getenv("MONGODB_URI"); env != "" {
		return env, 0
	}
	mu.Lock()
	defer mu.Unlock()
	if stand == nil {
		dir, err := os.MkdirTemp("", "concord-ferretdb-")
		if err != nil {
			t.Fatalf("temp dir: %v", err)
		}
		f, err := startFerret(context.Background(), dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatalf("start the MongoDB stand-in: %v", err)
		}
		stand, dataDir = f, dir
	}
	// One connection shared by a test's goroutines, on a server that
	// scans: a command can wait long for its turn under load, so the
	// driver's wait (the server selection timeout) is raised from 5 s.
	return withQuery(stand.uri, "serverSelectionTimeoutMS=120000"), 1
}

// withQuery adds a query parameter to a mongodb:// URI.
func withQuery(uri, param string) string {
	if strings.Contains(uri, "?") {
		return uri + "&" + param
	}
	return uri + "?" + param
}

// DatabaseName returns a new unique database name for a test.
func DatabaseName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("test_%s", hex.EncodeToString(b))
}

// FlagRecord returns the flag id as st keeps it (its store.FlagRecord,
// with the fields the backend derives), read through the Copier.
func FlagRecord(t testing.TB, st store.Copier, id string) store.FlagRecord {
	t.Helper()
	var rec store.FlagRecord
	found := false
	err := st.Export(t.Context(), store.KindFlags, 1000, func(records []any) error {
		for _, r := range records {
			if f := r.(store.FlagRecord); f.ID == id {
				rec, found = f, true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("export flags: %v", err)
	}
	if !found {
		t.Fatalf("flag %s is not stored", id)
	}
	return rec
}
