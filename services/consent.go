package services

import (
	"context"
	"log/slog"
	"time"

	"github.com/concord-health/concord/models"
)

// ConsentStore is what Consents needs of consent storage: the history of
// grants, and the one current nomination per patient that the access
// policy reads.
type ConsentStore interface {
	Insert(ctx context.Context, c models.Consent) error
	Consent(ctx context.Context, id string) (models.Consent, error)
	End(ctx context.Context, id, reason string, at time.Time) error
	History(ctx context.Context, patientID string) ([]models.Consent, error)
	Nomination(ctx context.Context, patientID string) (models.Nomination, error)
	SwapNomination(ctx context.Context, expectConsentID string, n models.Nomination) (bool, error)
	DeleteNomination(ctx context.Context, patientID, consentID string) (bool, error)
	Nominations(ctx context.Context, pharmacyID string) ([]models.Nomination, error)
}

// PharmacyGetter finds pharmacies by id.
type PharmacyGetter interface {
	Get(ctx context.Context, id string) (models.Pharmacy, error)
}

// ConsentObserver hears when a pharmacy loses a patient's consent (the
// patient withdrew it or nominated another pharmacy). It is called after
// the change has taken effect for the access policy; the review flags close
// that pharmacy's open flags for the patient.
type ConsentObserver interface {
	ConsentEnded(ctx context.Context, patientID, pharmacyID string, at time.Time)
}

// Consents records a patient's nomination of a pharmacy with explicit
// consent, its change and withdrawal. A change takes effect at once: the
// access policy reads the current nomination on every request. It answers
// what Nominations answers, from the same store.
type Consents struct {
	*Nominations
	store      ConsentStore
	pharmacies PharmacyGetter
	observers  []ConsentObserver
	now        func() time.Time
	log        *slog.Logger
}

// NewConsents returns the consent service; every observer (nil ones are
// ignored) is told of every end of a consent.
func NewConsents(store ConsentStore, pharmacies PharmacyGetter, now func() time.Time, log *slog.Logger, observers ...ConsentObserver) *Consents {
	return &Consents{Nominations: NewNominations(store), store: store, pharmacies: pharmacies,
		observers: withoutNil(observers), now: now, log: log}
}

// PharmacyNomination is a patient's current pharmacy and the consent that
// lets it see the patient's data.
type PharmacyNomination struct {
	Pharmacy models.Pharmacy `json:"pharmacy"`
	Consent  models.Consent  `json:"consent"`
}

var errNoNomination = models.Errorf(models.CodeNotFound, "no pharmacy is nominated")

var errNominationRace = models.Errorf(models.CodeConflict, "the pharmacy nomination changed while this request ran; try again")

