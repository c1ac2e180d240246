package services

import (
	"context"
	"time"

	"github.com/concord-health/concord/models"
)

// BPReading is a blood pressure the pharmacy measured: a clinic reading,
// or an ambulatory (ABPM) daytime average.
type BPReading struct {
	Systolic, Diastolic float64
	Pulse               *float64
	// TakenAt is when it was measured; zero means now.
	TakenAt time.Time
	// Consent must be true for a clinic reading: the patient consents to
	// the service.
	Consent bool
	Advice  string
}

// bpReading stores the pharmacy's reading as the patient's, banded by the
// bands of its source.
func (s *PharmacyServices) bpReading(ctx context.Context, patient models.User, in BPReading, source string, now time.Time) (models.Reading, error) {
	sys, dia := in.Systolic, in.Diastolic
	at := in.TakenAt
	if at.IsZero() {
		at = now
	}
	r, _, err := s.src.Readings.CreateTaken(ctx, patient, models.Reading{Type: models.ReadingBloodPressure, TakenAt: at, Unit: "mm[Hg]",
		Systolic: &sys, Diastolic: &dia, Pulse: in.Pulse}, source)
	return r, err
}

// clinicOutcome is what a clinic band leads to under the Blood Pressure
// Check Service (models: the clinic bands' source).
func clinicOutcome(band string) models.ConsultationOutcome {
	switch band {
	case models.BandSameDayReferral:
		return models.OutcomeSameDayReferral
	case models.BandOfferABPM:
		return models.OutcomeABPMOffered
	case models.BandLow:
		return models.OutcomeBPLow
	}
	return models.OutcomeBPNormal
}

// RecordBPCheck records a Blood Pressure Check: the clinic reading is
// stored as the patient's (source clinic) and banded by the service's
// clinic bands; the band decides the outcome: 140/90 to 179/119 offers
// ambulatory monitoring (the episode stays open for its result); 180/120
// or above is a same-day referral to the GP practice (a referral record);
// otherwise the service is complete. Errors: forbidden, invalid (the
// reading's fields, consent, advice).
func (s *PharmacyServices) RecordBPCheck(ctx context.Context, p models.Principal, patient models.User, in BPReading) (EpisodeView, error) {
	me, err := s.pharmacist(ctx, p)
	if err != nil {
		return EpisodeView{}, err
	}
	var pr models.Problems
	if !in.Consent {
		pr.Add("consent", "must be true: the patient consents to the service")
	}
	validateFindings(models.Findings{Advice: in.Advice}, &pr)
	if err := pr.Err(); err != nil {
		return EpisodeView{}, err
	}
	now := s.now().UTC()
	r, err := s.bpReading(ctx, patient, in, models.ReadingSourceClinic, now)
	if err != nil {
		return EpisodeView{}, err
	}
	e := newEpisode(newID(), models.ServiceKindBPCheck, me, patient, now)
	e.Consent = &models.ServiceConsent{Given: true, RecordedBy: me.ID, At: now}
	outcome := clinicOutcome(r.Band)
	var ref *models.ServiceReferral
	if outcome == models.OutcomeSameDayReferral {
		ref = &models.ServiceReferral{To: models.ReferToGPPractice, Urgency: models.UrgencySameDay, ReadingID: r.ID,
			Reason: "clinic blood pressure 180/120 or above (Blood Pressure Check Service: same-day referral)"}
	}
	f := pharmacistFindings(models.Findings{Advice: in.Advice})
	f.ReadingID, f.Band, f.BandRule = r.ID, r.Band, r.Rule
	consult(&e, me, models.StageClinicReading, now, f, outcome, ref, patient.Location())
	if outcome != models.OutcomeABPMOffered {
		e.Status = models.EpisodeCompleted
	}
	return s.insert(ctx, e, patient)
}

// RecordABPM records the ambulatory monitoring result of a check that
// offered it: the daytime average is stored as the patient's reading
// (source abpm) and banded by NICE NG136's ABPM thresholds; 135/85 or above
// refers the patient to the GP practice for diagnosis (a referral record).
// The service is then complete. Errors: forbidden, invalid, not_found,
// conflict (no ABPM was offered, or it is recorded).
func (s *PharmacyServices) RecordABPM(ctx context.Context, p models.Principal, patient models.User, id string, in BPReading) (EpisodeView, error) {
	me, err := s.pharmacist(ctx, p)
	if err != nil {
		return EpisodeView{}, err
	}
	var pr models.Problems
	validateFindings(models.Findings{Advice: in.Advice}, &pr)
	if err := pr.Err(); err != nil {
		return EpisodeView{}, err
	}
	e, err := s.recordable(ctx, me, patient, id, models.ServiceKindBPCheck)
	if err != nil {
		return EpisodeView{}, err
	}
	now := s.now().UTC()
	if err := stageOpen(e, models.StageABPM, now, patient.Location()); err != nil {
		return EpisodeView{}, err
	}
	r, err := s.bpReading(ctx, patient, in, models.ReadingSourceABPM, now)
	if err != nil {
		return EpisodeView{}, err
	}
	outcome := models.OutcomeHypertensionUnlikly
	var ref *models.ServiceReferral
	if r.Band != models.BandNormal {
		outcome = models.OutcomeReferredDiagnosis
		ref = &models.ServiceReferral{To: models.ReferToGPPractice, Urgency: models.UrgencyRoutine, ReadingID: r.ID,
			Reason: "ABPM daytime average 135/85 or above (NICE NG136): for diagnosis of hypertension"}
	}
	f := pharmacistFindings(models.Findings{Advice: in.Advice})
	f.ReadingID, f.Band, f.BandRule = r.ID, r.Band, r.Rule
	prev := e.Version
	consult(&e, me, models.StageABPM, now, f, outcome, ref, patient.Location())
	e.Status = models.EpisodeCompleted
	return s.save(ctx, e, prev, patient)
}
