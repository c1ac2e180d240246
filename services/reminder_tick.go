package services

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
)

// reminderTick is what one tick works on: the patients with active
// medications, in id order, and their dose slots within reach.
type reminderTick struct {
	now      time.Time
	patients []*reminderPatient
	byID     map[string]*reminderPatient
}

// reminderPatient is a patient with active medications (in id order).
type reminderPatient struct {
	user     models.User
	loc      *time.Location
	grace    time.Duration
	followUp time.Duration
	meds     []models.Medication
	slots    []doseSlot
}

// doseSlot is the patient's doses at one local date and time: what one
// reminder and one follow-up are about.
type doseSlot struct {
	reminderID           string // models.DoseReminderID: also what this process remembers the slot by
	localDate, localTime string
	at                   time.Time
	doseIDs              []string
}

// run runs one step on the tick's view of the schedules (load): the
// materialise step builds it; the later steps of the same tick (same now)
// share it, and build their own otherwise.
func (r *Reminders) run(ctx context.Context, now time.Time, fresh bool, step func(context.Context, *reminderTick) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now = now.UTC()
	if fresh || r.tick == nil || !r.tick.now.Equal(now) {
		t, err := r.load(ctx, now)
		if err != nil {
			return err
		}
		r.tick = t
	}
	return step(ctx, r.tick)
}

// load builds the tick from the active schedules: each patient's dose
// slots from a grace period and reminderMissedLookback before now up to
// now. Accounts that are not patients are left out.
func (r *Reminders) load(ctx context.Context, now time.Time) (*reminderTick, error) {
	byPatient, users, err := r.schedules.active(ctx, now)
	if err != nil {
		return nil, err
	}
	t := &reminderTick{now: now, byID: make(map[string]*reminderPatient, len(users))}
	for _, u := range users {
		if u.Role != models.RolePatient {
			continue
		}
		meds := byPatient[u.ID]
		slices.SortFunc(meds, func(a, b models.Medication) int { return strings.Compare(a.ID, b.ID) })
		p := &reminderPatient{user: u, loc: r.zone(u.Timezone), grace: u.Preferences.DoseGrace(),
			followUp: u.Preferences.FollowUp(), meds: meds}
		p.slots = doseSlots(p, now.Add(-p.grace-reminderMissedLookback), now)
		t.patients = append(t.patients, p)
		t.byID[u.ID] = p
	}
	slices.SortFunc(t.patients, func(a, b *reminderPatient) int { return strings.Compare(a.user.ID, b.user.ID) })
	return t, nil
}

// doseSlots groups the doses the patient's schedules put in (from, to] by
// local date and time, in time order. They are the doses DosePlanner
// stored: the same plan (models.PlanDoses) from the same start.
func doseSlots(p *reminderPatient, from, to time.Time) []doseSlot {
	byID := map[string]*doseSlot{}
	for _, m := range p.meds {
		if m.Schedule.AsNeeded {
			continue
		}
		for _, d := range models.PlanDoses(m, p.loc, latest(from.Add(time.Millisecond), m.CreatedAt), to.Add(time.Millisecond)) {
			id := models.DoseReminderID(p.user.ID, d.LocalDate, d.LocalTime)
			s := byID[id]
			if s == nil {
				s = &doseSlot{reminderID: id, localDate: d.LocalDate, localTime: d.LocalTime, at: d.ScheduledAt}
				byID[id] = s
			}
			s.doseIDs = append(s.doseIDs, d.ID)
		}
	}
	out := make([]doseSlot, 0, len(byID))
	for _, s := range byID {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b doseSlot) int {
		return cmp.Or(a.at.Compare(b.at), strings.Compare(a.reminderID, b.reminderID))
	})
	return out
}

// zone returns the time zone named tz (UTC if unknown), loaded once.
func (r *Reminders) zone(tz string) *time.Location {
	if loc, ok := r.zones[tz]; ok {
		return loc
	}
	loc := models.User{Timezone: tz}.Location()
	r.zones[tz] = loc
	return loc
}
