package models

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// FlagRuleID names a review-flag rule (see FlagRules).
type FlagRuleID string

// The review-flag rules.
const (
	RuleLowAdherence  FlagRuleID = "low_adherence"
	RuleMissedStreak  FlagRuleID = "missed_streak"
	RuleNewMedicine   FlagRuleID = "new_medicine"
	RuleSevereReading FlagRuleID = "severe_reading"
	RuleRunningOut    FlagRuleID = "running_out"
)

// FlagRuleIDs lists every rule, in the order they are evaluated.
var FlagRuleIDs = []FlagRuleID{RuleSevereReading, RuleRunningOut, RuleMissedStreak, RuleLowAdherence, RuleNewMedicine}

// Valid reports whether r is one of the rules.
func (r FlagRuleID) Valid() bool { return slices.Contains(FlagRuleIDs, r) }

// FlagStatus is where a review flag stands.
//
// open → claimed (a pharmacist took it) → resolved (with an outcome). A
// resolved flag with a follow-up date waits, hidden from the queue, and
// becomes open again when the date comes. closed: the flag ended without a
// pharmacist's review (the patient withdrew consent).
type FlagStatus string

// The flag statuses.
const (
	FlagOpen     FlagStatus = "open"
	FlagClaimed  FlagStatus = "claimed"
	FlagResolved FlagStatus = "resolved"
	FlagClosed   FlagStatus = "closed"
)

// FlagStatuses lists every status.
var FlagStatuses = []FlagStatus{FlagOpen, FlagClaimed, FlagResolved, FlagClosed}

// Valid reports whether s is one of the statuses.
func (s FlagStatus) Valid() bool { return slices.Contains(FlagStatuses, s) }

// FlagOutcome is what a pharmacist did about a flag: the intervention
// recorded when it is resolved.
type FlagOutcome string

// The outcomes (NHS community pharmacy services in England: the New
// Medicine Service, Structured Medication Reviews in the Primary Care
// Network, the Discharge Medicines Service). smr_requested means the
// pharmacy referred the patient to the PCN for a review (a referral
// record: POST .../services/smr-referrals resolves the flag with it).
const (
	OutcomeAdviceGiven    FlagOutcome = "advice_given"
	OutcomeNMSStarted     FlagOutcome = "nms_started"
	OutcomeSMRRequested   FlagOutcome = "smr_requested"
	OutcomeReferredToGP   FlagOutcome = "referred_to_gp"
	OutcomeDMSFollowUp    FlagOutcome = "dms_followup"
	OutcomeNoActionNeeded FlagOutcome = "no_action_needed"
)

// FlagOutcomes lists every outcome.
var FlagOutcomes = []FlagOutcome{OutcomeAdviceGiven, OutcomeNMSStarted, OutcomeSMRRequested, OutcomeReferredToGP, OutcomeDMSFollowUp, OutcomeNoActionNeeded}

// Valid reports whether o is one of the outcomes.
func (o FlagOutcome) Valid() bool { return slices.Contains(FlagOutcomes, o) }

// PharmacyService is the pharmacy service a flag suggests.
type PharmacyService string

// The services flags suggest.
const (
	// ServiceSMRReferral: refer the patient to the PCN clinical pharmacist
	// or GP practice for a Structured Medication Review (a community
	// pharmacy refers; it does not deliver SMRs), with the evidence.
	ServiceSMRReferral PharmacyService = "smr_referral"
	// ServiceAdherenceSupport: a conversation about the missed medicine
	// (reminders, compliance aids, side effects).
	ServiceAdherenceSupport PharmacyService = "adherence_support"
	// ServiceNMS: the New Medicine Service check-in.
	ServiceNMS PharmacyService = "new_medicine_service"
	// ServiceUrgentAdvice: contact the patient today; advise, or refer to the
	// GP, NHS 111 or emergency care.
	ServiceUrgentAdvice PharmacyService = "urgent_clinical_advice"
	// ServiceMedicineSupply: a repeat prescription request or an urgent
	// supply (Pharmacy First).
	ServiceMedicineSupply PharmacyService = "medicine_supply"
)

