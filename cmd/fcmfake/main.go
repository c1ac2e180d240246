// Command fcmfake runs a fake Firebase Cloud Messaging server (the HTTP v1
// messages:send API, push/fcmfake) for trying Concord's push
// notifications without a Firebase project. It accepts every message and
// prints each one it receives, with the device token shortened:
//
//	go run ./cmd/fcmfake -addr 127.0.0.1:9099
//	CONCORD_FCM_ENDPOINT=http://127.0.0.1:9099 CONCORD_SCHEDULER_INTERVAL=2s go run ./cmd/concord
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/concord-health/concord/push"
	"github.com/concord-health/concord/push/fcmfake"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "fcmfake: %v\n", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, printing every message received to out.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("fcmfake", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9099", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv, err := fcmfake.Listen(*addr)
	if err != nil {
		return err
	}
	defer srv.Close()
	var mu sync.Mutex
	srv.OnMessage(func(m fcmfake.Message) {
		mu.Lock()
		defer mu.Unlock()
		printMessage(out, m)
	})
	fmt.Fprintf(out, "fake FCM listening on %s: set CONCORD_FCM_ENDPOINT=%s\n", srv.URL(), srv.URL())
	<-ctx.Done()
	return nil
}

// printMessage writes one line per message: time, outcome, project,
// shortened token, priority, title, body and data.
func printMessage(out io.Writer, m fcmfake.Message) {
	outcome := "accepted"
	if m.Error != fcmfake.OK {
		outcome = string(m.Error)
	}
	data, _ := json.Marshal(m.Data)
	fmt.Fprintf(out, "%s %s project=%s token=%s priority=%s ttl=%s title=%q body=%q data=%s\n",
		time.Now().Format(time.TimeOnly), outcome, m.Project, push.RedactToken(m.Token),
		m.AndroidPriority, m.AndroidTTL, m.Title, m.Body, data)
}
