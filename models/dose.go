package models

import (
	"strconv"
	"strings"
	"time"
)

// DoseStatus is where a dose stands.
type DoseStatus string

// The dose statuses. A scheduled dose starts pending; the patient marks it
// taken or skipped; a pending dose nobody logged becomes missed once the
// grace period after its time has passed (see Dose.EffectiveStatus).
const (
	DosePending DoseStatus = "pending"
	DoseTaken   DoseStatus = "taken"
	DoseSkipped DoseStatus = "skipped"
	DoseMissed  DoseStatus = "missed"
)

// Valid reports whether s is one of the dose statuses.
func (s DoseStatus) Valid() bool {
	switch s {
	case DosePending, DoseTaken, DoseSkipped, DoseMissed:
		return true
	}
	return false
}

// Rules for logging doses.
const (
	// DefaultDoseGrace is how long after its time an unlogged dose becomes
	// missed when the patient has not chosen their own grace period
	// (Preferences.DoseGrace).
	DefaultDoseGrace = DefaultDoseGraceMinutes * time.Minute
	// DoseClockSkew is how far in the future a takenAt may be: phones' clocks
	// run a little fast.
	DoseClockSkew = 10 * time.Minute
	// DoseEarlyWindow is how long before its scheduled time a dose may be
	// taken or skipped. Taking a dose a little early is common (an 08:00
	// dose at 06:30 before work); earlier than this it is more likely the
	// previous dose, logged against the wrong one.
	DoseEarlyWindow = 12 * time.Hour
	// DoseLateWindow is how long after its scheduled time a dose may still
	// be recorded as taken. Patients often log late, and a missed dose can
	// still be marked taken: it then counts as taken, but not on time. A
	// week is as far back as anyone plausibly remembers one dose.
	DoseLateWindow = 7 * 24 * time.Hour
	// MaxSkipReasonLength bounds a skip reason.
	MaxSkipReasonLength = 500
	// MaxAsNeededDoseIDLength bounds a client-generated as-needed dose id.
	MaxAsNeededDoseIDLength = 64
)

// Dose is one dose of a medication: a scheduled one (its ID is DoseID of its
// medication and local date and time, so materialising a schedule twice, on
// any number of instances, yields the same doses) or an as-needed one
// logged as it was taken (AsNeeded, with a client-chosen ID).
type Dose struct {
	ID           string `json:"id" bson:"_id"`
	PatientID    string `json:"patientId" bson:"patientId"`
	MedicationID string `json:"medicationId" bson:"medicationId"`
	// ScheduledAt is the dose's instant in UTC; for an as-needed dose, when
	// it was taken.
	ScheduledAt time.Time `json:"scheduledAt" bson:"scheduledAt"`
	// LocalDate and LocalTime are the schedule's local date and wall-clock
	// time ("2026-03-29", "08:00") the dose belongs to.
	LocalDate string     `json:"localDate" bson:"localDate"`
	LocalTime string     `json:"localTime" bson:"localTime"`
	Status    DoseStatus `json:"status" bson:"status"`
	// TakenAt is when the patient says they took it (set while taken).
	TakenAt *time.Time `json:"takenAt,omitempty" bson:"takenAt,omitempty"`
	// LoggedAt is when the patient last logged it taken or skipped.
	LoggedAt   *time.Time  `json:"loggedAt,omitempty" bson:"loggedAt,omitempty"`
	SkipReason string      `json:"skipReason,omitempty" bson:"skipReason,omitempty"`
	AsNeeded   bool        `json:"asNeeded,omitempty" bson:"asNeeded,omitempty"`
	History    []DoseEvent `json:"history,omitempty" bson:"history,omitempty"`
	CreatedAt  time.Time   `json:"createdAt" bson:"createdAt"`
	UpdatedAt  time.Time   `json:"updatedAt" bson:"updatedAt"`
}

// DoseEvent records one change of a dose's status (or of its takenAt or skip
// reason), oldest first in Dose.History.
type DoseEvent struct {
	At      time.Time  `json:"at" bson:"at"`
	From    DoseStatus `json:"from,omitempty" bson:"from,omitempty"`
	To      DoseStatus `json:"to" bson:"to"`
	TakenAt *time.Time `json:"takenAt,omitempty" bson:"takenAt,omitempty"`
	Reason  string     `json:"reason,omitempty" bson:"reason,omitempty"`
}

// DoseID is the deterministic id of the dose of a medication scheduled at a
// local date and time: "med123:2026-03-29T08:00". The same inputs always give
// the same id, so storing a planned dose twice collides on its id instead
// of duplicating it. Client-chosen as-needed ids never contain ':'.
func DoseID(medicationID, localDate, localTime string) string {
	return medicationID + ":" + localDate + "T" + localTime
}

