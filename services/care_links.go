package services

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
)

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
// once. With ifMatch (the updatedAt the client last read, its ETag) only
// that version is changed. Errors: invalid (scopes), not_found (no such
// link of this patient), conflict (the link is revoked),
// precondition_failed.
func (c *Care) UpdateLink(ctx context.Context, patientID, linkID string, change LinkChange, ifMatch *time.Time) (models.CareLink, error) {
	l, err := c.patientLink(ctx, patientID, linkID)
	if err != nil {
		return models.CareLink{}, err
	}
	var prev time.Time
	if ifMatch != nil {
		if prev = models.Instant(*ifMatch); !l.UpdatedAt.Equal(prev) {
			return models.CareLink{}, models.StaleVersion("carer link")
		}
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
	ok, err := c.store.UpdateLink(ctx, linkID, scopes, status, models.NextUpdatedAt(l.UpdatedAt, c.now()), prev)
	if err != nil {
		return models.CareLink{}, err
	}
	if !ok {
		if ifMatch != nil {
			if now, err := c.store.Link(ctx, linkID); err == nil && now.Status != models.LinkRevoked {
				return models.CareLink{}, models.StaleVersion("carer link")
			}
		}
		return models.CareLink{}, errLinkRevoked
	}
	c.log.InfoContext(ctx, "carer link changed", "patient", patientID, "link", linkID)
	return c.store.Link(ctx, linkID)
}

// RevokeLink ends a carer's link, effective at once; revoking it again
// changes nothing. With ifMatch only the version the client read is
// revoked. Errors: not_found (no such link of this patient),
// precondition_failed.
func (c *Care) RevokeLink(ctx context.Context, patientID, linkID string, ifMatch *time.Time) error {
	l, err := c.patientLink(ctx, patientID, linkID)
	if err != nil {
		return err
	}
	var prev time.Time
	if ifMatch != nil {
		if prev = models.Instant(*ifMatch); !l.UpdatedAt.Equal(prev) {
			return models.StaleVersion("carer link")
		}
	}
	ended, err := c.store.EndLink(ctx, linkID, models.EndedByPatient, models.NextUpdatedAt(l.UpdatedAt, c.now()), prev)
	if ended {
		c.log.InfoContext(ctx, "carer link revoked by patient", "patient", patientID, "link", linkID)
	} else if err == nil && ifMatch != nil && l.Status != models.LinkRevoked {
		return models.StaleVersion("carer link")
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
	ended, err := c.store.EndLink(ctx, models.CareLinkID(patientID, carerID), models.EndedByCarer, c.now().UTC(), time.Time{})
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

// Link returns one of the patient's carer links with the carer's name.
// Errors: not_found (no such link of this patient).
func (c *Care) Link(ctx context.Context, patientID, linkID string) (models.CareLink, error) {
	l, err := c.patientLink(ctx, patientID, linkID)
	if err != nil {
		return models.CareLink{}, err
	}
	if u, err := c.users.Get(ctx, l.CarerID); err == nil {
		l.CarerName = u.Name
	} else if !models.IsCode(err, models.CodeNotFound) {
		return models.CareLink{}, err
	}
	return l, nil
}
