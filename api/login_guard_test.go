package api_test

import (
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/concord-health/concord/api"
)

const ownerPassword = "correct horse battery"

// behindProxy trusts the peer address of h.do's requests (Fiber's test
// connection comes from 0.0.0.0), so that X-Forwarded-For sets the client
// address of each request.
func behindProxy(c *api.Config) {
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32")}
}

// productionLimits puts back the credential routes' production limits,
// which the harness raises for other tests.
func productionLimits(c *api.Config) {
	d := api.DefaultConfig()
	c.AuthPerAddress, c.AuthPerAccount = d.AuthPerAddress, d.AuthPerAccount
}

// loginFrom sends a login for email from the client address addr.
func (h *harness) loginFrom(t *testing.T, addr, email, password string) response {
	t.Helper()
	return h.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": email, "password": password}, "X-Forwarded-For", addr)
}

// retryAfter returns a 429's Retry-After, failing if r is not one.
func retryAfter(t *testing.T, r response) time.Duration {
	t.Helper()
	if r.status != http.StatusTooManyRequests || r.problemCode(t) != "rate_limited" {
		t.Fatalf("want 429 rate_limited, got %d %s", r.status, r.body)
	}
	s, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || s < 1 {
		t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	return time.Duration(s) * time.Second
}

// guess is one wrong password from addr, waiting out any refusal first (as
// a patient attacker would). It returns how many refusals it met.
func (h *harness) guess(t *testing.T, addr, email string) (refused int) {
	t.Helper()
	for {
		r := h.loginFrom(t, addr, email, "wrong guess "+strconv.Itoa(refused))
		switch r.status {
		case http.StatusUnauthorized:
			return refused
		case http.StatusTooManyRequests:
			refused++
			h.clock.Advance(retryAfter(t, r))
		default:
			t.Fatalf("guess from %s: %d %s", addr, r.status, r.body)
		}
	}
}

// An attacker guessing passwords from one address cannot keep the owner
// out: the owner's own address is not slowed by the attacker's failures,
// and once the owner signs in from the attacker's address (a shared NAT),
// its count starts afresh. Production limits: no budget of attempts per
// account that a guesser could spend for the owner.
func TestLoginGuessingCannotLockOutOwner(t *testing.T) {
	t.Parallel()
	h := newHarness(t, behindProxy, productionLimits)
	owner := h.register(t, "owner@example.org", "patient")
	const attacker, home = "203.0.113.66", "198.51.100.20"
	if r := h.loginFrom(t, home, owner.Email, ownerPassword); r.status != http.StatusOK {
		t.Fatalf("owner's first login from home: %d %s", r.status, r.body)
	}

	start := h.clock.Now()
	refusals := 0
	for i := range 50 {
		refusals += h.guess(t, attacker, owner.Email)
		// The owner gets in from home all through the attack, with no
		// wait.
		if i%10 != 9 {
			continue
		}
		if r := h.loginFrom(t, home, owner.Email, ownerPassword); r.status != http.StatusOK {
			t.Fatalf("after %d wrong passwords from %s, the owner's login from %s: %d %s", i+1, attacker, home, r.status, r.body)
		}
	}
	took := h.clock.Now().Sub(start)
	t.Logf("50 wrong passwords from one address took %v of waiting (%d refusals)", took.Round(time.Minute), refusals)
	// 5 free, then 1 s doubling to 15 minutes: 50 failures need at least
	// 1+2+…+512 s and 35 waits of 15 minutes.
	if minimum := 1023*time.Second + 35*15*time.Minute; took < minimum {
		t.Errorf("50 guesses took %v, want at least %v", took, minimum)
	}

	// Refused attempts never reach the password check: even the right
	// password is refused while the address waits.
	r := h.loginFrom(t, attacker, owner.Email, ownerPassword)
	wait := retryAfter(t, r)
	if wait > 15*time.Minute {
		t.Errorf("Retry-After %v is beyond the 15-minute cap", wait)
	}

	// The owner, sharing the attacker's address, gets in once the wait is
	// over; the success resets that address's count: five mistakes in a
	// row are free again.
	h.clock.Advance(wait)
	if r := h.loginFrom(t, attacker, owner.Email, ownerPassword); r.status != http.StatusOK {
		t.Fatalf("owner from the attacker's address after the wait: %d %s", r.status, r.body)
	}
	for i := range 5 {
		if r := h.loginFrom(t, attacker, owner.Email, "a typo "+strconv.Itoa(i)); r.status != http.StatusUnauthorized {
			t.Fatalf("mistake %d after the reset: %d %s", i+1, r.status, r.body)
		}
	}
	if r := h.loginFrom(t, attacker, owner.Email, ownerPassword); r.status != http.StatusTooManyRequests {
		t.Errorf("the sixth attempt after five fresh failures: %d, want 429", r.status)
	}
}

// One address's guesses slow exponentially: five free, then Retry-After
// 1 s, 2 s, 4 s … up to 15 minutes; the figures in the log are the
// attacker's budget.
func TestLoginBackoffIsExponential(t *testing.T) {
	t.Parallel()
	h := newHarness(t, behindProxy, productionLimits, func(c *api.Config) { c.LoginAccountCeiling = api.Limit{} }) // the address's own limit alone
	owner := h.register(t, "slow@example.org", "patient")
	const attacker = "203.0.113.7"
	var waits []time.Duration
	for len(waits) < 14 {
		r := h.loginFrom(t, attacker, owner.Email, "wrong guess")
		if r.status == http.StatusUnauthorized {
			continue
		}
		w := retryAfter(t, r)
		waits = append(waits, w)
		h.clock.Advance(w)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900}
	for i := range want {
		want[i] *= time.Second
	}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("Retry-After after %d failures = %v, want %v (all: %v)", 5+i, waits[i], want[i], waits)
		}
	}

	// How many guesses an hour one address gets, first and thereafter.
	h2 := newHarness(t, behindProxy, productionLimits, func(c *api.Config) { c.LoginAccountCeiling = api.Limit{} })
	h2.register(t, "slow@example.org", "patient")
	count := func(d time.Duration) int {
		end, n := h2.clock.Now().Add(d), 0
		for {
			r := h2.loginFrom(t, attacker, owner.Email, "wrong guess")
			if r.status == http.StatusUnauthorized {
				n++
				continue
			}
			w := retryAfter(t, r)
			if h2.clock.Now().Add(w).After(end) {
				h2.clock.Advance(end.Sub(h2.clock.Now()))
				return n
			}
			h2.clock.Advance(w)
		}
	}
	first, second := count(time.Hour), count(time.Hour)
	t.Logf("one address, one account: %d guesses in the first hour, %d in the second (a day: %d)", first, second, first+23*second)
	if first > 18 || second > 4 {
		t.Errorf("guesses per hour: first %d, second %d; want at most 18 and 4", first, second)
	}
}

