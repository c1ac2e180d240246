package services

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
)

// Review-flag queue and scheduling figures.
const (
	DefaultFlagPage = 50
	MaxFlagPage     = 200
	// FlagSweepInterval is how often the scheduler step (Flags.Step) runs
	// the rules time alone can fire (a new medicine reaching day 7, stock
	// running down: TimeFlagRules) for every consented patient; an hour is
	// soon enough for them. The rules that events fire run at once from
	// those events (a reading stored: severe_reading; a dose marked missed:
	// missed_streak and low_adherence).
	FlagSweepInterval = time.Hour
	// FlagFullSweepInterval is how often the step runs every rule for every
	// consented patient, catching what the events missed (adherence drifting
	// as old doses leave the window, a failed event). Adherence is counted
	// in whole days and the dose rules read 28 days of each patient's
	// doses, so once a day is both enough and what a pharmacy's thousands
	// of patients can afford.
	FlagFullSweepInterval = 24 * time.Hour
	// MaxFlagNotes is how many notes a flag holds. Two hundred notes is
	// far more than any review needs (a few calls and their outcomes), and
	// it keeps a flag, read whole with every view of it, small. Past it
	// AddNote is refused with a conflict naming "notes" (the note is not
	// stored; record what matters in the resolution, or in the patient's
	// record elsewhere). Resolving still records its note: each
	// resolution needs a new follow-up cycle, so those stay few. The store
	// checks the count in the write itself, so concurrent notes never pass
	// it.
	MaxFlagNotes = 200
	// flagRaiseAttempts bounds the loop that finds a rule's current flag
	// (each failed attempt means another evaluation got in between).
	flagRaiseAttempts = 10
)

// FlagStore is what Flags needs of review-flag storage.
type FlagStore interface {
	Insert(ctx context.Context, f models.Flag) error
	Get(ctx context.Context, id string) (models.Flag, error)
	LatestSeq(ctx context.Context, patientID string, rule models.FlagRuleID) (int, error)
	RecordSeq(ctx context.Context, patientID string, rule models.FlagRuleID, seq int) error
	Refire(ctx context.Context, id string, ev models.FlagEvidence, key string, sev models.Severity, at time.Time, event models.FlagEvent, reopen bool) (bool, error)
	Claim(ctx context.Context, id, by string, at time.Time) (bool, error)
	AddNote(ctx context.Context, id string, note models.FlagNote, maxNotes int) (bool, error)
	Resolve(ctx context.Context, id, by string, outcome models.FlagOutcome, note string, followUpAt *time.Time, at time.Time) (bool, error)
	ReopenFollowUp(ctx context.Context, f models.Flag, now time.Time) (bool, error)
	Close(ctx context.Context, id, reason string, at time.Time) (bool, error)
	LiveOfPatient(ctx context.Context, patientID, pharmacyID string) ([]models.Flag, error)
	DueFollowUps(ctx context.Context, pharmacyID string, now time.Time) ([]models.Flag, error)
	Queue(ctx context.Context, q models.FlagQuery) ([]models.Flag, error)
}

// FlagConsents tells which pharmacy, if any, a patient's flags go to
// (Consents does).
type FlagConsents interface {
	Nomination(ctx context.Context, patientID string) (models.Nomination, bool, error)
	ConsentedPatients(ctx context.Context, pharmacyID string) ([]models.Nomination, error)
}

// FlagAuthorizer is the access policy (Access): every flag a pharmacist
// reads or works on is authorised, and audited, against its patient.
type FlagAuthorizer interface {
	AuthorizeResource(ctx context.Context, p models.Principal, patientID string, action Action, resource string) (models.User, error)
}

// FlagDoseLister lists a patient's stored doses (the dose store).
type FlagDoseLister interface {
	ListByPatient(ctx context.Context, patientID string, from, to time.Time) ([]models.Dose, error)
}

// FlagMedicationLister lists a patient's medicines (the medication store).
type FlagMedicationLister interface {
	ListByPatient(ctx context.Context, patientID string) ([]models.Medication, error)
}

// FlagReadingLister lists a patient's readings (the reading store).
type FlagReadingLister interface {
	List(ctx context.Context, q models.ReadingQuery) ([]models.Reading, error)
}

