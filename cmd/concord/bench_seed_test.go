package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
	"github.com/concord-health/concord/store/sqlite"
)

// benchRecords is CONCORD_BENCH_RECORDS, or benchDefaultRecords.
func benchRecords(b *testing.B) int {
	v := strings.NewReplacer("_", "", ",", "").Replace(os.Getenv("CONCORD_BENCH_RECORDS"))
	if v == "" {
		return benchDefaultRecords
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < benchRecordsPerPatient {
		b.Fatalf("CONCORD_BENCH_RECORDS=%q: want a whole number of at least %d", os.Getenv("CONCORD_BENCH_RECORDS"), benchRecordsPerPatient)
	}
	return n
}

// benchSeed is what benchSeedPharmacy stored.
type benchSeed struct {
	patients, medications, readings, doses int
	took                                   time.Duration
	dbBytes                                int64  // concord.db once closed
	email                                  string // a patient with three medicines
}

// benchSeedPharmacy stores, straight through the SQLite store, about
// records readings and doses of records/benchRecordsPerPatient patients,
// each with a year of both, as the services would have stored them.
func benchSeedPharmacy(b *testing.B, dir string, records int, loc *time.Location) benchSeed {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Dir: dir})
	if err != nil {
		b.Fatalf("open the store: %v", err)
	}
	hash, err := services.HashPassword(benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	since := now.AddDate(-1, 0, 0)
	rng := rand.New(rand.NewPCG(2026, uint64(records)))
	seed := benchSeed{patients: max(1, records/benchRecordsPerPatient)}
	readings := make([]models.Reading, 0, benchReadingBatch)
	doses := make([]models.Dose, 0, benchDoseBatch)
	flushReadings := func() {
		if len(readings) == 0 {
			return
		}
		if dups, err := st.Readings().InsertMany(ctx, readings); err != nil || len(dups) > 0 {
			b.Fatalf("insert %d readings: duplicates at %v, err %v", len(readings), dups, err)
		}
		seed.readings += len(readings)
		readings = readings[:0]
	}
	flushDoses := func() {
		if len(doses) == 0 {
			return
		}
		if n, err := st.Doses().InsertMissing(ctx, doses); err != nil || n != len(doses) {
			b.Fatalf("insert %d doses: stored %d, err %v", len(doses), n, err)
		}
		seed.doses += len(doses)
		doses = doses[:0]
	}

	start := time.Now()
	for i := range seed.patients {
		before := seed.readings + len(readings) + seed.doses + len(doses)
		u := models.User{ID: uuid.NewString(), Email: fmt.Sprintf("patient%05d@pharmacy.example", i), Name: fmt.Sprintf("Patient %05d", i),
			Role: models.RolePatient, Timezone: benchZone, PasswordHash: hash, PasswordChangedAt: since, CreatedAt: since, UpdatedAt: since}
		if err := st.Users().Create(ctx, u); err != nil {
			b.Fatalf("create patient %d: %v", i, err)
		}
		if i == 0 {
			seed.email = u.Email
		}
		own := 0
		for _, m := range benchMedications(u, 3-i%3, since, loc) {
			if err := m.Validate(); err != nil {
				b.Fatalf("medication %s: %v", m.Name, err)
			}
			if err := st.Medications().Create(ctx, m); err != nil {
				b.Fatalf("create medication: %v", err)
			}
			seed.medications++
			for _, d := range models.PlanDoses(m, loc, since, now) {
				doses = append(doses, benchDoseOutcome(rng, d, m.CreatedAt, now))
				own++
				if len(doses) == benchDoseBatch {
					flushDoses()
				}
			}
			// The doses are stored up to now, as the planner had left them;
			// recording that (with no fingerprint) makes the service's
			// first planning reconcile from now on instead of re-inserting
			// the year.
			if ok, err := st.Doses().SwapDosePlan(ctx, m.ID, u.ID, "", "", now); err != nil || !ok {
				b.Fatalf("record the dose plan of %s: swapped %v, err %v", m.ID, ok, err)
			}
		}
		// Readings make up this patient's share of what is still to seed.
		share := (records-before)/(seed.patients-i) - own
		for range max(share, 0) {
			readings = append(readings, benchStoredReading(b, rng, u, since, now))
			if len(readings) == benchReadingBatch {
				flushReadings()
			}
		}
	}
	flushReadings()
	flushDoses()
	seed.took = time.Since(start)
	if err := st.Close(ctx); err != nil {
		b.Fatalf("close the store: %v", err)
	}
	seed.dbBytes = benchFileSize(b, filepath.Join(dir, sqlite.FileName))
	return seed
}