// Guesses spread over many addresses meet the per-account ceiling (10 an
// hour from addresses the account has not signed in from), while the
// owner's known address still gets in at once. A new address of the
// owner's waits like the attacker's: that is the ceiling's price.
func TestLoginCeilingLimitsDistributedGuessing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, behindProxy, productionLimits)
	owner := h.register(t, "target@example.org", "patient")
	const home = "198.51.100.20"
	if r := h.loginFrom(t, home, owner.Email, ownerPassword); r.status != http.StatusOK {
		t.Fatalf("owner's first login from home: %d %s", r.status, r.body)
	}
	bot := func(i int) string { return netip.AddrFrom4([4]byte{203, 0, byte(i / 250), byte(1 + i%250)}).String() }

	// An hour of a 500-address botnet, each address guessing every
	// minute while it may.
	failuresIn := func(d time.Duration) int {
		n := 0
		for end := h.clock.Now().Add(d); h.clock.Now().Before(end); h.clock.Advance(time.Minute) {
			for i := range 500 {
				r := h.loginFrom(t, bot(i), owner.Email, "botnet guess")
				switch r.status {
				case http.StatusUnauthorized:
					n++
				case http.StatusTooManyRequests:
				default:
					t.Fatalf("bot %d: %d %s", i, r.status, r.body)
				}
				if i == 250 {
					if r := h.loginFrom(t, home, owner.Email, ownerPassword); r.status != http.StatusOK {
						t.Fatalf("owner from home during the attack: %d %s", r.status, r.body)
					}
				}
			}
			if n > 100 {
				break
			}
		}
		return n
	}
	first := failuresIn(10 * time.Minute)
	if first > 12 {
		t.Errorf("500 addresses made %d guesses in 10 minutes, want at most 12 (the ceiling's 10 and a refill)", first)
	}
	t.Logf("500 addresses, one account: %d guesses in the first 10 minutes", first)

	// Refused by the ceiling, even with the right password: never checked.
	r := h.loginFrom(t, "192.0.2.200", owner.Email, ownerPassword)
	if w := retryAfter(t, r); w > 6*time.Minute {
		t.Errorf("a new address waits %v for the ceiling, want at most 6 minutes", w)
	}
}

