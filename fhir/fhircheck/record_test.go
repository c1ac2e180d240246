package fhircheck

import (
	"bytes"
	"testing"
	"time"

	"github.com/concord-health/concord/fhir"
	"github.com/concord-health/concord/models"
)

// The record the tests export: a patient with an NHS number (the
// never-issued 999 range), a reading of every type and unit Concord
// accepts, medicines with and without a dm+d code (one stopped, one as
// needed), doses taken, skipped, missed and still pending, review flags
// live and resolved, and a pharmacy consent standing and one withdrawn.
var (
	exportNow = time.Date(2026, 11, 30, 18, 0, 0, 0, time.UTC)
	pharmacy  = models.Pharmacy{ID: "0f8fad5b-d9cb-469f-a165-70867728950e", ODSCode: "FA123", Name: "Riverside Pharmacy", Postcode: "LS1 4AP"}
	other     = models.Pharmacy{ID: "7c9e6679-7425-40de-944b-e07fc1f90ae7", ODSCode: "FQ987", Name: "Hilltop Chemist", Postcode: "LS6 2AB"}
	patientID = "9b2d6a44-8a43-4f7e-9c2a-6f1d2e3b4a5c"
)

func fp(v float64) *float64           { return &v }
func tp(t time.Time) *time.Time       { return &t }
func at(day, h, m int) time.Time      { return time.Date(2026, 11, day, h, m, 0, 0, time.UTC) }
func ms(t time.Time, n int) time.Time { return t.Add(time.Duration(n) * time.Millisecond) }

func recordPatient() models.User {
	return models.User{ID: patientID, Email: "ada@example.org", Name: "Ada Lovelace", Role: models.RolePatient,
		Timezone: "Europe/London", NHSNumber: "9990000018", CreatedAt: at(1, 9, 0)}
}

// recordReadings returns readings of every type and unit, normalised as
// the services store them (canonical values in the type's UCUM unit).
func recordReadings(t testing.TB) []models.Reading {
	t.Helper()
	raw := []models.Reading{
		{ID: "a1b2c3d4-0001-4000-8000-000000000001", Type: models.ReadingBloodPressure, Unit: "mmHg", Systolic: fp(138), Diastolic: fp(86), Pulse: fp(72), TakenAt: ms(at(29, 7, 30), 250)},
		{ID: "a1b2c3d4-0001-4000-8000-000000000002", Type: models.ReadingBloodPressure, Unit: "mm[Hg]", Systolic: fp(121), Diastolic: fp(79), TakenAt: at(29, 19, 0), Note: "after a walk"},
		{ID: "a1b2c3d4-0001-4000-8000-000000000003", Type: models.ReadingBloodGlucose, Unit: "mmol/L", Value: fp(6.2), Context: "fasting", TakenAt: at(28, 7, 0)},
		{ID: "a1b2c3d4-0001-4000-8000-000000000004", Type: models.ReadingBloodGlucose, Unit: "mg/dL", Value: fp(140), Context: "after meal", TakenAt: at(28, 13, 0)},
		{ID: "a1b2c3d4-0001-4000-8000-000000000005", Type: models.ReadingWeight, Unit: "kg", Value: fp(71.4), TakenAt: at(27, 8, 0)},
		{ID: "a1b2c3d4-0001-4000-8000-000000000006", Type: models.ReadingWeight, Unit: "lb", Value: fp(157), TakenAt: at(20, 8, 0)},
		{ID: "a1b2c3d4-0001-4000-8000-000000000007", Type: models.ReadingHeartRate, Unit: "bpm", Value: fp(64), TakenAt: at(27, 8, 5)},
		{ID: "a1b2c3d4-0001-4000-8000-000000000008", Type: models.ReadingSpO2, Unit: "%", Value: fp(96), TakenAt: at(27, 8, 6)},
		{ID: "a1b2c3d4-0001-4000-8000-000000000009", Type: models.ReadingPeakFlow, Unit: "L/min", Value: fp(410), TakenAt: at(26, 8, 0)},
		{ID: "a1b2c3d4-0001-4000-8000-00000000000a", Type: models.ReadingTemperature, Unit: "°C", Value: fp(37.2), TakenAt: at(25, 21, 0)},
		{ID: "a1b2c3d4-0001-4000-8000-00000000000b", Type: models.ReadingTemperature, Unit: "°F", Value: fp(99.5), TakenAt: at(25, 22, 0)},
	}
	out := make([]models.Reading, 0, len(raw))
	for _, r := range raw {
		if err := r.Normalize(exportNow); err != nil {
			t.Fatalf("reading %s: %v", r.ID, err)
		}
		r.PatientID, r.CreatedAt = patientID, r.TakenAt.Add(time.Minute)
		out = append(out, r)
	}
	// A reading the patient deleted: exported as entered-in-error.
	deleted := models.Reading{ID: "a1b2c3d4-0001-4000-8000-00000000000c", Type: models.ReadingHeartRate, Unit: "/min", Value: fp(190), TakenAt: at(24, 9, 0)}
	if err := deleted.Normalize(exportNow); err != nil {
		t.Fatal(err)
	}
	deleted.PatientID, deleted.CreatedAt, deleted.DeletedAt = patientID, at(24, 9, 1), tp(at(24, 9, 5))
	return append(out, deleted)
}

