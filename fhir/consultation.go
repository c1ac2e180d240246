package fhir

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
)

// ConsultationRecord is one pharmacy service episode with what its
// consultations refer to: the record a pharmacy hands to its assured
// clinical system (Concord cannot send GP Connect Update Record messages
// itself).
type ConsultationRecord struct {
	// Now is the record's time (the Bundle's timestamp). Required.
	Now time.Time
	// Patient is the patient's account; their NHS number, when set, must
	// be valid.
	Patient  models.User
	Pharmacy models.Pharmacy
	Episode  models.ServiceEpisode
	// Pharmacists are the accounts of the pharmacists who recorded the
	// consultations, by id; one no longer held is named by its id only.
	Pharmacists map[string]models.User
	// Readings are the readings the consultations recorded, by id; one the
	// patient has deleted since is left out.
	Readings map[string]models.Reading
}

// WriteConsultation writes a service episode as a FHIR R4 collection
// Bundle: the Patient, the pharmacy (Organization, by ODS code), the
// pharmacists (Practitioner), the episode (EpisodeOfCare: the service, its
// status and period), and per consultation an Encounter (who, when, the
// service and stage) with the Observations it recorded (the clinic or
// ambulatory blood pressure, adherence from the dose log, problems, side
// effects, advice, a discharge reconciliation, the outcome) and a
// ServiceRequest for the referral when one was made. It returns a
// CodeInvalid *Error, having written nothing, when rec.Now is zero, the
// NHS number is not valid or a reading cannot be coded; any other error
// is w's.
func WriteConsultation(w io.Writer, rec ConsultationRecord) error {
	if rec.Now.IsZero() {
		return models.Errorf(models.CodeInvalid, "the record's time is required")
	}
	b := &consultationBundle{rec: rec}
	if err := b.build(); err != nil {
		return err
	}
	e := rec.Episode
	out, err := json.Marshal(struct {
		ResourceType string        `json:"resourceType"`
		ID           string        `json:"id"`
		Type         string        `json:"type"`
		Timestamp    string        `json:"timestamp"`
		Entry        []bundleEntry `json:"entry"`
	}{"Bundle", nameUUID("concord:consultation-record:" + e.ID + ":" + dateTime(rec.Now)), "collection", dateTime(rec.Now), b.entries})
	if err != nil {
		return fmt.Errorf("encode consultation record %s: %w", e.ID, err)
	}
	_, err = w.Write(append(out, '\n'))
	return err
}

type bundleEntry struct {
	FullURL  string `json:"fullUrl"`
	Resource any    `json:"resource"`
}

// consultationBundle collects the entries of one record.
type consultationBundle struct {
	rec           ConsultationRecord
	entries       []bundleEntry
	subject       Reference
	organization  Reference
	practitioners map[string]Reference
}

func (b *consultationBundle) add(id string, resource any) Reference {
	ref := Reference{Reference: "urn:uuid:" + id}
	b.entries = append(b.entries, bundleEntry{FullURL: ref.Reference, Resource: resource})
	return ref
}

func (b *consultationBundle) build() error {
	rec, e := b.rec, b.rec.Episode
	p, err := newPatient(rec.Patient, rec.Patient.NHSNumber)
	if err != nil {
		return err
	}
	p.Telecom = nil // the clinical record needs who, not how to reach them
	b.subject = b.add(p.ID, p)
	org := newOrganization(rec.Pharmacy)
	b.organization = b.add(org.ID, org)
	b.organization.Display = rec.Pharmacy.Name
	b.practitioners = map[string]Reference{}
	for _, c := range e.Consultations {
		if _, ok := b.practitioners[c.By]; ok {
			continue
		}
		pr := newPractitioner(c.By, rec.Pharmacists[c.By])
		ref := b.add(pr.ID, pr)
		ref.Display = "Pharmacist (account no longer held by Concord)"
		if len(pr.Name) > 0 {
			ref.Display = pr.Name[0].Text
		}
		b.practitioners[c.By] = ref
	}
	eoc := newEpisodeOfCare(e, b.subject, b.organization)
	eocRef := b.add(eoc.ID, eoc)
	for _, c := range e.Consultations {
		if err := b.consultation(c, eocRef); err != nil {
			return err
		}
	}
	return nil
}

// consultation adds one consultation's Encounter, Observations and
// referral.
func (b *consultationBundle) consultation(c models.Consultation, eoc Reference) error {
	e := b.rec.Episode
	by := b.practitioners[c.By]
	enc := newEncounter(e, c, b.subject, eoc, by, b.organization)
	encRef := b.add(enc.ID, enc)
	key := "concord:consultation:" + e.ID + ":" + c.ID + ":"
	f := c.Findings
	var readingRef *Reference
	if r, ok := b.rec.Readings[f.ReadingID]; ok && f.ReadingID != "" {
		o, err := newConsultationReading(r, f, b.subject, encRef, by)
		if err != nil {
			return err
		}
		ref := b.add(o.ID, o)
		readingRef = &ref
	}
	at := dateTime(c.At)
	note := func(kind, text, value string) {
		if strings.TrimSpace(value) == "" {
			return
		}
		o := newFinding(nameUUID(key+kind), text, b.subject, encRef, by, at)
		o.ValueString = value
		b.add(o.ID, o)
	}
	var adherenceRef *Reference
	if f.Adherence != nil {
		o := newAdherence(nameUUID(key+"adherence"), *f.Adherence, b.subject, encRef, by)
		ref := b.add(o.ID, o)
		adherenceRef = &ref
	}
	note("problems", "Problems with the medicine found in the consultation", f.Problems)
	note("side-effects", "Side effects reported", f.SideEffects)
	note("advice", "Advice given by the pharmacist", f.Advice)
	note("reconciliation", "Discharge medicines reconciled against the patient's list", reconciliationText(f.Reconciliation))
	if c.Outcome != "" {
		o := newFinding(nameUUID(key+"outcome"), "Consultation outcome", b.subject, encRef, by, at)
		o.ValueCodeableConcept = &CodeableConcept{Text: outcomeText(c.Outcome)}
		b.add(o.ID, o)
	}
	if ref := c.Referral; ref != nil {
		var support []Reference
		if readingRef != nil {
			support = append(support, *readingRef)
		}
		if ref.Adherence != nil {
			if adherenceRef == nil || f.Adherence != ref.Adherence {
				o := newAdherence(nameUUID(key+"referral-adherence"), *ref.Adherence, b.subject, encRef, by)
				r := b.add(o.ID, o)
				adherenceRef = &r
			}
			support = append(support, *adherenceRef)
		}
		sr := newReferral(nameUUID(key+"referral"), *ref, b.subject, encRef, by, at, support)
		b.add(sr.ID, sr)
	}
	return nil
}
