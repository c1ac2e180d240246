// Package sqlite is the embedded backend of Concord's storage contract
// (package store): one SQLite database file in the data directory, through
// modernc.org/sqlite (pure Go, no cgo), with a relational schema of typed,
// indexed columns (schema.go) applied by versioned migrations at start.
//
// Concurrency: one writer connection takes every write, each write one
// statement or one IMMEDIATE transaction, so every compare-and-set of the
// contract is atomic in the database; a pool of reader connections serves
// reads in parallel beside it (WAL), so a slow read never holds up
// another. One process owns a data directory at a time (a lock file).
//
// Durability: WAL with synchronous=FULL, so a write is on disk (the WAL
// fsynced) before the call that made it returns: it survives kill -9 and
// a power cut. NORMAL would survive kill -9 too but may lose the last
// transactions on a power cut; for health records that is not acceptable,
// and the cost (one fsync per transaction) is measured in the README.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// FileName is the database file's name in the data directory.
const FileName = "concord.db"

// Options say where the database is and how it behaves.
type Options struct {
	// Dir is the data directory (created if missing, mode 0700).
	Dir string
	// Readers is the size of the reader pool (0: 4).
	Readers int
	// BusyTimeout is how long a statement waits for a lock held by another
	// process (a backup, an operator's sqlite3 shell) before it fails as
	// unavailable (0: 5 s).
	BusyTimeout time.Duration
	// MaxSizeBytes caps the database file; a write that would grow it past
	// the cap fails as unavailable, as on a full disk (0: no cap).
	MaxSizeBytes int64
	// StrictPlans checks every distinct statement's query plan once, before
	// it first runs, and fails the statement if it would scan a whole table
	// that grows with patients' records (scannedTables). Tests turn it on.
	StrictPlans bool
	// Log receives the store's own warnings (nil: none).
	Log *slog.Logger
}

// Store is one SQLite database; it implements store.Store.
type Store struct {
	path   string
	w      *sql.DB // one connection: every write
	r      *sql.DB // readers
	lock   *os.File
	log    *slog.Logger
	strict bool
	// plans remembers the statements whose plans were checked (StrictPlans).
	plans sync.Map
	// writeFailure holds the last write error that said the database
	// cannot take writes (disk full or failing, or its lock held by another
	// process), until a write succeeds again: Ping reports it.
	writeFailure atomic.Pointer[writeFailure]
}

var _ store.Store = (*Store)(nil)

// ErrDataDirLocked means another process already uses the data directory.
var ErrDataDirLocked = errors.New("in use by another Concord process (the embedded store allows one process per directory; run several instances against MongoDB)")

// ErrOldDataDir means the data directory holds the files of the embedded
// store Concord used before SQLite (FerretDB), which this version cannot read.
var ErrOldDataDir = errors.New("it holds the database of an earlier Concord version (FerretDB files *.sqlite), which this version cannot read: move those files out of the directory to start afresh, or keep running the earlier version until its data is exported")