// benchMedications returns n (1 to 3) active medicines a patient has
// taken since since: two daily, one weekly.
func benchMedications(u models.User, n int, since time.Time, loc *time.Location) []models.Medication {
	start := since.In(loc).Format(models.LocalDateLayout)
	all := []models.Medication{
		{Name: "Ramipril", Strength: "5 mg", Form: "capsule", Instructions: "One each morning",
			Schedule: models.Schedule{Times: []string{"08:00"}, StartDate: start}},
		{Name: "Atorvastatin", Strength: "20 mg", Form: "tablet", Instructions: "One at night",
			Schedule: models.Schedule{Times: []string{"21:00"}, StartDate: start}},
		{Name: "Alendronic acid", Strength: "70 mg", Form: "tablet", Instructions: "One each Sunday before breakfast",
			Schedule: models.Schedule{Times: []string{"07:00"}, DaysOfWeek: []string{"sun"}, StartDate: start}},
	}
	out := all[:n]
	for i := range out {
		out[i].ID, out[i].PatientID, out[i].Status = uuid.NewString(), u.ID, models.MedicationActive
		out[i].CreatedAt, out[i].UpdatedAt = since, since
	}
	return out
}

// benchDoseOutcome logs a planned dose as patients do: most taken around
// their time, some missed (marked when the grace period ended), a few
// skipped. A dose still within its grace period stays pending.
func benchDoseOutcome(rng *rand.Rand, d models.Dose, created, now time.Time) models.Dose {
	d.CreatedAt = d.ScheduledAt.Add(-services.DoseHorizon) // planned a week ahead
	if d.CreatedAt.Before(created) {
		d.CreatedAt = created
	}
	d.UpdatedAt = d.CreatedAt
	grace := models.DefaultDoseGrace
	if d.ScheduledAt.Add(grace).After(now) {
		return d
	}
	clamp := func(t time.Time) time.Time {
		switch {
		case t.Before(created):
			t = created
		case t.After(now):
			t = now
		}
		return t.UTC().Truncate(time.Millisecond)
	}
	switch p := rng.Float64(); {
	case p < 0.85:
		at := clamp(d.ScheduledAt.Add(time.Duration(rng.IntN(90)-20) * time.Minute))
		d.Status, d.TakenAt, d.LoggedAt, d.UpdatedAt = models.DoseTaken, &at, &at, at
		d.History = []models.DoseEvent{{At: at, From: models.DosePending, To: models.DoseTaken, TakenAt: &at}}
	case p < 0.95:
		at := clamp(d.ScheduledAt.Add(grace + time.Duration(rng.IntN(15))*time.Minute))
		d.Status, d.UpdatedAt = models.DoseMissed, at
		d.History = []models.DoseEvent{{At: at, From: models.DosePending, To: models.DoseMissed}}
	default:
		at := clamp(d.ScheduledAt.Add(-time.Duration(rng.IntN(60)) * time.Minute))
		d.Status, d.SkipReason, d.LoggedAt, d.UpdatedAt = models.DoseSkipped, "felt unwell", &at, at
		d.History = []models.DoseEvent{{At: at, From: models.DosePending, To: models.DoseSkipped, Reason: d.SkipReason}}
	}
	return d
}

