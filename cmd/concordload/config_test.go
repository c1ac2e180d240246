package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := parseConfig(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"base": c.base.String(), "scenario": c.scenario, "duration": c.duration, "clients": c.clients,
		"logins": c.logins, "readyzP99": c.readyzP99, "timeout": c.timeout, "readings": c.readings,
	}
	want := map[string]any{
		"base": "http://127.0.0.1:8080", "scenario": "mixed", "duration": 10 * time.Second, "clients": 16,
		"logins": 32, "readyzP99": 100 * time.Millisecond, "timeout": 10 * time.Second, "readings": 50,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		// wantErr is a part of the usage error, "" for none.
		wantErr string
		base    string
	}{
		{"login storm", []string{"-scenario", "login-storm", "-logins", "32", "-duration", "30s"}, "", "http://127.0.0.1:8080"},
		{"another port, trailing slash", []string{"-url", "http://127.0.0.1:18181/"}, "", "http://127.0.0.1:18181"},
		{"IPv6 loopback", []string{"-url", "http://[::1]:8080"}, "", "http://[::1]:8080"},
		{"https", []string{"-url", "https://localhost:8443"}, "", "https://localhost:8443"},
		{"bounds", []string{"-c", "256", "-logins", "1", "-duration", "10m", "-seed-readings", "0"}, "", "http://127.0.0.1:8080"},
		{"unknown scenario", []string{"-scenario", "stampede"}, "-scenario", ""},
		{"no clients", []string{"-c", "0"}, "-c:", ""},
		{"too many clients", []string{"-c", "257"}, "-c:", ""},
		{"too many logins", []string{"-logins", "1000"}, "-logins", ""},
		{"zero duration", []string{"-duration", "0s"}, "-duration", ""},
		{"negative duration", []string{"-duration", "-1s"}, "-duration", ""},
		{"duration over the bound", []string{"-duration", "11m"}, "-duration", ""},
		{"readyz bound not positive", []string{"-readyz-p99", "0s"}, "-readyz-p99", ""},
		{"timeout too long", []string{"-timeout", "2m"}, "-timeout", ""},
		{"too many seed readings", []string{"-seed-readings", "501"}, "-seed-readings", ""},
		{"not a number", []string{"-c", "many"}, "invalid value", ""},
		{"unknown flag", []string{"-rps", "100"}, "flag provided but not defined", ""},
		{"positional argument", []string{"http://127.0.0.1:8080"}, "unexpected arguments", ""},
		{"scheme", []string{"-url", "ftp://127.0.0.1:8080"}, "scheme", ""},
		{"no scheme", []string{"-url", "127.0.0.1:8080"}, "-url", ""},
		{"no host", []string{"-url", "http://:8080"}, "no host", ""},
		{"path", []string{"-url", "http://127.0.0.1:8080/v1"}, "host and port only", ""},
		{"query", []string{"-url", "http://127.0.0.1:8080?x=1"}, "host and port only", ""},
		{"user", []string{"-url", "http://admin:pw@127.0.0.1:8080"}, "host and port only", ""},
		{"every problem named", []string{"-c", "0", "-duration", "0s"}, "-duration: 0s must be more than 0 and at most 10m0s; -c: 0 is not between 1 and 256", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			c, err := parseConfig(tt.args, &stderr)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("parseConfig(%q) = %v", tt.args, err)
				}
				if got := c.base.String(); got != tt.base {
					t.Errorf("base %q, want %q", got, tt.base)
				}
				return
			}
			var ue usageError
			if !errors.As(err, &ue) {
				t.Fatalf("parseConfig(%q) = %v (%T), want a usageError", tt.args, err, err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseConfig(%q) = %q, want it to mention %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

func TestParseConfigHelp(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	if _, err := parseConfig([]string{"-h"}, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseConfig(-h) = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(stderr.String(), "-readyz-p99") {
		t.Errorf("-h wrote %q, want the flags", stderr.String())
	}
}

func TestCheckLoopback(t *testing.T) {
	t.Parallel()
	// lookup is a resolver that knows a few names and fails for others.
	lookup := func(_ context.Context, host string) ([]net.IPAddr, error) {
		names := map[string][]string{
			"localhost":         {"127.0.0.1", "::1"},
			"loopback.example":  {"127.0.1.1"},
			"public.example":    {"93.184.216.34"},
			"mixed.example":     {"127.0.0.1", "10.0.0.7"},
			"nothing.example":   {},
			"rebinding.example": {"::1", "2001:db8::1"},
		}
		addrs, ok := names[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		out := make([]net.IPAddr, len(addrs))
		for i, a := range addrs {
			out[i] = net.IPAddr{IP: net.ParseIP(a)}
		}
		return out, nil
	}
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.0.0.2:8080", true},
		{"http://127.255.255.254", true},
		{"http://[::1]:8080", true},
		{"http://[::ffff:127.0.0.1]:8080", true},
		{"http://localhost:18181", true},
		{"http://loopback.example", true},
		{"http://0.0.0.0:8080", false},
		{"http://[::]:8080", false},
		{"http://10.0.0.1:8080", false},
		{"http://192.168.1.10:8080", false},
		{"http://169.254.169.254", false},
		{"http://[2001:db8::1]:8080", false},
		{"http://public.example", false},
		{"http://mixed.example", false},
		{"http://rebinding.example", false},
		{"http://nothing.example", false},
		{"http://unknown.example", false},
		{"http://2130706433", false}, // 127.0.0.1 as a number: not an IP literal, and not resolved here
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		err = checkLoopback(context.Background(), u, lookup)
		if (err == nil) != tt.ok {
			t.Errorf("checkLoopback(%s) = %v, want ok %v", tt.url, err, tt.ok)
		}
		if err != nil && !errors.Is(err, errNotLoopback) {
			t.Errorf("checkLoopback(%s) = %v, want errNotLoopback", tt.url, err)
		}
	}
}

func TestLoopbackConn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr net.Addr
		ok   bool
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8080}, true},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 8080}, true},
		{&net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 8080}, false},
		{&net.UnixAddr{Name: "/tmp/concord.sock", Net: "unix"}, false},
	}
	for _, tt := range tests {
		if err := loopbackConn(tt.addr); (err == nil) != tt.ok {
			t.Errorf("loopbackConn(%v) = %v, want ok %v", tt.addr, err, tt.ok)
		}
	}
}

// TestRunRefusesNonLoopback: run stops before any request when the target
// is not loopback (an unroutable documentation address: a request would
// hang, not fail fast).
func TestRunRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	var stdout bytes.Buffer
	err := run(t.Context(), []string{"-url", "http://192.0.2.1:8080", "-duration", "1s"}, &stdout, io.Discard)
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("run = %v, want a usage error about loopback", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("run printed %q before refusing", stdout.String())
	}
}
