package services

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/concord-health/concord/models"
)

// Reminder scheduling figures.
const (
	// DefaultReminderSweepInterval is how often the missed step also sweeps
	// the store for every overdue pending dose (one indexed query), besides
	// the doses whose grace period it sees end by their schedules. It
	// sweeps at once after a start and after a gap between ticks longer
	// than the hour the schedules are looked back (downtime, a stalled
	// scheduler), and otherwise at this interval, for doses the schedules
	// no longer show (a schedule edited, or a medicine stopped, between a
	// dose's time and the end of its grace period): such a dose is marked
	// missed, and its carers told, at most this long after its grace
	// period ends. Not every tick: the sweep reads every pending dose past
	// the shortest grace period, those still within their own grace
	// periods too, which at 10,000 schedules is thousands of doses.
	DefaultReminderSweepInterval = 15 * time.Minute
	// DefaultMaxPlansPerTick bounds how many medications one tick plans, so
	// that planning never holds up the reminders of the same tick. Each
	// medication is planned DoseHorizon ahead and extended about once a
	// day, so 100 a tick (400 a minute at the default interval) keeps up
	// with far more medications than one database holds; edits are planned
	// by the request that makes them.
	DefaultMaxPlansPerTick = 100
	// DefaultReminderRefreshInterval is how often Reminders re-reads every
	// active medication and its patient: the steps work from the
	// schedules, not from a query of due doses, and reading 10,000
	// schedules every tick would be most of the tick's work. Changes made
	// through this process are seen at once (MedicationChanged); those
	// made through another instance, the stock that doses taken use up,
	// and patients' settings within this interval. Push texts always
	// follow the patient's current PushDetails: the patient is read again
	// before a notification is made.
	DefaultReminderRefreshInterval = 5 * time.Minute
	// DefaultMaxPlanReadsPerTick bounds how many dose-plan records one tick
	// reads (by id) to learn the state of medications it has not seen yet:
	// after a start, the plans of 10,000 medications are learnt in 10
	// ticks, while reminders go on from the first.
	DefaultMaxPlanReadsPerTick = 1000
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
	// recentlyLogged is how long a dose logged in this process is
	// remembered, to cancel a reminder queued just as it was logged.
	recentlyLogged = time.Hour
	// missedRetries is how many ticks in a row an OnMissed call that fails
	// is tried again before the doses are given up on (and logged).
	missedRetries = 5
	// reasonDoseLogged is the cancel reason of a reminder or follow-up whose
	// doses were all logged before it was pushed.
	reasonDoseLogged = "dose_logged"
	// maxReminderNames is how many medicines a detailed reminder names
	// before "and N more".
	maxReminderNames = 5
)

// reminderTexts are the push texts of the patient's own reminders, in one
// place. The generic text is the default and carries no health data: it
// says that medicines are due, never which (DESIGN, "Push payloads carry
// no health data by default"). The detailed text, used only when the
// patient opted in (Preferences.PushDetails), names them. {time} is the
// dose's local time ("08:00"), {medicines} the medicines' names and
// strengths, {days} the stock left ("about 5 days").
var reminderTexts = map[models.NotificationKind]struct{ title, generic, detailed string }{
	models.KindDoseReminder:   {"Reminder", "Time for your {time} medicines", "Time for your {time} medicines: {medicines}"},
	models.KindDoseFollowUp:   {"Reminder", "Have you taken your {time} medicines?", "Have you taken your {time} medicines? {medicines}"},
	models.KindRefillReminder: {"Reminder", "One of your medicines is running low", "{medicines} is running low: {days} left"},
}

