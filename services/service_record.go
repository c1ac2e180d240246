package services

import (
	"context"

	"github.com/concord-health/concord/models"
)

// ServiceRecord is what a consultation record is made of: the episode
// with the accounts of the pharmacists who recorded it and the readings
// its consultations recorded (by id; one the patient has deleted since
// is not there).
type ServiceRecord struct {
	Episode     models.ServiceEpisode
	Pharmacists map[string]models.User
	Readings    map[string]models.Reading
}

// Record gathers one of the patient's episodes for the consultation
// record its pharmacy hands to its clinical system: only a pharmacist of
// the pharmacy that delivered it may (the caller authorises the patient
// first, which audits the access). Errors: forbidden (not a pharmacist),
// not_found (no such episode of the patient, or another pharmacy's).
func (s *PharmacyServices) Record(ctx context.Context, p models.Principal, patient models.User, id string) (ServiceRecord, error) {
	me, ok, err := s.access.Pharmacist(ctx, p)
	if err != nil {
		return ServiceRecord{}, err
	}
	if !ok {
		return ServiceRecord{}, models.Errorf(models.CodeForbidden, "only a pharmacist of the pharmacy that delivered the service exports its record")
	}
	e, err := s.episode(ctx, patient, id)
	if err != nil {
		return ServiceRecord{}, err
	}
	if e.PharmacyID != me.PharmacyID {
		return ServiceRecord{}, errEpisodeNotFound
	}
	e.Refresh(s.now(), patient.Location())
	rec := ServiceRecord{Episode: e, Pharmacists: map[string]models.User{}, Readings: map[string]models.Reading{}}
	for _, c := range e.Consultations {
		if _, ok := rec.Pharmacists[c.By]; !ok {
			u, err := s.users.Get(ctx, c.By)
			switch {
			case err == nil:
				rec.Pharmacists[c.By] = u
			case !models.IsCode(err, models.CodeNotFound):
				return ServiceRecord{}, err
			}
		}
		for _, rid := range []string{c.Findings.ReadingID, referralReading(c.Referral)} {
			if rid == "" {
				continue
			}
			if _, ok := rec.Readings[rid]; ok {
				continue
			}
			r, err := s.src.Readings.Get(ctx, patient, rid)
			switch {
			case err == nil:
				rec.Readings[rid] = r
			case !models.IsCode(err, models.CodeNotFound):
				return ServiceRecord{}, err
			}
		}
	}
	return rec, nil
}

func referralReading(r *models.ServiceReferral) string {
	if r == nil {
		return ""
	}
	return r.ReadingID
}
