package services

import (
	"context"

	"github.com/concord-health/concord/models"
)

// NominationStore reads patients' current pharmacy nominations (the
// consent store).
type NominationStore interface {
	NominationReader
	Nominations(ctx context.Context, pharmacyID string) ([]models.Nomination, error)
}

// Nominations answers which pharmacy, if any, a patient has nominated with
// consent standing: what Consents writes, read for the review flags.
type Nominations struct {
	store NominationStore
}

// NewNominations returns the reader of current nominations.
func NewNominations(store NominationStore) *Nominations {
	return &Nominations{store: store}
}

// Nomination returns the patient's current nomination and whether there is
// one: a pharmacy may see the patient's data, and the patient's flags go to
// it, exactly while this reports true for it.
func (n *Nominations) Nomination(ctx context.Context, patientID string) (models.Nomination, bool, error) {
	nom, err := n.store.Nomination(ctx, patientID)
	if models.IsCode(err, models.CodeNotFound) {
		return models.Nomination{}, false, nil
	}
	return nom, err == nil, err
}

// ConsentedPatients returns the current nominations of a pharmacy (every
// pharmacy when pharmacyID is ""): the patients whose data rules may flag
// for it.
func (n *Nominations) ConsentedPatients(ctx context.Context, pharmacyID string) ([]models.Nomination, error) {
	return n.store.Nominations(ctx, pharmacyID)
}
