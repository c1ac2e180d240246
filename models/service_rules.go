package models

import (
	"slices"
	"time"
)

// ServiceKind names an NHS service a community pharmacy delivers (or, for
// a Structured Medication Review, refers the patient to).
type ServiceKind string

// The pharmacy services Concord tracks.
const (
	// ServiceKindNMS is the New Medicine Service (advanced service).
	ServiceKindNMS ServiceKind = "new_medicine_service"
	// ServiceKindBPCheck is the Blood Pressure Check Service
	// (hypertension case-finding, advanced service).
	ServiceKindBPCheck ServiceKind = "blood_pressure_check"
	// ServiceKindDMS is the Discharge Medicines Service (essential
	// service); Concord tracks its stage one.
	ServiceKindDMS ServiceKind = "discharge_medicines_service"
	// ServiceKindSMRReferral is a referral to the Primary Care Network for
	// a Structured Medication Review: the community pharmacy refers, the
	// PCN's clinical pharmacist or the GP practice reviews.
	ServiceKindSMRReferral ServiceKind = "smr_referral"
)

// ServiceKinds lists every service.
var ServiceKinds = []ServiceKind{ServiceKindNMS, ServiceKindBPCheck, ServiceKindDMS, ServiceKindSMRReferral}

// Valid reports whether k is one of the services.
func (k ServiceKind) Valid() bool { return slices.Contains(ServiceKinds, k) }

// The stages of the services.
const (
	StageEngagement     = "engagement"     // NMS: consent and first conversation, at dispensing
	StageIntervention   = "intervention"   // NMS: 7 to 14 days after engagement
	StageFollowUp       = "follow_up"      // NMS: 14 to 21 days after the intervention
	StageClinicReading  = "clinic_reading" // BP check: the reading taken in the pharmacy
	StageABPM           = "abpm"           // BP check: the ambulatory monitoring result
	StageReconciliation = "reconciliation" // DMS stage one: the discharge list against the patient's
	StageReferral       = "referral"       // SMR referral: the referral with its evidence
	serviceStageStart   = ""               // the stage a first stage follows: the episode's start
	serviceSourceNMS    = "NHS England, NHS New Medicine Service (NMS) advanced service specification (Community Pharmacy Contractual Framework): engagement when the new medicine is supplied; the intervention 7 to 14 days after engagement; the follow-up 14 to 21 days after the intervention"
	serviceSourceDMS    = "NHS England, NHS Discharge Medicines Service essential service specification: stage one, the pharmacy checks the discharge referral against the patient's medicines and records changes, with a target of 72 hours from receiving the referral"
	serviceSourceBP     = "NHS England, NHS Community Pharmacy Hypertension Case-Finding Advanced Service (Blood Pressure Check Service) specification: a clinic reading in the pharmacy; ambulatory monitoring (ABPM) offered for clinic readings of 140/90 to 179/119; the result shared with the GP practice"
	serviceSourceSMR    = "NHS England, Network Contract Directed Enhanced Service: Structured Medication Reviews are delivered by Primary Care Network clinicians (clinical pharmacists); a community pharmacy refers the patient, with its evidence, to the PCN or GP practice"
)

// ServiceStageRule is one row of the service rules table: Stage of Service
// follows the stage After ("" for the episode's start). A day window opens
// FromDays and closes ToDays local days (in the patient's time zone, both
// ends included) after the day After was done; past the last day the stage
// is missed and can no longer be recorded. A target (TargetHours > 0)
// instead gives a deadline that many hours after After was done; a stage
// done after its target deadline is recorded as late. A stage with
// neither (Optional) may be recorded any time after After, or not at all.
type ServiceStageRule struct {
	Service     ServiceKind `json:"service"`
	Stage       string      `json:"stage"`
	After       string      `json:"after,omitempty"`
	FromDays    int         `json:"fromDays,omitempty"`
	ToDays      int         `json:"toDays,omitempty"`
	TargetHours int         `json:"targetHours,omitempty"`
	Optional    bool        `json:"optional,omitempty"`
	Source      string      `json:"source"`
}

// Windowed reports whether the stage has a day window.
func (r ServiceStageRule) Windowed() bool { return r.ToDays > 0 }

