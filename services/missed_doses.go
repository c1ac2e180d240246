package services

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/concord-health/concord/models"
)

// Missed-dose marking figures.
const (
	// DefaultReminderSweepInterval is the longest a dose the schedules no
	// longer show (a schedule edited, or a medicine stopped, between the
	// dose's time and the end of its grace period) stays pending past its
	// grace period before the missed step's sweep marks it missed and its
	// carers are told. The sweep is not run every tick: it reads every
	// pending dose past the shortest grace period, those still within
	// their own grace periods too, which at 10,000 schedules is thousands
	// of doses.
	DefaultReminderSweepInterval = 15 * time.Minute
	// reminderMissedLookback is how long after a dose's grace period ended
	// the missed step still looks at it by its schedule; after a longer gap
	// between ticks the sweep catches what ended unseen.
	reminderMissedLookback = time.Hour
	// reminderSweepLimit bounds one sweep; a full one sweeps again next tick.
	reminderSweepLimit = 5000
	// reminderSweepMinGrace is the shortest grace period a patient can
	// choose (Preferences.Validate): no dose scheduled later than now minus
	// it can be overdue.
	reminderSweepMinGrace = 15 * time.Minute
	// missedRetries is how many ticks in a row the missed-dose observers
	// are told again of doses one of them failed on before the doses are
	// given up on (and logged).
	missedRetries = 5
)

// MissedDosesFunc hears of doses just marked missed: each dose is passed
// once ever, whichever instance marked it, and again only when an observer
// failed on it (see NewReminders).
type MissedDosesFunc func(ctx context.Context, patient models.User, doses []models.Dose, now time.Time) error

// missedRetry is missed doses to tell the observers of again.
type missedRetry struct {
	patient  models.User
	doses    []models.Dose
	attempts int
}

// missed marks missed the pending doses of each slot whose grace period
// has ended, and passes them to the missed-dose observers. It also sweeps for every overdue
// dose: at once after a start and after a gap between ticks longer than
// reminderMissedLookback (grace periods that ended unseen), and otherwise
// every SweepInterval.
func (r *Reminders) missed(ctx context.Context, t *reminderTick) error {
	fail := failures{step: "missed"}
	r.retryMissed(ctx, t.now)
	marked := 0
	for _, p := range t.patients {
		if ctx.Err() != nil {
			break
		}
		for _, s := range p.slots {
			st := r.slot(p, s)
			if st.missed || t.now.Before(s.at.Add(p.grace)) {
				continue
			}
			doses, err := r.readDoses(ctx, s.doseIDs)
			if err != nil {
				fail.add(err)
				continue
			}
			n, err := r.markMissed(ctx, p.user, doses, t.now)
			if err != nil {
				fail.add(err)
				continue
			}
			marked += n
			st.missed = true
		}
	}
	// After a gap longer than the slots reach back, some grace periods
	// ended unseen: sweep.
	if t.now.Sub(r.lastMiss) > reminderMissedLookback {
		r.nextSweep = t.now
	}
	r.lastMiss = t.now
	if ctx.Err() == nil && !t.now.Before(r.nextSweep) {
		n, err := r.sweep(ctx, t)
		if err != nil {
			fail.add(err)
		}
		marked += n
	}
	if marked > 0 {
		r.log.InfoContext(ctx, "doses marked missed", "count", marked)
	}
	return fail.err()
}

// sweep marks missed every overdue dose still stored as pending (at most
// reminderSweepLimit of them), and reports how many it marked. The next
// sweep is due SweepInterval later, or on the next tick if this one was
// full or failed.
func (r *Reminders) sweep(ctx context.Context, t *reminderTick) (int, error) {
	doses, err := r.src.Doses.ListPendingBefore(ctx, t.now.Add(-reminderSweepMinGrace), reminderSweepLimit)
	if err != nil {
		return 0, err
	}
	byPatient := map[string][]models.Dose{}
	for _, d := range doses {
		byPatient[d.PatientID] = append(byPatient[d.PatientID], d)
	}
	users := map[string]models.User{}
	var unknown []string
	for id := range byPatient {
		if p, ok := t.byID[id]; ok {
			users[id] = p.user
		} else {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		more, err := r.src.Users.GetMany(ctx, unknown)
		if err != nil {
			return 0, err
		}
		for _, u := range more {
			users[u.ID] = u
		}
	}
	fail := failures{step: "sweep"}
	marked := 0
	for _, id := range slices.Sorted(maps.Keys(byPatient)) {
		u, ok := users[id]
		if !ok || ctx.Err() != nil {
			continue
		}
		n, err := r.markMissed(ctx, u, byPatient[id], t.now)
		if err != nil {
			fail.add(err)
		}
		marked += n
	}
	if fail.n == 0 {
		r.nextSweep = t.now.Add(r.cfg.SweepInterval)
		if len(doses) == reminderSweepLimit {
			r.nextSweep = t.now // more to do: again next tick
		}
	}
	r.log.DebugContext(ctx, "overdue dose sweep", "pending", len(doses), "patients", len(byPatient), "marked", marked)
	return marked, fail.err()
}

// markMissed marks missed those of the patient's doses that are stored as
// pending and past their grace period, and passes those it marked to the
// missed-dose observers. It returns how many it marked.
func (r *Reminders) markMissed(ctx context.Context, patient models.User, doses []models.Dose, now time.Time) (int, error) {
	grace := patient.Preferences.DoseGrace()
	overdue := slices.DeleteFunc(slices.Clone(doses), func(d models.Dose) bool {
		return d.Status != models.DosePending || d.EffectiveStatus(now, grace) != models.DoseMissed
	})
	if len(overdue) == 0 {
		return 0, nil
	}
	missed, err := r.planner.MarkMissedDoses(ctx, patient, overdue, now)
	if len(missed) > 0 {
		r.tellMissed(ctx, patient, missed, now, 0)
	}
	return len(missed), err
}

// tellMissed passes missed doses to every missed-dose observer (even when
// one fails), keeping them to try again on the next tick if one failed, up
// to missedRetries attempts in all.
func (r *Reminders) tellMissed(ctx context.Context, patient models.User, doses []models.Dose, now time.Time, attempts int) {
	errs := make([]error, 0, len(r.onMissed))
	for _, observe := range r.onMissed {
		if observe != nil {
			errs = append(errs, observe(ctx, patient, doses, now))
		}
	}
	err := errors.Join(errs...)
	if err == nil {
		return
	}
	attempts++
	if attempts >= missedRetries {
		r.log.ErrorContext(ctx, "missed doses not passed on; giving up", "patient", patient.ID, "doses", len(doses), "attempts", attempts, "err", err)
		return
	}
	r.log.WarnContext(ctx, "missed doses not passed on; will try again", "patient", patient.ID, "doses", len(doses), "err", err)
	r.retries = append(r.retries, missedRetry{patient: patient, doses: doses, attempts: attempts})
}

// retryMissed tells the missed-dose observers again of the doses one of
// them failed on.
func (r *Reminders) retryMissed(ctx context.Context, now time.Time) {
	retries := r.retries
	r.retries = nil
	for _, m := range retries {
		r.tellMissed(ctx, m.patient, m.doses, now, m.attempts)
	}
}
