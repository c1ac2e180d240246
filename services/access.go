package services

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/concord-health/concord/models"
)

// Action is something done to a patient's data; the access policy decides
// each one.
type Action string

// The actions on a patient's data.
const (
	ReadReadings     Action = "readings.read"
	WriteReadings    Action = "readings.write"
	ReadMedications  Action = "medications.read"
	WriteMedications Action = "medications.write"
	ReadDoses        Action = "doses.read"
	WriteDoses       Action = "doses.write"
	ReadAdherence    Action = "adherence.read"
	ReadSummary      Action = "summary.read"
	ManageCarers     Action = "carers.manage"
	ManagePharmacy   Action = "pharmacy.manage"
	ReadAccessLog    Action = "access_log.read"
	// ExportRecord is the patient taking a copy of their whole record.
	ExportRecord Action = "record.export"
	// DeleteAccount is the patient deleting their account.
	DeleteAccount Action = "account.delete"
	// ReadChanges is reading the change feed: what it holds follows the
	// caller's other read actions (Changes.Page).
	ReadChanges Action = "changes.read"
	// ReadFlags and ManageFlags are a pharmacist's review-flag actions:
	// reading a patient's flags, and claiming, noting and resolving them.
	ReadFlags   Action = "flags.read"
	ManageFlags Action = "flags.write"
	// ReadServices is reading a patient's pharmacy service episodes;
	// RecordServices is recording them (consent, stages, referrals, a
	// discharge reconciliation and the medicine changes it accepts): only
	// the nominated pharmacy's pharmacist records (the API lets no other
	// role call those routes).
	ReadServices   Action = "services.read"
	RecordServices Action = "services.write"
	// ReadReport is reading the consultation report (readings, adherence,
	// medicines and stock, open flags in one PDF): the patient and the
	// nominated pharmacy's pharmacist, who may read every part of it;
	// carers, whose scopes cover parts only, may not.
	ReadReport Action = "report.read"
	// ManageReportLinks is creating, listing and revoking the report's
	// share links: the patient's alone.
	ManageReportLinks Action = "report_links.manage"
	// ExportServiceRecord is a pharmacist taking an episode's consultation
	// record (FHIR R4) for the pharmacy's clinical system.
	ExportServiceRecord Action = "services.export"
)

// carerScopeFor is what a carer may do, and the scope each action needs.
// Carers only ever read; anything not listed is the patient's alone.
var carerScopeFor = map[Action]models.CareScope{
	ReadReadings:    models.ScopeViewReadings,
	ReadMedications: models.ScopeViewMedications,
	ReadDoses:       models.ScopeViewMedications,
	ReadAdherence:   models.ScopeViewMedications,
	ReadSummary:     models.ScopeViewSummary,
}

// pharmacistMay is what a pharmacist of the pharmacy the patient nominated
// may do while consent stands: read, and work on the patient's review flags.
var pharmacistMay = map[Action]bool{
	ReadReadings:        true,
	ReadMedications:     true,
	ReadDoses:           true,
	ReadAdherence:       true,
	ReadSummary:         true,
	ReadChanges:         true,
	ReadFlags:           true,
	ManageFlags:         true,
	ReadServices:        true,
	RecordServices:      true,
	ReadReport:          true,
	ExportServiceRecord: true,
}

// CareLinkReader reads one carer link by its id (models.CareLinkID).
type CareLinkReader interface {
	Link(ctx context.Context, id string) (models.CareLink, error)
}

// NominationReader reads a patient's current pharmacy nomination.
type NominationReader interface {
	Nomination(ctx context.Context, patientID string) (models.Nomination, error)
}

// AuditStore keeps the access log.
type AuditStore interface {
	Insert(ctx context.Context, e models.AuditEntry) error
	List(ctx context.Context, patientID, before string, limit int) ([]models.AuditEntry, error)
}

