package models_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
)

// The rule tests are worked by hand around one moment: now = Tuesday
// 2026-03-10 12:00 UTC, a patient in Europe/London (GMT, so local = UTC),
// grace 2 hours. Each rule is run alone (EvaluateFlags(in, rule)) so one
// case tests one rule; at its threshold it fires and just short of it not.
var (
	flagNow    = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	flagLondon = mustZone("Europe/London")
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func flagInput() models.FlagInput {
	return models.FlagInput{Now: flagNow, Location: flagLondon, DoseGrace: 2 * time.Hour}
}

// daily is an active medicine taken at 08:00 every day from start.
func daily(id, start string) models.Medication {
	return models.Medication{ID: id, PatientID: "p1", Name: "Medicine " + id, Status: models.MedicationActive,
		Schedule: models.Schedule{Times: []string{"08:00"}, StartDate: start}, UpdatedAt: flagNow.Add(-48 * time.Hour)}
}

// dosesOf returns the 08:00 doses of med on the days before flagNow given
// by statuses, oldest first: statuses[len-1] is today's 08:00 dose
// (2026-03-10, 4 hours ago, past its grace), the one before it yesterday's.
func dosesOf(med string, statuses ...models.DoseStatus) []models.Dose {
	var out []models.Dose
	for i, st := range statuses {
		day := len(statuses) - 1 - i
		at := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC).AddDate(0, 0, -day)
		d := models.Dose{ID: models.DoseID(med, at.Format(models.LocalDateLayout), "08:00"), PatientID: "p1", MedicationID: med,
			ScheduledAt: at, LocalDate: at.Format(models.LocalDateLayout), LocalTime: "08:00", Status: st}
		if st == models.DoseTaken {
			t := at.Add(5 * time.Minute)
			d.TakenAt = &t
		}
		out = append(out, d)
	}
	return out
}

func repeat(st models.DoseStatus, n int) []models.DoseStatus {
	out := make([]models.DoseStatus, n)
	for i := range out {
		out[i] = st
	}
	return out
}

