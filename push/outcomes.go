package push

// What FCM's answers mean: the Outcome of each push, and how long FCM
// asked the caller to wait.

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
)

// Outcome is what the caller should do after a push.
type Outcome string

// The outcomes of a push.
const (
	// Sent: FCM accepted the message.
	Sent Outcome = "sent"
	// Unregistered: the token is no longer valid for this project
	// (UNREGISTERED, SENDER_ID_MISMATCH); remove it.
	Unregistered Outcome = "unregistered"
	// Invalid: FCM (or Send, for an empty token) rejected the token itself
	// as malformed; remove it.
	Invalid Outcome = "invalid"
	// Retry: a temporary failure (quota, FCM unavailable or failing, the
	// network, the context's deadline); try again later, not before
	// Result.RetryAfter.
	Retry Outcome = "retry"
	// Failed: a permanent failure for this message (bad payload, APNs
	// credentials, authentication); do not retry it as it is.
	Failed Outcome = "failed"
)

// Result is what became of one Message.
type Result struct {
	// Token is the push's token.
	Token string
	// MessageID is FCM's name for the message ("projects/p/messages/id")
	// when it was sent.
	MessageID string
	// Outcome says what to do next.
	Outcome Outcome
	// RetryAfter is how long FCM asked the caller to wait (its Retry-After
	// header, in seconds or as a date); zero when it did not say.
	RetryAfter time.Duration
	// Err is the SDK's error when the push was not sent; it may be tested
	// with the messaging and errorutils packages' Is functions.
	Err error
}

// classify maps the SDK's error for one message to an Outcome, and reads
// Retry-After from the HTTP response when there was one.
func classify(err error, now time.Time) (Outcome, time.Duration) {
	resp := errorutils.HTTPResponse(err)
	var retryAfter time.Duration
	if resp != nil {
		retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	}
	switch {
	case messaging.IsUnregistered(err), messaging.IsSenderIDMismatch(err):
		return Unregistered, retryAfter
	case messaging.IsInvalidArgument(err), errorutils.IsInvalidArgument(err):
		// INVALID_ARGUMENT covers bad payloads too; only a complaint about
		// the token means the token should go. FCM says so only in its text.
		if strings.Contains(strings.ToLower(err.Error()), "registration token") {
			return Invalid, retryAfter
		}
		return Failed, retryAfter
	case messaging.IsQuotaExceeded(err), errorutils.IsResourceExhausted(err),
		messaging.IsUnavailable(err), errorutils.IsUnavailable(err),
		messaging.IsInternal(err), errorutils.IsInternal(err),
		errorutils.IsDeadlineExceeded(err):
		return Retry, retryAfter
	case resp != nil && (resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests):
		return Retry, retryAfter
	case resp == nil && errorutils.IsUnknown(err):
		// A transport failure the SDK could not name (reset, TLS, token fetch).
		return Retry, 0
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		// The SDK returns ctx.Err() when ctx ends while it backs off.
		return Retry, 0
	}
	return Failed, retryAfter
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
// It returns zero when the header is absent, malformed or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		const maxSecs = int64(365 * 24 * time.Hour / time.Second) // no overflow
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, maxSecs)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
