package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

// benchAuth is the body of register and login.
type benchAuth struct {
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

// benchAPI talks to one server over keep-alive connections.
type benchAPI struct {
	base   string
	client *http.Client
}

// send makes one request and returns the status, the body and the round
// trip (body read included).
func (a benchAPI) send(method, path, token string, body []byte) (int, []byte, time.Duration, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, a.base+path, r)
	if err != nil {
		return 0, nil, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	res, err := a.client.Do(req)
	if err != nil {
		return 0, nil, 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	got, err := io.ReadAll(res.Body)
	res.Body.Close()
	took := time.Since(start)
	if err != nil {
		return 0, nil, 0, fmt.Errorf("%s %s: read the body: %w", method, path, err)
	}
	return res.StatusCode, got, took, nil
}

// expect sends a request without a body and says what went wrong if the
// status is not want; safe on any goroutine.
func (a benchAPI) expect(want int, method, path, token string) error {
	status, body, _, err := a.send(method, path, token, nil)
	if err == nil && status != want {
		err = fmt.Errorf("%s %s: status %d, want %d; body %.300s", method, path, status, want, body)
	}
	return err
}

// must sends a request on the benchmark's goroutine and ends the
// benchmark unless the status is want.
func (a benchAPI) must(b *testing.B, want int, method, path, token string, body []byte) ([]byte, time.Duration) {
	b.Helper()
	status, got, took, err := a.send(method, path, token, body)
	if err != nil {
		b.Fatal(err)
	}
	if status != want {
		b.Fatalf("%s %s: status %d, want %d; body %.500s", method, path, status, want, got)
	}
	return got, took
}

// getter returns a call for benchMeasure: GET path, status 200 required,
// the first answer's body checked by check (if not nil).
func (a benchAPI) getter(b *testing.B, token, path string, check func(body []byte)) func(i int) time.Duration {
	return func(i int) time.Duration {
		body, took := a.must(b, http.StatusOK, http.MethodGet, path, token, nil)
		if i == 0 && check != nil {
			check(body)
		}
		return took
	}
}

// benchLatency is one request's sequential latency.
type benchLatency struct {
	metric, what string
	p50, p99     time.Duration
	target       time.Duration // for the p50
}

// benchMeasure calls call benchWarmUp times untimed, then benchSamples
// times, and returns the p50 and p99 of the durations call returns.
func benchMeasure(metric, what string, target time.Duration, call func(i int) time.Duration) benchLatency {
	for i := range benchWarmUp {
		call(i)
	}
	ds := make([]time.Duration, benchSamples)
	for i := range ds {
		ds[i] = call(benchWarmUp + i)
	}
	slices.Sort(ds)
	rank := func(p int) time.Duration { return ds[max((len(ds)*p+99)/100-1, 0)] } // nearest rank
	return benchLatency{metric: metric, what: what, p50: rank(50), p99: rank(99), target: target}
}

// benchErrors keeps the first error of several goroutines.
type benchErrors struct {
	mu    sync.Mutex
	first error
}

func (e *benchErrors) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.first == nil {
		e.first = err
	}
}

func (e *benchErrors) err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.first
}

// benchTarget is a GET request a throughput run repeats.
type benchTarget struct {
	api         benchAPI
	path, token string
}

// benchThroughput loops each target's request on benchConns connections
// for benchThroughputFor in all, in benchRounds turns (after a short
// warm-up that opens the connections), so that every target sees the
// machine as loaded as the others do. It returns each target's requests
// answered 200 per second; any other answer is an error.
func benchThroughput(targets ...benchTarget) ([]float64, error) {
	run := func(t benchTarget, d time.Duration) (int64, time.Duration, error) {
		var (
			wg    sync.WaitGroup
			total atomic.Int64
			errs  benchErrors
		)
		start := time.Now()
		deadline := start.Add(d)
		for range benchConns {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					if err := t.api.expect(http.StatusOK, http.MethodGet, t.path, t.token); err != nil {
						errs.add(err)
						return
					}
					total.Add(1)
				}
			})
		}
		wg.Wait()
		return total.Load(), time.Since(start), errs.err()
	}
	for _, t := range targets {
		if _, _, err := run(t, 500*time.Millisecond); err != nil {
			return nil, err
		}
	}
	counts := make([]int64, len(targets))
	took := make([]time.Duration, len(targets))
	for range benchRounds {
		for i, t := range targets {
			n, d, err := run(t, benchThroughputFor/benchRounds)
			if err != nil {
				return nil, err
			}
			counts[i] += n
			took[i] += d
		}
	}
	rates := make([]float64, len(targets))
	for i := range rates {
		rates[i] = float64(counts[i]) / took[i].Seconds()
	}
	return rates, nil
}

// benchCPU is CPU time so far, in clock ticks (USER_HZ, 100 a second):
// of every CPU of the machine (busy, steal included) and of this process.
type benchCPU struct {
	machine, self int64
	ok            bool // read from /proc (Linux)
}

func benchCPUNow() benchCPU {
	stat, err1 := os.ReadFile("/proc/stat")
	self, err2 := os.ReadFile("/proc/self/stat")
	if err1 != nil || err2 != nil {
		return benchCPU{}
	}
	// "cpu user nice system idle iowait irq softirq steal ...": all but
	// idle and iowait is busy.
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line)
	// "pid (comm) state ...": utime and stime are the 12th and 13th
	// fields after the command.
	_, rest, _ := strings.Cut(string(self), ") ")
	g := strings.Fields(rest)
	if len(f) < 9 || f[0] != "cpu" || len(g) < 13 {
		return benchCPU{}
	}
	n := func(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v }
	return benchCPU{machine: n(f[1]) + n(f[2]) + n(f[3]) + n(f[6]) + n(f[7]) + n(f[8]), self: n(g[11]) + n(g[12]), ok: true}
}

