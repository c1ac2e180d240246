package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sample is one finished request: its round trip (body read included) and
// status.
type sample struct {
	took   time.Duration
	status int
}

// series is what one endpoint's requests gave. Each client goroutine keeps
// its own and they are merged at the end, so recording takes no lock.
type series struct {
	name    string
	samples []sample
	// transport counts requests that got no response (refused, reset,
	// timed out); firstErr is the first of them.
	transport int
	firstErr  error
	// example is the start of the first body of each status but 2xx.
	example map[int]string
}

// exampleLength bounds a kept body.
const exampleLength = 200

// add records one request: a response (err nil) or a transport error.
// body is kept, shortened, if it is the first of a status but 2xx. A
// request ended by the run's own cancellation (Ctrl-C) is not counted.
func (s *series) add(took time.Duration, status int, body []byte, err error) {
	switch {
	case err == nil:
		s.samples = append(s.samples, sample{took, status})
		if status/100 != 2 {
			if s.example == nil {
				s.example = map[int]string{}
			}
			if _, ok := s.example[status]; !ok {
				s.example[status] = string(body[:min(len(body), exampleLength)])
			}
		}
	case errors.Is(err, context.Canceled):
	default:
		s.transport++
		if s.firstErr == nil {
			s.firstErr = err
		}
	}
}

// recorder is one goroutine's series, by endpoint name.
type recorder map[string]*series

func (r recorder) add(name string, took time.Duration, status int, body []byte, err error) {
	s, ok := r[name]
	if !ok {
		s = &series{name: name}
		r[name] = s
	}
	s.add(took, status, body, err)
}

// merge combines recorders into one series per endpoint.
func merge(recs ...recorder) map[string]*series {
	out := map[string]*series{}
	for _, r := range recs {
		for name, s := range r {
			m, ok := out[name]
			if !ok {
				m = &series{name: name}
				out[name] = m
			}
			m.samples = append(m.samples, s.samples...)
			m.transport += s.transport
			if m.firstErr == nil {
				m.firstErr = s.firstErr
			}
			for status, body := range s.example {
				if m.example == nil {
					m.example = map[int]string{}
				}
				if _, ok := m.example[status]; !ok {
					m.example[status] = body
				}
			}
		}
	}
	return out
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value with at least p% of the values
// at or below it. It returns 0 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// row is one endpoint's line of the table.
type row struct {
	name     string
	requests int     // responses and transport errors
	rate     float64 // requests per second of the run
	ok       int     // 2xx
	limited  int     // 429: the server's rate limit, not a failure
	client   int     // any other status below 500 (4xx but 429, 3xx)
	server   int     // 5xx
	// transport counts requests without a response.
	transport int
	firstErr  error
	// p50 and p99 are over every response; okP50 and okP99 over the 2xx.
	p50, p99, okP50, okP99 time.Duration
	statuses               map[int]int // every status but 2xx, with its count
	example                map[int]string
}

// summarize turns a series into its row; elapsed is the run's length.
func summarize(s *series, elapsed time.Duration) row {
	r := row{name: s.name, transport: s.transport, firstErr: s.firstErr, statuses: map[int]int{}, example: s.example}
	all := make([]time.Duration, 0, len(s.samples))
	var ok []time.Duration
	for _, x := range s.samples {
		all = append(all, x.took)
		switch {
		case x.status >= 200 && x.status < 300:
			r.ok++
			ok = append(ok, x.took)
			continue
		case x.status == http.StatusTooManyRequests:
			r.limited++
		case x.status >= 500:
			r.server++
		default:
			r.client++
		}
		r.statuses[x.status]++
	}
	r.requests = len(s.samples) + s.transport
	if elapsed > 0 {
		r.rate = float64(r.requests) / elapsed.Seconds()
	}
	slices.Sort(all)
	slices.Sort(ok)
	r.p50, r.p99 = percentile(all, 50), percentile(all, 99)
	r.okP50, r.okP99 = percentile(ok, 50), percentile(ok, 99)
	return r
}

// report is a finished run.
type report struct {
	scenario string
	target   string
	elapsed  time.Duration
	// notes are lines printed above the table (set-up, concurrency).
	notes []string
	rows  []row
	// readyz is the /readyz row's name.
	readyz string
}

// newReport summarizes the merged series, in the order names lists them
// (names not listed follow, alphabetically).
func newReport(scenario, target string, elapsed time.Duration, all map[string]*series, names ...string) *report {
	rep := &report{scenario: scenario, target: target, elapsed: elapsed, readyz: readyzName}
	order := func(n string) int {
		if i := slices.Index(names, n); i >= 0 {
			return i
		}
		return len(names)
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(order(a), order(b)), strings.Compare(a, b))
	})
	for _, k := range keys {
		rep.rows = append(rep.rows, summarize(all[k], elapsed))
	}
	return rep
}