// Access is the one access policy for a patient's data: every route under
// /v1/patients/{patientId} asks it, and nothing else decides. It reads the
// relationship (care link, nomination) on every request, so a change takes
// effect at once, and writes an audit entry for every access it grants to
// anyone but the patient.
type Access struct {
	users       UserDirectory
	links       CareLinkReader
	nominations NominationReader
	audit       AuditStore
	now         func() time.Time
	log         *slog.Logger
}

// NewAccess returns the access policy.
func NewAccess(users UserDirectory, links CareLinkReader, nominations NominationReader, audit AuditStore, now func() time.Time, log *slog.Logger) *Access {
	return &Access{users: users, links: links, nominations: nominations, audit: audit, now: now, log: log}
}

// errPatientNotFound is the refusal of callers who may not learn that the
// patient exists. Its message is what clients (and the access matrix test)
// recognise as a refusal by the policy.
var errPatientNotFound = models.Errorf(models.CodeNotFound, "patient not found")

// Authorize decides whether p may do action to the patient's data and
// returns the patient's account; the audit entry (if one is due) names the
// action's area (e.g. "readings") as the resource. See AuthorizeResource.
func (a *Access) Authorize(ctx context.Context, p models.Principal, patientID string, action Action) (models.User, error) {
	return a.AuthorizeResource(ctx, p, patientID, action, "")
}

// AuthorizeResource decides whether p may do action to the patient's data
// and returns the patient's account. Who may:
//
//   - the patient: everything on their own data;
//   - a carer whose link is active (not paused) and shares the scope the
//     action needs (view_readings: readings; view_medications: medicines,
//     doses, adherence; view_summary: the summary); carers never write;
//   - a pharmacist of the pharmacy the patient nominated, while consent
//     stands: the read actions and the review-flag actions;
//   - nobody else (admins administer accounts, not clinical data).
//
// Errors: not_found "patient not found" for a caller with no relationship
// (no link, a revoked link, no consent, consent withdrawn or given to
// another pharmacy, an admin, another patient) and for a patient who does
// not exist, so the two cannot be told apart; forbidden for a carer whose
// link stands (they know the patient) but is paused or lacks the scope,
// and for the nominated pharmacy's pharmacist asking for what pharmacists
// may not do. Every grant to anyone but the patient is written to the
// audit log first, with resource (what the request touches, such as
// "readings/<id>"; "" means the action's area); if that write fails the
// access is refused with the error, so no access goes unaudited.
func (a *Access) AuthorizeResource(ctx context.Context, p models.Principal, patientID string, action Action, resource string) (models.User, error) {
	if patientID == "" || p.UserID == "" {
		return models.User{}, errPatientNotFound
	}
	patient, err := a.users.Get(ctx, patientID)
	if models.IsCode(err, models.CodeNotFound) {
		return models.User{}, errPatientNotFound
	}
	if err != nil {
		return models.User{}, err
	}
	if patient.Role != models.RolePatient {
		return models.User{}, errPatientNotFound
	}
	if p.UserID == patient.ID && p.Role == models.RolePatient {
		return patient, nil
	}
	if err := a.decide(ctx, p, patient.ID, action); err != nil {
		if models.IsCode(err, models.CodeNotFound) || models.IsCode(err, models.CodeForbidden) {
			a.log.InfoContext(ctx, "access refused", "actor", p.UserID, "role", p.Role, "patient", patient.ID,
				"action", action, "code", models.ErrorCode(err))
		}
		return models.User{}, err
	}
	if resource == "" {
		resource, _, _ = strings.Cut(string(action), ".")
	}
	at := a.now().UTC()
	entry := models.AuditEntry{ID: auditEntryID(at), PatientID: patient.ID, ActorID: p.UserID, ActorRole: p.Role,
		Action: string(action), Resource: resource, At: at, RequestID: models.RequestID(ctx)}
	if err := a.audit.Insert(ctx, entry); err != nil {
		return models.User{}, fmt.Errorf("audit %s of patient %s by %s: %w", action, patient.ID, p.UserID, err)
	}
	return patient, nil
}