// Why a flag was closed without a review.
const (
	// FlagClosedConsentWithdrawn: the patient withdrew consent from the
	// pharmacy or nominated another.
	FlagClosedConsentWithdrawn = "consent_withdrawn"
	// FlagClosedAccountDeleted: the patient deleted their account; the
	// flag stays as the pharmacy's record of its work (FlagWorkedOn).
	FlagClosedAccountDeleted = "account_deleted"
)

// FlagWorkedOn reports whether a pharmacist worked on the flag (claimed
// it, wrote a note or resolved it): then it is part of the pharmacy's
// consultation record and outlives the patient's account, which erases
// the flags no one worked on.
func FlagWorkedOn(f Flag) bool {
	return f.ClaimedBy != "" || f.ResolvedBy != "" || len(f.Notes) > 0
}

// What happened to a flag (FlagEvent.Event).
const (
	FlagEventRaised      = "raised"        // a rule fired and the flag was created
	FlagEventRefired     = "refired"       // the rule fired again; the evidence was updated
	FlagEventReopened    = "reopened"      // new evidence brought a flag awaiting follow-up back
	FlagEventClaimed     = "claimed"       // a pharmacist claimed it
	FlagEventNote        = "note"          // a pharmacist added a note
	FlagEventResolved    = "resolved"      // a pharmacist resolved it
	FlagEventFollowUpDue = "follow_up_due" // its follow-up date came: open again
	FlagEventClosed      = "closed"        // closed without review
)

// Limits on what pharmacists write on a flag.
const (
	MaxFlagNoteLength = 2000 // characters
	// MaxFlagFollowUp is how far ahead a follow-up may be set.
	MaxFlagFollowUp = 366 * 24 * time.Hour
)

// FlagEvidence is what fired a flag: the metric, its value, the comparison
// and threshold it crossed and the window it was computed over (an ISO 8601
// duration such as "P28D"). Details name what the metric is about (a
// medication id, reading ids, counts), as strings.
type FlagEvidence struct {
	// Criterion names the row of the rules table that fired.
	Criterion string            `json:"criterion" bson:"criterion"`
	Metric    string            `json:"metric" bson:"metric"`
	Value     float64           `json:"value" bson:"value"`
	Op        string            `json:"op" bson:"op"`
	Threshold float64           `json:"threshold" bson:"threshold"`
	Window    string            `json:"window" bson:"window"`
	Details   map[string]string `json:"details,omitempty" bson:"details,omitempty"`
}

