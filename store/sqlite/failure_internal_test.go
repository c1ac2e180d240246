package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
)

// liteHoldWriter starts a transaction on s's writer that stays open until
// the returned release is called; release returns the transaction's error.
func liteHoldWriter(t *testing.T, s *Store) (release func() error) {
	t.Helper()
	held, hold := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.tx(context.Background(), "hold the writer", func(*sql.Tx) error {
			close(held)
			<-hold
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("hold the writer: %v", err)
	}
	return func() error {
		close(hold)
		return <-done
	}
}

// TestDeadlineWhileWriterHeld: a write that cannot have the writer before
// the caller's deadline, because a transaction holds it, fails as
// unavailable with a retry delay, not with the driver's or the context's
// own error, and leaves nothing behind.
func TestDeadlineWhileWriterHeld(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		write func(ctx context.Context, s *Store, r models.Reading) error
	}{
		{"statement", func(ctx context.Context, s *Store, r models.Reading) error {
			_, err := s.exec(ctx, "insert reading "+r.ID, insertReading, readingArgs(r)...)
			return err
		}},
		{"transaction", func(ctx context.Context, s *Store, r models.Reading) error {
			return s.tx(ctx, "insert reading "+r.ID, func(tx *sql.Tx) error {
				_, err := s.execOn(ctx, tx, "insert reading "+r.ID, insertReading, readingArgs(r)...)
				return err
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := liteOpen(t, Options{})
			r := liteReading("p1", 1)
			release := liteHoldWriter(t, s)

			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			err := tt.write(ctx, s, r)
			cancel()
			var me *models.Error
			if !errors.As(err, &me) || me.Code != models.CodeUnavailable {
				t.Errorf("write past the deadline while the writer is held: %v (code %q), want unavailable", err, models.ErrorCode(err))
			} else if me.RetryAfter <= 0 {
				t.Errorf("unavailable with RetryAfter %v, want a positive delay", me.RetryAfter)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("write past the deadline: %v, want it to wrap the deadline", err)
			}

			if err := release(); err != nil {
				t.Fatalf("the holding transaction: %v", err)
			}
			if _, err := s.Readings().Lookup(context.Background(), r.ID); !models.IsCode(err, models.CodeNotFound) {
				t.Errorf("reading of the failed write: %v, want not_found", err)
			}
			if err := tt.write(context.Background(), s, r); err != nil {
				t.Fatalf("the same write once the writer is free: %v", err)
			}
			got, err := s.Readings().Lookup(context.Background(), r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(r, got); diff != "" {
				t.Errorf("reading (-want +got):\n%s", diff)
			}
		})
	}
}
