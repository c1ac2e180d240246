// Package fcmfake is a local HTTP server that speaks the part of the Firebase
// Cloud Messaging HTTP v1 API Concord uses (POST
// /v1/projects/{project}/messages:send), so tests can drive the real Firebase
// Admin SDK without a network or Google credentials.
//
// Every request is recorded. Each registration token succeeds by default; a
// token can be told to fail with any of the errors FCM reports, always or a
// number of times before it succeeds. Errors are answered in Google's JSON
// error format with the FcmError detail the SDK reads, so the SDK's
// messaging.IsUnregistered and friends behave as they do against FCM.
//
// Point the SDK at URL(): push.FCMConfig{Endpoint: srv.URL()}.
package fcmfake

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// Kind is the answer the server gives a message: OK, or one of FCM's errors.
type Kind string

// The answers the server can give. Each error kind is answered with the HTTP
// status, Google status and FcmError code FCM uses for it.
const (
	// OK accepts the message: 200 {"name": "projects/{p}/messages/{id}"}.
	OK Kind = ""
	// Unregistered is 404 NOT_FOUND, errorCode UNREGISTERED: the app
	// instance is gone and the token must be dropped.
	Unregistered Kind = "UNREGISTERED"
	// InvalidArgument is 400 INVALID_ARGUMENT with FCM's message for a
	// malformed registration token.
	InvalidArgument Kind = "INVALID_ARGUMENT"
	// InvalidMessage is 400 INVALID_ARGUMENT with FCM's generic message,
	// i.e. a problem with the payload rather than the token. (FCM has no
	// separate code for this; the name exists only in this package.)
	InvalidMessage Kind = "INVALID_MESSAGE"
	// SenderIDMismatch is 403 PERMISSION_DENIED, errorCode
	// SENDER_ID_MISMATCH: the token belongs to another Firebase project.
	SenderIDMismatch Kind = "SENDER_ID_MISMATCH"
	// QuotaExceeded is 429 RESOURCE_EXHAUSTED, errorCode QUOTA_EXCEEDED,
	// with a Retry-After header when Behavior.RetryAfter is set.
	QuotaExceeded Kind = "QUOTA_EXCEEDED"
	// Unavailable is 503 UNAVAILABLE, with a Retry-After header when
	// Behavior.RetryAfter is set. The SDK itself retries 503s.
	Unavailable Kind = "UNAVAILABLE"
	// Internal is 500 INTERNAL.
	Internal Kind = "INTERNAL"
	// ThirdPartyAuthError is 401 UNAUTHENTICATED, errorCode
	// THIRD_PARTY_AUTH_ERROR: APNs or web push rejected the project's keys.
	ThirdPartyAuthError Kind = "THIRD_PARTY_AUTH_ERROR"
)

// Behavior is how the server answers messages to one token.
type Behavior struct {
	// Fail is the error to answer with; OK (the zero value) accepts.
	Fail Kind
	// Times is how many messages fail before the token starts succeeding;
	// 0 means every message fails.
	Times int
	// RetryAfter, when positive, is sent as a Retry-After header in whole
	// seconds (rounded up) with the error.
	RetryAfter time.Duration
}

// Message is one received send request, as the server understood it.
type Message struct {
	// ID is the message name the server answered with
	// ("projects/{p}/messages/{n}"); empty when it answered with an error.
	ID string
	// Project is the project in the request path.
	Project string
	// Token is the registration token the message was addressed to.
	Token string
	// Title and Body are the notification's.
	Title, Body string
	// Data is the message's data payload.
	Data map[string]string
	// AndroidPriority is android.priority ("normal", "high" or "").
	AndroidPriority string
	// AndroidTTL is android.ttl as sent ("3600s"); empty when unset.
	AndroidTTL string
	// AndroidCollapseKey is android.collapse_key.
	AndroidCollapseKey string
	// APNSHeaders are apns.headers (apns-priority, apns-push-type, ...).
	APNSHeaders map[string]string
	// APNSAps is apns.payload.aps (e.g. "interruption-level").
	APNSAps map[string]any
	// ValidateOnly is the request's validate_only flag.
	ValidateOnly bool
	// Authorization is the request's Authorization header; empty when the
	// client sent no credentials.
	Authorization string
	// Error is the error the server answered with; OK when it accepted.
	Error Kind
	// Raw is the "message" object exactly as received.
	Raw json.RawMessage
}

// Server is a fake FCM v1 endpoint. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	messages []Message
	behavior map[string]Behavior
	fallback Behavior
	failures map[string]int
	latency  time.Duration
	nextID   int
	observe  func(Message)
}

// New starts a Server that is closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := NewServer()
	t.Cleanup(s.Close)
	return s
}

// NewServer starts a Server on a local port. The caller must Close it.
func NewServer() *Server {
	s := newServer()
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// Listen starts a Server on addr ("127.0.0.1:9099"; port 0 picks one), for
// a fake FCM that people run by hand (cmd/fcmfake). The caller must Close
// it.
func Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fcmfake: %w", err)
	}
	s := newServer()
	s.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: 10 * time.Second}}
	s.srv.Start()
	return s, nil
}

func newServer() *Server {
	return &Server{
		behavior: make(map[string]Behavior),
		failures: make(map[string]int),
	}
}

// OnMessage has f called with every message received, accepted or not,
// once its answer is decided (cmd/fcmfake prints them). f may be called
// from several goroutines at once.
func (s *Server) OnMessage(f func(Message)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observe = f
}

// URL is the server's base URL (http://127.0.0.1:port), for
// push.FCMConfig.Endpoint. The API is under URL()+"/v1".
func (s *Server) URL() string { return s.srv.URL }

// Close shuts the server down, waiting for requests in flight.
func (s *Server) Close() { s.srv.Close() }

// SetBehavior sets how messages to token are answered, and restarts its
// count of failures.
func (s *Server) SetBehavior(token string, b Behavior) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behavior[token] = b
	delete(s.failures, token)
}

// SetDefault sets how messages to tokens without their own behaviour are
// answered (e.g. Unavailable for an outage); Behavior{} restores success.
func (s *Server) SetDefault(b Behavior) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fallback = b
	clear(s.failures)
}

// Unregister makes every message to the tokens fail with UNREGISTERED.
func (s *Server) Unregister(tokens ...string) {
	for _, tok := range tokens {
		s.SetBehavior(tok, Behavior{Fail: Unregistered})
	}
}

// FailTimes makes the next n messages to token fail with kind, and later
// ones succeed.
func (s *Server) FailTimes(token string, n int, kind Kind) {
	s.SetBehavior(token, Behavior{Fail: kind, Times: n})
}

// SetLatency delays every answer by d, to make a benchmark's round trips
// look more like a remote service.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Messages returns every message received so far, in arrival order,
// including those answered with an error. The maps are shared: do not modify.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// MessagesFor returns the messages received for token, in arrival order.
func (s *Server) MessagesFor(token string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.Token == token {
			out = append(out, m)
		}
	}
	return out
}

// Delivered returns the messages the server accepted (not validate-only),
// i.e. what a device would have been sent.
func (s *Server) Delivered() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.Error == OK && !m.ValidateOnly {
			out = append(out, m)
		}
	}
	return out
}

// Count is the number of messages received so far, accepted or not.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.messages)
}

// Reset forgets every recorded message, behaviour, failure count and
// latency, as if the server were new (its URL stays the same).
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = nil
	clear(s.behavior)
	clear(s.failures)
	s.fallback = Behavior{}
	s.latency = 0
}
