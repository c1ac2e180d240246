package services_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/push/fcmfake"
	"github.com/concord-health/concord/services"
)

// TestReminderAtLocalTimeAcrossDST: a dose at 01:30 in London is pushed at
// its instant on both clock-change days: on 29 March 01:30 does not exist
// and the dose moves forward by the gap (02:30 BST, 01:30Z); on 25 October
// 01:30 happens twice and the dose is scheduled, and reminded, once.
func TestReminderAtLocalTimeAcrossDST(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		date     string
		ticks    []string
		wantPush string // the tick at which the one reminder goes out
	}{
		{"spring forward", "2026-03-29", []string{"2026-03-29T00:30:00Z", "2026-03-29T01:29:00Z", "2026-03-29T01:30:00Z", "2026-03-29T01:31:00Z", "2026-03-29T02:30:00Z"}, "2026-03-29T01:30:00Z"},
		{"fall back", "2026-10-25", []string{"2026-10-25T00:29:00Z", "2026-10-25T00:30:00Z", "2026-10-25T00:31:00Z", "2026-10-25T01:30:00Z", "2026-10-25T01:31:00Z"}, "2026-10-25T00:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			day := mustTime(t, tt.date+"T00:00:00Z")
			e := newRemEnv(t, day.Add(-12*time.Hour))
			pat := e.patient(t, "pat", "Europe/London", models.Preferences{})
			e.addMed(t, pat, 1, "Ramipril", daily(tt.date, "01:30"), nil)
			var got []string
			for _, at := range tt.ticks {
				before := len(pushes(e.fake, models.KindDoseReminder))
				e.at(t, mustTime(t, at))
				for range len(pushes(e.fake, models.KindDoseReminder)) - before {
					got = append(got, at)
				}
			}
			if diff := cmp.Diff([]string{tt.wantPush}, got); diff != "" {
				t.Errorf("ticks that pushed a reminder (-want +got):\n%s", diff)
			}
			want := []push{{Kind: "dose_reminder", ID: "dose_reminder:pat:" + tt.date + "T01:30", Title: "Reminder", Body: "Time for your 01:30 medicines"}}
			if diff := cmp.Diff(want, pushes(e.fake, models.KindDoseReminder)); diff != "" {
				t.Errorf("reminders (-want +got):\n%s", diff)
			}
			n := e.record(t, want[0].ID)
			if !n.DueAt.Equal(mustTime(t, tt.wantPush)) || n.State != models.NotificationSent {
				t.Errorf("record due %s state %s, want due %s and sent", n.DueAt, n.State, tt.wantPush)
			}
		})
	}
}

