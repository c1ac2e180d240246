package services

import (
	"context"
	"slices"
	"strings"

	"github.com/concord-health/concord/models"
)

// NMSStart is what the pharmacist records at NMS engagement.
type NMSStart struct {
	MedicationID string
	Condition    string
	// Consent must be true: the patient agreed to the service.
	Consent  bool
	Findings models.Findings
	Outcome  models.ConsultationOutcome
	// ReferralReason, when not nil, refers the patient to the prescriber
	// for this reason (Outcome must then be referred_to_prescriber, and
	// the other way round).
	ReferralReason *string
}

// NMSStage is what the pharmacist records at the NMS intervention or
// follow-up.
type NMSStage struct {
	Findings       models.Findings
	Outcome        models.ConsultationOutcome
	ReferralReason *string
}

// nmsEpisodeID is the one NMS episode a medicine can have.
func nmsEpisodeID(medicationID string) string { return "nms:" + medicationID }

// validateNMSOutcome checks an NMS stage's outcome and referral.
func validateNMSOutcome(outcome models.ConsultationOutcome, reason *string, p *models.Problems) {
	if !slices.Contains(models.NMSOutcomes, outcome) {
		p.Add("outcome", "must be one of no_problems, advice_given, referred_to_prescriber")
	}
	switch {
	case outcome == models.OutcomeReferredPrescriber && reason == nil:
		p.Add("referral", "is required when the outcome is referred_to_prescriber")
	case outcome != models.OutcomeReferredPrescriber && reason != nil:
		p.Add("referral", "is only made with the outcome referred_to_prescriber")
	case reason != nil && strings.TrimSpace(*reason) == "":
		p.Add("referral.reason", "is required")
	case reason != nil:
		models.ValidateText("referral.reason", strings.TrimSpace(*reason), models.MaxServiceTextLength, true, p)
	}
}

func prescriberReferral(reason *string) *models.ServiceReferral {
	if reason == nil {
		return nil
	}
	return &models.ServiceReferral{To: models.ReferToPrescriber, Urgency: models.UrgencyRoutine, Reason: strings.TrimSpace(*reason)}
}

// StartNMS starts the New Medicine Service for one of the patient's
// active medicines, for a condition on the NMS list on today's date, with
// the patient's consent, and records engagement now. The intervention is
// then due 7 to 14 days later. A medicine has at most one NMS episode.
// Errors: forbidden, invalid (named fields), not_found (the medicine),
// conflict (an episode exists for the medicine, or it is stopped).
func (s *PharmacyServices) StartNMS(ctx context.Context, p models.Principal, patient models.User, in NMSStart) (EpisodeView, error) {
	me, err := s.pharmacist(ctx, p)
	if err != nil {
		return EpisodeView{}, err
	}
	now := s.now().UTC()
	loc := patient.Location()
	var pr models.Problems
	if strings.TrimSpace(in.MedicationID) == "" {
		pr.Add("medicationId", "is required")
	}
	if _, ok := models.NMSConditionOn(in.Condition, models.LocalDay(now, loc)); !ok {
		pr.Add("condition", "must be a condition of the New Medicine Service on this date (GET /v1/pharmacy/services/rules lists them)")
	}
	if !in.Consent {
		pr.Add("consent", "must be true: the patient consents to the service")
	}
	validateFindings(in.Findings, &pr)
	validateNMSOutcome(in.Outcome, in.ReferralReason, &pr)
	if err := pr.Err(); err != nil {
		return EpisodeView{}, err
	}
	med, err := s.src.Medications.Get(ctx, patient, in.MedicationID)
	if err != nil {
		return EpisodeView{}, err
	}
	if med.Status != models.MedicationActive {
		return EpisodeView{}, models.Errorf(models.CodeConflict, "the medicine is stopped")
	}
	e := newEpisode(nmsEpisodeID(med.ID), models.ServiceKindNMS, me, patient, now)
	e.MedicationID, e.MedicationName, e.Condition = med.ID, med.Name, in.Condition
	e.Consent = &models.ServiceConsent{Given: true, RecordedBy: me.ID, At: now}
	consult(&e, me, models.StageEngagement, now, pharmacistFindings(in.Findings), in.Outcome, prescriberReferral(in.ReferralReason), loc)
	v, err := s.insert(ctx, e, patient)
	if models.IsCode(err, models.CodeConflict) {
		return EpisodeView{}, models.Errorf(models.CodeConflict, "this medicine already has a New Medicine Service episode")
	}
	return v, err
}

// RecordNMSStage records the NMS intervention or follow-up in its window,
// with the medicine's 28-day adherence from the dose log as evidence. The
// follow-up completes the service. Errors: forbidden, invalid, not_found,
// conflict (outside the window: not open yet, or missed; already
// recorded; the episode ended or changed meanwhile).
func (s *PharmacyServices) RecordNMSStage(ctx context.Context, p models.Principal, patient models.User, id, stage string, in NMSStage) (EpisodeView, error) {
	me, err := s.pharmacist(ctx, p)
	if err != nil {
		return EpisodeView{}, err
	}
	var pr models.Problems
	validateFindings(in.Findings, &pr)
	validateNMSOutcome(in.Outcome, in.ReferralReason, &pr)
	if err := pr.Err(); err != nil {
		return EpisodeView{}, err
	}
	e, err := s.recordable(ctx, me, patient, id, models.ServiceKindNMS)
	if err != nil {
		return EpisodeView{}, err
	}
	now := s.now().UTC()
	loc := patient.Location()
	if err := stageOpen(e, stage, now, loc); err != nil {
		return EpisodeView{}, err
	}
	f := pharmacistFindings(in.Findings)
	if f.Adherence, err = s.medicationAdherence(ctx, patient, e.MedicationID, now); err != nil {
		return EpisodeView{}, err
	}
	ref := prescriberReferral(in.ReferralReason)
	if ref != nil {
		ref.Adherence = f.Adherence
	}
	prev := e.Version
	consult(&e, me, stage, now, f, in.Outcome, ref, loc)
	if e.RequiredDone() {
		e.Status = models.EpisodeCompleted
	}
	return s.save(ctx, e, prev, patient)
}