// EffectiveStatus is the dose's status as of now: a pending, scheduled dose
// whose ScheduledAt+grace is not after now is missed, whether or not a job
// has stored that yet. Pass the patient's grace (DefaultDoseGrace by default).
func (d Dose) EffectiveStatus(now time.Time, grace time.Duration) DoseStatus {
	if d.Status == DosePending && !d.AsNeeded && !d.ScheduledAt.Add(grace).After(now) {
		return DoseMissed
	}
	return d.Status
}

// IsFuturePending reports whether the dose is a scheduled dose still pending
// and due after now: the only kind a schedule change may delete or move.
// Doses already logged, or in the past, are history and stay.
func (d Dose) IsFuturePending(now time.Time) bool {
	return d.Status == DosePending && !d.AsNeeded && d.ScheduledAt.After(now)
}

// MarkTaken records that the patient took the dose at `at` (the zero time
// means now) and reports whether anything changed. Marking a taken dose
// taken again at the same time, or with a zero `at`, changes nothing (safe
// retries); another time corrects TakenAt and is recorded. Skipped and
// missed doses may be marked taken: late logs count as taken, though not on
// time. It returns a CodeInvalid *Error (field "takenAt") when `at` is more
// than DoseClockSkew after now, more than DoseEarlyWindow before the
// scheduled time or more than DoseLateWindow after it.
func (d *Dose) MarkTaken(at, now time.Time) (bool, error) {
	now = now.UTC()
	if at.IsZero() {
		if d.Status == DoseTaken {
			return false, nil
		}
		at = now
	}
	at = Instant(at)
	if d.Status == DoseTaken && d.TakenAt != nil && d.TakenAt.Equal(at) {
		return false, nil
	}
	var p Problems
	switch {
	case at.After(now.Add(DoseClockSkew)):
		p.Add("takenAt", "must not be in the future")
	case at.Before(d.ScheduledAt.Add(-DoseEarlyWindow)):
		p.Add("takenAt", "must not be more than %s before the dose's scheduled time", hoursText(DoseEarlyWindow))
	case at.After(d.ScheduledAt.Add(DoseLateWindow)):
		p.Add("takenAt", "must not be more than %s after the dose's scheduled time", hoursText(DoseLateWindow))
	}
	if err := p.Err(); err != nil {
		return false, err
	}
	d.History = append(d.History, DoseEvent{At: now, From: d.Status, To: DoseTaken, TakenAt: &at})
	d.Status = DoseTaken
	d.TakenAt = &at
	d.SkipReason = ""
	d.LoggedAt = &now
	d.UpdatedAt = now
	return true, nil
}

// MarkSkipped records that the patient chose not to take the dose, with an
// optional reason, and reports whether anything changed: skipping a skipped
// dose with the same reason changes nothing. A taken dose may be skipped (a
// mistaken log); the change is recorded and TakenAt cleared. It returns a
// CodeInvalid *Error for an as-needed dose, a reason over
// MaxSkipReasonLength (field "reason"), or a dose more than DoseEarlyWindow
// ahead of now.
func (d *Dose) MarkSkipped(reason string, now time.Time) (bool, error) {
	now = now.UTC()
	reason = strings.TrimSpace(reason)
	if d.Status == DoseSkipped && d.SkipReason == reason {
		return false, nil
	}
	if d.AsNeeded {
		return false, Errorf(CodeInvalid, "an as-needed dose cannot be skipped")
	}
	if d.ScheduledAt.After(now.Add(DoseEarlyWindow)) {
		return false, Errorf(CodeInvalid, "a dose can be skipped at most %s before its time", hoursText(DoseEarlyWindow))
	}
	var p Problems
	ValidateText("reason", reason, MaxSkipReasonLength, true, &p)
	if err := p.Err(); err != nil {
		return false, err
	}
	d.History = append(d.History, DoseEvent{At: now, From: d.Status, To: DoseSkipped, Reason: reason})
	d.Status = DoseSkipped
	d.TakenAt = nil
	d.SkipReason = reason
	d.LoggedAt = &now
	d.UpdatedAt = now
	return true, nil
}

// MarkMissed stores the missed status of a pending dose whose grace period
// has passed (EffectiveStatus is missed) and reports whether it did; any
// other dose is left alone. The scheduler calls it before alerting carers.
func (d *Dose) MarkMissed(now time.Time, grace time.Duration) bool {
	if d.Status != DosePending || d.EffectiveStatus(now, grace) != DoseMissed {
		return false
	}
	now = now.UTC()
	d.History = append(d.History, DoseEvent{At: now, From: DosePending, To: DoseMissed})
	d.Status = DoseMissed
	d.UpdatedAt = now
	return true
}