// TestFollowUp: a follow-up goes out FollowUp() after the dose's time if
// the dose is still not logged; none if it was logged, or if the patient
// turned follow-ups off.
func TestFollowUp(t *testing.T) {
	t.Parallel()
	zero, fifteen := 0, 15
	tests := []struct {
		name     string
		prefs    models.Preferences
		logAt    string // when the patient takes the dose; "" never
		ticks    []string
		wantAt   string // the tick that pushes the follow-up; "" none
		wantBody string
	}{
		{name: "not logged: 30 minutes later", ticks: []string{"08:00", "08:29", "08:30", "08:45"}, wantAt: "08:30", wantBody: "Have you taken your 08:00 medicines?"},
		{name: "logged after the reminder", logAt: "08:10", ticks: []string{"08:00", "08:30", "08:45"}},
		{name: "own delay", prefs: models.Preferences{FollowUpMinutes: &fifteen}, ticks: []string{"08:00", "08:14", "08:15", "08:30"}, wantAt: "08:15", wantBody: "Have you taken your 08:00 medicines?"},
		{name: "turned off", prefs: models.Preferences{FollowUpMinutes: &zero}, ticks: []string{"08:00", "08:30", "09:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newRemEnv(t, mustTime(t, "2026-11-23T12:00:00Z"))
			pat := e.patient(t, "pat", "Europe/London", tt.prefs)
			e.addMed(t, pat, 1, "Ramipril", daily("2026-11-23", "08:00"), nil)
			var got []string
			for _, hm := range tt.ticks {
				if tt.logAt != "" && hm > tt.logAt && e.doseStatus(t, medID(1)+":2026-11-24T08:00") == models.DosePending {
					e.clock.Set(mustTime(t, "2026-11-24T"+tt.logAt+":00Z"))
					if _, err := e.doses.MarkTaken(context.Background(), pat, medID(1)+":2026-11-24T08:00", time.Time{}); err != nil {
						t.Fatal(err)
					}
				}
				before := len(pushes(e.fake, models.KindDoseFollowUp))
				e.at(t, mustTime(t, "2026-11-24T"+hm+":00Z"))
				if len(pushes(e.fake, models.KindDoseFollowUp)) > before {
					got = append(got, hm)
				}
			}
			var want []string
			var wantPushes []push
			if tt.wantAt != "" {
				want = []string{tt.wantAt}
				wantPushes = []push{{Kind: "dose_follow_up", ID: "dose_follow_up:pat:2026-11-24T08:00", Title: "Reminder", Body: tt.wantBody}}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ticks that pushed a follow-up (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantPushes, pushes(e.fake, models.KindDoseFollowUp)); diff != "" {
				t.Errorf("follow-ups (-want +got):\n%s", diff)
			}
			if n := len(pushes(e.fake, models.KindDoseReminder)); n != 1 {
				t.Errorf("%d reminders, want 1", n)
			}
		})
	}
}

// TestDoseLoggedEarlyIsNotReminded: a dose logged before its reminder was
// delivered gets no push: logged before its time (no reminder at all),
// logged while the reminder waits for a retry (cancelled), or logged just
// as the reminder step queued it (cancelled by the step).
func TestDoseLoggedEarlyIsNotReminded(t *testing.T) {
	t.Parallel()
	const dose = "00000000-0000-4000-8000-000000000001:2026-11-24T08:00"
	const reminderID = "dose_reminder:pat:2026-11-24T08:00"
	tests := []struct {
		name       string
		run        func(t *testing.T, e *remEnv, pat models.User)
		wantRecord models.NotificationState // "" no notification at all
	}{
		{"before its time", func(t *testing.T, e *remEnv, pat models.User) {
			e.clock.Set(mustTime(t, "2026-11-24T07:40:00Z"))
			e.take(t, pat, dose)
			e.at(t, mustTime(t, "2026-11-24T08:00:00Z"))
		}, ""},
		{"while the reminder waits for a retry", func(t *testing.T, e *remEnv, pat models.User) {
			e.fake.SetBehavior("token-pat-0123456789abcdef", fcmfake.Behavior{Fail: fcmfake.QuotaExceeded, Times: 1})
			e.at(t, mustTime(t, "2026-11-24T08:00:00Z"))
			if n, ok := e.queued(t, reminderID); !ok || n.State != models.NotificationPending || n.Attempts != 1 {
				t.Fatalf("the reminder is not waiting for a retry: %+v %v", n, ok)
			}
			e.clock.Set(mustTime(t, "2026-11-24T08:01:00Z"))
			e.take(t, pat, dose)
			e.at(t, mustTime(t, "2026-11-24T08:10:00Z"))
		}, models.NotificationCancelled},
		{"just as the step queued it", func(t *testing.T, e *remEnv, pat models.User) {
			read, err := e.st.Doses().Get(context.Background(), dose)
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Set(mustTime(t, "2026-11-24T07:59:59Z"))
			e.take(t, pat, dose) // the step below still reads it pending
			stale := &staleDoses{ReminderDoseStore: e.st.Doses(), stale: map[string]models.Dose{dose: read}}
			r := services.NewReminders(services.ReminderConfig{},
				services.ReminderSources{Medications: e.st.Medications(), Users: e.st.Users(), Doses: stale, Notifications: e.st.Notifications()},
				e.planner, e.notes, e.clock.Now, e.log)
			r.DoseLogged(context.Background(), pat, read, func() models.Dose { d := read; d.Status = models.DoseTaken; return d }())
			e.sched = services.NewScheduler(time.Minute, "stale", services.NewSchedulerMetrics(nil), e.clock.Now, e.log, r.ReminderStep(), e.delivery.Step())
			e.at(t, mustTime(t, "2026-11-24T08:00:00Z"))
		}, models.NotificationCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newRemEnv(t, mustTime(t, "2026-11-23T12:00:00Z"))
			pat := e.patient(t, "pat", "Europe/London", models.Preferences{})
			e.addMed(t, pat, 1, "Ramipril", daily("2026-11-23", "08:00"), nil)
			tt.run(t, e, pat)
			e.at(t, mustTime(t, "2026-11-24T08:30:00Z")) // and no follow-up either
			if got := pushes(e.fake, ""); len(got) != 0 {
				t.Errorf("pushes for a logged dose: %+v", got)
			}
			n, err := e.st.Notifications().Get(context.Background(), reminderID)
			switch {
			case tt.wantRecord == "" && !models.IsCode(err, models.CodeNotFound):
				t.Errorf("reminder record %+v (%v), want none", n, err)
			case tt.wantRecord != "" && (err != nil || n.State != tt.wantRecord || n.CancelReason != "dose_logged"):
				t.Errorf("reminder record state %q reason %q (%v), want %q dose_logged", n.State, n.CancelReason, err, tt.wantRecord)
			}
			if _, ok := e.queued(t, reminderID); ok {
				t.Error("the reminder is still queued")
			}
		})
	}
}

