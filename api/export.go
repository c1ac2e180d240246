package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/fhir"
	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// RecordExporter walks a patient's whole record (services.Export).
type RecordExporter interface {
	Walk(ctx context.Context, patient models.User, v services.ExportVisitor) error
}

// exportTimeout bounds one export's reads once the response has started
// (the request's own deadline has passed by then).
const exportTimeout = 5 * time.Minute

// The export's media types.
const (
	mediaJSON     = "application/json"
	mediaFHIRJSON = "application/fhir+json"
)

func (s *server) exportRoutes(patient fiber.Router) {
	patient.Get("/export", s.exportRecord)
}

// exportFormat is "json" or "fhir": ?format= when given, else
// application/fhir+json in Accept asks for FHIR.
func exportFormat(c *fiber.Ctx) (string, error) {
	switch f := c.Query("format"); f {
	case "json", "fhir":
		return f, nil
	case "":
		if strings.Contains(c.Get(fiber.HeaderAccept), mediaFHIRJSON) {
			return "fhir", nil
		}
		return "json", nil
	}
	var p models.Problems
	p.Add("format", "must be json or fhir")
	return "", p.Err()
}

// exportRecord streams the patient's whole record, for the patient only,
// and writes the export in their access log first. The status and headers
// are sent before the record is read: a failure part-way ends the body
// early (it is then not valid JSON) and is logged.
func (s *server) exportRecord(c *fiber.Ctx) error {
	format, err := exportFormat(c)
	if err != nil {
		return err
	}
	patient, err := s.authorize(c, services.ExportRecord)
	if err != nil {
		return err
	}
	if err := s.Access.RecordOwn(c.UserContext(), principal(c), services.ExportRecord, patientResource(c.Path())); err != nil {
		return err
	}
	now := s.Now().UTC()
	media, ext := mediaJSON, "json"
	if format == "fhir" {
		media, ext = mediaFHIRJSON, "fhir.json"
	}
	c.Set(fiber.HeaderContentType, media)
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="concord-export-%s.%s"`, now.Format(time.DateOnly), ext))
	c.Set(fiber.HeaderCacheControl, "no-store")
	ctx := context.WithoutCancel(c.UserContext())
	log := s.Log
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(ctx, exportTimeout)
		defer cancel()
		var err error
		if format == "fhir" {
			err = s.writeFHIR(ctx, w, patient, now)
		} else {
			err = s.writeJSON(ctx, w, patient, now)
		}
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			log.ErrorContext(ctx, "export ended early", "patient", patient.ID, "format", format, "err", err)
		}
	})
	return nil
}

// writeJSON writes the record as one JSON object: the format, the time,
// the patient's account, then one array per section.
func (s *server) writeJSON(ctx context.Context, w io.Writer, patient models.User, now time.Time) error {
	head, err := json.Marshal(struct {
		Format     string      `json:"format"`
		ExportedAt time.Time   `json:"exportedAt"`
		Patient    models.User `json:"patient"`
	}{"concord-export/1", now, patient})
	if err != nil {
		return err
	}
	if _, err := w.Write(head[:len(head)-1]); err != nil { // the object stays open
		return err
	}
	jw := &jsonSections{w: w}
	if err := s.Export.Walk(ctx, patient, jw); err != nil {
		return err
	}
	if err := jw.close(); err != nil {
		return err
	}
	_, err = io.WriteString(w, "}\n")
	return err
}

// jsonSections writes each section as `,"name":[item,item…]`.
type jsonSections struct {
	w     io.Writer
	open  bool
	first bool
}

func (j *jsonSections) Begin(section string) error {
	if err := j.close(); err != nil {
		return err
	}
	j.open, j.first = true, true
	_, err := fmt.Fprintf(j.w, ",%q:[", section)
	return err
}

func (j *jsonSections) Item(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if !j.first {
		b = append([]byte{','}, b...)
	}
	j.first = false
	_, err = j.w.Write(b)
	return err
}

// close ends the open section, if any.
func (j *jsonSections) close() error {
	if !j.open {
		return nil
	}
	j.open = false
	_, err := io.WriteString(j.w, "]")
	return err
}

// writeFHIR writes the record as a FHIR R4 Bundle (package fhir): the
// clinical sections (readings, medicines, doses, flags, consents); the
// rest is in the JSON export only.
func (s *server) writeFHIR(ctx context.Context, w io.Writer, patient models.User, now time.Time) error {
	enc, err := fhir.NewEncoder(w, patient, fhir.Options{Now: now, NHSNumber: patient.NHSNumber})
	if err != nil {
		return err
	}
	if err := s.Export.Walk(ctx, patient, fhirSections{enc}); err != nil {
		return err
	}
	return enc.Close()
}

// fhirSections feeds the clinical items to a Bundle encoder.
type fhirSections struct{ enc *fhir.Encoder }

func (fhirSections) Begin(string) error { return nil }

func (f fhirSections) Item(v any) error {
	switch x := v.(type) {
	case models.Reading:
		return f.enc.Reading(x)
	case services.DeletedReading:
		return f.enc.Reading(x.Reading)
	case models.Medication:
		return f.enc.Medication(x)
	case models.Dose:
		return f.enc.Dose(x)
	case services.ExportedFlag:
		return f.enc.Flag(x.Flag, x.Pharmacy)
	case services.ExportedConsent:
		if x.Pharmacy == nil {
			return nil // a pharmacy that no longer exists cannot be named
		}
		return f.enc.Consent(x.Consent, *x.Pharmacy)
	}
	return nil
}
