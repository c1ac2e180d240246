package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/concord-health/concord/store"
	"github.com/concord-health/concord/store/sqlite"
)

// backup runs `concord backup FILE`: a consistent copy of the embedded
// database in CONCORD_DATA_DIR, taken while the server runs.
func backup(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		return errors.New("usage: concord backup FILE (a new file for the copy of the embedded database)")
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if cfg.MongoURI != "" {
		return errors.New("MONGODB_URI is set: back MongoDB up with its own tools (mongodump, or your provider's snapshots); concord backup copies the embedded database")
	}
	if err := sqlite.Backup(ctx, cfg.DataDir, args[0]); err != nil {
		return err
	}
	info, err := os.Stat(args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s (%d bytes, integrity checked)\n", filepath.Join(cfg.DataDir, sqlite.FileName), args[0], info.Size())
	return nil
}

// migrate runs `concord migrate --to-mongodb URI` (the embedded database
// in CONCORD_DATA_DIR into the database CONCORD_DB_NAME of MongoDB) or
// `concord migrate --from-mongodb URI` (back). Stop Concord first: the
// copy takes the data directory's lock, and the target must be empty.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	to := fs.String("to-mongodb", "", "copy the embedded database into MongoDB at this URI")
	from := fs.String("from-mongodb", "", "copy MongoDB at this URI into the embedded database")
	usage := errors.New("usage: concord migrate --to-mongodb URI | --from-mongodb URI (stop Concord first; CONCORD_DATA_DIR and CONCORD_DB_NAME name the two databases)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || (*to == "") == (*from == "") {
		return usage
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if *to != "" {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, sqlite.FileName)); err != nil {
			return fmt.Errorf("CONCORD_DATA_DIR: no embedded database in %s to migrate", cfg.DataDir)
		}
	}
	lite, err := sqlite.Open(ctx, sqlite.Options{Dir: cfg.DataDir, Log: log})
	if err != nil {
		return fmt.Errorf("CONCORD_DATA_DIR: %w", err)
	}
	defer lite.Close(ctx)
	mongo, err := openMongoDB(ctx, *to+*from, cfg.DBName)
	if err != nil {
		return err
	}
	defer mongo.Close(ctx)

	src, dst, direction := store.Store(lite), store.Store(mongo), "embedded database → MongoDB database "+cfg.DBName
	if *from != "" {
		src, dst, direction = mongo, lite, "MongoDB database "+cfg.DBName+" → embedded database"
	}
	if err := mustBeEmpty(ctx, dst); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "migrating %s\n", direction)
	total, err := store.Copy(ctx, dst, src, 1000, func(kind store.Kind, n int64) {
		fmt.Fprintf(stdout, "  %-16s %d\n", kind, n)
	})
	if err != nil {
		return fmt.Errorf("migrate (the target now holds part of the data: empty it before trying again): %w", err)
	}
	if err := sameCounts(ctx, dst, src); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copied %d records; every kind's count matches\n", total)
	return nil
}

// mustBeEmpty refuses a target that holds any record.
func mustBeEmpty(ctx context.Context, st store.Copier) error {
	var held []string
	for _, kind := range store.Kinds {
		n, err := st.Count(ctx, kind)
		if err != nil {
			return err
		}
		if n > 0 {
			held = append(held, fmt.Sprintf("%d %s", n, kind))
		}
	}
	if len(held) > 0 {
		return fmt.Errorf("the target already holds data (%s): migrate into an empty database", strings.Join(held, ", "))
	}
	return nil
}

// sameCounts checks that every kind has as many records in a as in b.
func sameCounts(ctx context.Context, a, b store.Copier) error {
	for _, kind := range store.Kinds {
		na, err := a.Count(ctx, kind)
		if err != nil {
			return err
		}
		nb, err := b.Count(ctx, kind)
		if err != nil {
			return err
		}
		if na != nb {
			return fmt.Errorf("after the copy the target holds %d %s, the source %d", na, kind, nb)
		}
	}
	return nil
}
