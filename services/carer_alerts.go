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
// carer's quiet hours) and a reading in a severe band (carers sharing
// reading_alerts, urgent: quiet hours do not hold it back). Only active
// links count: never a paused or revoked one. Each alert's id is its
// dedupe key, per dose or reading and carer, so however often an event is
// reported each carer hears of it once. Pushes name the patient by first
// name only and carry no values or medicine names.
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

// CarerMissedDoseAlertID is the dedupe key of the alert to a carer about a
// missed dose.
func CarerMissedDoseAlertID(doseID, carerID string) string {
	return string(models.KindCarerMissedDose) + ":" + doseID + ":" + carerID
}

// CarerSevereReadingAlertID is the dedupe key of the alert to a carer about
// a severe reading.
func CarerSevereReadingAlertID(readingID, carerID string) string {
	return string(models.KindCarerSevereReading) + ":" + readingID + ":" + carerID
}

// AlertMissedDoses queues one alert per missed scheduled dose of the
// patient and carer with missed_dose_alerts, due now; the scheduler calls
// it with the doses Doses.MarkMissed returned. Doses missed more than
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
				ID: CarerMissedDoseAlertID(d.ID, l.CarerID), RecipientID: l.CarerID, PatientID: patient.ID,
				Kind: models.KindCarerMissedDose, Title: "Missed dose", Body: name + " missed a dose",
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

// ReadingStored queues an urgent alert to every carer with reading_alerts
// when a new reading is in a severe band (ReadingObserver). Failures are
// logged: the reading is stored whatever happens here.
func (a *CarerAlerts) ReadingStored(ctx context.Context, patient models.User, r models.Reading) {
	if !r.IsSevere() || patient.Role != models.RolePatient {
		return
	}
	if err := a.alertSevereReading(ctx, patient, r); err != nil {
		a.log.ErrorContext(ctx, "carer severe-reading alert not queued", "patient", patient.ID, "reading", r.ID, "err", err)
	}
}

func (a *CarerAlerts) alertSevereReading(ctx context.Context, patient models.User, r models.Reading) error {
	links, err := a.carers.ActiveCarers(ctx, patient.ID, models.ScopeReadingAlerts)
	if err != nil {
		return err
	}
	now := a.now()
	name := patientFirstName(patient)
	queued := 0
	for _, l := range links {
		_, created, err := a.outbox.Enqueue(ctx, models.Notification{
			ID: CarerSevereReadingAlertID(r.ID, l.CarerID), RecipientID: l.CarerID, PatientID: patient.ID,
			Kind: models.KindCarerSevereReading, Title: "Reading needs attention",
			Body:   name + " logged a reading that needs attention",
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
		a.log.InfoContext(ctx, "carer severe-reading alerts queued", "patient", patient.ID, "reading", r.ID, "alerts", queued)
	}
	return nil
}

// patientFirstName is how a push names the patient: the first name, or a
// neutral word when the account has none.
func patientFirstName(u models.User) string {
	if n := u.FirstName(); n != "" {
		return n
	}
	return "Someone you care for"
}
