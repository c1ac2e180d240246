package fhircheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/concord-health/concord/fhir"
	"github.com/concord-health/concord/models"
)

var (
	pharmacistA = models.User{ID: "11111111-2222-4333-8444-555555555555", Name: "Priya Patel", Role: models.RolePharmacist, PharmacyID: pharmacy.ID}
	pharmacistC = models.User{ID: "11111111-2222-4333-8444-666666666666", Name: "Tom Reid", Role: models.RolePharmacist, PharmacyID: pharmacy.ID}
)

// clinicReading is a reading the pharmacy took, normalised and banded as
// the service stores it.
func clinicReading(t testing.TB, id, source string, sys, dia float64, takenAt time.Time) models.Reading {
	t.Helper()
	r := models.Reading{ID: id, Type: models.ReadingBloodPressure, Unit: "mm[Hg]", Systolic: fp(sys), Diastolic: fp(dia), TakenAt: takenAt}
	if err := r.Normalize(exportNow); err != nil {
		t.Fatal(err)
	}
	r.PatientID, r.Source, r.CreatedAt = patientID, source, takenAt
	return r
}

// consultationRecords are episodes of every service, as the services
// record them: an NMS with its three stages (the follow-up refers to the
// prescriber with the dose log's adherence), a Blood Pressure Check that
// offered ABPM and then referred for diagnosis, one referred the same day
// (its reading since deleted by the patient), a DMS reconciliation, an SMR
// referral from a review flag, and an NMS closed early by another
// pharmacist whose account is gone.
func consultationRecords(t testing.TB) map[string]fhir.ConsultationRecord {
	t.Helper()
	adh := &models.AdherenceEvidence{MedicationID: amlodipine.ID, WindowDays: 28, At: at(23, 10, 0), Due: 28, Taken: 19, Skipped: 3, Missed: 6,
		DoseAdherence: fp(19.0 / 28), PDC: fp(0.71), Source: models.AdherenceEvidenceSource}
	nms := models.ServiceEpisode{ID: "e0000000-0000-4000-8000-000000000001", PatientID: patientID, PharmacyID: pharmacy.ID,
		Service: models.ServiceKindNMS, Status: models.EpisodeCompleted, MedicationID: amlodipine.ID, MedicationName: "Amlodipine 5 mg tablets",
		Condition: "hypertension", Consent: &models.ServiceConsent{Given: true, RecordedBy: pharmacistA.ID, At: at(1, 10, 0)},
		Consultations: []models.Consultation{
			{ID: "1", Stage: models.StageEngagement, By: pharmacistA.ID, At: at(1, 10, 0), Outcome: models.OutcomeAdvice,
				Findings: models.Findings{Advice: "Take it in the morning; ankle swelling can happen"}},
			{ID: "2", Stage: models.StageIntervention, By: pharmacistA.ID, At: at(9, 11, 0), Outcome: models.OutcomeAdvice,
				Findings: models.Findings{Problems: "Forgets the morning dose at weekends", SideEffects: "Mild ankle swelling", Advice: "Set a reminder"}},
			{ID: "3", Stage: models.StageFollowUp, By: pharmacistA.ID, At: at(23, 10, 0), Outcome: models.OutcomeReferredPrescriber,
				Findings: models.Findings{Adherence: adh, SideEffects: "Ankle swelling worse"},
				Referral: &models.ServiceReferral{To: models.ReferToPrescriber, Urgency: models.UrgencyRoutine, Reason: "Ankle swelling; adherence 68%", Adherence: adh}},
		},
		CreatedAt: at(1, 10, 0), UpdatedAt: at(23, 10, 0)}
	clinic := clinicReading(t, "b0000000-0000-4000-8000-000000000001", models.ReadingSourceClinic, 152, 94, at(2, 9, 30))
	abpm := clinicReading(t, "b0000000-0000-4000-8000-000000000002", models.ReadingSourceABPM, 141, 88, at(9, 9, 30))
	bp := models.ServiceEpisode{ID: "e0000000-0000-4000-8000-000000000002", PatientID: patientID, PharmacyID: pharmacy.ID,
		Service: models.ServiceKindBPCheck, Status: models.EpisodeCompleted,
		Consultations: []models.Consultation{
			{ID: "1", Stage: models.StageClinicReading, By: pharmacistA.ID, At: at(2, 9, 31), Outcome: models.OutcomeABPMOffered,
				Findings: models.Findings{ReadingID: clinic.ID, Band: models.BandOfferABPM, BandRule: "bp.clinic.offer_abpm", Advice: "Wear the monitor for 24 hours"}},
			{ID: "2", Stage: models.StageABPM, By: pharmacistA.ID, At: at(9, 9, 31), Outcome: models.OutcomeReferredDiagnosis,
				Findings: models.Findings{ReadingID: abpm.ID, Band: models.BandHighStage1, BandRule: "bp.abpm.stage1"},
				Referral: &models.ServiceReferral{To: models.ReferToGPPractice, Urgency: models.UrgencyRoutine, ReadingID: abpm.ID,
					Reason: "ABPM daytime average 135/85 or above (NICE NG136): for diagnosis of hypertension"}},
		},
		CreatedAt: at(2, 9, 31), UpdatedAt: at(9, 9, 31)}
	sameDay := models.ServiceEpisode{ID: "e0000000-0000-4000-8000-000000000003", PatientID: patientID, PharmacyID: pharmacy.ID,
		Service: models.ServiceKindBPCheck, Status: models.EpisodeCompleted,
		Consultations: []models.Consultation{
			{ID: "1", Stage: models.StageClinicReading, By: pharmacistA.ID, At: at(12, 9, 0), Outcome: models.OutcomeSameDayReferral,
				Findings: models.Findings{ReadingID: "b0000000-0000-4000-8000-000000000003", Band: models.BandSameDayReferral, BandRule: "bp.clinic.same_day"},
				Referral: &models.ServiceReferral{To: models.ReferToGPPractice, Urgency: models.UrgencySameDay, ReadingID: "b0000000-0000-4000-8000-000000000003",
					Reason: "clinic blood pressure 180/120 or above (Blood Pressure Check Service: same-day referral)"}},
		},
		CreatedAt: at(12, 9, 0), UpdatedAt: at(12, 9, 0)}
	dms := models.ServiceEpisode{ID: "e0000000-0000-4000-8000-000000000004", PatientID: patientID, PharmacyID: pharmacy.ID,
		Service: models.ServiceKindDMS, Status: models.EpisodeCompleted,
		Discharge: &models.DischargeReferral{Hospital: "Leeds General Infirmary", DischargedAt: at(14, 16, 0), ReceivedAt: at(15, 9, 0)},
		Consultations: []models.Consultation{
			{ID: "1", Stage: models.StageReconciliation, By: pharmacistA.ID, At: at(16, 14, 0), Outcome: models.OutcomeMedicinesUpdated,
				Findings: models.Findings{Advice: "Stop the old dose today", Reconciliation: []models.MedicineChange{
					{ID: "1", Kind: models.ChangeDose, MedicationID: amlodipine.ID, Current: &models.DischargeMedicine{Name: "Amlodipine", Strength: "5 mg"},
						Discharge: &models.DischargeMedicine{Name: "Amlodipine", Strength: "10 mg"}, Decision: models.DecisionAccepted},
					{ID: "2", Kind: models.ChangeNew, Discharge: &models.DischargeMedicine{Name: "Ramipril", Strength: "2.5 mg", Form: "capsules"}, Decision: models.DecisionAccepted},
					{ID: "3", Kind: models.ChangeStopped, MedicationID: metformin.ID, Current: &models.DischargeMedicine{Name: "Metformin", Strength: "500 mg"},
						Decision: models.DecisionRejected, Note: "Omitted in error: checked with the ward"},
					{ID: "4", Kind: models.ChangeUnchanged, Current: &models.DischargeMedicine{Name: "Salbutamol"}, Decision: models.DecisionAccepted},
				}}},
		},
		CreatedAt: at(15, 9, 0), UpdatedAt: at(16, 14, 0)}
	smr := models.ServiceEpisode{ID: "e0000000-0000-4000-8000-000000000005", PatientID: patientID, PharmacyID: pharmacy.ID,
		Service: models.ServiceKindSMRReferral, Status: models.EpisodeCompleted,
		Consultations: []models.Consultation{
			{ID: "1", Stage: models.StageReferral, By: pharmacistA.ID, At: at(28, 12, 0), Outcome: models.OutcomeReferredForSMR,
				Referral: &models.ServiceReferral{To: models.ReferToPCNPharmacy, Urgency: models.UrgencyRoutine, Reason: "Low adherence across four medicines",
					Adherence: adh, FlagID: patientID + ":low_adherence:1",
					FlagEvidence: &models.FlagEvidence{Metric: "dose_adherence", Value: 0.62, Op: "<", Threshold: 0.8, Window: "P28D"}}},
		},
		CreatedAt: at(28, 12, 0), UpdatedAt: at(28, 12, 0)}
	closed := models.ServiceEpisode{ID: "e0000000-0000-4000-8000-000000000006", PatientID: patientID, PharmacyID: pharmacy.ID,
		Service: models.ServiceKindNMS, Status: models.EpisodeClosed, MedicationName: "Salbutamol inhaler", Condition: "asthma_copd",
		CloseReason: "patient_declined",
		Consultations: []models.Consultation{
			{ID: "1", Stage: models.StageEngagement, By: pharmacistC.ID, At: at(3, 15, 0), Outcome: models.OutcomeNoProblems},
		},
		CreatedAt: at(3, 15, 0), UpdatedAt: at(12, 15, 0)}
	active := models.ServiceEpisode{ID: "e0000000-0000-4000-8000-000000000007", PatientID: patientID, PharmacyID: pharmacy.ID,
		Service: models.ServiceKindNMS, Status: models.EpisodeActive, MedicationName: "Metformin 500 mg tablets", Condition: "type_2_diabetes",
		Consultations: []models.Consultation{
			{ID: "1", Stage: models.StageEngagement, By: pharmacistA.ID, At: at(27, 15, 0), Outcome: models.OutcomeAdvice,
				Findings: models.Findings{Advice: "Take with food"}},
		},
		CreatedAt: at(27, 15, 0), UpdatedAt: at(27, 15, 0)}

	pharmacists := map[string]models.User{pharmacistA.ID: pharmacistA} // pharmacistC's account is gone
	readings := map[string]models.Reading{clinic.ID: clinic, abpm.ID: abpm}
	out := map[string]fhir.ConsultationRecord{}
	for name, e := range map[string]models.ServiceEpisode{"nms": nms, "bp": bp, "bp-same-day": sameDay, "dms": dms, "smr": smr, "nms-closed": closed, "nms-active": active} {
		out[name] = fhir.ConsultationRecord{Now: exportNow, Patient: recordPatient(), Pharmacy: pharmacy, Episode: e,
			Pharmacists: pharmacists, Readings: readings}
	}
	return out
}