// FlagSources are where the rules' data comes from.
type FlagSources struct {
	// Planner plans a patient's doses before they are read (Doses).
	Planner     DoseMaterializer
	Doses       FlagDoseLister
	Medications FlagMedicationLister
	Readings    FlagReadingLister
}

// Flags raises review flags for pharmacists from the rules table
// (models.EvaluateFlags) and serves the pharmacy's review queue.
//
// Only patients with a current consented nomination produce flags, and
// their flags go to that pharmacy. There is at most one live flag per
// patient and rule (open, claimed, or resolved with a follow-up to come):
// the n-th flag of a rule has the deterministic id FlagID(patient, rule, n),
// and flag n+1 is inserted only after flag n was seen finished, so of any
// number of concurrent evaluations exactly one inserts it and the others
// update its evidence instead. A resolved flag is not raised again for the
// same evidence (see models.FlagCriterion.RearmDays).
type Flags struct {
	store    FlagStore
	sources  FlagSources
	users    PatientDirectory
	consents FlagConsents
	access   FlagAuthorizer
	now      func() time.Time
	log      *slog.Logger
	// nextSweep and nextFullSweep are when Step next evaluates everyone
	// (steps never overlap).
	nextSweep, nextFullSweep time.Time
}

// TimeFlagRules are the rules the hourly sweep runs: those time and stock
// changes fire without an event, and whose data is cheap to read (no doses).
var TimeFlagRules = []models.FlagRuleID{models.RuleRunningOut, models.RuleNewMedicine, models.RuleSevereReading}

// NewFlags returns the review-flags service.
func NewFlags(store FlagStore, sources FlagSources, users PatientDirectory, consents FlagConsents, access FlagAuthorizer, now func() time.Time, log *slog.Logger) *Flags {
	return &Flags{store: store, sources: sources, users: users, consents: consents, access: access, now: now, log: log}
}

// Evaluate runs every rule for the patient as of now and raises, or
// updates, their flags for the pharmacy the patient consented to; a patient
// with no consented nomination produces none.
func (s *Flags) Evaluate(ctx context.Context, patient models.User, now time.Time) error {
	return s.evaluate(ctx, patient, now)
}

// OnDosesMissed runs the rules missed doses can fire (missed_streak,
// low_adherence) for the patient: the scheduler calls it with the doses
// Doses.MarkMissed returned (nothing happens when there are none).
func (s *Flags) OnDosesMissed(ctx context.Context, patient models.User, doses []models.Dose, now time.Time) error {
	if len(doses) == 0 {
		return nil
	}
	return s.evaluate(ctx, patient, now, models.RuleMissedStreak, models.RuleLowAdherence)
}

// ReadingsStored runs the severe_reading rule at once, and once for a
// whole batch, when a new reading is severe or a hypo (ReadingObserver),
// however long ago it was taken: the rule's window decides whether it
// counts. Failures are logged: the readings are stored whatever happens
// here, and the next sweep tries again.
func (s *Flags) ReadingsStored(ctx context.Context, patient models.User, rs []models.Reading) {
	i := slices.IndexFunc(rs, func(r models.Reading) bool {
		hypo := r.Type == models.ReadingBloodGlucose && r.Canonical.Value != nil && *r.Canonical.Value < models.HypoglycaemiaBelow
		return r.IsSevere() || hypo
	})
	if i < 0 {
		return
	}
	if err := s.evaluate(ctx, patient, s.now(), models.RuleSevereReading); err != nil {
		s.log.ErrorContext(ctx, "severe reading not flagged", "patient", patient.ID, "reading", rs[i].ID, "err", err)
	}
}

// ConsentEnded closes the pharmacy's live flags for the patient as
// consent_withdrawn (ConsentObserver). Failures are logged; the pharmacy
// cannot see the flags anyway (the access policy refuses it), and a later
// evaluation closes any it finds.
func (s *Flags) ConsentEnded(ctx context.Context, patientID, pharmacyID string, at time.Time) {
	flags, err := s.store.LiveOfPatient(ctx, patientID, pharmacyID)
	if err != nil {
		s.log.ErrorContext(ctx, "flags not closed after consent ended", "patient", patientID, "pharmacy", pharmacyID, "err", err)
		return
	}
	at = at.UTC().Truncate(time.Millisecond)
	for _, f := range flags {
		if _, err := s.store.Close(ctx, f.ID, models.FlagClosedConsentWithdrawn, at); err != nil {
			s.log.ErrorContext(ctx, "flag not closed after consent ended", "flag", f.ID, "err", err)
			continue
		}
		s.log.InfoContext(ctx, "flag closed: consent withdrawn", "flag", f.ID, "patient", patientID, "pharmacy", pharmacyID)
	}
}

