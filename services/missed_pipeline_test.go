package services_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/internal/graphtest"
	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/push/fcmfake"
	"github.com/concord-health/concord/services"
)

// missedPipeline is the missed-dose pipeline end to end, wired as run()
// wires it (graphtest): Reminders that pass missed doses to
// carerAlerts.AlertMissedDoses and flags.OnDosesMissed, the scheduler
// steps in run()'s order, and delivery through the real Firebase SDK to
// the fake FCM server, on a real store and one settable clock.
//
// Ann (Europe/London) nominated pharmacy-a with consent and takes Warfarin
// at 08:00, 09:00 and 10:00 every day from today. Two carers accepted her
// invitations and registered a device: "scoped" shares missed_dose_alerts,
// "unscoped" every other scope. Ann has a device too.
type missedPipeline struct {
	*pushEnv
	wired bool // the missed-dose observers as run() sets them; false: none

	meds       *services.Medications
	care       *services.Care
	consents   *services.Consents
	access     *services.Access
	flags      *services.Flags
	sched      *services.Scheduler
	patient    models.User
	pharmacist models.Principal
	med        models.Medication
	tokens     map[string]string // user id → device token
}

// missedDay is the scenario's day: the clock starts at 07:00 (GMT), an
// hour before the first dose.
var missedDay = time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)

