package services_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/push/fcmfake"
	"github.com/concord-health/concord/services"
)

// carerWorld is Ann, a patient, and four carers with a device each:
// scoped (missed_dose_alerts and reading_alerts, quiet hours 22:00–07:00),
// paused and revoked (every scope, but paused or revoked), and unscoped
// (view_summary only); alerts go through the outbox and the real Firebase
// SDK to the fake FCM server.
type carerWorld struct {
	*pushEnv
	patient  models.User
	planner  *services.DosePlanner
	meds     *services.Medications
	readings *services.Readings
	alerts   *services.CarerAlerts
	tokens   map[string]string // carer id → device token
}

func newCarerWorld(t *testing.T) *carerWorld {
	t.Helper()
	e := newPushEnv(t)
	ctx := context.Background()
	w := &carerWorld{pushEnv: e, tokens: map[string]string{}}
	w.patient = models.User{ID: "ann", Email: "ann@example.org", Name: "Ann Example", Role: models.RolePatient, Timezone: "Europe/London",
		CreatedAt: pushStart, UpdatedAt: pushStart}
	if err := e.st.Users().Create(ctx, w.patient); err != nil {
		t.Fatal(err)
	}
	care := e.graph.Care
	all := models.CareScopes
	carers := []struct {
		id     string
		scopes []models.CareScope
		prefs  models.Preferences
	}{
		{"scoped", []models.CareScope{models.ScopeMissedDoseAlerts, models.ScopeReadingAlerts}, models.Preferences{QuietHours: &models.QuietHours{Start: "22:00", End: "07:00"}}},
		{"paused", all, models.Preferences{}},
		{"revoked", all, models.Preferences{}},
		{"unscoped", []models.CareScope{models.ScopeViewSummary}, models.Preferences{}},
	}
	for _, c := range carers {
		u := models.User{ID: c.id, Email: c.id + "@example.org", Name: "Carer " + c.id, Role: models.RoleCarer, Timezone: "Europe/London",
			Preferences: c.prefs, CreatedAt: pushStart, UpdatedAt: pushStart}
		if err := e.st.Users().Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		inv, err := care.Invite(ctx, w.patient.ID, c.scopes, "")
		if err != nil {
			t.Fatal(err)
		}
		link, _, err := care.Accept(ctx, u.ID, inv.Code)
		if err != nil {
			t.Fatal(err)
		}
		switch c.id {
		case "paused":
			if _, err := care.UpdateLink(ctx, w.patient.ID, link.ID, services.LinkChange{Paused: ptr(true)}, nil); err != nil {
				t.Fatal(err)
			}
		case "revoked":
			if err := care.RevokeLink(ctx, w.patient.ID, link.ID, nil); err != nil {
				t.Fatal(err)
			}
		}
		w.tokens[c.id] = "token-of-" + c.id + "-0123456789"
		d, _, err := e.devices.Register(ctx, models.Principal{UserID: u.ID, Role: models.RoleCarer}, w.tokens[c.id], models.PlatformAndroid)
		if err != nil {
			t.Fatal(err)
		}
		_ = d
	}
	w.planner, w.meds, w.readings, w.alerts = e.graph.Planner, e.graph.Medications, e.graph.Readings, e.graph.CarerAlerts
	return w
}

// pushesTo counts the fake's accepted messages per carer.
func (w *carerWorld) pushesTo(fake *fcmfake.Server) map[string]int {
	out := map[string]int{}
	for carer, token := range w.tokens {
		if n := len(fake.MessagesFor(token)); n > 0 {
			out[carer] = n
		}
	}
	return out
}

// checkNoHealthData fails if a push carries more than the first name.
func checkNoHealthData(t *testing.T, m fcmfake.Message, forbidden ...string) {
	t.Helper()
	text := m.Title + " " + m.Body
	for k, v := range m.Data {
		text += " " + k + "=" + v
	}
	for _, s := range forbidden {
		if strings.Contains(text, s) {
			t.Errorf("push %q / %q / %v contains %q", m.Title, m.Body, m.Data, s)
		}
	}
	for k := range m.Data {
		if k != models.DataNotificationID && k != models.DataKind && k != models.DataPatientID {
			t.Errorf("push data carries %q", k)
		}
	}
}