// EvaluateAll re-opens the follow-ups that have come due and runs the rules
// (every rule when none are named) for every patient with a consented
// nomination. A patient whose evaluation fails does not stop the others;
// the error counts the failures.
func (s *Flags) EvaluateAll(ctx context.Context, now time.Time, rules ...models.FlagRuleID) error {
	if _, err := s.ReopenDue(ctx, now); err != nil {
		return err
	}
	return s.evaluateAll(ctx, now, rules...)
}

func (s *Flags) evaluateAll(ctx context.Context, now time.Time, rules ...models.FlagRuleID) error {
	noms, err := s.consents.ConsentedPatients(ctx, "")
	if err != nil {
		return err
	}
	failed, raisedErr := 0, error(nil)
	for _, n := range noms {
		if err := ctx.Err(); err != nil {
			return err
		}
		patient, err := s.users.Get(ctx, n.PatientID)
		if models.IsCode(err, models.CodeNotFound) {
			continue
		}
		if err == nil {
			err = s.evaluate(ctx, patient, now, rules...)
		}
		if err != nil {
			failed++
			raisedErr = err
			s.log.ErrorContext(ctx, "flag evaluation failed", "patient", n.PatientID, "err", err)
		}
	}
	s.log.DebugContext(ctx, "flag sweep", "patients", len(noms), "rules", len(rules), "failed", failed)
	if failed > 0 {
		return fmt.Errorf("evaluate flags: %d of %d patients failed, the last with: %w", failed, len(noms), raisedErr)
	}
	return nil
}

// ReopenDue puts every resolved flag whose follow-up date has come back in
// its pharmacy's queue (open, unclaimed) and returns how many it reopened.
func (s *Flags) ReopenDue(ctx context.Context, now time.Time) (int, error) {
	return s.reopenDue(ctx, "", now)
}

func (s *Flags) reopenDue(ctx context.Context, pharmacyID string, now time.Time) (int, error) {
	now = now.UTC().Truncate(time.Millisecond)
	due, err := s.store.DueFollowUps(ctx, pharmacyID, now)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range due {
		ok, err := s.store.ReopenFollowUp(ctx, f, now)
		if err != nil {
			return n, err
		}
		if ok {
			n++
			s.log.InfoContext(ctx, "flag follow-up due", "flag", f.ID, "pharmacy", f.PharmacyID)
		}
	}
	return n, nil
}

// Step is the scheduler's flags step: every tick it re-opens due
// follow-ups; every FlagSweepInterval it runs TimeFlagRules, and every
// FlagFullSweepInterval every rule, for every consented patient (the first
// tick of a process runs every rule).
func (s *Flags) Step() Step {
	return Step{Name: "flags", Run: func(ctx context.Context, now time.Time) error {
		if _, err := s.ReopenDue(ctx, now); err != nil {
			return err
		}
		switch {
		case !now.Before(s.nextFullSweep):
			s.nextFullSweep, s.nextSweep = now.Add(FlagFullSweepInterval), now.Add(FlagSweepInterval)
			return s.evaluateAll(ctx, now)
		case !now.Before(s.nextSweep):
			s.nextSweep = now.Add(FlagSweepInterval)
			return s.evaluateAll(ctx, now, TimeFlagRules...)
		}
		return nil
	}}
}

// evaluate runs the rules (all when none are named) for the patient and
// raises their flags.
func (s *Flags) evaluate(ctx context.Context, patient models.User, now time.Time, rules ...models.FlagRuleID) error {
	if patient.Role != models.RolePatient {
		return nil
	}
	n, consented, err := s.consents.Nomination(ctx, patient.ID)
	if err != nil || !consented {
		return err
	}
	now = now.UTC().Truncate(time.Millisecond)
	in, err := s.input(ctx, patient, now, rules)
	if err != nil {
		return err
	}
	for _, f := range models.EvaluateFlags(in, rules...) {
		if err := s.raise(ctx, patient.ID, n.PharmacyID, f, now); err != nil {
			return err
		}
	}
	return nil
}

