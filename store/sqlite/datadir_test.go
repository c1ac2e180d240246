package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/store/sqlite"
)

// TestDataDirLocked: one store at a time owns a data directory: a second
// Open fails with ErrDataDirLocked and leaves the first working; after
// Close the directory opens again, with the first store's records.
func TestDataDirLocked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	first, err := sqlite.Open(ctx, sqlite.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = first.Close(ctx) })

	second, err := sqlite.Open(ctx, sqlite.Options{Dir: dir})
	if err == nil {
		_ = second.Close(ctx)
	}
	if !errors.Is(err, sqlite.ErrDataDirLocked) {
		t.Fatalf("second Open of a directory in use: %v, want ErrDataDirLocked", err)
	}
	want := sqlite.LiteReading("p1", 1)
	if err := first.Readings().Insert(ctx, want); err != nil {
		t.Fatalf("the first store after a refused second Open: %v", err)
	}
	if err := first.Close(ctx); err != nil {
		t.Fatal(err)
	}

	again, err := sqlite.Open(ctx, sqlite.Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	t.Cleanup(func() { _ = again.Close(ctx) })
	got, err := again.Readings().Lookup(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reading after reopening (-want +got):\n%s", diff)
	}
}

// TestOldDataDir: a directory holding the earlier embedded store's files
// (*.sqlite) and no database of ours is refused with ErrOldDataDir in a
// one-line message, and left as it was; beside a database of ours such a
// file is no reason to refuse.
func TestOldDataDir(t *testing.T) {
	t.Parallel()
	old := []byte("FerretDB's SQLite file")
	tests := []struct {
		name     string
		database bool // a concord.db is there too
		wantOld  bool
	}{
		{"old files only", false, true},
		{"old files beside a database", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			if tt.database {
				s, err := sqlite.Open(ctx, sqlite.Options{Dir: dir})
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Close(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "concord.sqlite"), old, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := sqlite.Open(ctx, sqlite.Options{Dir: dir})
			if err == nil {
				_ = s.Close(ctx)
			}
			if !tt.wantOld {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				return
			}
			if !errors.Is(err, sqlite.ErrOldDataDir) {
				t.Fatalf("Open of a directory of the old store: %v, want ErrOldDataDir", err)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") {
				t.Errorf("error message has %d lines, want one:\n%s", strings.Count(msg, "\n")+1, msg)
			}
			if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); !os.IsNotExist(err) {
				t.Errorf("the refused Open created %s (%v)", sqlite.FileName, err)
			}
			if data, err := os.ReadFile(filepath.Join(dir, "concord.sqlite")); err != nil || string(data) != string(old) {
				t.Errorf("the old file after the refused Open: %q, %v", data, err)
			}
		})
	}
}
