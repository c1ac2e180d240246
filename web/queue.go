package web

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// queuePageSize is how many flags one page of the queue shows.
const queuePageSize = 25

// queuePage is the review queue as the page shows it.
type queuePage struct {
	Rows []queueRow
	// Filters as chosen, and the choices.
	Status, Severity, Rule string
	Statuses               []option
	Severities             []option
	Rules                  []option
	// Next is the handle of the next page's start ("" on the last page).
	Next string
	// Version is the queue's version when the page was drawn; the script
	// polls PollURL every PollSeconds and reloads the rows when it moves.
	Version     string
	PollURL     string
	PollSeconds int
}

type option struct{ Value, Label string }

// queueRow is one flag: who, why in words, with what evidence.
type queueRow struct {
	Patient     string // the patient's handle
	PatientName string
	Severity    models.Severity
	Reason      reason
	Service     string
	Status      string
	Queued      string
	QueuedISO   string
}

var statusOptions = []option{{"", "Open and claimed"}, {"open", "Open"}, {"claimed", "Claimed"}, {"resolved", "Resolved"}, {"closed", "Closed"}}
var severityOptions = []option{{"", "Any severity"}, {"severe", "Severe"}, {"high", "High"}, {"moderate", "Moderate"}, {"low", "Low"}}

func ruleOptions() []option {
	out := []option{{"", "Any reason"}}
	for _, r := range models.FlagRuleIDs {
		out = append(out, option{string(r), ruleHeadlines[r]})
	}
	return out
}

// queue shows a page of the pharmacy's review queue, in the API's order
// (services.Flags.List: most severe first, then longest waiting), filtered
// by status, severity and rule. Filters are not health data and stay in
// the URL; the next page's position is a sealed handle.
func (w *Workspace) queue(c *fiber.Ctx) error {
	v, _ := visitorOf(c)
	q := services.FlagListQuery{Limit: queuePageSize}
	page := &queuePage{Status: c.Query("status"), Severity: c.Query("severity"), Rule: c.Query("rule"),
		Statuses: statusOptions, Severities: severityOptions, Rules: ruleOptions(),
		PollURL: Prefix + "/queue/version", PollSeconds: max(1, int(w.cfg.PollInterval/time.Second))}
	if page.Status != "" {
		q.Statuses = []models.FlagStatus{models.FlagStatus(page.Status)}
	}
	if page.Severity != "" {
		q.Severities = []models.Severity{models.Severity(page.Severity)}
	}
	if page.Rule != "" {
		q.Rules = []models.FlagRuleID{models.FlagRuleID(page.Rule)}
	}
	if after := c.Query("after"); after != "" {
		cursor, ok := v.handles.open(handleCursor, after)
		if !ok {
			return errPageNotFound
		}
		q.Cursor = cursor
	}
	version, err := w.queueVersionOf(c, v)
	if err != nil {
		return err
	}
	page.Version = version
	flags, err := w.Flags.List(c.UserContext(), v.Principal, q)
	if err != nil {
		return err
	}
	if flags.NextCursor != "" {
		page.Next = v.handles.seal(handleCursor, flags.NextCursor)
	}
	loc, now := v.User.Location(), w.Now()
	for _, f := range flags.Items {
		page.Rows = append(page.Rows, queueRow{
			Patient: v.handles.seal(handlePatient, f.PatientID), PatientName: f.PatientName,
			Severity: f.Severity, Reason: explain(f.Rule, f.Evidence, loc), Service: serviceNames[f.SuggestedService],
			Status: statusText(f, v.Principal.UserID), Queued: ago(f.QueuedAt, now), QueuedISO: f.QueuedAt.Format(time.RFC3339),
		})
	}
	return w.render(c, fiber.StatusOK, "queue", v, pageData{Title: "Review queue", Nav: "queue", Queue: page})
}

// queueVersion answers an open queue page's poll: the queue's version, and
// nothing else.
func (w *Workspace) queueVersion(c *fiber.Ctx) error {
	v, _ := visitorOf(c)
	version, err := w.queueVersionOf(c, v)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"version": version})
}

// queueWatchLimit bounds the flags a version is computed over: a change
// among the most urgent of them moves it.
const queueWatchLimit = 500

// queueVersionOf is a digest of the pharmacy's open and claimed flags
// (each one's id, status, severity and last change): it moves whenever a
// flag is raised, refired, claimed, resolved or closed.
func (w *Workspace) queueVersionOf(c *fiber.Ctx, v *visitor) (string, error) {
	me, ok, err := w.Access.Pharmacist(c.UserContext(), v.Principal)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", models.Errorf(models.CodeForbidden, "only pharmacists of a pharmacy have a review queue")
	}
	flags, err := w.QueueWatch.Queue(c.UserContext(), models.FlagQuery{PharmacyID: me.PharmacyID,
		Statuses: []models.FlagStatus{models.FlagOpen, models.FlagClaimed}, Limit: queueWatchLimit})
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, f := range flags {
		h.Write([]byte(f.ID + "|" + string(f.Status) + "|" + string(f.Severity) + "|" + strconv.FormatInt(f.UpdatedAt.UnixMilli(), 10) + "\n"))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12]), nil
}

// statusText words where a flag stands for the pharmacist me.
func statusText(f models.Flag, me string) string {
	switch {
	case f.Status == models.FlagClaimed && f.ClaimedBy == me:
		return "Claimed by you"
	case f.Status == models.FlagClaimed:
		return "Claimed by a colleague"
	case f.Status == models.FlagResolved && f.FollowUpAt != nil:
		return "Resolved, follow-up due"
	case f.Status == models.FlagResolved:
		return "Resolved"
	case f.Status == models.FlagClosed:
		return "Closed"
	}
	return "Open"
}

// ago words how long ago t was: "just now", "25 minutes ago", "3 hours
// ago", "2 days ago".
func ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	}
	return plural(int(d/(24*time.Hour)), "day") + " ago"
}
