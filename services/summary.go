package services

import (
	"context"
	"time"

	"github.com/concord-health/concord/models"
)

// What the patient summary shows.
const (
	// SummaryAdherenceDays is the adherence window of the summary: four
	// weeks, the window of the low-adherence rule.
	SummaryAdherenceDays = 28
	// SummaryRecentReadings is how many of the latest readings it lists.
	SummaryRecentReadings = 10
)

// SummaryAdherence works out a patient's adherence (Doses does).
type SummaryAdherence interface {
	Adherence(ctx context.Context, patient models.User, days int, now time.Time) (models.Adherence, error)
}

// SummaryFlags lists a patient's live review flags (the flag store).
type SummaryFlags interface {
	LiveOfPatient(ctx context.Context, patientID, pharmacyID string) ([]models.Flag, error)
}

// Summaries builds the patient summary: what a carer with view_summary or
// the patient's pharmacist needs at a glance.
type Summaries struct {
	adherence SummaryAdherence
	meds      FlagMedicationLister
	readings  FlagReadingLister
	flags     SummaryFlags
	now       func() time.Time
}

// NewSummaries returns the summary service; meds and readings are the
// medication and reading stores.
func NewSummaries(adherence SummaryAdherence, meds FlagMedicationLister, readings FlagReadingLister, flags SummaryFlags, now func() time.Time) *Summaries {
	return &Summaries{adherence: adherence, meds: meds, readings: readings, flags: flags, now: now}
}

// PatientSummary is a patient at a glance: first name, 28-day adherence
// overall and per active medicine with its stock outlook, the latest
// readings with their bands, and the open review flags.
type PatientSummary struct {
	PatientID   string    `json:"patientId"`
	FirstName   string    `json:"firstName"`
	GeneratedAt time.Time `json:"generatedAt"`
	Adherence   struct {
		WindowDays int                     `json:"windowDays"`
		From       time.Time               `json:"from"`
		To         time.Time               `json:"to"`
		Overall    models.AdherenceFigures `json:"overall"`
	} `json:"adherence"`
	Medications []SummaryMedication `json:"medications"`
	// RecentReadings are the latest SummaryRecentReadings readings, newest first.
	RecentReadings []SummaryReading `json:"recentReadings"`
	// LatestByType is the latest reading of each type the patient logs.
	LatestByType []SummaryReading `json:"latestByType"`
	// OpenFlags are the flags open or claimed in the pharmacy's queue.
	OpenFlags []SummaryFlag `json:"openFlags"`
}

// SummaryMedication is one active medicine in the summary.
type SummaryMedication struct {
	MedicationID string                  `json:"medicationId"`
	Name         string                  `json:"name"`
	Strength     string                  `json:"strength,omitempty"`
	AsNeeded     bool                    `json:"asNeeded"`
	Adherence    models.AdherenceFigures `json:"adherence"`
	// Stock is nil when the medicine's stock is not recorded.
	Stock *SummaryStock `json:"stock"`
}

// SummaryStock is a medicine's stock and when it runs out at its schedule's
// rate (DaysLeft and RunOutDate nil for an as-needed medicine).
type SummaryStock struct {
	Quantity     float64  `json:"quantity"`
	UnitsPerDose float64  `json:"unitsPerDose"`
	DaysLeft     *float64 `json:"daysLeft"`
	RunOutDate   *string  `json:"runOutDate"`
}

// SummaryReading is a reading with its band's severity. The patient's own
// note is left out.
type SummaryReading struct {
	models.Reading
	Severity models.Severity `json:"severity"`
}

// SummaryFlag is an open review flag as the summary shows it: without the
// pharmacists' notes and history.
type SummaryFlag struct {
	ID               string                 `json:"id"`
	Rule             models.FlagRuleID      `json:"rule"`
	Severity         models.Severity        `json:"severity"`
	Status           models.FlagStatus      `json:"status"`
	SuggestedService models.PharmacyService `json:"suggestedService"`
	Evidence         models.FlagEvidence    `json:"evidence"`
	CreatedAt        time.Time              `json:"createdAt"`
}

