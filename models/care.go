package models

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// CareScope is one thing a patient shares with a carer.
type CareScope string

// The scopes a patient can give a carer.
const (
	ScopeMissedDoseAlerts CareScope = "missed_dose_alerts"
	ScopeReadingAlerts    CareScope = "reading_alerts"
	ScopeViewSummary      CareScope = "view_summary"
	ScopeViewReadings     CareScope = "view_readings"
	ScopeViewMedications  CareScope = "view_medications"
)

// CareScopes lists every scope, in the order clients show them.
var CareScopes = []CareScope{ScopeMissedDoseAlerts, ScopeReadingAlerts, ScopeViewSummary, ScopeViewReadings, ScopeViewMedications}

// NormalizeScopes validates a list of scopes under field and returns it
// deduplicated and in CareScopes order. At least one scope is required: a
// link that shares nothing should be paused or revoked instead.
func NormalizeScopes(field string, scopes []CareScope, p *Problems) []CareScope {
	if len(scopes) == 0 {
		p.Add(field, "must name at least one scope")
		return nil
	}
	var out []CareScope
	for i, s := range scopes {
		if !slices.Contains(CareScopes, s) {
			p.Add(field+"["+strconv.Itoa(i)+"]", "must be one of %s", joinScopes(CareScopes))
		}
	}
	for _, s := range CareScopes {
		if slices.Contains(scopes, s) {
			out = append(out, s)
		}
	}
	return out
}

func joinScopes(s []CareScope) string {
	names := make([]string, len(s))
	for i, x := range s {
		names[i] = string(x)
	}
	return strings.Join(names, ", ")
}

// MaxInvitationNote is the longest note a patient can put on an invitation.
const MaxInvitationNote = 500

// ValidateInvitationNote checks the optional note on an invitation.
func ValidateInvitationNote(note string, p *Problems) {
	ValidateText("note", note, MaxInvitationNote, true, p)
}

// InvitationTTL is how long an invitation code can be accepted.
const InvitationTTL = 72 * time.Hour

// Invitation statuses (computed from the stored times).
const (
	InvitationPending  = "pending"
	InvitationAccepted = "accepted"
	InvitationExpired  = "expired"
	InvitationRevoked  = "revoked"
)

// CareInvitation is a patient's offer to link a carer with some scopes. Its
// code is shown once, to the patient, and stored only as a hash, which is
// its key: accepting is one read by key.
type CareInvitation struct {
	CodeHash   string      `json:"-" bson:"_id"`
	ID         string      `json:"id" bson:"publicId"`
	PatientID  string      `json:"patientId" bson:"patientId"`
	Scopes     []CareScope `json:"scopes" bson:"scopes"`
	Note       string      `json:"note,omitempty" bson:"note,omitempty"`
	CreatedAt  time.Time   `json:"createdAt" bson:"createdAt"`
	ExpiresAt  time.Time   `json:"expiresAt" bson:"expiresAt"`
	AcceptedAt *time.Time  `json:"acceptedAt,omitempty" bson:"acceptedAt,omitempty"`
	AcceptedBy string      `json:"acceptedBy,omitempty" bson:"acceptedBy,omitempty"`
	LinkID     string      `json:"linkId,omitempty" bson:"linkId,omitempty"`
	RevokedAt  *time.Time  `json:"revokedAt,omitempty" bson:"revokedAt,omitempty"`
	// Status is computed when the invitation is shown (see StatusAt).
	Status string `json:"status" bson:"-"`
}

// StatusAt returns the invitation's status at a moment.
func (i CareInvitation) StatusAt(now time.Time) string {
	switch {
	case i.AcceptedAt != nil:
		return InvitationAccepted
	case i.RevokedAt != nil:
		return InvitationRevoked
	case !now.Before(i.ExpiresAt):
		return InvitationExpired
	}
	return InvitationPending
}

// Link statuses.
const (
	LinkActive  = "active"
	LinkPaused  = "paused"
	LinkRevoked = "revoked"
)

// Who ended a care link.
const (
	EndedByPatient = "patient"
	EndedByCarer   = "carer"
)

// CareLink connects a patient and a carer with the scopes the patient
// shares. There is at most one per pair: its id is CareLinkID(patient,
// carer), so the access policy reads it by exact id on every request and a
// change takes effect at once.
type CareLink struct {
	ID           string      `json:"id" bson:"_id"`
	PatientID    string      `json:"patientId" bson:"patientId"`
	CarerID      string      `json:"carerId" bson:"carerId"`
	Scopes       []CareScope `json:"scopes" bson:"scopes"`
	Status       string      `json:"status" bson:"status"`
	InvitationID string      `json:"invitationId" bson:"invitationId"`
	CreatedAt    time.Time   `json:"createdAt" bson:"createdAt"`
	UpdatedAt    time.Time   `json:"updatedAt" bson:"updatedAt"`
	RevokedAt    *time.Time  `json:"revokedAt,omitempty" bson:"revokedAt,omitempty"`
	EndedBy      string      `json:"endedBy,omitempty" bson:"endedBy,omitempty"`
	// CarerName is filled when the patient lists links; not stored.
	CarerName string `json:"carerName,omitempty" bson:"-"`
}

// CareLinkID is the id of the link between a patient and a carer.
func CareLinkID(patientID, carerID string) string { return patientID + ":" + carerID }

// Has reports whether the link shares scope.
func (l CareLink) Has(scope CareScope) bool { return slices.Contains(l.Scopes, scope) }

// Active reports whether the link currently shares anything (not paused, not
// revoked).
func (l CareLink) Active() bool { return l.Status == LinkActive }

// CaredPatient is what a carer sees of a patient they care for: a first
// name, never more, and the link's terms.
type CaredPatient struct {
	PatientID string      `json:"patientId"`
	FirstName string      `json:"firstName"`
	LinkID    string      `json:"linkId"`
	Scopes    []CareScope `json:"scopes"`
	Paused    bool        `json:"paused"`
	Since     time.Time   `json:"since"`
}

// AuditEntry records one access to a patient's data by someone other than
// the patient: who, in which role, did what to which resource, when, under
// which request id. The patient reads these in the access log.
type AuditEntry struct {
	ID        string    `json:"id" bson:"_id"`
	PatientID string    `json:"patientId" bson:"patientId"`
	ActorID   string    `json:"actorId" bson:"actorId"`
	ActorRole Role      `json:"actorRole" bson:"actorRole"`
	Action    string    `json:"action" bson:"action"`
	Resource  string    `json:"resource" bson:"resource"`
	At        time.Time `json:"at" bson:"at"`
	RequestID string    `json:"requestId,omitempty" bson:"requestId,omitempty"`
	// ClientAddress is the address the request came from, recorded for
	// accesses without an account (a report share link); "" otherwise.
	ClientAddress string `json:"clientAddress,omitempty" bson:"clientAddress,omitempty"`
	// ActorName is filled when the log is shown to the patient; not stored.
	ActorName string `json:"actorName,omitempty" bson:"-"`
}