// POST /v1/me/password: wrong current passwords are slowed per account
// like logins (three free, then 1 s doubling), refused before the
// password is checked, and a successful change starts afresh.
func TestPasswordChangeBackoff(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.register(t, "pw@example.org", "patient")
	change := func(current string) response {
		return h.do(t, "POST", "/v1/me/password", a.Access, map[string]any{"currentPassword": current, "newPassword": "a brand new password"})
	}
	for i := range 3 {
		if r := change("wrong current " + strconv.Itoa(i)); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong current password %d: %d %s", i+1, r.status, r.body)
		}
	}
	// The right password too is refused while the account waits.
	if w := retryAfter(t, change(ownerPassword)); w != time.Second {
		t.Errorf("Retry-After after 3 failures = %v, want 1s", w)
	}
	h.clock.Advance(time.Second)
	if r := change("wrong current again"); r.status != http.StatusUnauthorized {
		t.Fatalf("after the wait: %d %s", r.status, r.body)
	}
	if w := retryAfter(t, change(ownerPassword)); w != 2*time.Second {
		t.Errorf("Retry-After after 4 failures = %v, want 2s", w)
	}
	// Input errors are not failures.
	h.clock.Advance(2 * time.Second)
	if r := h.do(t, "POST", "/v1/me/password", a.Access, map[string]any{"currentPassword": ownerPassword, "newPassword": "short"}); r.status != http.StatusBadRequest {
		t.Fatalf("short new password: %d %s", r.status, r.body)
	}
	r := change(ownerPassword)
	if r.status != http.StatusOK {
		t.Fatalf("right password after the wait: %d %s", r.status, r.body)
	}
	a.Access = accountOf(t, r).Access
	for i := range 3 {
		if r := h.do(t, "POST", "/v1/me/password", a.Access, map[string]any{"currentPassword": "wrong again " + strconv.Itoa(i), "newPassword": "another new password"}); r.status != http.StatusUnauthorized {
			t.Errorf("failure %d after a successful change: %d, want 401 (count reset)", i+1, r.status)
		}
	}
}

// Guesses sent all at once cannot slip past the delay: an attempt under
// way counts as a failure until it is judged, so of 30 concurrent wrong
// passwords from one address only the 5 free ones reach the password
// check.
func TestLoginConcurrentGuessesMeetTheDelay(t *testing.T) {
	t.Parallel()
	h := newHarness(t, behindProxy)
	owner := h.register(t, "burst@example.org", "patient")
	const n = 30
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { statuses[i] = h.loginFrom(t, "203.0.113.99", owner.Email, "wrong guess").status })
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusUnauthorized] != 5 || count[http.StatusTooManyRequests] != n-5 {
		t.Errorf("statuses of %d concurrent guesses: %v, want 5 × 401 and %d × 429", n, count, n-5)
	}
}