func (e *remEnv) take(t testing.TB, pat models.User, dose string) {
	t.Helper()
	if _, err := e.doses.MarkTaken(context.Background(), pat, dose, time.Time{}); err != nil {
		t.Fatal(err)
	}
}

// TestDowntimeCatchUp: the scheduler was down (restarted) or stalled from
// 05:59 to 09:00. The
// grace periods (2 h) of the 06:00 and 06:30 doses have passed: they are
// marked missed and passed on, with no push. The 08:00 dose is an hour late: its reminder
// goes out once, late, expiring with the grace period, and its follow-up
// comes 30 minutes after that reminder.
func TestDowntimeCatchUp(t *testing.T) {
	t.Parallel()
	for _, restart := range []bool{true, false} {
		name := map[bool]string{true: "restarted", false: "stalled"}[restart]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			downtimeCatchUp(t, restart)
		})
	}
}

func downtimeCatchUp(t *testing.T, restart bool) {
	e := newRemEnv(t, mustTime(t, "2026-11-23T12:00:00Z"))
	pat := e.patient(t, "pat", "Europe/London", models.Preferences{})
	e.addMed(t, pat, 1, "Ramipril", daily("2026-11-23", "06:00"), nil)
	e.addMed(t, pat, 2, "Metformin", daily("2026-11-23", "08:00"), nil)
	e.addMed(t, pat, 3, "Amlodipine", daily("2026-11-23", "06:30"), nil)
	e.at(t, mustTime(t, "2026-11-24T05:59:00Z"))

	if restart {
		e.restart(t) // a new process: nothing remembered
	}
	e.at(t, mustTime(t, "2026-11-24T09:00:00Z"))
	e.at(t, mustTime(t, "2026-11-24T09:01:00Z"))
	e.at(t, mustTime(t, "2026-11-24T09:30:00Z"))

	want := []push{
		{Kind: "dose_reminder", ID: "dose_reminder:pat:2026-11-24T08:00", Title: "Reminder", Body: "Time for your 08:00 medicines"},
		{Kind: "dose_follow_up", ID: "dose_follow_up:pat:2026-11-24T08:00", Title: "Reminder", Body: "Have you taken your 08:00 medicines?"},
	}
	if diff := cmp.Diff(want, pushes(e.fake, "")); diff != "" {
		t.Errorf("pushes (-want +got):\n%s", diff)
	}
	// 06:00 is found by the sweep after the start, 06:30 by its schedule.
	missed := []string{medID(1) + ":2026-11-24T06:00", medID(3) + ":2026-11-24T06:30"}
	if diff := cmp.Diff(missed, e.missed.ids()); diff != "" {
		t.Errorf("doses passed on as missed (-want +got):\n%s", diff)
	}
	for _, id := range missed {
		if got := e.doseStatus(t, id); got != models.DoseMissed {
			t.Errorf("dose %s stored %s, want missed", id, got)
		}
	}
	for _, slot := range []string{"06:00", "06:30"} {
		if _, err := e.st.Notifications().Get(context.Background(), "dose_reminder:pat:2026-11-24T"+slot); !models.IsCode(err, models.CodeNotFound) {
			t.Errorf("a reminder exists for the %s dose, past its grace period: %v", slot, err)
		}
	}
	late := e.record(t, want[0].ID)
	if !late.DueAt.Equal(mustTime(t, "2026-11-24T08:00:00Z")) || late.ExpiresAt == nil || !late.ExpiresAt.Equal(mustTime(t, "2026-11-24T10:00:00Z")) {
		t.Errorf("late reminder due %s expires %v, want 08:00 and 10:00", late.DueAt, late.ExpiresAt)
	}
	follow := e.record(t, want[1].ID)
	if !follow.DueAt.Equal(mustTime(t, "2026-11-24T09:30:00Z")) {
		t.Errorf("follow-up due %s, want 30 minutes after the late reminder", follow.DueAt)
	}
	// The late push tells FCM to give up when the grace period ends.
	if m := e.fake.Delivered()[0]; m.AndroidTTL != "3600s" || m.AndroidPriority != "high" {
		t.Errorf("late reminder: android ttl %q priority %q, want 3600s high", m.AndroidTTL, m.AndroidPriority)
	}

	// At 10:00 the 08:00 dose is missed too, once.
	e.at(t, mustTime(t, "2026-11-24T10:00:00Z"))
	e.restart(t)
	e.at(t, mustTime(t, "2026-11-24T10:01:00Z"))
	if diff := cmp.Diff([]string{missed[0], medID(2) + ":2026-11-24T08:00", missed[1]}, e.missed.ids()); diff != "" {
		t.Errorf("doses passed on as missed (-want +got):\n%s", diff)
	}
}

