package models

import (
	"slices"
	"time"
)

// EpisodeStatus is where a service episode stands, as stored: active until
// its last stage is recorded (completed) or a pharmacist closes it.
type EpisodeStatus string

// The stored episode statuses.
const (
	EpisodeActive    EpisodeStatus = "active"
	EpisodeCompleted EpisodeStatus = "completed"
	EpisodeClosed    EpisodeStatus = "closed"
)

// The states of a stage, worked out at a time (ServiceEpisode.Refresh).
const (
	StageWaiting  = "waiting"  // the stage before it is not done yet
	StageUpcoming = "upcoming" // its window has not opened
	StageDue      = "due"      // its window is open, or its target deadline is ahead
	StageOverdue  = "overdue"  // past its target deadline, still to do (a target, not a window)
	StageMissed   = "missed"   // its window closed without it: it can no longer be recorded
	StageDone     = "done"     // recorded within its window or by its target
	StageDoneLate = "done_late"
	StageSkipped  = "not_needed" // an optional stage of a completed or closed episode
)

// ConsultationOutcome is what came of one consultation.
type ConsultationOutcome string

// The outcomes, per service.
const (
	OutcomeNoProblems          ConsultationOutcome = "no_problems"            // NMS
	OutcomeAdvice              ConsultationOutcome = "advice_given"           // NMS
	OutcomeReferredPrescriber  ConsultationOutcome = "referred_to_prescriber" // NMS
	OutcomeBPNormal            ConsultationOutcome = "normal_reading"         // BP check: clinic band normal
	OutcomeBPLow               ConsultationOutcome = "low_reading_advice"     // BP check: clinic band low
	OutcomeABPMOffered         ConsultationOutcome = "abpm_offered"           // BP check: 140/90 to 179/119
	OutcomeSameDayReferral     ConsultationOutcome = "same_day_referral"      // BP check: 180/120 or above
	OutcomeHypertensionUnlikly ConsultationOutcome = "hypertension_unlikely"  // ABPM average below 135/85
	OutcomeReferredDiagnosis   ConsultationOutcome = "referred_for_diagnosis" // ABPM average 135/85 or above
	OutcomeMedicinesUpdated    ConsultationOutcome = "medicines_updated"      // DMS: accepted changes applied
	OutcomeNoChanges           ConsultationOutcome = "no_changes"             // DMS: nothing to change
	OutcomeReferredForSMR      ConsultationOutcome = "referred_for_smr"       // SMR referral
)

// NMSOutcomes are the outcomes a pharmacist may choose for an NMS stage.
var NMSOutcomes = []ConsultationOutcome{OutcomeNoProblems, OutcomeAdvice, OutcomeReferredPrescriber}

// ReferralTarget is whom a referral goes to.
type ReferralTarget string

// The referral targets.
const (
	ReferToPrescriber  ReferralTarget = "prescriber"
	ReferToGPPractice  ReferralTarget = "gp_practice"
	ReferToPCNPharmacy ReferralTarget = "pcn_clinical_pharmacist"
)

// ReferralTargets lists every target.
var ReferralTargets = []ReferralTarget{ReferToPrescriber, ReferToGPPractice, ReferToPCNPharmacy}

// Valid reports whether t is one of the targets.
func (t ReferralTarget) Valid() bool { return slices.Contains(ReferralTargets, t) }

// Referral urgencies.
const (
	UrgencyRoutine = "routine"
	UrgencySameDay = "same_day"
)

// AdherenceEvidence is what Concord's own dose log says of a medicine (or
// of every medicine, when MedicationID is ""): the figures of the
// WindowDays days up to At.
type AdherenceEvidence struct {
	MedicationID  string    `json:"medicationId,omitempty" bson:"medicationId,omitempty"`
	WindowDays    int       `json:"windowDays" bson:"windowDays"`
	At            time.Time `json:"at" bson:"at"`
	Due           int       `json:"due" bson:"due"`
	Taken         int       `json:"taken" bson:"taken"`
	Skipped       int       `json:"skipped" bson:"skipped"`
	Missed        int       `json:"missed" bson:"missed"`
	DoseAdherence *float64  `json:"doseAdherence" bson:"doseAdherence"`
	PDC           *float64  `json:"pdc" bson:"pdc"`
	Source        string    `json:"source" bson:"source"`
}

// AdherenceEvidenceSource names where adherence evidence comes from.
const AdherenceEvidenceSource = "Concord dose log (doses the patient logged as taken or skipped, and doses missed)"

// AdherenceEvidenceOf turns adherence figures into evidence.
func AdherenceEvidenceOf(medicationID string, windowDays int, at time.Time, f AdherenceFigures) *AdherenceEvidence {
	return &AdherenceEvidence{MedicationID: medicationID, WindowDays: windowDays, At: at, Due: f.Due, Taken: f.Taken,
		Skipped: f.Skipped, Missed: f.Missed, DoseAdherence: f.DoseAdherence, PDC: f.PDC, Source: AdherenceEvidenceSource}
}

