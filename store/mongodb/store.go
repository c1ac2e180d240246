// Package mongodb is the MongoDB backend of Concord's storage contract
// (package store), through the official driver (v2): one file per
// collection with its indexes declared beside it. Every compare-and-set is
// one conditional single-document write, atomic on MongoDB; any number of
// Concord instances may share one database.
package mongodb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/store"
)

// Store is a connection to one Concord database; it implements
// store.Store.
type Store struct {
	client *mongo.Client
	db     *mongo.Database
	owned  bool
}

// Options say how to connect.
type Options struct {
	// URI is the mongodb:// connection string.
	URI string
	// Database is the database name.
	Database string
	// MaxConnections caps the connection pool (0: the driver's default).
	// A server that is not atomic across connections, such as the test
	// stand-in, needs 1: through one connection each command is atomic,
	// which the compare-and-set methods rely on.
	MaxConnections uint64
}

// Open connects, checks the server answers (so an unreachable MONGODB_URI
// fails start-up) and returns the store. It does not create indexes; call
// EnsureIndexes.
func Open(ctx context.Context, o Options) (*Store, error) {
	// Defaults first, so timeouts given in the URI win.
	co := options.Client().
		SetServerSelectionTimeout(5 * time.Second).
		SetConnectTimeout(5 * time.Second).
		ApplyURI(o.URI)
	if o.MaxConnections > 0 {
		co.SetMaxPoolSize(o.MaxConnections)
	}
	client, err := mongo.Connect(co)
	if err != nil {
		return nil, fmt.Errorf("connect to MongoDB: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx, readpref.Primary()); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("reach MongoDB: %w", err)
	}
	return &Store{client: client, db: client.Database(o.Database), owned: true}, nil
}

// Database returns the driver's handle on the database, for tests and
// operators' tools.
func (s *Store) Database() *mongo.Database { return s.db }

// Ping reports whether the server answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	return nil
}

// Drop deletes the whole database. Tests use it to clean up.
func (s *Store) Drop(ctx context.Context) error {
	return s.db.Drop(ctx)
}

// Close disconnects if this store owns the connection.
func (s *Store) Close(ctx context.Context) error {
	if !s.owned {
		return nil
	}
	return s.client.Disconnect(ctx)
}

// index is one index declaration; each collection file lists its own.
type index struct {
	collection string
	model      mongo.IndexModel
}

// allIndexes is filled by each collection file's init-free declaration list.
func allIndexes() [][]index {
	return [][]index{userIndexes, sessionIndexes, readingIndexes, pharmacyIndexes, consentIndexes, careIndexes, auditIndexes, medicationIndexes, doseIndexes, notificationIndexes, deviceIndexes, flagIndexes, episodeIndexes, erasureIndexes, reportLinkIndexes}
}

// unindexedCollections are the collections with no index but _id, created
// by EnsureIndexes all the same so that every collection exists from
// start-up.
func unindexedCollections() []string { return []string{dosePlansCollection, flagSlotsCollection} }

// EnsureIndexes creates every collection and declared index; it is
// idempotent.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	existing, err := s.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return fmt.Errorf("list collections: %w", err)
	}
	for _, name := range unindexedCollections() {
		if slices.Contains(existing, name) {
			continue
		}
		if err := s.db.CreateCollection(ctx, name); err != nil && !isNamespaceExists(err) {
			return fmt.Errorf("create collection %s: %w", name, err)
		}
	}
	for _, group := range allIndexes() {
		for _, ix := range group {
			// The driver writes the index name into the options builder it is
			// given, so each call gets its own copy of the declared options.
			model := ix.model
			if ix.model.Options != nil {
				model.Options = &options.IndexOptionsBuilder{Opts: slices.Clone(ix.model.Options.Opts)}
			}
			if _, err := s.db.Collection(ix.collection).Indexes().CreateOne(ctx, model); err != nil {
				return fmt.Errorf("create index on %s: %w", ix.collection, err)
			}
		}
	}
	return nil
}

// findIDs returns the _id of up to limit documents of c matching filter,
// in the order of sort (none when nil).
func findIDs(ctx context.Context, c *mongo.Collection, filter, sort bson.D, limit int, what string) ([]string, error) {
	opts := options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit))
	if sort != nil {
		opts.SetSort(sort)
	}
	cur, err := c.Find(ctx, filter, opts)
	if err != nil {
		return nil, translate(err, "%s", what)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate(err, "%s", what)
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	return ids, nil
}

// byID returns the document of c stored under id, decoded as a T; what
// names it in errors. Errors: not_found.
func byID[T any](ctx context.Context, c *mongo.Collection, id, what string) (T, error) {
	var v T
	err := c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&v)
	return v, translate(err, "%s %s", what, id)
}

// translate turns driver errors into models codes at the store's edge.
func translate(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return &models.Error{Code: models.CodeNotFound, Message: what + ": not found", Err: err}
	case mongo.IsDuplicateKeyError(err):
		return &models.Error{Code: models.CodeConflict, Message: what + ": already exists", Err: err}
	case unavailable(err):
		return &models.Error{Code: models.CodeUnavailable, Message: "the database is busy or unreachable; try again shortly", RetryAfter: store.RetryAfter, Err: fmt.Errorf("%s: %w", what, err)}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isNamespaceExists reports MongoDB's NamespaceExists (48): another process
// created the collection first.
func isNamespaceExists(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && ce.Code == 48
}

// unavailable reports errors that say the server could not be reached or
// did not answer in time: the request may succeed if tried again.
func unavailable(err error) bool {
	var se mongo.ServerError
	return mongo.IsTimeout(err) || mongo.IsNetworkError(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, mongo.ErrClientDisconnected) ||
		(errors.As(err, &se) && (se.HasErrorLabel("RetryableWriteError") || se.HasErrorLabel("TransientTransactionError")))
}

var _ store.Store = (*Store)(nil)