func writeConsultation(t testing.TB, rec fhir.ConsultationRecord) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := fhir.WriteConsultation(&out, rec); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestConsultationRecordValidates checks every service's consultation
// record with google/fhir, the Bundle and each resource, and that every
// reference inside it resolves to an entry.
func TestConsultationRecordValidates(t *testing.T) {
	for name, rec := range consultationRecords(t) {
		t.Run(name, func(t *testing.T) {
			b := writeConsultation(t, rec)
			mustValidate(t, "the "+name+" record", b)
			bn, rs := readBundle(t, b)
			urls := map[string]bool{}
			for _, e := range bn.Entry {
				urls[e.FullURL] = true
			}
			for i, r := range rs {
				mustValidate(t, fmt.Sprintf("%s %s", r["resourceType"], r["id"]), bn.Entry[i].Resource)
				for _, ref := range references(map[string]any(r)) {
					if strings.HasPrefix(ref, "urn:uuid:") && !urls[ref] {
						t.Errorf("%s %s refers to %s, which is not in the Bundle", r["resourceType"], r["id"], ref)
					}
				}
			}
		})
	}
}

// references returns every Reference.reference inside v.
func references(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, y := range x {
			if s, ok := y.(string); ok && k == "reference" {
				out = append(out, s)
				continue
			}
			out = append(out, references(y)...)
		}
	case []any:
		for _, y := range x {
			out = append(out, references(y)...)
		}
	}
	return out
}