// Nominate makes pharmacyID the patient's pharmacy, recording the patient's
// explicit consent (who, when, which pharmacy, which wording). Nominating
// the current pharmacy again changes nothing. Nominating another ends the
// previous consent ("changed"): the old pharmacy loses access at once and
// the observers hear of it. Errors: invalid (pharmacyId missing or unknown,
// consent not true), conflict (a concurrent change won).
func (c *Consents) Nominate(ctx context.Context, patientID, pharmacyID string, consent bool) (PharmacyNomination, error) {
	var p models.Problems
	if pharmacyID == "" {
		p.Add("pharmacyId", "is required")
	}
	if !consent {
		p.Add("consent", "must be true: nominating a pharmacy shares your data with it, which needs your explicit consent")
	}
	if err := p.Err(); err != nil {
		return PharmacyNomination{}, err
	}
	ph, err := c.pharmacies.Get(ctx, pharmacyID)
	if models.IsCode(err, models.CodeNotFound) {
		return PharmacyNomination{}, &models.Error{Code: models.CodeInvalid, Message: "the request has invalid fields",
			Fields: []models.FieldProblem{{Field: "pharmacyId", Problem: "no such pharmacy"}}}
	}
	if err != nil {
		return PharmacyNomination{}, err
	}
	cur, has, err := c.Nomination(ctx, patientID)
	if err != nil {
		return PharmacyNomination{}, err
	}
	if has && cur.PharmacyID == pharmacyID {
		rec, err := c.store.Consent(ctx, cur.ConsentID)
		if err != nil {
			return PharmacyNomination{}, err
		}
		return PharmacyNomination{Pharmacy: ph, Consent: rec}, nil
	}

	// The consent record is written first, so no access is ever granted
	// without one; the nomination then switches in one conditional write.
	now := c.now().UTC()
	rec := models.Consent{ID: newID(), PatientID: patientID, PharmacyID: pharmacyID,
		GrantedBy: patientID, GrantedAt: now, TextVersion: models.PharmacyConsentVersion}
	if err := c.store.Insert(ctx, rec); err != nil {
		return PharmacyNomination{}, err
	}
	won, err := c.store.SwapNomination(ctx, cur.ConsentID, models.Nomination{PatientID: patientID, PharmacyID: pharmacyID, ConsentID: rec.ID, GrantedAt: now})
	if err != nil || !won {
		if endErr := c.store.End(ctx, rec.ID, models.ConsentSuperseded, now); endErr != nil {
			c.log.ErrorContext(ctx, "consent that never took effect not closed", "patient", patientID, "consent", rec.ID, "err", endErr)
		}
		if err != nil {
			return PharmacyNomination{}, err
		}
		return PharmacyNomination{}, errNominationRace
	}
	c.log.InfoContext(ctx, "pharmacy nominated", "patient", patientID, "pharmacy", pharmacyID, "consent", rec.ID)
	if has {
		if err := c.end(ctx, cur, models.ConsentChanged, now); err != nil {
			return PharmacyNomination{}, err
		}
	}
	return PharmacyNomination{Pharmacy: ph, Consent: rec}, nil
}

// Withdraw ends the patient's consent: the pharmacy loses access at once and
// the observers hear of it. Withdrawing when no pharmacy is nominated does
// nothing. Errors: conflict (a concurrent change won).
func (c *Consents) Withdraw(ctx context.Context, patientID string) error {
	cur, has, err := c.Nomination(ctx, patientID)
	if err != nil || !has {
		return err
	}
	ok, err := c.store.DeleteNomination(ctx, patientID, cur.ConsentID)
	if err != nil {
		return err
	}
	if !ok {
		return errNominationRace
	}
	c.log.InfoContext(ctx, "pharmacy consent withdrawn", "patient", patientID, "pharmacy", cur.PharmacyID, "consent", cur.ConsentID)
	return c.end(ctx, cur, models.ConsentWithdrawn, c.now().UTC())
}

// end tells the observers that the old nomination's pharmacy lost access
// (which has already happened) and closes its consent record.
func (c *Consents) end(ctx context.Context, old models.Nomination, reason string, at time.Time) error {
	for _, o := range c.observers {
		o.ConsentEnded(ctx, old.PatientID, old.PharmacyID, at)
	}
	return c.store.End(ctx, old.ConsentID, reason, at)
}

// Current returns the patient's pharmacy and consent. Errors: not_found (no
// pharmacy nominated).
func (c *Consents) Current(ctx context.Context, patientID string) (PharmacyNomination, error) {
	cur, has, err := c.Nomination(ctx, patientID)
	if err != nil {
		return PharmacyNomination{}, err
	}
	if !has {
		return PharmacyNomination{}, errNoNomination
	}
	ph, err := c.pharmacies.Get(ctx, cur.PharmacyID)
	if err != nil {
		return PharmacyNomination{}, err
	}
	rec, err := c.store.Consent(ctx, cur.ConsentID)
	if err != nil {
		return PharmacyNomination{}, err
	}
	return PharmacyNomination{Pharmacy: ph, Consent: rec}, nil
}

// History returns every consent the patient has given, newest first, with
// when and why each ended.
func (c *Consents) History(ctx context.Context, patientID string) ([]models.Consent, error) {
	return c.store.History(ctx, patientID)
}
