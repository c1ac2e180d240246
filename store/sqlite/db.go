package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/concord-health/concord/store"
)

// execer is a connection pool or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// scanner is a row.
type scanner interface{ Scan(dest ...any) error }

// exec runs one write statement on the writer and returns how many rows it
// changed.
func (s *Store) exec(ctx context.Context, what, query string, args ...any) (int64, error) {
	return s.execOn(ctx, s.w, what, query, args...)
}

// execOn runs one write statement on the writer or in a transaction.
func (s *Store) execOn(ctx context.Context, db execer, what, query string, args ...any) (int64, error) {
	if err := s.checkPlan(ctx, query, args); err != nil {
		return 0, err
	}
	res, err := db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, s.translate(err, "%s", what)
	}
	s.wrote()
	n, err := res.RowsAffected()
	return n, s.translate(err, "%s", what)
}

// tx runs fn in one IMMEDIATE transaction on the writer: it commits if fn
// returns nil and rolls back otherwise, so nothing fn wrote is half-kept.
func (s *Store) tx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.translate(err, "%s: begin", what)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.translate(err, "%s: commit", what)
	}
	s.wrote()
	return nil
}

// prepare prepares a statement in the transaction tx, for a loop.
func (s *Store) prepare(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if err := s.checkPlan(ctx, query, make([]any, strings.Count(query, "?"))); err != nil {
		return nil, err
	}
	stmt, err := tx.PrepareContext(ctx, query)
	return stmt, s.translate(err, "prepare %s", oneLine(query))
}

// queryAll runs a query on db (the reader pool unless in a transaction)
// and scans every row with scan.
func queryAll[T any](ctx context.Context, s *Store, db execer, scan func(scanner) (T, error), what, query string, args ...any) ([]T, error) {
	if err := s.checkPlan(ctx, query, args); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.translate(err, "%s", what)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, s.translate(err, "%s", what)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.translate(err, "%s", what)
	}
	return out, nil
}

// queryOne is queryAll for one row: not_found when there is none.
func queryOne[T any](ctx context.Context, s *Store, db execer, scan func(scanner) (T, error), what, query string, args ...any) (T, error) {
	items, err := queryAll(ctx, s, db, scan, what, query, args...)
	var zero T
	if err != nil {
		return zero, err
	}
	if len(items) == 0 {
		return zero, s.translate(sql.ErrNoRows, "%s", what)
	}
	return items[0], nil
}

// scannedTables are the tables that grow with patients' records and time:
// no statement may scan one whole (StrictPlans). medications and
// nominations are not among them: the scheduler reads every active
// medication and the daily flag sweep every nomination, by design.
var scannedTables = []string{"readings", "doses", "dose_plans", "notifications", "outbox", "flags", "flag_slots",
	"audit_log", "sessions", "refresh_tokens", "devices", "care_links", "care_link_scopes", "care_invitations", "consents", "service_episodes"}

// workIndexes are partial indexes that hold only live work (pending
// doses, due notifications, live flags): reading one whole reads the work
// to do, not the history.
var workIndexes = []string{"doses_pending", "doses_patient_pending", "outbox_due", "outbox_leased", "outbox_lease",
	"flags_patient_live", "flags_follow_up"}

var scanLine = regexp.MustCompile(`^SCAN (\w+)( USING (COVERING )?INDEX (\w+))?`)

// aliasClause finds "FROM table alias" and "JOIN table AS alias": the plan
// names an aliased table by its alias.
var aliasClause = regexp.MustCompile(`(?i)\b(?:FROM|JOIN)\s+(\w+)\s+(?:AS\s+)?(\w+)`)

// aliases maps each alias the query gives a table to the table.
func aliases(query string) map[string]string {
	out := map[string]string{}
	for _, m := range aliasClause.FindAllStringSubmatch(query, -1) {
		switch strings.ToUpper(m[2]) {
		case "WHERE", "INDEXED", "NOT", "ORDER", "GROUP", "LIMIT", "ON", "JOIN", "LEFT", "INNER", "CROSS", "USING", "UNION", "RETURNING":
			continue
		}
		out[m[2]] = m[1]
	}
	return out
}

// checkPlan, with StrictPlans, asks SQLite for the statement's plan the
// first time the statement is seen and fails it if the plan scans one of
// scannedTables from end to end (a full table scan, or a full scan of an
// index other than workIndexes).
func (s *Store) checkPlan(ctx context.Context, query string, args []any) error {
	if !s.strict {
		return nil
	}
	if _, seen := s.plans.Load(query); seen {
		return nil
	}
	scans, err := s.fullScans(ctx, query, args)
	if err != nil {
		return err
	}
	if len(scans) > 0 {
		return fmt.Errorf("query plan scans %s: %s", strings.Join(scans, "; "), oneLine(query))
	}
	s.plans.Store(query, true)
	return nil
}

// fullScans returns the plan lines of query that scan a whole table of
// scannedTables.
func (s *Store) fullScans(ctx context.Context, query string, args []any) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return nil, fmt.Errorf("explain %s: %w", oneLine(query), err)
	}
	defer rows.Close()
	var scans []string
	tables := aliases(query)
	for rows.Next() {
		var id, parent, notUsed int
		var detail string
		if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
			return nil, err
		}
		m := scanLine.FindStringSubmatch(detail)
		if m == nil {
			continue
		}
		if table, ok := tables[m[1]]; ok {
			m[1] = table
		}
		if !contains(scannedTables, m[1]) {
			continue
		}
		if m[4] != "" && contains(workIndexes, m[4]) {
			continue
		}
		scans = append(scans, detail)
	}
	return scans, rows.Err()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }

// Times are stored as INTEGER milliseconds since the Unix epoch, UTC:
// ms truncates as store.Millis does, and fromMS reads back in UTC.

func ms(t time.Time) int64 { return t.UnixMilli() }

// msOrNil is a nullable time's column value.
func msOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

// float64OrNil is a nullable number's column value.
func float64OrNil(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

func fromNullFloat(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	f := v.Float64
	return &f
}

// jsonText is a JSON column's value: what is stored as JSON is never
// filtered, sorted or joined on. Times in it are kept as every column
// keeps them (store.AsStored), as BSON would.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(store.AsStored(v))
	if err != nil {
		return "", fmt.Errorf("encode %T: %w", v, err)
	}
	return string(b), nil
}

func fromJSON(text string, v any) error {
	if err := json.Unmarshal([]byte(text), v); err != nil {
		return fmt.Errorf("decode %T: %w", v, err)
	}
	return nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// idList is a list of ids as one parameter, for `IN (SELECT value FROM
// json_each(?))`: any number of ids in one statement.
func idList(ids []string) string {
	if ids == nil {
		ids = []string{}
	}
	b, _ := json.Marshal(ids) // strings always encode
	return string(b)
}
