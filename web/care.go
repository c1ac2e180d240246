package web

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// carePage is a carer's home: the people they care for and their alerts.
type carePage struct {
	People []carePerson
	Alerts []alertView
}

type carePerson struct {
	Handle    string
	FirstName string
	Shares    []string
	Paused    bool
}

type alertView struct {
	Title, Body, When string
	Person            string
}

// scopeNames say what each scope shares, in the patient's terms.
var scopeNames = map[models.CareScope]string{
	models.ScopeMissedDoseAlerts: "Alerts about missed doses",
	models.ScopeReadingAlerts:    "Alerts about dangerous readings",
	models.ScopeViewSummary:      "A summary",
	models.ScopeViewReadings:     "Readings",
	models.ScopeViewMedications:  "Medicines and doses",
}

// carerAlerts is how many of the latest alerts the carer's pages list.
const carerAlerts = 20

// care lists the people the carer cares for, with what each shares, and
// the carer's latest alerts.
func (w *Workspace) care(c *fiber.Ctx) error {
	v, _ := visitorOf(c)
	ctx := c.UserContext()
	people, err := w.Care.MyPatients(ctx, v.Principal.UserID)
	if err != nil {
		return err
	}
	page := &carePage{}
	names := map[string]string{}
	for _, p := range people {
		names[p.PatientID] = p.FirstName
		cp := carePerson{Handle: v.handles.seal(handlePatient, p.PatientID), FirstName: p.FirstName, Paused: p.Paused}
		for _, s := range models.CareScopes {
			if slices.Contains(p.Scopes, s) {
				cp.Shares = append(cp.Shares, scopeNames[s])
			}
		}
		page.People = append(page.People, cp)
	}
	alerts, err := w.alerts(c, v, "")
	if err != nil {
		return err
	}
	for i := range alerts {
		alerts[i].Person = names[alerts[i].Person]
	}
	page.Alerts = alerts
	return w.render(c, fiber.StatusOK, "care", v, pageData{Title: "People you care for", Nav: "care", Care: page})
}

// alerts returns the carer's latest alerts, about patientID only unless it
// is ""; Person holds each alert's patient id.
func (w *Workspace) alerts(c *fiber.Ctx, v *visitor, patientID string) ([]alertView, error) {
	inbox, err := w.Inbox.Inbox(c.UserContext(), v.Principal, carerAlerts, "")
	if err != nil {
		return nil, err
	}
	var out []alertView
	for _, n := range inbox.Items {
		if patientID != "" && n.PatientID != patientID {
			continue
		}
		out = append(out, alertView{Title: n.Title, Body: n.Body, When: at(n.DueAt, v.User.Location()), Person: n.PatientID})
	}
	return out, nil
}

// carePersonPage is one person as their carer sees them: only what the
// patient shares, each part read through the access policy.
type carePersonPage struct {
	FirstName string
	Paused    bool
	// What is shared, and what is not (for saying so).
	Summary, Readings, Medications bool
	NotShared                      []string
	Health                         *healthView
	Alerts                         []alertView
}

// carePerson shows one person the carer cares for, within the scopes the
// link grants: the summary (view_summary), readings and their charts
// (view_readings), medicines, adherence and stock (view_medications). A
// paused link shows nothing but that it is paused. The policy authorises
// (and audits) every part it shows; a part it refuses is not shown.
func (w *Workspace) carePerson(c *fiber.Ctx) error {
	v, _ := visitorOf(c)
	ctx := c.UserContext()
	id, ok := v.handles.open(handlePatient, c.Params("handle"))
	if !ok {
		return errPageNotFound
	}
	people, err := w.Care.MyPatients(ctx, v.Principal.UserID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(people, func(p models.CaredPatient) bool { return p.PatientID == id })
	if i < 0 {
		return errPageNotFound
	}
	link := people[i]
	page := &carePersonPage{FirstName: link.FirstName, Paused: link.Paused}
	d := pageData{Title: link.FirstName, Nav: "care", Person: page}
	if link.Paused {
		return w.render(c, fiber.StatusOK, "care_person", v, d)
	}
	granted := func(action services.Action) (models.User, bool, error) {
		patient, err := w.Access.AuthorizeResource(ctx, v.Principal, id, action, "")
		if models.IsCode(err, models.CodeForbidden) || models.IsCode(err, models.CodeNotFound) {
			return models.User{}, false, nil
		}
		return patient, err == nil, err
	}
	var patient models.User
	for _, part := range []struct {
		scope  models.CareScope
		action services.Action
		on     *bool
	}{
		{models.ScopeViewSummary, services.ReadSummary, &page.Summary},
		{models.ScopeViewReadings, services.ReadReadings, &page.Readings},
		{models.ScopeViewMedications, services.ReadMedications, &page.Medications},
	} {
		if !slices.Contains(link.Scopes, part.scope) {
			page.NotShared = append(page.NotShared, strings.ToLower(scopeNames[part.scope]))
			continue
		}
		u, ok, err := granted(part.action)
		if err != nil {
			return err
		}
		if ok {
			*part.on, patient = true, u
		}
	}
	if page.Summary || page.Readings || page.Medications {
		h, err := w.carerHealth(c, v, patient, page)
		if err != nil {
			return err
		}
		page.Health = h
	}
	if slices.Contains(link.Scopes, models.ScopeMissedDoseAlerts) || slices.Contains(link.Scopes, models.ScopeReadingAlerts) {
		if page.Alerts, err = w.alerts(c, v, id); err != nil {
			return err
		}
	}
	return w.render(c, fiber.StatusOK, "care_person", v, d)
}

// carerHealth builds the parts of the health view the carer may see: the
// summary's figures with view_summary, readings with view_readings,
// medicines, doses and stock with view_medications.
func (w *Workspace) carerHealth(c *fiber.Ctx, v *visitor, patient models.User, page *carePersonPage) (*healthView, error) {
	ctx := c.UserContext()
	var sum *services.PatientSummary
	if page.Summary {
		s, err := w.Summaries.Summary(ctx, patient)
		if err != nil {
			return nil, err
		}
		sum = &s
	}
	h := &healthView{}
	err := w.fillHealth(ctx, v, patient, sum, viewDays(c), Prefix+"/care/"+c.Params("handle"), h, page.Readings, page.Medications)
	return h, err
}
