package services

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
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
	UpdateLink(ctx context.Context, id string, scopes []models.CareScope, status string, at time.Time) (bool, error)
	EndLink(ctx context.Context, id, endedBy string, at time.Time) (bool, error)
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

// codeEncoding is Crockford's base32: no I, L, O or U, so a code read
// aloud or typed is hard to get wrong.
var codeEncoding = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// codeLength is the length of an invitation code without its dashes: 16
// characters of base32, 80 random bits.
const codeLength = 16

// newInvitationCode returns a code as shown ("ABCD-EFGH-JKMN-PQRS") and the
// hash it is stored under.
func newInvitationCode() (code, hash string) {
	b := make([]byte, codeLength*5/8)
	_, _ = rand.Read(b)
	raw := codeEncoding.EncodeToString(b)
	return raw[0:4] + "-" + raw[4:8] + "-" + raw[8:12] + "-" + raw[12:16], hashInvitationCode(raw)
}

// normalizeInvitationCode undoes what people do to a code when they copy
// or type it: case, spaces, dashes, and the letters Crockford's alphabet
// reads as digits (O as 0; I and L as 1).
func normalizeInvitationCode(s string) (string, bool) {
	s = strings.NewReplacer("-", "", " ", "", "O", "0", "I", "1", "L", "1").Replace(strings.ToUpper(strings.TrimSpace(s)))
	if len(s) != codeLength {
		return "", false
	}
	if _, err := codeEncoding.DecodeString(s); err != nil {
		return "", false
	}
	return s, true
}

func hashInvitationCode(normalized string) string {
	sum := sha256.Sum256([]byte("concord-care-invitation:" + normalized))
	return hex.EncodeToString(sum[:])
}

// NewInvitation is a created invitation and its code, which is shown this
// once and never again.
type NewInvitation struct {
	Invitation models.CareInvitation `json:"invitation"`
	Code       string                `json:"code"`
}

// Invite creates an invitation for a carer with the given scopes, valid for
// models.InvitationTTL. Errors: invalid (scopes, note), conflict (the
// patient has MaxPendingInvitations pending, field "invitations", or
// MaxCarersPerPatient carers, field "carers").
func (c *Care) Invite(ctx context.Context, patientID string, scopes []models.CareScope, note string) (NewInvitation, error) {
	var p models.Problems
	scopes = models.NormalizeScopes("scopes", scopes, &p)
	note = strings.TrimSpace(note)
	models.ValidateInvitationNote(note, &p)
	if err := p.Err(); err != nil {
		return NewInvitation{}, err
	}
	now := c.now().UTC()
	pending, err := c.store.PendingInvitations(ctx, patientID, now, MaxPendingInvitations)
	if err != nil {
		return NewInvitation{}, err
	}
	if len(pending) >= MaxPendingInvitations {
		return NewInvitation{}, capReached("invitations",
			fmt.Sprintf("%d invitations are waiting to be accepted, the most Concord allows; withdraw one or let one expire first", MaxPendingInvitations),
			fmt.Sprintf("at most %d may be pending at once", MaxPendingInvitations))
	}
	if err := c.checkCarers(ctx, patientID, ""); err != nil {
		return NewInvitation{}, err
	}
	code, hash := newInvitationCode()
	inv := models.CareInvitation{CodeHash: hash, ID: newID(), PatientID: patientID, Scopes: scopes, Note: note,
		CreatedAt: now, ExpiresAt: now.Add(models.InvitationTTL)}
	if err := c.store.CreateInvitation(ctx, inv); err != nil {
		return NewInvitation{}, err
	}
	inv.Status = inv.StatusAt(now)
	c.log.InfoContext(ctx, "carer invitation created", "patient", patientID, "invitation", inv.ID)
	return NewInvitation{Invitation: inv, Code: code}, nil
}

// Invitations lists the patient's invitations, newest first, each with its
// status (pending, accepted, expired or revoked); codes are never shown.
// It lists at most MaxInvitationsListed: every pending one, then the
// newest of the others.
func (c *Care) Invitations(ctx context.Context, patientID string) ([]models.CareInvitation, error) {
	now := c.now()
	pending, err := c.store.PendingInvitations(ctx, patientID, now.UTC(), MaxInvitationsListed)
	if err != nil {
		return nil, err
	}
	newest, err := c.store.Invitations(ctx, patientID, MaxInvitationsListed)
	if err != nil {
		return nil, err
	}
	invs := pending
	for _, inv := range newest {
		if len(invs) == MaxInvitationsListed {
			break
		}
		if !slices.ContainsFunc(pending, func(p models.CareInvitation) bool { return p.ID == inv.ID }) {
			invs = append(invs, inv)
		}
	}
	slices.SortFunc(invs, func(a, b models.CareInvitation) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), strings.Compare(b.ID, a.ID))
	})
	for i := range invs {
		invs[i].Status = invs[i].StatusAt(now)
	}
	return invs, nil
}

