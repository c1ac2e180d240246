// Command concordload puts a running Concord on this machine under a short,
// bounded load over HTTP and prints, per endpoint, requests per second and
// the p50 and p99 latency, beside a poller of GET /readyz every 100 ms.
//
//	go run ./cmd/concordload -url http://127.0.0.1:8080 -duration 10s -c 16
//	go run ./cmd/concordload -url http://127.0.0.1:8080 -scenario login-storm
//
// It registers its own patients (unique e-mail addresses) and never touches
// other data. The mixed scenario (the default) seeds a patient's readings
// and a medicine, then runs -c clients through the everyday requests: GET
// /v1/me, the readings list and summary, today's doses, 28-day adherence,
// and a new reading. The login-storm scenario has -logins clients (32) log
// in continuously with the right password while one client times GET
// /v1/me. 429 answers (the login rate limits) are counted apart, never as
// failures.
//
// It refuses any target that is not a loopback address, and every
// connection is checked again as it is made. It exits 0 when the run
// passed, 1 when any request got a 5xx or no response or /readyz's p99
// exceeded -readyz-p99 (the table is printed either way), and 2 for a bad
// command line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // Europe/London, whatever the machine has
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	var usage usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, &usage):
		fmt.Fprintf(os.Stderr, "concordload: %v\n", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "concordload: %v\n", err)
		os.Exit(1)
	}
}

// run checks the command line and the target, waits for the target to be
// ready, runs the scenario, prints the report to stdout and returns its
// verdict.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	if err := checkLoopback(ctx, cfg.base, net.DefaultResolver.LookupIPAddr); err != nil {
		return usageError{"-url: " + err.Error()}
	}

	// One keep-alive connection per client, the poller and set-up.
	conns := max(cfg.clients, cfg.logins) + 4
	a := newAPI(cfg.base.String(), conns, cfg.timeout)
	defer a.client.CloseIdleConnections()
	if err := a.waitReady(ctx, 10*time.Second); err != nil {
		return err
	}

	var rep *report
	switch cfg.scenario {
	case scenarioLoginStorm:
		rep, err = runLoginStorm(ctx, cfg, a)
	default:
		rep, err = runMixed(ctx, cfg, a)
	}
	if err != nil {
		return err
	}
	rep.print(stdout, cfg.readyzP99)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted after %s; the figures cover that part", rep.elapsed.Round(time.Millisecond))
	}
	return rep.verdict(cfg.readyzP99)
}