// input loads what the named rules (all when none) look at.
func (s *Flags) input(ctx context.Context, patient models.User, now time.Time, rules []models.FlagRuleID) (models.FlagInput, error) {
	in := models.FlagInput{Now: now, Location: patient.Location(), DoseGrace: patient.Preferences.DoseGrace()}
	wants := func(r models.FlagRuleID) bool { return len(rules) == 0 || slices.Contains(rules, r) }
	window := 0
	for _, c := range models.FlagRules() {
		if wants(c.Rule) {
			window = max(window, c.WindowDays)
		}
	}
	from := now.Add(-time.Duration(window) * 24 * time.Hour)
	doseRules := wants(models.RuleMissedStreak) || wants(models.RuleLowAdherence)
	if doseRules || wants(models.RuleRunningOut) || wants(models.RuleNewMedicine) {
		meds, err := s.sources.Medications.ListByPatient(ctx, patient.ID)
		if err != nil {
			return in, err
		}
		in.Medications = meds
	}
	if doseRules {
		// Planned first, so that an overdue dose nobody planned yet counts.
		if err := s.sources.Planner.Materialize(ctx, patient, now); err != nil {
			return in, err
		}
		doses, err := s.sources.Doses.ListByPatient(ctx, patient.ID, from, now.Add(time.Millisecond))
		if err != nil {
			return in, err
		}
		in.Doses = doses
	}
	if wants(models.RuleSevereReading) {
		readings, err := s.sources.Readings.List(ctx, models.ReadingQuery{PatientID: patient.ID, From: from,
			To: now.Add(time.Millisecond), Limit: MaxReadingBatch * 2})
		if err != nil {
			return in, err
		}
		in.Readings = readings
	}
	return in, nil
}

// raise makes the firing the evidence of the rule's live flag for the
// patient: it updates the live flag, or inserts the next one unless the
// latest was resolved on the same evidence.
func (s *Flags) raise(ctx context.Context, patientID, pharmacyID string, f models.FlagFiring, now time.Time) error {
	hint, err := s.store.LatestSeq(ctx, patientID, f.Rule)
	if err != nil {
		return err
	}
	seq := hint
	defer func() {
		if seq > hint {
			if err := s.store.RecordSeq(context.WithoutCancel(ctx), patientID, f.Rule, seq); err != nil {
				s.log.WarnContext(ctx, "flag seq not recorded", "patient", patientID, "rule", f.Rule, "err", err)
			}
		}
	}()
	for range flagRaiseAttempts {
		next := seq + 1
		if seq > 0 {
			cur, err := s.store.Get(ctx, models.FlagID(patientID, f.Rule, seq))
			switch {
			case models.IsCode(err, models.CodeNotFound):
				next = seq // recorded but gone (removed by hand): take its place
			case err != nil:
				return err
			case cur.Live && cur.PharmacyID != pharmacyID:
				// Raised for a pharmacy that has since lost consent, and
				// missed by ConsentEnded: close it and raise a new one.
				if _, err := s.store.Close(ctx, cur.ID, models.FlagClosedConsentWithdrawn, now); err != nil {
					return err
				}
				continue
			case cur.FollowUpDue(now):
				if _, err := s.store.ReopenFollowUp(ctx, cur, now); err != nil {
					return err
				}
				continue
			case cur.Live:
				done, err := s.refire(ctx, cur, f, now)
				if err != nil || done {
					return err
				}
				continue // it finished meanwhile: look again
			case suppressed(cur, f, pharmacyID, now):
				return nil
			}
		}
		flag := newFlag(patientID, pharmacyID, f, next, now)
		err := s.store.Insert(ctx, flag)
		if models.IsCode(err, models.CodeConflict) {
			seq = next // another evaluation raised it first
			continue
		}
		if err != nil {
			return err
		}
		seq = next
		s.log.InfoContext(ctx, "flag raised", "flag", flag.ID, "patient", patientID, "pharmacy", pharmacyID, "rule", f.Rule)
		s.recheckConsent(ctx, flag, now)
		return nil
	}
	return models.Errorf(models.CodeConflict, "the %s flag kept changing while it was raised", f.Rule)
}