// serviceStageRules is the table of service stages, in each service's
// order. Every window and target a service uses is here, with its source.
var serviceStageRules = []ServiceStageRule{
	{Service: ServiceKindNMS, Stage: StageEngagement, Source: serviceSourceNMS},
	{Service: ServiceKindNMS, Stage: StageIntervention, After: StageEngagement, FromDays: 7, ToDays: 14, Source: serviceSourceNMS},
	{Service: ServiceKindNMS, Stage: StageFollowUp, After: StageIntervention, FromDays: 14, ToDays: 21, Source: serviceSourceNMS},
	{Service: ServiceKindBPCheck, Stage: StageClinicReading, Source: serviceSourceBP},
	{Service: ServiceKindBPCheck, Stage: StageABPM, After: StageClinicReading, Optional: true, Source: serviceSourceBP},
	{Service: ServiceKindDMS, Stage: StageReconciliation, After: serviceStageStart, TargetHours: 72, Source: serviceSourceDMS},
	{Service: ServiceKindSMRReferral, Stage: StageReferral, Source: serviceSourceSMR},
}

// ServiceStageRules returns a copy of the service rules table.
func ServiceStageRules() []ServiceStageRule { return slices.Clone(serviceStageRules) }

// ServiceStageRuleOf returns the rule of a service's stage.
func ServiceStageRuleOf(service ServiceKind, stage string) (ServiceStageRule, bool) {
	for _, r := range serviceStageRules {
		if r.Service == service && r.Stage == stage {
			return r, true
		}
	}
	return ServiceStageRule{}, false
}

// NMSCondition is a condition whose newly prescribed medicines the New
// Medicine Service covers. Since, when set, is the first local date
// ("YYYY-MM-DD") the condition is in the service.
type NMSCondition struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Since  string `json:"since,omitempty"`
	Source string `json:"source"`
}

const (
	nmsConditionsSource = "NHS England, NHS New Medicine Service specification (conditions from 1 September 2021)"
	nmsDepressionSource = "NHS England, Community Pharmacy Contractual Framework 2024/25 and 2025/26: depression added to the New Medicine Service from 1 October 2025"
)

// nmsConditions is the list of NMS conditions: data, with its source.
var nmsConditions = []NMSCondition{
	{ID: "asthma_copd", Name: "Asthma and COPD", Source: nmsConditionsSource},
	{ID: "type_2_diabetes", Name: "Type 2 diabetes", Source: nmsConditionsSource},
	{ID: "hypertension", Name: "Hypertension", Source: nmsConditionsSource},
	{ID: "hypercholesterolaemia", Name: "Hypercholesterolaemia", Source: nmsConditionsSource},
	{ID: "osteoporosis", Name: "Osteoporosis", Source: nmsConditionsSource},
	{ID: "gout", Name: "Gout", Source: nmsConditionsSource},
	{ID: "glaucoma", Name: "Glaucoma", Source: nmsConditionsSource},
	{ID: "epilepsy", Name: "Epilepsy", Source: nmsConditionsSource},
	{ID: "parkinsons_disease", Name: "Parkinson's disease", Source: nmsConditionsSource},
	{ID: "urinary_incontinence_retention", Name: "Urinary incontinence or retention", Source: nmsConditionsSource},
	{ID: "heart_failure", Name: "Heart failure", Source: nmsConditionsSource},
	{ID: "acute_coronary_syndromes", Name: "Acute coronary syndromes", Source: nmsConditionsSource},
	{ID: "atrial_fibrillation", Name: "Atrial fibrillation", Source: nmsConditionsSource},
	{ID: "venous_thromboembolism", Name: "Long-term risk of venous thromboembolism or embolism", Source: nmsConditionsSource},
	{ID: "stroke_tia", Name: "Stroke or transient ischaemic attack", Source: nmsConditionsSource},
	{ID: "coronary_heart_disease", Name: "Coronary heart disease", Source: nmsConditionsSource},
	{ID: "depression", Name: "Depression", Since: "2025-10-01", Source: nmsDepressionSource},
}

// NMSConditions returns a copy of the NMS conditions list.
func NMSConditions() []NMSCondition { return slices.Clone(nmsConditions) }

// NMSConditionOn returns the condition with the id if the New Medicine
// Service covers it on the local date day ("YYYY-MM-DD").
func NMSConditionOn(id, day string) (NMSCondition, bool) {
	for _, c := range nmsConditions {
		if c.ID == id {
			return c, c.Since == "" || day >= c.Since
		}
	}
	return NMSCondition{}, false
}

// LocalDate is t's date in loc, "YYYY-MM-DD".
func LocalDay(t time.Time, loc *time.Location) string { return t.In(loc).Format(time.DateOnly) }

// addLocalDays returns the local date n days after day ("YYYY-MM-DD").
func addLocalDays(day string, n int) string {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return d.AddDate(0, 0, n).Format(time.DateOnly)
}

// startOfLocalDay is the instant day ("YYYY-MM-DD") begins in loc.
func startOfLocalDay(day string, loc *time.Location) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, day, loc)
	if err != nil {
		return time.Time{}
	}
	return d.UTC()
}