// ServiceReferral is a referral a pharmacy made: to whom, why, how
// urgently, and the evidence it sent.
type ServiceReferral struct {
	To        ReferralTarget     `json:"to" bson:"to"`
	Urgency   string             `json:"urgency" bson:"urgency"`
	Reason    string             `json:"reason" bson:"reason"`
	Adherence *AdherenceEvidence `json:"adherence,omitempty" bson:"adherence,omitempty"`
	// FlagID and FlagEvidence are the review flag that led to the
	// referral, when one did.
	FlagID       string        `json:"flagId,omitempty" bson:"flagId,omitempty"`
	FlagEvidence *FlagEvidence `json:"flagEvidence,omitempty" bson:"flagEvidence,omitempty"`
	ReadingID    string        `json:"readingId,omitempty" bson:"readingId,omitempty"`
}

// Findings are what a consultation found. Pharmacists write Problems,
// SideEffects and Advice; Concord fills Adherence (from its dose log),
// the reading and its band, and the reconciliation.
type Findings struct {
	Adherence      *AdherenceEvidence `json:"adherence,omitempty" bson:"adherence,omitempty"`
	Problems       string             `json:"problems,omitempty" bson:"problems,omitempty"`
	SideEffects    string             `json:"sideEffects,omitempty" bson:"sideEffects,omitempty"`
	Advice         string             `json:"advice,omitempty" bson:"advice,omitempty"`
	ReadingID      string             `json:"readingId,omitempty" bson:"readingId,omitempty"`
	Band           string             `json:"band,omitempty" bson:"band,omitempty"`
	BandRule       string             `json:"bandRule,omitempty" bson:"bandRule,omitempty"`
	Reconciliation []MedicineChange   `json:"reconciliation,omitempty" bson:"reconciliation,omitempty"`
}

// Consultation is one recorded stage of a service episode: who, when,
// which stage, what was found, the outcome and any referral made.
type Consultation struct {
	ID       string              `json:"id" bson:"id"`
	Stage    string              `json:"stage" bson:"stage"`
	By       string              `json:"by" bson:"by"`
	ByName   string              `json:"byName,omitempty" bson:"-"`
	At       time.Time           `json:"at" bson:"at"`
	Findings Findings            `json:"findings" bson:"findings"`
	Outcome  ConsultationOutcome `json:"outcome" bson:"outcome"`
	Referral *ServiceReferral    `json:"referral,omitempty" bson:"referral,omitempty"`
}

// ServiceStage is one stage of an episode: its window (local dates, both
// included) or target deadline, when it was done, and its state at the
// time the episode was read (not stored).
type ServiceStage struct {
	Stage        string     `json:"stage" bson:"stage"`
	WindowFrom   string     `json:"windowFrom,omitempty" bson:"windowFrom,omitempty"`
	WindowTo     string     `json:"windowTo,omitempty" bson:"windowTo,omitempty"`
	DueBy        *time.Time `json:"dueBy,omitempty" bson:"dueBy,omitempty"`
	DoneAt       *time.Time `json:"doneAt,omitempty" bson:"doneAt,omitempty"`
	Consultation string     `json:"consultationId,omitempty" bson:"consultation,omitempty"`
	State        string     `json:"state" bson:"-"`
}

// ServiceConsent is the patient's consent to the service, as the
// pharmacist recorded it.
type ServiceConsent struct {
	Given      bool      `json:"given" bson:"given"`
	RecordedBy string    `json:"recordedBy" bson:"recordedBy"`
	At         time.Time `json:"at" bson:"at"`
}

// ServiceEpisode is one patient's course through one service at one
// pharmacy: its stages with their windows, and a consultation per
// recorded stage. Version counts writes (compare-and-set).
type ServiceEpisode struct {
	ID         string          `json:"id" bson:"_id"`
	PatientID  string          `json:"patientId" bson:"patientId"`
	PharmacyID string          `json:"pharmacyId" bson:"pharmacyId"`
	Service    ServiceKind     `json:"service" bson:"service"`
	Status     EpisodeStatus   `json:"status" bson:"status"`
	Consent    *ServiceConsent `json:"consent,omitempty" bson:"consent,omitempty"`
	// NMS: the new medicine and its condition (NMSCondition.ID).
	MedicationID   string `json:"medicationId,omitempty" bson:"medicationId,omitempty"`
	MedicationName string `json:"medicationName,omitempty" bson:"medicationName,omitempty"`
	Condition      string `json:"condition,omitempty" bson:"condition,omitempty"`
	// DMS: the discharge referral.
	Discharge     *DischargeReferral `json:"discharge,omitempty" bson:"discharge,omitempty"`
	Stages        []ServiceStage     `json:"stages" bson:"stages"`
	Consultations []Consultation     `json:"consultations" bson:"consultations"`
	CloseReason   string             `json:"closeReason,omitempty" bson:"closeReason,omitempty"`
	// NextDue is when the next stage to do closes (its window's end, or
	// its target deadline); nil when nothing is pending. The pharmacy's
	// service queue is ordered by it.
	NextDue   *time.Time `json:"nextDue,omitempty" bson:"nextDue,omitempty"`
	Version   int        `json:"-" bson:"version"`
	CreatedAt time.Time  `json:"createdAt" bson:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt" bson:"updatedAt"`
	// State is the episode's state at the time it was read: its status, or
	// "missed" when an active episode's stage window closed undone.
	State string `json:"state" bson:"-"`
}

