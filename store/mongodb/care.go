package mongodb

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

const (
	invitationsCollection = "care_invitations"
	linksCollection       = "care_links"
)

var careIndexes = []index{
	changesIndex(linksCollection, "patientId"),
	{invitationsCollection, mongo.IndexModel{Keys: bson.D{{Key: "patientId", Value: 1}, {Key: "createdAt", Value: -1}}, Options: options.Index().SetName("patient_created")}},
	{invitationsCollection, mongo.IndexModel{Keys: bson.D{{Key: "publicId", Value: 1}}, Options: options.Index().SetUnique(true).SetName("public_id_unique")}},
	// A patient's invitations not yet expired (the pending ones among them).
	{invitationsCollection, mongo.IndexModel{Keys: bson.D{{Key: "patientId", Value: 1}, {Key: "expiresAt", Value: 1}}, Options: options.Index().SetName("patient_expires")}},
	{linksCollection, mongo.IndexModel{Keys: bson.D{{Key: "patientId", Value: 1}, {Key: "status", Value: 1}}, Options: options.Index().SetName("patient_status")}},
	{linksCollection, mongo.IndexModel{Keys: bson.D{{Key: "carerId", Value: 1}}, Options: options.Index().SetName("carer")}},
}

// Care stores the care circle: invitations (each under the hash of its code
// as _id) and carer links (each under models.CareLinkID as _id).
type Care struct {
	invitations *mongo.Collection
	links       *mongo.Collection
}

// Care returns the care-circle store.
func (s *Store) Care() store.Care {
	return &Care{invitations: s.db.Collection(invitationsCollection), links: s.db.Collection(linksCollection)}
}

// CreateInvitation stores an invitation; conflict if its code hash or id is taken.
func (c *Care) CreateInvitation(ctx context.Context, inv models.CareInvitation) error {
	_, err := c.invitations.InsertOne(ctx, inv)
	return translate(err, "create invitation")
}

// Invitation returns the invitation whose code hashes to hash (one
// exact-id read); not_found if there is none.
func (c *Care) Invitation(ctx context.Context, hash string) (models.CareInvitation, error) {
	return byID[models.CareInvitation](ctx, c.invitations, hash, "invitation")
}

// Invitations returns up to limit of a patient's invitations, newest
// first.
func (c *Care) Invitations(ctx context.Context, patientID string, limit int) ([]models.CareInvitation, error) {
	return c.findInvitations(ctx, bson.D{{Key: "patientId", Value: patientID}}, limit, "list invitations")
}

// PendingInvitations returns up to limit of a patient's invitations
// pending at now (not accepted, not revoked, expiring after now), newest
// first (index patient_expires).
func (c *Care) PendingInvitations(ctx context.Context, patientID string, now time.Time, limit int) ([]models.CareInvitation, error) {
	return c.findInvitations(ctx, bson.D{{Key: "patientId", Value: patientID}, {Key: "expiresAt", Value: bson.D{{Key: "$gt", Value: now}}},
		{Key: "acceptedAt", Value: nil}, {Key: "revokedAt", Value: nil}}, limit, "list pending invitations")
}

func (c *Care) findInvitations(ctx context.Context, filter bson.D, limit int, what string) ([]models.CareInvitation, error) {
	cur, err := c.invitations.Find(ctx, filter,
		options.Find().SetSort(bson.D{{Key: "createdAt", Value: -1}, {Key: "publicId", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, translate(err, "%s", what)
	}
	out := []models.CareInvitation{}
	return out, translate(cur.All(ctx, &out), "%s", what)
}

// InvitationByID returns the patient's invitation with the public id
// (index public_id_unique); not_found if there is none.
func (c *Care) InvitationByID(ctx context.Context, patientID, id string) (models.CareInvitation, error) {
	var inv models.CareInvitation
	err := c.invitations.FindOne(ctx, bson.D{{Key: "publicId", Value: id}, {Key: "patientId", Value: patientID}}).Decode(&inv)
	return inv, translate(err, "invitation")
}

// ClaimInvitation marks a pending invitation accepted by carerID (with the
// link it creates). It reports false when the invitation was already
// accepted, revoked or had expired at `at`. One conditional write: of any
// number of concurrent claims exactly one gets true.
func (c *Care) ClaimInvitation(ctx context.Context, hash, carerID, linkID string, at time.Time) (bool, error) {
	res, err := c.invitations.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: hash}, {Key: "acceptedAt", Value: nil}, {Key: "revokedAt", Value: nil}, {Key: "expiresAt", Value: bson.D{{Key: "$gt", Value: at}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "acceptedAt", Value: at}, {Key: "acceptedBy", Value: carerID}, {Key: "linkId", Value: linkID}}}})
	if err != nil {
		return false, translate(err, "claim invitation")
	}
	return res.ModifiedCount == 1, nil
}