var (
	amlodipine = models.Medication{ID: "c0ffee00-0000-4000-8000-000000000001", PatientID: patientID, Name: "Amlodipine", Strength: "5 mg", Form: "tablets",
		Code: "319283006", Schedule: models.Schedule{Times: []string{"08:00"}, StartDate: "2026-11-01"}, Status: models.MedicationActive, CreatedAt: at(1, 9, 5)}
	metformin = models.Medication{ID: "c0ffee00-0000-4000-8000-000000000002", PatientID: patientID, Name: "Metformin", Strength: "500 mg", Form: "tablets",
		Instructions: "With food", Schedule: models.Schedule{Times: []string{"08:00", "18:00"}, DaysOfWeek: []string{"mon", "wed", "fri"}, StartDate: "2026-11-01", EndDate: "2027-02-01"},
		Status: models.MedicationActive, CreatedAt: at(1, 9, 6)}
	alendronate = models.Medication{ID: "c0ffee00-0000-4000-8000-000000000003", PatientID: patientID, Name: "Alendronic acid", Strength: "70 mg",
		Code: "39113611000001102", Schedule: models.Schedule{Times: []string{"07:00"}, EveryNDays: 7, StartDate: "2026-11-02"},
		Status: models.MedicationStopped, StoppedAt: tp(at(20, 10, 0)), CreatedAt: at(1, 9, 7)}
	salbutamol = models.Medication{ID: "c0ffee00-0000-4000-8000-000000000004", PatientID: patientID, Name: "Salbutamol", Strength: "100 micrograms/dose", Form: "inhaler",
		Schedule: models.Schedule{Times: []string{}, StartDate: "2026-11-01", AsNeeded: true}, Status: models.MedicationActive, CreatedAt: at(1, 9, 8)}
)

func recordMedications() []models.Medication {
	return []models.Medication{amlodipine, metformin, alendronate, salbutamol}
}

// recordDoses: taken (late, with a millisecond time), skipped with and
// without a reason, pending past its grace period (exported as missed),
// marked missed, pending in the future (not exported), and an as-needed
// dose taken.
func recordDoses() []models.Dose {
	dose := func(m models.Medication, day int, hm string, st models.DoseStatus) models.Dose {
		h, mi := int(hm[0]-'0')*10+int(hm[1]-'0'), int(hm[3]-'0')*10+int(hm[4]-'0')
		return models.Dose{ID: models.DoseID(m.ID, at(day, 0, 0).Format(time.DateOnly), hm), PatientID: patientID, MedicationID: m.ID,
			ScheduledAt: at(day, h, mi), LocalDate: at(day, 0, 0).Format(time.DateOnly), LocalTime: hm, Status: st, CreatedAt: at(day, 0, 0)}
	}
	taken := dose(amlodipine, 29, "08:00", models.DoseTaken)
	taken.TakenAt = tp(ms(at(29, 8, 40), 123))
	skipped := dose(metformin, 27, "08:00", models.DoseSkipped)
	skipped.SkipReason = "felt sick"
	skippedBare := dose(metformin, 27, "18:00", models.DoseSkipped)
	overdue := dose(amlodipine, 30, "08:00", models.DosePending)
	missed := dose(alendronate, 16, "07:00", models.DoseMissed)
	future := dose(amlodipine, 30, "20:00", models.DosePending)
	future.ScheduledAt = exportNow.Add(2 * time.Hour)
	prn, err := models.NewAsNeededDose("prn-1", patientID, salbutamol.ID, at(28, 15, 0), exportNow, time.UTC)
	if err != nil {
		panic(err)
	}
	return []models.Dose{taken, skipped, skippedBare, overdue, missed, future, prn}
}