// reminderText returns the title and body of a reminder of kind.
func reminderText(kind models.NotificationKind, details bool, localTime string, medicines []string, days string) (title, body string) {
	t := reminderTexts[kind]
	body = t.generic
	if details && len(medicines) > 0 {
		body = t.detailed
	}
	body = strings.NewReplacer("{time}", localTime, "{medicines}", joinNames(medicines), "{days}", days).Replace(body)
	if utf8.RuneCountInString(body) > models.MaxNotificationBody {
		body = string([]rune(body)[:models.MaxNotificationBody-1]) + "…"
	}
	return t.title, body
}

// joinNames lists names as "A", "A and B", "A, B and C", naming at most
// maxReminderNames.
func joinNames(names []string) string {
	if len(names) > maxReminderNames {
		rest := len(names) - (maxReminderNames - 1)
		names = append(slices.Clone(names[:maxReminderNames-1]), strconv.Itoa(rest)+" more")
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// daysText says how long stock lasts: "less than a day", "about 1 day",
// "about 5 days".
func daysText(days float64) string {
	switch d := int(math.Floor(days)); {
	case d < 1:
		return "less than a day"
	case d == 1:
		return "about 1 day"
	default:
		return "about " + strconv.Itoa(d) + " days"
	}
}

// ActiveMedicationLister lists every patient's active medications in one
// read (the medication store).
type ActiveMedicationLister interface {
	ListActive(ctx context.Context) ([]models.Medication, error)
}

// ReminderUsers reads accounts, one or many at once (the user store).
type ReminderUsers interface {
	Get(ctx context.Context, id string) (models.User, error)
	GetMany(ctx context.Context, ids []string) ([]models.User, error)
}

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
	Users         ReminderUsers
	Doses         ReminderDoseStore
	Notifications NotificationRecords
}

// ReminderPlanner plans doses and marks them missed (Doses).
type ReminderPlanner interface {
	MaterializeMedication(ctx context.Context, patient models.User, medicationID string, now time.Time) error
	MarkMissedDoses(ctx context.Context, patient models.User, doses []models.Dose, now time.Time) ([]models.Dose, error)
}

// ReminderOutbox queues and cancels notifications (Notifications).
type ReminderOutbox interface {
	Enqueue(ctx context.Context, n models.Notification) (models.Notification, bool, error)
	Cancel(ctx context.Context, id, reason string) (bool, error)
}

// MissedDosesFunc hears of doses just marked missed: each dose is passed
// once ever, whichever instance marked it (see ReminderConfig.OnMissed).
type MissedDosesFunc func(ctx context.Context, patient models.User, doses []models.Dose, now time.Time) error

// NotifyMissed returns a MissedDosesFunc that passes the doses to every
// handler (even when one fails) and returns their errors joined.
func NotifyMissed(handlers ...MissedDosesFunc) MissedDosesFunc {
	return func(ctx context.Context, patient models.User, doses []models.Dose, now time.Time) error {
		errs := make([]error, 0, len(handlers))
		for _, h := range handlers {
			errs = append(errs, h(ctx, patient, doses, now))
		}
		return errors.Join(errs...)
	}
}

// ReminderConfig tunes Reminders; zero fields take the defaults.
type ReminderConfig struct {
	// OnMissed hears of the doses the missed step marks missed (carer
	// alerts and review flags plug in here); nil: nobody is told. When it
	// fails it is called again with the same doses on the next ticks (up
	// to 5 times, in this process), so it must be idempotent.
	OnMissed MissedDosesFunc
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

// Reminders is the patient's side of the scheduler: it keeps doses planned
// (materialise), pushes a reminder at each dose's time and a follow-up
// after it (remind, follow_up), marks doses missed when their grace period
// ends and passes them to OnMissed (missed), and reminds patients to
// reorder a medicine that is running low (refill). Each is a scheduler
// Step; run them in that order, before delivery.
//
// Reminders group doses: one reminder per patient and local dose time
// ("Time for your 08:00 medicines"), whatever the number of medicines due
// then, with the dedupe key "dose_reminder:<patientId>:<local date>T<local
// time>" (the follow-up's is "dose_follow_up:…"); the dose ids are kept
// with the record, never in the push. A reminder is queued at the dose's
// time, due then, and expires with its grace period (DoseGrace), so a
// reminder is never pushed for a dose already missed; after downtime the
// reminders still within grace are pushed once, late. A follow-up is
// queued FollowUp() after the dose's time, or after the reminder was
// queued if that was late, if a dose is still not logged and its grace
// period has not ended. Both are urgent: quiet hours never delay what the
// patient set. A reminder or follow-up whose doses are all logged before
// it is pushed is cancelled (DoseLogged); one already on its way may still
// arrive. Refill reminders: "refill_reminder:<medicationId>:<run-out
// date>", one per running-low episode (a run-out date moving a few days
// later because doses were missed is the same episode), respecting quiet
// hours.
//
// Any number of instances may run the steps on one database: the dedupe
// keys make each notification once, and Doses marks each dose missed
// once. Work is found from the schedules, read in one query of all active
// medications (and one of their patients) every RefreshInterval and kept
// current in between by MedicationChanged; doses are read by id only when
// one is due, and what each instance has done is remembered in memory, so
// a tick with nothing due reads nothing at all. A restarted instance looks
// again, once, at what is still within reach.
type Reminders struct {
	cfg     ReminderConfig
	src     ReminderSources
	planner ReminderPlanner
	outbox  ReminderOutbox
	now     func() time.Time
	log     *slog.Logger

	// mu guards the scheduler's state: steps run one at a time, but
	// nothing stops two schedulers sharing a Reminders.
	mu        sync.Mutex
	tick      *reminderTick
	zones     map[string]*time.Location
	plans     map[string]planState // by medication id
	slots     map[string]*slotState
	refills   map[string]string // medication id → run-out date reminded
	retries   []missedRetry
	nextSweep time.Time
	lastMiss  time.Time // tick time of the last missed step

	// loggedMu guards logged: doses logged through this process lately
	// (DoseLogged, called from requests), by id.
	loggedMu sync.Mutex
	logged   map[string]time.Time

	// cacheMu guards the medications (by id; stopped ones only until the
	// next refresh) and their patients as last read, kept current between
	// refreshes by MedicationChanged (called from requests).
	cacheMu   sync.Mutex
	meds      map[string]models.Medication
	users     map[string]models.User
	refreshed time.Time // tick time of the last refresh; zero: never
}

// NewReminders returns the reminders.
func NewReminders(cfg ReminderConfig, src ReminderSources, planner ReminderPlanner, outbox ReminderOutbox, now func() time.Time, log *slog.Logger) *Reminders {
	cfg.MaxPlansPerTick = cmp.Or(cfg.MaxPlansPerTick, DefaultMaxPlansPerTick)
	cfg.MaxPlanReadsPerTick = cmp.Or(cfg.MaxPlanReadsPerTick, DefaultMaxPlanReadsPerTick)
	cfg.SweepInterval = cmp.Or(cfg.SweepInterval, DefaultReminderSweepInterval)
	cfg.RefreshInterval = cmp.Or(cfg.RefreshInterval, DefaultReminderRefreshInterval)
	return &Reminders{cfg: cfg, src: src, planner: planner, outbox: outbox, now: now, log: log,
		zones: map[string]*time.Location{}, plans: map[string]planState{}, slots: map[string]*slotState{},
		refills: map[string]string{}, logged: map[string]time.Time{},
		meds: map[string]models.Medication{}, users: map[string]models.User{}}
}

// reminderTick is what one tick reads: the patients with active
// medications, and their dose slots within reach.
type reminderTick struct {
	now      time.Time
	patients []*reminderPatient
	byID     map[string]*reminderPatient
}

// reminderPatient is a patient with active medications.
type reminderPatient struct {
	user     models.User
	loc      *time.Location
	grace    time.Duration
	followUp time.Duration
	meds     []models.Medication
	slots    []doseSlot
}

// doseSlot is the patient's doses at one local date and time.
type doseSlot struct {
	key                  string // "<patientId>:<local date>T<local time>"
	localDate, localTime string
	at                   time.Time
	doseIDs              []string
}

// slotState is what this process has done for a slot.
type slotState struct {
	at                           time.Time
	grace                        time.Duration
	reminded, followedUp, missed bool
}

// planState is a medication's plan record as last read.
type planState struct {
	fingerprint string
	through     time.Time
}

// missedRetry is an OnMissed call to try again.
type missedRetry struct {
	patient  models.User
	doses    []models.Dose
	attempts int
}

// MaterializeStep keeps every active medication's doses planned
// DoseHorizon ahead and in line with its schedule and the patient's time
// zone (Doses.MaterializeMedication), for the medications whose plan
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
// them to OnMissed; it also sweeps for every overdue dose after a start,
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

// run runs one step on the tick's view of the schedules (load): the
// materialise step builds it; the later steps of the same tick (same now)
// share it, and build their own otherwise.
func (r *Reminders) run(ctx context.Context, now time.Time, fresh bool, step func(context.Context, *reminderTick) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now = now.UTC().Truncate(time.Millisecond)
	if fresh || r.tick == nil || !r.tick.now.Equal(now) {
		t, err := r.load(ctx, now)
		if err != nil {
			return err
		}
		r.tick = t
	}
	return step(ctx, r.tick)
}

// load builds the tick from the active medications and their patients,
// read again first when RefreshInterval has passed since the last read,
// and works out each patient's dose slots from a grace period and an hour
// before now up to now.
func (r *Reminders) load(ctx context.Context, now time.Time) (*reminderTick, error) {
	if r.refreshed.IsZero() || !now.Before(r.refreshed.Add(r.cfg.RefreshInterval)) {
		if err := r.refresh(ctx, now); err != nil {
			return nil, err
		}
	}
	r.cacheMu.Lock()
	byPatient := map[string][]models.Medication{}
	for _, m := range r.meds {
		if m.Status == models.MedicationActive {
			byPatient[m.PatientID] = append(byPatient[m.PatientID], m)
		}
	}
	users := make([]models.User, 0, len(byPatient))
	for id := range byPatient {
		if u, ok := r.users[id]; ok {
			users = append(users, u)
		}
	}
	r.cacheMu.Unlock()

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

// refreshSkew is how far before a refresh began a change heard from
// MedicationChanged may have happened and still be newer than what the
// refresh read.
const refreshSkew = 5 * time.Second

// refresh reads every active medication and its patient again. What
// MedicationChanged told of while it read, or just before, wins over what
// it read when newer.
func (r *Reminders) refresh(ctx context.Context, now time.Time) error {
	start := r.now().UTC()
	meds, err := r.src.Medications.ListActive(ctx)
	if err != nil {
		return err
	}
	ids := map[string]bool{}
	for _, m := range meds {
		ids[m.PatientID] = true
	}
	users, err := r.src.Users.GetMany(ctx, slices.Sorted(maps.Keys(ids)))
	if err != nil {
		return err
	}
	r.cacheMu.Lock()
	defer r.cacheMu.Unlock()
	nextMeds := make(map[string]models.Medication, len(meds))
	for _, m := range meds {
		nextMeds[m.ID] = m
	}
	nextUsers := make(map[string]models.User, len(users))
	for _, u := range users {
		nextUsers[u.ID] = u
	}
	for id, c := range r.meds {
		read, ok := nextMeds[id]
		if c.UpdatedAt.Before(start.Add(-refreshSkew)) || (ok && !c.UpdatedAt.After(read.UpdatedAt)) {
			continue
		}
		nextMeds[id] = c
		if _, ok := nextUsers[c.PatientID]; !ok {
			if u, ok := r.users[c.PatientID]; ok {
				nextUsers[c.PatientID] = u
			}
		}
	}
	r.meds, r.users, r.refreshed = nextMeds, nextUsers, now
	r.log.DebugContext(ctx, "reminders read the schedules", "medications", len(meds), "patients", len(users))
	return nil
}

// MedicationChanged keeps the steps' view of the patient's medicines
// current between refreshes (MedicationObserver).
func (r *Reminders) MedicationChanged(_ context.Context, patient models.User, m models.Medication) {
	r.cacheMu.Lock()
	defer r.cacheMu.Unlock()
	if c, ok := r.meds[m.ID]; ok && c.UpdatedAt.After(m.UpdatedAt) {
		return
	}
	r.meds[m.ID] = m
	r.users[patient.ID] = patient
}

// doseSlots groups the doses the patient's schedules put in (from, to] by
// local date and time, in time order. They are the doses Doses stored: the
// same plan (models.PlanDoses) from the same start.
func doseSlots(p *reminderPatient, from, to time.Time) []doseSlot {
	byKey := map[string]*doseSlot{}
	for _, m := range p.meds {
		if m.Schedule.AsNeeded {
			continue
		}
		for _, d := range models.PlanDoses(m, p.loc, latest(from.Add(time.Millisecond), m.CreatedAt), to.Add(time.Millisecond)) {
			key := p.user.ID + ":" + d.LocalDate + "T" + d.LocalTime
			s := byKey[key]
			if s == nil {
				s = &doseSlot{key: key, localDate: d.LocalDate, localTime: d.LocalTime, at: d.ScheduledAt}
				byKey[key] = s
			}
			s.doseIDs = append(s.doseIDs, d.ID)
		}
	}
	out := make([]doseSlot, 0, len(byKey))
	for _, s := range byKey {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b doseSlot) int { return cmp.Or(a.at.Compare(b.at), strings.Compare(a.key, b.key)) })
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

// slot returns this process's state of a slot.
func (r *Reminders) slot(p *reminderPatient, s doseSlot) *slotState {
	st := r.slots[s.key]
	if st == nil {
		st = &slotState{at: s.at, grace: p.grace}
		r.slots[s.key] = st
	}
	return st
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

// materialise plans the medications whose plan record is out of date
// (another schedule, status or time zone than planned) or reaches less
// than DoseHorizon-DoseReplanAfter ahead, most urgent first.
func (r *Reminders) materialise(ctx context.Context, t *reminderTick) error {
	fail := failures{step: "materialise"}
	type candidate struct {
		p       *reminderPatient
		m       models.Medication
		through time.Time
	}
	var due []candidate
	active := map[string]bool{}
	reads := 0
	for _, p := range t.patients {
		for _, m := range p.meds {
			active[m.ID] = true
			st, known := r.plans[m.ID]
			if !known {
				if reads >= r.cfg.MaxPlanReadsPerTick {
					continue
				}
				reads++
				fp, through, err := r.src.Doses.DosePlan(ctx, m.ID)
				if err != nil {
					fail.add(err)
					continue
				}
				st = planState{fingerprint: fp, through: through}
				r.plans[m.ID] = st
			}
			current := st.fingerprint == planFingerprint(m, p.loc) &&
				(m.Schedule.AsNeeded || st.through.After(t.now.Add(DoseHorizon-DoseReplanAfter)))
			if !current {
				due = append(due, candidate{p, m, st.through})
			}
		}
	}
	for id := range r.plans {
		if !active[id] {
			delete(r.plans, id)
		}
	}
	slices.SortFunc(due, func(a, b candidate) int { return cmp.Or(a.through.Compare(b.through), strings.Compare(a.m.ID, b.m.ID)) })
	planned := 0
	for _, c := range due[:min(len(due), r.cfg.MaxPlansPerTick)] {
		if ctx.Err() != nil {
			break
		}
		// Forget the plan first: read again next tick if anything fails.
		delete(r.plans, c.m.ID)
		if err := r.planner.MaterializeMedication(ctx, c.p.user, c.m.ID, t.now); err != nil {
			fail.add(err)
			continue
		}
		fp, through, err := r.src.Doses.DosePlan(ctx, c.m.ID)
		if err != nil {
			fail.add(err)
			continue
		}
		r.plans[c.m.ID] = planState{fingerprint: fp, through: through}
		planned++
	}
	if planned > 0 || reads > 0 || len(due) > planned {
		r.log.DebugContext(ctx, "doses materialised", "medications", len(active), "plans_read", reads,
			"planned", planned, "still_due", len(due)-planned)
	}
	return fail.err()
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

// queueDoseNotification enqueues a reminder or follow-up of kind for the
// slot's pending doses, due at; it reports whether it was new.
func (r *Reminders) queueDoseNotification(ctx context.Context, kind models.NotificationKind, p *reminderPatient, s doseSlot, pending []models.Dose, at time.Time) (bool, error) {
	details, err := r.pushDetails(ctx, p)
	if err != nil {
		return false, err
	}
	return r.enqueue(ctx, doseNotification(kind, p, s, pending, at, details), p.grace)
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
			rem, err := r.src.Notifications.Get(ctx, string(models.KindDoseReminder)+":"+s.key)
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

// missed marks missed the pending doses of each slot whose grace period
// has ended, and passes them to OnMissed; after a start and every
// SweepInterval it also sweeps for every overdue dose.
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

// sweep marks missed every overdue dose still stored as pending, and
// reports how many it marked.
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
// pending and past their grace period, and passes those it marked to
// OnMissed. It returns how many it marked.
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

// tellMissed passes missed doses to OnMissed, keeping them to try again
// if it fails.
func (r *Reminders) tellMissed(ctx context.Context, patient models.User, doses []models.Dose, now time.Time, attempts int) {
	if r.cfg.OnMissed == nil {
		return
	}
	err := r.cfg.OnMissed(ctx, patient, doses, now)
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

// retryMissed calls OnMissed again for the doses it failed on.
func (r *Reminders) retryMissed(ctx context.Context, now time.Time) {
	retries := r.retries
	r.retries = nil
	for _, m := range retries {
		r.tellMissed(ctx, m.patient, m.doses, now, m.attempts)
	}
}

// refill queues a refill reminder for each active medicine whose stock
// runs out within its refillLeadDays, once per episode: a run-out date up
// to refillLeadDays+1 days after the one already reminded of is the same
// episode (missed doses move the prediction later); a refill moves it
// further, and its next episode is reminded of again.
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
// it exists; it reports whether it queued one.
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
		_, err := r.src.Notifications.Get(ctx, refillReminderID(m.ID, date))
		if err == nil {
			r.refills[m.ID] = date
			return false, nil
		}
		if !models.IsCode(err, models.CodeNotFound) {
			return false, err
		}
	}
	details, err := r.pushDetails(ctx, p)
	if err != nil {
		return false, err
	}
	var names []string
	if details {
		names = []string{medicineName(m)}
	}
	title, body := reminderText(models.KindRefillReminder, details, "", names, daysText(out.DaysLeft))
	_, created, err := r.outbox.Enqueue(ctx, models.Notification{
		ID: refillReminderID(m.ID, out.RunOutDate), RecipientID: p.user.ID, Kind: models.KindRefillReminder,
		Title: title, Body: body, RespectQuietHours: true, DueAt: now,
	})
	if err != nil {
		return false, err
	}
	r.refills[m.ID] = out.RunOutDate
	return created, nil
}

func refillReminderID(medicationID, runOutDate string) string {
	return string(models.KindRefillReminder) + ":" + medicationID + ":" + runOutDate
}

// pushDetails reports whether the patient wants medicines named in pushes,
// as their settings say now (read again: a patient who just turned it off
// must not get one more push with names).
func (r *Reminders) pushDetails(ctx context.Context, p *reminderPatient) (bool, error) {
	u, err := r.src.Users.Get(ctx, p.user.ID)
	if models.IsCode(err, models.CodeNotFound) {
		return false, nil
	}
	return u.Preferences.PushDetails, err
}

// doseNotification is the reminder or follow-up of the pending doses of a
// slot, due at due and expiring when the slot's grace period ends; details
// names the medicines.
func doseNotification(kind models.NotificationKind, p *reminderPatient, s doseSlot, pending []models.Dose, due time.Time, details bool) models.Notification {
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
	title, body := reminderText(kind, details, s.localTime, names, "")
	ids := make([]string, len(pending))
	for i, d := range pending {
		ids[i] = d.ID
	}
	expires := s.at.Add(p.grace)
	// The recipient is the patient, so no PatientID: the push's data is the
	// notification's id and kind only.
	return models.Notification{
		ID: string(kind) + ":" + s.key, RecipientID: p.user.ID, Kind: kind,
		Title: title, Body: body, Urgent: true, DueAt: due, ExpiresAt: &expires, DoseIDs: ids,
	}
}

// medicineName is how a detailed push names a medicine: "Ramipril 5 mg".
func medicineName(m models.Medication) string {
	return strings.TrimSpace(m.Name + " " + m.Strength)
}

// enqueue queues a reminder or follow-up. If this call created it and one
// of its doses was logged in this process meanwhile (a dose logged just as
// its reminder was queued, which DoseLogged could not see yet), it looks
// at the doses again and cancels the notification if none is pending.
func (r *Reminders) enqueue(ctx context.Context, n models.Notification, grace time.Duration) (bool, error) {
	_, created, err := r.outbox.Enqueue(ctx, n)
	if err != nil || !created || !r.anyLogged(n.DoseIDs) {
		return created, err
	}
	pending, err := r.pendingDoses(ctx, n.DoseIDs, r.now().UTC(), grace)
	if err != nil || len(pending) > 0 {
		return created, err
	}
	_, err = r.outbox.Cancel(ctx, n.ID, reasonDoseLogged)
	return created, err
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

// DoseLogged cancels the pending reminder and follow-up of the dose's
// slot when the patient logs a dose that was pending and no other dose of
// the slot still is (DoseObserver). Failures are logged: the push then
// goes out, which is what happened before this existed.
func (r *Reminders) DoseLogged(ctx context.Context, patient models.User, prev, next models.Dose) {
	if prev.Status != models.DosePending || next.Status == models.DosePending || next.AsNeeded {
		return
	}
	r.loggedMu.Lock()
	r.logged[next.ID] = r.now().UTC()
	r.loggedMu.Unlock()
	key := patient.ID + ":" + next.LocalDate + "T" + next.LocalTime
	grace := patient.Preferences.DoseGrace()
	for _, kind := range []models.NotificationKind{models.KindDoseReminder, models.KindDoseFollowUp} {
		id := string(kind) + ":" + key
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
}

// anyLogged reports whether one of the doses was logged in this process
// lately.
func (r *Reminders) anyLogged(ids []string) bool {
	r.loggedMu.Lock()
	defer r.loggedMu.Unlock()
	for _, id := range ids {
		if _, ok := r.logged[id]; ok {
			return true
		}
	}
	return false
}

// pruneMemory forgets slots out of reach and doses logged long ago.
func (r *Reminders) pruneMemory(now time.Time) {
	for key, st := range r.slots {
		if st.at.Add(st.grace + reminderMissedLookback).Before(now) {
			delete(r.slots, key)
		}
	}
	r.loggedMu.Lock()
	defer r.loggedMu.Unlock()
	for id, at := range r.logged {
		if now.Sub(at) > recentlyLogged {
			delete(r.logged, id)
		}
	}
}
