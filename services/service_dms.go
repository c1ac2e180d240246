package services

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/concord-health/concord/models"
)

// DischargeIn is the discharge referral a pharmacist records.
type DischargeIn struct {
	Hospital     string
	DischargedAt time.Time
	// ReceivedAt is when the referral reached the pharmacy; zero means now.
	ReceivedAt time.Time
	Medicines  []models.DischargeMedicine
}

// ChangeDecision is the pharmacist's decision on one reconciliation line.
type ChangeDecision struct {
	ChangeID string
	Decision string
	Note     string
}

// dmsNamespace makes the ids of medicines a reconciliation adds: the same
// episode and line always give the same id, so applying a decision twice
// adds the medicine once.
var dmsNamespace = uuid.MustParse("4f0c6a52-3c7e-4b8e-9d1a-6e2f9b7a5c10")

// RecordDischarge records a discharge referral and reconciles its
// medicines against the patient's active ones (new, stopped, changed
// dose); stage one is then due within 72 hours of receipt (a target: the
// deadline is shown, a later reconciliation is recorded as late). Errors:
// forbidden, invalid (named fields).
func (s *PharmacyServices) RecordDischarge(ctx context.Context, p models.Principal, patient models.User, in DischargeIn) (EpisodeView, error) {
	me, err := s.pharmacist(ctx, p)
	if err != nil {
		return EpisodeView{}, err
	}
	now := s.now().UTC()
	received := in.ReceivedAt
	if received.IsZero() {
		received = now
	}
	var pr models.Problems
	hospital := strings.TrimSpace(in.Hospital)
	if hospital == "" {
		pr.Add("hospital", "is required")
	} else {
		models.ValidateText("hospital", hospital, 200, false, &pr)
	}
	switch {
	case in.DischargedAt.IsZero():
		pr.Add("dischargedAt", "is required")
	case in.DischargedAt.After(now.Add(models.ReadingClockSkew)):
		pr.Add("dischargedAt", "must not be in the future")
	}
	switch {
	case received.After(now.Add(models.ReadingClockSkew)):
		pr.Add("receivedAt", "must not be in the future")
	case !in.DischargedAt.IsZero() && received.Before(in.DischargedAt.Add(-7*24*time.Hour)):
		pr.Add("receivedAt", "must not be more than 7 days before the discharge")
	}
	if len(in.Medicines) == 0 {
		pr.Add("medicines", "must list the medicines on discharge")
	}
	models.ValidateDischargeMedicines("medicines", in.Medicines, &pr)
	if err := pr.Err(); err != nil {
		return EpisodeView{}, err
	}
	meds, err := s.src.Medications.List(ctx, patient, models.MedicationActive)
	if err != nil {
		return EpisodeView{}, err
	}
	e := newEpisode(newID(), models.ServiceKindDMS, me, patient, received)
	e.CreatedAt = now
	e.Discharge = &models.DischargeReferral{Hospital: hospital, DischargedAt: in.DischargedAt, ReceivedAt: received,
		Medicines: in.Medicines, Changes: models.Reconcile(in.Medicines, meds)}
	return s.insert(ctx, e, patient)
}