// summary lists a Bundle's resources in order, each as its type and the
// elements a pharmacy's system reads first.
func summary(rs []resource) []string {
	var out []string
	for _, r := range rs {
		s := r["resourceType"].(string)
		switch s {
		case "Organization":
			s += fmt.Sprintf(" %v %v", get(r, "identifier", 0, "value"), r["name"])
		case "Practitioner":
			s += fmt.Sprintf(" %v", get(r, "name", 0, "text"))
		case "EpisodeOfCare":
			s += fmt.Sprintf(" %v %v %v..%v", r["status"], get(r, "type", 0, "text"), get(r, "period", "start"), get(r, "period", "end"))
		case "Encounter":
			s += fmt.Sprintf(" %v %v %v by %v at %v", r["status"], get(r, "class", "code"), get(r, "type", 0, "text"),
				get(r, "participant", 0, "individual", "display"), get(r, "period", "start"))
			if rc := get(r, "reasonCode", 0, "text"); rc != nil {
				s += fmt.Sprintf(" for %v", rc)
			}
		case "Observation":
			s += fmt.Sprintf(" %v", get(r, "code", "text"))
			switch {
			case r["valueString"] != nil:
				s += fmt.Sprintf(" = %q", r["valueString"])
			case r["valueCodeableConcept"] != nil:
				s += fmt.Sprintf(" = %v", get(r, "valueCodeableConcept", "text"))
			case r["valueQuantity"] != nil:
				s += fmt.Sprintf(" = %v %v", get(r, "valueQuantity", "value"), get(r, "valueQuantity", "code"))
			}
			for _, c := range asList(r["component"]) {
				if v := get(c, "valueQuantity", "value"); v != nil {
					s += fmt.Sprintf(" %v", v)
				} else {
					s += fmt.Sprintf(" %v", get(c, "valueInteger"))
				}
			}
			if m := get(r, "method", "text"); m != nil {
				s += fmt.Sprintf(" (%v; %v)", m, get(r, "interpretation", 0, "text"))
			}
		case "ServiceRequest":
			s += fmt.Sprintf(" %v %v %v %v: %v; supporting %d", r["status"], r["intent"], r["priority"], get(r, "code", "text"),
				get(r, "reasonCode", 0, "text"), len(asList(r["supportingInfo"])))
			if n := get(r, "note", 0, "text"); n != nil {
				s += fmt.Sprintf("; %v", n)
			}
		}
		out = append(out, s)
	}
	return out
}