// RevokeInvitation revokes a patient's pending invitation by its public id.
// It reports false when there is no such invitation of that patient or it
// is no longer pending (accepted or already revoked).
func (c *Care) RevokeInvitation(ctx context.Context, patientID, id string, at time.Time) (bool, error) {
	res, err := c.invitations.UpdateOne(ctx,
		bson.D{{Key: "publicId", Value: id}, {Key: "patientId", Value: patientID}, {Key: "acceptedAt", Value: nil}, {Key: "revokedAt", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revokedAt", Value: at}}}})
	if err != nil {
		return false, translate(err, "revoke invitation")
	}
	return res.ModifiedCount == 1, nil
}

// PutLink stores a link, replacing any earlier link of the same pair.
func (c *Care) PutLink(ctx context.Context, l models.CareLink) error {
	_, err := c.links.ReplaceOne(ctx, bson.D{{Key: "_id", Value: l.ID}}, l, options.Replace().SetUpsert(true))
	return translate(err, "store care link")
}

// Link returns a link by id (one exact-id read); not_found if there is none.
func (c *Care) Link(ctx context.Context, id string) (models.CareLink, error) {
	return byID[models.CareLink](ctx, c.links, id, "care link")
}

// StandingLinks returns up to limit of a patient's links that are not
// revoked, oldest first.
func (c *Care) StandingLinks(ctx context.Context, patientID string, limit int) ([]models.CareLink, error) {
	return c.findLinks(ctx, bson.D{{Key: "patientId", Value: patientID}, {Key: "status", Value: bson.D{{Key: "$ne", Value: models.LinkRevoked}}}}, 1, limit)
}

// RevokedLinks returns up to limit of a patient's revoked links, newest
// first.
func (c *Care) RevokedLinks(ctx context.Context, patientID string, limit int) ([]models.CareLink, error) {
	return c.findLinks(ctx, bson.D{{Key: "patientId", Value: patientID}, {Key: "status", Value: models.LinkRevoked}}, -1, limit)
}

// LinksOfCarer returns up to limit of a carer's links that are not
// revoked, oldest first.
func (c *Care) LinksOfCarer(ctx context.Context, carerID string, limit int) ([]models.CareLink, error) {
	return c.findLinks(ctx, bson.D{{Key: "carerId", Value: carerID}, {Key: "status", Value: bson.D{{Key: "$ne", Value: models.LinkRevoked}}}}, 1, limit)
}

// ActiveLinks returns a patient's active (not paused, not revoked) links
// that share scope.
func (c *Care) ActiveLinks(ctx context.Context, patientID string, scope models.CareScope) ([]models.CareLink, error) {
	return c.findLinks(ctx, bson.D{{Key: "patientId", Value: patientID}, {Key: "status", Value: models.LinkActive}, {Key: "scopes", Value: scope}}, 1, 0)
}

// findLinks returns the links matching filter by (createdAt, id) in the
// direction order (1 or -1), at most limit (0: all).
func (c *Care) findLinks(ctx context.Context, filter bson.D, order, limit int) ([]models.CareLink, error) {
	opts := options.Find().SetSort(bson.D{{Key: "createdAt", Value: order}, {Key: "_id", Value: order}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	cur, err := c.links.Find(ctx, filter, opts)
	if err != nil {
		return nil, translate(err, "list care links")
	}
	out := []models.CareLink{}
	return out, translate(cur.All(ctx, &out), "list care links")
}

// UpdateLink changes a link that is not revoked: its scopes (unless nil)
// and its status (unless ""; active or paused). It reports false when the
// link does not exist, is revoked, or prev is not zero and its updatedAt
// is not prev.
func (c *Care) UpdateLink(ctx context.Context, id string, scopes []models.CareScope, status string, at, prev time.Time) (bool, error) {
	set := bson.D{{Key: "updatedAt", Value: at}}
	if scopes != nil {
		set = append(set, bson.E{Key: "scopes", Value: scopes})
	}
	if status != "" {
		set = append(set, bson.E{Key: "status", Value: status})
	}
	res, err := c.links.UpdateOne(ctx, linkFilter(id, prev), bson.D{{Key: "$set", Value: set}})
	if err != nil {
		return false, translate(err, "update care link")
	}
	return res.MatchedCount == 1, nil
}

// EndLink revokes a link that is not yet revoked, recording who ended it. It
// reports false when the link does not exist, is already revoked, or prev
// is not zero and its updatedAt is not prev.
func (c *Care) EndLink(ctx context.Context, id, endedBy string, at, prev time.Time) (bool, error) {
	res, err := c.links.UpdateOne(ctx, linkFilter(id, prev),
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: models.LinkRevoked}, {Key: "revokedAt", Value: at}, {Key: "endedBy", Value: endedBy}}},
			{Key: "$max", Value: bson.D{{Key: "updatedAt", Value: at}}}})
	if err != nil {
		return false, translate(err, "end care link")
	}
	return res.ModifiedCount == 1, nil
}

// linkFilter matches a link that is not revoked and, if prev is not zero,
// whose updatedAt is prev.
func linkFilter(id string, prev time.Time) bson.D {
	f := bson.D{{Key: "_id", Value: id}, {Key: "status", Value: bson.D{{Key: "$ne", Value: models.LinkRevoked}}}}
	if !prev.IsZero() {
		f = append(f, bson.E{Key: "updatedAt", Value: store.Millis(prev)})
	}
	return f
}

// LinksChanged returns the patient's links changed in (after, upTo], by
// (updatedAt, _id) (index changes).
func (c *Care) LinksChanged(ctx context.Context, patientID string, after models.ChangeKey, upTo time.Time, limit int) ([]models.CareLink, error) {
	return changed[models.CareLink](ctx, c.links, bson.D{{Key: "patientId", Value: patientID}}, "updatedAt", after, upTo, limit, "care link changes")
}
