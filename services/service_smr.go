package services

import (
	"context"
	"strings"

	"github.com/concord-health/concord/models"
)

// SMRReferralIn is a referral for a Structured Medication Review.
type SMRReferralIn struct {
	To     models.ReferralTarget
	Reason string
	// FlagID, when set, is the patient's review flag that led to the
	// referral: its evidence goes with the referral and it is resolved as
	// smr_requested.
	FlagID string
}

// ReferForSMR records a referral of the patient to the PCN clinical
// pharmacist or the GP practice for a Structured Medication Review: a
// community pharmacy refers, it does not review (Network Contract DES).
// The referral carries the 28-day adherence from the dose log, and the
// flag's evidence when a flag led to it; that flag is resolved. Errors:
// forbidden, invalid, not_found (the flag), conflict (the flag is
// claimed by another pharmacist or no longer open).
func (s *PharmacyServices) ReferForSMR(ctx context.Context, p models.Principal, patient models.User, in SMRReferralIn) (EpisodeView, error) {
	me, err := s.pharmacist(ctx, p)
	if err != nil {
		return EpisodeView{}, err
	}
	var pr models.Problems
	if in.To != models.ReferToPCNPharmacy && in.To != models.ReferToGPPractice {
		pr.Add("to", "must be pcn_clinical_pharmacist or gp_practice")
	}
	reason := strings.TrimSpace(in.Reason)
	if reason == "" {
		pr.Add("reason", "is required")
	} else {
		models.ValidateText("reason", reason, models.MaxServiceTextLength, true, &pr)
	}
	if err := pr.Err(); err != nil {
		return EpisodeView{}, err
	}
	now := s.now().UTC()
	ref := &models.ServiceReferral{To: in.To, Urgency: models.UrgencyRoutine, Reason: reason}
	if in.FlagID != "" {
		f, err := s.src.Flags.Get(ctx, p, in.FlagID)
		if err != nil {
			return EpisodeView{}, err
		}
		if f.PatientID != patient.ID {
			return EpisodeView{}, errFlagNotFound
		}
		if f.Status != models.FlagOpen && !(f.Status == models.FlagClaimed && f.ClaimedBy == me.ID) {
			return EpisodeView{}, models.Errorf(models.CodeConflict, "the flag is %s", f.Status)
		}
		ev := f.Evidence
		ref.FlagID, ref.FlagEvidence = f.ID, &ev
	}
	if ref.Adherence, err = s.medicationAdherence(ctx, patient, "", now); err != nil {
		return EpisodeView{}, err
	}
	e := newEpisode(newID(), models.ServiceKindSMRReferral, me, patient, now)
	consult(&e, me, models.StageReferral, now, models.Findings{Adherence: ref.Adherence}, models.OutcomeReferredForSMR, ref, patient.Location())
	e.Status = models.EpisodeCompleted
	v, err := s.insert(ctx, e, patient)
	if err != nil {
		return EpisodeView{}, err
	}
	if in.FlagID != "" {
		note := "Referred to the " + strings.ReplaceAll(string(in.To), "_", " ") + " for a Structured Medication Review (referral " + e.ID + ")."
		if _, err := s.src.Flags.Resolve(ctx, p, in.FlagID, FlagResolution{Outcome: models.OutcomeSMRRequested, Note: note}); err != nil {
			return EpisodeView{}, err
		}
	}
	return v, nil
}
