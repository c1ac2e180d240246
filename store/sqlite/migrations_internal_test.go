package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
)

// liteSwapMigrations makes list the program's migrations until the test
// ends. Tests that call it must not run in parallel: Open reads the list.
func liteSwapMigrations(t *testing.T, list []string) {
	t.Helper()
	saved := migrations
	migrations = list
	t.Cleanup(func() { migrations = saved })
}

// TestMigrateFromPreviousVersion: a database made by the previous version
// of the program (every migration but the last) is brought to the latest
// version by Open, its records intact. With the released migrations alone
// (while there is one, the previous version is the empty database), and
// with one more migration after them, so that a database of today's
// schema holding a reading is upgraded. Not parallel: it swaps the
// package's migrations.
func TestMigrateFromPreviousVersion(t *testing.T) {
	ctx := context.Background()
	next := `ALTER TABLE readings ADD COLUMN lite_source TEXT NOT NULL DEFAULT 'device';
		CREATE INDEX readings_lite_source ON readings (lite_source)`
	tests := []struct {
		name string
		list []string
		// column is a column the last migration adds to readings ("": none).
		column string
	}{
		{"released migrations", migrations, ""},
		{"released migrations and one more", append(slices.Clip(migrations), next), "lite_source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			liteSwapMigrations(t, tt.list)
			dir := t.TempDir()
			db := liteRawDB(t, filepath.Join(dir, FileName))
			previous := tt.list[:len(tt.list)-1]
			if err := migrate(ctx, db, previous); err != nil {
				t.Fatalf("migrate to the previous version: %v", err)
			}
			if got := liteUserVersion(t, db); got != len(previous) {
				t.Fatalf("schema version %d, want the previous version %d", got, len(previous))
			}
			want := liteReading("p1", 3)
			// Migration 4 sets a reading's updatedAt to its creation.
			want.UpdatedAt = want.CreatedAt
			wrote := liteHasTable(t, db, "readings")
			if wrote {
				insert, args := liteInsertAt(t, db, want)
				if _, err := db.ExecContext(ctx, insert, args...); err != nil {
					t.Fatalf("write a reading at the previous version: %v", err)
				}
			}

			s := liteOpen(t, Options{Dir: dir})
			if got := liteUserVersion(t, db); got != len(tt.list) {
				t.Errorf("schema version %d after Open, want %d", got, len(tt.list))
			}
			if !wrote {
				return
			}
			got, err := s.Readings().Lookup(ctx, want.ID)
			if err != nil {
				t.Fatalf("reading written at the previous version: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("reading written at the previous version (-want +got):\n%s", diff)
			}
			if tt.column != "" {
				var value string
				if err := db.QueryRowContext(ctx, "SELECT "+tt.column+" FROM readings WHERE id = ?", want.ID).Scan(&value); err != nil || value != "device" {
					t.Errorf("the new column %s of the old reading: %q, %v; want %q", tt.column, value, err, "device")
				}
			}
		})
	}
}

// TestMigrationFailsWhole: a migration that fails halfway leaves nothing
// of itself: the database stays at the version before it, without the
// tables its first statements made, and the versions before it stay.
func TestMigrationFailsWhole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := liteRawDB(t, filepath.Join(t.TempDir(), FileName))
	list := []string{migrations[0], "CREATE TABLE x (a); CREATE TABLE broken ("}
	if err := migrate(ctx, db, list); err == nil {
		t.Fatal("migrate with a broken second migration succeeded")
	}
	if got := liteUserVersion(t, db); got != 1 {
		t.Errorf("schema version %d after the second migration failed, want 1", got)
	}
	if liteHasTable(t, db, "x") {
		t.Error("table x of the failed migration exists")
	}
	if !liteHasTable(t, db, "readings") {
		t.Error("table readings of the first migration is missing")
	}
}

// liteInsertAt returns an INSERT of r into readings as the table on db
// stands: with only the columns it has.
func liteInsertAt(t *testing.T, db *sql.DB, r models.Reading) (string, []any) {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM pragma_table_info('readings')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	has := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		has[name] = true
	}
	var cols []string
	var args []any
	for i, c := range strings.Split(readingColumns, ",") {
		if c = strings.TrimSpace(c); has[c] {
			cols = append(cols, c)
			args = append(args, readingArgs(r)[i])
		}
	}
	return `INSERT INTO readings (` + strings.Join(cols, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(cols)-1) + `)`, args
}
