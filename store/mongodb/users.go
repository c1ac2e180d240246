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

const usersCollection = "users"

var userIndexes = []index{
	{usersCollection, mongo.IndexModel{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true).SetName("email_unique")}},
	// No two accounts with look-alike addresses (sparse: accounts without a key are not compared).
	{usersCollection, mongo.IndexModel{Keys: bson.D{{Key: "emailKey", Value: 1}}, Options: options.Index().SetUnique(true).SetSparse(true).SetName("email_key_unique")}},
	{usersCollection, mongo.IndexModel{Keys: bson.D{{Key: "role", Value: 1}}, Options: options.Index().SetName("role")}},
}

// Users stores accounts.
type Users struct{ c *mongo.Collection }

// Users returns the accounts collection.
func (s *Store) Users() store.Users { return &Users{c: s.db.Collection(usersCollection)} }

// Create inserts a user; conflict if the id or e-mail exists.
func (u *Users) Create(ctx context.Context, user models.User) error {
	_, err := u.c.InsertOne(ctx, user)
	return translate(err, "create user")
}

// Get returns a user by id; not_found if there is none.
func (u *Users) Get(ctx context.Context, id string) (models.User, error) {
	return byID[models.User](ctx, u.c, id, "user")
}

// ByEmail returns a user by normalised e-mail; not_found if there is none.
func (u *Users) ByEmail(ctx context.Context, email string) (models.User, error) {
	var user models.User
	err := u.c.FindOne(ctx, bson.D{{Key: "email", Value: email}}).Decode(&user)
	return user, translate(err, "user by email")
}

// Update replaces the stored user (matched by id); not_found if missing.
func (u *Users) Update(ctx context.Context, user models.User) error {
	res, err := u.c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: user.ID}}, user)
	if err != nil {
		return translate(err, "update user %s", user.ID)
	}
	if res.MatchedCount == 0 {
		return models.Errorf(models.CodeNotFound, "user not found")
	}
	return nil
}

// UpdateIf replaces the stored user if its updatedAt is still prev and
// reports whether it did. Errors: not_found.
func (u *Users) UpdateIf(ctx context.Context, user models.User, prev time.Time) (bool, error) {
	res, err := u.c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: user.ID}, {Key: "updatedAt", Value: store.Millis(prev)}}, user)
	if err != nil {
		return false, translate(err, "update user %s", user.ID)
	}
	if res.MatchedCount == 1 {
		return true, nil
	}
	_, err = u.Get(ctx, user.ID)
	return false, err
}

// SetPassword stores a new password hash.
func (u *Users) SetPassword(ctx context.Context, id, hash string, at time.Time) error {
	res, err := u.c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "passwordHash", Value: hash}, {Key: "passwordChangedAt", Value: at}, {Key: "updatedAt", Value: at}}}})
	if err != nil {
		return translate(err, "set password %s", id)
	}
	if res.MatchedCount == 0 {
		return models.Errorf(models.CodeNotFound, "user not found")
	}
	return nil
}

// CountByRole counts the accounts with a role.
func (u *Users) CountByRole(ctx context.Context, role models.Role) (int64, error) {
	n, err := u.c.CountDocuments(ctx, bson.D{{Key: "role", Value: role}})
	return n, translate(err, "count users")
}

// GetMany returns the users with the given ids that exist, in no
// particular order, in one query.
func (u *Users) GetMany(ctx context.Context, ids []string) ([]models.User, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cur, err := u.c.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return nil, translate(err, "get %d users", len(ids))
	}
	var users []models.User
	if err := cur.All(ctx, &users); err != nil {
		return nil, translate(err, "get %d users", len(ids))
	}
	return users, nil
}