// Open opens (creating if need be) the database in o.Dir, takes the
// directory's lock, and brings the schema up to date.
func Open(ctx context.Context, o Options) (*Store, error) {
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("data directory %q: %w", o.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	if err := checkNotOld(dir, path); err != nil {
		return nil, err
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{path: path, lock: lock, log: o.Log, strict: o.StrictPlans}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.open(ctx, o); err != nil {
		s.closeAll()
		return nil, err
	}
	return s, nil
}

// dsn is the connection string of the database at path with the pragmas
// every connection needs.
func dsn(path string, busy time.Duration, extra url.Values) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busy.Milliseconds()))
	q.Set("_foreign_keys", "1")
	q.Set("_synchronous", "FULL")
	q.Add("_pragma", "temp_store(MEMORY)")
	for k, vs := range extra {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

func (s *Store) open(ctx context.Context, o Options) error {
	busy := o.BusyTimeout
	if busy <= 0 {
		busy = 5 * time.Second
	}
	// The writer keeps a large page cache: a batch of new readings or
	// doses lands on index pages all over the tree (ids are random UUIDs),
	// and its cache stays valid across transactions since no other
	// connection writes. The WAL is checkpointed every 16 MiB, so that
	// pages written again and again between checkpoints go to the
	// database file once.
	wx := url.Values{"_journal_mode": {"WAL"}, "_txlock": {"immediate"},
		"_pragma": {"cache_size(-65536)", "wal_autocheckpoint(4096)"}}
	if o.MaxSizeBytes > 0 {
		// max_page_count is per connection; only the writer writes.
		wx.Add("_pragma", fmt.Sprintf("max_page_count(%d)", max(o.MaxSizeBytes/4096, 1)))
	}
	var err error
	if s.w, err = sql.Open("sqlite", dsn(s.path, busy, wx)); err != nil {
		return fmt.Errorf("open %s: %w", s.path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	// The writer connection creates the file and turns WAL on before any
	// reader connects.
	if err := s.w.PingContext(ctx); err != nil {
		return s.translate(err, "open %s", s.path)
	}
	// Patients' records: readable by this user only, whatever the umask or
	// the data directory's own mode.
	for _, f := range []string{s.path, s.path + "-wal", s.path + "-shm"} {
		if err := os.Chmod(f, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("restrict %s: %w", f, err)
		}
	}
	if err := migrate(ctx, s.w, migrations); err != nil {
		return err
	}
	// Statistics for the query planner, as SQLite advises for long-lived
	// connections: gathered where missing or stale, each table sampled
	// (analysis_limit) so that opening a large database stays quick.
	if _, err := s.w.ExecContext(ctx, "PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002"); err != nil {
		return s.translate(err, "optimize %s", s.path)
	}
	readers := o.Readers
	if readers <= 0 {
		readers = 4
	}
	rx := url.Values{"_query_only": {"1"}, "_pragma": {"cache_size(-16384)"}}
	if s.r, err = sql.Open("sqlite", dsn(s.path, busy, rx)); err != nil {
		return fmt.Errorf("open %s: %w", s.path, err)
	}
	s.r.SetMaxOpenConns(readers)
	s.r.SetMaxIdleConns(readers)
	s.r.SetConnMaxLifetime(0)
	s.r.SetConnMaxIdleTime(0)
	return nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Ping reports whether the database answers a read and can take writes:
// CodeUnavailable after a write failed because the disk is full or failing
// (until a write succeeds again), or because another process held the
// database's lock past the busy timeout (for busyFailureLasts, or until a
// write succeeds). It never waits for the writer, so readiness checks do
// not queue behind writes.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return s.translate(err, "ping")
	}
	if f := s.writeFailure.Load(); f != nil && (!f.busy || time.Since(f.at) < busyFailureLasts) {
		return &models.Error{Code: models.CodeUnavailable, Message: "the database cannot take writes", RetryAfter: store.RetryAfter, Err: f.err}
	}
	return nil
}

// writeFailure is a write that failed for a reason that outlasts it.
type writeFailure struct {
	err  error
	busy bool // the lock was held: it passes by itself
	at   time.Time
}

// busyFailureLasts is how long Ping reports a write refused because
// another process held the lock, when no write has succeeded since.
const busyFailureLasts = 30 * time.Second

// Close closes the connections (checkpointing the WAL into the database
// file) and releases the directory.
func (s *Store) Close(context.Context) error {
	return s.closeAll()
}

func (s *Store) closeAll() error {
	var errs []error
	if s.w != nil && s.r != nil {
		_, _ = s.w.Exec("PRAGMA optimize") // keep the planner's statistics fresh
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
	}
	return errors.Join(errs...)
}

// Backup writes a consistent copy of the database at path (VACUUM INTO)
// while the server runs. It fails if path exists.
func Backup(ctx context.Context, dir, path string) error {
	src := filepath.Join(dir, FileName)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("no database to back up in %s: %w", dir, err)
	}
	// The copy holds every patient's records: only its owner may read it.
	// Created here, empty and private, so that VACUUM INTO fills a file
	// nobody else can open (and two backups cannot share one name).
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists: choose a new file", path)
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	f.Close()
	ok := false
	defer func() {
		if !ok {
			os.Remove(path)
		}
	}()
	// Not through Open: the running server holds the directory's lock.
	// SQLite's own locking makes this read safe beside it; the copy is
	// one read transaction, so it is consistent.
	db, err := sql.Open("sqlite", dsn(src, 30*time.Second, nil))
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return fmt.Errorf("back up %s to %s: %w", src, path, err)
	}
	if err := checkIntegrity(ctx, path); err != nil {
		return err
	}
	ok = true
	return nil
}

// checkIntegrity runs SQLite's integrity check on the database file at
// path.
func checkIntegrity(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", dsn(path, 5*time.Second, url.Values{"_query_only": {"1"}}))
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	var result string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&result); err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	if result != "ok" {
		return fmt.Errorf("check %s: %s", path, result)
	}
	return nil
}

// checkNotOld refuses a data directory that holds the old embedded store's
// files and no SQLite database of ours.
func checkNotOld(dir, path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	if len(old) > 0 {
		return fmt.Errorf("data directory %s: %w", dir, ErrOldDataDir)
	}
	return nil
}

func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "concord.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s: %w", dir, ErrDataDirLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "%d %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	return f, nil
}

// translate turns driver errors into models codes at the store's edge:
// no rows → not_found, a primary key or unique index taken → conflict, a
// lock not granted in time, a full disk, an I/O error or the caller's
// deadline → unavailable; anything else is wrapped with what it was doing.
func (s *Store) translate(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	var me *models.Error
	if errors.As(err, &me) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &models.Error{Code: models.CodeNotFound, Message: what + ": not found", Err: err}
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return &models.Error{Code: models.CodeConflict, Message: what + ": already exists", Err: err}
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN:
			wrapped := fmt.Errorf("%s: %w", what, err)
			s.writeFailure.Store(&writeFailure{err: wrapped, at: time.Now()})
			s.log.Error("database cannot write", "err", err.Error())
			return unavailable(wrapped)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			wrapped := fmt.Errorf("%s: %w", what, err)
			s.writeFailure.Store(&writeFailure{err: wrapped, busy: true, at: time.Now()})
			return unavailable(wrapped)
		case sqlite3.SQLITE_INTERRUPT, sqlite3.SQLITE_NOMEM:
			return unavailable(fmt.Errorf("%s: %w", what, err))
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return unavailable(fmt.Errorf("%s: %w", what, err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

func unavailable(err error) error {
	return &models.Error{Code: models.CodeUnavailable, Message: "the database is busy; try again shortly", RetryAfter: store.RetryAfter, Err: err}
}

// wrote records a successful write: the disk takes writes again.
func (s *Store) wrote() {
	if s.writeFailure.Load() != nil {
		s.writeFailure.Store(nil)
	}
}
