package api_test

import (
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/sqlite"
	"github.com/concord-health/concord/store/storetest"
)

// unavailableBatch is a batch of n new weight readings.
func unavailableBatch(n int, at time.Time) map[string]any {
	items := make([]map[string]any, n)
	for i := range items {
		items[i] = map[string]any{"id": uuid.NewString(), "type": "weight", "unit": "kg", "value": 70 + float64(i%20),
			"takenAt": at.Add(-time.Duration(i) * time.Minute).Format(time.RFC3339), "note": strings.Repeat("n", 200)}
	}
	return map[string]any{"readings": items}
}

// checkUnavailable asserts r is the clean refusal of a request the
// database could not take: 503, Retry-After, problem+json with code
// unavailable, and no driver text.
func checkUnavailable(t *testing.T, what string, r response) {
	t.Helper()
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("%s: status %d, want 503; body %s", what, r.status, r.body)
	}
	if r.header.Get("Retry-After") == "" {
		t.Errorf("%s: no Retry-After header", what)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: content type %q", what, ct)
	}
	if code := r.json(t)["code"]; code != "unavailable" {
		t.Errorf("%s: code %v, want unavailable", what, code)
	}
	for _, leak := range []string{"sqlite", "SQLITE", "disk is full", "locked", "busy ("} {
		if strings.Contains(string(r.body), leak) {
			t.Errorf("%s: body shows driver text %q: %s", what, leak, r.body)
		}
	}
}

// A full disk (the database at its size cap): writes fail cleanly with
// 503 and Retry-After, a failed batch stores nothing, reads and the server
// go on, /readyz says so, and once a write succeeds again it is ready.
func TestDiskFullIsServiceUnavailable(t *testing.T) {
	t.Parallel()
	if storetest.Backend() != storetest.SQLite {
		t.Skip("the size cap is the SQLite backend's")
	}
	// Room for the schema (it grows with each migration) and a few batches.
	st := storetest.NewSQLite(t, sqlite.Options{MaxSizeBytes: 680 << 10})
	h := newHarnessOn(t, st)
	pat := h.register(t, "full@example.org", "patient")
	ctx := context.Background()

	var full response
	for i := 0; ; i++ {
		before, err := st.Count(ctx, store.KindReadings)
		if err != nil {
			t.Fatal(err)
		}
		r := h.do(t, "POST", "/v1/patients/me/readings/batch", pat.Access, unavailableBatch(100, h.clock.Now()))
		if r.status == http.StatusOK {
			if i > 50 {
				t.Fatal("the database never filled up")
			}
			continue
		}
		full = r
		after, err := st.Count(ctx, store.KindReadings)
		if err != nil {
			t.Fatal(err)
		}
		if after != before {
			t.Errorf("a refused batch stored %d of its readings, want none", after-before)
		}
		break
	}
	checkUnavailable(t, "batch on a full database", full)
	if r := h.do(t, "GET", "/readyz", "", nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("readyz on a full database: %d %s", r.status, r.body)
	}
	// The server stays up and reads go on.
	r := h.do(t, "GET", "/v1/patients/me/readings?limit=5", pat.Access, nil)
	if r.status != http.StatusOK {
		t.Fatalf("list readings on a full database: %d %s", r.status, r.body)
	}
	items := r.json(t)["items"].([]any)
	if len(items) == 0 {
		t.Fatal("no readings listed")
	}
	// A write that needs no new space (deleting a reading marks it) works,
	// and the database is ready again.
	id := items[0].(map[string]any)["id"].(string)
	if r := h.do(t, "DELETE", "/v1/patients/me/readings/"+id, pat.Access, nil); r.status != http.StatusNoContent && r.status != http.StatusOK {
		t.Fatalf("delete a reading on a full database: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", "/readyz", "", nil); r.status != http.StatusOK {
		t.Errorf("readyz after a write succeeded: %d %s", r.status, r.body)
	}
	if !strings.Contains(h.log.String(), "store unavailable") {
		t.Errorf("the refusal was not logged as a warning:\n%s", h.log.String())
	}
}

// Another process holding the database's write lock (a long backup, an
// operator's shell): writes fail cleanly with 503 and Retry-After after
// the busy timeout, reads go on, /readyz says so, and all is well once
// the lock is released.
func TestDatabaseBusyIsServiceUnavailable(t *testing.T) {
	t.Parallel()
	if storetest.Backend() != storetest.SQLite {
		t.Skip("the write lock is the SQLite backend's")
	}
	dir := t.TempDir()
	st := storetest.NewSQLite(t, sqlite.Options{Dir: dir, BusyTimeout: 100 * time.Millisecond})
	h := newHarnessOn(t, st)
	pat := h.register(t, "busy@example.org", "patient")

	other, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName)+"?_busy_timeout=0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetMaxOpenConns(1)
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}

	reading := map[string]any{"type": "weight", "unit": "kg", "value": 71.5, "takenAt": h.clock.Now().Format(time.RFC3339)}
	checkUnavailable(t, "a reading while another process holds the lock", h.do(t, "POST", "/v1/patients/me/readings", pat.Access, reading))
	if r := h.do(t, "GET", "/v1/me", pat.Access, nil); r.status != http.StatusOK {
		t.Errorf("GET /v1/me while the lock is held: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", "/readyz", "", nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("readyz while the lock is held: %d %s", r.status, r.body)
	}

	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if r := h.do(t, "POST", "/v1/patients/me/readings", pat.Access, reading); r.status != http.StatusCreated {
		t.Fatalf("a reading after the lock is released: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", "/readyz", "", nil); r.status != http.StatusOK {
		t.Errorf("readyz after the lock is released: %d %s", r.status, r.body)
	}
	r := h.do(t, "GET", "/v1/patients/me/readings", pat.Access, nil)
	if n := len(r.json(t)["items"].([]any)); n != 1 {
		t.Errorf("readings stored: %d, want 1 (the refused one left nothing)", n)
	}
}
