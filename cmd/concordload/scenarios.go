package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// loadZone is the load's patients' time zone.
const loadZone = "Europe/London"

// readyzName is the readiness poller's row; readyzEvery its period.
const (
	readyzName  = "GET /readyz (every 100ms)"
	readyzEvery = 100 * time.Millisecond
)

// The endpoints' row names.
const (
	nameMe        = "GET /v1/me"
	nameReadings  = "GET readings?limit=50"
	nameSummary   = "GET readings/summary (28 d)"
	nameDoses     = "GET doses (today)"
	nameAdherence = "GET adherence?days=28"
	namePost      = "POST readings"
	nameLogin     = "POST /v1/auth/login"
)

// request is one request of the mix: method, path and JSON body (nil for
// none).
type request struct {
	method, path string
	body         []byte
}

// mixEntry is an endpoint of the mixed scenario and its share of the
// requests: a patient's app opens on their profile and today's doses more
// often than it uploads or looks at trends.
type mixEntry struct {
	name   string
	weight int
	build  func(rng *rand.Rand, now time.Time) request
}

// mix returns the mixed scenario's endpoints; today is the patient's local
// day as the doses query's from and to.
func mix(from, to time.Time) []mixEntry {
	doses := "/v1/patients/me/doses?" + url.Values{"from": {from.UTC().Format(time.RFC3339)}, "to": {to.UTC().Format(time.RFC3339)}}.Encode()
	get := func(path string) func(*rand.Rand, time.Time) request {
		return func(*rand.Rand, time.Time) request { return request{http.MethodGet, path, nil} }
	}
	return []mixEntry{
		{nameMe, 3, get("/v1/me")},
		{nameReadings, 2, get("/v1/patients/me/readings?limit=50")},
		{nameSummary, 1, get("/v1/patients/me/readings/summary?type=blood_pressure&days=28")},
		{nameDoses, 2, get(doses)},
		{nameAdherence, 1, get("/v1/patients/me/adherence?days=28")},
		{namePost, 1, func(rng *rand.Rand, now time.Time) request {
			return request{http.MethodPost, "/v1/patients/me/readings", bpReading(rng, now.Add(-time.Duration(rng.IntN(3600))*time.Second))}
		}},
	}
}

// bpReading is a plausible home blood pressure reading taken at at.
func bpReading(rng *rand.Rand, at time.Time) []byte {
	sys := 110 + rng.IntN(40)
	b, _ := json.Marshal(map[string]any{
		"type": "blood_pressure", "takenAt": at.UTC().Format(time.RFC3339Nano), "unit": "mm[Hg]",
		"systolic": sys, "diastolic": sys - 35 - rng.IntN(15), "pulse": 55 + rng.IntN(40),
	})
	return b
}

