package services

import (
	"context"
	"time"

	"github.com/concord-health/concord/models"
)

// ConsentEnded closes the pharmacy's live flags for the patient as
// consent_withdrawn (ConsentObserver). Failures are logged; the pharmacy
// cannot see the flags anyway (the access policy refuses it), and a later
// evaluation closes any it finds.
func (s *Flags) ConsentEnded(ctx context.Context, patientID, pharmacyID string, at time.Time) {
	flags, err := s.store.LiveOfPatient(ctx, patientID, pharmacyID)
	if err != nil {
		s.log.ErrorContext(ctx, "flags not closed after consent ended", "patient", patientID, "pharmacy", pharmacyID, "err", err)
		return
	}
	at = at.UTC()
	for _, f := range flags {
		if _, err := s.store.Close(ctx, f.ID, models.FlagClosedConsentWithdrawn, at); err != nil {
			s.log.ErrorContext(ctx, "flag not closed after consent ended", "flag", f.ID, "err", err)
			continue
		}
		s.log.InfoContext(ctx, "flag closed: consent withdrawn", "flag", f.ID, "patient", patientID, "pharmacy", pharmacyID)
	}
}

// recheckConsent closes a flag just raised if the patient's consent to its
// pharmacy ended meanwhile: either this read sees the change, or the
// change's ConsentEnded sees the flag.
func (s *Flags) recheckConsent(ctx context.Context, flag models.Flag, now time.Time) {
	n, ok, err := s.consents.Nomination(ctx, flag.PatientID)
	if err == nil && ok && n.PharmacyID == flag.PharmacyID {
		return
	}
	if err == nil {
		_, err = s.store.Close(ctx, flag.ID, models.FlagClosedConsentWithdrawn, now)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "consent not re-checked after raising a flag", "flag", flag.ID, "err", err)
	}
}
