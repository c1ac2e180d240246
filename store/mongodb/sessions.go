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
	sessionsCollection      = "sessions"
	refreshTokensCollection = "refresh_tokens"
)

var sessionIndexes = []index{
	{sessionsCollection, mongo.IndexModel{Keys: bson.D{{Key: "userId", Value: 1}}, Options: options.Index().SetName("user")}},
	{refreshTokensCollection, mongo.IndexModel{Keys: bson.D{{Key: "sessionId", Value: 1}}, Options: options.Index().SetName("session")}},
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
	var sess models.Session
	err := s.sessions.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&sess)
	return sess, translate(err, "session")
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
	var t models.RefreshToken
	err := s.tokens.FindOne(ctx, bson.D{{Key: "_id", Value: hash}}).Decode(&t)
	return t, translate(err, "refresh token")
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