// RecordReconciliation records DMS stage one: the pharmacist's decision
// on every difference the reconciliation found. Accepted changes update
// the patient's medicines (a new medicine is added, a stopped one
// stopped, a changed dose edited) and the patient is told in the app;
// nothing changes silently. Errors: forbidden, invalid (a difference
// without a decision, an unknown line, a new medicine without a schedule
// on the discharge list), not_found, conflict.
func (s *PharmacyServices) RecordReconciliation(ctx context.Context, p models.Principal, patient models.User, id string, decisions []ChangeDecision, advice string) (EpisodeView, error) {
	me, err := s.pharmacist(ctx, p)
	if err != nil {
		return EpisodeView{}, err
	}
	var pr models.Problems
	validateFindings(models.Findings{Advice: advice}, &pr)
	e, err := s.recordable(ctx, me, patient, id, models.ServiceKindDMS)
	if err != nil {
		return EpisodeView{}, err
	}
	now := s.now().UTC()
	loc := patient.Location()
	if err := stageOpen(e, models.StageReconciliation, now, loc); err != nil {
		return EpisodeView{}, err
	}
	changes := e.Discharge.Changes
	decided := map[string]bool{}
	for i, d := range decisions {
		f := fmt.Sprintf("decisions[%d]", i)
		j := changeIndex(changes, d.ChangeID)
		switch {
		case j < 0 || changes[j].Kind == models.ChangeUnchanged:
			pr.Add(f+".changeId", "is not a difference of this reconciliation")
			continue
		case decided[d.ChangeID]:
			pr.Add(f+".changeId", "is decided twice")
			continue
		case d.Decision != models.DecisionAccepted && d.Decision != models.DecisionRejected:
			pr.Add(f+".decision", "must be accepted or rejected")
		case d.Decision == models.DecisionAccepted && changes[j].Kind == models.ChangeNew && changes[j].Discharge.Schedule == nil:
			pr.Add(f+".decision", "a new medicine needs its schedule on the discharge list to be added")
		}
		if d.Note != "" {
			models.ValidateText(f+".note", d.Note, models.MaxServiceTextLength, true, &pr)
		}
		decided[d.ChangeID] = true
		changes[j].Decision, changes[j].Note = d.Decision, strings.TrimSpace(d.Note)
	}
	for _, c := range changes {
		if c.Kind != models.ChangeUnchanged && !decided[c.ID] {
			pr.Add("decisions", "must decide every difference (%s is undecided)", c.ID)
		}
	}
	if err := pr.Err(); err != nil {
		return EpisodeView{}, err
	}
	applied := 0
	for i, c := range changes {
		if c.Decision != models.DecisionAccepted {
			continue
		}
		medID, err := s.applyChange(ctx, patient, e.ID, c, now)
		if err != nil {
			return EpisodeView{}, fmt.Errorf("apply %s: %w", c.ID, err)
		}
		changes[i].MedicationID = medID
		applied++
	}
	outcome := models.OutcomeNoChanges
	if applied > 0 {
		outcome = models.OutcomeMedicinesUpdated
	}
	f := pharmacistFindings(models.Findings{Advice: advice})
	f.Reconciliation = changes
	prev := e.Version
	e.Discharge.Changes = changes
	consult(&e, me, models.StageReconciliation, now, f, outcome, nil, loc)
	e.Status = models.EpisodeCompleted
	v, err := s.save(ctx, e, prev, patient)
	if err != nil {
		return EpisodeView{}, err
	}
	if applied > 0 {
		if err := s.tellPatient(ctx, patient, e.ID, now); err != nil {
			return EpisodeView{}, err
		}
	}
	return v, nil
}

func changeIndex(changes []models.MedicineChange, id string) int {
	for i, c := range changes {
		if c.ID == id {
			return i
		}
	}
	return -1
}

// applyChange makes one accepted change to the patient's medicines and
// returns the medicine's id. Applying it again changes nothing more.
func (s *PharmacyServices) applyChange(ctx context.Context, patient models.User, episodeID string, c models.MedicineChange, now time.Time) (string, error) {
	switch c.Kind {
	case models.ChangeNew:
		d := *c.Discharge
		sch := *d.Schedule
		if sch.StartDate == "" {
			sch.StartDate = models.LocalDay(now, patient.Location())
		}
		m, _, err := s.src.Medications.Create(ctx, patient, NewMedication{
			ID:   uuid.NewSHA1(dmsNamespace, []byte(episodeID+"/"+c.ID)).String(),
			Name: d.Name, Strength: d.Strength, Form: d.Form, Instructions: d.Instructions, Code: d.Code, Schedule: sch})
		return m.ID, err
	case models.ChangeStopped:
		m, err := s.src.Medications.Stop(ctx, patient, c.MedicationID, nil)
		return m.ID, err
	case models.ChangeDose:
		d := c.Discharge
		ch := MedicationChange{Strength: &d.Strength, Instructions: &d.Instructions}
		if d.Schedule != nil {
			sch := *d.Schedule
			if cur, err := s.src.Medications.Get(ctx, patient, c.MedicationID); err == nil && sch.StartDate == "" {
				sch.StartDate = cur.Schedule.StartDate
			}
			ch.Schedule = &sch
		}
		m, err := s.src.Medications.Update(ctx, patient, c.MedicationID, ch, nil)
		if models.IsCode(err, models.CodeConflict) {
			// Stopped meanwhile: the patient's list no longer has it.
			return c.MedicationID, nil
		}
		return m.ID, err
	}
	return c.MedicationID, nil
}

// tellPatient puts a notice in the patient's inbox (and pushes it) that
// their medicines list changed; it names no medicine.
func (s *PharmacyServices) tellPatient(ctx context.Context, patient models.User, episodeID string, now time.Time) error {
	_, _, err := s.notes.Enqueue(ctx, models.Notification{
		ID: models.PharmacyServiceNoticeID(episodeID, models.StageReconciliation), RecipientID: patient.ID, PatientID: patient.ID,
		Kind: models.KindPharmacyService, Text: pushText(msgPharmacyDischargeTitle, msgPharmacyDischargeBody, nil),
		DueAt: now, RespectQuietHours: true,
	})
	return err
}
