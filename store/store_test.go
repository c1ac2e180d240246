package store_test

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/concord-health/concord/models"
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

// Two accounts may not share an e-mail key (the addresses' confusable
// skeleton); accounts without a key are not compared.
func TestUserEmailKeyUnique(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	for _, u := range []models.User{
		{ID: "k1", Email: "paul@example.org", EmailKey: "paul@example.org", Role: models.RolePatient},
		{ID: "n1", Email: "n1@example.org", Role: models.RolePatient},
		{ID: "n2", Email: "n2@example.org", Role: models.RolePatient},
	} {
		if err := s.Users().Create(ctx, u); err != nil {
			t.Fatalf("create %s: %v", u.ID, err)
		}
	}
	lookalike := models.User{ID: "k2", Email: "pаul@example.org", EmailKey: "paul@example.org", Role: models.RolePatient}
	if err := s.Users().Create(ctx, lookalike); models.ErrorCode(err) != models.CodeConflict {
		t.Fatalf("a second account with the same e-mail key: got %v, want conflict", err)
	}
	got, err := s.Users().Get(ctx, "k1")
	if err != nil || got.EmailKey != "paul@example.org" {
		t.Fatalf("the key is stored: %+v, %v", got, err)
	}
}

// TestSpendTokenExactlyOnce: many goroutines spend the same tokens through
// one store; each token must be spent by exactly one of them.
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