// benchStoredReading returns a reading of u's as the readings service
// stores it (normalised, banded, LOINC set), taken at a random time of the
// past year: blood pressure half the time, glucose and weight the rest.
func benchStoredReading(b *testing.B, rng *rand.Rand, u models.User, since, now time.Time) models.Reading {
	typ := models.ReadingWeight
	switch p := rng.Float64(); {
	case p < 0.5:
		typ = models.ReadingBloodPressure
	case p < 0.8:
		typ = models.ReadingBloodGlucose
	}
	at := since.Add(time.Duration(rng.Int64N(int64(now.Add(-time.Hour).Sub(since)))))
	r := benchReadingAt(typ, at, rng)
	if err := r.Normalize(now); err != nil {
		b.Fatalf("seeded reading %+v: %v", r, err)
	}
	r.PatientID = u.ID
	r.Band, r.Rule, _ = models.Classify(&r, u.Targets)
	r.CreatedAt = r.TakenAt.Add(time.Duration(rng.IntN(30)) * time.Minute)
	if r.CreatedAt.After(now) {
		r.CreatedAt = now
	}
	return r
}

// benchReadingAt returns a new reading of typ taken at `at`, with
// plausible values in the units apps send (now and then mg/dL or lb).
func benchReadingAt(typ models.ReadingType, at time.Time, rng *rand.Rand) models.Reading {
	f := func(v float64) *float64 { return &v }
	tenth := func(v float64) float64 { return math.Round(v*10) / 10 }
	r := models.Reading{ID: uuid.NewString(), Type: typ, TakenAt: at.UTC().Truncate(time.Millisecond)}
	switch typ {
	case models.ReadingBloodPressure:
		sys := 100 + rng.Float64()*80
		dia := min(60+rng.Float64()*40, sys-25)
		r.Unit, r.Systolic, r.Diastolic = "mmHg", f(math.Round(sys)), f(math.Round(dia))
		if rng.IntN(10) < 7 {
			r.Pulse = f(float64(55 + rng.IntN(40)))
		}
	case models.ReadingBloodGlucose:
		mmol := min(3.2+rng.ExpFloat64()*3, 25)
		contexts := []string{models.GlucoseContextFasting, models.GlucoseContextBeforeMeal, models.GlucoseContextAfterMeal,
			models.GlucoseContextBedtime, models.GlucoseContextRandom}
		r.Context = contexts[rng.IntN(len(contexts))]
		r.Unit, r.Value = "mmol/L", f(tenth(mmol))
		if rng.IntN(10) == 0 {
			r.Unit, r.Value = "mg/dL", f(math.Round(mmol*18.016))
		}
	default:
		kg := 55 + rng.Float64()*65
		r.Type, r.Unit, r.Value = models.ReadingWeight, "kg", f(tenth(kg))
		if rng.IntN(10) == 0 {
			r.Unit, r.Value = "lb", f(tenth(kg/0.45359237))
		}
	}
	return r
}

// benchReadingInput is a reading as a client sends it.
type benchReadingInput struct {
	ID        string             `json:"id"`
	Type      models.ReadingType `json:"type"`
	TakenAt   string             `json:"takenAt"`
	Unit      string             `json:"unit"`
	Value     *float64           `json:"value,omitempty"`
	Systolic  *float64           `json:"systolic,omitempty"`
	Diastolic *float64           `json:"diastolic,omitempty"`
	Pulse     *float64           `json:"pulse,omitempty"`
	Context   string             `json:"context,omitempty"`
}

func benchInput(r models.Reading) benchReadingInput {
	return benchReadingInput{ID: r.ID, Type: r.Type, TakenAt: r.TakenAt.Format(time.RFC3339Nano), Unit: r.Unit,
		Value: r.Value, Systolic: r.Systolic, Diastolic: r.Diastolic, Pulse: r.Pulse, Context: r.Context}
}

