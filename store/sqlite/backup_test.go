package sqlite_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/store/sqlite"
	"github.com/concord-health/concord/store/storetest"
)

// TestBackupWhileWriting: Backup of the data directory of a running store
// that another goroutine keeps writing to gives a private file (mode 0600)
// holding a database that opens with every record committed before Backup
// began.
func TestBackupWhileWriting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := storetest.NewSQLite(t, sqlite.Options{Dir: dir})
	const patient, seeded = "p1", 200
	for n := range seeded {
		if err := s.Readings().Insert(ctx, sqlite.LiteReading(patient, n)); err != nil {
			t.Fatal(err)
		}
	}

	// The writer inserts readings seeded, seeded+1, ... until stopped;
	// committed counts those whose Insert returned. It says when it has
	// committed a few, so that Backup starts while it is writing.
	const warmAfter = seeded + 20
	var mu sync.Mutex
	committed := seeded
	warm, stop, stopped := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		for n := seeded; ; n++ {
			select {
			case <-stop:
				stopped <- nil
				return
			default:
			}
			if err := s.Readings().Insert(ctx, sqlite.LiteReading(patient, n)); err != nil {
				stopped <- err
				return
			}
			mu.Lock()
			committed = n + 1
			mu.Unlock()
			if n+1 == warmAfter {
				close(warm)
			}
		}
	}()
	select {
	case <-warm:
	case err := <-stopped:
		t.Fatalf("writer: %v", err)
	}
	mu.Lock()
	before := committed
	mu.Unlock()

	target := filepath.Join(t.TempDir(), "backup.db")
	backupErr := sqlite.Backup(ctx, dir, target)
	close(stop)
	if err := <-stopped; err != nil {
		t.Fatalf("writer: %v", err)
	}
	t.Logf("%d readings committed before Backup began, %d by the time it returned", before, committed)
	if backupErr != nil {
		t.Fatalf("backup: %v", backupErr)
	}

	// The copy holds every patient's records: only its owner may read it.
	if fi, err := os.Stat(target); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file: mode %v, want 0600", fi.Mode().Perm())
	}
	restored := t.TempDir()
	data, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, sqlite.FileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
	b := storetest.NewSQLite(t, sqlite.Options{Dir: restored})
	ids := make([]string, before)
	for n := range before {
		ids[n] = sqlite.LiteReadingID(n)
	}
	got, err := b.Readings().LookupMany(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for n := range before {
		if diff := cmp.Diff(sqlite.LiteReading(patient, n), got[ids[n]]); diff != "" {
			t.Errorf("reading %d, committed before the backup, in the backup (-want +got):\n%s", n, diff)
		}
	}
}

// TestBackupRefuses: Backup writes nothing when the target file exists
// (it is left as it was) or the directory holds no database.
func TestBackupRefuses(t *testing.T) {
	t.Parallel()
	withDatabase := func(t *testing.T) string {
		t.Helper()
		dir := t.TempDir()
		s, err := sqlite.Open(context.Background(), sqlite.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Readings().Insert(context.Background(), sqlite.LiteReading("p1", 1)); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	tests := []struct {
		name string
		dir  func(t *testing.T) string
		// existing is the target's content before Backup; nil: no file.
		existing []byte
	}{
		{"target exists", withDatabase, []byte("an earlier backup")},
		{"no database", func(t *testing.T) string { return t.TempDir() }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target := filepath.Join(t.TempDir(), "backup.db")
			if tt.existing != nil {
				if err := os.WriteFile(target, tt.existing, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := sqlite.Backup(context.Background(), tt.dir(t), target); err == nil {
				t.Fatal("Backup succeeded")
			}
			data, err := os.ReadFile(target)
			switch {
			case tt.existing == nil && !os.IsNotExist(err):
				t.Errorf("Backup that failed left a target file (%v)", err)
			case tt.existing != nil && (err != nil || !bytes.Equal(data, tt.existing)):
				t.Errorf("Backup that failed changed the existing target: %q, %v", data, err)
			}
		})
	}
}
