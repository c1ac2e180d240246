package services

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/concord-health/concord/models"
)

// maxReminderNames is how many medicines a detailed reminder names before
// "and N more".
const maxReminderNames = 5

// reminderBodies are the catalogue keys of the bodies of the patient's own
// reminders. The generic body is the default and carries no health data:
// it says that medicines are due, never which (DESIGN, "Push payloads
// carry no health data by default"). The detailed body, used only when
// the patient opted in (Preferences.PushDetails), names them. A snoozed
// reminder says what the reminder said.
var reminderBodies = map[models.NotificationKind]struct{ generic, detailed string }{
	models.KindDoseReminder: {msgDoseReminderBody, msgDoseReminderBodyDetails},
	models.KindDoseFollowUp: {msgDoseFollowUpBody, msgDoseFollowUpBodyDetails},
	models.KindDoseSnooze:   {msgDoseReminderBody, msgDoseReminderBodyDetails},
}

// reminderText is the push text of a dose reminder, follow-up or snoozed
// reminder of kind at localTime ("08:00") for a patient whose language is
// lang: it names the medicines only when details is set and there are
// medicines to name.
func reminderText(kind models.NotificationKind, lang string, details bool, localTime string, medicines []string) models.PushText {
	b := reminderBodies[kind]
	if details && len(medicines) > 0 {
		return pushText(msgReminderTitle, b.detailed, map[string]string{"time": localTime, "medicines": joinNames(lang, medicines)})
	}
	return pushText(msgReminderTitle, b.generic, map[string]string{"time": localTime})
}

// refillText is the push text of a refill reminder for a patient whose
// language is lang: the medicine (medicines[0]) and the days its stock
// lasts only when details is set.
func refillText(lang string, details bool, medicine string, daysLeft float64) models.PushText {
	if !details || medicine == "" {
		return pushText(msgReminderTitle, msgRefillBody, nil)
	}
	args := map[string]string{"medicines": medicine}
	switch d := int(math.Floor(daysLeft)); {
	case d < 1:
		return pushText(msgReminderTitle, msgRefillBodyDetailsLessOne, args)
	case d == 1:
		return pushText(msgReminderTitle, msgRefillBodyDetailsOne, args)
	default:
		args["days"] = strconv.Itoa(d)
		return pushText(msgReminderTitle, msgRefillBodyDetailsDays, args)
	}
}

// joinNames lists names in language lang as "A", "A and B", "A, B and C",
// naming at most maxReminderNames.
func joinNames(lang string, names []string) string {
	if len(names) > maxReminderNames {
		rest := len(names) - (maxReminderNames - 1)
		names = append(slices.Clone(names[:maxReminderNames-1]), text(msgListMore, lang, map[string]string{"n": strconv.Itoa(rest)}))
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + text(msgListAnd, lang, nil) + names[len(names)-1]
}

// medicineName is how a detailed push names a medicine: "Ramipril 5 mg".
func medicineName(m models.Medication) string {
	return strings.TrimSpace(m.Name + " " + m.Strength)
}

// pushDetails reports whether the patient wants medicines named in pushes,
// as their settings say now, and their language: the patient is read
// again, so one who just turned it off gets no more pushes with names. A
// patient no longer stored gets none.
func (r *Reminders) pushDetails(ctx context.Context, p *reminderPatient) (bool, string, error) {
	u, err := r.src.Users.Get(ctx, p.user.ID)
	if models.IsCode(err, models.CodeNotFound) {
		return false, models.LanguageEnglish, nil
	}
	return u.Preferences.PushDetails, u.Locale.Language(), err
}
