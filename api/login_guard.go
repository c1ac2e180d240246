package api

import (
	"sync"
	"time"

	"github.com/concord-health/concord/models"
)

// Backoff is how failed attempts slow down: the first Free failures cost
// nothing; after each further failure the next attempt waits First,
// doubling with every failure up to Max. A key with no failure for Forget
// starts afresh.
type Backoff struct {
	Free   int
	First  time.Duration
	Max    time.Duration
	Forget time.Duration
}

// wait is how long the next attempt waits after n failures.
func (b Backoff) wait(n int) time.Duration {
	if n < b.Free || b.First <= 0 {
		return 0
	}
	d := b.First
	for i := b.Free; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// outcome is how an admitted attempt ended.
type outcome int

const (
	// neither: the attempt was not judged (invalid input, store unavailable).
	neither outcome = iota
	failed
	succeeded
)

// outcomeOf reads an attempt's outcome from the error the service returned:
// unauthorized is a failure (a wrong password), no error a success.
func outcomeOf(err error) outcome {
	switch {
	case err == nil:
		return succeeded
	case models.IsCode(err, models.CodeUnauthorized):
		return failed
	}
	return neither
}

// failures counts failed attempts per key and holds back attempts until the
// backoff has passed. It counts failures, not attempts: a success resets
// the key, and attempts that end otherwise leave it as it was. It lives in
// memory: each Concord instance counts its own, and a restart forgets.
type failures struct {
	backoff Backoff
	now     func() time.Time

	mu    sync.Mutex
	keys  map[string]*failureCount
	swept time.Time
}

type failureCount struct {
	n       int       // failures since the last success
	pending int       // attempts admitted and not yet ended
	last    time.Time // the latest failure
}

func newFailures(b Backoff, now func() time.Time) *failures {
	return &failures{backoff: b, now: now, keys: map[string]*failureCount{}}
}

// begin admits an attempt for key, or returns a rate_limited error whose
// RetryAfter says when the next attempt will be admitted. Every admitted
// attempt must be ended with end.
func (f *failures) begin(key string) error {
	if f.backoff.First <= 0 {
		return nil
	}
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sweep(now)
	fc := f.keys[key]
	if fc == nil {
		fc = &failureCount{}
		f.keys[key] = fc
	}
	// Attempts under way count as failures until they end, so that
	// concurrent guesses cannot slip in before the first is judged.
	if wait := f.backoff.wait(fc.n + fc.pending); wait > 0 {
		ready := fc.last.Add(wait)
		if fc.pending > 0 {
			ready = now.Add(wait)
		}
		if now.Before(ready) {
			return &models.Error{Code: models.CodeRateLimited, Message: "too many failed attempts; try again later", RetryAfter: ready.Sub(now)}
		}
	}
	fc.pending++
	return nil
}

// guard runs fn as one attempt for key: refused as begin refuses, and
// ended with fn's outcome (outcomeOf), or with neither if fn panics.
func (f *failures) guard(key string, fn func() error) error {
	if err := f.begin(key); err != nil {
		return err
	}
	o := neither
	defer func() { f.end(key, o) }()
	err := fn()
	o = outcomeOf(err)
	return err
}

// end records how an attempt admitted by begin ended.
func (f *failures) end(key string, o outcome) {
	if f.backoff.First <= 0 {
		return
	}
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	fc := f.keys[key]
	if fc == nil {
		return
	}
	fc.pending--
	switch o {
	case failed:
		fc.n++
		fc.last = now
	case succeeded:
		fc.n = 0
	}
	if fc.n == 0 && fc.pending <= 0 {
		delete(f.keys, key)
	}
}

// sweep drops, now and then, keys that have had no failure for Forget.
func (f *failures) sweep(now time.Time) {
	if now.Sub(f.swept) < time.Minute {
		return
	}
	f.swept = now
	forget := max(f.backoff.Forget, f.backoff.Max)
	for k, fc := range f.keys {
		if fc.pending <= 0 && now.Sub(fc.last) >= forget {
			delete(f.keys, k)
		}
	}
}

// maxKnownAddresses bounds the addresses remembered per account; the
// oldest is forgotten first.
const maxKnownAddresses = 16

// loginGuard holds back password guessing on login without letting a
// guesser lock the account's owner out:
//
//   - failures are counted per account and client address, with
//     exponential delay (LoginFailures); a success from that address
//     resets its count, and no other address's failures delay it;
//   - failures from addresses the account has not signed in from lately
//     also draw on a per-account ceiling (LoginAccountCeiling), which
//     bounds a guesser spread over many addresses; addresses the account
//     signed in from within KnownAddressFor are not held back by it.
//
// Refused attempts never reach password verification. Accounts are keyed
// by normalised e-mail, whether or not an account has it, so that the
// guard behaves alike for known and unknown e-mails. Everything is in
// memory: each instance guards on its own, and a restart forgets.
type loginGuard struct {
	pairs    *failures
	ceiling  *limiter
	knownFor time.Duration
	now      func() time.Time

	mu    sync.Mutex
	known map[string]map[string]time.Time // account → address → latest sign-in
	swept time.Time
}

func newLoginGuard(b Backoff, ceiling Limit, knownFor time.Duration, now func() time.Time) *loginGuard {
	return &loginGuard{pairs: newFailures(b, now), ceiling: newLimiter(ceiling, now), knownFor: knownFor, now: now,
		known: map[string]map[string]time.Time{}}
}

// loginAttempt is a login admitted by the guard, to be ended with end.
type loginAttempt struct {
	g                *loginGuard
	account, address string
	drewCeiling      bool
	ended            bool
}

// begin admits a login for account from address, or returns a
// rate_limited error with RetryAfter.
func (g *loginGuard) begin(account, address string) (*loginAttempt, error) {
	pair := account + "\x00" + address
	if err := g.pairs.begin(pair); err != nil {
		return nil, err
	}
	a := &loginAttempt{g: g, account: account, address: address}
	if account != "" && !g.isKnown(account, address) {
		if err := g.ceiling.allow(account); err != nil {
			g.pairs.end(pair, neither)
			return nil, err
		}
		a.drewCeiling = true
	}
	return a, nil
}

// end records the login's outcome from the error Login returned. An
// attempt that is not a failure gives its share of the ceiling back.
func (a *loginAttempt) end(err error) {
	a.finish(outcomeOf(err))
}

// abandon ends an attempt that was not ended (a panic) as neither
// success nor failure.
func (a *loginAttempt) abandon() { a.finish(neither) }

func (a *loginAttempt) finish(o outcome) {
	if a.ended {
		return
	}
	a.ended = true
	a.g.pairs.end(a.account+"\x00"+a.address, o)
	if a.drewCeiling && o != failed {
		a.g.ceiling.refund(a.account)
	}
	if o == succeeded {
		a.g.remember(a.account, a.address)
	}
}

// remember notes that account signed in from address (a login, a
// registration or a refresh).
func (g *loginGuard) remember(account, address string) {
	if account == "" || g.knownFor <= 0 {
		return
	}
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sweep(now)
	addrs := g.known[account]
	if addrs == nil {
		addrs = map[string]time.Time{}
		g.known[account] = addrs
	}
	addrs[address] = now
	for len(addrs) > maxKnownAddresses {
		oldest := address
		for a, at := range addrs {
			if at.Before(addrs[oldest]) {
				oldest = a
			}
		}
		delete(addrs, oldest)
	}
}

func (g *loginGuard) isKnown(account, address string) bool {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	at, ok := g.known[account][address]
	return ok && now.Sub(at) < g.knownFor
}

// sweep drops, now and then, addresses not seen within knownFor.
func (g *loginGuard) sweep(now time.Time) {
	if now.Sub(g.swept) < time.Hour {
		return
	}
	g.swept = now
	for account, addrs := range g.known {
		for a, at := range addrs {
			if now.Sub(at) >= g.knownFor {
				delete(addrs, a)
			}
		}
		if len(addrs) == 0 {
			delete(g.known, account)
		}
	}
}
