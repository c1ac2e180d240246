package services

import (
	"strings"

	"github.com/concord-health/concord/models"
)

// message is one text of the catalogue: English and Welsh, and the names
// of its arguments in the order they are pushed (loc args). A text names
// its arguments as {name}.
type message struct {
	en, cy string
	args   []string
}

// Message keys. They are pushed (title_loc_key, body_loc_key, loc-key) so
// that an app holding the same catalogue can show the text in the
// device's language: never rename one.
const (
	msgReminderTitle            = "reminder.title"
	msgDoseReminderBody         = "dose_reminder.body"
	msgDoseReminderBodyDetails  = "dose_reminder.body_details"
	msgDoseFollowUpBody         = "dose_follow_up.body"
	msgDoseFollowUpBodyDetails  = "dose_follow_up.body_details"
	msgRefillBody               = "refill_reminder.body"
	msgRefillBodyDetailsLessOne = "refill_reminder.body_details_less_than_a_day"
	msgRefillBodyDetailsOne     = "refill_reminder.body_details_one_day"
	msgRefillBodyDetailsDays    = "refill_reminder.body_details_days"
	msgCarerMissedDoseTitle     = "carer_missed_dose.title"
	msgCarerMissedDoseBody      = "carer_missed_dose.body"
	msgCarerSevereReadingTitle  = "carer_severe_reading.title"
	msgCarerSevereReadingBody   = "carer_severe_reading.body"
	msgPharmacyDischargeTitle   = "pharmacy_service.discharge.title"
	msgPharmacyDischargeBody    = "pharmacy_service.discharge.body"
	msgSomeoneYouCareFor        = "carer.someone_you_care_for"
	msgListAnd                  = "list.and"
	msgListMore                 = "list.more"
)

// catalogue holds every text Concord pushes, in every language it speaks
// (models.Locale.Language). Pushes carry no health data by default: the
// *_details texts, which name medicines, are used only for a patient who
// opted in (Preferences.PushDetails).
//
// The Welsh texts are short and plain, written without a Welsh speaker:
// they need review by one before release.
var catalogue = map[string]message{
	msgReminderTitle:            {en: "Reminder", cy: "Nodyn atgoffa"},
	msgDoseReminderBody:         {en: "Time for your {time} medicines", cy: "Amser am eich meddyginiaethau {time}", args: []string{"time"}},
	msgDoseReminderBodyDetails:  {en: "Time for your {time} medicines: {medicines}", cy: "Amser am eich meddyginiaethau {time}: {medicines}", args: []string{"time", "medicines"}},
	msgDoseFollowUpBody:         {en: "Have you taken your {time} medicines?", cy: "Ydych chi wedi cymryd eich meddyginiaethau {time}?", args: []string{"time"}},
	msgDoseFollowUpBodyDetails:  {en: "Have you taken your {time} medicines? {medicines}", cy: "Ydych chi wedi cymryd eich meddyginiaethau {time}? {medicines}", args: []string{"time", "medicines"}},
	msgRefillBody:               {en: "One of your medicines is running low", cy: "Mae un o'ch meddyginiaethau yn mynd yn isel"},
	msgRefillBodyDetailsLessOne: {en: "{medicines} is running low: less than a day left", cy: "Mae {medicines} yn mynd yn isel: llai na diwrnod ar ôl", args: []string{"medicines"}},
	msgRefillBodyDetailsOne:     {en: "{medicines} is running low: about 1 day left", cy: "Mae {medicines} yn mynd yn isel: tua 1 diwrnod ar ôl", args: []string{"medicines"}},
	msgRefillBodyDetailsDays:    {en: "{medicines} is running low: about {days} days left", cy: "Mae {medicines} yn mynd yn isel: tua {days} diwrnod ar ôl", args: []string{"medicines", "days"}},
	msgCarerMissedDoseTitle:     {en: "Missed dose", cy: "Dos wedi'i golli"},
	msgCarerMissedDoseBody:      {en: "{name} missed a dose", cy: "Mae {name} wedi colli dos", args: []string{"name"}},
	msgCarerSevereReadingTitle:  {en: "Reading needs attention", cy: "Darlleniad angen sylw"},
	msgCarerSevereReadingBody:   {en: "{name} logged a reading that needs attention", cy: "Mae {name} wedi cofnodi darlleniad sydd angen sylw", args: []string{"name"}},
	msgPharmacyDischargeTitle:   {en: "Your medicines list was updated", cy: "Mae eich rhestr meddyginiaethau wedi'i diweddaru"},
	msgPharmacyDischargeBody: {
		en: "Your pharmacist updated your medicines after your hospital stay. Open Concord to see what changed.",
		cy: "Mae eich fferyllydd wedi diweddaru eich meddyginiaethau ar ôl eich arhosiad yn yr ysbyty. Agorwch Concord i weld beth sydd wedi newid.",
	},
	// Parts of other texts' arguments.
	msgSomeoneYouCareFor: {en: "Someone you care for", cy: "Rhywun rydych yn gofalu amdano"},
	msgListAnd:           {en: " and ", cy: " a "},
	msgListMore:          {en: "{n} more", cy: "{n} arall", args: []string{"n"}},
}

// text returns the catalogue's text of key in language lang (English for
// a language it does not know) with its arguments filled in from args.
func text(key, lang string, args map[string]string) string {
	m := catalogue[key]
	s := m.en
	if lang == models.LanguageWelsh && m.cy != "" {
		s = m.cy
	}
	for _, a := range m.args {
		s = strings.ReplaceAll(s, "{"+a+"}", args[a])
	}
	return s
}

// pushText is the models.PushText of a title and body: the keys, and the
// body's arguments in the catalogue's order.
func pushText(titleKey, bodyKey string, args map[string]string) models.PushText {
	t := models.PushText{TitleKey: titleKey, BodyKey: bodyKey}
	for _, a := range catalogue[bodyKey].args {
		t.BodyArgs = append(t.BodyArgs, args[a])
	}
	return t
}

// renderPushText returns the title and body of t in language lang.
func renderPushText(t models.PushText, lang string) (title, body string) {
	args := map[string]string{}
	for i, a := range catalogue[t.BodyKey].args {
		if i < len(t.BodyArgs) {
			args[a] = t.BodyArgs[i]
		}
		if a == "name" && args[a] == "" {
			args[a] = text(msgSomeoneYouCareFor, lang, nil)
		}
	}
	if t.TitleKey != "" {
		title = text(t.TitleKey, lang, nil)
	}
	if t.BodyKey != "" {
		body = text(t.BodyKey, lang, args)
	}
	return title, body
}
