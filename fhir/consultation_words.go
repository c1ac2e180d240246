package fhir

import "github.com/concord-health/concord/models"

// The codings of a consultation record [R4]: a consultation in the
// pharmacy is ambulatory (v3-ActCode AMB), its pharmacist the primary
// performer (v3-ParticipationType PPRF), and a referral is a patient
// referral (SNOMED CT 3457005, the R4 servicerequest-category example
// value set). Services, stages and outcomes have no national codes
// Concord may claim, so they are written as text.
var (
	encounterAmbulatory         = Coding{systemActCode, "AMB", "ambulatory"}
	participantPrimaryPerformer = Coding{systemParticipationType, "PPRF", "primary performer"}
	categoryPatientReferral     = Coding{SystemSNOMED, "3457005", "Patient referral"}
)

// serviceName is a service's name as the NHS England specifications give it.
func serviceName(k models.ServiceKind) string {
	switch k {
	case models.ServiceKindNMS:
		return "New Medicine Service"
	case models.ServiceKindBPCheck:
		return "Blood Pressure Check Service (Hypertension Case-Finding)"
	case models.ServiceKindDMS:
		return "Discharge Medicines Service"
	case models.ServiceKindSMRReferral:
		return "Referral for a Structured Medication Review"
	}
	return string(k)
}

// stageName says what a stage is.
func stageName(stage string) string {
	switch stage {
	case models.StageEngagement:
		return "engagement"
	case models.StageIntervention:
		return "intervention"
	case models.StageFollowUp:
		return "follow-up"
	case models.StageClinicReading:
		return "clinic blood pressure reading"
	case models.StageABPM:
		return "ambulatory blood pressure monitoring result"
	case models.StageReconciliation:
		return "stage one (discharge medicines reconciliation)"
	case models.StageReferral:
		return "referral"
	}
	return stage
}

// outcomeText says an outcome in words.
func outcomeText(o models.ConsultationOutcome) string {
	switch o {
	case models.OutcomeNoProblems:
		return "No problems found"
	case models.OutcomeAdvice:
		return "Advice given"
	case models.OutcomeReferredPrescriber:
		return "Referred to the prescriber"
	case models.OutcomeBPNormal:
		return "Clinic reading normal"
	case models.OutcomeBPLow:
		return "Clinic reading low: advice given"
	case models.OutcomeABPMOffered:
		return "Ambulatory blood pressure monitoring offered"
	case models.OutcomeSameDayReferral:
		return "Referred to the GP practice the same day"
	case models.OutcomeHypertensionUnlikly:
		return "Hypertension unlikely (ambulatory average below 135/85)"
	case models.OutcomeReferredDiagnosis:
		return "Referred to the GP practice for diagnosis of hypertension"
	case models.OutcomeMedicinesUpdated:
		return "Accepted discharge changes applied to the patient's medicines"
	case models.OutcomeNoChanges:
		return "No changes to the patient's medicines"
	case models.OutcomeReferredForSMR:
		return "Referred for a Structured Medication Review"
	}
	return string(o)
}

// referralTargetName names whom a referral goes to.
func referralTargetName(t models.ReferralTarget) string {
	switch t {
	case models.ReferToPrescriber:
		return "prescriber"
	case models.ReferToGPPractice:
		return "GP practice"
	case models.ReferToPCNPharmacy:
		return "Primary Care Network clinical pharmacist"
	}
	return string(t)
}
