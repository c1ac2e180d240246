package sqlite

import (
	"context"
	"strings"
	"testing"

	"github.com/concord-health/concord/models"
)

// TestStrictPlansCatchesScan: with StrictPlans, a statement run through the
// package's helpers (queryAll, exec) whose plan scans a whole table of
// patients' records, or a whole index of it other than a queue of work,
// fails, every time it is run, whatever name the statement gives the
// table; without StrictPlans it runs.
func TestStrictPlansCatchesScan(t *testing.T) {
	t.Parallel()
	idOf := func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}
	readingsByNote := func(ctx context.Context, s *Store) (int, error) {
		ids, err := queryAll(ctx, s, s.r, idOf, "readings by note", `SELECT id FROM readings WHERE note = ?`, "lite note")
		return len(ids), err
	}
	updateByNote := func(ctx context.Context, s *Store) (int, error) {
		n, err := s.exec(ctx, "band readings by note", `UPDATE readings SET band = 'checked' WHERE note = ?`, "lite note")
		return int(n), err
	}
	liveReadingsByNote := func(ctx context.Context, s *Store) (int, error) {
		ids, err := queryAll(ctx, s, s.r, idOf, "live readings by note", `SELECT id FROM readings WHERE note = ? AND deleted_at IS NULL`, "lite note")
		return len(ids), err
	}
	pendingDosesOfDate := func(ctx context.Context, s *Store) (int, error) {
		ids, err := queryAll(ctx, s, s.r, idOf, "pending doses of a date", `SELECT id FROM doses WHERE status = 'pending' AND local_date = ?`, "2026-03-01")
		return len(ids), err
	}
	linksEndedBy := func(ctx context.Context, s *Store) (int, error) {
		ids, err := queryAll(ctx, s, s.r, idOf, "links ended by", `SELECT l.id FROM care_links l WHERE l.ended_by = ?`, "lite")
		return len(ids), err
	}
	tests := []struct {
		name   string
		strict bool
		run    func(context.Context, *Store) (int, error)
		// wantErr are the parts of the error a scan must give; nil: none.
		wantErr []string
		want    int
	}{
		{"query, strict", true, readingsByNote, []string{"query plan scans", "SCAN readings"}, 0},
		{"query, not strict", false, readingsByNote, nil, 1},
		{"update, strict", true, updateByNote, []string{"query plan scans", "SCAN readings"}, 0},
		{"update, not strict", false, updateByNote, nil, 1},
		// Every live reading is in the partial index the plan walks: that is
		// the history, not a queue of work.
		{"query over a partial index of history, strict", true, liveReadingsByNote, []string{"query plan scans", "SCAN readings"}, 0},
		// Pending doses are work to do: a plan may read them all.
		{"query over a work index, strict", true, pendingDosesOfDate, nil, 1},
		// EXPLAIN QUERY PLAN names a table by its alias ("SCAN l").
		{"query of an aliased table, strict", true, linksEndedBy, []string{"query plan scans"}, 0},
		{"query of an aliased table, not strict", false, linksEndedBy, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := liteOpen(t, Options{StrictPlans: tt.strict})
			r := liteReading("p1", 1)
			r.Note = "lite note"
			if err := s.Readings().Insert(ctx, r); err != nil {
				t.Fatal(err)
			}
			link := models.CareLink{ID: models.CareLinkID("p1", "c1"), PatientID: "p1", CarerID: "c1", Status: models.LinkActive,
				Scopes: []models.CareScope{models.ScopeViewReadings}, EndedBy: "lite", CreatedAt: liteEpoch, UpdatedAt: liteEpoch}
			if err := s.Care().PutLink(ctx, link); err != nil {
				t.Fatal(err)
			}
			dose := models.Dose{ID: "dose-1", PatientID: "p1", MedicationID: "m1", ScheduledAt: liteEpoch, LocalDate: "2026-03-01",
				LocalTime: "08:00", Status: models.DosePending, CreatedAt: liteEpoch, UpdatedAt: liteEpoch}
			if err := s.Doses().Insert(ctx, dose); err != nil {
				t.Fatal(err)
			}
			// Twice: a statement that failed its check is checked again.
			for range 2 {
				got, err := tt.run(ctx, s)
				if tt.wantErr == nil {
					if err != nil || got != tt.want {
						t.Fatalf("got %d rows, %v; want %d rows", got, err, tt.want)
					}
					continue
				}
				if err == nil {
					t.Fatalf("got %d rows and no error; want the plan's scan refused", got)
				}
				for _, part := range tt.wantErr {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("error %q does not contain %q", err, part)
					}
				}
			}
		})
	}
}
