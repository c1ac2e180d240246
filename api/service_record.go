package api

import (
	"bytes"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/fhir"
	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// serviceRecord answers one service episode's consultation record as a
// FHIR R4 Bundle (fhir.WriteConsultation), for the pharmacy to hand to
// its assured clinical system. The policy decides and audits first
// (services.ExportServiceRecord: the nominated pharmacy's pharmacist
// while consent stands); the patient is then refused (403), and so is a
// pharmacist asking for another pharmacy's episode (404, in the service).
// The record is small (one episode), so it is built whole and sent with
// its length.
func (s *server) serviceRecord(c *fiber.Ctx) error {
	patient, err := s.authorize(c, services.ExportServiceRecord)
	if err != nil {
		return err
	}
	if principal(c).Role != models.RolePharmacist {
		return models.Errorf(models.CodeForbidden, "the consultation record is for the pharmacy's clinical system; your episodes are at GET /v1/patients/me/services")
	}
	ctx := c.UserContext()
	rec, err := s.Services.Record(ctx, principal(c), patient, pathParam(c, "episodeId"))
	if err != nil {
		return err
	}
	ph, err := s.Pharmacies.Get(ctx, rec.Episode.PharmacyID)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := fhir.WriteConsultation(&out, fhir.ConsultationRecord{Now: s.Now().UTC(), Patient: patient, Pharmacy: ph,
		Episode: rec.Episode, Pharmacists: rec.Pharmacists, Readings: rec.Readings}); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, mediaFHIRJSON)
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="concord-consultation-%s.fhir.json"`, rec.Episode.ID))
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(out.Bytes())
}
