package services

import (
	"context"
	"log/slog"
	"time"

	"github.com/concord-health/concord/models"
)

// Snooze limits: a snoozed dose is reminded of again after MinSnoozeMinutes
// to MaxSnoozeMinutes (DefaultSnoozeMinutes when the app does not say), at
// most models.MaxDoseSnoozes times.
const (
	MinSnoozeMinutes     = 10
	MaxSnoozeMinutes     = 60
	DefaultSnoozeMinutes = 10
)

// SnoozeDoseStore reads doses by id (the dose store).
type SnoozeDoseStore interface {
	Get(ctx context.Context, id string) (models.Dose, error)
}

// SnoozeMedications reads medicines by id (the medication store), to name
// a snoozed dose's medicine to a patient who opted in.
type SnoozeMedications interface {
	Get(ctx context.Context, id string) (models.Medication, error)
}

// SnoozeOutbox queues and cancels notifications (Notifications).
type SnoozeOutbox interface {
	Enqueue(ctx context.Context, n models.Notification) (models.Notification, bool, error)
	Cancel(ctx context.Context, id, reason string) (bool, error)
}

// DoseSnooze is a snooze the patient asked for: the dose is reminded of
// again at RemindAt; Snoozes is how many times it has been snoozed (1 or
// models.MaxDoseSnoozes).
type DoseSnooze struct {
	DoseID         string    `json:"doseId"`
	Snoozes        int       `json:"snoozes"`
	RemindAt       time.Time `json:"remindAt"`
	NotificationID string    `json:"notificationId"`
}

// Snoozes snoozes doses: "remind me again in N minutes", from a dose
// reminder's "Snooze" action.
type Snoozes struct {
	doses  SnoozeDoseStore
	meds   SnoozeMedications
	outbox SnoozeOutbox
	now    func() time.Time
	log    *slog.Logger
}

// NewSnoozes returns the snoozes service.
func NewSnoozes(doses SnoozeDoseStore, meds SnoozeMedications, outbox SnoozeOutbox, now func() time.Time, log *slog.Logger) *Snoozes {
	return &Snoozes{doses: doses, meds: meds, outbox: outbox, now: now, log: log}
}

// Snooze queues one more reminder of the patient's pending scheduled dose,
// minutes from now (0: DefaultSnoozeMinutes), through the outbox as a
// models.KindDoseSnooze notification keyed models.DoseSnoozeID: urgent,
// expiring when the dose's grace period ends, naming the medicine only if
// the patient opted in (Preferences.PushDetails). Logging the dose cancels
// it (Reminders.DoseLogged). Errors: not_found (no such dose of the
// patient), invalid ("minutes" out of range), conflict (the dose is not
// pending, is taken as needed, was snoozed models.MaxDoseSnoozes times
// already, or its grace period ends before the reminder would be due).
func (s *Snoozes) Snooze(ctx context.Context, patient models.User, doseID string, minutes int) (DoseSnooze, error) {
	if minutes == 0 {
		minutes = DefaultSnoozeMinutes
	}
	if minutes < MinSnoozeMinutes || minutes > MaxSnoozeMinutes {
		var p models.Problems
		p.Add("minutes", "must be from %d to %d", MinSnoozeMinutes, MaxSnoozeMinutes)
		return DoseSnooze{}, p.Err()
	}
	d, err := s.doses.Get(ctx, doseID)
	if models.IsCode(err, models.CodeNotFound) || (err == nil && d.PatientID != patient.ID) {
		return DoseSnooze{}, models.Errorf(models.CodeNotFound, "dose not found")
	}
	if err != nil {
		return DoseSnooze{}, err
	}
	now := s.now().UTC()
	grace := patient.Preferences.DoseGrace()
	if d.AsNeeded {
		return DoseSnooze{}, models.Errorf(models.CodeConflict, "a dose taken as needed has no reminder to snooze")
	}
	if st := d.EffectiveStatus(now, grace); st != models.DosePending {
		return DoseSnooze{}, models.Errorf(models.CodeConflict, "the dose is %s, not pending: only a pending dose can be snoozed", st)
	}
	at := now.Add(time.Duration(minutes) * time.Minute)
	expires := d.ScheduledAt.Add(grace)
	if !at.Before(expires) {
		return DoseSnooze{}, models.Errorf(models.CodeConflict, "the dose's grace period ends at %s, before the snoozed reminder would be due",
			expires.Format(time.RFC3339))
	}
	n := models.Notification{RecipientID: patient.ID, Kind: models.KindDoseSnooze, Urgent: true,
		DueAt: at, ExpiresAt: &expires, DoseIDs: []string{d.ID}}
	n.Text = reminderText(models.KindDoseSnooze, patient.Locale.Language(), patient.Preferences.PushDetails, d.LocalTime, s.names(ctx, patient, d))
	for i := 1; i <= models.MaxDoseSnoozes; i++ {
		n.ID = models.DoseSnoozeID(d.ID, i)
		_, created, err := s.outbox.Enqueue(ctx, n)
		if err != nil {
			return DoseSnooze{}, err
		}
		if created {
			s.recheck(ctx, n.ID, d.ID, grace)
			return DoseSnooze{DoseID: d.ID, Snoozes: i, RemindAt: at, NotificationID: n.ID}, nil
		}
	}
	return DoseSnooze{}, models.Errorf(models.CodeConflict, "the dose was snoozed %d times already, the most allowed", models.MaxDoseSnoozes)
}

// names is the medicine of the dose, for a patient who opted in to names
// in pushes; none otherwise or when it cannot be read.
func (s *Snoozes) names(ctx context.Context, patient models.User, d models.Dose) []string {
	if !patient.Preferences.PushDetails {
		return nil
	}
	m, err := s.meds.Get(ctx, d.MedicationID)
	if err != nil || m.PatientID != patient.ID {
		return nil
	}
	return []string{medicineName(m)}
}

// recheck cancels the snooze just queued if the dose was logged meanwhile
// (too early for Reminders.DoseLogged to find the snooze). The snooze
// stands either way, so a failure is logged, not returned.
func (s *Snoozes) recheck(ctx context.Context, id, doseID string, grace time.Duration) {
	d, err := s.doses.Get(ctx, doseID)
	if err == nil && d.EffectiveStatus(s.now().UTC(), grace) != models.DosePending {
		_, err = s.outbox.Cancel(ctx, id, reasonDoseLogged)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "snooze not checked against its dose", "notification", id, "err", err)
	}
}
