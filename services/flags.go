package services

import (
	"context"
	"log/slog"
	"time"

	"github.com/concord-health/concord/models"
)

// FlagStore is what Flags needs of review-flag storage.
type FlagStore interface {
	Insert(ctx context.Context, f models.Flag) error
	Get(ctx context.Context, id string) (models.Flag, error)
	LatestSeq(ctx context.Context, patientID string, rule models.FlagRuleID) (int, error)
	RecordSeq(ctx context.Context, patientID string, rule models.FlagRuleID, seq int) error
	Refire(ctx context.Context, id string, ev models.FlagEvidence, key string, sev models.Severity, at time.Time, event models.FlagEvent, reopen bool) (bool, error)
	Claim(ctx context.Context, id, by string, at time.Time) (bool, error)
	AddNote(ctx context.Context, id string, note models.FlagNote, maxNotes int) (bool, error)
	Resolve(ctx context.Context, id, by string, outcome models.FlagOutcome, note string, followUpAt *time.Time, at time.Time) (bool, error)
	ReopenFollowUp(ctx context.Context, f models.Flag, now time.Time) (bool, error)
	Close(ctx context.Context, id, reason string, at time.Time) (bool, error)
	LiveOfPatient(ctx context.Context, patientID, pharmacyID string) ([]models.Flag, error)
	DueFollowUps(ctx context.Context, pharmacyID string, now time.Time) ([]models.Flag, error)
	Queue(ctx context.Context, q models.FlagQuery) ([]models.Flag, error)
}

// FlagConsents tells which pharmacy, if any, a patient's flags go to
// (Nominations does).
type FlagConsents interface {
	Nomination(ctx context.Context, patientID string) (models.Nomination, bool, error)
	ConsentedPatients(ctx context.Context, pharmacyID string) ([]models.Nomination, error)
}

// FlagAuthorizer is the access policy (Access): it decides who is a
// pharmacist of a pharmacy, and every flag a pharmacist reads or works on
// is authorised, and audited, against its patient.
type FlagAuthorizer interface {
	Pharmacist(ctx context.Context, p models.Principal) (models.User, bool, error)
	AuthorizeResource(ctx context.Context, p models.Principal, patientID string, action Action, resource string) (models.User, error)
}

// FlagDoseLister lists a patient's stored doses (the dose store).
type FlagDoseLister interface {
	ListByPatient(ctx context.Context, patientID string, from, to time.Time) ([]models.Dose, error)
}

// FlagMedicationLister lists a patient's medicines (the medication store).
type FlagMedicationLister interface {
	ListByPatient(ctx context.Context, patientID string) ([]models.Medication, error)
}

// FlagReadingLister lists a patient's readings (the reading store).
type FlagReadingLister interface {
	List(ctx context.Context, q models.ReadingQuery) ([]models.Reading, error)
}

// FlagSources are where the rules' data comes from.
type FlagSources struct {
	// Planner plans a patient's doses before they are read (DosePlanner).
	Planner     DoseMaterializer
	Doses       FlagDoseLister
	Medications FlagMedicationLister
	Readings    FlagReadingLister
}

// Flags raises review flags for pharmacists from the rules table
// (models.EvaluateFlags), closes them when the patient's consent ends,
// brings them back when a follow-up date comes, and serves the pharmacy's
// review queue.
//
// Only patients with a current consented nomination produce flags, and
// their flags go to that pharmacy. There is at most one live flag per
// patient and rule (models.LiveFlag), however many evaluations run at once.
// A resolved flag is not raised again for the same evidence until its
// criterion re-arms (models.FlagCriterion.RearmDays).
type Flags struct {
	store    FlagStore
	sources  FlagSources
	users    UserDirectory
	consents FlagConsents
	access   FlagAuthorizer
	now      func() time.Time
	log      *slog.Logger
	// nextSweep and nextFullSweep are when Step next evaluates everyone
	// (steps never overlap).
	nextSweep, nextFullSweep time.Time
}

// NewFlags returns the review-flags service.
func NewFlags(store FlagStore, sources FlagSources, users UserDirectory, consents FlagConsents, access FlagAuthorizer, now func() time.Time, log *slog.Logger) *Flags {
	return &Flags{store: store, sources: sources, users: users, consents: consents, access: access, now: now, log: log}
}