// TestCarerMissedDoseAlert: a dose marked missed reaches the carer with
// missed_dose_alerts exactly once, through FCM, naming the patient by first
// name only; paused, revoked and unscoped carers hear nothing.
func TestCarerMissedDoseAlert(t *testing.T) {
	t.Parallel()
	w := newCarerWorld(t)
	ctx := context.Background()
	if _, _, err := w.meds.Create(ctx, w.patient, services.NewMedication{Name: "Warfarin", Strength: "3 mg",
		Schedule: models.Schedule{Times: []string{"10:00"}, StartDate: "2026-11-24"}}); err != nil {
		t.Fatal(err)
	}
	w.clock.Set(time.Date(2026, 11, 24, 12, 1, 0, 0, time.UTC)) // 10:00 + 2 h grace has passed
	missed, err := w.planner.MarkMissed(ctx, w.patient, w.clock.Now())
	if err != nil || len(missed) != 1 {
		t.Fatalf("mark missed: %d doses, %v", len(missed), err)
	}
	// Told twice (a retried scheduler step): one alert.
	for range 2 {
		if err := w.alerts.AlertMissedDoses(ctx, w.patient, missed, w.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	w.tick(t)
	w.clock.Advance(time.Minute)
	w.tick(t)
	if diff := cmp.Diff(map[string]int{"scoped": 1}, w.pushesTo(w.fake)); diff != "" {
		t.Errorf("pushes per carer (-want +got):\n%s", diff)
	}
	msgs := w.fake.MessagesFor(w.tokens["scoped"])
	if len(msgs) != 1 {
		t.Fatalf("%d pushes to the scoped carer", len(msgs))
	}
	m := msgs[0]
	want := map[string]string{models.DataNotificationID: models.CarerMissedDoseAlertID(missed[0].ID, "scoped"),
		models.DataKind: string(models.KindCarerMissedDose), models.DataPatientID: w.patient.ID}
	if m.Title != "Missed dose" || m.Body != "Ann missed a dose" || !cmp.Equal(want, m.Data) {
		t.Errorf("push %q / %q / %v", m.Title, m.Body, m.Data)
	}
	checkNoHealthData(t, m, "Warfarin", "3 mg", "Example")
	if strings.Contains(m.Title+m.Body, "10:00") {
		t.Errorf("push text names the dose time: %q / %q", m.Title, m.Body)
	}

	// A dose missed longer ago than MaxMissedDoseAlertAge is not alerted.
	old := missed[0]
	old.ID = "old-dose"
	old.ScheduledAt = w.clock.Now().Add(-2*time.Hour - services.MaxMissedDoseAlertAge - time.Minute)
	if err := w.alerts.AlertMissedDoses(ctx, w.patient, []models.Dose{old}, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.Notifications().Get(ctx, models.CarerMissedDoseAlertID("old-dose", "scoped")); models.ErrorCode(err) != models.CodeNotFound {
		t.Errorf("alert for a dose missed 12+ hours ago: %v", err)
	}
}

// TestCarerAlertsQuietHours: at 23:30 a missed-dose alert waits for the end
// of the carer's quiet hours (07:00); a severe reading's alert is pushed at
// once, urgent, and only to the carer with reading_alerts.
func TestCarerAlertsQuietHours(t *testing.T) {
	t.Parallel()
	w := newCarerWorld(t)
	ctx := context.Background()
	night := time.Date(2026, 11, 24, 23, 30, 0, 0, time.UTC)
	w.clock.Set(night)
	dose := models.Dose{ID: "med1:2026-11-24T21:00", PatientID: w.patient.ID, MedicationID: "med1", ScheduledAt: night.Add(-150 * time.Minute),
		LocalDate: "2026-11-24", LocalTime: "21:00", Status: models.DoseMissed}
	if err := w.alerts.AlertMissedDoses(ctx, w.patient, []models.Dose{dose}, night); err != nil {
		t.Fatal(err)
	}
	w.tick(t)
	if got := w.pushesTo(w.fake); len(got) != 0 {
		t.Errorf("pushes during quiet hours: %v", got)
	}

	sys, dia := 185.0, 100.0
	r, created, err := w.readings.Create(ctx, w.patient, models.Reading{Type: models.ReadingBloodPressure, Unit: "mm[Hg]",
		Systolic: &sys, Diastolic: &dia, TakenAt: night.Add(-time.Minute)})
	if err != nil || !created || !r.IsSevere() {
		t.Fatalf("reading: %v %v severe=%v", created, err, r.IsSevere())
	}
	// A normal reading alerts nobody.
	sys2, dia2 := 120.0, 80.0
	if _, _, err := w.readings.Create(ctx, w.patient, models.Reading{Type: models.ReadingBloodPressure, Unit: "mm[Hg]",
		Systolic: &sys2, Diastolic: &dia2, TakenAt: night.Add(-2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	w.tick(t)
	if diff := cmp.Diff(map[string]int{"scoped": 1}, w.pushesTo(w.fake)); diff != "" {
		t.Errorf("pushes after a severe reading at night (-want +got):\n%s", diff)
	}
	msgs := w.fake.MessagesFor(w.tokens["scoped"])
	if len(msgs) != 1 {
		t.Fatalf("%d pushes", len(msgs))
	}
	m := msgs[0]
	if m.Body != "Ann logged a reading that needs attention" || m.Data[models.DataKind] != string(models.KindCarerSevereReading) || m.AndroidPriority != "high" {
		t.Errorf("severe push %q kind %q priority %q", m.Body, m.Data[models.DataKind], m.AndroidPriority)
	}
	checkNoHealthData(t, m, "185", "100", "mm[Hg]", "Example", "blood")

	// At 07:00 the missed-dose alert goes.
	w.clock.Set(time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC))
	w.tick(t)
	if diff := cmp.Diff(map[string]int{"scoped": 2}, w.pushesTo(w.fake)); diff != "" {
		t.Errorf("pushes after quiet hours (-want +got):\n%s", diff)
	}
	if last := w.fake.MessagesFor(w.tokens["scoped"])[1]; last.Body != "Ann missed a dose" {
		t.Errorf("second push %q", last.Body)
	}
}

// severeBP is a blood pressure in the severe band (systolic ≥ 180), taken
// at takenAt, with a new id.
func severeBP(takenAt time.Time) models.Reading {
	sys, dia := 185.0, 100.0
	return models.Reading{Type: models.ReadingBloodPressure, Unit: "mm[Hg]", Systolic: &sys, Diastolic: &dia, TakenAt: takenAt}
}

// TestCarerSevereReadingsCoalesce: a batch of MaxReadingBatch severe
// readings alerts each carer with reading_alerts once, not once a reading;
// more severe readings in the same hour add nothing; the first severe
// reading of the next hour alerts again, at once.
func TestCarerSevereReadingsCoalesce(t *testing.T) {
	t.Parallel()
	w := newCarerWorld(t)
	ctx := context.Background()
	now := w.clock.Now()
	batch := make([]models.Reading, services.MaxReadingBatch)
	for i := range batch {
		batch[i] = severeBP(now.Add(-time.Duration(i) * time.Second))
	}
	results, err := w.readings.CreateBatch(ctx, w.patient, batch)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Status != services.ReadingCreated || !r.Reading.IsSevere() {
			t.Fatalf("batch reading %s: %s, severe=%v", r.ID, r.Status, r.Reading != nil && r.Reading.IsSevere())
		}
	}
	w.tick(t)
	w.tick(t)
	if diff := cmp.Diff(map[string]int{"scoped": 1}, w.pushesTo(w.fake)); diff != "" {
		t.Errorf("pushes after a batch of %d severe readings (-want +got):\n%s", len(batch), diff)
	}
	if _, err := w.st.Notifications().Get(ctx, models.CarerSevereReadingAlertID(w.patient.ID, "scoped", now)); err != nil {
		t.Errorf("the alert is not under its dedupe key: %v", err)
	}

	// Later in the hour, another severe reading: nothing new.
	w.clock.Advance(40 * time.Minute)
	if _, _, err := w.readings.Create(ctx, w.patient, severeBP(w.clock.Now().Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	w.tick(t)
	if diff := cmp.Diff(map[string]int{"scoped": 1}, w.pushesTo(w.fake)); diff != "" {
		t.Errorf("pushes after another severe reading within the hour (-want +got):\n%s", diff)
	}

	// The next hour, a single severe reading alerts on the next tick.
	w.clock.Advance(30 * time.Minute)
	if _, _, err := w.readings.Create(ctx, w.patient, severeBP(w.clock.Now().Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	w.tick(t)
	if diff := cmp.Diff(map[string]int{"scoped": 2}, w.pushesTo(w.fake)); diff != "" {
		t.Errorf("pushes after a severe reading the next hour (-want +got):\n%s", diff)
	}
}

// TestCarerAlertsSkipOldReadings: a severe reading taken more than
// MaxSevereReadingAlertAge before it is stored (uploaded late) alerts no
// carer; one taken just within it does.
func TestCarerAlertsSkipOldReadings(t *testing.T) {
	t.Parallel()
	w := newCarerWorld(t)
	ctx := context.Background()
	now := w.clock.Now()
	old := severeBP(now.Add(-services.MaxSevereReadingAlertAge - time.Minute))
	if r, created, err := w.readings.Create(ctx, w.patient, old); err != nil || !created || !r.IsSevere() {
		t.Fatalf("old reading: %v %v severe=%v", created, err, r.IsSevere())
	}
	w.tick(t)
	if got := w.pushesTo(w.fake); len(got) != 0 {
		t.Errorf("pushes for a reading taken %v before it was stored: %v", services.MaxSevereReadingAlertAge+time.Minute, got)
	}
	if _, err := w.st.Notifications().Get(ctx, models.CarerSevereReadingAlertID(w.patient.ID, "scoped", now)); !models.IsCode(err, models.CodeNotFound) {
		t.Errorf("alert for an old reading: %v, want not_found", err)
	}

	recent := severeBP(now.Add(-services.MaxSevereReadingAlertAge + time.Minute))
	if _, _, err := w.readings.Create(ctx, w.patient, recent); err != nil {
		t.Fatal(err)
	}
	w.tick(t)
	if diff := cmp.Diff(map[string]int{"scoped": 1}, w.pushesTo(w.fake)); diff != "" {
		t.Errorf("pushes for a reading taken within the cut-off (-want +got):\n%s", diff)
	}
}
