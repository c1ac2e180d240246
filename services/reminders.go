package services

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/concord-health/concord/models"
)

// ReminderDoseStore is what Reminders reads of doses (the dose store):
// doses by id, plan records by medication, and every overdue pending dose.
type ReminderDoseStore interface {
	Get(ctx context.Context, id string) (models.Dose, error)
	DosePlan(ctx context.Context, medicationID string) (fingerprint string, through time.Time, err error)
	ListPendingBefore(ctx context.Context, cutoff time.Time, limit int) ([]models.Dose, error)
}

// NotificationRecords reads notifications' records by id (the
// notification store).
type NotificationRecords interface {
	Get(ctx context.Context, id string) (models.Notification, error)
}

// ReminderSources are where Reminders reads from.
type ReminderSources struct {
	Medications   ActiveMedicationLister
	Users         UserBatchDirectory
	Doses         ReminderDoseStore
	Notifications NotificationRecords
}

// ReminderPlanner plans doses and marks them missed (DosePlanner).
type ReminderPlanner interface {
	MaterializeMedication(ctx context.Context, patient models.User, medicationID string, now time.Time) error
	MarkMissedDoses(ctx context.Context, patient models.User, doses []models.Dose, now time.Time) ([]models.Dose, error)
}

// ReminderOutbox queues and cancels notifications (Notifications).
type ReminderOutbox interface {
	Enqueue(ctx context.Context, n models.Notification) (models.Notification, bool, error)
	Cancel(ctx context.Context, id, reason string) (bool, error)
}

// ReminderConfig tunes Reminders; zero fields take the defaults.
type ReminderConfig struct {
	// MaxPlansPerTick bounds the medications planned per tick
	// (DefaultMaxPlansPerTick).
	MaxPlansPerTick int
	// MaxPlanReadsPerTick bounds the plan records read per tick
	// (DefaultMaxPlanReadsPerTick).
	MaxPlanReadsPerTick int
	// SweepInterval is how often the missed step sweeps for every overdue
	// dose (DefaultReminderSweepInterval).
	SweepInterval time.Duration
	// RefreshInterval is how often the steps read every active medication
	// and its patient again (DefaultReminderRefreshInterval); in between
	// they work from what they read, kept current by MedicationChanged.
	RefreshInterval time.Duration
}

// Reminders is the patient's side of the scheduler: five Steps, to run in
// this order before delivery. With any number of instances ticking on one
// database, they guarantee:
//
//   - materialise: every active medication's doses are planned
//     DoseHorizon ahead and in line with its schedule (DosePlanner).
//   - remind: one reminder per patient and local dose time, whatever the
//     number of medicines due then (models.DoseReminderID), queued at the
//     doses' time and expiring with their grace period (DoseGrace): never
//     pushed for a dose already missed. After downtime the reminders still
//     within grace are pushed once, late.
//   - follow_up: one follow-up (models.DoseFollowUpID) FollowUp() after the
//     doses' time, or after a late reminder was queued, if a dose is still
//     pending and its grace period has not ended.
//   - missed: each dose is marked missed once when its grace period ends,
//     and passed to the missed-dose observers.
//   - refill: one reminder per running-low episode of a medicine
//     (models.RefillReminderID).
//
// Reminders and follow-ups are urgent (quiet hours never delay what the
// patient set); a refill reminder waits for the end of quiet hours. A
// reminder or follow-up whose doses are all logged before it is pushed is
// cancelled (DoseLogged); one already on its way may still arrive. Pushes
// name no medicine unless the patient opted in (Preferences.PushDetails);
// they carry the dose ids (opaque) and the models.DoseReminderCategory for
// the app's "Taken" and "Snooze" actions.
type Reminders struct {
	cfg       ReminderConfig
	src       ReminderSources
	planner   ReminderPlanner
	outbox    ReminderOutbox
	onMissed  []MissedDosesFunc
	now       func() time.Time
	log       *slog.Logger
	schedules *activeSchedules
	logged    loggedDoses

	// mu guards the steps' state: steps run one at a time, but nothing
	// stops two schedulers sharing a Reminders. What this process has done
	// is remembered here; a restarted instance looks again, once, at what
	// is still within reach.
	mu        sync.Mutex
	tick      *reminderTick
	zones     map[string]*time.Location
	plans     map[string]planState  // by medication id
	slots     map[string]*slotState // by doseSlot.reminderID
	refills   map[string]string     // medication id → run-out date reminded
	retries   []missedRetry
	nextSweep time.Time
	lastMiss  time.Time // tick time of the last missed step
}

