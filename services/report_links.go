package services

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/concord-health/concord/models"
)

// Share-link limits.
const (
	// MaxLiveReportLinks is how many unexpired, unrevoked links a patient
	// may hold at once.
	MaxLiveReportLinks = 10
	// MaxReportLinksListed is how many of a patient's links the list shows,
	// newest first.
	MaxReportLinksListed = 50
	// reportTokenBytes is a token's randomness: 256 bits.
	reportTokenBytes = 32
)

// ReportLinkStore keeps the share links (store.ReportLinks).
type ReportLinkStore interface {
	Create(ctx context.Context, l models.ReportLink) error
	ByTokenHash(ctx context.Context, hash string) (models.ReportLink, error)
	Get(ctx context.Context, patientID, id string) (models.ReportLink, error)
	OfPatient(ctx context.Context, patientID string, limit int) ([]models.ReportLink, error)
	CountLive(ctx context.Context, patientID string, now time.Time) (int, error)
	Revoke(ctx context.Context, patientID, id string, at time.Time) (bool, error)
}

// ReportLinks makes, lists, revokes and resolves the share links of the
// consultation report. A token is 256 random bits (crypto/rand), shown
// once when the link is made and stored only as its SHA-256 hash.
type ReportLinks struct {
	store ReportLinkStore
	now   func() time.Time
	log   *slog.Logger
}

// NewReportLinks returns the share-link service.
func NewReportLinks(store ReportLinkStore, now func() time.Time, log *slog.Logger) *ReportLinks {
	return &ReportLinks{store: store, now: now, log: log}
}

// NewReportLink is a link just made and its token, which is shown this
// once and never again.
type NewReportLink struct {
	Link  models.ReportLink
	Token string
}

func hashReportToken(token string) string {
	sum := sha256.Sum256([]byte("concord-report-link:" + token))
	return hex.EncodeToString(sum[:])
}

// Create makes a link to the patient's report over days days (0: the
// default) that lives expiresInDays days (1 to models.MaxReportLinkDays).
// Errors: invalid (days, expiresInDays), conflict (the patient holds
// MaxLiveReportLinks live links, field "links").
func (r *ReportLinks) Create(ctx context.Context, patientID string, days, expiresInDays int) (NewReportLink, error) {
	var p models.Problems
	days, err := ValidateReportDays(days)
	if err != nil {
		p.Add("days", "must be between %d and %d", models.MinReportDays, models.MaxReportDays)
	}
	if expiresInDays < 1 || expiresInDays > models.MaxReportLinkDays {
		p.Add("expiresInDays", "must be between 1 and %d", models.MaxReportLinkDays)
	}
	if err := p.Err(); err != nil {
		return NewReportLink{}, err
	}
	now := r.now().UTC()
	live, err := r.store.CountLive(ctx, patientID, now)
	if err != nil {
		return NewReportLink{}, err
	}
	if live >= MaxLiveReportLinks {
		return NewReportLink{}, capReached("links",
			fmt.Sprintf("%d share links are live, the most Concord allows; revoke one or let one expire first", MaxLiveReportLinks),
			fmt.Sprintf("at most %d may be live at once", MaxLiveReportLinks))
	}
	b := make([]byte, reportTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return NewReportLink{}, fmt.Errorf("report link token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	l := models.ReportLink{TokenHash: hashReportToken(token), ID: newID(), PatientID: patientID, Days: days,
		CreatedAt: now, ExpiresAt: now.Add(time.Duration(expiresInDays) * 24 * time.Hour)}
	if err := r.store.Create(ctx, l); err != nil {
		return NewReportLink{}, err
	}
	l.Status = l.StatusAt(now)
	r.log.InfoContext(ctx, "report link created", "patient", patientID, "link", l.ID)
	return NewReportLink{Link: l, Token: token}, nil
}

// List returns the patient's links, newest first (at most
// MaxReportLinksListed), each with its status; tokens are never shown.
func (r *ReportLinks) List(ctx context.Context, patientID string) ([]models.ReportLink, error) {
	links, err := r.store.OfPatient(ctx, patientID, MaxReportLinksListed)
	if err != nil {
		return nil, err
	}
	now := r.now()
	for i := range links {
		links[i].Status = links[i].StatusAt(now)
	}
	return links, nil
}

// Revoke ends one of the patient's links at once; revoking it again
// changes nothing. Errors: not_found (no such link of this patient).
func (r *ReportLinks) Revoke(ctx context.Context, patientID, id string) error {
	ok, err := r.store.Revoke(ctx, patientID, id, r.now().UTC())
	if err != nil {
		return err
	}
	if ok {
		r.log.InfoContext(ctx, "report link revoked", "patient", patientID, "link", id)
		return nil
	}
	_, err = r.store.Get(ctx, patientID, id)
	return err
}

// Resolve finds the link a token names, whatever its state (the access
// policy decides whether it still opens the report). Errors: not_found
// for a token that is not one this server issued.
func (r *ReportLinks) Resolve(ctx context.Context, token string) (models.ReportLink, error) {
	if b, err := base64.RawURLEncoding.DecodeString(token); err != nil || len(b) != reportTokenBytes {
		return models.ReportLink{}, errReportLinkNotFound
	}
	l, err := r.store.ByTokenHash(ctx, hashReportToken(token))
	if models.IsCode(err, models.CodeNotFound) {
		return models.ReportLink{}, errReportLinkNotFound
	}
	return l, err
}