// Summary returns the patient's summary as of now. The caller has been
// authorised (ReadSummary).
func (s *Summaries) Summary(ctx context.Context, patient models.User) (PatientSummary, error) {
	now := s.now().UTC()
	out := PatientSummary{PatientID: patient.ID, FirstName: patient.FirstName(), GeneratedAt: now,
		Medications: []SummaryMedication{}, RecentReadings: []SummaryReading{}, LatestByType: []SummaryReading{}, OpenFlags: []SummaryFlag{}}

	adh, err := s.adherence.Adherence(ctx, patient, SummaryAdherenceDays, now)
	if err != nil {
		return PatientSummary{}, err
	}
	out.Adherence.WindowDays, out.Adherence.From, out.Adherence.To, out.Adherence.Overall = adh.WindowDays, adh.From, adh.To, adh.Overall
	meds, err := s.meds.ListByPatient(ctx, patient.ID)
	if err != nil {
		return PatientSummary{}, err
	}
	out.Medications = activeMedications(meds, adh)

	recent, err := s.readings.List(ctx, models.ReadingQuery{PatientID: patient.ID, Limit: SummaryRecentReadings})
	if err != nil {
		return PatientSummary{}, err
	}
	for _, r := range recent {
		out.RecentReadings = append(out.RecentReadings, summaryReading(r))
	}
	for _, typ := range models.ReadingTypes() {
		latest, err := s.readings.List(ctx, models.ReadingQuery{PatientID: patient.ID, Type: typ, Limit: 1})
		if err != nil {
			return PatientSummary{}, err
		}
		for _, r := range latest {
			out.LatestByType = append(out.LatestByType, summaryReading(r))
		}
	}

	flags, err := s.flags.LiveOfPatient(ctx, patient.ID, "")
	if err != nil {
		return PatientSummary{}, err
	}
	out.OpenFlags = openFlags(flags, now)
	return out, nil
}

// activeMedications are the active medicines of meds with their figures
// and stock outlook from adh.
func activeMedications(meds []models.Medication, adh models.Adherence) []SummaryMedication {
	perMed := map[string]models.MedicationAdherence{}
	for _, m := range adh.Medications {
		perMed[m.MedicationID] = m
	}
	out := []SummaryMedication{}
	for _, m := range meds {
		if m.Status != models.MedicationActive {
			continue
		}
		a := perMed[m.ID]
		sm := SummaryMedication{MedicationID: m.ID, Name: m.Name, Strength: m.Strength, AsNeeded: m.Schedule.AsNeeded, Adherence: a.AdherenceFigures}
		if m.Stock != nil {
			sm.Stock = &SummaryStock{Quantity: m.Stock.Quantity, UnitsPerDose: m.Stock.UnitsPerDose, DaysLeft: a.DaysOfStockLeft, RunOutDate: a.RunOutDate}
		}
		out = append(out, sm)
	}
	return out
}

// openFlags are the live flags open or claimed in the pharmacy's queue at
// now (a resolved flag whose follow-up has come counts as open), as the
// summary shows them.
func openFlags(flags []models.Flag, now time.Time) []SummaryFlag {
	out := []SummaryFlag{}
	for _, f := range flags {
		if f.AwaitingFollowUp(now) {
			continue
		}
		status := f.Status
		if f.FollowUpDue(now) {
			status = models.FlagOpen
		}
		out = append(out, SummaryFlag{ID: f.ID, Rule: f.Rule, Severity: f.Severity, Status: status,
			SuggestedService: f.SuggestedService, Evidence: f.Evidence, CreatedAt: f.CreatedAt})
	}
	return out
}

func summaryReading(r models.Reading) SummaryReading {
	r.Note = ""
	return SummaryReading{Reading: r, Severity: r.BandSeverity()}
}