// RevokeInvitation withdraws one of the patient's invitations so its code
// can no longer be accepted; revoking it again changes nothing. Errors:
// not_found (no such invitation of this patient), conflict (already
// accepted: revoke the link instead).
func (c *Care) RevokeInvitation(ctx context.Context, patientID, id string) error {
	ok, err := c.store.RevokeInvitation(ctx, patientID, id, c.now().UTC())
	if err != nil || ok {
		if ok {
			c.log.InfoContext(ctx, "carer invitation revoked", "patient", patientID, "invitation", id)
		}
		return err
	}
	inv, err := c.store.InvitationByID(ctx, patientID, id)
	if models.IsCode(err, models.CodeNotFound) {
		return models.Errorf(models.CodeNotFound, "invitation not found")
	}
	if err != nil {
		return err
	}
	if inv.AcceptedAt != nil {
		return models.Errorf(models.CodeConflict, "this invitation was accepted; revoke the carer's link instead")
	}
	return nil // revoked already
}

// Accept links the calling carer to the patient who issued the code, with
// the invitation's scopes, and spends the code: of any number of carers
// accepting one code at once exactly one wins. A link the pair had before
// (revoked, paused or active) is replaced by the new one. created is false
// when the same carer accepts again a code it has already accepted and the
// link still stands (a retried request). Errors: invalid (not the shape of
// a code), not_found (unknown, used, revoked or expired code; the detail
// says which), conflict (the patient has MaxCarersPerPatient carers, field
// "carers", or the carer MaxPatientsPerCarer patients, field "patients",
// besides this pair; the code stays unspent).
func (c *Care) Accept(ctx context.Context, carerID, code string) (link models.CareLink, created bool, err error) {
	norm, ok := normalizeInvitationCode(code)
	if !ok {
		return models.CareLink{}, false, &models.Error{Code: models.CodeInvalid, Message: "the request has invalid fields",
			Fields: []models.FieldProblem{{Field: "code", Problem: "is not an invitation code (16 letters and digits, such as ABCD-EFGH-JKMN-PQRS)"}}}
	}
	inv, err := c.store.Invitation(ctx, hashInvitationCode(norm))
	if models.IsCode(err, models.CodeNotFound) {
		return models.CareLink{}, false, models.Errorf(models.CodeNotFound, "no invitation has this code")
	}
	if err != nil {
		return models.CareLink{}, false, err
	}
	now := c.now().UTC()
	linkID := models.CareLinkID(inv.PatientID, carerID)
	if status := inv.StatusAt(now); status != models.InvitationPending {
		if status == models.InvitationAccepted && inv.AcceptedBy == carerID {
			l, err := c.store.Link(ctx, linkID)
			if err == nil && l.InvitationID == inv.ID && l.Status != models.LinkRevoked {
				return l, false, nil
			}
		}
		return models.CareLink{}, false, invitationUnusable(status)
	}
	if _, err := c.users.Get(ctx, inv.PatientID); err != nil {
		if models.IsCode(err, models.CodeNotFound) {
			return models.CareLink{}, false, models.Errorf(models.CodeNotFound, "no invitation has this code")
		}
		return models.CareLink{}, false, err
	}
	if err := c.checkCarers(ctx, inv.PatientID, linkID); err != nil {
		return models.CareLink{}, false, err
	}
	if err := c.checkPatients(ctx, carerID, linkID); err != nil {
		return models.CareLink{}, false, err
	}
	won, err := c.store.ClaimInvitation(ctx, inv.CodeHash, carerID, linkID, now)
	if err != nil {
		return models.CareLink{}, false, err
	}
	if !won {
		return models.CareLink{}, false, invitationUnusable(models.InvitationAccepted)
	}
	link = models.CareLink{ID: linkID, PatientID: inv.PatientID, CarerID: carerID, Scopes: inv.Scopes, Status: models.LinkActive,
		InvitationID: inv.ID, CreatedAt: now, UpdatedAt: now}
	if err := c.store.PutLink(ctx, link); err != nil {
		return models.CareLink{}, false, err
	}
	c.log.InfoContext(ctx, "carer linked", "patient", inv.PatientID, "carer", carerID, "invitation", inv.ID)
	return link, true, nil
}

func invitationUnusable(status string) error {
	switch status {
	case models.InvitationExpired:
		return models.Errorf(models.CodeNotFound, "this invitation code has expired; ask the patient for a new one")
	case models.InvitationRevoked:
		return models.Errorf(models.CodeNotFound, "this invitation was withdrawn by the patient")
	}
	return models.Errorf(models.CodeNotFound, "this invitation code has already been used")
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

// Links lists the patient's carer links, oldest first, with each carer's
// name: every standing link (active or paused) and, for the record, the
// most recently created revoked ones, MaxLinksListed in all.
func (c *Care) Links(ctx context.Context, patientID string) ([]models.CareLink, error) {
	links, err := c.store.StandingLinks(ctx, patientID, MaxLinksListed)
	if err != nil {
		return nil, err
	}
	if room := MaxLinksListed - len(links); room > 0 {
		revoked, err := c.store.RevokedLinks(ctx, patientID, room)
		if err != nil {
			return nil, err
		}
		links = append(links, revoked...)
		slices.SortFunc(links, func(a, b models.CareLink) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
		})
	}
	for i := range links {
		if u, err := c.users.Get(ctx, links[i].CarerID); err == nil {
			links[i].CarerName = u.Name
		} else if !models.IsCode(err, models.CodeNotFound) {
			return nil, err
		}
	}
	return links, nil
}

