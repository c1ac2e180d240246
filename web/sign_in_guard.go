package web

import (
	"bytes"
	"net/netip"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
)

// The sign-in throttle mirrors the API's login guard (api/login_guard.go)
// in its first rule: failures per account and client address back off
// exponentially after a few free ones, and a success resets them; and
// failures per address across accounts do too. It lives in memory: each
// instance counts its own.

// Backoff is how failed attempts slow down: the first Free failures cost
// nothing; after each further failure the next attempt waits First,
// doubling with every failure up to Max. A key with no failure for Forget
// starts afresh. A zero First disables it.
type Backoff struct {
	Free   int
	First  time.Duration
	Max    time.Duration
	Forget time.Duration
}

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
	neither outcome = iota // not judged (invalid input, store unavailable)
	failed                 // a wrong password
	succeeded
)

func outcomeOf(err error) outcome {
	switch {
	case err == nil:
		return succeeded
	case models.IsCode(err, models.CodeUnauthorized):
		return failed
	}
	return neither
}

// failures counts failed attempts per key and holds back attempts until
// the backoff has passed. Attempts under way count as failures until they
// end, so concurrent guesses cannot slip in before the first is judged.
type failures struct {
	backoff Backoff
	now     func() time.Time

	mu    sync.Mutex
	keys  map[string]*failureCount
	swept time.Time
}

type failureCount struct {
	n, pending int
	last       time.Time
}

func newFailures(b Backoff, now func() time.Time) *failures {
	return &failures{backoff: b, now: now, keys: map[string]*failureCount{}}
}

// begin admits an attempt for key or returns rate_limited; every admitted
// attempt must be ended with end.
func (f *failures) begin(key string) error {
	if f.backoff.First <= 0 {
		return nil
	}
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.Sub(f.swept) >= time.Minute {
		f.swept = now
		for k, fc := range f.keys {
			if fc.pending <= 0 && now.Sub(fc.last) >= max(f.backoff.Forget, f.backoff.Max) {
				delete(f.keys, k)
			}
		}
	}
	fc := f.keys[key]
	if fc == nil {
		fc = &failureCount{}
		f.keys[key] = fc
	}
	if wait := f.backoff.wait(fc.n + fc.pending); wait > 0 {
		ready := fc.last.Add(wait)
		if fc.pending > 0 {
			ready = now.Add(wait)
		}
		if now.Before(ready) {
			return &models.Error{Code: models.CodeRateLimited, Message: "too many failed sign-ins; try again later", RetryAfter: ready.Sub(now)}
		}
	}
	fc.pending++
	return nil
}

// end records how an attempt admitted by begin ended.
func (f *failures) end(key string, o outcome) {
	if f.backoff.First <= 0 {
		return
	}
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
		fc.last = f.now()
	case succeeded:
		fc.n = 0
	}
	if fc.n == 0 && fc.pending <= 0 {
		delete(f.keys, key)
	}
}

// clientAddresses mirrors the API's rule (api/client_address.go): the
// client is the direct peer, or, when the peer is a trusted proxy, the
// rightmost X-Forwarded-For entry that is not itself a trusted proxy.
type clientAddresses struct{ trusted []netip.Prefix }

func (ca clientAddresses) of(c *fiber.Ctx) netip.Addr {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	client := peer.Unmap()
	if !ca.isTrusted(client) {
		return client
	}
	lines := c.Request().Header.PeekAll(fiber.HeaderXForwardedFor)
	for l := len(lines) - 1; l >= 0; l-- {
		entries := bytes.Split(lines[l], []byte(","))
		for i := len(entries) - 1; i >= 0; i-- {
			s := string(bytes.TrimSpace(entries[i]))
			a, err := netip.ParseAddr(s)
			if err != nil {
				ap, err := netip.ParseAddrPort(s)
				if err != nil {
					return client
				}
				a = ap.Addr()
			}
			client = a.Unmap()
			if !ca.isTrusted(client) {
				return client
			}
		}
	}
	return client
}

func (ca clientAddresses) isTrusted(a netip.Addr) bool {
	for _, p := range ca.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// throttleKey counts a whole IPv4 address, or the /64 of an IPv6 one.
func throttleKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
