package services

import (
	"context"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/concord-health/concord/models"
)

// PharmacyStore is what Pharmacies needs of pharmacy storage.
type PharmacyStore interface {
	Create(ctx context.Context, p models.Pharmacy) error
	Get(ctx context.Context, id string) (models.Pharmacy, error)
	Search(ctx context.Context, text string, limit int) ([]models.Pharmacy, error)
}

// PharmacySearchLimit is the most pharmacies one search returns.
const PharmacySearchLimit = 20

// Pharmacies keeps the register of community pharmacies: admins add them,
// anyone signed in finds them by name, postcode or ODS code.
type Pharmacies struct {
	store PharmacyStore
	now   func() time.Time
	log   *slog.Logger
}

// NewPharmacies returns the pharmacy register.
func NewPharmacies(store PharmacyStore, now func() time.Time, log *slog.Logger) *Pharmacies {
	return &Pharmacies{store: store, now: now, log: log}
}

// Create adds a pharmacy, its ODS code and postcode normalised. Errors:
// invalid (named fields), conflict (the ODS code is registered already).
func (p *Pharmacies) Create(ctx context.Context, odsCode, name, postcode string) (models.Pharmacy, error) {
	ph, err := models.NewPharmacy(odsCode, name, postcode)
	if err != nil {
		return models.Pharmacy{}, err
	}
	ph.ID = newID()
	ph.CreatedAt = p.now().UTC()
	if err := p.store.Create(ctx, ph); err != nil {
		if models.IsCode(err, models.CodeConflict) {
			return models.Pharmacy{}, &models.Error{Code: models.CodeConflict, Message: "a pharmacy with this ODS code exists already",
				Fields: []models.FieldProblem{{Field: "odsCode", Problem: "is already registered"}}}
		}
		return models.Pharmacy{}, err
	}
	p.log.InfoContext(ctx, "pharmacy created", "pharmacy", ph.ID)
	return ph, nil
}

// Get returns a pharmacy. Errors: not_found.
func (p *Pharmacies) Get(ctx context.Context, id string) (models.Pharmacy, error) {
	ph, err := p.store.Get(ctx, id)
	if models.IsCode(err, models.CodeNotFound) {
		return models.Pharmacy{}, models.Errorf(models.CodeNotFound, "pharmacy not found")
	}
	return ph, err
}

// Search returns up to PharmacySearchLimit pharmacies, ordered by name,
// whose name contains text (any case) or whose postcode or ODS code starts
// with it (spaces and case ignored); an empty text lists the first ones.
// Errors: invalid (q, over 100 characters).
func (p *Pharmacies) Search(ctx context.Context, text string) ([]models.Pharmacy, error) {
	if utf8.RuneCountInString(text) > 100 {
		return nil, &models.Error{Code: models.CodeInvalid, Message: "the search text is too long",
			Fields: []models.FieldProblem{{Field: "q", Problem: "must be at most 100 characters"}}}
	}
	return p.store.Search(ctx, text, PharmacySearchLimit)
}