// recheckConsent closes a flag just raised if the patient's consent to its
// pharmacy ended meanwhile: either this read sees the change, or the
// change's ConsentEnded sees the flag.
func (s *Flags) recheckConsent(ctx context.Context, flag models.Flag, now time.Time) {
	n, ok, err := s.consents.Nomination(ctx, flag.PatientID)
	if err == nil && ok && n.PharmacyID == flag.PharmacyID {
		return
	}
	if err == nil {
		_, err = s.store.Close(ctx, flag.ID, models.FlagClosedConsentWithdrawn, now)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "consent not re-checked after raising a flag", "flag", flag.ID, "err", err)
	}
}

// refire stores the firing's evidence on the live flag cur, appending to
// its history, unless it says nothing new. New evidence (another key)
// brings a flag awaiting its follow-up back to the queue at once. It
// reports false when cur stopped being live meanwhile.
func (s *Flags) refire(ctx context.Context, cur models.Flag, f models.FlagFiring, now time.Time) (bool, error) {
	newKey := cur.EvidenceKey != f.Key
	reopen := newKey && cur.AwaitingFollowUp(now)
	if !newKey && cur.Severity == f.Severity && cur.Evidence.Equal(f.Evidence) {
		return true, nil
	}
	ev := f.Evidence
	event := models.FlagEvent{At: now, Event: models.FlagEventRefired, Evidence: &ev}
	if reopen {
		event.Event = models.FlagEventReopened
	}
	ok, err := s.store.Refire(ctx, cur.ID, f.Evidence, f.Key, f.Severity, now, event, reopen)
	if ok {
		s.log.InfoContext(ctx, "flag refired", "flag", cur.ID, "reopened", reopen)
	}
	return ok, err
}

// suppressed reports whether the finished flag cur already dealt with the
// firing: it was resolved (not closed), for this pharmacy, on the same
// evidence, and the criterion does not re-arm yet.
func suppressed(cur models.Flag, f models.FlagFiring, pharmacyID string, now time.Time) bool {
	if cur.Status != models.FlagResolved || cur.PharmacyID != pharmacyID || cur.EvidenceKey != f.Key {
		return false
	}
	if f.RearmDays == 0 || cur.ResolvedAt == nil {
		return true
	}
	return now.Before(cur.ResolvedAt.Add(time.Duration(f.RearmDays) * 24 * time.Hour))
}

func newFlag(patientID, pharmacyID string, f models.FlagFiring, seq int, now time.Time) models.Flag {
	ev := f.Evidence
	return models.Flag{
		ID: models.FlagID(patientID, f.Rule, seq), PatientID: patientID, PharmacyID: pharmacyID, Rule: f.Rule, Seq: seq,
		Severity: f.Severity, SeverityRank: f.Severity.Rank(), Evidence: f.Evidence, SuggestedService: f.Service,
		EvidenceKey: f.Key, Status: models.FlagOpen, Live: true, Notes: []models.FlagNote{}, QueuedAt: now,
		History:   []models.FlagEvent{{At: now, Event: models.FlagEventRaised, Evidence: &ev}},
		CreatedAt: now, UpdatedAt: now,
	}
}

// FlagListQuery asks for a page of the caller's pharmacy's queue.
type FlagListQuery struct {
	// Statuses restricts the page; none means open and claimed (the
	// queue). Flags resolved with a follow-up still to come are resolved.
	Statuses   []models.FlagStatus
	Severities []models.Severity
	Rules      []models.FlagRuleID
	// Limit is the page size, 1 to MaxFlagPage; 0 means DefaultFlagPage.
	Limit int
	// Cursor continues a previous page: its NextCursor.
	Cursor string
}

// FlagPage is one page of the queue: most severe first, then longest in
// the queue first. NextCursor is "" on the last page.
type FlagPage struct {
	Items      []models.Flag `json:"items"`
	NextCursor string        `json:"nextCursor,omitempty"`
}

var errFlagNotFound = models.Errorf(models.CodeNotFound, "flag not found")

