package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store/sqlite"
	"github.com/google/uuid"
)

// The shape of BenchmarkPharmacy.
const (
	// benchDefaultRecords is the size of a whole pharmacy (DESIGN.md
	// "Storage": a million records); CONCORD_BENCH_RECORDS overrides it.
	benchDefaultRecords = 1_000_000
	// benchRecordsPerPatient is about a year of one patient's readings and
	// doses: the number of other patients is the records over this.
	benchRecordsPerPatient = 1_000
	benchReadingBatch      = 500   // readings per Readings().InsertMany while seeding
	benchDoseBatch         = 1_000 // doses per Doses().InsertMissing while seeding
	benchUploadBatch       = services.MaxReadingBatch
	benchHistoryYears      = 3   // of the measured patient's readings, uploaded in batches
	benchSamples           = 300 // timed calls per endpoint
	benchWarmUp            = 20  // untimed calls before them
	benchConns             = 16  // connections of the throughput runs
	benchThroughputFor     = 5 * time.Second
	benchRounds            = 5 // turns of the throughput runs
	benchZone              = "Europe/London"
	benchPassword          = "a pharmacy's patients' password" // every account's
)

// The targets the figures are compared with.
const (
	benchTargetP50       = 10 * time.Millisecond // every everyday request
	benchTargetMeBusyP50 = 5 * time.Millisecond  // GET /v1/me beside two adherence loops
	benchTargetMeRate    = 5_000.0               // GET /v1/me per second over 16 connections
)

// BenchmarkPharmacy measures one patient's everyday requests through the
// real service (run, on the embedded SQLite store, over loopback HTTP with
// keep-alive) while the store holds a whole pharmacy's data:
//
//	go test ./cmd/concord -run '^$' -bench BenchmarkPharmacy -benchtime 1x -timeout 60m
//
// It seeds other patients' readings and doses straight through the store
// (CONCORD_BENCH_RECORDS of them, default 1,000,000), starts the service on
// that data directory, registers a patient over HTTP, uploads their year of
// readings, adds three medicines, and then times each everyday request
// sequentially, GET /v1/me beside two adherence loops, and GET /v1/me at 16
// connections beside a bare Fiber app on the same machine. Every response's
// status is checked. Each figure is a percentile or a rate of its own
// samples: b.N is not used, and the run takes one iteration.
func BenchmarkPharmacy(b *testing.B) {
	records := benchRecords(b)
	dir := b.TempDir()
	loc, err := time.LoadLocation(benchZone)
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		MaxIdleConns: 4 * benchConns, MaxIdleConnsPerHost: 4 * benchConns, IdleConnTimeout: time.Minute,
	}}
	b.Cleanup(client.CloseIdleConnections)
	rep := benchReport{}
	phase := time.Now()
	lap := func(name string) {
		rep.phases = append(rep.phases, benchPhase{name, time.Since(phase)})
		phase = time.Now()
	}

	// Other patients: a year of readings and doses each, through the store.
	rep.seed = benchSeedPharmacy(b, dir, records, loc)
	lap("seed the store")

	// The service on that directory. Its scheduler ticks once at start
	// (reading the dose plans, planning the week ahead of the first
	// medicines, queueing what is due) and then sleeps for an hour; a
	// patient's medicines it has not planned yet are planned by their
	// first dose or adherence request (a warm-up call here).
	svc := benchStartService(b, dir, client)
	api := svc.api
	rep.firstTick = svc.waitFirstTick(b)
	lap("start the service, first tick")

	// The measured patient: registered, benchHistoryYears of readings
	// uploaded in batches (the ingest figure), three medicines, the doses due within
	// the next hours logged taken.
	var me benchAuth
	body, _ := api.must(b, http.StatusCreated, http.MethodPost, "/v1/auth/register", "", benchJSON(b, map[string]string{
		"email": "measured@pharmacy.example", "password": benchPassword, "name": "Ada Measured", "role": "patient", "timezone": benchZone,
	}))
	benchDecode(b, "register", body, &me)
	if me.User.ID == "" || me.AccessToken == "" || me.RefreshToken == "" {
		b.Fatalf("register: unexpected body %s", body)
	}
	token := me.AccessToken
	// Time-ordered ids (UUIDv7, what the app is asked to send) for the
	// last benchHistoryYears; random ones (UUIDv4) for the years before.
	days := 365 * benchHistoryYears
	rep.ingested, rep.ingest = benchUploadHistory(b, api, token, loc, -days, 0, func() string { return uuid.Must(uuid.NewV7()).String() })
	rep.ingestedV4, rep.ingestV4 = benchUploadHistory(b, api, token, loc, -2*days, -days-1, uuid.NewString)
	rep.taken = benchAddMedications(b, api, token, loc)
	lap("register, upload, medicines")

	// A seeded patient (a year of doses of three medicines) for the dose
	// figures with history behind them.
	body, _ = api.must(b, http.StatusOK, http.MethodPost, "/v1/auth/login", "", benchJSON(b, map[string]string{
		"email": rep.seed.email, "password": benchPassword,
	}))
	var seeded benchAuth
	benchDecode(b, "login", body, &seeded)

	// Everyday requests one at a time, then GET /v1/me beside two
	// adherence loops.
	cpuBefore, measureStart := benchCPUNow(), time.Now()
	rep.latency = benchEverydayRequests(b, api, me, seeded.AccessToken, loc)
	lap("sequential latency")
	busy, loopRate := benchMeBesideAdherence(b, api, me)
	rep.latency, rep.loopRate = append(rep.latency, busy), loopRate
	lap("GET /v1/me beside adherence")

	// Throughput at 16 connections, and a bare Fiber app's in turns
	// with it: the figure is read as a ratio to the machine's baseline.
	bare, stopBare := benchBareFiber(b, client)
	rates, err := benchThroughput(benchTarget{api, "/v1/me", token}, benchTarget{bare, "/v1/me", ""})
	stopBare()
	if err != nil {
		b.Fatal(err)
	}
	rep.meRate, rep.bareRate = rates[0], rates[1]
	rep.others = benchOthersCPU(cpuBefore, benchCPUNow(), time.Since(measureStart))
	lap("throughput")

	// Logout takes effect at once: the very next request with the access
	// token of the ended session is refused.
	api.must(b, http.StatusNoContent, http.MethodPost, "/v1/auth/logout", "", benchJSON(b, map[string]string{"refreshToken": me.RefreshToken}))
	if err := api.expect(http.StatusUnauthorized, http.MethodGet, "/v1/me", token); err != nil {
		b.Fatalf("GET /v1/me right after logout: %v", err)
	}

	svc.stop(b)
	lap("logout, stop the service")
	rep.dbBytes = benchFileSize(b, filepath.Join(dir, sqlite.FileName))
	rep.log(b)
}

