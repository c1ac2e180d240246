package services

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/concord-health/concord/models"
)

// CareStore is what Care needs of care-circle storage.
type CareStore interface {
	CreateInvitation(ctx context.Context, inv models.CareInvitation) error
	Invitation(ctx context.Context, hash string) (models.CareInvitation, error)
	Invitations(ctx context.Context, patientID string, limit int) ([]models.CareInvitation, error)
	PendingInvitations(ctx context.Context, patientID string, now time.Time, limit int) ([]models.CareInvitation, error)
	InvitationByID(ctx context.Context, patientID, id string) (models.CareInvitation, error)
	ClaimInvitation(ctx context.Context, hash, carerID, linkID string, at time.Time) (bool, error)
	RevokeInvitation(ctx context.Context, patientID, id string, at time.Time) (bool, error)
	PutLink(ctx context.Context, l models.CareLink) error
	Link(ctx context.Context, id string) (models.CareLink, error)
	StandingLinks(ctx context.Context, patientID string, limit int) ([]models.CareLink, error)
	RevokedLinks(ctx context.Context, patientID string, limit int) ([]models.CareLink, error)
	LinksOfCarer(ctx context.Context, carerID string, limit int) ([]models.CareLink, error)
	ActiveLinks(ctx context.Context, patientID string, scope models.CareScope) ([]models.CareLink, error)
	UpdateLink(ctx context.Context, id string, scopes []models.CareScope, status string, at, prev time.Time) (bool, error)
	EndLink(ctx context.Context, id, endedBy string, at, prev time.Time) (bool, error)
}

// Bounds of the care circle: what a patient or carer can grow, and how much
// of it a list shows. A cap is checked before the write it guards, so
// requests racing at it may each pass: it bounds growth, it is not an exact
// quota.
const (
	// MaxCarersPerPatient is how many carers a patient can have at once
	// (links active or paused). Twenty is a large family and a care team
	// together; past it Invite, and Accept of an invitation made earlier,
	// are refused with a conflict naming "carers" until the patient
	// revokes a link.
	MaxCarersPerPatient = 20
	// MaxPendingInvitations is how many invitations a patient can have
	// pending (neither accepted, revoked nor expired) at once; past it
	// Invite is refused with a conflict naming "invitations" until one is
	// accepted, revoked or expires (models.InvitationTTL).
	MaxPendingInvitations = 10
	// MaxPatientsPerCarer is how many patients one carer can care for at
	// once (links active or paused): a care home's residents fit. Past it
	// Accept is refused with a conflict naming "patients" until the carer
	// leaves a patient or a patient revokes them.
	MaxPatientsPerCarer = 100
	// MaxInvitationsListed is the most invitations Invitations lists: the
	// pending ones (all of them) and the newest others. Older accepted,
	// revoked or expired invitations are left out of the list; they stay
	// stored, and the links they made are listed by Links.
	MaxInvitationsListed = 50
	// MaxLinksListed is the most links Links lists: every standing link
	// (at most MaxCarersPerPatient) and the most recently created revoked
	// ones. Older revoked links are left out of the list; they stay
	// stored, and the access log keeps what those carers did.
	MaxLinksListed = 50
)

// Care is the care circle: a patient invites carers with scopes, a carer
// accepts with the single-use code, the patient changes scopes, pauses or
// revokes, and the carer can leave. Every change takes effect at once: the
// access policy reads the link on every request.
type Care struct {
	store CareStore
	users UserDirectory
	now   func() time.Time
	log   *slog.Logger
}

// NewCare returns the care-circle service.
func NewCare(store CareStore, users UserDirectory, now func() time.Time, log *slog.Logger) *Care {
	return &Care{store: store, users: users, now: now, log: log}
}

// checkCarers refuses a new carer for the patient when MaxCarersPerPatient
// links other than except (the pair's own, which the new link replaces)
// stand.
func (c *Care) checkCarers(ctx context.Context, patientID, except string) error {
	links, err := c.store.StandingLinks(ctx, patientID, MaxCarersPerPatient+1)
	if err != nil {
		return err
	}
	if countOther(links, except) < MaxCarersPerPatient {
		return nil
	}
	return capReached("carers", fmt.Sprintf("the patient has %d carers, the most Concord allows; one must be removed first", MaxCarersPerPatient),
		fmt.Sprintf("at most %d at once", MaxCarersPerPatient))
}

// checkPatients refuses a new patient for the carer when
// MaxPatientsPerCarer links other than except stand.
func (c *Care) checkPatients(ctx context.Context, carerID, except string) error {
	links, err := c.store.LinksOfCarer(ctx, carerID, MaxPatientsPerCarer+1)
	if err != nil {
		return err
	}
	if countOther(links, except) < MaxPatientsPerCarer {
		return nil
	}
	return capReached("patients", fmt.Sprintf("you care for %d patients, the most Concord allows; leave one first", MaxPatientsPerCarer),
		fmt.Sprintf("at most %d at once", MaxPatientsPerCarer))
}

// countOther counts the links but the one with id except.
func countOther(links []models.CareLink, except string) int {
	n := 0
	for _, l := range links {
		if l.ID != except {
			n++
		}
	}
	return n
}

// capReached is the conflict of a request that would grow field past its
// cap.
func capReached(field, message, problem string) error {
	return &models.Error{Code: models.CodeConflict, Message: message, Fields: []models.FieldProblem{{Field: field, Problem: problem}}}
}
