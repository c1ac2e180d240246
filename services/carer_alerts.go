package services

import (
	"context"
	"log/slog"
	"time"

	"github.com/concord-health/concord/models"
)

// MaxMissedDoseAlertAge is how long after a dose became missed a carer is
// still told about it. Doses marked missed late (after an outage) are not
// worth waking anyone for.
const MaxMissedDoseAlertAge = 12 * time.Hour

// MaxSevereReadingAlertAge is how long before it was stored a severe
// reading may have been taken and still alert carers. A carer's alert is
// urgent (quiet hours do not hold it back) because it is about something
// happening now: a reading taken this morning on a phone that was offline
// until the evening is still news a carer can act on (ring, visit), but
// one from yesterday or last week, uploaded late or imported, is history,
// and waking someone for it helps nobody. The same half day as
// MaxMissedDoseAlertAge, so carers have one notion of "current". The
// pharmacist's review flag still fires from the rules for any reading in
// their window (Flags), however late it arrives.
const MaxSevereReadingAlertAge = 12 * time.Hour

// CarerFinder lists the carers who should hear about something now (Care
// does: active links sharing the scope).
type CarerFinder interface {
	ActiveCarers(ctx context.Context, patientID string, scope models.CareScope) ([]models.CareLink, error)
}

// CarerAlertOutbox queues notifications (Notifications does).
type CarerAlertOutbox interface {
	Enqueue(ctx context.Context, n models.Notification) (models.Notification, bool, error)
}

// CarerAlerts tells a patient's carers, through the notification outbox,
// about a missed dose (carers sharing missed_dose_alerts, respecting each
// carer's quiet hours) and readings in a severe band (carers sharing
// reading_alerts, urgent: quiet hours do not hold it back). Only active
// links count: never a paused or revoked one. Each alert's id is its
// dedupe key (models.CarerMissedDoseAlertID: per dose and carer;
// models.CarerSevereReadingAlertID: per patient, carer and
// models.CarerSevereReadingAlertWindow), so however often, and by however
// many instances, an event is reported, each carer hears of it once.
// Pushes name the patient by first name only and carry no values or
// medicine names.
type CarerAlerts struct {
	carers CarerFinder
	outbox CarerAlertOutbox
	now    func() time.Time
	log    *slog.Logger
}

// NewCarerAlerts returns the carer-alert service.
func NewCarerAlerts(carers CarerFinder, outbox CarerAlertOutbox, now func() time.Time, log *slog.Logger) *CarerAlerts {
	return &CarerAlerts{carers: carers, outbox: outbox, now: now, log: log}
}

// AlertMissedDoses queues one alert per missed scheduled dose of the
// patient and carer with missed_dose_alerts, due now; the scheduler calls
// it with the doses DosePlanner marked missed. Doses missed more than
// MaxMissedDoseAlertAge before now are skipped. Alerting twice for the same
// dose queues nothing new.
func (a *CarerAlerts) AlertMissedDoses(ctx context.Context, patient models.User, doses []models.Dose, now time.Time) error {
	var due []models.Dose
	grace := patient.Preferences.DoseGrace()
	for _, d := range doses {
		missedAt := d.ScheduledAt.Add(grace)
		if d.PatientID == patient.ID && !d.AsNeeded && d.Status == models.DoseMissed && now.Sub(missedAt) <= MaxMissedDoseAlertAge {
			due = append(due, d)
		}
	}
	if len(due) == 0 || patient.Role != models.RolePatient {
		return nil
	}
	links, err := a.carers.ActiveCarers(ctx, patient.ID, models.ScopeMissedDoseAlerts)
	if err != nil {
		return err
	}
	name := patientFirstName(patient)
	queued := 0
	for _, l := range links {
		for _, d := range due {
			_, created, err := a.outbox.Enqueue(ctx, models.Notification{
				ID: models.CarerMissedDoseAlertID(d.ID, l.CarerID), RecipientID: l.CarerID, PatientID: patient.ID,
				Kind: models.KindCarerMissedDose, Text: pushText(msgCarerMissedDoseTitle, msgCarerMissedDoseBody, map[string]string{"name": name}),
				RespectQuietHours: true, DueAt: now,
			})
			if err != nil {
				return err
			}
			if created {
				queued++
			}
		}
	}
	if queued > 0 {
		a.log.InfoContext(ctx, "carer missed-dose alerts queued", "patient", patient.ID, "doses", len(due), "alerts", queued)
	}
	return nil
}

// ReadingsStored queues one urgent alert to every carer with
// reading_alerts when the new readings (one upload: a reading, or a batch
// of up to MaxReadingBatch) hold a severe one taken at most
// MaxSevereReadingAlertAge before it was stored, unless the carer was
// alerted about the patient in this models.CarerSevereReadingAlertWindow
// already (ReadingObserver). Failures are logged: the readings are stored
// whatever happens here.
func (a *CarerAlerts) ReadingsStored(ctx context.Context, patient models.User, rs []models.Reading) {
	if patient.Role != models.RolePatient {
		return
	}
	severe := 0
	for _, r := range rs {
		if r.IsSevere() && r.CreatedAt.Sub(r.TakenAt) <= MaxSevereReadingAlertAge {
			severe++
		}
	}
	if severe == 0 {
		return
	}
	if err := a.alertSevereReadings(ctx, patient, severe); err != nil {
		a.log.ErrorContext(ctx, "carer severe-reading alert not queued", "patient", patient.ID, "readings", severe, "err", err)
	}
}

func (a *CarerAlerts) alertSevereReadings(ctx context.Context, patient models.User, severe int) error {
	links, err := a.carers.ActiveCarers(ctx, patient.ID, models.ScopeReadingAlerts)
	if err != nil {
		return err
	}
	now := a.now()
	name := patientFirstName(patient)
	queued := 0
	for _, l := range links {
		_, created, err := a.outbox.Enqueue(ctx, models.Notification{
			ID: models.CarerSevereReadingAlertID(patient.ID, l.CarerID, now), RecipientID: l.CarerID, PatientID: patient.ID,
			Kind:   models.KindCarerSevereReading,
			Text:   pushText(msgCarerSevereReadingTitle, msgCarerSevereReadingBody, map[string]string{"name": name}),
			Urgent: true, RespectQuietHours: false, DueAt: now,
		})
		if err != nil {
			return err
		}
		if created {
			queued++
		}
	}
	if queued > 0 {
		a.log.InfoContext(ctx, "carer severe-reading alerts queued", "patient", patient.ID, "readings", severe, "alerts", queued)
	}
	return nil
}

// patientFirstName is how a push names the patient: the first name, or ""
// when the account has none (the text then says "Someone you care for" in
// the carer's language).
func patientFirstName(u models.User) string {
	return u.FirstName()
}