// TestConsultationRecordContent reads each record as a pharmacy's
// clinical system would: who, when, which service and stage, what was
// found, the outcome and the referral.
func TestConsultationRecordContent(t *testing.T) {
	recs := consultationRecords(t)
	head := []string{"Patient", "Organization FA123 Riverside Pharmacy"}
	cases := map[string][]string{
		"nms": {"Practitioner Priya Patel",
			"EpisodeOfCare finished New Medicine Service 2026-11-01T10:00:00Z..2026-11-23T10:00:00Z",
			"Encounter finished AMB New Medicine Service: engagement by Priya Patel at 2026-11-01T10:00:00Z for New medicine Amlodipine 5 mg tablets for Hypertension",
			`Observation Advice given by the pharmacist = "Take it in the morning; ankle swelling can happen"`,
			"Observation Consultation outcome = Advice given",
			"Encounter finished AMB New Medicine Service: intervention by Priya Patel at 2026-11-09T11:00:00Z for New medicine Amlodipine 5 mg tablets for Hypertension",
			`Observation Problems with the medicine found in the consultation = "Forgets the morning dose at weekends"`,
			`Observation Side effects reported = "Mild ankle swelling"`,
			`Observation Advice given by the pharmacist = "Set a reminder"`,
			"Observation Consultation outcome = Advice given",
			"Encounter finished AMB New Medicine Service: follow-up by Priya Patel at 2026-11-23T10:00:00Z for New medicine Amlodipine 5 mg tablets for Hypertension",
			"Observation Medicine adherence over 28 days: doses taken of doses due = 67.9 % 28 19 3 6",
			`Observation Side effects reported = "Ankle swelling worse"`,
			"Observation Consultation outcome = Referred to the prescriber",
			"ServiceRequest active order routine Referral to the prescriber: Ankle swelling; adherence 68%; supporting 1"},
		"bp": {"Practitioner Priya Patel",
			"EpisodeOfCare finished Blood Pressure Check Service (Hypertension Case-Finding) 2026-11-02T09:31:00Z..2026-11-09T09:31:00Z",
			"Encounter finished AMB Blood Pressure Check Service (Hypertension Case-Finding): clinic blood pressure reading by Priya Patel at 2026-11-02T09:31:00Z",
			"Observation Blood pressure panel with all children optional 152 94 (Measured in the pharmacy (clinic reading); offer abpm (Concord band rule bp.clinic.offer_abpm))",
			`Observation Advice given by the pharmacist = "Wear the monitor for 24 hours"`,
			"Observation Consultation outcome = Ambulatory blood pressure monitoring offered",
			"Encounter finished AMB Blood Pressure Check Service (Hypertension Case-Finding): ambulatory blood pressure monitoring result by Priya Patel at 2026-11-09T09:31:00Z",
			"Observation Blood pressure panel with all children optional, ambulatory daytime average 141 88 (Ambulatory blood pressure monitoring: daytime average; high stage1 (Concord band rule bp.abpm.stage1))",
			"Observation Consultation outcome = Referred to the GP practice for diagnosis of hypertension",
			"ServiceRequest active order routine Referral to the GP practice: ABPM daytime average 135/85 or above (NICE NG136): for diagnosis of hypertension; supporting 1"},
		// The patient deleted the clinic reading since: the referral
		// stands without it.
		"bp-same-day": {"Practitioner Priya Patel",
			"EpisodeOfCare finished Blood Pressure Check Service (Hypertension Case-Finding) 2026-11-12T09:00:00Z..2026-11-12T09:00:00Z",
			"Encounter finished AMB Blood Pressure Check Service (Hypertension Case-Finding): clinic blood pressure reading by Priya Patel at 2026-11-12T09:00:00Z",
			"Observation Consultation outcome = Referred to the GP practice the same day",
			"ServiceRequest active order urgent Referral to the GP practice, the same day: clinic blood pressure 180/120 or above (Blood Pressure Check Service: same-day referral); supporting 0"},
		// Unchanged medicines are not listed.
		"dms": {"Practitioner Priya Patel",
			"EpisodeOfCare finished Discharge Medicines Service 2026-11-15T09:00:00Z..2026-11-16T14:00:00Z",
			"Encounter finished AMB Discharge Medicines Service: stage one (discharge medicines reconciliation) by Priya Patel at 2026-11-16T14:00:00Z for Discharged from Leeds General Infirmary on 2026-11-14T16:00:00Z",
			`Observation Advice given by the pharmacist = "Stop the old dose today"`,
			`Observation Discharge medicines reconciled against the patient's list = "changed dose: Amlodipine 10 mg (accepted)\nnew: Ramipril 2.5 mg capsules (accepted)\nstopped: Metformin 500 mg (rejected): Omitted in error: checked with the ward"`,
			"Observation Consultation outcome = Accepted discharge changes applied to the patient's medicines"},
		"smr": {"Practitioner Priya Patel",
			"EpisodeOfCare finished Referral for a Structured Medication Review 2026-11-28T12:00:00Z..2026-11-28T12:00:00Z",
			"Encounter finished AMB Referral for a Structured Medication Review: referral by Priya Patel at 2026-11-28T12:00:00Z",
			"Observation Consultation outcome = Referred for a Structured Medication Review",
			"Observation Medicine adherence over 28 days: doses taken of doses due = 67.9 % 28 19 3 6",
			"ServiceRequest active order routine Referral to the Primary Care Network clinical pharmacist: Low adherence across four medicines; supporting 1; Concord review flag evidence: dose_adherence 0.62 < 0.8 over P28D"},
		// Closed early by a pharmacist whose account is gone.
		"nms-closed": {"Practitioner <nil>",
			"EpisodeOfCare cancelled New Medicine Service 2026-11-03T15:00:00Z..2026-11-12T15:00:00Z",
			"Encounter finished AMB New Medicine Service: engagement by Pharmacist (account no longer held by Concord) at 2026-11-03T15:00:00Z for New medicine Salbutamol inhaler for Asthma and COPD",
			"Observation Consultation outcome = No problems found"},
		"nms-active": {"Practitioner Priya Patel",
			"EpisodeOfCare active New Medicine Service 2026-11-27T15:00:00Z..<nil>",
			"Encounter finished AMB New Medicine Service: engagement by Priya Patel at 2026-11-27T15:00:00Z for New medicine Metformin 500 mg tablets for Type 2 diabetes",
			`Observation Advice given by the pharmacist = "Take with food"`,
			"Observation Consultation outcome = Advice given"},
	}
	if len(cases) != len(recs) {
		t.Fatalf("%d cases for %d records", len(cases), len(recs))
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			_, rs := readBundle(t, writeConsultation(t, recs[name]))
			got := summary(rs)
			want := append(slices.Clone(head), want...)
			if !slices.Equal(got, want) {
				t.Errorf("record\n got %q\nwant %q", got, want)
			}
		})
	}
}

