package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/concord-health/concord/models"
)

// liteEpoch is when the fixture readings start: a whole millisecond in UTC,
// as the store keeps times.
var liteEpoch = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// liteReadingID is the id of the n-th fixture reading: unique across
// patients, so fixtures of several patients share one numbering.
func liteReadingID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// liteReading returns the n-th fixture reading, a weight of the patient
// taken n minutes after liteEpoch. Its content follows from (patient, n)
// alone, so a test can rebuild what another process stored.
func liteReading(patient string, n int) models.Reading {
	value, canonical := 60+float64(n%4000)/100, 60+float64(n%4000)/100
	at := liteEpoch.Add(time.Duration(n) * time.Minute)
	return models.Reading{
		ID: liteReadingID(n), PatientID: patient, Type: models.ReadingWeight, TakenAt: at, Unit: "kg", Value: &value,
		Canonical: models.ReadingCanonical{Unit: "kg", Value: &canonical}, Band: models.BandNormal, LOINC: "29463-7",
		CreatedAt: at.Add(1500 * time.Millisecond),
	}
}

// liteOpen opens a store with the options, in a new temporary directory
// when o.Dir is "", and closes it when the test ends.
func liteOpen(t *testing.T, o Options) *Store {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// liteRawDB opens the database file at path on one connection of its own,
// beside any store, as an operator's tool would; it is closed when the test
// ends.
func liteRawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_busy_timeout=5000")
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// liteUserVersion returns the schema version recorded in the database on db.
func liteUserVersion(t *testing.T, db *sql.DB) int {
	t.Helper()
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatalf("read schema version: %v", err)
	}
	return v
}

// liteHasTable reports whether the database on db has the table.
func liteHasTable(t *testing.T, db *sql.DB, table string) bool {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", table).Scan(&n); err != nil {
		t.Fatalf("look for table %s: %v", table, err)
	}
	return n == 1
}
