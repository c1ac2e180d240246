package web

import (
	"context"
	"html/template"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// patientPage is a patient as the pharmacist sees them: the summary, the
// charts, and the open flags with what can be done to each.
type patientPage struct {
	Handle string
	Name   string
	Health *healthView
	Flags  []flagView
	// Outcomes are the resolution choices; FollowUpMin and FollowUpMax
	// bound the follow-up date.
	Outcomes                 []option
	FollowUpMin, FollowUpMax string
}

// healthView is what the charts and tables show: each part is nil when it
// was not asked for (a carer without the scope).
type healthView struct {
	Days       int
	DayChoices []dayChoice
	// Summary.
	Adherence    string
	LatestByType []readingRow
	Stock        []stockRow
	// Readings.
	Readings     bool
	BPSystolic   template.HTML
	BPDiastolic  template.HTML
	BPAverage    string
	BPTable      []readingRow
	Glucose      template.HTML
	GlucoseTable []readingRow
	// Doses.
	Doses         bool
	AdherenceGrid template.HTML
	AdherenceRows []adherenceRow
}

type dayChoice struct {
	Days    int
	URL     string
	Current bool
}

// flagView is one open flag on the patient page.
type flagView struct {
	Handle   string
	Anchor   string
	Severity models.Severity
	Reason   reason
	Service  string
	Status   string
	CanClaim bool
	CanWork  bool
	Notes    []noteView
}

type noteView struct{ By, At, Text string }

// viewDays reads the chart window a page asks for: 28 days, or 90.
func viewDays(c *fiber.Ctx) int {
	if c.Query("days") == "90" {
		return 90
	}
	return 28
}

// patient shows one patient of the pharmacy: every part read through the
// access policy, which audits each (summary, readings, doses, each flag).
func (w *Workspace) patient(c *fiber.Ctx) error {
	v, _ := visitorOf(c)
	id, ok := v.handles.open(handlePatient, c.Params("handle"))
	if !ok {
		return errPageNotFound
	}
	d := pageData{Nav: "patients"}
	switch c.Query("done") {
	case "claimed":
		d.Notice = "You have claimed the flag."
	case "noted":
		d.Notice = "Your note has been added."
	case "resolved":
		d.Notice = "The flag is resolved."
	}
	return w.showPatient(c, v, id, viewDays(c), fiber.StatusOK, d)
}

func (w *Workspace) showPatient(c *fiber.Ctx, v *visitor, patientID string, days, status int, d pageData) error {
	ctx := c.UserContext()
	patient, err := w.Access.AuthorizeResource(ctx, v.Principal, patientID, services.ReadSummary, "summary")
	if err != nil {
		return err
	}
	handle := c.Params("handle")
	if handle == "" || c.Method() == fiber.MethodPost {
		handle = v.handles.seal(handlePatient, patientID)
	}
	page := &patientPage{Handle: handle, Name: patient.Name, Outcomes: outcomeOptions()}
	now := w.Now()
	loc := v.User.Location()
	page.FollowUpMin = now.In(loc).AddDate(0, 0, 1).Format(models.LocalDateLayout)
	page.FollowUpMax = now.In(loc).AddDate(0, 0, 365).Format(models.LocalDateLayout)
	sum, err := w.Summaries.Summary(ctx, patient)
	if err != nil {
		return err
	}
	h := &healthView{}
	if err := w.fillHealth(ctx, v, patient, &sum, days, Prefix+"/patients/"+handle, h, true, true); err != nil {
		return err
	}
	page.Health = h
	for i, sf := range sum.OpenFlags {
		f, err := w.Flags.Get(ctx, v.Principal, sf.ID)
		if models.IsCode(err, models.CodeNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		fv := flagView{Handle: v.handles.seal(handleFlag, f.ID), Anchor: "flag-" + strconv.Itoa(i+1), Severity: f.Severity,
			Reason: explain(f.Rule, f.Evidence, loc), Service: serviceNames[f.SuggestedService], Status: statusText(f, v.Principal.UserID),
			CanClaim: f.Status == models.FlagOpen,
			CanWork:  f.Status == models.FlagOpen || (f.Status == models.FlagClaimed && f.ClaimedBy == v.Principal.UserID)}
		for _, n := range f.Notes {
			fv.Notes = append(fv.Notes, noteView{By: w.nameOf(ctx, n.By, v.Principal.UserID), At: at(n.At, loc), Text: n.Text})
		}
		page.Flags = append(page.Flags, fv)
	}
	d.Title, d.Patient = patient.Name, page
	return w.render(c, status, "patient", v, d)
}

// fillHealth fills h from the summary (when given) and, when asked, the
// patient's readings (readings) and medicines and doses (doses), each
// authorised, and audited, by the policy.
func (w *Workspace) fillHealth(ctx context.Context, v *visitor, patient models.User, sum *services.PatientSummary, days int, url string, h *healthView, readings, doses bool) error {
	now := w.Now()
	loc := patient.Location()
	h.Days = days
	for _, n := range []int{28, 90} {
		h.DayChoices = append(h.DayChoices, dayChoice{Days: n, URL: url + "?days=" + strconv.Itoa(n), Current: n == days})
	}
	if sum != nil {
		o := sum.Adherence.Overall
		h.Adherence = "No doses were due in the last " + plural(sum.Adherence.WindowDays, "day")
		if o.DoseAdherence != nil {
			h.Adherence = "Took " + strconv.Itoa(o.Taken) + " of " + strconv.Itoa(o.Due) + " doses in " + plural(sum.Adherence.WindowDays, "day") +
				" (" + percent(*o.DoseAdherence) + ")"
			if o.PDC != nil {
				h.Adherence += "; every dose taken on " + percent(*o.PDC) + " of days"
			}
		}
		latest := make([]models.Reading, len(sum.LatestByType))
		for i, r := range sum.LatestByType {
			latest[i] = r.Reading
		}
		h.LatestByType = readingRows(latest, loc)
	}
	from := now.Add(-time.Duration(days) * 24 * time.Hour)
	if readings {
		if err := w.fillReadings(ctx, v, patient, days, from, h); err != nil {
			return err
		}
	}
	if doses {
		for _, a := range []services.Action{services.ReadMedications, services.ReadDoses, services.ReadAdherence} {
			if _, err := w.Access.AuthorizeResource(ctx, v.Principal, patient.ID, a, ""); err != nil {
				return err
			}
		}
		h.Doses = true
		meds, err := w.Medications.List(ctx, patient, models.MedicationActive)
		if err != nil {
			return err
		}
		adh, err := w.Doses.Adherence(ctx, patient, adherenceDays, now)
		if err != nil {
			return err
		}
		today := now.In(loc)
		start := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -(adherenceDays - 1))
		ds, err := w.Doses.List(ctx, patient, services.DoseQuery{From: start, To: now.Add(time.Millisecond)})
		if err != nil {
			return err
		}
		h.AdherenceGrid, h.AdherenceRows = adherenceGrid("adherence", meds, ds, now, loc, adherenceDays)
		h.Stock = stockRows(meds, adh)
	}
	return nil
}

// fillReadings draws blood pressure and glucose over the last days days.
func (w *Workspace) fillReadings(ctx context.Context, v *visitor, patient models.User, days int, from time.Time, h *healthView) error {
	if _, err := w.Access.AuthorizeResource(ctx, v.Principal, patient.ID, services.ReadReadings, "readings"); err != nil {
		return err
	}
	now, loc := w.Now(), patient.Location()
	h.Readings = true
	bp, err := w.readingsSince(ctx, patient, models.ReadingBloodPressure, from)
	if err != nil {
		return err
	}
	bpSum, err := w.Readings.Summary(ctx, patient, models.ReadingBloodPressure, days)
	if err != nil {
		return err
	}
	if a := bpSum.HomeAverage; a != nil {
		h.BPAverage = "Home average " + num(a.Systolic) + "/" + num(a.Diastolic) + " mmHg over " + plural(a.Days, "day") +
			" (" + plural(a.Readings, "reading") + ")"
		if !a.EnoughDays {
			h.BPAverage += ", fewer days than NICE asks for: indicative only"
		}
	}
	h.BPSystolic = bpChart("bp-sys", "systolic", bp, bpSum.HomeAverage, from, now, loc)
	h.BPDiastolic = bpChart("bp-dia", "diastolic", bp, bpSum.HomeAverage, from, now, loc)
	h.BPTable = readingRows(bp, loc)
	glucose, err := w.readingsSince(ctx, patient, models.ReadingBloodGlucose, from)
	if err != nil {
		return err
	}
	h.Glucose = glucoseChart("glucose", glucose, from, now, loc)
	h.GlucoseTable = readingRows(glucose, loc)
	return nil
}

// nameOf names a pharmacist for a colleague: "you", or their name.
func (w *Workspace) nameOf(ctx context.Context, id, me string) string {
	if id == me {
		return "You"
	}
	if u, err := w.Users.Get(ctx, id); err == nil {
		return u.Name
	}
	return "A colleague"
}

func outcomeOptions() []option {
	out := make([]option, 0, len(models.FlagOutcomes))
	for _, o := range models.FlagOutcomes {
		out = append(out, option{string(o), outcomeNames[o]})
	}
	return out
}

// flagAction claims a flag, adds a note to it or resolves it, then shows
// the patient again. A problem with the form shows the patient with the
// problem beside its field.
func (w *Workspace) flagAction(c *fiber.Ctx) error {
	v, _ := visitorOf(c)
	ctx := c.UserContext()
	id, ok := v.handles.open(handleFlag, c.FormValue("flag"))
	if !ok {
		return errPageNotFound
	}
	f, err := w.Flags.Get(ctx, v.Principal, id)
	if err != nil {
		return err
	}
	var done string
	switch c.Params("action") {
	case "claim":
		err = ignore(w.Flags.Claim(ctx, v.Principal, id))
		done = "claimed"
	case "note":
		err = ignore(w.Flags.AddNote(ctx, v.Principal, id, c.FormValue("text")))
		done = "noted"
	case "resolve":
		r := services.FlagResolution{Outcome: models.FlagOutcome(c.FormValue("outcome")), Note: c.FormValue("note")}
		if s := c.FormValue("followUp"); s != "" {
			day, perr := time.ParseInLocation(models.LocalDateLayout, s, v.User.Location())
			if perr != nil {
				err = &models.Error{Code: models.CodeInvalid, Message: "the follow-up date is not a date",
					Fields: []models.FieldProblem{{Field: "followUpAt", Problem: "must be a date such as 2026-12-14"}}}
				break
			}
			at := day.Add(9 * time.Hour) // the morning of that day
			r.FollowUpAt = &at
		}
		err = ignore(w.Flags.Resolve(ctx, v.Principal, id, r))
		done = "resolved"
	default:
		return errPageNotFound
	}
	if models.IsCode(err, models.CodeInvalid) || models.IsCode(err, models.CodeConflict) {
		d := pageData{Nav: "patients", Errors: formErrors(err)}
		status := fiber.StatusUnprocessableEntity
		if models.IsCode(err, models.CodeConflict) {
			status = fiber.StatusConflict
		}
		return w.showPatient(c, v, f.PatientID, 28, status, d)
	}
	if err != nil {
		return err
	}
	return c.Redirect(Prefix+"/patients/"+v.handles.seal(handlePatient, f.PatientID)+"?done="+done+"#flags", fiber.StatusSeeOther)
}

func ignore(_ models.Flag, err error) error { return err }

// formFields name, for each field a service may refuse, the form field it
// was typed in.
var formFields = map[string]string{"text": "text", "note": "note", "outcome": "outcome", "followUpAt": "followUp", "notes": "text"}

// formErrors turns a refusal into the error summary's entries.
func formErrors(err error) []fieldError {
	e, ok := err.(*models.Error)
	if !ok || len(e.Fields) == 0 {
		return []fieldError{{Field: "", Text: capitalise(messageOf(err))}}
	}
	var out []fieldError
	for _, f := range e.Fields {
		out = append(out, fieldError{Field: formFields[f.Field], Text: capitalise(fieldLabel(f.Field) + " " + f.Problem)})
	}
	return out
}

func fieldLabel(field string) string {
	switch field {
	case "text", "note":
		return "the note"
	case "followUpAt":
		return "the follow-up date"
	}
	return "the " + field
}