// List returns a page of the caller's pharmacy's flags. Every patient on
// the page is authorised by the access policy (and audited, as "flags");
// flags of a patient the policy refuses are left out. Errors: forbidden
// (the caller is not a pharmacist of a pharmacy), invalid (the query).
func (s *Flags) List(ctx context.Context, p models.Principal, q FlagListQuery) (FlagPage, error) {
	me, err := s.pharmacist(ctx, p)
	if err != nil {
		return FlagPage{}, err
	}
	mq := models.FlagQuery{PharmacyID: me.PharmacyID, Statuses: q.Statuses, Severities: q.Severities, Rules: q.Rules, Limit: q.Limit}
	var pr models.Problems
	switch {
	case mq.Limit == 0:
		mq.Limit = DefaultFlagPage
	case mq.Limit < 1 || mq.Limit > MaxFlagPage:
		pr.Add("limit", "must be between 1 and %d", MaxFlagPage)
	}
	for i, st := range mq.Statuses {
		if !st.Valid() {
			pr.Add("status["+strconv.Itoa(i)+"]", "must be one of open, claimed, resolved, closed")
		}
	}
	for i, sv := range mq.Severities {
		if !sv.Valid() || sv == models.SeverityNone {
			pr.Add("severity["+strconv.Itoa(i)+"]", "must be one of low, moderate, high, severe")
		}
	}
	for i, r := range mq.Rules {
		if !r.Valid() {
			pr.Add("rule["+strconv.Itoa(i)+"]", "must be one of %s", flagRuleNames())
		}
	}
	if q.Cursor != "" {
		k, ok := decodeFlagCursor(q.Cursor)
		if !ok {
			pr.Add("cursor", "is not a cursor this server issued; start again without one")
		}
		mq.After = &k
	}
	if err := pr.Err(); err != nil {
		return FlagPage{}, err
	}
	if len(mq.Statuses) == 0 {
		mq.Statuses = []models.FlagStatus{models.FlagOpen, models.FlagClaimed}
	}
	if _, err := s.reopenDue(ctx, me.PharmacyID, s.now()); err != nil {
		return FlagPage{}, err
	}
	limit := mq.Limit
	mq.Limit++
	items, err := s.store.Queue(ctx, mq)
	if err != nil {
		return FlagPage{}, err
	}
	page := FlagPage{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		page.NextCursor = encodeFlagCursor(page.Items[limit-1].Key())
	}
	// One policy decision (and audit entry) per patient on the page.
	names := map[string]string{}
	refused := map[string]bool{}
	for _, f := range page.Items {
		if _, seen := names[f.PatientID]; seen || refused[f.PatientID] {
			continue
		}
		patient, err := s.access.AuthorizeResource(ctx, p, f.PatientID, ReadFlags, "flags")
		switch {
		case models.IsCode(err, models.CodeNotFound) || models.IsCode(err, models.CodeForbidden):
			refused[f.PatientID] = true
		case err != nil:
			return FlagPage{}, err
		default:
			names[f.PatientID] = patient.Name
		}
	}
	shown := page.Items[:0]
	for _, f := range page.Items {
		if !refused[f.PatientID] {
			f.PatientName = names[f.PatientID]
			shown = append(shown, f)
		}
	}
	page.Items = shown
	return page, nil
}

// Get returns one of the caller's pharmacy's flags, with its notes and
// history, authorised (and audited) against its patient. Errors: forbidden
// (not a pharmacist of a pharmacy), not_found (no such flag, another
// pharmacy's, or its patient no longer consents).
func (s *Flags) Get(ctx context.Context, p models.Principal, id string) (models.Flag, error) {
	f, patient, err := s.authorizeFlag(ctx, p, id, ReadFlags)
	if err != nil {
		return models.Flag{}, err
	}
	if f.FollowUpDue(s.now()) {
		if f, err = s.reopened(ctx, f); err != nil {
			return models.Flag{}, err
		}
	}
	f.PatientName = patient.Name
	return f, nil
}

// Claim makes the flag the caller's to work on. Of two pharmacists claiming
// at once exactly one wins; claiming one's own claimed flag again changes
// nothing. Errors: forbidden, not_found (as Get), conflict (claimed by
// another pharmacist, or resolved or closed).
func (s *Flags) Claim(ctx context.Context, p models.Principal, id string) (models.Flag, error) {
	f, patient, err := s.authorizeFlag(ctx, p, id, ManageFlags)
	if err != nil {
		return models.Flag{}, err
	}
	now := s.clock()
	if f.FollowUpDue(now) {
		if _, err := s.reopened(ctx, f); err != nil {
			return models.Flag{}, err
		}
	}
	won, err := s.store.Claim(ctx, id, p.UserID, now)
	if err != nil {
		return models.Flag{}, err
	}
	if f, err = s.store.Get(ctx, id); err != nil {
		return models.Flag{}, err
	}
	if !won && (f.Status != models.FlagClaimed || f.ClaimedBy != p.UserID) {
		return models.Flag{}, flagStateConflict(f, p.UserID)
	}
	if won {
		s.log.InfoContext(ctx, "flag claimed", "flag", id, "pharmacist", p.UserID)
	}
	f.PatientName = patient.Name
	return f, nil
}

