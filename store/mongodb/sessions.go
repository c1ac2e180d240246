package mongodb

import (
	"context"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

const (
	sessionsCollection      = "sessions"
	refreshTokensCollection = "refresh_tokens"
)

var sessionIndexes = []index{
	{sessionsCollection, mongo.IndexModel{Keys: bson.D{{Key: "userId", Value: 1}}, Options: options.Index().SetName("user")}},
	{refreshTokensCollection, mongo.IndexModel{Keys: bson.D{{Key: "sessionId", Value: 1}}, Options: options.Index().SetName("session")}},
	// The retention purge: revoked sessions by revocation, tokens by expiry.
	{sessionsCollection, mongo.IndexModel{Keys: bson.D{{Key: "revokedAt", Value: 1}}, Options: options.Index().SetName("revoked")}},
	{refreshTokensCollection, mongo.IndexModel{Keys: bson.D{{Key: "expiresAt", Value: 1}}, Options: options.Index().SetName("expires")}},
}

// Sessions stores logins (refresh-token families) and the refresh tokens,
// each token under its hash as _id.
type Sessions struct {
	sessions *mongo.Collection
	tokens   *mongo.Collection
}

// Sessions returns the sessions store.
func (s *Store) Sessions() store.Sessions {
	return &Sessions{sessions: s.db.Collection(sessionsCollection), tokens: s.db.Collection(refreshTokensCollection)}
}

// Create stores a new session.
func (s *Sessions) Create(ctx context.Context, sess models.Session) error {
	_, err := s.sessions.InsertOne(ctx, sess)
	return translate(err, "create session")
}

// Get returns a session by id; not_found if none.
func (s *Sessions) Get(ctx context.Context, id string) (models.Session, error) {
	return byID[models.Session](ctx, s.sessions, id, "session")
}

// Revoke marks a session revoked (idempotent: the first reason stays).
func (s *Sessions) Revoke(ctx context.Context, id, reason string, at time.Time) error {
	_, err := s.sessions.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "revokedAt", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revokedAt", Value: at}, {Key: "revokedReason", Value: reason}}}})
	return translate(err, "revoke session")
}

// RevokeAllForUser revokes every open session of a user.
func (s *Sessions) RevokeAllForUser(ctx context.Context, userID, reason string, at time.Time) error {
	_, err := s.sessions.UpdateMany(ctx,
		bson.D{{Key: "userId", Value: userID}, {Key: "revokedAt", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revokedAt", Value: at}, {Key: "revokedReason", Value: reason}}}})
	return translate(err, "revoke sessions of user")
}

// AddToken stores a refresh token's hash.
func (s *Sessions) AddToken(ctx context.Context, t models.RefreshToken) error {
	_, err := s.tokens.InsertOne(ctx, t)
	return translate(err, "store refresh token")
}

// Token returns a refresh token by hash; not_found if none.
func (s *Sessions) Token(ctx context.Context, hash string) (models.RefreshToken, error) {
	return byID[models.RefreshToken](ctx, s.tokens, hash, "refresh token")
}

// SpendToken marks an unspent refresh token spent. It reports false when the
// token was already spent: of any number of concurrent calls on one token,
// exactly one gets true (one conditional update, atomic on MongoDB).
func (s *Sessions) SpendToken(ctx context.Context, hash string, at time.Time) (bool, error) {
	res, err := s.tokens.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: hash}, {Key: "spentAt", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "spentAt", Value: at}}}})
	if err != nil {
		return false, translate(err, "spend refresh token")
	}
	return res.ModifiedCount == 1, nil
}

// PurgeEnded deletes what is left of logins that ended before `before`
// (see store.Sessions). Each step deletes tokens before their sessions and
// a session only once it has no token, so a process stopping between two
// steps leaves no token without its session, and the next call carries on:
// a revoked session is found again by its revocation time, a token by its
// expiry. (A stop between a token's deletion and its expired session's
// leaves that session, harmless: it has no token to refresh with.)
func (s *Sessions) PurgeEnded(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	deleted := 0
	revoked, err := findIDs(ctx, s.sessions, bson.D{{Key: "revokedAt", Value: bson.D{{Key: "$lt", Value: before}}}},
		bson.D{{Key: "revokedAt", Value: 1}}, limit, "find revoked sessions")
	if err != nil {
		return 0, err
	}
	if len(revoked) > 0 {
		tokens, err := findIDs(ctx, s.tokens, bson.D{{Key: "sessionId", Value: bson.D{{Key: "$in", Value: revoked}}}}, nil, limit, "find tokens of revoked sessions")
		if err != nil {
			return 0, err
		}
		n, err := s.deleteTokens(ctx, tokens)
		deleted += n
		if err != nil {
			return deleted, err
		}
		n, err = s.deleteTokenless(ctx, revoked, before)
		deleted += n
		if err != nil {
			return deleted, err
		}
	}
	cur, err := s.tokens.Find(ctx, bson.D{{Key: "expiresAt", Value: bson.D{{Key: "$lt", Value: before}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "sessionId", Value: 1}}).
			SetSort(bson.D{{Key: "expiresAt", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return deleted, translate(err, "find expired refresh tokens")
	}
	var expired []struct {
		Hash      string `bson:"_id"`
		SessionID string `bson:"sessionId"`
	}
	if err := cur.All(ctx, &expired); err != nil {
		return deleted, translate(err, "find expired refresh tokens")
	}
	if len(expired) == 0 {
		return deleted, nil
	}
	hashes := make([]string, len(expired))
	sessions := make([]string, 0, len(expired))
	for i, t := range expired {
		hashes[i] = t.Hash
		if !slices.Contains(sessions, t.SessionID) {
			sessions = append(sessions, t.SessionID)
		}
	}
	n, err := s.deleteTokens(ctx, hashes)
	deleted += n
	if err != nil {
		return deleted, err
	}
	n, err = s.deleteTokenless(ctx, sessions, before)
	return deleted + n, err
}

// deleteTokens deletes the refresh tokens hashes.
func (s *Sessions) deleteTokens(ctx context.Context, hashes []string) (int, error) {
	if len(hashes) == 0 {
		return 0, nil
	}
	res, err := s.tokens.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: hashes}}}})
	if err != nil {
		return 0, translate(err, "delete %d refresh tokens", len(hashes))
	}
	return int(res.DeletedCount), nil
}

// deleteTokenless deletes those of the sessions ids created before
// `before` that have no refresh token left.
func (s *Sessions) deleteTokenless(ctx context.Context, ids []string, before time.Time) (int, error) {
	// One group per session that still has a token (at most len(ids)).
	cur, err := s.tokens.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: bson.D{{Key: "sessionId", Value: bson.D{{Key: "$in", Value: ids}}}}}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$sessionId"}}}},
	})
	if err != nil {
		return 0, translate(err, "find tokens of ended sessions")
	}
	var groups []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &groups); err != nil {
		return 0, translate(err, "find tokens of ended sessions")
	}
	left := make(map[string]bool, len(groups))
	for _, g := range groups {
		left[g.ID] = true
	}
	tokenless := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return left[id] })
	if len(tokenless) == 0 {
		return 0, nil
	}
	res, err := s.sessions.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: tokenless}}},
		{Key: "createdAt", Value: bson.D{{Key: "$lt", Value: before}}}})
	if err != nil {
		return 0, translate(err, "delete %d ended sessions", len(tokenless))
	}
	return int(res.DeletedCount), nil
}