// The episode states shown beside the stored statuses.
const EpisodeMissed = "missed"

// Stage returns the index of the named stage, or -1.
func (e *ServiceEpisode) Stage(name string) int {
	for i, s := range e.Stages {
		if s.Stage == name {
			return i
		}
	}
	return -1
}

// PlanStages lays out the stages of the episode's service from its start
// at `start`: the first stages (those after the start) get their windows
// or deadlines, the others wait for the stage before them.
func (e *ServiceEpisode) PlanStages(start time.Time, loc *time.Location) {
	e.Stages = nil
	for _, r := range serviceStageRules {
		if r.Service != e.Service {
			continue
		}
		st := ServiceStage{Stage: r.Stage}
		if r.After == serviceStageStart {
			st.setWindow(r, start, loc)
		}
		e.Stages = append(e.Stages, st)
	}
}

// setWindow opens the stage's window or deadline from `after`, the time
// the stage before it was done.
func (s *ServiceStage) setWindow(r ServiceStageRule, after time.Time, loc *time.Location) {
	switch {
	case r.Windowed():
		day := LocalDay(after, loc)
		s.WindowFrom, s.WindowTo = addLocalDays(day, r.FromDays), addLocalDays(day, r.ToDays)
	case r.TargetHours > 0:
		due := after.Add(time.Duration(r.TargetHours) * time.Hour)
		s.DueBy = &due
	}
}

// MarkDone records the stage as done at `at` by the consultation and
// opens the window of the stage after it. The caller decides when the
// episode is completed (RequiredDone, and what the outcome asks for).
func (e *ServiceEpisode) MarkDone(stage string, at time.Time, consultationID string, loc *time.Location) {
	for i := range e.Stages {
		if e.Stages[i].Stage == stage {
			e.Stages[i].DoneAt, e.Stages[i].Consultation = &at, consultationID
		}
	}
	for i := range e.Stages {
		r, _ := ServiceStageRuleOf(e.Service, e.Stages[i].Stage)
		if r.After == stage && e.Stages[i].DoneAt == nil {
			e.Stages[i].setWindow(r, at, loc)
		}
	}
}

// RequiredDone reports whether every stage that is not optional is done.
func (e *ServiceEpisode) RequiredDone() bool {
	for _, s := range e.Stages {
		r, _ := ServiceStageRuleOf(e.Service, s.Stage)
		if s.DoneAt == nil && !r.Optional {
			return false
		}
	}
	return true
}

// Refresh works out every stage's state at now in loc, the episode's
// state, and NextDue.
func (e *ServiceEpisode) Refresh(now time.Time, loc *time.Location) {
	today := LocalDay(now, loc)
	e.NextDue = nil
	missed := false
	prevDone := true
	for i := range e.Stages {
		s := &e.Stages[i]
		r, _ := ServiceStageRuleOf(e.Service, s.Stage)
		switch {
		case s.DoneAt != nil:
			s.State = StageDone
			if s.DueBy != nil && s.DoneAt.After(*s.DueBy) {
				s.State = StageDoneLate
			}
		case e.Status != EpisodeActive && r.Optional:
			s.State = StageSkipped
		case !prevDone && s.WindowTo == "" && s.DueBy == nil:
			s.State = StageWaiting
		case s.WindowTo != "" && today > s.WindowTo:
			s.State, missed = StageMissed, true
		case s.WindowFrom != "" && today < s.WindowFrom:
			s.State = StageUpcoming
		case s.DueBy != nil && now.After(*s.DueBy):
			s.State = StageOverdue
		default:
			s.State = StageDue
		}
		if e.Status == EpisodeActive && e.NextDue == nil && (s.State == StageDue || s.State == StageUpcoming || s.State == StageOverdue) {
			switch {
			case s.WindowTo != "":
				end := startOfLocalDay(addLocalDays(s.WindowTo, 1), loc)
				e.NextDue = &end
			case s.DueBy != nil:
				due := *s.DueBy
				e.NextDue = &due
			}
		}
		prevDone = s.DoneAt != nil
	}
	e.State = string(e.Status)
	if e.Status == EpisodeActive && missed {
		e.State = EpisodeMissed
	}
}

// ServiceEpisodeQuery selects one page of a pharmacy's active episodes,
// by (NextDue, ID), those with nothing due last.
type ServiceEpisodeQuery struct {
	PharmacyID string
	// AfterDue and AfterID, when AfterID is set, start the page just after
	// that place.
	AfterDue *time.Time
	AfterID  string
	Limit    int
}
