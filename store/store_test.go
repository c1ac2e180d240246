package store_test

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

func TestUserEmailUnique(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	u := models.User{ID: "u1", Email: "a@example.org", Name: "A", Role: models.RolePatient}
	if err := s.Users().Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	u.ID = "u2"
	if err := s.Users().Create(ctx, u); models.ErrorCode(err) != models.CodeConflict {
		t.Fatalf("duplicate e-mail: got %v, want conflict", err)
	}
	if _, err := s.Users().Get(ctx, "nobody"); models.ErrorCode(err) != models.CodeNotFound {
		t.Fatalf("missing user: got %v, want not_found", err)
	}
	got, err := s.Users().ByEmail(ctx, "a@example.org")
	if err != nil || got.ID != "u1" {
		t.Fatalf("by email: %+v, %v", got, err)
	}
}

// TestSpendTokenExactlyOnce: many goroutines spend the same tokens through
// one store; each token must be spent by exactly one of them. On the
// embedded server this only holds because the store serialises commands.
func TestSpendTokenExactlyOnce(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	const tokens, workers = 200, 8
	now := time.Now().UTC()
	for i := range tokens {
		if err := s.Sessions().AddToken(ctx, models.RefreshToken{Hash: "h" + string(rune('a'+i%26)) + time.Duration(i).String(), SessionID: "s", UserID: "u", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	var wins [tokens]atomic.Int32
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range tokens {
				ok, err := s.Sessions().SpendToken(ctx, "h"+string(rune('a'+i%26))+time.Duration(i).String(), now)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					wins[i].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for i := range tokens {
		if n := wins[i].Load(); n != 1 {
			t.Errorf("token %d spent %d times, want exactly 1", i, n)
		}
	}
}

func TestEmbeddedDirectoryLock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	log := discardLogger()
	e, err := store.StartEmbedded(ctx, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.StartEmbedded(ctx, dir, log)
	if err == nil || !errorsIs(err, store.ErrDataDirLocked) {
		t.Fatalf("second start on the same directory: got %v, want ErrDataDirLocked", err)
	}
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// After a clean close the directory can be used again, with its data.
	e2, err := store.StartEmbedded(ctx, dir, log)
	if err != nil {
		t.Fatalf("restart after close: %v", err)
	}
	_ = e2.Close(ctx)
}