// runMixed registers a patient, uploads cfg.readings readings of the past
// four weeks and a twice-daily medicine started four weeks ago, then runs
// cfg.clients clients through the mix for cfg.duration beside the
// readiness poller.
func runMixed(ctx context.Context, cfg config, a *api) (*report, error) {
	me, err := a.register(ctx, "mixed")
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(loadZone)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	rng := rand.New(rand.NewPCG(uint64(now.UnixNano()), 1))
	if cfg.readings > 0 {
		items := make([]json.RawMessage, cfg.readings)
		for i := range items {
			items[i] = bpReading(rng, now.Add(-time.Duration(i)*28*24*time.Hour/time.Duration(cfg.readings)-time.Minute))
		}
		if err := a.call(ctx, http.StatusOK, http.MethodPost, "/v1/patients/me/readings/batch", me.token, map[string]any{"readings": items}, nil); err != nil {
			return nil, fmt.Errorf("seed readings: %w", err)
		}
	}
	start := now.In(loc).AddDate(0, 0, -28).Format(time.DateOnly)
	if err := a.call(ctx, http.StatusCreated, http.MethodPost, "/v1/patients/me/medications", me.token, map[string]any{
		"name": "Ramipril", "strength": "5 mg", "form": "capsule",
		"schedule": map[string]any{"times": []string{"08:00", "20:00"}, "startDate": start},
		"stock":    map[string]any{"quantity": 56, "unitsPerDose": 1, "refillLeadDays": 7},
	}, nil); err != nil {
		return nil, fmt.Errorf("seed a medication: %w", err)
	}
	y, m, d := now.In(loc).Date()
	dayStart := time.Date(y, m, d, 0, 0, 0, 0, loc)
	entries := mix(dayStart, dayStart.AddDate(0, 0, 1))
	var wheel []int // entry indexes, each weight times
	for i, e := range entries {
		for range e.weight {
			wheel = append(wheel, i)
		}
	}

	recs := make([]recorder, cfg.clients)
	end := time.Now().Add(cfg.duration)
	began := time.Now()
	poll := startReadyz(ctx, a, end)
	var wg sync.WaitGroup
	for c := range cfg.clients {
		recs[c] = recorder{}
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(began.UnixNano()), uint64(c)))
			for i := c; ctx.Err() == nil && time.Now().Before(end); i++ {
				e := entries[wheel[i%len(wheel)]]
				rq := e.build(rng, time.Now())
				status, body, took, err := a.send(ctx, rq.method, rq.path, me.token, rq.body)
				recs[c].add(e.name, took, status, body, err)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	all := merge(append(recs, <-poll)...)
	names := []string{readyzName}
	for _, e := range entries {
		names = append(names, e.name)
	}
	rep := newReport(cfg.scenario, a.base, elapsed, all, names...)
	rep.notes = []string{
		fmt.Sprintf("%d clients, closed loop (each sends its next request when the last is answered)", cfg.clients),
		fmt.Sprintf("patient %s: %d readings seeded, one medicine twice daily since %s; the mix per 10 requests: 3 me, 2 readings, 2 doses, 1 summary, 1 adherence, 1 new reading", me.email, cfg.readings, start),
	}
	return rep, nil
}

// runLoginStorm registers two patients: one whose GET /v1/me is timed by a
// single client, one that cfg.logins clients log in as continuously, with
// the right password, for cfg.duration (beside the readiness poller).
func runLoginStorm(ctx context.Context, cfg config, a *api) (*report, error) {
	me, err := a.register(ctx, "measured")
	if err != nil {
		return nil, err
	}
	storm, err := a.register(ctx, "storm")
	if err != nil {
		return nil, err
	}
	login, _ := json.Marshal(map[string]string{"email": storm.email, "password": storm.password})

	recs := make([]recorder, cfg.logins+1)
	end := time.Now().Add(cfg.duration)
	began := time.Now()
	poll := startReadyz(ctx, a, end)
	var wg sync.WaitGroup
	for c := range cfg.logins {
		recs[c] = recorder{}
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(end) {
				status, body, took, err := a.send(ctx, http.MethodPost, "/v1/auth/login", "", login)
				recs[c].add(nameLogin, took, status, body, err)
			}
		})
	}
	measured := recorder{}
	recs[cfg.logins] = measured
	wg.Go(func() {
		for ctx.Err() == nil && time.Now().Before(end) {
			status, body, took, err := a.send(ctx, http.MethodGet, "/v1/me", me.token, nil)
			measured.add(nameMe, took, status, body, err)
		}
	})
	wg.Wait()
	elapsed := time.Since(began)
	rep := newReport(cfg.scenario, a.base, elapsed, merge(append(recs, <-poll)...), nameMe, nameLogin, readyzName)
	rep.notes = []string{
		fmt.Sprintf("%d clients log in continuously (closed loop, no back-off on 429) as %s; one client times GET /v1/me as %s", cfg.logins, storm.email, me.email),
		"429s are the server's login rate limits (per address and per account), counted apart and not as failures",
	}
	return rep, nil
}

// startReadyz polls GET /readyz every readyzEvery until end, on its own
// goroutine, and sends what it recorded when it stops. A poll still
// running at a tick delays the next one (ticks are not queued).
func startReadyz(ctx context.Context, a *api, end time.Time) <-chan recorder {
	out := make(chan recorder, 1)
	go func() {
		rec := recorder{}
		tick := time.NewTicker(readyzEvery)
		defer tick.Stop()
		for ctx.Err() == nil && time.Now().Before(end) {
			status, body, took, err := a.send(ctx, http.MethodGet, "/readyz", "", nil)
			rec.add(readyzName, took, status, body, err)
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
		out <- rec
	}()
	return out
}