// decide applies the relationship rules to a caller who is not the patient.
func (a *Access) decide(ctx context.Context, p models.Principal, patientID string, action Action) error {
	switch p.Role {
	case models.RoleCarer:
		link, err := a.links.Link(ctx, models.CareLinkID(patientID, p.UserID))
		if models.IsCode(err, models.CodeNotFound) || (err == nil && (link.Status == models.LinkRevoked || link.CarerID != p.UserID)) {
			return errPatientNotFound
		}
		if err != nil {
			return err
		}
		scope, carersMay := carerScopeFor[action]
		switch {
		case link.Status != models.LinkActive:
			return models.Errorf(models.CodeForbidden, "the patient has paused sharing with you")
		case action == ReadChanges:
			// Any active link: the feed holds what the scopes allow.
		case !carersMay || !link.Has(scope):
			return models.Errorf(models.CodeForbidden, "the patient has not shared this with you")
		}
		return nil
	case models.RolePharmacist:
		me, ok, err := a.Pharmacist(ctx, p)
		if err != nil {
			return err
		}
		if !ok {
			return errPatientNotFound
		}
		n, err := a.nominations.Nomination(ctx, patientID)
		if models.IsCode(err, models.CodeNotFound) || (err == nil && n.PharmacyID != me.PharmacyID) {
			return errPatientNotFound
		}
		if err != nil {
			return err
		}
		if !pharmacistMay[action] {
			return models.Errorf(models.CodeForbidden, "pharmacists may not do this to a patient's data")
		}
		return nil
	}
	return errPatientNotFound
}

// Pharmacist returns the caller's account when they are a pharmacist of a
// pharmacy: pharmacist in the token and in the stored account, which names
// a pharmacy. ok is false for anyone else, an account that no longer exists
// included; err is only a failure to read the account.
func (a *Access) Pharmacist(ctx context.Context, p models.Principal) (me models.User, ok bool, err error) {
	if p.Role != models.RolePharmacist {
		return models.User{}, false, nil
	}
	me, err = a.users.Get(ctx, p.UserID)
	if models.IsCode(err, models.CodeNotFound) {
		return models.User{}, false, nil
	}
	if err != nil {
		return models.User{}, false, err
	}
	if me.Role != models.RolePharmacist || me.PharmacyID == "" {
		return models.User{}, false, nil
	}
	return me, true, nil
}

// auditEntryID begins with the entry's time (milliseconds, fixed width) so
// ids order entries by time; the time-ordered UUID after it orders entries
// of one millisecond by when they were written and keeps ids unique.
func auditEntryID(at time.Time) string {
	return fmt.Sprintf("%013d-%s", at.UnixMilli(), uuid.Must(uuid.NewV7()))
}

// RecordOwn writes an access-log entry for something the patient did to
// their own record that the log keeps even though it is their own (taking
// an export, deleting the account). Errors: the store's.
func (a *Access) RecordOwn(ctx context.Context, p models.Principal, action Action, resource string) error {
	at := a.now().UTC()
	entry := models.AuditEntry{ID: auditEntryID(at), PatientID: p.UserID, ActorID: p.UserID, ActorRole: p.Role,
		Action: string(action), Resource: resource, At: at, RequestID: models.RequestID(ctx)}
	if err := a.audit.Insert(ctx, entry); err != nil {
		return fmt.Errorf("audit %s by %s: %w", action, p.UserID, err)
	}
	return nil
}

// errReportLinkNotFound refuses a share link that is unknown, revoked,
// expired or whose patient is gone, alike, so a holder learns nothing of
// which.
var errReportLinkNotFound = models.Errorf(models.CodeNotFound, "report link not found")