// TestConsultationValidatorBites: the consultation resources are checked
// as strictly as the export's (one broken element each, rejected).
func TestConsultationValidatorBites(t *testing.T) {
	bn, rs := readBundle(t, writeConsultation(t, consultationRecords(t)["bp"]))
	cases := []struct {
		kind, want string
		break_     func(r resource)
	}{
		{"Encounter", "status", func(r resource) { r["status"] = "done" }},
		{"Encounter", "class", func(r resource) { delete(r, "class") }},
		{"EpisodeOfCare", "patient", func(r resource) { delete(r, "patient") }},
		{"ServiceRequest", "intent", func(r resource) { r["intent"] = "referral" }},
		{"ServiceRequest", "priority", func(r resource) { r["priority"] = "same-day" }},
		{"Organization", "active", func(r resource) { r["active"] = "true" }},
	}
	for _, c := range cases {
		t.Run(c.kind+" "+c.want, func(t *testing.T) {
			i := slices.IndexFunc(rs, func(r resource) bool { return r["resourceType"] == c.kind })
			if i < 0 {
				t.Fatalf("no %s in the record", c.kind)
			}
			mustValidate(t, c.kind, bn.Entry[i].Resource)
			var r resource
			if err := json.Unmarshal(bn.Entry[i].Resource, &r); err != nil {
				t.Fatal(err)
			}
			c.break_(r)
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if ps := mustReject(t, c.kind, b); len(ps) > 0 && !strings.Contains(strings.Join(ps, " "), c.want) {
				t.Errorf("rejected, but the report does not name %q: %v", c.want, ps)
			}
		})
	}
}