// benchEverydayRequests times, one request at a time, what the measured
// patient's app asks for every day, and the dose requests of a seeded
// patient with a year of doses behind them. Each first answer's body is
// checked too.
func benchEverydayRequests(b *testing.B, api benchAPI, me benchAuth, seededToken string, loc *time.Location) []benchLatency {
	b.Helper()
	token := me.AccessToken
	y, m, d := time.Now().In(loc).Date()
	dayStart := time.Date(y, m, d, 0, 0, 0, 0, loc)
	today := "/v1/patients/me/doses?" + url.Values{
		"from": {dayStart.UTC().Format(time.RFC3339)}, "to": {dayStart.AddDate(0, 0, 1).UTC().Format(time.RFC3339)},
	}.Encode()
	checkAdherence := func(minDue int) func([]byte) {
		return func(body []byte) {
			var a models.Adherence
			if benchDecode(b, "adherence", body, &a); a.WindowDays != 28 || a.Overall.Due < minDue || len(a.Medications) != 3 {
				b.Fatalf("adherence: want 28 days, 3 medicines, at least %d doses due; got %s", minDue, body)
			}
		}
	}
	return []benchLatency{
		benchMeasure("me", "GET /v1/me", benchTargetP50, api.getter(b, token, "/v1/me", benchCheckMe(b, me.User.ID))),
		benchMeasure("readings-list", "GET readings?limit=50", benchTargetP50, api.getter(b, token, "/v1/patients/me/readings?limit=50", func(body []byte) {
			var page struct{ Items []models.Reading }
			if benchDecode(b, "readings", body, &page); len(page.Items) != 50 {
				b.Fatalf("readings?limit=50: %d items, want 50", len(page.Items))
			}
		})),
		benchMeasure("readings-summary", "GET readings/summary?type=blood_pressure&days=28", benchTargetP50,
			api.getter(b, token, "/v1/patients/me/readings/summary?type=blood_pressure&days=28", func(body []byte) {
				var s models.ReadingSummary
				if benchDecode(b, "summary", body, &s); s.Count < 50 {
					b.Fatalf("summary: count %d, want 2 a day for 28 days", s.Count)
				}
			})),
		benchMeasure("doses-today", "GET doses (today, from/to)", benchTargetP50, api.getter(b, token, today, nil)),
		benchMeasure("adherence", "GET adherence?days=28", benchTargetP50,
			api.getter(b, token, "/v1/patients/me/adherence?days=28", checkAdherence(0))),
		benchMeasure("reading-post", "POST readings (a new one each)", benchTargetP50, func(i int) time.Duration {
			r := benchReadingAt(models.ReadingBloodPressure, time.Now().Add(-time.Duration(i)*time.Second), rand.New(rand.NewPCG(uint64(i), 7)))
			_, took := api.must(b, http.StatusCreated, http.MethodPost, "/v1/patients/me/readings", token, benchJSON(b, benchInput(r)))
			return took
		}),
		benchMeasure("seeded-doses-today", "GET doses (today), seeded patient", benchTargetP50, api.getter(b, seededToken, today, func(body []byte) {
			var ds struct{ Items []models.Dose }
			if benchDecode(b, "doses", body, &ds); len(ds.Items) < 2 {
				b.Fatalf("seeded patient's doses today: %d, want at least 2", len(ds.Items))
			}
		})),
		benchMeasure("seeded-adherence", "GET adherence?days=28, seeded patient", benchTargetP50,
			api.getter(b, seededToken, "/v1/patients/me/adherence?days=28", checkAdherence(28))),
	}
}