// AddNote adds the caller's note to the flag (any status but closed).
// Errors: forbidden, not_found (as Get), invalid (text empty or longer than
// models.MaxFlagNoteLength), conflict (closed; or the flag holds
// MaxFlagNotes notes, field "notes").
func (s *Flags) AddNote(ctx context.Context, p models.Principal, id, text string) (models.Flag, error) {
	f, patient, err := s.authorizeFlag(ctx, p, id, ManageFlags)
	if err != nil {
		return models.Flag{}, err
	}
	text = strings.TrimSpace(text)
	var pr models.Problems
	models.ValidateFlagNote("text", text, &pr)
	if err := pr.Err(); err != nil {
		return models.Flag{}, err
	}
	ok, err := s.store.AddNote(ctx, id, models.FlagNote{By: p.UserID, At: s.clock(), Text: text}, MaxFlagNotes)
	if err != nil {
		return models.Flag{}, err
	}
	if f, err = s.store.Get(ctx, id); err != nil {
		return models.Flag{}, err
	}
	if !ok && f.Status != models.FlagClosed && len(f.Notes) >= MaxFlagNotes {
		return models.Flag{}, &models.Error{Code: models.CodeConflict,
			Message: fmt.Sprintf("this flag holds %d notes, the most it keeps", MaxFlagNotes),
			Fields:  []models.FieldProblem{{Field: "notes", Problem: fmt.Sprintf("at most %d per flag", MaxFlagNotes)}}}
	}
	if !ok {
		return models.Flag{}, flagStateConflict(f, p.UserID)
	}
	f.PatientName = patient.Name
	return f, nil
}

// FlagResolution is how a pharmacist resolves a flag.
type FlagResolution struct {
	Outcome models.FlagOutcome
	Note    string
	// FollowUpAt, when set, brings the flag back to the queue then.
	FollowUpAt *time.Time
}

// Resolve records the caller's outcome and note on a flag that is open or
// claimed by the caller (resolving an open flag claims it too). With a
// follow-up date the flag leaves the queue and comes back, open, at that
// date. Errors: forbidden, not_found (as Get), invalid (outcome, note,
// followUpAt not in the future or more than a year ahead), conflict
// (claimed by another pharmacist, already resolved, closed).
func (s *Flags) Resolve(ctx context.Context, p models.Principal, id string, r FlagResolution) (models.Flag, error) {
	f, patient, err := s.authorizeFlag(ctx, p, id, ManageFlags)
	if err != nil {
		return models.Flag{}, err
	}
	now := s.clock()
	note := strings.TrimSpace(r.Note)
	var pr models.Problems
	if !r.Outcome.Valid() {
		pr.Add("outcome", "must be one of %s", flagOutcomeNames())
	}
	models.ValidateFlagNote("note", note, &pr)
	var followUp *time.Time
	if r.FollowUpAt != nil {
		t := r.FollowUpAt.UTC().Truncate(time.Millisecond)
		switch {
		case !t.After(now):
			pr.Add("followUpAt", "must be in the future")
		case t.Sub(now) > models.MaxFlagFollowUp:
			pr.Add("followUpAt", "must be at most a year ahead")
		}
		followUp = &t
	}
	if err := pr.Err(); err != nil {
		return models.Flag{}, err
	}
	if f.FollowUpDue(now) {
		if _, err := s.reopened(ctx, f); err != nil {
			return models.Flag{}, err
		}
	}
	ok, err := s.store.Resolve(ctx, id, p.UserID, r.Outcome, note, followUp, now)
	if err != nil {
		return models.Flag{}, err
	}
	if f, err = s.store.Get(ctx, id); err != nil {
		return models.Flag{}, err
	}
	if !ok {
		return models.Flag{}, flagStateConflict(f, p.UserID)
	}
	s.log.InfoContext(ctx, "flag resolved", "flag", id, "pharmacist", p.UserID, "outcome", r.Outcome, "follow_up", followUp != nil)
	f.PatientName = patient.Name
	return f, nil
}