// NewReminders returns the reminders. Every onMissed observer (carer
// alerts and review flags) hears of the doses the missed step marks
// missed, each dose once; none: nobody is told. When one fails, every
// observer is told again of the same doses on the next ticks (up to 5
// times, in this process), so each must be idempotent.
func NewReminders(cfg ReminderConfig, src ReminderSources, planner ReminderPlanner, outbox ReminderOutbox, now func() time.Time, log *slog.Logger, onMissed ...MissedDosesFunc) *Reminders {
	cfg.MaxPlansPerTick = cmp.Or(cfg.MaxPlansPerTick, DefaultMaxPlansPerTick)
	cfg.MaxPlanReadsPerTick = cmp.Or(cfg.MaxPlanReadsPerTick, DefaultMaxPlanReadsPerTick)
	cfg.SweepInterval = cmp.Or(cfg.SweepInterval, DefaultReminderSweepInterval)
	cfg.RefreshInterval = cmp.Or(cfg.RefreshInterval, DefaultReminderRefreshInterval)
	return &Reminders{
		cfg: cfg, src: src, planner: planner, outbox: outbox, onMissed: onMissed, now: now, log: log,
		schedules: newActiveSchedules(src.Medications, src.Users, cfg.RefreshInterval, now, log),
		zones:     map[string]*time.Location{},
		plans:     map[string]planState{},
		slots:     map[string]*slotState{},
		refills:   map[string]string{},
	}
}

// MaterializeStep keeps every active medication's doses planned
// DoseHorizon ahead and in line with its schedule and the patient's time
// zone (DosePlanner.MaterializeMedication), for the medications whose plan
// record says so: a tick where nothing changed plans nothing.
func (r *Reminders) MaterializeStep() Step {
	return Step{Name: "materialise", Run: func(ctx context.Context, now time.Time) error {
		return r.run(ctx, now, true, r.materialise)
	}}
}

// ReminderStep queues the dose reminders whose time has come (see
// Reminders).
func (r *Reminders) ReminderStep() Step {
	return Step{Name: "remind", Run: func(ctx context.Context, now time.Time) error {
		return r.run(ctx, now, false, r.remind)
	}}
}

// FollowUpStep queues the follow-ups of doses still not logged (see
// Reminders).
func (r *Reminders) FollowUpStep() Step {
	return Step{Name: "follow_up", Run: func(ctx context.Context, now time.Time) error {
		return r.run(ctx, now, false, r.followUp)
	}}
}

// MissedStep marks doses missed when their grace period ends and passes
// them to the missed-dose observers; it also sweeps for every overdue dose after a start,
// after a gap between ticks, and every SweepInterval.
func (r *Reminders) MissedStep() Step {
	return Step{Name: "missed", Run: func(ctx context.Context, now time.Time) error {
		return r.run(ctx, now, false, r.missed)
	}}
}

// RefillStep queues a refill reminder for each active medicine whose stock
// is within its refillLeadDays of running out, once per episode.
func (r *Reminders) RefillStep() Step {
	return Step{Name: "refill", Run: func(ctx context.Context, now time.Time) error {
		return r.run(ctx, now, false, r.refill)
	}}
}

// failures counts a step's failures; the step goes on with the next
// patient and reports them at the end.
type failures struct {
	step string
	n    int
	last error
}

func (f *failures) add(err error) {
	f.n++
	f.last = err
}

func (f *failures) err() error {
	if f.n == 0 {
		return nil
	}
	return fmt.Errorf("%s: %d failures, the last: %w", f.step, f.n, f.last)
}

// slotState is what this process has done for a slot.
type slotState struct {
	at                           time.Time
	grace                        time.Duration
	reminded, followedUp, missed bool
}

// slot returns this process's state of a slot.
func (r *Reminders) slot(p *reminderPatient, s doseSlot) *slotState {
	st := r.slots[s.reminderID]
	if st == nil {
		st = &slotState{at: s.at, grace: p.grace}
		r.slots[s.reminderID] = st
	}
	return st
}

// pruneMemory forgets slots out of reach and doses logged long ago.
func (r *Reminders) pruneMemory(now time.Time) {
	for key, st := range r.slots {
		if st.at.Add(st.grace + reminderMissedLookback).Before(now) {
			delete(r.slots, key)
		}
	}
	r.logged.forget(now)
}

// remind queues the reminder of each slot whose time has come and whose
// grace period has not ended, if one of its doses is still pending.
func (r *Reminders) remind(ctx context.Context, t *reminderTick) error {
	r.pruneMemory(t.now)
	fail := failures{step: "remind"}
	queued := 0
	for _, p := range t.patients {
		if ctx.Err() != nil {
			break
		}
		for _, s := range p.slots {
			st := r.slot(p, s)
			if st.reminded || t.now.Before(s.at) || !t.now.Before(s.at.Add(p.grace)) {
				continue
			}
			pending, err := r.pendingDoses(ctx, s.doseIDs, t.now, p.grace)
			if err != nil {
				fail.add(err)
				continue
			}
			// Only doses whose own time has come: the stored instant is the
			// truth if the patient's zone changed since the last refresh.
			pending = slices.DeleteFunc(pending, func(d models.Dose) bool { return d.ScheduledAt.After(t.now) })
			if len(pending) > 0 {
				created, err := r.queueDoseNotification(ctx, models.KindDoseReminder, p, s, pending, s.at)
				if err != nil {
					fail.add(err)
					continue
				}
				if created {
					queued++
				}
			}
			st.reminded = true
		}
	}
	if queued > 0 {
		r.log.DebugContext(ctx, "dose reminders queued", "count", queued)
	}
	return fail.err()
}

