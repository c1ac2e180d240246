package api

import (
	"errors"
	"mime"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/fhir"
	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// fhirImportResponse is the outcome of an import: counts, and one entry
// per Bundle entry (or the one Observation), in order.
type fhirImportResponse struct {
	Created    int               `json:"created"`
	Duplicates int               `json:"duplicates"`
	Skipped    int               `json:"skipped"`
	Entries    []fhirImportEntry `json:"entries"`
}

// fhirImportEntry is what became of one entry: created or duplicate with
// the reading, or skipped with the reason.
type fhirImportEntry struct {
	Index        int             `json:"index"`
	FullURL      string          `json:"fullUrl,omitempty"`
	ResourceType string          `json:"resourceType,omitempty"`
	Status       string          `json:"status"`
	Reason       string          `json:"reason,omitempty"`
	Reading      *models.Reading `json:"reading,omitempty"`
}

// importReadingsFHIR imports vital signs from a FHIR R4 Bundle or
// Observation as the caller's readings, all or nothing: any entry that
// cannot be imported stops the import, and the problem names every such
// entry's elements ("entry[3].resource.valueQuantity.code"). Only a
// patient imports, into their own record: anyone else asking for "me" is
// forbidden, and for a patient's id the policy refuses them as it does
// every write.
func (s *server) importReadingsFHIR(c *fiber.Ctx) error {
	if c.Params("patientId") == "me" && principal(c).Role != models.RolePatient {
		return models.Errorf(models.CodeForbidden, "only a patient imports readings, into their own record")
	}
	patient, err := s.authorize(c, services.WriteReadings)
	if err != nil {
		return err
	}
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || (mt != mediaFHIRJSON && mt != mediaJSON) {
		return &models.Error{Code: models.CodeInvalid, Message: "the body must be FHIR R4 JSON",
			Fields: []models.FieldProblem{{Field: "Content-Type", Problem: "must be application/fhir+json or application/json"}}}
	}
	entries, err := fhir.DecodeReadings(c.Body(), services.MaxReadingImport)
	if err != nil {
		return err
	}

	var items []services.ImportItem
	var from []int // items[k] is entries[from[k]]
	for i, e := range entries {
		switch {
		case e.Problems != nil:
			items = append(items, services.ImportItem{Err: &models.Error{Code: models.CodeInvalid, Fields: e.Problems}})
		case e.Reading != nil:
			r := e.Reading
			items = append(items, services.ImportItem{Reading: r.Reading, Source: r.Source, Device: r.Device, Key: r.Key, OwnID: r.OwnID})
		default:
			continue
		}
		from = append(from, i)
	}
	results, err := s.Readings.Import(c.UserContext(), patient, items)
	if err != nil && results == nil {
		return err
	}
	if err != nil {
		return importProblem(err, entries, from, results)
	}

	resp := fhirImportResponse{Entries: make([]fhirImportEntry, len(entries))}
	for i, e := range entries {
		resp.Entries[i] = fhirImportEntry{Index: e.Index, FullURL: e.FullURL, ResourceType: e.ResourceType,
			Status: "skipped", Reason: e.Skipped}
	}
	resp.Skipped = len(entries) - len(items)
	for k, res := range results {
		out := &resp.Entries[from[k]]
		out.Status, out.Reading = string(res.Status), res.Reading
		switch res.Status {
		case services.ImportCreated:
			resp.Created++
		case services.ImportDuplicate:
			resp.Duplicates++
		case services.ImportRejected: // a concurrent import of another reading under its identifier
			out.Reason = itemProblemOf(res.Err).Detail
		}
	}
	return c.JSON(resp)
}

// importProblem is the error of an import stopped by rejected entries
// (err, from Import): its code, with every problem of every rejected entry
// named by its path from the body's root.
func importProblem(err error, entries []fhir.Entry, from []int, results []services.ImportResult) error {
	var me *models.Error
	if !errors.As(err, &me) {
		return err
	}
	out := &models.Error{Code: me.Code, Message: me.Message}
	for k, res := range results {
		if res.Status != services.ImportRejected {
			continue
		}
		e := entries[from[k]]
		var ie *models.Error
		if !errors.As(res.Err, &ie) || len(ie.Fields) == 0 {
			out.Fields = append(out.Fields, models.FieldProblem{Field: e.Path, Problem: itemProblemOf(res.Err).Detail})
			continue
		}
		for _, f := range ie.Fields {
			if e.Reading != nil {
				f.Field = e.Reading.Field(f.Field)
			}
			out.Fields = append(out.Fields, f)
		}
	}
	return out
}
