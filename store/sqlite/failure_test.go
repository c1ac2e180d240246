package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/sqlite"
	"github.com/concord-health/concord/store/storetest"
)

// liteUnavailable fails the test unless err is an unavailable *models.Error
// that tells the caller when to retry.
func liteUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	var me *models.Error
	if !errors.As(err, &me) || me.Code != models.CodeUnavailable {
		t.Fatalf("%s: %v (code %q), want unavailable", what, err, models.ErrorCode(err))
	}
	if me.RetryAfter <= 0 {
		t.Errorf("%s: unavailable with RetryAfter %v, want a positive delay", what, me.RetryAfter)
	}
}

// TestBusyWriterIsUnavailable: while another connection (another process,
// an operator's shell) holds the database's write lock longer than the
// busy timeout, a write fails as unavailable with a retry delay and reads
// go on; once the lock is released the same write succeeds.
func TestBusyWriterIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := storetest.NewSQLite(t, sqlite.Options{Dir: dir, BusyTimeout: 200 * time.Millisecond})
	first, second := sqlite.LiteReading("p1", 1), sqlite.LiteReading("p1", 2)
	if err := s.Readings().Insert(ctx, first); err != nil {
		t.Fatal(err)
	}

	other, err := sql.Open("sqlite", "file:"+(&url.URL{Path: filepath.Join(dir, sqlite.FileName)}).EscapedPath()+"?_busy_timeout=0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("take the write lock: %v", err)
	}

	liteUnavailable(t, "insert while another connection holds the write lock", s.Readings().Insert(ctx, second))
	got, err := s.Readings().Lookup(ctx, first.ID)
	if err != nil {
		t.Fatalf("read while another connection holds the write lock: %v", err)
	}
	if diff := cmp.Diff(first, got); diff != "" {
		t.Errorf("reading read while the lock is held (-want +got):\n%s", diff)
	}
	if page, err := s.Readings().List(ctx, models.ReadingQuery{PatientID: "p1", Limit: 10}); err != nil || len(page) != 1 {
		t.Errorf("list while another connection holds the write lock: %d readings, %v; want 1", len(page), err)
	}

	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := s.Readings().Insert(ctx, second); err != nil {
		t.Fatalf("insert after the lock was released: %v", err)
	}
	if _, err := s.Readings().Lookup(ctx, second.ID); err != nil {
		t.Errorf("the reading inserted after the lock was released: %v", err)
	}
}

// TestFullDiskIsUnavailable: when the database cannot grow (at
// MaxSizeBytes here, as on a full disk) writes fail as unavailable, a batch
// that fails keeps none of its readings, and Ping reports that the store
// cannot take writes; a write that needs no new space then succeeds, and
// Ping is well again.
func TestFullDiskIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// The empty schema takes about 300 KiB: this leaves room for a few
	// thousand readings.
	s := storetest.NewSQLite(t, sqlite.Options{MaxSizeBytes: 512 << 10})
	session := models.Session{ID: "session-1", UserID: "p1", CreatedAt: sqlite.LiteEpoch}
	if err := s.Sessions().Create(ctx, session); err != nil {
		t.Fatal(err)
	}
	count := func() int64 {
		t.Helper()
		n, err := s.Count(ctx, store.KindReadings)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	next := 0
	reading := func() models.Reading {
		next++
		return sqlite.LiteReading("p1", next)
	}

	// Batches until one fails: it fails partway, having written the
	// readings that fitted, and must keep none of them.
	const batches = 100
	for i := range batches + 1 {
		if i == batches {
			t.Fatalf("%d batches of 200 readings fitted under the cap", batches)
		}
		batch := make([]models.Reading, 200)
		for j := range batch {
			batch[j] = reading()
		}
		before := count()
		_, err := s.Readings().InsertMany(ctx, batch)
		if err == nil {
			continue
		}
		liteUnavailable(t, "InsertMany on a full disk", err)
		if after := count(); after != before {
			t.Errorf("a failed InsertMany of 200 readings kept %d of them", after-before)
		}
		break
	}
	fitted := 0 // the room the failed batch had written into, and gave back
	for {
		err := s.Readings().Insert(ctx, reading())
		if err != nil {
			liteUnavailable(t, "Insert on a full disk", err)
			break
		}
		if fitted++; fitted == 200 {
			t.Fatal("200 single readings fitted after a batch of 200 failed for want of space")
		}
	}
	t.Logf("%d readings fitted, one at a time, after the failed batch", fitted)
	liteUnavailable(t, "Ping after a write failed for want of space", s.Ping(ctx))

	// Revoking a session rewrites its row in a page that has room: the
	// file does not grow.
	revokedAt := sqlite.LiteEpoch.Add(time.Hour)
	if err := s.Sessions().Revoke(ctx, session.ID, "logout", revokedAt); err != nil {
		t.Fatalf("a write that needs no new space, on a full disk: %v", err)
	}
	got, err := s.Sessions().Get(ctx, session.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RevokedAt == nil || !got.RevokedAt.Equal(revokedAt) {
		t.Errorf("session revoked at %v, want %v", got.RevokedAt, revokedAt)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping after a write succeeded again: %v", err)
	}
}
