package services

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
)

// Review-queue limits.
const (
	DefaultFlagPage = 50
	MaxFlagPage     = 200
	// MaxFlagNotes is how many notes a flag holds: far more than any review
	// needs (a few calls and their outcomes), and few enough that a flag,
	// read whole with every view of it, stays small. Past it AddNote is
	// refused with a conflict naming "notes" and the note is not stored;
	// the store checks the count in the write itself, so concurrent notes
	// never pass it. Resolving still records its note (each resolution
	// needs a new follow-up cycle, so those stay few).
	MaxFlagNotes = 200
)

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
	now := s.now().UTC()
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
	ok, err := s.store.AddNote(ctx, id, models.FlagNote{By: p.UserID, At: s.now().UTC(), Text: text}, MaxFlagNotes)
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
	now := s.now().UTC()
	note := strings.TrimSpace(r.Note)
	var pr models.Problems
	if !r.Outcome.Valid() {
		pr.Add("outcome", "must be one of %s", flagOutcomeNames())
	}
	models.ValidateFlagNote("note", note, &pr)
	var followUp *time.Time
	if r.FollowUpAt != nil {
		t := models.Instant(*r.FollowUpAt)
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

// pharmacist returns the caller's account if the access policy finds them
// a pharmacist of a pharmacy. Errors: forbidden.
func (s *Flags) pharmacist(ctx context.Context, p models.Principal) (models.User, error) {
	me, ok, err := s.access.Pharmacist(ctx, p)
	if err != nil {
		return models.User{}, err
	}
	if !ok {
		return models.User{}, models.Errorf(models.CodeForbidden, "only pharmacists of a pharmacy have a review queue")
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

// encodeFlagCursor writes a queue position as "rank:millis:id", base64url.
func encodeFlagCursor(k models.FlagKey) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(k.SeverityRank) + ":" + strconv.FormatInt(k.QueuedAt.UnixMilli(), 10) + ":" + k.ID))
}

// decodeFlagCursor reads a cursor encodeFlagCursor made; false for
// anything else.
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