// benchMeBesideAdherence times GET /v1/me while two other connections
// loop GET adherence?days=28, and returns the rate of those.
func benchMeBesideAdherence(b *testing.B, api benchAPI, me benchAuth) (benchLatency, float64) {
	b.Helper()
	var (
		loops sync.WaitGroup
		calls atomic.Int64
		errs  benchErrors
		stop  = make(chan struct{})
	)
	for range 2 {
		loops.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := api.expect(http.StatusOK, http.MethodGet, "/v1/patients/me/adherence?days=28", me.AccessToken); err != nil {
					errs.add(err)
					return
				}
				calls.Add(1)
			}
		})
	}
	start := time.Now()
	l := benchMeasure("me-beside-adherence", "GET /v1/me beside 2 adherence loops", benchTargetMeBusyP50,
		api.getter(b, me.AccessToken, "/v1/me", benchCheckMe(b, me.User.ID)))
	close(stop)
	loops.Wait()
	if err := errs.err(); err != nil {
		b.Fatal(err)
	}
	return l, float64(calls.Load()) / time.Since(start).Seconds()
}

// benchCheckMe checks that a GET /v1/me body is the user id's.
func benchCheckMe(b *testing.B, id string) func([]byte) {
	return func(body []byte) {
		var u struct{ ID string }
		if benchDecode(b, "GET /v1/me", body, &u); u.ID != id {
			b.Fatalf("GET /v1/me: id %q, want %q", u.ID, id)
		}
	}
}

// benchReport gathers the figures of one run.
type benchReport struct {
	seed             benchSeed
	firstTick        time.Duration
	ingested         int
	ingest           float64 // readings/s, UUIDv7 ids
	ingestedV4       int
	ingestV4         float64 // readings/s, UUIDv4 ids
	taken            int
	latency          []benchLatency
	loopRate         float64 // adherence calls/s beside the GET /v1/me samples
	meRate, bareRate float64 // req/s over benchConns connections
	// others is the CPUs other processes kept busy during the
	// measurements (-1: unknown).
	others  float64
	dbBytes int64 // concord.db at the end
	phases  []benchPhase
}

// benchPhase is how long one part of the run took.
type benchPhase struct {
	name string
	took time.Duration
}

