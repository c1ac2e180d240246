package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/store/sqlite"
	"github.com/concord-health/concord/store/storetest"
)

// TestOpenCreatesSchema: Open brings a directory with no database, or an
// empty database file, to the latest schema version, ready for records,
// in a file only its owner may read.
func TestOpenCreatesSchema(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
	}{
		{"no file", func(*testing.T, string) {}},
		{"empty file anyone may read", func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, 0o644); err != nil { // whatever the umask
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			path := filepath.Join(dir, sqlite.FileName)
			tt.prepare(t, path)
			s := storetest.NewSQLite(t, sqlite.Options{Dir: dir})
			if got := sqlite.LiteUserVersion(t, sqlite.LiteRawDB(t, path)); got != sqlite.SchemaVersion() || got < 1 {
				t.Errorf("schema version %d after Open, want %d (at least 1)", got, sqlite.SchemaVersion())
			}
			want := sqlite.LiteReading("p1", 1)
			if err := s.Readings().Insert(ctx, want); err != nil {
				t.Fatal(err)
			}
			got, err := s.Readings().Lookup(ctx, want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("reading (-want +got):\n%s", diff)
			}
			// Patients' records: only the server's user may read the
			// database, nor its WAL and shared-memory files once written.
			for _, f := range []string{path, path + "-wal", path + "-shm"} {
				fi, err := os.Stat(f)
				if err != nil {
					t.Error(err)
				} else if fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: mode %v, want 0600", filepath.Base(f), fi.Mode().Perm())
				}
			}
		})
	}
}

// liteSchema returns the database's schema: every table's and index's
// definition, by name.
func liteSchema(t *testing.T, path string) map[string]string {
	t.Helper()
	rows, err := sqlite.LiteRawDB(t, path).Query("SELECT name, coalesce(sql, '') FROM sqlite_master")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	schema := map[string]string{}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		schema[name] = def
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return schema
}

// TestReopenKeepsSchemaAndData: opening a database already at the latest
// version changes neither its schema nor its records.
func TestReopenKeepsSchemaAndData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, sqlite.FileName)
	s, err := sqlite.Open(ctx, sqlite.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	want := sqlite.LiteReading("p1", 7)
	if err := s.Readings().Insert(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	before := liteSchema(t, path)

	s = storetest.NewSQLite(t, sqlite.Options{Dir: dir})
	if diff := cmp.Diff(before, liteSchema(t, path)); diff != "" {
		t.Errorf("schema changed by a second Open (-before +after):\n%s", diff)
	}
	if got := sqlite.LiteUserVersion(t, sqlite.LiteRawDB(t, path)); got != sqlite.SchemaVersion() {
		t.Errorf("schema version %d after a second Open, want %d", got, sqlite.SchemaVersion())
	}
	got, err := s.Readings().Lookup(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reading after a second Open (-want +got):\n%s", diff)
	}
}

// TestOpenRefusesNewerSchema: a database at a schema version newer than
// this program is refused, left as it was, and the directory is released.
func TestOpenRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, sqlite.FileName)
	s, err := sqlite.Open(ctx, sqlite.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	newer := sqlite.SchemaVersion() + 1
	if _, err := sqlite.LiteRawDB(t, path).Exec(fmt.Sprintf("PRAGMA user_version = %d", newer)); err != nil {
		t.Fatal(err)
	}

	// Twice: a refused Open must not keep the directory's lock.
	for range 2 {
		s, err := sqlite.Open(ctx, sqlite.Options{Dir: dir})
		if err == nil {
			_ = s.Close(ctx)
			t.Fatalf("Open of a database at schema version %d (this program: %d) succeeded", newer, sqlite.SchemaVersion())
		}
		if errors.Is(err, sqlite.ErrDataDirLocked) {
			t.Fatalf("Open after a refused Open: %v, want the schema refused again", err)
		}
		// The error has no code or sentinel: its message is what says so.
		if msg := err.Error(); !strings.Contains(msg, "newer than this program") || !strings.Contains(msg, fmt.Sprint(newer)) {
			t.Errorf("Open of a newer database: %q, want it to say the database (version %d) is newer than this program", msg, newer)
		}
	}
	if got := sqlite.LiteUserVersion(t, sqlite.LiteRawDB(t, path)); got != newer {
		t.Errorf("schema version %d after the refused Open, want %d left as it was", got, newer)
	}
}
