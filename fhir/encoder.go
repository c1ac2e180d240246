// Package fhir maps Concord's records to FHIR R4 JSON and back: a patient's
// whole record as a Bundle written entry by entry (Encoder), a pharmacy
// service episode's consultation record (WriteConsultation), and vital
// signs from a device platform or another app read into readings
// (DecodeReadings). Codings follow HL7 FHIR R4 and UK Core; every code is
// in codes.go with its source.
package fhir

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/concord-health/concord/models"
)

// Options describe one export.
type Options struct {
	// Now is the export's time: the Bundle's timestamp, and the instant
	// doses' effective statuses are taken at (a pending dose past its
	// grace period is exported as missed). Required.
	Now time.Time
	// NHSNumber is the patient's NHS number, "" when unknown; it must be
	// valid (models.NormalizeNHSNumber).
	NHSNumber string
}

// Encoder writes a patient's record as one FHIR R4 Bundle of type
// collection to an io.Writer, entry by entry: each call writes one
// resource and keeps nothing of it but, for a medicine, what its doses
// refer to. An export of any size therefore needs memory for one record,
// not for the whole Bundle.
//
// The Patient is written by NewEncoder; then any number of resources in
// any order, except that a dose follows its medicine; then Close, which
// ends the JSON. After a write error every call returns that error and the
// output is truncated JSON: an HTTP handler that has already sent its
// status must abort the response rather than end it.
type Encoder struct {
	w       io.Writer
	now     time.Time
	grace   time.Duration
	subject Reference
	meds    map[string]medicationRef
	entries int
	err     error
	closed  bool
}

// NewEncoder starts a Bundle for the patient u on w and writes its Patient
// entry. It returns a CodeInvalid *Error, having written nothing, when
// opts.Now is zero or opts.NHSNumber is not a valid NHS number; any other
// error is w's.
func NewEncoder(w io.Writer, u models.User, opts Options) (*Encoder, error) {
	if opts.Now.IsZero() {
		return nil, models.Errorf(models.CodeInvalid, "the export time is required")
	}
	p, err := newPatient(u, opts.NHSNumber)
	if err != nil {
		return nil, err
	}
	e := &Encoder{
		w:       w,
		now:     opts.Now,
		grace:   u.Preferences.DoseGrace(),
		subject: Reference{Reference: "urn:uuid:" + p.ID},
		meds:    map[string]medicationRef{},
	}
	bundleID := nameUUID("concord:export:" + u.ID + ":" + dateTime(opts.Now))
	head := fmt.Sprintf(`{"resourceType":"Bundle","id":%q,"type":"collection","timestamp":%q,"entry":[`,
		bundleID, dateTime(opts.Now))
	if _, err := io.WriteString(w, head); err != nil {
		return nil, err
	}
	if err := e.write(p.ID, p); err != nil {
		return nil, err
	}
	return e, nil
}

// Reading writes a normalised reading as a vital-signs Observation (see
// the codings in codes.go); a reading the patient deleted is written with
// the status entered-in-error. It returns a CodeInvalid *Error, having
// written nothing, for a reading of an unknown type or without canonical
// values.
func (e *Encoder) Reading(r models.Reading) error {
	if e.err != nil {
		return e.err
	}
	o, err := newObservation(r, e.subject)
	if err != nil {
		return err
	}
	return e.write(o.ID, o)
}

// Medication writes a medicine as a MedicationStatement (with its dm+d
// code when known) and remembers it for its doses.
func (e *Encoder) Medication(m models.Medication) error {
	if e.err != nil {
		return e.err
	}
	s := newMedicationStatement(m, e.subject)
	url := "urn:uuid:" + s.ID
	e.meds[m.ID] = medicationRef{url: url, concept: s.MedicationCodeableConcept}
	return e.write(s.ID, s)
}

// Dose writes a dose whose medicine was written before as a
// MedicationAdministration: completed when taken, not-done with a status
// reason when skipped or missed. Statuses are effective at Options.Now
// with the patient's grace period; a dose still pending is not written.
// It returns a CodeInvalid *Error, having written nothing, when the
// dose's medicine was not written first.
func (e *Encoder) Dose(d models.Dose) error {
	if e.err != nil {
		return e.err
	}
	med, ok := e.meds[d.MedicationID]
	if !ok {
		return models.Errorf(models.CodeInvalid, "dose %s: its medication %s was not written first", d.ID, d.MedicationID)
	}
	a, ok := newMedicationAdministration(d, d.EffectiveStatus(e.now, e.grace), med, e.subject)
	if !ok {
		return nil
	}
	return e.write(a.ID, a)
}

// Flag writes a pharmacist's review flag as a Flag, authored by pharmacy
// when it is given (the flag's PharmacyID names it).
func (e *Encoder) Flag(f models.Flag, pharmacy *models.Pharmacy) error {
	if e.err != nil {
		return e.err
	}
	fl := newFlag(f, pharmacy, e.subject)
	return e.write(fl.ID, fl)
}

// Consent writes a pharmacy consent (the record behind a nomination, or
// an ended one) as a Consent naming the pharmacy by its ODS code.
func (e *Encoder) Consent(c models.Consent, pharmacy models.Pharmacy) error {
	if e.err != nil {
		return e.err
	}
	co := newConsent(c, pharmacy, e.subject)
	return e.write(co.ID, co)
}

// Entries returns how many entries have been written, the Patient
// included.
func (e *Encoder) Entries() int { return e.entries }

// Close ends the Bundle. It does not close the writer. Calls after Close
// return a CodeInternal *Error.
func (e *Encoder) Close() error {
	if e.err != nil {
		return e.err
	}
	if _, err := io.WriteString(e.w, "]}\n"); err != nil {
		e.err = err
		return err
	}
	e.err = models.Errorf(models.CodeInternal, "the bundle is closed")
	e.closed = true
	return nil
}

// write writes one entry, "urn:uuid:<id>" as its fullUrl.
func (e *Encoder) write(id string, resource any) error {
	if e.err != nil {
		return e.err
	}
	b, err := json.Marshal(struct {
		FullURL  string `json:"fullUrl"`
		Resource any    `json:"resource"`
	}{"urn:uuid:" + id, resource})
	if err != nil {
		return fmt.Errorf("encode bundle entry %s: %w", id, err)
	}
	if e.entries > 0 {
		b = append([]byte{','}, b...)
	}
	if _, err := e.w.Write(b); err != nil {
		e.err = err
		return err
	}
	e.entries++
	return nil
}
