package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"
)

// Bounds of a run: the load stays short and small enough that it can never
// become a denial of service, and shorter than an access token's life (15
// minutes), so that no session needs refreshing mid-run.
const (
	maxDuration = 10 * time.Minute
	maxClients  = 256
)

// The scenarios -scenario names.
const (
	scenarioMixed      = "mixed"
	scenarioLoginStorm = "login-storm"
)

// config is a run's command line, checked.
type config struct {
	// base is the Concord to load: scheme and host only.
	base      *url.URL
	scenario  string
	duration  time.Duration
	clients   int // mixed: concurrent clients
	logins    int // login-storm: clients logging in
	readyzP99 time.Duration
	timeout   time.Duration // of one request
	readings  int           // readings seeded before the mixed run
}

// usageError is a bad command line; main exits 2 for it.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// parseConfig reads the command line. It returns a usageError for a flag
// that does not parse or a value out of bounds, and flag.ErrHelp for -h
// (having written the usage to stderr); it does not check that the target
// is loopback (checkLoopback does, with a resolver).
func parseConfig(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("concordload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		c      config
		target string
	)
	fs.StringVar(&target, "url", "http://127.0.0.1:8080", "base URL of a running Concord; must be a loopback address")
	fs.StringVar(&c.scenario, "scenario", scenarioMixed, "mixed: the everyday endpoints from -c clients; login-storm: -logins clients log in continuously while one client times GET /v1/me")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long the load runs (at most 10m)")
	fs.IntVar(&c.clients, "c", 16, "concurrent clients of the mixed scenario (1 to 256)")
	fs.IntVar(&c.logins, "logins", 32, "clients logging in during the login storm (1 to 256)")
	fs.DurationVar(&c.readyzP99, "readyz-p99", 100*time.Millisecond, "fail the run if GET /readyz's p99 latency exceeds this")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "timeout of one request")
	fs.IntVar(&c.readings, "seed-readings", 50, "readings uploaded for the load's patient before the mixed run (0 to 500)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: concordload [flags]\n\nPuts a running Concord on this machine under a bounded load and prints latency per endpoint.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config{}, err
		}
		return config{}, usageError{err.Error()}
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if fs.NArg() > 0 {
		bad("unexpected arguments %q", fs.Args())
	}
	u, err := parseBase(target)
	if err != nil {
		bad("-url: %v", err)
	}
	c.base = u
	if c.scenario != scenarioMixed && c.scenario != scenarioLoginStorm {
		bad("-scenario: %q is not %s or %s", c.scenario, scenarioMixed, scenarioLoginStorm)
	}
	if c.duration <= 0 || c.duration > maxDuration {
		bad("-duration: %v must be more than 0 and at most %v", c.duration, maxDuration)
	}
	if c.clients < 1 || c.clients > maxClients {
		bad("-c: %d is not between 1 and %d", c.clients, maxClients)
	}
	if c.logins < 1 || c.logins > maxClients {
		bad("-logins: %d is not between 1 and %d", c.logins, maxClients)
	}
	if c.readyzP99 <= 0 {
		bad("-readyz-p99: %v must be positive", c.readyzP99)
	}
	if c.timeout <= 0 || c.timeout > time.Minute {
		bad("-timeout: %v must be more than 0 and at most 1m", c.timeout)
	}
	if c.readings < 0 || c.readings > 500 {
		bad("-seed-readings: %d is not between 0 and 500", c.readings)
	}
	if len(problems) > 0 {
		return config{}, usageError{strings.Join(problems, "; ")}
	}
	return c, nil
}

// parseBase accepts an http or https URL with a host and nothing after
// it (no user, path, query or fragment).
func parseBase(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, err
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q: the scheme must be http or https", s)
	case u.Hostname() == "":
		return nil, fmt.Errorf("%q has no host", s)
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return nil, fmt.Errorf("%q: give the scheme, host and port only", s)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// errNotLoopback is why a target is refused.
var errNotLoopback = errors.New("concordload only loads a server on this machine (a loopback address such as 127.0.0.1, ::1 or localhost)")

// checkLoopback returns nil if every address u's host stands for is a
// loopback address: an IP literal is checked as it is, a name is resolved
// with lookup and refused if it resolves to nothing or to any address
// that is not loopback.
func checkLoopback(ctx context.Context, u *url.URL, lookup func(ctx context.Context, host string) ([]net.IPAddr, error)) error {
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return fmt.Errorf("%s: %w", host, errNotLoopback)
		}
		return nil
	}
	if host == "" {
		return fmt.Errorf("no host: %w", errNotLoopback)
	}
	addrs, err := lookup(ctx, host)
	if err != nil {
		return fmt.Errorf("resolve %s: %v: %w", host, err, errNotLoopback)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("%s resolves to no address: %w", host, errNotLoopback)
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return fmt.Errorf("%s resolves to %s: %w", host, a.IP, errNotLoopback)
		}
	}
	return nil
}

// loopbackConn returns nil if a connection's remote address is loopback:
// checked on every connection the load makes, so that a name that
// resolved to loopback when it was checked cannot be re-pointed elsewhere
// mid-run.
func loopbackConn(remote net.Addr) error {
	tcp, ok := remote.(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() {
		return fmt.Errorf("connected to %v: %w", remote, errNotLoopback)
	}
	return nil
}
