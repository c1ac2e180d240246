package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/concord-health/concord/push"
)

// lockedBuffer is run's output, written and read concurrently.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The fake serves on the address given and prints each push the real SDK
// sends it, with the token shortened.
func TestPrintsPushes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", addr}, out) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	for !strings.Contains(out.String(), "listening") {
		time.Sleep(10 * time.Millisecond)
	}

	fcm, err := push.NewFCM(ctx, push.FCMConfig{Endpoint: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	token := "secret-registration-token-0123456789"
	res, err := fcm.Send(ctx, []push.Message{{Token: token, Title: "Reminder", Body: "Time for your 08:00 medicines",
		Data: map[string]string{"notificationId": "n1", "kind": "dose_reminder"}, Urgent: true}})
	if err != nil || len(res) != 1 || res[0].Outcome != push.Sent {
		t.Fatalf("send: %+v %v", res, err)
	}
	got := out.String()
	for _, want := range []string{"accepted", "priority=high", `body="Time for your 08:00 medicines"`, `"kind":"dose_reminder"`, push.RedactToken(token)} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, token) {
		t.Errorf("output shows the whole token:\n%s", got)
	}
}
