package services_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/concord-health/concord/internal/graphtest"
	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store/storetest"
)

// newTestAuth is the accounts service of the graph run() builds
// (graphtest) on a fresh store, tuned by opts, its clock stopped at the
// time the test starts.
func newTestAuth(t *testing.T, opts ...services.AuthOption) *services.Auth {
	t.Helper()
	clk := graphtest.NewClock(time.Now().UTC().Truncate(time.Millisecond))
	return graphtest.New(t, storetest.New(t), clk, quietLog(), nil, graphtest.Options{Auth: opts}).Auth
}

func register(t *testing.T, a *services.Auth, email string) services.AuthResult {
	t.Helper()
	res, err := a.Register(context.Background(), services.Registration{Email: email, Password: "correct horse battery",
		Name: "Test", Role: models.RolePatient, Timezone: "Europe/London"})
	if err != nil {
		t.Fatalf("register %q: %v", email, err)
	}
	return res
}

// With every hashing slot taken (a login storm), a login waits its turn
// and is then refused as unavailable with a Retry-After, not queued
// forever; once slots free up it works.
func TestPasswordHashingIsBounded(t *testing.T) {
	t.Parallel()
	a := newTestAuth(t, services.PasswordHashing(2, 50*time.Millisecond))
	register(t, a, "storm@example.org")
	ctx := context.Background()

	release := services.HoldPasswordSlots(a)
	_, err := a.Login(ctx, "storm@example.org", "correct horse battery")
	var me *models.Error
	if !errors.As(err, &me) || me.Code != models.CodeUnavailable || me.RetryAfter <= 0 {
		t.Fatalf("login with every hashing slot taken: %v, want unavailable with a Retry-After", err)
	}
	if _, err := a.Register(ctx, services.Registration{Email: "second@example.org", Password: "correct horse battery",
		Name: "Second", Role: models.RolePatient}); !models.IsCode(err, models.CodeUnavailable) {
		t.Fatalf("register with every hashing slot taken: %v, want unavailable", err)
	}
	release()
	if _, err := a.Login(ctx, "storm@example.org", "correct horse battery"); err != nil {
		t.Fatalf("login once slots are free: %v", err)
	}
}

// A stolen access token cannot be used to guess the password: the fifth
// wrong current password ends the session it came from (and only it).
func TestPasswordGuessingEndsTheSession(t *testing.T) {
	t.Parallel()
	a := newTestAuth(t)
	ctx := context.Background()
	thief := register(t, a, "guess@example.org")
	owner, err := a.Login(ctx, "guess@example.org", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Authenticate(ctx, thief.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= services.MaxPasswordGuesses; i++ {
		_, err := a.ChangePassword(ctx, p, "wrong guess number "+string(rune('0'+i)), "a brand new password")
		if !models.IsCode(err, models.CodeUnauthorized) {
			t.Fatalf("guess %d: %v, want unauthorized", i, err)
		}
		_, authErr := a.Authenticate(ctx, thief.AccessToken)
		if ended := authErr != nil; ended != (i == services.MaxPasswordGuesses) {
			t.Fatalf("after guess %d the session ended: %v (%v)", i, ended, authErr)
		}
	}
	if _, err := a.Authenticate(ctx, owner.AccessToken); err != nil {
		t.Errorf("the owner's other session ended too: %v", err)
	}
	if _, err := a.Login(ctx, "guess@example.org", "correct horse battery"); err != nil {
		t.Errorf("the password changed: %v", err)
	}
}

// A right password in between starts the count again.
func TestPasswordGuessCountResets(t *testing.T) {
	t.Parallel()
	a := newTestAuth(t)
	ctx := context.Background()
	res := register(t, a, "reset@example.org")
	p, err := a.Authenticate(ctx, res.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	for range services.MaxPasswordGuesses - 1 {
		if _, err := a.ChangePassword(ctx, p, "not my password", "a brand new password"); !models.IsCode(err, models.CodeUnauthorized) {
			t.Fatal(err)
		}
	}
	next, err := a.ChangePassword(ctx, p, "correct horse battery", "a brand new password")
	if err != nil {
		t.Fatalf("the right password after %d wrong ones: %v", services.MaxPasswordGuesses-1, err)
	}
	p2, err := a.Authenticate(ctx, next.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	for range services.MaxPasswordGuesses - 1 {
		if _, err := a.ChangePassword(ctx, p2, "not my password", "another new password"); !models.IsCode(err, models.CodeUnauthorized) {
			t.Fatal(err)
		}
	}
	if _, err := a.Authenticate(ctx, next.AccessToken); err != nil {
		t.Errorf("the new session ended before %d wrong passwords of its own: %v", services.MaxPasswordGuesses, err)
	}
}

// Addresses are compared as people see them: one written with composed or
// decomposed accents is one account, and one that only looks like an
// existing address (a Cyrillic "а", "rn" for "m", "1" for "l") cannot
// register.
func TestEmailsThatLookAlike(t *testing.T) {
	t.Parallel()
	a := newTestAuth(t)
	ctx := context.Background()
	register(t, a, "paul@example.org")
	register(t, a, "zo\u00eb@example.org") // ë as one character
	register(t, a, "bill@example.org")
	register(t, a, "mary@example.org")

	if _, err := a.Login(ctx, "zoe\u0308@example.org", "correct horse battery"); err != nil { // ë as e + combining diaeresis
		t.Errorf("login with the decomposed spelling of a registered address: %v", err)
	}
	for _, lookalike := range []string{
		"p\u0430ul@example.org", // Cyrillic а
		"PAUL@EXAMPLE.ORG",
		"zoe\u0308@example.org",
		"bi1l@example.org",
		"rnary@example.org",
		"pau\u217c@example.org", // ROMAN NUMERAL FIFTY (looks like l)
	} {
		_, err := a.Register(ctx, services.Registration{Email: lookalike, Password: "correct horse battery", Name: "Imposter", Role: models.RolePatient})
		if !models.IsCode(err, models.CodeConflict) {
			t.Errorf("register %q beside look-alike accounts: %v, want conflict", lookalike, err)
		}
	}
	for _, invisible := range []string{"pa\u200bul@example.org", "pa\u00adul2@example.org"} {
		_, err := a.Register(ctx, services.Registration{Email: invisible, Password: "correct horse battery", Name: "Imposter", Role: models.RolePatient})
		if !models.IsCode(err, models.CodeInvalid) {
			t.Errorf("register %q (an invisible character): %v, want invalid", invisible, err)
		}
	}
	register(t, a, "paula@example.org") // different enough
}