func concat(parts ...[]models.DoseStatus) []models.DoseStatus {
	var out []models.DoseStatus
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestLowAdherenceRule: 28-day dose adherence below 80% with at least 14
// doses due.
//
//	14 due, 11 taken, 3 missed: 11/14 = 0.7857 < 0.8            → fires
//	15 due, 12 taken:            12/15 = 0.8, not below          → no
//	13 due, 0 taken:             below, but only 13 due (< 14)   → no
//	14 due, 11 taken, 3 skipped: skipped is not taken, 0.7857    → fires
//	20 due with 6 of them 28+ days old (outside the window):
//	  in the window 14 due, 11 taken                             → fires
//	   (the window is (now − 28 days, now]; day 28 back is out)
func TestLowAdherenceRule(t *testing.T) {
	t.Parallel()
	T, M, S := models.DoseTaken, models.DoseMissed, models.DoseSkipped
	// Missed doses spread out, so that no missed streak hides the rule.
	spread := func(taken, other int, st models.DoseStatus) []models.DoseStatus {
		var out []models.DoseStatus
		for i, n := 0, taken+other; i < n; i++ {
			if i%4 == 1 && other > 0 {
				out = append(out, st)
				other--
				continue
			}
			out = append(out, T)
		}
		return out
	}
	fired := func(due, taken, skipped, missed int) []models.FlagFiring {
		return []models.FlagFiring{{Rule: models.RuleLowAdherence, Severity: models.SeverityModerate, Service: models.ServiceSMRReferral,
			Key: "low_adherence", RearmDays: 28,
			Evidence: models.FlagEvidence{Criterion: "low_adherence", Metric: "dose_adherence", Value: 0.7857, Op: "<", Threshold: 0.8, Window: "P28D",
				Details: map[string]string{"due": fmt.Sprint(due), "taken": fmt.Sprint(taken), "skipped": fmt.Sprint(skipped), "missed": fmt.Sprint(missed)}}}}
	}
	// 34 days of doses with the 14 of days 27..14 back left out: 6 missed
	// 28 to 33 days back (outside the window), then 14 in the last 14 days.
	all := dosesOf("a", concat(repeat(M, 6), repeat(T, 14), spread(11, 3, M))...)
	outside := append(all[:6:6], all[20:]...)
	tests := []struct {
		name  string
		doses []models.Dose
		want  []models.FlagFiring
	}{
		{"11 of 14 taken", dosesOf("a", spread(11, 3, M)...), fired(14, 11, 0, 3)},
		{"12 of 15 taken is 80%", dosesOf("a", spread(12, 3, M)...), nil},
		{"13 due is too few", dosesOf("a", repeat(M, 13)...), nil},
		{"3 skipped", dosesOf("a", spread(11, 3, S)...), fired(14, 11, 3, 0)},
		{"doses 28 days old and more are out of the window", outside, fired(14, 11, 0, 3)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := flagInput()
			in.Medications = []models.Medication{daily("a", "2026-01-01")}
			in.Doses = tc.doses
			got := models.EvaluateFlags(in, models.RuleLowAdherence)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("firings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMissedStreakRule: 3 missed doses in a row of one medicine.
func TestMissedStreakRule(t *testing.T) {
	t.Parallel()
	T, M, P, S := models.DoseTaken, models.DoseMissed, models.DosePending, models.DoseSkipped
	fired := func(med string, n int, first, last models.Dose) []models.FlagFiring {
		return []models.FlagFiring{{Rule: models.RuleMissedStreak, Severity: models.SeverityHigh, Service: models.ServiceAdherenceSupport, Key: first.ID,
			Evidence: models.FlagEvidence{Criterion: "missed_streak", Metric: "consecutive_missed_doses", Value: float64(n), Op: ">=", Threshold: 3, Window: "P28D",
				Details: map[string]string{"medicationId": med, "medicationName": "Medicine " + med, "firstMissedDoseId": first.ID,
					"lastMissedDoseId": last.ID, "lastMissedAt": last.ScheduledAt.Format(time.RFC3339)}}}}
	}
	a := dosesOf("a", T, M, M, M)
	// Today's dose pending but past its grace counts as missed.
	aPending := dosesOf("a", T, M, M, P)
	b := dosesOf("b", M, M, M, M)
	tests := []struct {
		name  string
		meds  []models.Medication
		doses []models.Dose
		want  []models.FlagFiring
	}{
		{"taken then 3 missed", []models.Medication{daily("a", "2026-01-01")}, a, fired("a", 3, a[1], a[3])},
		{"2 missed", []models.Medication{daily("a", "2026-01-01")}, dosesOf("a", T, T, M, M), nil},
		{"3 missed then taken", []models.Medication{daily("a", "2026-01-01")}, dosesOf("a", M, M, M, T), nil},
		{"3 missed then skipped", []models.Medication{daily("a", "2026-01-01")}, dosesOf("a", M, M, M, S), nil},
		{"overdue pending counts as missed", []models.Medication{daily("a", "2026-01-01")}, aPending, fired("a", 3, aPending[1], aPending[3])},
		{"the longest streak of two medicines", []models.Medication{daily("a", "2026-01-01"), daily("b", "2026-01-01")},
			append(append([]models.Dose{}, a...), b...), fired("b", 4, b[0], b[3])},
		{"2 and 2 of two medicines do not add up", []models.Medication{daily("a", "2026-01-01"), daily("b", "2026-01-01")},
			append(dosesOf("a", T, M, M), dosesOf("b", T, M, M)...), nil},
		{"a stopped medicine", []models.Medication{stopped(daily("a", "2026-01-01"))}, a, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := flagInput()
			in.Medications, in.Doses = tc.meds, tc.doses
			got := models.EvaluateFlags(in, models.RuleMissedStreak)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("firings (-want +got):\n%s", diff)
			}
		})
	}
	// A dose still within its grace period neither counts nor breaks it:
	// at 09:00 today's 08:00 dose is not due yet.
	in := flagInput()
	in.Now = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	in.Medications = []models.Medication{daily("a", "2026-01-01")}
	in.Doses = dosesOf("a", T, M, M, M, P)
	got := models.EvaluateFlags(in, models.RuleMissedStreak)
	if len(got) != 1 || got[0].Evidence.Value != 3 {
		t.Errorf("with a pending dose in grace: %+v, want a streak of 3", got)
	}
}

func stopped(m models.Medication) models.Medication {
	at := flagNow.Add(-time.Hour)
	m.Status, m.StoppedAt = models.MedicationStopped, &at
	return m
}

// TestNewMedicineRule: a medicine started 7 to 14 days ago (local dates;
// today is 2026-03-10).
func TestNewMedicineRule(t *testing.T) {
	t.Parallel()
	fired := func(id, start string, days float64) []models.FlagFiring {
		return []models.FlagFiring{{Rule: models.RuleNewMedicine, Severity: models.SeverityLow, Service: models.ServiceNMS, Key: id,
			Evidence: models.FlagEvidence{Criterion: "new_medicine", Metric: "days_since_start", Value: days, Op: ">=", Threshold: 7, Window: "P14D",
				Details: map[string]string{"medicationId": id, "medicationName": "Medicine " + id, "startDate": start}}}}
	}
	tests := []struct {
		name string
		meds []models.Medication
		want []models.FlagFiring
	}{
		{"started 6 days ago", []models.Medication{daily("a", "2026-03-04")}, nil},
		{"started 7 days ago", []models.Medication{daily("a", "2026-03-03")}, fired("a", "2026-03-03", 7)},
		{"started 14 days ago", []models.Medication{daily("a", "2026-02-24")}, fired("a", "2026-02-24", 14)},
		{"started 15 days ago", []models.Medication{daily("a", "2026-02-23")}, nil},
		{"starts next week", []models.Medication{daily("a", "2026-03-17")}, nil},
		{"stopped", []models.Medication{stopped(daily("a", "2026-03-03"))}, nil},
		{"the one started first of two", []models.Medication{daily("a", "2026-03-02"), daily("b", "2026-02-28")}, fired("b", "2026-02-28", 10)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := flagInput()
			in.Medications = tc.meds
			got := models.EvaluateFlags(in, models.RuleNewMedicine)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("firings (-want +got):\n%s", diff)
			}
		})
	}
}

// reading returns a normalised, classified reading taken ago before flagNow.
func reading(id string, typ models.ReadingType, ago time.Duration, values ...float64) models.Reading {
	r := models.Reading{ID: id, PatientID: "p1", Type: typ, TakenAt: flagNow.Add(-ago), Canonical: models.ReadingCanonical{Unit: typ.CanonicalUnit()}}
	if typ == models.ReadingBloodPressure {
		r.Canonical.Systolic, r.Canonical.Diastolic = &values[0], &values[1]
	} else {
		r.Canonical.Value = &values[0]
	}
	r.Band, r.Rule, _ = models.Classify(&r, models.CarePlanTargets{})
	return r
}

// TestSevereReadingRule: a reading in a severe band in the last 7 days, or
// two glucose readings below 4.0 mmol/L in the last 7 days.
func TestSevereReadingRule(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	bp := reading("r-bp", models.ReadingBloodPressure, 2*day, 182, 100)         // systolic ≥ 180: severe
	bpHigh := reading("r-bp2", models.ReadingBloodPressure, day, 179, 119)      // stage 2, not severe
	old := reading("r-old", models.ReadingBloodPressure, 7*day, 190, 100)       // exactly 7 days ago: out
	hypo1 := reading("r-h1", models.ReadingBloodGlucose, 3*day, 3.9)            // hypo, not severe
	hypo2 := reading("r-h2", models.ReadingBloodGlucose, day, 3.5)              // hypo
	notHypo := reading("r-h3", models.ReadingBloodGlucose, 2*day, 4.0)          // 4.0 is not below 4.0
	hypoOld := reading("r-h4", models.ReadingBloodGlucose, 8*day, 3.2)          // outside the window
	severeHypo := reading("r-sh", models.ReadingBloodGlucose, 4*time.Hour, 2.8) // below 3.0: severe
	severe := func(r models.Reading, n float64, ids string) []models.FlagFiring {
		return []models.FlagFiring{{Rule: models.RuleSevereReading, Severity: models.SeveritySevere, Service: models.ServiceUrgentAdvice, Key: "reading:" + r.ID,
			Evidence: models.FlagEvidence{Criterion: "severe_reading", Metric: "severe_readings", Value: n, Op: ">=", Threshold: 1, Window: "P7D",
				Details: map[string]string{"readingId": r.ID, "readingType": string(r.Type), "band": r.Band, "bandRule": r.Rule,
					"takenAt": r.TakenAt.Format(time.RFC3339), "readingIds": ids}}}}
	}
	hypos := func(latest models.Reading, n float64, ids string) []models.FlagFiring {
		return []models.FlagFiring{{Rule: models.RuleSevereReading, Severity: models.SeveritySevere, Service: models.ServiceUrgentAdvice, Key: "hypo:" + latest.ID,
			Evidence: models.FlagEvidence{Criterion: "recurrent_hypo", Metric: "hypo_readings", Value: n, Op: ">=", Threshold: 2, Window: "P7D",
				Details: map[string]string{"readingId": latest.ID, "readingIds": ids, "takenAt": latest.TakenAt.Format(time.RFC3339)}}}}
	}
	tests := []struct {
		name     string
		readings []models.Reading
		want     []models.FlagFiring
	}{
		{"a severe BP", []models.Reading{bpHigh, bp}, severe(bp, 1, "r-bp")},
		{"179/119 is not severe", []models.Reading{bpHigh}, nil},
		{"a severe BP 7 days ago is out", []models.Reading{old}, nil},
		{"one hypo", []models.Reading{hypo1, notHypo}, nil},
		{"two hypos in 7 days", []models.Reading{hypo1, notHypo, hypo2}, hypos(hypo2, 2, "r-h2,r-h1")},
		{"two hypos 8 days apart", []models.Reading{hypoOld, hypo2}, nil},
		{"a severe hypo is severe (and a hypo)", []models.Reading{hypo1, severeHypo}, severe(severeHypo, 1, "r-sh")},
		{"severe readings first, newest named", []models.Reading{bp, hypo1, hypo2, severeHypo}, severe(severeHypo, 2, "r-sh,r-bp")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := flagInput()
			in.Readings = tc.readings
			got := models.EvaluateFlags(in, models.RuleSevereReading)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("firings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRunningOutRule: stock gone, or lasting 3 days or less at the
// schedule's rate (today is 2026-03-10).
func TestRunningOutRule(t *testing.T) {
	t.Parallel()
	withStock := func(m models.Medication, qty, perDose float64) models.Medication {
		m.Stock = &models.Stock{Quantity: qty, UnitsPerDose: perDose, RefillLeadDays: 7}
		return m
	}
	twice := daily("b", "2026-01-01")
	twice.Schedule.Times = []string{"08:00", "20:00"}
	asNeeded := daily("c", "2026-01-01")
	asNeeded.Schedule = models.Schedule{AsNeeded: true, StartDate: "2026-01-01"}
	fired := func(m models.Medication, days float64, qty, runOut string) []models.FlagFiring {
		return []models.FlagFiring{{Rule: models.RuleRunningOut, Severity: models.SeverityHigh, Service: models.ServiceMedicineSupply,
			Key: m.ID + "@" + fmt.Sprint(m.UpdatedAt.UnixMilli()),
			Evidence: models.FlagEvidence{Criterion: "running_out", Metric: "days_of_stock_left", Value: days, Op: "<=", Threshold: 3, Window: "P3D",
				Details: map[string]string{"medicationId": m.ID, "medicationName": m.Name, "quantity": qty, "runOutDate": runOut}}}}
	}
	tests := []struct {
		name string
		meds []models.Medication
		want []models.FlagFiring
	}{
		{"3 days left", []models.Medication{withStock(daily("a", "2026-01-01"), 3, 1)}, fired(daily("a", ""), 3, "3", "2026-03-13")},
		{"4 days left", []models.Medication{withStock(daily("a", "2026-01-01"), 4, 1)}, nil},
		{"gone", []models.Medication{withStock(daily("a", "2026-01-01"), 0, 1)}, fired(daily("a", ""), 0, "0", "2026-03-10")},
		{"twice a day, 7 left is 3.5 days", []models.Medication{withStock(twice, 7, 1)}, nil},
		{"twice a day, 6 left is 3 days", []models.Medication{withStock(twice, 6, 1)}, fired(twice, 3, "6", "2026-03-13")},
		{"two a dose, 5 left is 2.5 days", []models.Medication{withStock(daily("a", "2026-01-01"), 5, 2)}, fired(daily("a", ""), 2.5, "5", "2026-03-12")},
		{"as needed and gone", []models.Medication{withStock(asNeeded, 0, 1)}, fired(asNeeded, 0, "0", "2026-03-10")},
		{"as needed with some left", []models.Medication{withStock(asNeeded, 5, 1)}, nil},
		{"no stock recorded", []models.Medication{daily("a", "2026-01-01")}, nil},
		{"stopped and gone", []models.Medication{stopped(withStock(daily("a", "2026-01-01"), 0, 1))}, nil},
		{"the soonest of two", []models.Medication{withStock(daily("a", "2026-01-01"), 3, 1), withStock(twice, 4, 1)}, fired(twice, 2, "4", "2026-03-12")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := flagInput()
			in.Medications = tc.meds
			got := models.EvaluateFlags(in, models.RuleRunningOut)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("firings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEvaluateFlagsAllRules: with no rule named every rule runs, and the
// firings come in FlagRuleIDs order.
func TestEvaluateFlagsAllRules(t *testing.T) {
	t.Parallel()
	in := flagInput()
	a := daily("a", "2026-03-01") // 9 days ago: new
	a.Stock = &models.Stock{Quantity: 1, UnitsPerDose: 1}
	in.Medications = []models.Medication{a}
	in.Doses = dosesOf("a", models.DoseMissed, models.DoseMissed, models.DoseMissed)
	in.Readings = []models.Reading{reading("r1", models.ReadingSpO2, time.Hour, 90)}
	var got []models.FlagRuleID
	for _, f := range models.EvaluateFlags(in) {
		got = append(got, f.Rule)
	}
	// Adherence 0/3 is low but only 3 doses were due: no low_adherence.
	want := []models.FlagRuleID{models.RuleSevereReading, models.RuleRunningOut, models.RuleMissedStreak, models.RuleNewMedicine}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rules fired (-want +got):\n%s", diff)
	}
}

// TestFlagRulesTable: every rule has criteria with a severity, a service, a
// window and a source, and a rule's criteria agree on severity and service.
func TestFlagRulesTable(t *testing.T) {
	t.Parallel()
	for _, rule := range models.FlagRuleIDs {
		cs := models.FlagRuleCriteria(rule)
		if len(cs) == 0 {
			t.Errorf("%s has no criteria", rule)
		}
		for _, c := range cs {
			if !c.Severity.Valid() || c.Severity == models.SeverityNone || c.Service == "" || c.WindowDays < 1 || c.Source == "" || c.Name == "" {
				t.Errorf("%s: incomplete row %+v", rule, c)
			}
			if c.Severity != cs[0].Severity || c.Service != cs[0].Service {
				t.Errorf("%s: criteria disagree on severity or service", rule)
			}
		}
	}
	if got := models.FlagWindowDays(); got != 28 {
		t.Errorf("FlagWindowDays = %d, want 28", got)
	}
}

// TestReadingIsHypo: a hypo is a glucose reading below 4.0 mmol/L
// (canonical, so 70 mg/dL = 3.89 mmol/L is one), whatever its band or the
// patient's targets; nothing else is.
func TestReadingIsHypo(t *testing.T) {
	t.Parallel()
	mgdl := func(v float64) models.Reading {
		t.Helper()
		r := models.Reading{ID: "0b5e6c1e-8d3a-4f7e-9c2a-6f1d2e3b4a5c", PatientID: "p1", Type: models.ReadingBloodGlucose, Unit: "mg/dL", Value: &v, TakenAt: flagNow.Add(-time.Hour)}
		if err := r.Normalize(flagNow); err != nil {
			t.Fatal(err)
		}
		return r
	}
	personalLow := 4.5
	belowPersonalLow := reading("r-low", models.ReadingBloodGlucose, time.Hour, 4.2)
	belowPersonalLow.Band, belowPersonalLow.Rule, _ = models.Classify(&belowPersonalLow, models.CarePlanTargets{GlucoseLow: &personalLow})
	tests := []struct {
		name    string
		reading models.Reading
		want    bool
	}{
		{"3.9 mmol/L", reading("r1", models.ReadingBloodGlucose, time.Hour, 3.9), true},
		{"a severe hypo, 2.8 mmol/L", reading("r2", models.ReadingBloodGlucose, time.Hour, 2.8), true},
		{"4.0 mmol/L is not below 4.0", reading("r3", models.ReadingBloodGlucose, time.Hour, 4.0), false},
		{"70 mg/dL", mgdl(70), true},
		{"73 mg/dL (4.05 mmol/L)", mgdl(73), false},
		{"4.2 mmol/L below a personal low of 4.5", belowPersonalLow, false},
		{"SpO2 3", reading("r4", models.ReadingSpO2, time.Hour, 3), false},
		{"glucose with no value", models.Reading{Type: models.ReadingBloodGlucose}, false},
	}
	for _, tc := range tests {
		if got := tc.reading.IsHypo(); got != tc.want {
			t.Errorf("%s: IsHypo = %v, want %v", tc.name, got, tc.want)
		}
	}
}