// pharmacist returns the caller's account if they are a pharmacist of a
// pharmacy. Errors: forbidden.
func (s *Flags) pharmacist(ctx context.Context, p models.Principal) (models.User, error) {
	errNoPharmacy := models.Errorf(models.CodeForbidden, "only pharmacists of a pharmacy have a review queue")
	if p.Role != models.RolePharmacist {
		return models.User{}, errNoPharmacy
	}
	me, err := s.users.Get(ctx, p.UserID)
	if models.IsCode(err, models.CodeNotFound) {
		return models.User{}, errNoPharmacy
	}
	if err != nil {
		return models.User{}, err
	}
	if me.Role != models.RolePharmacist || me.PharmacyID == "" {
		return models.User{}, errNoPharmacy
	}
	return me, nil
}

// authorizeFlag finds a flag of the caller's pharmacy and asks the access
// policy whether the caller may do action to its patient (which audits
// it). Another pharmacy's flag is not_found before the policy is asked, so
// nothing is audited for it.
func (s *Flags) authorizeFlag(ctx context.Context, p models.Principal, id string, action Action) (models.Flag, models.User, error) {
	me, err := s.pharmacist(ctx, p)
	if err != nil {
		return models.Flag{}, models.User{}, err
	}
	f, err := s.store.Get(ctx, id)
	if models.IsCode(err, models.CodeNotFound) || (err == nil && f.PharmacyID != me.PharmacyID) {
		return models.Flag{}, models.User{}, errFlagNotFound
	}
	if err != nil {
		return models.Flag{}, models.User{}, err
	}
	patient, err := s.access.AuthorizeResource(ctx, p, f.PatientID, action, "flags/"+f.ID)
	if models.IsCode(err, models.CodeNotFound) {
		return models.Flag{}, models.User{}, errFlagNotFound
	}
	if err != nil {
		return models.Flag{}, models.User{}, err
	}
	return f, patient, nil
}

// reopened re-opens a flag whose follow-up is due and returns it as stored.
func (s *Flags) reopened(ctx context.Context, f models.Flag) (models.Flag, error) {
	if _, err := s.store.ReopenFollowUp(ctx, f, s.clock()); err != nil {
		return models.Flag{}, err
	}
	return s.store.Get(ctx, f.ID)
}

// flagStateConflict explains why a flag cannot be changed as asked.
func flagStateConflict(f models.Flag, me string) error {
	switch {
	case f.Status == models.FlagClaimed && f.ClaimedBy != me:
		return models.Errorf(models.CodeConflict, "this flag is claimed by another pharmacist")
	case f.Status == models.FlagResolved:
		return models.Errorf(models.CodeConflict, "this flag is resolved")
	case f.Status == models.FlagClosed:
		return models.Errorf(models.CodeConflict, "this flag is closed")
	}
	return models.Errorf(models.CodeConflict, "the flag changed while this request ran; try again")
}

func (s *Flags) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// encodeFlagCursor writes a queue position as "rank:millis:id", base64url.
func encodeFlagCursor(k models.FlagKey) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(k.SeverityRank) + ":" + strconv.FormatInt(k.QueuedAt.UnixMilli(), 10) + ":" + k.ID))
}

func decodeFlagCursor(c string) (models.FlagKey, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) > 600 {
		return models.FlagKey{}, false
	}
	parts := strings.SplitN(string(b), ":", 3)
	if len(parts) != 3 || parts[2] == "" {
		return models.FlagKey{}, false
	}
	rank, err1 := strconv.Atoi(parts[0])
	ms, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return models.FlagKey{}, false
	}
	return models.FlagKey{SeverityRank: rank, QueuedAt: time.UnixMilli(ms).UTC(), ID: parts[2]}, true
}

func flagRuleNames() string {
	names := make([]string, len(models.FlagRuleIDs))
	for i, r := range models.FlagRuleIDs {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

func flagOutcomeNames() string {
	names := make([]string, len(models.FlagOutcomes))
	for i, o := range models.FlagOutcomes {
		names[i] = string(o)
	}
	return strings.Join(names, ", ")
}