// print writes the report: notes, the table, errors by status, verdict.
func (rep *report) print(w io.Writer, readyzP99 time.Duration) {
	fmt.Fprintf(w, "concordload: scenario %s against %s for %s\n", rep.scenario, rep.target, rep.elapsed.Round(time.Millisecond))
	for _, n := range rep.notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
	fmt.Fprintln(w)
	width := len("endpoint")
	for _, r := range rep.rows {
		width = max(width, len(r.name))
	}
	line := func(name, requests, rate, ok, limited, failed, p50, p99 string) {
		fmt.Fprintf(w, "%-*s %9s %9s %8s %8s %7s %10s %10s\n", width, name, requests, rate, ok, limited, failed, p50, p99)
	}
	line("endpoint", "requests", "req/s", "2xx", "429", "errors", "p50", "p99")
	for _, r := range rep.rows {
		line(r.name, strconv.Itoa(r.requests), fmt.Sprintf("%.1f", r.rate), strconv.Itoa(r.ok), strconv.Itoa(r.limited),
			strconv.Itoa(r.client+r.server+r.transport), ms(r.p50), ms(r.p99))
		if r.ok > 0 && r.ok < r.requests {
			line("  2xx only", "", "", "", "", "", ms(r.okP50), ms(r.okP99))
		}
	}

	fmt.Fprintln(w, "\nerrors by status:")
	none := true
	for _, r := range rep.rows {
		codes := make([]int, 0, len(r.statuses))
		for c := range r.statuses {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		for _, c := range codes {
			what := "failed"
			if c == http.StatusTooManyRequests {
				what = "rate limited, not a failure"
			}
			fmt.Fprintf(w, "  %s: %d × %d %s (%s)\n      first: %s\n", r.name, r.statuses[c], c, http.StatusText(c), what, r.example[c])
			none = false
		}
		if r.transport > 0 {
			fmt.Fprintf(w, "  %s: %d × no response (first: %v)\n", r.name, r.transport, r.firstErr)
			none = false
		}
	}
	if none {
		fmt.Fprintln(w, "  none")
	}
	if err := rep.verdict(readyzP99); err != nil {
		fmt.Fprintf(w, "\nFAIL: %v\n", err)
	} else {
		fmt.Fprintf(w, "\nPASS: no 5xx, every request answered, %s p99 %s ≤ %s\n", rep.readyz, ms(rep.row(rep.readyz).p99), ms(readyzP99))
	}
}

// row returns the row named name (zero if there is none).
func (rep *report) row(name string) row {
	for _, r := range rep.rows {
		if r.name == name {
			return r
		}
	}
	return row{name: name}
}

// verdict returns nil if the run passed: no 5xx, no request without a
// response, and /readyz answered with a p99 within bound. 429s and other
// 4xx do not fail a run (they are printed).
func (rep *report) verdict(readyzP99 time.Duration) error {
	var problems []string
	for _, r := range rep.rows {
		if r.server > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d × 5xx", r.name, r.server))
		}
		if r.transport > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d without a response", r.name, r.transport))
		}
	}
	switch rz := rep.row(rep.readyz); {
	case rz.ok == 0:
		problems = append(problems, rep.readyz+": never answered 200")
	case rz.p99 > readyzP99:
		problems = append(problems, fmt.Sprintf("%s p99 %s exceeds %s", rep.readyz, ms(rz.p99), ms(readyzP99)))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// ms writes d in milliseconds with two decimals.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}