func recordFlags() []struct {
	flag     models.Flag
	pharmacy *models.Pharmacy
} {
	live := models.Flag{ID: patientID + ":low_adherence:1", PatientID: patientID, PharmacyID: pharmacy.ID, Rule: models.RuleLowAdherence,
		Evidence: models.FlagEvidence{Criterion: "dose_adherence", Metric: "dose_adherence", Value: 0.62, Op: "<", Threshold: 0.8, Window: "P28D"},
		Status:   models.FlagOpen, CreatedAt: at(28, 6, 0)}
	resolved := models.Flag{ID: patientID + ":severe_reading:1", PatientID: patientID, PharmacyID: other.ID, Rule: models.RuleSevereReading,
		Evidence: models.FlagEvidence{Metric: "systolic", Value: 182, Op: ">=", Threshold: 180},
		Status:   models.FlagResolved, ResolvedAt: tp(at(12, 11, 0)), CreatedAt: at(12, 9, 0)}
	orphan := models.Flag{ID: patientID + ":low_adherence:0", PatientID: patientID, PharmacyID: "gone", Rule: models.RuleLowAdherence,
		Status: models.FlagClosed, ClosedAt: tp(at(3, 10, 0)), CreatedAt: at(2, 10, 0)}
	return []struct {
		flag     models.Flag
		pharmacy *models.Pharmacy
	}{{live, &pharmacy}, {resolved, &other}, {orphan, nil}}
}

func recordConsents() []struct {
	consent  models.Consent
	pharmacy models.Pharmacy
} {
	return []struct {
		consent  models.Consent
		pharmacy models.Pharmacy
	}{
		{models.Consent{ID: "5e1f0000-0000-4000-8000-000000000001", PatientID: patientID, PharmacyID: other.ID, GrantedBy: patientID,
			GrantedAt: at(2, 9, 0), TextVersion: "2026-10", WithdrawnAt: tp(at(14, 9, 0)), EndReason: "replaced"}, other},
		{models.Consent{ID: "5e1f0000-0000-4000-8000-000000000002", PatientID: patientID, PharmacyID: pharmacy.ID, GrantedBy: patientID,
			GrantedAt: at(14, 9, 0), TextVersion: "2026-10"}, pharmacy},
	}
}

// exportRecord writes the record through fhir.Encoder, in the order the
// export walks it (readings, medicines, doses, flags, consents).
func exportRecord(t testing.TB) []byte {
	t.Helper()
	var out bytes.Buffer
	enc, err := fhir.NewEncoder(&out, recordPatient(), fhir.Options{Now: exportNow, NHSNumber: recordPatient().NHSNumber})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recordReadings(t) {
		if err := enc.Reading(r); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range recordMedications() {
		if err := enc.Medication(m); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range recordDoses() {
		if err := enc.Dose(d); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range recordFlags() {
		if err := enc.Flag(f.flag, f.pharmacy); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range recordConsents() {
		if err := enc.Consent(c.consent, c.pharmacy); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestExportValidates checks the whole exported record with google/fhir:
// the Bundle as one resource, then every entry on its own (so a failure
// names the resource), and that every kind of record is there.
func TestExportValidates(t *testing.T) {
	b := exportRecord(t)
	mustValidate(t, "the export Bundle", b)
	bn, rs := readBundle(t, b)
	if bn.ResourceType != "Bundle" || bn.Type != "collection" {
		t.Errorf("Bundle %q of type %q, want a collection Bundle", bn.ResourceType, bn.Type)
	}
	count := map[string]int{}
	for i, r := range rs {
		kind := r["resourceType"].(string)
		count[kind]++
		mustValidate(t, kind+" "+r["id"].(string), bn.Entry[i].Resource)
	}
	// 12 readings (one deleted); 4 medicines; doses: taken, 2 skipped, overdue (missed),
	// missed, as-needed taken (the future one is not exported); 3 flags; 2
	// consents.
	want := map[string]int{"Patient": 1, "Observation": 12, "MedicationStatement": 4, "MedicationAdministration": 6, "Flag": 3, "Consent": 2}
	for kind, n := range want {
		if count[kind] != n {
			t.Errorf("%d %s resources, want %d (all: %v)", count[kind], kind, n, count)
		}
	}
	if len(count) != len(want) {
		t.Errorf("resource kinds %v, want %v", count, want)
	}
}