// benchOthersCPU is how many CPUs other processes (and the hypervisor)
// kept busy on average between two samples wall apart, -1 if unknown: the
// figures are only as good as the machine was quiet.
func benchOthersCPU(from, to benchCPU, wall time.Duration) float64 {
	if !from.ok || !to.ok {
		return -1
	}
	ticks := (to.machine - from.machine) - (to.self - from.self)
	return max(float64(ticks)/100/wall.Seconds(), 0)
}

// benchBareFiber serves a bare Fiber v2 app (one handler, a small JSON) on
// a loopback port: the baseline of the throughput figure.
func benchBareFiber(b *testing.B, client *http.Client) (benchAPI, func()) {
	b.Helper()
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/v1/me", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"id": "bare", "role": "patient", "timezone": benchZone})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	return benchAPI{base: "http://" + ln.Addr().String(), client: client}, func() {
		// Shutdown waits for open connections: the client's idle ones
		// would hold it until they time out.
		client.CloseIdleConnections()
		if err := app.ShutdownWithTimeout(10 * time.Second); err != nil {
			b.Errorf("bare Fiber app shutdown: %v", err)
		}
		<-served
	}
}

// benchLogs is the service's log output: JSON lines.
type benchLogs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *benchLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *benchLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// find returns the first record with message msg.
func (l *benchLogs) find(msg string) (map[string]any, bool) {
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == msg {
			return rec, true
		}
	}
	return nil, false
}

// benchService is the service started by run.
type benchService struct {
	api     benchAPI
	logs    *benchLogs
	cancel  context.CancelFunc
	done    chan error
	stopped bool
}

// benchStartService runs the service on dir in a goroutine and returns
// once it answers /readyz. It is stopped when the benchmark ends if it was
// not stopped before.
func benchStartService(b *testing.B, dir string, client *http.Client) *benchService {
	b.Helper()
	// The address is chosen here: at log level warn the service does not
	// log "listening" (an info record), so the log cannot tell it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	vars := map[string]string{
		"CONCORD_DATA_DIR":           dir,
		"CONCORD_ADDR":               addr,
		"CONCORD_SCHEDULER_INTERVAL": "1h",
		"CONCORD_LOG_LEVEL":          "warn",
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &benchService{logs: &benchLogs{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		defer func() {
			if r := recover(); r != nil {
				s.done <- fmt.Errorf("run panicked: %v", r)
			}
		}()
		s.done <- run(ctx, func(name string) string { return vars[name] }, s.logs)
	}()
	b.Cleanup(func() {
		if !s.stopped {
			s.cancel()
			select {
			case <-s.done:
			case <-time.After(2 * time.Minute):
			}
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if rec, ok := s.logs.find("listening"); ok { // at a more talkative level
			if a, _ := rec["addr"].(string); a != "" {
				addr = a
			}
		}
		s.api = benchAPI{base: "http://" + addr, client: client}
		if err := s.api.expect(http.StatusOK, http.MethodGet, "/readyz", ""); err == nil {
			return s
		}
		select {
		case err := <-s.done:
			s.stopped = true
			b.Fatalf("run returned before serving: %v\nlog:\n%s", err, s.logs)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Fatalf("the service did not answer /readyz on %s within 2 minutes\nlog:\n%s", addr, s.logs)
		}
	}
}

// waitFirstTick waits until the scheduler's first tick (at start) has
// ended, so that no figure is of requests queued behind it, and returns
// how long the tick took. A failed step ends the benchmark.
func (s *benchService) waitFirstTick(b *testing.B) time.Duration {
	b.Helper()
	deadline := time.Now().Add(30 * time.Minute)
	for {
		body, _ := s.api.must(b, http.StatusOK, http.MethodGet, "/metrics", "", nil)
		if n, _ := benchMetricValue(body, "concord_scheduler_tick_seconds_count"); n >= 1 {
			if rec, failed := s.logs.find("scheduler step failed"); failed {
				b.Fatalf("the scheduler's first tick failed: %v", rec)
			}
			secs, _ := benchMetricValue(body, "concord_scheduler_tick_seconds_sum")
			return time.Duration(secs * float64(time.Second))
		}
		if time.Now().After(deadline) {
			b.Fatalf("the scheduler's first tick did not end within 30 minutes\nlog:\n%s", s.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop cancels run's context, as SIGTERM does, and waits for run to return
// nil.
func (s *benchService) stop(b *testing.B) {
	b.Helper()
	s.cancel()
	s.stopped = true
	select {
	case err := <-s.done:
		if err != nil {
			b.Fatalf("run after cancellation = %v, want nil\nlog:\n%s", err, s.logs)
		}
	case <-time.After(2 * time.Minute):
		b.Fatalf("run did not return within 2 minutes of cancellation\nlog:\n%s", s.logs)
	}
	if rec, ok := s.logs.find("store did not close cleanly"); ok {
		b.Fatalf("the store did not close cleanly: %v", rec)
	}
}

// benchMetricValue returns the value of an unlabelled sample in a
// Prometheus text exposition.
func benchMetricValue(exposition []byte, name string) (float64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(exposition))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

func benchJSON(b *testing.B, v any) []byte {
	b.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func benchDecode(b *testing.B, what string, body []byte, v any) {
	b.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		b.Fatalf("%s: decode %.500s: %v", what, body, err)
	}
}

func benchFileSize(b *testing.B, path string) int64 {
	b.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}