// Equal reports whether two pieces of evidence say the same.
func (e FlagEvidence) Equal(o FlagEvidence) bool {
	if e.Criterion != o.Criterion || e.Metric != o.Metric || e.Value != o.Value || e.Op != o.Op ||
		e.Threshold != o.Threshold || e.Window != o.Window || len(e.Details) != len(o.Details) {
		return false
	}
	for k, v := range e.Details {
		if w, ok := o.Details[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// FlagNote is a pharmacist's note on a flag.
type FlagNote struct {
	By   string    `json:"by" bson:"by"`
	At   time.Time `json:"at" bson:"at"`
	Text string    `json:"text" bson:"text"`
}

// FlagEvent is one entry of a flag's history, oldest first. By is the
// pharmacist's id, or "" for Concord itself.
type FlagEvent struct {
	At         time.Time     `json:"at" bson:"at"`
	By         string        `json:"by,omitempty" bson:"by,omitempty"`
	Event      string        `json:"event" bson:"event"`
	Evidence   *FlagEvidence `json:"evidence,omitempty" bson:"evidence,omitempty"`
	Outcome    FlagOutcome   `json:"outcome,omitempty" bson:"outcome,omitempty"`
	FollowUpAt *time.Time    `json:"followUpAt,omitempty" bson:"followUpAt,omitempty"`
	Reason     string        `json:"reason,omitempty" bson:"reason,omitempty"`
}

// Flag is a case for a pharmacist's review: a rule fired for a patient who
// consented to share with the pharmacy. There is at most one live flag per
// patient and rule (LiveFlag); its ID is FlagID(patient, rule, seq), the
// seq-th flag of that rule for that patient, so two evaluations that both
// want to raise one insert the same id and exactly one succeeds.
type Flag struct {
	ID               string          `json:"id" bson:"_id"`
	PatientID        string          `json:"patientId" bson:"patientId"`
	PharmacyID       string          `json:"pharmacyId" bson:"pharmacyId"`
	Rule             FlagRuleID      `json:"rule" bson:"rule"`
	Seq              int             `json:"-" bson:"seq"`
	Severity         Severity        `json:"severity" bson:"severity"`
	Evidence         FlagEvidence    `json:"evidence" bson:"evidence"`
	SuggestedService PharmacyService `json:"suggestedService" bson:"suggestedService"`
	// EvidenceKey identifies what fired (a reading, a medicine's stock
	// episode, a streak's first dose): a resolved flag is not raised again
	// for the same key (see FlagCriterion.RearmDays).
	EvidenceKey string      `json:"-" bson:"evidenceKey"`
	Status      FlagStatus  `json:"status" bson:"status"`
	ClaimedBy   string      `json:"claimedBy,omitempty" bson:"claimedBy,omitempty"`
	ClaimedAt   *time.Time  `json:"claimedAt,omitempty" bson:"claimedAt,omitempty"`
	Notes       []FlagNote  `json:"notes" bson:"notes"`
	Outcome     FlagOutcome `json:"outcome,omitempty" bson:"outcome,omitempty"`
	ResolvedBy  string      `json:"resolvedBy,omitempty" bson:"resolvedBy,omitempty"`
	ResolvedAt  *time.Time  `json:"resolvedAt,omitempty" bson:"resolvedAt,omitempty"`
	FollowUpAt  *time.Time  `json:"followUpAt,omitempty" bson:"followUpAt,omitempty"`
	CloseReason string      `json:"closeReason,omitempty" bson:"closeReason,omitempty"`
	ClosedAt    *time.Time  `json:"closedAt,omitempty" bson:"closedAt,omitempty"`
	// QueuedAt is when the flag (last) entered the queue: when it was
	// raised, or its follow-up date. The queue's age order uses it.
	QueuedAt  time.Time   `json:"queuedAt" bson:"queuedAt"`
	History   []FlagEvent `json:"history" bson:"history"`
	CreatedAt time.Time   `json:"createdAt" bson:"createdAt"`
	UpdatedAt time.Time   `json:"updatedAt" bson:"updatedAt"`
	// PatientName is filled when a pharmacist reads the flag; not stored.
	PatientName string `json:"patientName,omitempty" bson:"-"`
}

// FlagID is the id of the seq-th flag (from 1) of a rule for a patient:
// "<patientId>:<rule>:<seq>".
func FlagID(patientID string, rule FlagRuleID, seq int) string {
	return patientID + ":" + string(rule) + ":" + strconv.Itoa(seq)
}

// FlagSlotID is the id of the small record that remembers the latest flag
// seq of a rule for a patient: "<patientId>:<rule>".
func FlagSlotID(patientID string, rule FlagRuleID) string {
	return patientID + ":" + string(rule)
}

// FlagSlotIDs are the ids of every flag slot a patient can have: one per
// rule (FlagRuleIDs).
func FlagSlotIDs(patientID string) []string {
	ids := make([]string, len(FlagRuleIDs))
	for i, r := range FlagRuleIDs {
		ids[i] = FlagSlotID(patientID, r)
	}
	return ids
}

// LiveFlag reports whether a flag in status s, with or without a follow-up
// date, holds its rule's one place for the patient: open, claimed, or
// resolved with a follow-up. It is the one definition of a live flag.
func LiveFlag(s FlagStatus, followUp bool) bool {
	return s == FlagOpen || s == FlagClaimed || (s == FlagResolved && followUp)
}

// FollowUpDue reports whether the flag is resolved with a follow-up date
// that has come by now: it belongs back in the queue.
func (f Flag) FollowUpDue(now time.Time) bool {
	return f.Status == FlagResolved && f.FollowUpAt != nil && !f.FollowUpAt.After(now)
}

// AwaitingFollowUp reports whether the flag is resolved with a follow-up
// date still to come: hidden from the queue until then.
func (f Flag) AwaitingFollowUp(now time.Time) bool {
	return f.Status == FlagResolved && f.FollowUpAt != nil && f.FollowUpAt.After(now)
}

// ValidateFlagNote checks a note's text (trimmed by the caller) under field.
func ValidateFlagNote(field, text string, p *Problems) {
	if strings.TrimSpace(text) == "" {
		p.Add(field, "is required")
		return
	}
	ValidateText(field, text, MaxFlagNoteLength, true, p)
}

// FlagKey is a flag's place in the queue order: most severe first, then
// oldest in the queue first, then by id.
type FlagKey struct {
	SeverityRank int
	QueuedAt     time.Time
	ID           string
}

// Key returns f's place in the queue order.
func (f Flag) Key() FlagKey {
	return FlagKey{SeverityRank: f.Severity.Rank(), QueuedAt: f.QueuedAt, ID: f.ID}
}

// FlagQuery selects one page of a pharmacy's queue.
type FlagQuery struct {
	PharmacyID string
	// Statuses, Severities and Rules restrict the page; empty means any.
	Statuses   []FlagStatus
	Severities []Severity
	Rules      []FlagRuleID
	// After, when set, starts the page just after this place.
	After *FlagKey
	Limit int
}

// The evidence details that carry a reading's values (FlagEvidence.Details),
// beside "readingId", "readingType" and "takenAt": the values in the
// type's canonical unit, so that a flag can be read ("BP 186/124 mmHg at
// 08:05 on Mon 30 Nov") without reading the patient's readings again.
const (
	EvidenceValue     = "value"     // a single-value reading (glucose, SpO2, …)
	EvidenceSystolic  = "systolic"  // blood pressure
	EvidenceDiastolic = "diastolic" // blood pressure
	EvidencePulse     = "pulse"     // blood pressure, when the cuff gave one
	EvidenceUnit      = "unit"      // the canonical UCUM unit, e.g. "mm[Hg]"
	EvidenceContext   = "context"   // a glucose reading's context, when given
)

// WithReading returns e with r's type, time and canonical values in its
// details (the keys above); e itself is not changed. Values are written
// in the shortest form that reads back the same ("186", "3.4").
func (e FlagEvidence) WithReading(r Reading) FlagEvidence {
	d := make(map[string]string, len(e.Details)+6)
	for k, v := range e.Details {
		d[k] = v
	}
	d["readingType"] = string(r.Type)
	d["takenAt"] = r.TakenAt.UTC().Format(time.RFC3339)
	d[EvidenceUnit] = r.Canonical.Unit
	put := func(key string, v *float64) {
		if v != nil {
			d[key] = strconv.FormatFloat(*v, 'f', -1, 64)
		}
	}
	put(EvidenceValue, r.Canonical.Value)
	put(EvidenceSystolic, r.Canonical.Systolic)
	put(EvidenceDiastolic, r.Canonical.Diastolic)
	put(EvidencePulse, r.Canonical.Pulse)
	if r.Context != "" {
		d[EvidenceContext] = r.Context
	}
	e.Details = d
	return e
}