// TestMissedDoseObserverRetried: when a missed-dose observer fails, the
// same doses are passed again on the next tick.
func TestMissedDoseObserverRetried(t *testing.T) {
	t.Parallel()
	e := newRemEnv(t, mustTime(t, "2026-11-23T12:00:00Z"))
	e.missed.fail = 1
	pat := e.patient(t, "pat", "Europe/London", models.Preferences{})
	e.addMed(t, pat, 1, "Ramipril", daily("2026-11-23", "06:00"), nil)
	e.at(t, mustTime(t, "2026-11-24T08:00:00Z"))
	if got := e.missed.ids(); len(got) != 0 {
		t.Fatalf("passed on despite the failure: %v", got)
	}
	e.at(t, mustTime(t, "2026-11-24T08:01:00Z"))
	if diff := cmp.Diff([]string{medID(1) + ":2026-11-24T06:00"}, e.missed.ids()); diff != "" {
		t.Errorf("doses passed on as missed (-want +got):\n%s", diff)
	}
}

// TestRefillReminderOncePerEpisode: a medicine within its refillLeadDays
// of running out is reminded of once; the prediction moving a day later
// (a missed dose), a restart or another tick does not remind again; a
// refill ends the episode and the next one is reminded of again.
func TestRefillReminderOncePerEpisode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newRemEnv(t, mustTime(t, "2026-11-23T12:00:00Z"))
	pat := e.patient(t, "pat", "Europe/London", models.Preferences{QuietHours: &models.QuietHours{Start: "22:00", End: "07:00"}})
	// Twice a day at 08:00 and 20:00, 10 tablets: 5 days, lead 7.
	med := e.addMed(t, pat, 1, "Ramipril", daily("2026-11-23", "08:00", "20:00"), &models.Stock{Quantity: 10, UnitsPerDose: 1, RefillLeadDays: 7})
	setStock := func(q float64) {
		t.Helper()
		if _, err := e.meds.Update(ctx, pat, med.ID, services.MedicationChange{Stock: &models.Stock{Quantity: q, UnitsPerDose: 1, RefillLeadDays: 7}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	refills := func() []string {
		var ids []string
		for _, p := range pushes(e.fake, models.KindRefillReminder) {
			ids = append(ids, p.ID)
		}
		return ids
	}
	first := "refill_reminder:" + med.ID + ":2026-11-28"

	e.at(t, mustTime(t, "2026-11-23T12:01:00Z"))
	e.at(t, mustTime(t, "2026-11-23T12:02:00Z"))
	if diff := cmp.Diff([]string{first}, refills()); diff != "" {
		t.Fatalf("refill reminders (-want +got):\n%s", diff)
	}
	// Next day, two doses missed: the same 10 tablets now run out a day
	// later. Same episode, also after a restart.
	e.at(t, mustTime(t, "2026-11-24T12:00:00Z"))
	e.restart(t)
	e.at(t, mustTime(t, "2026-11-24T12:01:00Z"))
	if diff := cmp.Diff([]string{first}, refills()); diff != "" {
		t.Errorf("refill reminders after the prediction moved (-want +got):\n%s", diff)
	}
	// A refill ends the episode. Weeks later the stock is low again, at
	// night: the new episode's reminder waits for the end of quiet hours.
	setStock(60)
	e.at(t, mustTime(t, "2026-11-24T22:30:00Z"))
	e.clock.Set(mustTime(t, "2026-12-20T22:45:00Z"))
	setStock(6) // 3 days
	e.at(t, mustTime(t, "2026-12-20T23:00:00Z"))
	if diff := cmp.Diff([]string{first}, refills()); diff != "" {
		t.Errorf("refill reminders during quiet hours (-want +got):\n%s", diff)
	}
	e.at(t, mustTime(t, "2026-12-21T07:00:00Z"))
	second := "refill_reminder:" + med.ID + ":2026-12-23"
	if diff := cmp.Diff([]string{first, second}, refills()); diff != "" {
		t.Errorf("refill reminders after a refill (-want +got):\n%s", diff)
	}
	n := e.record(t, second)
	if !n.DueAt.Equal(mustTime(t, "2026-12-20T23:00:00Z")) || n.Urgent || n.SentAt == nil || !n.SentAt.Equal(mustTime(t, "2026-12-21T07:00:00Z")) {
		t.Errorf("second refill reminder: due %s urgent %v sent %v", n.DueAt, n.Urgent, n.SentAt)
	}
}

// TestReminderPayloads: by default no push names a medicine (data: the
// notification's id and kind, and for a dose reminder its doses' opaque
// ids); a patient who opted in (PushDetails) is told the medicines' names.
// Dose reminders carry the category of the app's "Taken" and "Snooze"
// actions (APNs aps.category, Android click_action); refill reminders do
// not. Nothing about medicines reaches the log.
func TestReminderPayloads(t *testing.T) {
	t.Parallel()
	e := newRemEnv(t, mustTime(t, "2026-11-23T12:00:00Z"))
	low := &models.Stock{Quantity: 3, UnitsPerDose: 1, RefillLeadDays: 7}
	plain := e.patient(t, "plain", "Europe/London", models.Preferences{})
	e.addMed(t, plain, 1, "Ramipril", daily("2026-11-23", "08:00"), low)
	e.addMed(t, plain, 2, "Metformin", daily("2026-11-23", "08:00"), nil)
	detailed := e.patient(t, "detailed", "Europe/London", models.Preferences{PushDetails: true})
	e.addMed(t, detailed, 3, "Ramipril", daily("2026-11-23", "08:00"), low)
	e.addMed(t, detailed, 4, "Metformin", daily("2026-11-23", "08:00"), nil)
	e.at(t, mustTime(t, "2026-11-24T08:00:00Z"))
	e.at(t, mustTime(t, "2026-11-24T08:30:00Z")) // the follow-ups

	type message struct {
		Title, Body           string
		Data                  map[string]string
		Category, ClickAction string
	}
	got := map[string]message{}
	for _, m := range e.fake.Delivered() {
		var raw struct {
			Android struct {
				Notification struct {
					ClickAction string `json:"click_action"`
				} `json:"notification"`
			} `json:"android"`
		}
		if err := json.Unmarshal(m.Raw, &raw); err != nil {
			t.Fatal(err)
		}
		category, _ := m.APNSAps["category"].(string)
		got[m.Data[models.DataNotificationID]] = message{m.Title, m.Body, m.Data, category, raw.Android.Notification.ClickAction}
	}
	data := func(id, kind string, doses ...string) map[string]string {
		d := map[string]string{models.DataNotificationID: id, models.DataKind: kind}
		if len(doses) > 0 {
			d[models.DataDoseIDs] = strings.Join(doses, ",")
		}
		return d
	}
	dose := func(n int) string { return medID(n) + ":2026-11-24T08:00" }
	const cat = models.DoseReminderCategory
	want := map[string]message{
		"dose_reminder:plain:2026-11-24T08:00": {"Reminder", "Time for your 08:00 medicines",
			data("dose_reminder:plain:2026-11-24T08:00", "dose_reminder", dose(1), dose(2)), cat, cat},
		"dose_follow_up:plain:2026-11-24T08:00": {"Reminder", "Have you taken your 08:00 medicines?",
			data("dose_follow_up:plain:2026-11-24T08:00", "dose_follow_up", dose(1), dose(2)), cat, cat},
		"refill_reminder:" + medID(1) + ":2026-11-27": {"Reminder", "One of your medicines is running low",
			data("refill_reminder:"+medID(1)+":2026-11-27", "refill_reminder"), "", ""},
		"dose_reminder:detailed:2026-11-24T08:00": {"Reminder", "Time for your 08:00 medicines: Ramipril 5 mg and Metformin 5 mg",
			data("dose_reminder:detailed:2026-11-24T08:00", "dose_reminder", dose(3), dose(4)), cat, cat},
		"dose_follow_up:detailed:2026-11-24T08:00": {"Reminder", "Have you taken your 08:00 medicines? Ramipril 5 mg and Metformin 5 mg",
			data("dose_follow_up:detailed:2026-11-24T08:00", "dose_follow_up", dose(3), dose(4)), cat, cat},
		"refill_reminder:" + medID(3) + ":2026-11-27": {"Reminder", "Ramipril 5 mg is running low: about 3 days left",
			data("refill_reminder:"+medID(3)+":2026-11-27", "refill_reminder"), "", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pushes (-want +got):\n%s", diff)
	}
	for _, m := range e.fake.MessagesFor("token-plain-0123456789abcdef") {
		raw := string(m.Raw)
		for _, secret := range []string{"Ramipril", "Metformin", "5 mg", "2026-11-24T08:00:00"} {
			if strings.Contains(raw, secret) {
				t.Errorf("default push carries %q: %s", secret, raw)
			}
		}
	}
	if logs := e.logs.String(); strings.Contains(logs, "Ramipril") || strings.Contains(logs, "Metformin") || strings.Contains(logs, "running low") {
		t.Errorf("the log names a medicine or shows a push text:\n%s", logs)
	}
	// The record keeps the doses (for cancelling), not shown in the inbox.
	rec := e.record(t, "dose_reminder:plain:2026-11-24T08:00")
	if diff := cmp.Diff([]string{dose(1), dose(2)}, rec.DoseIDs); diff != "" {
		t.Errorf("record's doses (-want +got):\n%s", diff)
	}
	if b, _ := json.Marshal(rec); strings.Contains(string(b), medID(1)) {
		t.Errorf("the inbox view of a reminder shows a dose id: %s", b)
	}
}

// TestTwoSchedulersRemindOnce: two Concord processes tick at the same
// moments on one store: every reminder and follow-up is pushed exactly
// once, and every missed dose is passed on exactly once.
func TestTwoSchedulersRemindOnce(t *testing.T) {
	t.Parallel()
	e := newRemEnv(t, mustTime(t, "2026-11-23T12:00:00Z"))
	const patients = 8
	var slots []string
	for i := range patients {
		id := "pat" + string(rune('a'+i))
		pat := e.patient(t, id, "Europe/London", models.Preferences{})
		e.addMed(t, pat, 2*i, "Ramipril", daily("2026-11-23", "08:00"), nil)
		e.addMed(t, pat, 2*i+1, "Metformin", daily("2026-11-23", "08:00", "09:00"), nil)
		slots = append(slots, id+":2026-11-24T08:00", id+":2026-11-24T09:00")
	}
	other := e.otherProcess(t, "instance-b").Scheduler
	ctx := context.Background()
	for _, at := range []string{"08:00", "08:30", "09:00", "09:30", "10:00", "11:00", "11:01"} {
		e.clock.Set(mustTime(t, "2026-11-24T"+at+":00Z"))
		var wg sync.WaitGroup
		for _, s := range []*services.Scheduler{e.sched, other} {
			wg.Go(func() {
				if err := s.Tick(ctx); err != nil {
					t.Errorf("tick at %s: %v", at, err)
				}
			})
		}
		wg.Wait()
	}
	want := map[string]int{}
	for _, s := range slots {
		want["dose_reminder:"+s] = 1
		want["dose_follow_up:"+s] = 1
	}
	if diff := cmp.Diff(want, deliveredIDs(e.fake)); diff != "" {
		t.Errorf("pushes per notification (-want +got):\n%s", diff)
	}
	if got := len(e.missed.ids()); got != 3*patients {
		t.Errorf("%d doses passed on as missed, want %d: %v", got, 3*patients, e.missed.ids())
	}
	seen := map[string]bool{}
	for _, id := range e.missed.ids() {
		if seen[id] {
			t.Errorf("dose %s passed on twice", id)
		}
		seen[id] = true
	}
}

// TestMaterializeStepExtendsPlans: days after the last request, the
// materialise step keeps a week of doses planned ahead.
func TestMaterializeStepExtendsPlans(t *testing.T) {
	t.Parallel()
	e := newRemEnv(t, mustTime(t, "2026-11-23T12:00:00Z"))
	pat := e.patient(t, "pat", "Europe/London", models.Preferences{FollowUpMinutes: new(int)})
	e.addMed(t, pat, 1, "Ramipril", daily("2026-11-23", "08:00"), nil)
	last := func() string {
		all, err := e.st.Doses().ListByPatient(context.Background(), pat.ID, mustTime(t, "2026-11-01T00:00:00Z"), mustTime(t, "2027-01-01T00:00:00Z"))
		if err != nil || len(all) == 0 {
			t.Fatalf("doses: %v %v", len(all), err)
		}
		return all[len(all)-1].LocalDate
	}
	if got := last(); got != "2026-11-30" {
		t.Fatalf("planned through %s at the start", got)
	}
	e.at(t, mustTime(t, "2026-11-25T12:00:00Z")) // under six days ahead: extended
	if got := last(); got != "2026-12-02" {
		t.Errorf("planned through %s after two days, want 2026-12-02", got)
	}
	// And the dose of a day the first plan did not reach is reminded.
	e.at(t, mustTime(t, "2026-12-01T08:00:00Z"))
	if diff := cmp.Diff([]push{{Kind: "dose_reminder", ID: "dose_reminder:pat:2026-12-01T08:00", Title: "Reminder", Body: "Time for your 08:00 medicines"}},
		pushes(e.fake, models.KindDoseReminder)); diff != "" {
		t.Errorf("reminders (-want +got):\n%s", diff)
	}
}

// TestRemindersBetweenRefreshes: the steps read the schedules again every
// RefreshInterval. A medicine added through this process is known at once;
// one added through another instance is known after the next read. A
// patient who turns PushDetails off gets no more names at once.
func TestRemindersBetweenRefreshes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newRemEnv(t, mustTime(t, "2026-11-23T12:00:00Z"))
	pat := e.patient(t, "pat", "Europe/London", models.Preferences{PushDetails: true})
	e.addMed(t, pat, 1, "Ramipril", daily("2026-11-23", "08:00"), nil)
	e.at(t, mustTime(t, "2026-11-24T07:58:00Z")) // reads the schedules

	// Added through this process: known at once. Added through another
	// instance (no observer here): known at the next read.
	e.clock.Set(mustTime(t, "2026-11-24T07:59:00Z"))
	e.addMed(t, pat, 2, "Metformin", daily("2026-11-23", "08:02"), nil)
	other := e.otherProcess(t, "instance-b").Medications
	if _, _, err := other.Create(ctx, pat, services.NewMedication{ID: medID(3), Name: "Amlodipine", Schedule: daily("2026-11-23", "08:01")}); err != nil {
		t.Fatal(err)
	}
	// Settings change through the account, not the medicines.
	pat.Preferences.PushDetails = false
	if err := e.st.Users().Update(ctx, pat); err != nil {
		t.Fatal(err)
	}
	for _, at := range []string{"08:00", "08:01", "08:02"} {
		e.at(t, mustTime(t, "2026-11-24T"+at+":00Z"))
	}
	want := []push{
		{Kind: "dose_reminder", ID: "dose_reminder:pat:2026-11-24T08:00", Title: "Reminder", Body: "Time for your 08:00 medicines"},
		{Kind: "dose_reminder", ID: "dose_reminder:pat:2026-11-24T08:02", Title: "Reminder", Body: "Time for your 08:02 medicines"},
		{Kind: "dose_reminder", ID: "dose_reminder:pat:2026-11-24T08:01", Title: "Reminder", Body: "Time for your 08:01 medicines"},
	}
	e.at(t, mustTime(t, "2026-11-24T08:03:00Z")) // the next read: the 08:01 dose, 2 minutes late
	if diff := cmp.Diff(want, pushes(e.fake, models.KindDoseReminder)); diff != "" {
		t.Errorf("reminders (-want +got):\n%s", diff)
	}
}

// TestMaterializeMedicationOnlyThePatients: planning another patient's
// medication is not_found, and plans nothing.
func TestMaterializeMedicationOnlyThePatients(t *testing.T) {
	t.Parallel()
	e := newRemEnv(t, mustTime(t, "2026-11-23T12:00:00Z"))
	pat := e.patient(t, "pat", "Europe/London", models.Preferences{})
	other := e.patient(t, "other", "Europe/London", models.Preferences{})
	m := e.addMed(t, pat, 1, "Ramipril", daily("2026-11-23", "08:00"), nil)
	err := e.planner.MaterializeMedication(context.Background(), other, m.ID, mustTime(t, "2026-11-26T12:00:00Z"))
	if !models.IsCode(err, models.CodeNotFound) {
		t.Errorf("another patient's medication: %v, want not_found", err)
	}
	if _, through, err := e.st.Doses().DosePlan(context.Background(), m.ID); err != nil || !through.Equal(mustTime(t, "2026-11-30T12:00:00Z")) {
		t.Errorf("plan through %s (%v), want unchanged", through, err)
	}
}

// TestReminderInWelsh: a patient whose locale is Welsh gets the reminder
// and its follow-up in Welsh (also in the inbox), through the real
// Firebase SDK, with the message catalogue keys and arguments an app can
// localise from (Android title_loc_key/body_loc_key/body_loc_args, APNs
// alert title-loc-key/loc-key/loc-args); an English patient's push carries
// the same keys with the English text.
func TestReminderInWelsh(t *testing.T) {
	t.Parallel()
	e := newRemEnv(t, mustTime(t, "2026-11-23T12:00:00Z"))
	cy := e.patient(t, "cy", "Europe/London", models.Preferences{})
	cy.Locale = "cy-GB"
	if err := e.st.Users().Update(context.Background(), cy); err != nil {
		t.Fatal(err)
	}
	e.addMed(t, cy, 1, "Ramipril", daily("2026-11-23", "08:00"), nil)
	en := e.patient(t, "en", "Europe/London", models.Preferences{})
	e.addMed(t, en, 2, "Ramipril", daily("2026-11-23", "08:00"), nil)
	e.at(t, mustTime(t, "2026-11-24T08:00:00Z"))
	e.at(t, mustTime(t, "2026-11-24T08:30:00Z"))

	type localised struct {
		Title, Body                     string
		TitleKey, BodyKey               string
		BodyArgs                        []string
		APNSTitleKey, APNSKey, APNSBody string
		APNSArgs                        []string
	}
	got := map[string]localised{}
	for _, m := range e.fake.Delivered() {
		var raw struct {
			Android struct {
				Notification struct {
					TitleLocKey string   `json:"title_loc_key"`
					BodyLocKey  string   `json:"body_loc_key"`
					BodyLocArgs []string `json:"body_loc_args"`
				} `json:"notification"`
			} `json:"android"`
		}
		if err := json.Unmarshal(m.Raw, &raw); err != nil {
			t.Fatal(err)
		}
		alert, _ := m.APNSAps["alert"].(map[string]any)
		var args []string
		if a, ok := alert["loc-args"].([]any); ok {
			for _, x := range a {
				args = append(args, x.(string))
			}
		}
		str := func(k string) string { s, _ := alert[k].(string); return s }
		an := raw.Android.Notification
		got[m.Data[models.DataNotificationID]] = localised{m.Title, m.Body, an.TitleLocKey, an.BodyLocKey, an.BodyLocArgs,
			str("title-loc-key"), str("loc-key"), str("body"), args}
	}
	at := []string{"08:00"}
	want := map[string]localised{
		"dose_reminder:cy:2026-11-24T08:00": {"Nodyn atgoffa", "Amser am eich meddyginiaethau 08:00", "reminder.title", "dose_reminder.body", at,
			"reminder.title", "dose_reminder.body", "Amser am eich meddyginiaethau 08:00", at},
		"dose_follow_up:cy:2026-11-24T08:00": {"Nodyn atgoffa", "Ydych chi wedi cymryd eich meddyginiaethau 08:00?", "reminder.title", "dose_follow_up.body", at,
			"reminder.title", "dose_follow_up.body", "Ydych chi wedi cymryd eich meddyginiaethau 08:00?", at},
		"dose_reminder:en:2026-11-24T08:00": {"Reminder", "Time for your 08:00 medicines", "reminder.title", "dose_reminder.body", at,
			"reminder.title", "dose_reminder.body", "Time for your 08:00 medicines", at},
		"dose_follow_up:en:2026-11-24T08:00": {"Reminder", "Have you taken your 08:00 medicines?", "reminder.title", "dose_follow_up.body", at,
			"reminder.title", "dose_follow_up.body", "Have you taken your 08:00 medicines?", at},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pushes (-want +got):\n%s", diff)
	}
	if rec := e.record(t, "dose_reminder:cy:2026-11-24T08:00"); rec.Title != "Nodyn atgoffa" || rec.Body != "Amser am eich meddyginiaethau 08:00" {
		t.Errorf("the Welsh patient's inbox entry: %q / %q", rec.Title, rec.Body)
	}
}
