package push

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"firebase.google.com/go/v4/messaging"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/concord-health/concord/push/fcmfake"
)

// fixedNow is the clock of every test FCM.
var fixedNow = time.Date(2025, 3, 14, 8, 0, 0, 0, time.UTC)

// newTestFCM returns an FCM that sends to srv through the real SDK.
func newTestFCM(t testing.TB, srv *fcmfake.Server) *FCM {
	t.Helper()
	f, err := NewFCM(context.Background(), FCMConfig{
		Endpoint:  srv.URL(),
		ProjectID: "concord-test",
		Now:       func() time.Time { return fixedNow },
	})
	if err != nil {
		t.Fatalf("NewFCM: %v", err)
	}
	return f
}

// ignoreErr compares Results without their SDK errors, checked separately.
var ignoreErr = cmpopts.IgnoreFields(Result{}, "Err")

func TestSendDeliversPayload(t *testing.T) {
	t.Parallel()
	srv := fcmfake.New(t)
	f := newTestFCM(t, srv)

	pushes := []Message{
		{
			Token: "tok-urgent", Title: "Time for your 08:00 medicines", Body: "Open Concord to confirm",
			Data: map[string]string{"kind": "dose_due", "id": "n1"}, Urgent: true,
			CollapseKey: "dose-n1", TTL: time.Hour,
		},
		{Token: "tok-normal", Title: "New message", Body: "Your carer wrote to you"},
		{Token: "tok-data", Data: map[string]string{"kind": "sync"}},
	}
	results, err := f.Send(context.Background(), pushes)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}

	got := srv.Messages()
	if len(got) != len(pushes) {
		t.Fatalf("server received %d messages, want %d", len(got), len(pushes))
	}
	var want []Result
	for _, p := range pushes {
		msgs := srv.MessagesFor(p.Token)
		if len(msgs) != 1 {
			t.Fatalf("server received %d messages for %s, want 1", len(msgs), p.Token)
		}
		want = append(want, Result{Token: p.Token, MessageID: msgs[0].ID, Outcome: Sent})
	}
	if diff := cmp.Diff(want, results, ignoreErr); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("result for %s: unexpected error %v", r.Token, r.Err)
		}
	}

	ignore := cmpopts.IgnoreFields(fcmfake.Message{}, "ID", "Raw")
	wantMsgs := map[string]fcmfake.Message{
		"tok-urgent": {
			Project: "concord-test", Token: "tok-urgent",
			Title: "Time for your 08:00 medicines", Body: "Open Concord to confirm",
			Data:            map[string]string{"kind": "dose_due", "id": "n1"},
			AndroidPriority: "high", AndroidTTL: "3600s", AndroidCollapseKey: "dose-n1",
			APNSHeaders: map[string]string{
				"apns-priority":    "10",
				"apns-push-type":   "alert",
				"apns-collapse-id": "dose-n1",
				"apns-expiration":  fmt.Sprint(fixedNow.Add(time.Hour).Unix()),
			},
			APNSAps: map[string]any{"interruption-level": "time-sensitive"},
		},
		"tok-normal": {
			Project: "concord-test", Token: "tok-normal",
			Title: "New message", Body: "Your carer wrote to you",
			AndroidPriority: "normal",
			APNSHeaders:     map[string]string{"apns-priority": "5", "apns-push-type": "alert"},
		},
		"tok-data": {
			Project: "concord-test", Token: "tok-data",
			Data:            map[string]string{"kind": "sync"},
			AndroidPriority: "normal",
			APNSHeaders:     map[string]string{"apns-priority": "5", "apns-push-type": "background"},
			APNSAps:         map[string]any{"content-available": float64(1)},
		},
	}
	for _, m := range got {
		if diff := cmp.Diff(wantMsgs[m.Token], m, ignore); diff != "" {
			t.Errorf("message to %s (-want +got):\n%s", m.Token, diff)
		}
		if m.Authorization != "" {
			t.Errorf("message to %s carried credentials with an endpoint override", m.Token)
		}
	}
}

func TestSendOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		behavior       fcmfake.Behavior
		want           Outcome
		wantRetryAfter time.Duration
		wantRequests   int
		// is checks that Err is the SDK's own error for the case.
		is func(error) bool
	}{
		{"unregistered", fcmfake.Behavior{Fail: fcmfake.Unregistered}, Unregistered, 0, 1, messaging.IsUnregistered},
		{"sender id mismatch", fcmfake.Behavior{Fail: fcmfake.SenderIDMismatch}, Unregistered, 0, 1, messaging.IsSenderIDMismatch},
		{"invalid token", fcmfake.Behavior{Fail: fcmfake.InvalidArgument}, Invalid, 0, 1, messaging.IsInvalidArgument},
		{"invalid payload", fcmfake.Behavior{Fail: fcmfake.InvalidMessage}, Failed, 0, 1, messaging.IsInvalidArgument},
		{"quota exceeded", fcmfake.Behavior{Fail: fcmfake.QuotaExceeded, RetryAfter: 30 * time.Second}, Retry, 30 * time.Second, 1, messaging.IsQuotaExceeded},
		// A Retry-After beyond two minutes stops the SDK's own retries.
		{"unavailable", fcmfake.Behavior{Fail: fcmfake.Unavailable, RetryAfter: 5 * time.Minute}, Retry, 5 * time.Minute, 1, messaging.IsUnavailable},
		{"internal", fcmfake.Behavior{Fail: fcmfake.Internal}, Retry, 0, 1, messaging.IsInternal},
		{"apns auth", fcmfake.Behavior{Fail: fcmfake.ThirdPartyAuthError}, Failed, 0, 1, messaging.IsThirdPartyAuthError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fcmfake.New(t)
			srv.SetBehavior("tok-bad", tt.behavior)
			f := newTestFCM(t, srv)

			results, err := f.Send(context.Background(), []Message{
				{Token: "tok-ok", Title: "t", Body: "b"},
				{Token: "tok-bad", Title: "t", Body: "b"},
			})
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			want := []Result{
				{Token: "tok-ok", MessageID: srv.MessagesFor("tok-ok")[0].ID, Outcome: Sent},
				{Token: "tok-bad", Outcome: tt.want, RetryAfter: tt.wantRetryAfter},
			}
			if diff := cmp.Diff(want, results, ignoreErr); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			if err := results[1].Err; !tt.is(err) {
				t.Errorf("Err = %v, not the SDK's error for %s", err, tt.behavior.Fail)
			}
			if n := len(srv.MessagesFor("tok-bad")); n != tt.wantRequests {
				t.Errorf("server received %d requests for the failing token, want %d", n, tt.wantRequests)
			}
		})
	}
}

