package services

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/concord-health/concord/models"
)

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