// benchUploadHistory uploads the measured patient's readings of the days
// from fromDay to toDay (0 is today, -365 a year ago), as their app would
// after a reinstall: blood pressure morning and evening, glucose fasting
// and after lunch, weight each morning, benchUploadBatch a request, each
// reading with an id from newID. It returns how many readings and the rate
// the batch requests stored them at (readings/s over the round trips).
func benchUploadHistory(b *testing.B, api benchAPI, token string, loc *time.Location, fromDay, toDay int, newID func() string) (int, float64) {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 1))
	now := time.Now()
	y, m, d := now.In(loc).Date()
	slots := []struct {
		typ          models.ReadingType
		hour, minute int
		context      string
	}{
		{models.ReadingBloodGlucose, 7, 0, models.GlucoseContextFasting},
		{models.ReadingWeight, 7, 15, ""},
		{models.ReadingBloodPressure, 7, 30, ""},
		{models.ReadingBloodGlucose, 13, 30, models.GlucoseContextAfterMeal},
		{models.ReadingBloodPressure, 19, 30, ""},
	}
	var all []benchReadingInput
	for day := fromDay; day <= toDay; day++ {
		for _, s := range slots {
			at := time.Date(y, m, d+day, s.hour, s.minute, 0, 0, loc)
			if at.After(now) {
				continue
			}
			r := benchReadingAt(s.typ, at, rng)
			r.ID = newID()
			if s.context != "" {
				r.Context = s.context
			}
			all = append(all, benchInput(r))
		}
	}
	var took time.Duration
	for chunk := range slices.Chunk(all, benchUploadBatch) {
		body, d := api.must(b, http.StatusOK, http.MethodPost, "/v1/patients/me/readings/batch", token,
			benchJSON(b, map[string]any{"readings": chunk}))
		took += d
		var res struct {
			Results []struct {
				ID, Status string
				Error      json.RawMessage
			}
		}
		benchDecode(b, "batch upload", body, &res)
		if len(res.Results) != len(chunk) {
			b.Fatalf("batch upload: %d results for %d readings", len(res.Results), len(chunk))
		}
		for i, r := range res.Results {
			if r.Status != string(services.ReadingCreated) || r.ID != chunk[i].ID {
				b.Fatalf("batch upload item %d (%+v): %s %s", i, chunk[i], r.Status, r.Error)
			}
		}
	}
	return len(all), float64(len(all)) / took.Seconds()
}

// benchAddMedications gives the measured patient three medicines starting
// today and logs taken the doses due within the next 11 hours (as early as
// a dose may be taken, with an hour to spare). It returns how many.
func benchAddMedications(b *testing.B, api benchAPI, token string, loc *time.Location) int {
	b.Helper()
	today := time.Now().In(loc).Format(models.LocalDateLayout)
	for _, m := range []map[string]any{
		{"name": "Amlodipine", "strength": "5 mg", "form": "tablet", "instructions": "One each morning",
			"schedule": models.Schedule{Times: []string{"08:00"}, StartDate: today},
			"stock":    models.Stock{Quantity: 56, UnitsPerDose: 1, RefillLeadDays: 7}},
		{"name": "Metformin", "strength": "500 mg", "form": "tablet", "instructions": "With breakfast and the evening meal",
			"schedule": models.Schedule{Times: []string{"08:00", "18:00"}, StartDate: today},
			"stock":    models.Stock{Quantity: 112, UnitsPerDose: 1, RefillLeadDays: 7}},
		{"name": "Atorvastatin", "strength": "20 mg", "form": "tablet", "instructions": "One at night",
			"schedule": models.Schedule{Times: []string{"21:00"}, StartDate: today}},
	} {
		api.must(b, http.StatusCreated, http.MethodPost, "/v1/patients/me/medications", token, benchJSON(b, m))
	}
	now := time.Now()
	body, _ := api.must(b, http.StatusOK, http.MethodGet, "/v1/patients/me/doses?"+url.Values{
		"from": {now.UTC().Format(time.RFC3339)}, "to": {now.Add(24 * time.Hour).UTC().Format(time.RFC3339)},
	}.Encode(), token, nil)
	var doses struct{ Items []models.Dose }
	benchDecode(b, "doses", body, &doses)
	if len(doses.Items) == 0 {
		b.Fatalf("no doses planned in the next 24 hours: %s", body)
	}
	taken := 0
	for _, d := range doses.Items {
		if d.ScheduledAt.After(now.Add(11 * time.Hour)) {
			continue
		}
		api.must(b, http.StatusOK, http.MethodPost, "/v1/patients/me/doses/"+url.PathEscape(d.ID)+"/taken", token, []byte("{}"))
		taken++
	}
	return taken
}
