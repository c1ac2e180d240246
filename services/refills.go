package services

import (
	"context"
	"time"

	"github.com/concord-health/concord/models"
)

// refill queues a refill reminder for each active medicine whose stock
// runs out within its refillLeadDays, once per episode (refillEpisode).
func (r *Reminders) refill(ctx context.Context, t *reminderTick) error {
	fail := failures{step: "refill"}
	active := map[string]bool{}
	queued := 0
	for _, p := range t.patients {
		if ctx.Err() != nil {
			break
		}
		for _, m := range p.meds {
			active[m.ID] = true
			out, ok := models.Refill(m, t.now, p.loc)
			if !ok || !out.Due {
				continue
			}
			created, err := r.refillEpisode(ctx, p, m, out, t.now)
			if err != nil {
				fail.add(err)
				continue
			}
			if created {
				queued++
			}
		}
	}
	for id := range r.refills {
		if !active[id] {
			delete(r.refills, id)
		}
	}
	if queued > 0 {
		r.log.DebugContext(ctx, "refill reminders queued", "count", queued)
	}
	return fail.err()
}

// refillEpisode queues the refill reminder of m's current episode unless
// it exists, and reports whether it queued one. A run-out date up to
// refillLeadDays+1 days after the one already reminded of is the same
// episode (missed doses move the prediction later); a refill moves it
// further, and the next episode is reminded of again.
func (r *Reminders) refillEpisode(ctx context.Context, p *reminderPatient, m models.Medication, out models.RefillOutlook, now time.Time) (bool, error) {
	runOut, err := time.Parse(models.LocalDateLayout, out.RunOutDate)
	if err != nil {
		return false, err
	}
	window := m.Stock.RefillLeadDays + 1
	sameEpisode := func(date string) bool {
		d, err := time.Parse(models.LocalDateLayout, date)
		return err == nil && !runOut.Before(d) && !runOut.After(d.AddDate(0, 0, window))
	}
	if date, ok := r.refills[m.ID]; ok && sameEpisode(date) {
		return false, nil
	}
	// Not known here (a restart, another instance): look for the
	// episode's reminder by its possible run-out dates, latest first.
	for back := 0; back <= window; back++ {
		date := runOut.AddDate(0, 0, -back).Format(models.LocalDateLayout)
		_, err := r.src.Notifications.Get(ctx, models.RefillReminderID(m.ID, date))
		if err == nil {
			r.refills[m.ID] = date
			return false, nil
		}
		if !models.IsCode(err, models.CodeNotFound) {
			return false, err
		}
	}
	details, lang, err := r.pushDetails(ctx, p)
	if err != nil {
		return false, err
	}
	// Not urgent: a refill can wait for the end of the patient's quiet
	// hours.
	_, created, err := r.outbox.Enqueue(ctx, models.Notification{
		ID: models.RefillReminderID(m.ID, out.RunOutDate), RecipientID: p.user.ID, Kind: models.KindRefillReminder,
		Text: refillText(lang, details, medicineName(m), out.DaysLeft), RespectQuietHours: true, DueAt: now,
	})
	if err != nil {
		return false, err
	}
	r.refills[m.ID] = out.RunOutDate
	return created, nil
}
