package services_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/concord-health/concord/internal/graphtest"
	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store/storetest"
)

// refreshEnv is the accounts service on a clock the test moves.
func refreshEnv(t *testing.T) (*services.Auth, *graphtest.Clock) {
	t.Helper()
	clk := graphtest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	return graphtest.New(t, storetest.New(t), clk, quietLog(), nil, graphtest.Options{}).Auth, clk
}

// Within RefreshReuseGrace of being spent, the same refresh token gets
// the same successor and the session lives on; a moment after it, the
// same token is a replay and ends the whole session.
func TestRefreshReuseGraceWindow(t *testing.T) {
	t.Parallel()
	a, clk := refreshEnv(t)
	ctx := context.Background()
	first := register(t, a, "grace@example.org")

	won, err := a.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(services.RefreshReuseGrace) // the last moment of the window
	again, err := a.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatalf("the same token %s after it was spent: %v, want the same successor", services.RefreshReuseGrace, err)
	}
	if again.RefreshToken != won.RefreshToken {
		t.Errorf("the same token within the window got another successor")
	}
	if _, err := a.Authenticate(ctx, again.AccessToken); err != nil {
		t.Errorf("the repeat's access token: %v", err)
	}
	next, err := a.Refresh(ctx, won.RefreshToken)
	if err != nil {
		t.Fatalf("the successor refreshes: %v", err)
	}

	clk.Advance(time.Millisecond) // past the window of the first token
	if _, err := a.Refresh(ctx, first.RefreshToken); !models.IsCode(err, models.CodeUnauthorized) {
		t.Fatalf("the first token %s after it was spent: %v, want unauthorized", services.RefreshReuseGrace+time.Millisecond, err)
	}
	if _, err := a.Refresh(ctx, next.RefreshToken); !models.IsCode(err, models.CodeUnauthorized) {
		t.Errorf("the newest token after a replay: %v, want unauthorized (the session ended)", err)
	}
	if _, err := a.Authenticate(ctx, next.AccessToken); err == nil {
		t.Errorf("the newest access token after a replay still works")
	}
}

// Eight requests that refresh one token at once all get the same
// successor, and the session lives on.
func TestConcurrentRefreshesShareOneSuccessor(t *testing.T) {
	t.Parallel()
	a, _ := refreshEnv(t)
	ctx := context.Background()
	first := register(t, a, "race@example.org")
	const n = 8
	results := make([]services.AuthResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = a.Refresh(ctx, first.RefreshToken) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("refresh %d of %d at once: %v", i, n, errs[i])
		}
		if results[i].RefreshToken != results[0].RefreshToken {
			t.Fatalf("refreshes at once got different successors")
		}
	}
	if _, err := a.Refresh(ctx, results[0].RefreshToken); err != nil {
		t.Errorf("the shared successor refreshes: %v", err)
	}
}
