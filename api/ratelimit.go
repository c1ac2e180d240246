package api

import (
	"math"
	"sync"
	"time"

	"github.com/concord-health/concord/models"
)

// Limit is a token bucket: Burst requests at once, refilled at Burst per Per.
type Limit struct {
	Burst int
	Per   time.Duration
}

// limiter keeps one token bucket per key (a client address or an account),
// in memory: each instance limits on its own.
type limiter struct {
	limit Limit
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(l Limit, now func() time.Time) *limiter {
	return &limiter{limit: l, now: now, buckets: map[string]*bucket{}}
}

// allow takes a token for key, or returns a rate_limited error saying when
// the next one will be there.
func (l *limiter) allow(key string) error {
	if l == nil || l.limit.Burst <= 0 {
		return nil
	}
	now := l.now()
	rate := float64(l.limit.Burst) / l.limit.Per.Seconds() // tokens per second
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now, rate)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: float64(l.limit.Burst), at: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(float64(l.limit.Burst), b.tokens+now.Sub(b.at).Seconds()*rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	wait := time.Duration((1 - b.tokens) / rate * float64(time.Second))
	return &models.Error{Code: models.CodeRateLimited, Message: "too many attempts; try again later", RetryAfter: wait}
}

// refund gives back a token taken for key, for an attempt that turned out
// not to count.
func (l *limiter) refund(key string) {
	if l == nil || l.limit.Burst <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		b.tokens = math.Min(float64(l.limit.Burst), b.tokens+1)
	}
}

// sweep drops full buckets now and then so the map does not grow forever.
func (l *limiter) sweep(now time.Time, rate float64) {
	if now.Sub(l.swept) < l.limit.Per {
		return
	}
	l.swept = now
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*rate >= float64(l.limit.Burst) {
			delete(l.buckets, k)
		}
	}
}
