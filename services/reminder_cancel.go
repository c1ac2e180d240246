package services

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/concord-health/concord/models"
)

// Cancelling the reminders of logged doses.
const (
	// recentlyLogged is how long a dose logged in this process is
	// remembered, to cancel a reminder queued just as it was logged.
	recentlyLogged = time.Hour
	// reasonDoseLogged is the cancel reason of a reminder or follow-up whose
	// doses were all logged before it was pushed.
	reasonDoseLogged = "dose_logged"
)

// DoseLogged cancels the pending reminder and follow-up of the dose's
// slot when the patient logs a dose that was pending and no other dose of
// the slot still is, and the dose's pending snoozed reminders
// (DoseObserver). They are found by the keys they were queued under
// (models.DoseReminderID, models.DoseFollowUpID, models.DoseSnoozeID). A
// failure is logged, and the notification is then pushed as queued.
func (r *Reminders) DoseLogged(ctx context.Context, patient models.User, prev, next models.Dose) {
	if prev.Status != models.DosePending || next.Status == models.DosePending || next.AsNeeded {
		return
	}
	r.logged.add(next.ID, r.now().UTC())
	grace := patient.Preferences.DoseGrace()
	for _, id := range []string{
		models.DoseReminderID(patient.ID, next.LocalDate, next.LocalTime),
		models.DoseFollowUpID(patient.ID, next.LocalDate, next.LocalTime),
	} {
		n, err := r.src.Notifications.Get(ctx, id)
		if models.IsCode(err, models.CodeNotFound) {
			continue
		}
		if err == nil && n.State == models.NotificationPending {
			var pending []models.Dose
			pending, err = r.pendingDoses(ctx, slices.DeleteFunc(slices.Clone(n.DoseIDs), func(id string) bool { return id == next.ID }), r.now().UTC(), grace)
			if err == nil && len(pending) == 0 {
				_, err = r.outbox.Cancel(ctx, id, reasonDoseLogged)
			}
		}
		if err != nil {
			r.log.ErrorContext(ctx, "reminder not cancelled after a dose was logged", "notification", id, "err", err)
		}
	}
	for i := 1; i <= models.MaxDoseSnoozes; i++ {
		id := models.DoseSnoozeID(next.ID, i)
		if _, err := r.outbox.Cancel(ctx, id, reasonDoseLogged); err != nil {
			r.log.ErrorContext(ctx, "snoozed reminder not cancelled after a dose was logged", "notification", id, "err", err)
		}
	}
}

// enqueue queues a reminder or follow-up and reports whether this call
// created it. If it did and one of its doses was logged in this process
// meanwhile (just as it was queued, too early for DoseLogged to find it),
// it reads the doses again and cancels the notification if none is
// pending.
func (r *Reminders) enqueue(ctx context.Context, n models.Notification, grace time.Duration) (bool, error) {
	_, created, err := r.outbox.Enqueue(ctx, n)
	if err != nil || !created || !r.logged.any(n.DoseIDs) {
		return created, err
	}
	pending, err := r.pendingDoses(ctx, n.DoseIDs, r.now().UTC(), grace)
	if err != nil || len(pending) > 0 {
		return created, err
	}
	_, err = r.outbox.Cancel(ctx, n.ID, reasonDoseLogged)
	return created, err
}

// loggedDoses remembers, by id, the doses logged through this process in
// the last recentlyLogged. DoseLogged (from requests) adds to it while the
// steps read it.
type loggedDoses struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (l *loggedDoses) add(id string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.at == nil {
		l.at = map[string]time.Time{}
	}
	l.at[id] = at
}

// any reports whether one of the doses was logged lately.
func (l *loggedDoses) any(ids []string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		if _, ok := l.at[id]; ok {
			return true
		}
	}
	return false
}

// forget drops the doses logged more than recentlyLogged before now.
func (l *loggedDoses) forget(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, at := range l.at {
		if now.Sub(at) > recentlyLogged {
			delete(l.at, id)
		}
	}
}