// The SDK retries 503s itself: immediately, then after 1s, 2s and 4s.
func TestSendSDKRetriesUnavailable(t *testing.T) {
	t.Parallel()
	srv := fcmfake.New(t)
	srv.FailTimes("tok", 2, fcmfake.Unavailable)
	f := newTestFCM(t, srv)

	results, err := f.Send(context.Background(), []Message{{Token: "tok", Title: "t"}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := srv.MessagesFor("tok")
	if len(msgs) != 3 {
		t.Fatalf("server received %d requests, want 3 (two failures, one success)", len(msgs))
	}
	want := []Result{{Token: "tok", MessageID: msgs[2].ID, Outcome: Sent}}
	if diff := cmp.Diff(want, results, ignoreErr); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

// When ctx ends while the SDK backs off, the push is left for a later retry.
func TestSendDeadlineDuringSDKBackoff(t *testing.T) {
	t.Parallel()
	srv := fcmfake.New(t)
	srv.SetDefault(fcmfake.Behavior{Fail: fcmfake.Unavailable})
	f := newTestFCM(t, srv)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	results, err := f.Send(ctx, []Message{{Token: "tok", Title: "t"}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if diff := cmp.Diff([]Result{{Token: "tok", Outcome: Retry}}, results, ignoreErr); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if !errors.Is(results[0].Err, context.DeadlineExceeded) {
		t.Errorf("Err = %v, want context.DeadlineExceeded", results[0].Err)
	}
	if srv.Count() == 0 {
		t.Error("server received nothing")
	}
}

func TestSendUnreachableEndpoint(t *testing.T) {
	t.Parallel()
	srv := fcmfake.NewServer()
	f := newTestFCM(t, srv)
	srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	results, err := f.Send(ctx, []Message{{Token: "tok", Title: "t"}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if diff := cmp.Diff([]Result{{Token: "tok", Outcome: Retry}}, results, ignoreErr); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if results[0].Err == nil {
		t.Error("Err is nil for an unreachable endpoint")
	}
}

func TestSendEmptyTokenDoesNotSpoilBatch(t *testing.T) {
	t.Parallel()
	srv := fcmfake.New(t)
	f := newTestFCM(t, srv)

	results, err := f.Send(context.Background(), []Message{
		{Token: "tok-1", Title: "t"}, {Token: "", Title: "t"}, {Token: "tok-2", Title: "t"},
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := []Result{
		{Token: "tok-1", MessageID: srv.MessagesFor("tok-1")[0].ID, Outcome: Sent},
		{Token: "", Outcome: Invalid},
		{Token: "tok-2", MessageID: srv.MessagesFor("tok-2")[0].ID, Outcome: Sent},
	}
	if diff := cmp.Diff(want, results, ignoreErr); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if results[1].Err == nil {
		t.Error("empty token: Err is nil")
	}
	if n := srv.Count(); n != 2 {
		t.Errorf("server received %d messages, want 2", n)
	}
}

func TestSendCancelledContext(t *testing.T) {
	t.Parallel()
	srv := fcmfake.New(t)
	f := newTestFCM(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	results, err := f.Send(ctx, []Message{{Token: "tok", Title: "t"}})
	if !errors.Is(err, context.Canceled) || results != nil {
		t.Errorf("Send = %v, %v; want nil, context.Canceled", results, err)
	}
	if n := srv.Count(); n != 0 {
		t.Errorf("server received %d messages, want 0", n)
	}
}

func TestSendSplitsIntoBatches(t *testing.T) {
	t.Parallel()
	srv := fcmfake.New(t)
	f := newTestFCM(t, srv)
	var mu sync.Mutex
	var calls []int
	sendEach := f.sendEach
	f.sendEach = func(ctx context.Context, msgs []*messaging.Message) (*messaging.BatchResponse, error) {
		mu.Lock()
		calls = append(calls, len(msgs))
		mu.Unlock()
		return sendEach(ctx, msgs)
	}

	pushes := make([]Message, 1200)
	for i := range pushes {
		pushes[i] = Message{Token: fmt.Sprintf("tok-%04d", i), Title: "t", Data: map[string]string{"i": fmt.Sprint(i)}}
		if i%7 == 0 {
			srv.Unregister(pushes[i].Token)
		}
	}
	results, err := f.Send(context.Background(), pushes)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if diff := cmp.Diff([]int{500, 500, 200}, calls); diff != "" {
		t.Errorf("SendEach call sizes (-want +got):\n%s", diff)
	}
	if n := srv.Count(); n != len(pushes) {
		t.Errorf("server received %d messages, want %d", n, len(pushes))
	}

	want := make([]Result, len(pushes))
	for i, p := range pushes {
		msgs := srv.MessagesFor(p.Token)
		if len(msgs) != 1 {
			t.Fatalf("server received %d messages for %s, want 1", len(msgs), p.Token)
		}
		if msgs[0].Data["i"] != fmt.Sprint(i) {
			t.Fatalf("message for %s carries data of push %s", p.Token, msgs[0].Data["i"])
		}
		want[i] = Result{Token: p.Token, MessageID: msgs[0].ID, Outcome: Sent}
		if i%7 == 0 {
			want[i] = Result{Token: p.Token, Outcome: Unregistered}
		}
	}
	if diff := cmp.Diff(want, results, ignoreErr); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

// writeServiceAccount writes a service-account key file for project and
// returns its path.
func writeServiceAccount(t *testing.T, project string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     project,
		"private_key_id": "0123456789abcdef",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   "concord@" + project + ".iam.gserviceaccount.com",
		"client_id":      "1234567890",
		"token_uri":      "https://oauth2.googleapis.com/token",
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "service-account.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestNewFCMProject(t *testing.T) {
	t.Parallel()
	creds := writeServiceAccount(t, "concord-from-file")
	tests := []struct {
		name string
		cfg  FCMConfig
		want string
	}{
		{"endpoint only", FCMConfig{Endpoint: "http://127.0.0.1:1"}, DefaultEndpointProject},
		{"endpoint and project", FCMConfig{Endpoint: "http://127.0.0.1:1", ProjectID: "p-1"}, "p-1"},
		{"endpoint and credentials", FCMConfig{Endpoint: "http://127.0.0.1:1", CredentialsFile: creds}, "concord-from-file"},
		{"credentials", FCMConfig{CredentialsFile: creds}, "concord-from-file"},
		{"credentials and project", FCMConfig{CredentialsFile: creds, ProjectID: "p-2"}, "p-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := NewFCM(context.Background(), tt.cfg)
			if err != nil {
				t.Fatalf("NewFCM: %v", err)
			}
			if got := f.ProjectID(); got != tt.want {
				t.Errorf("ProjectID() = %q, want %q", got, tt.want)
			}
		})
	}
}

// With an endpoint, the credentials file only names the project: requests
// go to the endpoint without credentials.
func TestNewFCMEndpointIgnoresCredentials(t *testing.T) {
	t.Parallel()
	srv := fcmfake.New(t)
	f, err := NewFCM(context.Background(), FCMConfig{
		Endpoint:        srv.URL() + "/v1/",
		CredentialsFile: writeServiceAccount(t, "concord-from-file"),
	})
	if err != nil {
		t.Fatalf("NewFCM: %v", err)
	}
	results, err := f.Send(context.Background(), []Message{{Token: "tok", Title: "t"}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if results[0].Outcome != Sent {
		t.Fatalf("outcome %q (%v), want sent", results[0].Outcome, results[0].Err)
	}
	m := srv.Messages()[0]
	if m.Project != "concord-from-file" || m.Authorization != "" {
		t.Errorf("message project %q, authorization %q; want concord-from-file and none", m.Project, m.Authorization)
	}
}

func TestNewFCMRejectsBadConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	userCreds := filepath.Join(dir, "user.json")
	if err := os.WriteFile(userCreds, []byte(`{"type":"authorized_user","client_id":"x","client_secret":"y","refresh_token":"z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	notJSON := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(notJSON, []byte("-----BEGIN PRIVATE KEY-----"), 0o600); err != nil {
		t.Fatal(err)
	}
	noProject := writeServiceAccount(t, "")

	tests := []struct {
		name string
		cfg  FCMConfig
	}{
		{"nothing", FCMConfig{ProjectID: "p"}},
		{"relative endpoint", FCMConfig{Endpoint: "localhost:8080"}},
		{"ftp endpoint", FCMConfig{Endpoint: "ftp://example.com"}},
		{"endpoint with query", FCMConfig{Endpoint: "http://example.com/?x=1"}},
		{"missing credentials file", FCMConfig{CredentialsFile: filepath.Join(dir, "missing.json")}},
		{"user credentials", FCMConfig{CredentialsFile: userCreds}},
		{"not json", FCMConfig{CredentialsFile: notJSON}},
		{"no project anywhere", FCMConfig{CredentialsFile: noProject}},
		{"project with slash", FCMConfig{Endpoint: "http://127.0.0.1:1", ProjectID: "a/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if f, err := NewFCM(context.Background(), tt.cfg); err == nil {
				t.Errorf("NewFCM succeeded (project %q), want an error", f.ProjectID())
			}
		})
	}
}

func TestAPIBase(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"http://127.0.0.1:9099":         "http://127.0.0.1:9099/v1",
		"http://127.0.0.1:9099/":        "http://127.0.0.1:9099/v1",
		"http://127.0.0.1:9099/v1":      "http://127.0.0.1:9099/v1",
		"https://fcm.example.com/v1/":   "https://fcm.example.com/v1",
		"https://proxy.example.com/fcm": "https://proxy.example.com/fcm/v1",
	}
	for in, want := range tests {
		got, err := apiBase(in)
		if err != nil || got != want {
			t.Errorf("apiBase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := fixedNow
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"30", 30 * time.Second},
		{" 5 ", 5 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.header, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestRedactToken(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                         "",
		"abc":                      "abc…",
		"fMEP0vJqS0:APA91bHqX1xyz": "fMEP0v…",
		"ééééé":                    "ééé…",
	}
	for in, want := range tests {
		if got := RedactToken(in); got != want {
			t.Errorf("RedactToken(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCollapseKeyTruncatedForAPNs(t *testing.T) {
	t.Parallel()
	long := fmt.Sprintf("k-%080d", 7)
	m := message(Message{Token: "t", Title: "x", CollapseKey: long}, fixedNow)
	if got := m.APNS.Headers["apns-collapse-id"]; len(got) != 64 || m.Android.CollapseKey != long {
		t.Errorf("apns-collapse-id %q (%d bytes), android %q; want 64 bytes and the full key", got, len(got), m.Android.CollapseKey)
	}
}

// BenchmarkFCMSend sends 1,000 pushes per operation through the real SDK to
// a local fake, so it measures the SDK's and Concord's overhead, not FCM's.
func BenchmarkFCMSend(b *testing.B) {
	srv := fcmfake.New(b)
	f := newTestFCM(b, srv)
	pushes := make([]Message, 1000)
	for i := range pushes {
		pushes[i] = Message{
			Token: fmt.Sprintf("bench-token-%04d", i), Title: "Time for your 08:00 medicines",
			Data: map[string]string{"kind": "dose_due"}, Urgent: true, TTL: time.Hour,
		}
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		srv.Reset() // keep the fake's record from growing across iterations
		results, err := f.Send(ctx, pushes)
		if err != nil {
			b.Fatal(err)
		}
		if results[len(results)-1].Outcome != Sent {
			b.Fatalf("outcome %q: %v", results[len(results)-1].Outcome, results[len(results)-1].Err)
		}
	}
	b.ReportMetric(float64(b.N*len(pushes))/b.Elapsed().Seconds(), "pushes/s")
}
