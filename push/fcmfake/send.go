package fcmfake

// The send endpoint as FCM answers it: the request it reads, the errors it
// writes in Google's JSON format with the FcmError detail the SDK reads.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// fcmErrorType is the "@type" of the error detail the SDK looks for.
const fcmErrorType = "type.googleapis.com/google.firebase.fcm.v1.FcmError"

// errorSpec is how FCM answers one kind of error. Statuses and messages are
// those FCM sends (https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode).
type errorSpec struct {
	status    int
	grpc      string
	errorCode string
	message   string
}

var errorSpecs = map[Kind]errorSpec{
	Unregistered:        {http.StatusNotFound, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found."},
	InvalidArgument:     {http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token"},
	InvalidMessage:      {http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Request contains an invalid argument."},
	SenderIDMismatch:    {http.StatusForbidden, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch"},
	QuotaExceeded:       {http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded for quota metric 'Send requests' and limit 'Send requests per minute'."},
	Unavailable:         {http.StatusServiceUnavailable, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."},
	Internal:            {http.StatusInternalServerError, "INTERNAL", "INTERNAL", "Internal error encountered."},
	ThirdPartyAuthError: {http.StatusUnauthorized, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR", "Auth error from APNS or Web Push Service"},
}

// sendRequest is the body of messages:send.
type sendRequest struct {
	ValidateOnly bool            `json:"validate_only"`
	Message      json.RawMessage `json:"message"`
}

// wireMessage is the part of an FCM v1 Message the server reads.
type wireMessage struct {
	Token        string            `json:"token"`
	Topic        string            `json:"topic"`
	Condition    string            `json:"condition"`
	Data         map[string]string `json:"data"`
	Notification *struct {
		Title string `json:"title"`
		Body  string `json:"body"`
	} `json:"notification"`
	Android *struct {
		Priority    string `json:"priority"`
		TTL         string `json:"ttl"`
		CollapseKey string `json:"collapse_key"`
	} `json:"android"`
	APNS *struct {
		Headers map[string]string `json:"headers"`
		Payload struct {
			Aps map[string]any `json:"aps"`
		} `json:"payload"`
	} `json:"apns"`
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	project, ok := parsePath(r.URL.Path)
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "", "Requested entity was not found.", 0)
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "INVALID_ARGUMENT", "", "Method not allowed.", 0)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "", "Could not read the request body.", 0)
		return
	}
	var req sendRequest
	var wm wireMessage
	if err := json.Unmarshal(body, &req); err != nil || len(req.Message) == 0 {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid JSON payload received.", 0)
		return
	}
	if err := json.Unmarshal(req.Message, &wm); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Invalid JSON payload received.", 0)
		return
	}
	if wm.Token == "" && wm.Topic == "" && wm.Condition == "" {
		spec := errorSpecs[InvalidMessage]
		writeError(w, spec.status, spec.grpc, spec.errorCode, spec.message, 0)
		return
	}

	m := Message{
		Project:       project,
		Token:         wm.Token,
		Data:          wm.Data,
		ValidateOnly:  req.ValidateOnly,
		Authorization: r.Header.Get("Authorization"),
		Raw:           req.Message,
	}
	if n := wm.Notification; n != nil {
		m.Title, m.Body = n.Title, n.Body
	}
	if a := wm.Android; a != nil {
		m.AndroidPriority, m.AndroidTTL, m.AndroidCollapseKey = a.Priority, a.TTL, a.CollapseKey
	}
	if a := wm.APNS; a != nil {
		m.APNSHeaders, m.APNSAps = a.Headers, a.Payload.Aps
	}

	s.mu.Lock()
	b, ok := s.behavior[m.Token]
	if !ok {
		b = s.fallback
	}
	if b.Fail != OK && (b.Times <= 0 || s.failures[m.Token] < b.Times) {
		s.failures[m.Token]++
		m.Error = b.Fail
	} else {
		s.nextID++
		m.ID = fmt.Sprintf("projects/%s/messages/%d", project, s.nextID)
	}
	s.messages = append(s.messages, m)
	latency, observe := s.latency, s.observe
	s.mu.Unlock()
	if observe != nil {
		observe(m)
	}

	if latency > 0 {
		sleep(r.Context(), latency)
	}
	if m.Error != OK {
		spec, ok := errorSpecs[m.Error]
		if !ok {
			spec = errorSpecs[Internal]
		}
		writeError(w, spec.status, spec.grpc, spec.errorCode, spec.message, b.RetryAfter)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": m.ID})
}

// parsePath returns the project of a "/v1/projects/{project}/messages:send"
// path.
func parsePath(path string) (project string, ok bool) {
	rest, ok := strings.CutPrefix(path, "/v1/projects/")
	if !ok {
		return "", false
	}
	project, ok = strings.CutSuffix(rest, "/messages:send")
	if !ok || project == "" || strings.Contains(project, "/") {
		return "", false
	}
	return project, true
}

// writeError answers in Google's JSON error format. errorCode, when set,
// becomes the FcmError detail the SDK reads into its messaging error code.
func writeError(w http.ResponseWriter, status int, grpcStatus, errorCode, message string, retryAfter time.Duration) {
	type detail struct {
		Type      string `json:"@type"`
		ErrorCode string `json:"errorCode"`
	}
	var body struct {
		Error struct {
			Code    int      `json:"code"`
			Message string   `json:"message"`
			Status  string   `json:"status"`
			Details []detail `json:"details,omitempty"`
		} `json:"error"`
	}
	body.Error.Code = status
	body.Error.Message = message
	body.Error.Status = grpcStatus
	if errorCode != "" {
		body.Error.Details = []detail{{Type: fcmErrorType, ErrorCode: errorCode}}
	}
	if retryAfter > 0 {
		secs := int64((retryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away: nothing to do
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
