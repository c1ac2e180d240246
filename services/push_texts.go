package services

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/concord-health/concord/models"
)

// maxReminderNames is how many medicines a detailed reminder names before
// "and N more".
const maxReminderNames = 5

// reminderTexts are the push texts of the patient's own reminders, in one
// place. The generic text is the default and carries no health data: it
// says that medicines are due, never which (DESIGN, "Push payloads carry
// no health data by default"). The detailed text, used only when the
// patient opted in (Preferences.PushDetails), names them. {time} is the
// dose's local time ("08:00"), {medicines} the medicines' names and
// strengths, {days} the stock left ("about 5 days").
var reminderTexts = map[models.NotificationKind]struct{ title, generic, detailed string }{
	models.KindDoseReminder:   {"Reminder", "Time for your {time} medicines", "Time for your {time} medicines: {medicines}"},
	models.KindDoseFollowUp:   {"Reminder", "Have you taken your {time} medicines?", "Have you taken your {time} medicines? {medicines}"},
	models.KindDoseSnooze:     {"Reminder", "Time for your {time} medicines", "Time for your {time} medicines: {medicines}"},
	models.KindRefillReminder: {"Reminder", "One of your medicines is running low", "{medicines} is running low: {days} left"},
}

// reminderText returns the title and body of a reminder of kind: the
// detailed text only when details is set and there are medicines to name,
// and a body cut to models.MaxNotificationBody characters.
func reminderText(kind models.NotificationKind, details bool, localTime string, medicines []string, days string) (title, body string) {
	t := reminderTexts[kind]
	body = t.generic
	if details && len(medicines) > 0 {
		body = t.detailed
	}
	body = strings.NewReplacer("{time}", localTime, "{medicines}", joinNames(medicines), "{days}", days).Replace(body)
	if utf8.RuneCountInString(body) > models.MaxNotificationBody {
		body = string([]rune(body)[:models.MaxNotificationBody-1]) + "…"
	}
	return t.title, body
}

// joinNames lists names as "A", "A and B", "A, B and C", naming at most
// maxReminderNames.
func joinNames(names []string) string {
	if len(names) > maxReminderNames {
		rest := len(names) - (maxReminderNames - 1)
		names = append(slices.Clone(names[:maxReminderNames-1]), strconv.Itoa(rest)+" more")
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// daysText says how long stock lasts: "less than a day", "about 1 day",
// "about 5 days".
func daysText(days float64) string {
	switch d := int(math.Floor(days)); {
	case d < 1:
		return "less than a day"
	case d == 1:
		return "about 1 day"
	default:
		return "about " + strconv.Itoa(d) + " days"
	}
}

// medicineName is how a detailed push names a medicine: "Ramipril 5 mg".
func medicineName(m models.Medication) string {
	return strings.TrimSpace(m.Name + " " + m.Strength)
}

// pushDetails reports whether the patient wants medicines named in pushes,
// as their settings say now: the patient is read again, so one who just
// turned it off gets no more pushes with names. A patient no longer stored
// gets none.
func (r *Reminders) pushDetails(ctx context.Context, p *reminderPatient) (bool, error) {
	u, err := r.src.Users.Get(ctx, p.user.ID)
	if models.IsCode(err, models.CodeNotFound) {
		return false, nil
	}
	return u.Preferences.PushDetails, err
}