func newMissedPipeline(t *testing.T, wired bool) *missedPipeline {
	t.Helper()
	e := newPushEnv(t)
	e.clock.Set(missedDay)
	ctx := context.Background()
	w := &missedPipeline{pushEnv: e, wired: wired, tokens: map[string]string{}}
	st := e.st

	// Services, as run() builds them.
	w.consents, w.care, w.access, w.meds, w.flags = e.graph.Consents, e.graph.Care, e.graph.Access, e.graph.Medications, e.graph.Flags
	w.sched = w.scheduler(t, e.graph)

	// The pharmacy and its pharmacist.
	if err := st.Pharmacies().Create(ctx, models.Pharmacy{ID: "pharmacy-a", ODSCode: "FA001", Name: "Pharmacy FA001",
		Postcode: "SW1A 1AA", PostcodeKey: "SW1A1AA", CreatedAt: missedDay}); err != nil {
		t.Fatal(err)
	}
	w.account(t, "ph-a", "Pharmacist A", models.RolePharmacist, "pharmacy-a")
	w.pharmacist = models.Principal{UserID: "ph-a", Role: models.RolePharmacist}

	// Ann: nominates the pharmacy with consent, invites both carers.
	w.patient = w.account(t, "ann", "Ann Example", models.RolePatient, "")
	if _, err := w.consents.Nominate(ctx, w.patient.ID, "pharmacy-a", true); err != nil {
		t.Fatal(err)
	}
	w.register(t, w.patient.ID, models.RolePatient)
	for _, c := range []struct {
		id     string
		scopes []models.CareScope
	}{
		{"scoped", []models.CareScope{models.ScopeMissedDoseAlerts}},
		{"unscoped", []models.CareScope{models.ScopeReadingAlerts, models.ScopeViewSummary, models.ScopeViewReadings, models.ScopeViewMedications}},
	} {
		w.account(t, c.id, "Carer "+c.id, models.RoleCarer, "")
		inv, err := w.care.Invite(ctx, w.patient.ID, c.scopes, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, created, err := w.care.Accept(ctx, c.id, inv.Code); err != nil || !created {
			t.Fatalf("accept %s: created=%v, %v", c.id, created, err)
		}
		w.register(t, c.id, models.RoleCarer)
	}

	// Three doses close together, from today, planned before the first.
	m, created, err := w.meds.Create(ctx, w.patient, services.NewMedication{Name: "Warfarin", Strength: "3 mg",
		Schedule: models.Schedule{Times: []string{"08:00", "09:00", "10:00"}, StartDate: "2026-11-24"}})
	if err != nil || !created {
		t.Fatalf("create medication: created=%v, %v", created, err)
	}
	w.med = m
	return w
}

// scheduler is the process's scheduler: run()'s when wired; otherwise the
// same steps with reminders that tell nobody of missed doses.
func (w *missedPipeline) scheduler(t *testing.T, g *graphtest.Graph) *services.Scheduler {
	t.Helper()
	if w.wired {
		return g.Scheduler
	}
	reminders := services.NewReminders(services.ReminderConfig{},
		services.ReminderSources{Medications: g.Store.Medications(), Users: g.Store.Users(), Doses: g.Store.Doses(), Notifications: g.Store.Notifications()},
		g.Planner, g.Notifications, g.Clock.Now, g.Log)
	return services.NewScheduler(time.Minute, g.Instance, services.NewSchedulerMetrics(nil), g.Clock.Now, g.Log,
		reminders.MaterializeStep(), reminders.ReminderStep(), reminders.FollowUpStep(), reminders.MissedStep(),
		reminders.RefillStep(), g.Flags.Step(), g.Retention.Step(), g.Delivery.Step())
}

// process is the scheduler of another Concord process on the pipeline's
// store and clock (a new process remembers nothing).
func (w *missedPipeline) process(t *testing.T, instance string) *services.Scheduler {
	t.Helper()
	return w.scheduler(t, w.pushEnv.process(t, graphtest.Options{Instance: instance}))
}

// account stores a user in London.
func (w *missedPipeline) account(t *testing.T, id, name string, role models.Role, pharmacyID string) models.User {
	t.Helper()
	u := models.User{ID: id, Email: id + "@example.org", Name: name, Role: role, Timezone: "Europe/London",
		PharmacyID: pharmacyID, CreatedAt: missedDay, UpdatedAt: missedDay}
	if err := w.st.Users().Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// register registers a device for the user.
func (w *missedPipeline) register(t *testing.T, userID string, role models.Role) {
	t.Helper()
	w.tokens[userID] = "token-of-" + userID + "-0123456789abcdef"
	if _, _, err := w.devices.Register(context.Background(), models.Principal{UserID: userID, Role: role}, w.tokens[userID], models.PlatformAndroid); err != nil {
		t.Fatal(err)
	}
}

// at sets the clock and runs one scheduler tick.
func (w *missedPipeline) at(t *testing.T, now time.Time) {
	t.Helper()
	w.clock.Set(now)
	if err := w.sched.Tick(context.Background()); err != nil {
		t.Fatalf("tick at %s: %v", now.Format(time.RFC3339), err)
	}
}

// doseID is the id of today's dose at the local time.
func (w *missedPipeline) doseID(localTime string) string {
	return models.DoseID(w.med.ID, "2026-11-24", localTime)
}

// missedPushes counts each user's accepted carer_missed_dose pushes.
func (w *missedPipeline) missedPushes() map[string]int {
	out := map[string]int{}
	for user, token := range w.tokens {
		for _, m := range w.fake.MessagesFor(token) {
			if m.Error == fcmfake.OK && m.Data[models.DataKind] == string(models.KindCarerMissedDose) {
				out[user]++
			}
		}
	}
	return out
}

// queue is the pharmacy's review queue as its pharmacist sees it.
func (w *missedPipeline) queue(t *testing.T) []models.Flag {
	t.Helper()
	page, err := w.flags.List(context.Background(), w.pharmacist, services.FlagListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return page.Items
}

// TestMissedDosesReachCarerAndPharmacyQueue: with the missed-dose
// observers wired as run() wires them, three doses left unlogged past their grace period (2 hours)
// reach the carer with missed_dose_alerts as three pushes, one per dose as
// each is missed, naming Ann by first name only; the carer without that
// scope hears nothing; and the third puts one open missed_streak flag, with
// a streak of 3 as evidence, in the nominated pharmacy's queue. More ticks,
// and a restarted process, add nothing.
func TestMissedDosesReachCarerAndPharmacyQueue(t *testing.T) {
	t.Parallel()
	w := newMissedPipeline(t, true)
	ctx := context.Background()
	streakID := models.FlagID(w.patient.ID, models.RuleMissedStreak, 1)

	// Every 15 minutes from 07:00 to 12:45: the doses are missed at 10:00,
	// 11:00 and 12:00, each alerted on the tick it is missed.
	for now := missedDay; now.Before(missedDay.Add(6 * time.Hour)); now = now.Add(15 * time.Minute) {
		w.at(t, now)
		missedSoFar := 0
		for _, at := range []string{"08:00", "09:00", "10:00"} {
			scheduled, _ := time.Parse(time.RFC3339, "2026-11-24T"+at+":00Z")
			if !now.Before(scheduled.Add(models.DefaultDoseGraceMinutes * time.Minute)) {
				missedSoFar++
			}
		}
		want := map[string]int{}
		if missedSoFar > 0 {
			want["scoped"] = missedSoFar
		}
		if diff := cmp.Diff(want, w.missedPushes()); diff != "" {
			t.Fatalf("at %s, carer_missed_dose pushes per user (-want +got):\n%s", now.Format("15:04"), diff)
		}
		_, err := w.st.Flags().Get(ctx, streakID)
		if flagged := err == nil; flagged != (missedSoFar == 3) {
			t.Fatalf("at %s with %d doses missed: missed_streak flag exists=%v (%v)", now.Format("15:04"), missedSoFar, flagged, err)
		}
	}

	// More ticks, then a restarted process (which sweeps for overdue doses
	// and evaluates every rule on its first tick): nothing new.
	for now := missedDay.Add(6 * time.Hour); now.Before(missedDay.Add(7 * time.Hour)); now = now.Add(15 * time.Minute) {
		w.at(t, now)
	}
	w.sched = w.process(t, "instance-restarted")
	w.at(t, missedDay.Add(7*time.Hour))
	w.at(t, missedDay.Add(7*time.Hour+time.Minute))

	if diff := cmp.Diff(map[string]int{"scoped": 3}, w.missedPushes()); diff != "" {
		t.Errorf("carer_missed_dose pushes per user (-want +got):\n%s", diff)
	}
	if got := w.fake.MessagesFor(w.tokens["unscoped"]); len(got) != 0 {
		t.Errorf("the carer without missed_dose_alerts got %d pushes: %+v", len(got), got)
	}
	// One push per dose, each the dose's alert, with no health data.
	var gotIDs []string
	for _, m := range w.fake.MessagesFor(w.tokens["scoped"]) {
		if m.Error != fcmfake.OK {
			t.Errorf("push %s answered %s", m.Data[models.DataNotificationID], m.Error)
		}
		id := m.Data[models.DataNotificationID]
		wantData := map[string]string{models.DataNotificationID: id, models.DataKind: string(models.KindCarerMissedDose), models.DataPatientID: w.patient.ID}
		if m.Title != "Missed dose" || m.Body != "Ann missed a dose" || !cmp.Equal(wantData, m.Data) {
			t.Errorf("push %q / %q / %v", m.Title, m.Body, m.Data)
		}
		// No medicine, strength or surname anywhere; the text names no dose
		// time (the notification id, a dedupe key, holds the dose id).
		checkNoHealthData(t, m, "Warfarin", "3 mg", "Example")
		for _, s := range []string{"08:00", "09:00", "10:00", w.med.ID} {
			if strings.Contains(m.Title+" "+m.Body, s) {
				t.Errorf("push text %q / %q names %q", m.Title, m.Body, s)
			}
		}
		gotIDs = append(gotIDs, id)
	}
	var wantIDs []string
	for _, at := range []string{"08:00", "09:00", "10:00"} {
		wantIDs = append(wantIDs, models.CarerMissedDoseAlertID(w.doseID(at), "scoped"))
	}
	if diff := cmp.Diff(wantIDs, gotIDs); diff != "" {
		t.Errorf("scoped carer's pushes, in order (-want +got):\n%s", diff)
	}

	// The pharmacy's queue: one open missed_streak flag for Ann.
	q := w.queue(t)
	if len(q) != 1 {
		t.Fatalf("queue has %d flags, want 1: %+v", len(q), q)
	}
	f := q[0]
	type flagView struct {
		ID, PatientID, PharmacyID string
		Rule                      models.FlagRuleID
		Status                    models.FlagStatus
		Severity                  models.Severity
		Evidence                  models.FlagEvidence
		Events                    []string
	}
	want := flagView{ID: streakID, PatientID: w.patient.ID, PharmacyID: "pharmacy-a", Rule: models.RuleMissedStreak,
		Status: models.FlagOpen, Severity: models.SeverityHigh,
		Evidence: models.FlagEvidence{Criterion: "missed_streak", Metric: models.MetricMissedStreak, Value: 3, Op: ">=", Threshold: 3, Window: "P28D",
			Details: map[string]string{"medicationId": w.med.ID, "medicationName": "Warfarin", "firstMissedDoseId": w.doseID("08:00"),
				"lastMissedDoseId": w.doseID("10:00"), "lastMissedAt": "2026-11-24T10:00:00Z"}},
		Events: []string{models.FlagEventRaised}}
	got := flagView{ID: f.ID, PatientID: f.PatientID, PharmacyID: f.PharmacyID, Rule: f.Rule, Status: f.Status, Severity: f.Severity,
		Evidence: f.Evidence, Events: events(f)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("queued flag (-want +got):\n%s", diff)
	}
	if !f.QueuedAt.Equal(missedDay.Add(5 * time.Hour)) {
		t.Errorf("flag queued at %s, want 12:00 (when the third dose was missed)", f.QueuedAt.Format(time.RFC3339))
	}
}

// TestMissedDosesWithoutWiringReachNobody is the control: the same day with
// no missed-dose observers marks the doses missed all the same, but no carer is alerted
// and no flag is raised (the hourly flag sweep does not run the dose rules;
// only the daily full sweep, due a day after the first tick, would).
func TestMissedDosesWithoutWiringReachNobody(t *testing.T) {
	t.Parallel()
	w := newMissedPipeline(t, false)
	ctx := context.Background()
	for now := missedDay; now.Before(missedDay.Add(7 * time.Hour)); now = now.Add(15 * time.Minute) {
		w.at(t, now)
	}
	for _, at := range []string{"08:00", "09:00", "10:00"} {
		d, err := w.st.Doses().Get(ctx, w.doseID(at))
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != models.DoseMissed {
			t.Errorf("dose %s stored %s, want missed", at, d.Status)
		}
		if _, err := w.st.Notifications().Get(ctx, models.CarerMissedDoseAlertID(d.ID, "scoped")); !models.IsCode(err, models.CodeNotFound) {
			t.Errorf("carer alert for the %s dose: %v, want not_found", at, err)
		}
	}
	if got := w.missedPushes(); len(got) != 0 {
		t.Errorf("carer_missed_dose pushes without missed-dose observers: %v", got)
	}
	for _, carer := range []string{"scoped", "unscoped"} {
		if got := w.fake.MessagesFor(w.tokens[carer]); len(got) != 0 {
			t.Errorf("carer %s got %d pushes", carer, len(got))
		}
	}
	if q := w.queue(t); len(q) != 0 {
		t.Errorf("queue without missed-dose observers: %+v", q)
	}
	// The patient's own reminders went out: the pipeline ran.
	if n := len(w.fake.MessagesFor(w.tokens[w.patient.ID])); n == 0 {
		t.Error("the patient got no reminders: the scheduler did not run")
	}
}
