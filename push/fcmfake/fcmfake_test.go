package fcmfake

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func post(t *testing.T, url, body string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("response %q is not JSON: %v", b, err)
	}
	return resp, v
}

// The wire format is what FCM sends and what the SDK's error parsing reads.
func TestWireFormat(t *testing.T) {
	t.Parallel()
	s := New(t)
	s.SetBehavior("gone", Behavior{Fail: Unregistered})
	s.SetBehavior("busy", Behavior{Fail: QuotaExceeded, RetryAfter: 30*time.Second + 500*time.Millisecond, Times: 1})
	send := s.URL() + "/v1/projects/p1/messages:send"

	resp, got := post(t, send, `{"message":{"token":"ok","notification":{"title":"T","body":"B"},"android":{"priority":"high"}}}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if diff := cmp.Diff(map[string]any{"name": "projects/p1/messages/1"}, got); diff != "" {
		t.Errorf("success body (-want +got):\n%s", diff)
	}

	resp, got = post(t, send, `{"message":{"token":"gone"}}`)
	want := map[string]any{"error": map[string]any{
		"code": float64(404), "message": "Requested entity was not found.", "status": "NOT_FOUND",
		"details": []any{map[string]any{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}},
	}}
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404", resp.StatusCode)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("error body (-want +got):\n%s", diff)
	}

	resp, _ = post(t, send, `{"message":{"token":"busy"}}`)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "31" {
		t.Errorf("status %d, Retry-After %q; want 429, 31", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp, _ = post(t, send, `{"message":{"token":"busy"}}`); resp.StatusCode != http.StatusOK {
		t.Errorf("second message to busy: status %d, want 200", resp.StatusCode)
	}

	if resp, _ = post(t, s.URL()+"/v1/projects/p1/other", `{}`); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path: status %d, want 404", resp.StatusCode)
	}

	if n := s.Count(); n != 4 {
		t.Errorf("Count() = %d, want 4", n)
	}
	if d := s.Delivered(); len(d) != 2 || d[0].Title != "T" || d[0].AndroidPriority != "high" || d[0].Project != "p1" {
		t.Errorf("Delivered() = %+v", d)
	}
	if got := s.MessagesFor("busy"); len(got) != 2 || got[0].Error != QuotaExceeded || got[1].Error != OK {
		t.Errorf("MessagesFor(busy) = %+v", got)
	}
	s.Reset()
	if s.Count() != 0 {
		t.Error("Reset kept messages")
	}
	if resp, _ = post(t, send, `{"message":{"token":"gone"}}`); resp.StatusCode != http.StatusOK {
		t.Errorf("after Reset: status %d, want 200", resp.StatusCode)
	}
}

// Listen serves on the address asked for, and OnMessage hears each message.
func TestListenAndOnMessage(t *testing.T) {
	t.Parallel()
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %q", s.URL())
	}
	heard := make(chan Message, 2)
	s.OnMessage(func(m Message) { heard <- m })
	s.Unregister("gone")
	send := s.URL() + "/v1/projects/p1/messages:send"
	post(t, send, `{"message":{"token":"ok","notification":{"title":"T","body":"B"}}}`)
	post(t, send, `{"message":{"token":"gone"}}`)
	var got []string
	for range 2 {
		m := <-heard
		got = append(got, m.Token+" "+m.Title+" "+string(m.Error))
	}
	if diff := cmp.Diff([]string{"ok T ", "gone  UNREGISTERED"}, got); diff != "" {
		t.Errorf("messages heard (-want +got):\n%s", diff)
	}
	if _, err := Listen(strings.TrimPrefix(s.URL(), "http://")); err == nil {
		t.Error("a second server listened on the same address")
	}
}
