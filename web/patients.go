package web

import (
	"cmp"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// patientsShown is the most patients the list shows at once; a search
// narrows it.
const patientsShown = 50

// patientsPage lists the pharmacy's consented patients.
type patientsPage struct {
	Query string
	Rows  []patientRow
	// Total is how many patients matched; more than len(Rows) means the
	// search should be narrowed.
	Total int
}

type patientRow struct {
	Handle string
	Name   string
	Flags  []patientFlag
}

type patientFlag struct {
	Severity models.Severity
	Headline string
}

// patients lists the patients who nominated the pharmacy with consent
// standing, by name, with their open flags. The search (a POST, so a name
// typed never appears in a URL) keeps those whose name contains the text.
// Each patient shown is authorised, and audited, by the policy.
func (w *Workspace) patients(c *fiber.Ctx) error {
	v, _ := visitorOf(c)
	ctx := c.UserContext()
	me, ok, err := w.Access.Pharmacist(ctx, v.Principal)
	if err != nil {
		return err
	}
	if !ok {
		return models.Errorf(models.CodeForbidden, "only pharmacists of a pharmacy have patients")
	}
	page := &patientsPage{}
	if c.Method() == fiber.MethodPost {
		page.Query = strings.TrimSpace(c.FormValue("q"))
		if len([]rune(page.Query)) > 100 {
			page.Query = string([]rune(page.Query)[:100])
		}
	}
	noms, err := w.Patients.ConsentedPatients(ctx, me.PharmacyID)
	if err != nil {
		return err
	}
	type match struct{ id, name string }
	var matches []match
	needle := strings.ToLower(page.Query)
	for _, n := range noms {
		u, err := w.Users.Get(ctx, n.PatientID)
		if models.IsCode(err, models.CodeNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if needle == "" || strings.Contains(strings.ToLower(u.Name), needle) {
			matches = append(matches, match{u.ID, u.Name})
		}
	}
	slices.SortFunc(matches, func(a, b match) int { return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.id, b.id)) })
	page.Total = len(matches)
	if len(matches) > patientsShown {
		matches = matches[:patientsShown]
	}

	// Open flags, from the queue (which authorises and audits each patient
	// on it), then each listed patient the queue did not cover.
	flags := map[string][]patientFlag{}
	covered := map[string]bool{}
	q := services.FlagListQuery{Limit: services.MaxFlagPage}
	for {
		fp, err := w.Flags.List(ctx, v.Principal, q)
		if err != nil {
			return err
		}
		for _, f := range fp.Items {
			covered[f.PatientID] = true
			flags[f.PatientID] = append(flags[f.PatientID], patientFlag{Severity: f.Severity, Headline: explain(f.Rule, f.Evidence, v.User.Location()).Headline})
		}
		if fp.NextCursor == "" {
			break
		}
		q.Cursor = fp.NextCursor
	}
	for _, m := range matches {
		if !covered[m.id] {
			_, err := w.Access.AuthorizeResource(ctx, v.Principal, m.id, services.ReadFlags, "flags")
			if models.IsCode(err, models.CodeNotFound) || models.IsCode(err, models.CodeForbidden) {
				continue // consent ended since the list was read
			}
			if err != nil {
				return err
			}
		}
		page.Rows = append(page.Rows, patientRow{Handle: v.handles.seal(handlePatient, m.id), Name: m.name, Flags: flags[m.id]})
	}
	return w.render(c, fiber.StatusOK, "patients", v, pageData{Title: "Patients", Nav: "patients", Patients: page})
}