var errNoLink = models.Errorf(models.CodeNotFound, "carer link not found")

// patientLink returns one of the patient's links. Errors: not_found.
func (c *Care) patientLink(ctx context.Context, patientID, linkID string) (models.CareLink, error) {
	l, err := c.store.Link(ctx, linkID)
	if models.IsCode(err, models.CodeNotFound) || (err == nil && l.PatientID != patientID) {
		return models.CareLink{}, errNoLink
	}
	return l, err
}

// LinkChange is a patient's change to a carer link; nil fields stay.
type LinkChange struct {
	Scopes *[]models.CareScope
	Paused *bool
}

var errLinkRevoked = models.Errorf(models.CodeConflict, "this carer link was revoked; invite the carer again")

// UpdateLink changes a link's scopes or pauses or resumes it, effective at
// once. Errors: invalid (scopes), not_found (no such link of this patient),
// conflict (the link is revoked).
func (c *Care) UpdateLink(ctx context.Context, patientID, linkID string, change LinkChange) (models.CareLink, error) {
	l, err := c.patientLink(ctx, patientID, linkID)
	if err != nil {
		return models.CareLink{}, err
	}
	var (
		p      models.Problems
		scopes []models.CareScope
		status string
	)
	if change.Scopes != nil {
		scopes = models.NormalizeScopes("scopes", *change.Scopes, &p)
	}
	if err := p.Err(); err != nil {
		return models.CareLink{}, err
	}
	if l.Status == models.LinkRevoked {
		return models.CareLink{}, errLinkRevoked
	}
	if change.Paused != nil {
		status = models.LinkActive
		if *change.Paused {
			status = models.LinkPaused
		}
	}
	ok, err := c.store.UpdateLink(ctx, linkID, scopes, status, c.now().UTC())
	if err != nil {
		return models.CareLink{}, err
	}
	if !ok {
		return models.CareLink{}, errLinkRevoked
	}
	c.log.InfoContext(ctx, "carer link changed", "patient", patientID, "link", linkID)
	return c.store.Link(ctx, linkID)
}

// RevokeLink ends a carer's link, effective at once; revoking it again
// changes nothing. Errors: not_found (no such link of this patient).
func (c *Care) RevokeLink(ctx context.Context, patientID, linkID string) error {
	if _, err := c.patientLink(ctx, patientID, linkID); err != nil {
		return err
	}
	ended, err := c.store.EndLink(ctx, linkID, models.EndedByPatient, c.now().UTC())
	if ended {
		c.log.InfoContext(ctx, "carer link revoked by patient", "patient", patientID, "link", linkID)
	}
	return err
}

// MyPatients lists the patients a carer cares for (links not revoked, the
// paused ones marked), oldest link first, naming each by first name only:
// at most MaxPatientsPerCarer, the cap Accept keeps to.
func (c *Care) MyPatients(ctx context.Context, carerID string) ([]models.CaredPatient, error) {
	links, err := c.store.LinksOfCarer(ctx, carerID, MaxPatientsPerCarer)
	if err != nil {
		return nil, err
	}
	out := []models.CaredPatient{}
	for _, l := range links {
		u, err := c.users.Get(ctx, l.PatientID)
		if models.IsCode(err, models.CodeNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, models.CaredPatient{PatientID: l.PatientID, FirstName: u.FirstName(), LinkID: l.ID,
			Scopes: l.Scopes, Paused: l.Status == models.LinkPaused, Since: l.CreatedAt})
	}
	return out, nil
}

// Leave ends the calling carer's link to a patient, effective at once.
// Errors: not_found (no standing link to this patient).
func (c *Care) Leave(ctx context.Context, carerID, patientID string) error {
	ended, err := c.store.EndLink(ctx, models.CareLinkID(patientID, carerID), models.EndedByCarer, c.now().UTC())
	if err != nil {
		return err
	}
	if !ended {
		return models.Errorf(models.CodeNotFound, "you do not care for this patient")
	}
	c.log.InfoContext(ctx, "carer left", "patient", patientID, "carer", carerID)
	return nil
}

// ActiveCarers returns the links of the patient's carers who should hear
// about scope now: active (not paused, not revoked) and sharing that scope.
// Alerts to carers start here.
func (c *Care) ActiveCarers(ctx context.Context, patientID string, scope models.CareScope) ([]models.CareLink, error) {
	return c.store.ActiveLinks(ctx, patientID, scope)
}
