package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	oneToHundred := make([]int, 100)
	for i := range oneToHundred {
		oneToHundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"no values", nil, 50, 0},
		{"one value, p50", ms(7), 50, 7 * time.Millisecond},
		{"one value, p99", ms(7), 99, 7 * time.Millisecond},
		{"1..100, p50", ms(oneToHundred...), 50, 50 * time.Millisecond},
		{"1..100, p99", ms(oneToHundred...), 99, 99 * time.Millisecond},
		{"1..100, p100", ms(oneToHundred...), 100, 100 * time.Millisecond},
		{"1..10, p50", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 50, 5 * time.Millisecond},
		{"1..10, p99: the largest", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"1..10, p90", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
		{"1..10, p91: rounds up", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 91, 10 * time.Millisecond},
		{"two values, p50: the lower", ms(1, 9), 50, time.Millisecond},
		{"ties", ms(2, 2, 2, 2, 100), 80, 2 * time.Millisecond},
		{"p near zero: the smallest", ms(3, 4, 5), 0.001, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("%s: percentile(p%v) = %v, want %v", tt.name, tt.p, got, tt.want)
		}
	}
}

// TestSummarize: statuses are classed (2xx, 429 apart, other 4xx, 5xx, no
// response), the rate is over the run, percentiles are over every
// response and over the 2xx, and a cancelled request is not counted.
func TestSummarize(t *testing.T) {
	t.Parallel()
	s := &series{name: "POST /v1/auth/login"}
	for i := 1; i <= 10; i++ {
		s.add(time.Duration(i)*10*time.Millisecond, 200, nil, nil)
	}
	for range 85 {
		s.add(time.Millisecond, 429, nil, nil)
	}
	s.add(2*time.Millisecond, 401, []byte(`{"code":"unauthorized"}`), nil)
	s.add(3*time.Millisecond, 503, nil, nil)
	s.add(5*time.Second, 0, nil, errors.New("connection refused"))
	s.add(time.Second, 0, nil, fmt.Errorf("wrapped: %w", context.Canceled))
	r := summarize(s, 2*time.Second)

	got := map[string]any{
		"requests": r.requests, "rate": r.rate, "ok": r.ok, "limited": r.limited, "client": r.client, "server": r.server,
		"transport": r.transport, "statuses": r.statuses, "okP50": r.okP50, "okP99": r.okP99, "p50": r.p50, "p99": r.p99,
	}
	want := map[string]any{
		"requests": 98, "rate": 49.0, "ok": 10, "limited": 85, "client": 1, "server": 1, "transport": 1,
		"statuses": map[int]int{429: 85, 401: 1, 503: 1},
		"okP50":    50 * time.Millisecond, "okP99": 100 * time.Millisecond,
		"p50": time.Millisecond, "p99": 100 * time.Millisecond,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if got := r.example[401]; got != `{"code":"unauthorized"}` {
		t.Errorf("the 401's example body is %q", got)
	}
	if r.firstErr == nil || !strings.Contains(r.firstErr.Error(), "connection refused") {
		t.Errorf("first error %v, want the refused connection", r.firstErr)
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	a, b := recorder{}, recorder{}
	a.add("x", time.Millisecond, 200, nil, nil)
	b.add("x", 2*time.Millisecond, 200, nil, nil)
	b.add("y", 0, 0, nil, errors.New("reset"))
	all := merge(a, b)
	if n := len(all["x"].samples); n != 2 {
		t.Errorf("x: %d samples, want 2", n)
	}
	if all["y"].transport != 1 || all["y"].firstErr == nil {
		t.Errorf("y: %+v, want one transport error", all["y"])
	}
}

// TestVerdict: a run fails on any 5xx, any request without a response, a
// /readyz p99 over the bound or a /readyz that never answered; 429s and
// other 4xx do not fail it.
func TestVerdict(t *testing.T) {
	t.Parallel()
	readyz := func(took time.Duration, n int) *series {
		s := &series{name: readyzName}
		for range n {
			s.add(took, 200, nil, nil)
		}
		return s
	}
	withStatus := func(name string, statuses ...int) *series {
		s := &series{name: name}
		for _, st := range statuses {
			s.add(time.Millisecond, st, nil, nil)
		}
		return s
	}
	tests := []struct {
		name    string
		series  []*series
		wantErr string // "" for a pass
	}{
		{"all fine", []*series{readyz(time.Millisecond, 100), withStatus(nameMe, 200, 200)}, ""},
		{"429s only", []*series{readyz(time.Millisecond, 100), withStatus(nameLogin, 200, 429, 429, 429)}, ""},
		{"a 404 is printed, not failed", []*series{readyz(time.Millisecond, 100), withStatus(nameMe, 200, 404)}, ""},
		{"a 500", []*series{readyz(time.Millisecond, 100), withStatus(nameMe, 200, 500)}, "GET /v1/me: 1 × 5xx"},
		{"a 503", []*series{readyz(time.Millisecond, 100), withStatus(nameLogin, 503)}, "1 × 5xx"},
		{"no response", []*series{readyz(time.Millisecond, 100), func() *series {
			s := &series{name: nameMe}
			s.add(0, 0, nil, errors.New("EOF"))
			return s
		}()}, "1 without a response"},
		{"readyz slow", []*series{readyz(150*time.Millisecond, 100)}, "p99 150.00ms exceeds 100.00ms"},
		{"readyz never answered", []*series{withStatus(readyzName, 503, 503)}, "never answered 200"},
		{"readyz missing", []*series{withStatus(nameMe, 200)}, "never answered 200"},
	}
	for _, tt := range tests {
		all := map[string]*series{}
		for _, s := range tt.series {
			all[s.name] = s
		}
		rep := newReport("mixed", "http://127.0.0.1:8080", 10*time.Second, all, readyzName)
		err := rep.verdict(100 * time.Millisecond)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: verdict = %v, want a pass", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: verdict = %v, want %q", tt.name, err, tt.wantErr)
		}
		var out bytes.Buffer
		rep.print(&out, 100*time.Millisecond)
		if verdict := map[bool]string{true: "\nPASS:", false: "\nFAIL:"}[tt.wantErr == ""]; !strings.Contains(out.String(), verdict) {
			t.Errorf("%s: the printed report does not say %q:\n%s", tt.name, verdict, out.String())
		}
	}
}

// TestReportPrint: the table has a row per endpoint in the order given,
// 429s in their own column, a "2xx only" line where some answers were not
// 2xx, and the errors by status.
func TestReportPrint(t *testing.T) {
	t.Parallel()
	all := map[string]*series{}
	for name, statuses := range map[string][]int{
		readyzName: {200, 200},
		nameMe:     {200, 200, 200},
		nameLogin:  {200, 429, 429, 429},
	} {
		s := &series{name: name}
		for _, st := range statuses {
			s.add(time.Millisecond, st, nil, nil)
		}
		all[name] = s
	}
	rep := newReport("login-storm", "http://127.0.0.1:18181", time.Second, all, nameMe, nameLogin, readyzName)
	var out bytes.Buffer
	rep.print(&out, 100*time.Millisecond)
	text := out.String()
	me, login, rz := strings.Index(text, nameMe), strings.Index(text, nameLogin), strings.Index(text, readyzName)
	if me < 0 || login < me || rz < login {
		t.Errorf("rows not in the order me, login, readyz:\n%s", text)
	}
	for _, want := range []string{"2xx only", "POST /v1/auth/login: 3 × 429 Too Many Requests (rate limited, not a failure)", "PASS:"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	if strings.Count(text, "2xx only") != 1 {
		t.Errorf("want one 2xx-only line (the login's):\n%s", text)
	}
}
