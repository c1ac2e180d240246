package services

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/concord-health/concord/models"
)

// Password hashing is the most expensive thing a request can ask for: an
// argon2id computation takes tens of milliseconds of a whole core and
// argonMemoryKiB of memory. passwordGate bounds how many run at once, so
// that a storm of logins cannot starve the rest of the API of CPU or the
// process of memory: a request that cannot start one within its wait gets
// CodeUnavailable (503 with Retry-After).
type passwordGate struct {
	slots chan struct{}
	wait  time.Duration
}

// DefaultPasswordWait is how long a login, registration or password change
// waits for a hashing slot before it is refused.
const DefaultPasswordWait = 2 * time.Second

// passwordRetryAfter is what a refused request is told to wait.
const passwordRetryAfter = time.Second

// defaultPasswordSlots is one hashing at a time per core, and no more than
// a quarter of the Go memory limit (GOMEMLIMIT) can hold, or 512 MiB when
// no limit is set.
func defaultPasswordSlots() int {
	budget := int64(512 << 20)
	if limit := debug.SetMemoryLimit(-1); limit < math.MaxInt64 {
		budget = limit / 4
	}
	byMemory := int(budget / (argonMemoryKiB * 1024))
	return max(1, min(runtime.GOMAXPROCS(0), byMemory))
}

func newPasswordGate(slots int, wait time.Duration) passwordGate {
	return passwordGate{slots: make(chan struct{}, max(slots, 1)), wait: wait}
}

// run runs fn (a hash or a check) in a slot. Errors: unavailable when no
// slot frees up within the wait or the context ends first.
func (g passwordGate) run(ctx context.Context, fn func()) error {
	timer := time.NewTimer(g.wait)
	defer timer.Stop()
	select {
	case g.slots <- struct{}{}:
	case <-timer.C:
		return &models.Error{Code: models.CodeUnavailable, Message: "too many sign-ins at once; try again in a moment", RetryAfter: passwordRetryAfter}
	case <-ctx.Done():
		return &models.Error{Code: models.CodeUnavailable, Message: "too many sign-ins at once; try again in a moment", RetryAfter: passwordRetryAfter,
			Err: fmt.Errorf("wait for a password hashing slot: %w", ctx.Err())}
	}
	defer func() { <-g.slots }()
	fn()
	return nil
}

// check is CheckPassword in a slot.
func (g passwordGate) check(ctx context.Context, hash, pw string) (ok bool, err error) {
	err = g.run(ctx, func() { ok = CheckPassword(hash, pw) })
	return ok, err
}

// hash is HashPassword in a slot.
func (g passwordGate) hash(ctx context.Context, pw string) (h string, err error) {
	if err := g.run(ctx, func() { h, err = HashPassword(pw) }); err != nil {
		return "", err
	}
	return h, err
}