// NewAsNeededDose returns a taken as-needed dose of a medication, logged at
// now and taken at takenAt (zero means now), with its local date and time in
// loc (nil means UTC). It returns a CodeInvalid *Error naming "id" (required,
// at most MaxAsNeededDoseIDLength characters, no ':') or "takenAt" (more
// than DoseClockSkew after now or more than DoseLateWindow before it).
// Services check that the medication is the patient's and as needed.
func NewAsNeededDose(id, patientID, medicationID string, takenAt, now time.Time, loc *time.Location) (Dose, error) {
	if loc == nil {
		loc = time.UTC
	}
	now = now.UTC()
	if takenAt.IsZero() {
		takenAt = now
	}
	takenAt = Instant(takenAt)
	var p Problems
	switch {
	case id == "":
		p.Add("id", "is required")
	case len(id) > MaxAsNeededDoseIDLength || strings.ContainsAny(id, ": \t\n"):
		p.Add("id", "must be at most %d characters without ':' or spaces", MaxAsNeededDoseIDLength)
	}
	switch {
	case takenAt.After(now.Add(DoseClockSkew)):
		p.Add("takenAt", "must not be in the future")
	case takenAt.Before(now.Add(-DoseLateWindow)):
		p.Add("takenAt", "must not be more than %s ago", hoursText(DoseLateWindow))
	}
	if err := p.Err(); err != nil {
		return Dose{}, err
	}
	local := takenAt.In(loc)
	return Dose{
		ID:           id,
		PatientID:    patientID,
		MedicationID: medicationID,
		ScheduledAt:  takenAt,
		LocalDate:    local.Format(LocalDateLayout),
		LocalTime:    local.Format(LocalTimeLayout),
		Status:       DoseTaken,
		TakenAt:      &takenAt,
		LoggedAt:     &now,
		AsNeeded:     true,
		History:      []DoseEvent{{At: now, To: DoseTaken, TakenAt: &takenAt}},
		CreatedAt:    now,
		UpdatedAt:    now,
	}, nil
}

// PlanDoses returns the pending doses m's schedule implies with instants in
// [from, to), in time order, with deterministic ids (DoseID), local dates
// and times in loc (nil means UTC) and zero CreatedAt/UpdatedAt (set them on
// insert). A stopped medication plans nothing from StoppedAt on; an
// as-needed one plans nothing. The result depends only on its arguments, so
// planning twice gives equal doses. Services should not plan before the
// medication was created: past doses nobody was reminded of would count as
// missed.
func PlanDoses(m Medication, loc *time.Location, from, to time.Time) []Dose {
	if m.Status == MedicationStopped && m.StoppedAt != nil && m.StoppedAt.Before(to) {
		to = *m.StoppedAt
	}
	occ := m.Schedule.Occurrences(loc, from, to)
	if len(occ) == 0 {
		return nil
	}
	doses := make([]Dose, len(occ))
	for i, o := range occ {
		doses[i] = Dose{
			ID:           DoseID(m.ID, o.LocalDate, o.LocalTime),
			PatientID:    m.PatientID,
			MedicationID: m.ID,
			ScheduledAt:  o.At,
			LocalDate:    o.LocalDate,
			LocalTime:    o.LocalTime,
			Status:       DosePending,
		}
	}
	return doses
}

// ReconcileDoses compares a fresh plan for the window [from, to) (from
// PlanDoses) with the doses already stored for that medication and returns
// what to change after a schedule edit: remove are stored future pending
// doses (IsFuturePending at now) in the window that the plan no longer has,
// or has at another instant (the patient's zone changed); insert are planned
// doses not stored, or replacing a removed one with the same id. Delete
// remove before inserting insert. Logged and past doses are never removed.
func ReconcileDoses(planned, existing []Dose, from, to, now time.Time) (insert, remove []Dose) {
	plan := make(map[string]Dose, len(planned))
	for _, p := range planned {
		plan[p.ID] = p
	}
	kept := make(map[string]bool, len(existing))
	for _, e := range existing {
		inWindow := !e.ScheduledAt.Before(from) && e.ScheduledAt.Before(to)
		p, planned := plan[e.ID]
		if inWindow && e.IsFuturePending(now) && (!planned || !p.ScheduledAt.Equal(e.ScheduledAt)) {
			remove = append(remove, e)
			continue
		}
		kept[e.ID] = true
	}
	for _, p := range planned {
		if !kept[p.ID] {
			insert = append(insert, p)
		}
	}
	return insert, remove
}

// hoursText writes a whole number of hours as "12 hours" or days as "7 days"
// for messages.
func hoursText(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	}
	return strconv.Itoa(int(d/time.Hour)) + " hours"
}