// log reports every figure as a benchmark metric and as a table.
func (r benchReport) log(b *testing.B) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	mb := func(n int64) float64 { return float64(n) / (1 << 20) }
	verdict := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "SHORT"
	}
	records := r.seed.readings + r.seed.doses
	seedRate := float64(records) / r.seed.took.Seconds()

	b.ReportMetric(0, "ns/op") // one iteration of everything: not a per-op figure
	b.ReportMetric(float64(records), "records")
	b.ReportMetric(seedRate, "seed-records/s")
	b.ReportMetric(mb(r.dbBytes), "db-MB")
	b.ReportMetric(r.firstTick.Seconds(), "first-tick-s")
	b.ReportMetric(r.ingest, "ingest-readings/s")
	b.ReportMetric(r.ingestV4, "ingest-v4-readings/s")
	for _, l := range r.latency {
		b.ReportMetric(ms(l.p50), l.metric+"-p50-ms")
		b.ReportMetric(ms(l.p99), l.metric+"-p99-ms")
	}
	b.ReportMetric(r.meRate, "me-16conn-req/s")
	b.ReportMetric(r.bareRate, "bare-fiber-req/s")

	var out strings.Builder
	w := tabwriter.NewWriter(&out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "\nstore\t%d patients, %d medicines, %d readings + %d doses = %d records of other patients\n",
		r.seed.patients, r.seed.medications, r.seed.readings, r.seed.doses, records)
	fmt.Fprintf(w, "seeding\t%.1f s, %.0f records/s (store calls: InsertMany of %d, InsertMissing of %d)\n",
		r.seed.took.Seconds(), seedRate, benchReadingBatch, benchDoseBatch)
	fmt.Fprintf(w, "concord.db\t%.1f MB after seeding, %.1f MB at the end\n", mb(r.seed.dbBytes), mb(r.dbBytes))
	fmt.Fprintf(w, "first scheduler tick\t%.2f s (at start, over every active medicine; waited for before measuring)\n", r.firstTick.Seconds())
	fmt.Fprintf(w, "batch ingest\t%d readings in requests of %d, UUIDv7 ids: %.0f readings/s (target ≥ 20000)\n", r.ingested, benchUploadBatch, r.ingest)
	fmt.Fprintf(w, "batch ingest\t%d readings in requests of %d, UUIDv4 ids: %.0f readings/s\n", r.ingestedV4, benchUploadBatch, r.ingestV4)
	fmt.Fprintf(w, "doses logged taken\t%d (the measured patient's doses in the next 11 h)\n", r.taken)
	fmt.Fprintf(w, "\nrequest (%d sequential after %d warm-up)\tp50 ms\tp99 ms\ttarget p50\t\n", benchSamples, benchWarmUp)
	for _, l := range r.latency {
		fmt.Fprintf(w, "%s\t%.2f\t%.2f\t≤ %.0f ms %s\t\n", l.what, ms(l.p50), ms(l.p99), ms(l.target), verdict(l.p50 <= l.target))
	}
	fmt.Fprintf(w, "(adherence loops beside it: %.0f calls/s)\t\t\t\t\n", r.loopRate)
	fmt.Fprintf(w, "\nthroughput (%d connections, %s each, in %d turns)\treq/s\ttarget\t\n", benchConns, benchThroughputFor, benchRounds)
	fmt.Fprintf(w, "GET /v1/me\t%.0f\t≥ %.0f %s\t\n", r.meRate, benchTargetMeRate, verdict(r.meRate >= benchTargetMeRate))
	fmt.Fprintf(w, "bare Fiber v2, one JSON handler\t%.0f\tbaseline\t\n", r.bareRate)
	fmt.Fprintf(w, "ratio GET /v1/me ÷ bare Fiber\t%.2f\t\t\n", r.meRate/r.bareRate)
	fmt.Fprintf(w, "\nlogout\tthe next GET /v1/me with the old access token: 401 (checked)\n")
	fmt.Fprintf(w, "\nmachine\t%d CPUs, GOMAXPROCS %d; other processes kept %.2f CPUs busy during the measurements\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), r.others)
	fmt.Fprintf(w, "phases\t")
	for _, p := range r.phases {
		fmt.Fprintf(w, "%s %.1f s; ", p.name, p.took.Seconds())
	}
	fmt.Fprintln(w)
	w.Flush()
	// Standard output: the testing package trims a benchmark's log to ten
	// lines.
	fmt.Print(out.String())
}