// followUp queues the follow-up of each slot FollowUp() after its time (or
// after its reminder was queued, if later), if a dose it reminded of is
// still pending and the grace period has not ended.
func (r *Reminders) followUp(ctx context.Context, t *reminderTick) error {
	fail := failures{step: "follow_up"}
	queued := 0
	for _, p := range t.patients {
		if ctx.Err() != nil {
			break
		}
		for _, s := range p.slots {
			st := r.slot(p, s)
			end := s.at.Add(p.grace)
			if st.followedUp || p.followUp <= 0 || t.now.Before(s.at.Add(p.followUp)) || !t.now.Before(end) {
				continue
			}
			rem, err := r.src.Notifications.Get(ctx, s.reminderID)
			if models.IsCode(err, models.CodeNotFound) {
				// No reminder: none of the doses was pending when it was
				// due (or, if this process has not decided that yet, try
				// again next tick).
				st.followedUp = st.reminded
				continue
			}
			if err != nil {
				fail.add(err)
				continue
			}
			due := latest(s.at.Add(p.followUp), rem.CreatedAt.Add(p.followUp))
			if due.After(t.now) {
				continue
			}
			ids := rem.DoseIDs
			if len(ids) == 0 {
				ids = s.doseIDs
			}
			var pending []models.Dose
			if due.Before(end) {
				if pending, err = r.pendingDoses(ctx, ids, t.now, p.grace); err != nil {
					fail.add(err)
					continue
				}
			}
			if len(pending) > 0 {
				created, err := r.queueDoseNotification(ctx, models.KindDoseFollowUp, p, s, pending, due)
				if err != nil {
					fail.add(err)
					continue
				}
				if created {
					queued++
				}
			}
			st.followedUp = true
		}
	}
	if queued > 0 {
		r.log.DebugContext(ctx, "dose follow-ups queued", "count", queued)
	}
	return fail.err()
}

// queueDoseNotification enqueues a reminder or follow-up of kind for the
// slot's pending doses, due at; it reports whether it was new.
func (r *Reminders) queueDoseNotification(ctx context.Context, kind models.NotificationKind, p *reminderPatient, s doseSlot, pending []models.Dose, at time.Time) (bool, error) {
	details, lang, err := r.pushDetails(ctx, p)
	if err != nil {
		return false, err
	}
	return r.enqueue(ctx, doseNotification(kind, p, s, pending, at, details, lang), p.grace)
}

// doseNotification is the reminder or follow-up of the pending doses of a
// slot, due at due and expiring when the slot's grace period ends; details
// names the medicines (listed in language lang).
func doseNotification(kind models.NotificationKind, p *reminderPatient, s doseSlot, pending []models.Dose, due time.Time, details bool, lang string) models.Notification {
	var names []string
	if details {
		byID := map[string]models.Medication{}
		for _, m := range p.meds {
			byID[m.ID] = m
		}
		for _, d := range pending {
			if m, ok := byID[d.MedicationID]; ok {
				names = append(names, medicineName(m))
			}
		}
	}
	ids := make([]string, len(pending))
	for i, d := range pending {
		ids[i] = d.ID
	}
	id := s.reminderID
	if kind == models.KindDoseFollowUp {
		id = models.DoseFollowUpID(p.user.ID, s.localDate, s.localTime)
	}
	expires := s.at.Add(p.grace)
	// The recipient is the patient, so no PatientID: the push's data is the
	// notification's id and kind only.
	return models.Notification{
		ID: id, RecipientID: p.user.ID, Kind: kind,
		Text: reminderText(kind, lang, details, s.localTime, names), Urgent: true, DueAt: due, ExpiresAt: &expires, DoseIDs: ids,
	}
}

// readDoses reads the doses by id; those not stored are left out.
func (r *Reminders) readDoses(ctx context.Context, ids []string) ([]models.Dose, error) {
	out := make([]models.Dose, 0, len(ids))
	for _, id := range ids {
		d, err := r.src.Doses.Get(ctx, id)
		if models.IsCode(err, models.CodeNotFound) {
			continue // moved by a schedule edit, or not planned yet
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// pendingDoses reads the doses by id and returns those still pending as
// of now.
func (r *Reminders) pendingDoses(ctx context.Context, ids []string, now time.Time, grace time.Duration) ([]models.Dose, error) {
	doses, err := r.readDoses(ctx, ids)
	return slices.DeleteFunc(doses, func(d models.Dose) bool { return d.EffectiveStatus(now, grace) != models.DosePending }), err
}
