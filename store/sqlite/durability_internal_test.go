package sqlite

import (
	"context"
	"database/sql"
	"testing"
)

// TestConnectionSettings: the writer runs in WAL mode with synchronous=FULL
// (the WAL is fsynced before a write returns, so it survives a power cut,
// which a kill -9 test cannot show) and foreign keys on; readers are
// read-only. Each connection of a pool gets the settings, so the test reads
// them on every connection the pool can open.
func TestConnectionSettings(t *testing.T) {
	t.Parallel()
	s := liteOpen(t, Options{Readers: 3})
	tests := []struct {
		name   string
		db     *sql.DB
		conns  int
		pragma string
		want   string
	}{
		{"writer journal", s.w, 1, "journal_mode", "wal"},
		{"writer synchronous", s.w, 1, "synchronous", "2"}, // FULL
		{"writer foreign keys", s.w, 1, "foreign_keys", "1"},
		{"writer query only", s.w, 1, "query_only", "0"},
		{"reader journal", s.r, 3, "journal_mode", "wal"},
		{"reader query only", s.r, 3, "query_only", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			// Hold every connection at once so each one is asked.
			conns := make([]*sql.Conn, tt.conns)
			for i := range conns {
				c, err := tt.db.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				conns[i] = c
			}
			for i, c := range conns {
				var got string
				if err := c.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Errorf("connection %d: PRAGMA %s = %s, want %s", i, tt.pragma, got, tt.want)
				}
			}
		})
	}
}