// AuthorizeShareLink decides a request for the report through a share
// link (models.ReportLink, already found by its token) at now: the link
// must be active and its patient's account must stand. The access is
// written to the patient's log first, by "share link <id>" from
// clientAddress (as the API tells it); if that write fails the access is
// refused with the error. Errors: not_found (errReportLinkNotFound).
func (a *Access) AuthorizeShareLink(ctx context.Context, link models.ReportLink, clientAddress string) (models.User, error) {
	at := a.now().UTC()
	if link.StatusAt(at) != models.ReportLinkActive {
		return models.User{}, errReportLinkNotFound
	}
	patient, err := a.users.Get(ctx, link.PatientID)
	if models.IsCode(err, models.CodeNotFound) || (err == nil && patient.Role != models.RolePatient) {
		return models.User{}, errReportLinkNotFound
	}
	if err != nil {
		return models.User{}, err
	}
	entry := models.AuditEntry{ID: auditEntryID(at), PatientID: patient.ID, ActorID: link.ID, ActorRole: models.RoleShareLink,
		Action: string(ReadReport), Resource: "report", At: at, RequestID: models.RequestID(ctx), ClientAddress: clientAddress}
	if err := a.audit.Insert(ctx, entry); err != nil {
		return models.User{}, fmt.Errorf("audit report by share link %s: %w", link.ID, err)
	}
	return patient, nil
}

// Access-log page sizes.
const (
	DefaultAccessLogPage = 50
	MaxAccessLogPage     = 200
)

// AccessLogPage is one page of a patient's access log, newest first.
// NextCursor is "" on the last page.
type AccessLogPage struct {
	Items      []models.AuditEntry `json:"items"`
	NextCursor string              `json:"nextCursor,omitempty"`
}

// AccessLog returns a page of the patient's access log, newest first, each
// entry with the actor's name. limit 0 means DefaultAccessLogPage. Errors:
// invalid (limit, cursor).
func (a *Access) AccessLog(ctx context.Context, patientID string, limit int, cursor string) (AccessLogPage, error) {
	var p models.Problems
	switch {
	case limit == 0:
		limit = DefaultAccessLogPage
	case limit < 1 || limit > MaxAccessLogPage:
		p.Add("limit", "must be between 1 and %d", MaxAccessLogPage)
	}
	var before string
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(b) == 0 || len(b) > 100 {
			p.Add("cursor", "is not a cursor this server issued; start again without one")
		}
		before = string(b)
	}
	if err := p.Err(); err != nil {
		return AccessLogPage{}, err
	}
	items, err := a.audit.List(ctx, patientID, before, limit+1)
	if err != nil {
		return AccessLogPage{}, err
	}
	page := AccessLogPage{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(page.Items[limit-1].ID))
	}
	names := map[string]string{}
	for i, e := range page.Items {
		if e.ActorRole == models.RoleShareLink {
			page.Items[i].ActorName = "share link " + e.ActorID
			continue
		}
		name, ok := names[e.ActorID]
		if !ok {
			u, err := a.users.Get(ctx, e.ActorID)
			if err != nil && !models.IsCode(err, models.CodeNotFound) {
				return AccessLogPage{}, err
			}
			name = u.Name
			names[e.ActorID] = name
		}
		page.Items[i].ActorName = name
	}
	return page, nil
}

// May reports whether p may do action to the patient's data, by the rules
// of AuthorizeResource, without writing an audit entry: for a caller
// already authorized (and audited) for a wider request, such as the change
// feed, deciding what it may hold.
func (a *Access) May(ctx context.Context, p models.Principal, patientID string, action Action) (bool, error) {
	if p.UserID == patientID && p.Role == models.RolePatient {
		return true, nil
	}
	err := a.decide(ctx, p, patientID, action)
	if models.IsCode(err, models.CodeNotFound) || models.IsCode(err, models.CodeForbidden) {
		return false, nil
	}
	return err == nil, err
}
