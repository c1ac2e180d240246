package models

import (
	"strconv"
	"time"
)

// A notification's ID is the dedupe key of the event it announces: the
// outbox stores one notification per ID, so building the same key twice is
// how every scheduler tick, instance and retry finds the one notification
// of an event, and how a later change (a dose logged) finds it to cancel.
// Each kind's key is built only by its function below. The formats are
// stored in every outbox and inbox: changing one makes an event already
// announced look new.

// CarerSevereReadingAlertWindow is how often, at most, a carer is alerted
// about one patient's severe readings: once per clock hour (UTC). The first
// severe reading of the hour alerts at once; those after it in the same
// hour (the rest of a batch, the re-measures that follow a bad reading)
// add nothing the carer can act on, since the first alert already asks
// them to check on the patient and the app shows every reading.
const CarerSevereReadingAlertWindow = time.Hour

// DoseReminderID is the dedupe key of a patient's one reminder of all
// their doses at a local date and time:
// "dose_reminder:<patientId>:<localDate>T<localTime>".
func DoseReminderID(patientID, localDate, localTime string) string {
	return string(KindDoseReminder) + ":" + patientID + ":" + localDate + "T" + localTime
}

// DoseFollowUpID is the dedupe key of the follow-up of a patient's doses at
// a local date and time:
// "dose_follow_up:<patientId>:<localDate>T<localTime>".
func DoseFollowUpID(patientID, localDate, localTime string) string {
	return string(KindDoseFollowUp) + ":" + patientID + ":" + localDate + "T" + localTime
}

// MaxDoseSnoozes is how many times one dose may be snoozed.
const MaxDoseSnoozes = 2

// DoseSnoozeID is the dedupe key of the n-th snooze (1 to MaxDoseSnoozes)
// of a dose: "dose_snooze:<doseId>:<n>".
func DoseSnoozeID(doseID string, n int) string {
	return string(KindDoseSnooze) + ":" + doseID + ":" + strconv.Itoa(n)
}

// RefillReminderID is the dedupe key of the reminder to reorder a medicine
// predicted to run out on a local date:
// "refill_reminder:<medicationId>:<runOutDate>".
func RefillReminderID(medicationID, runOutDate string) string {
	return string(KindRefillReminder) + ":" + medicationID + ":" + runOutDate
}

// CarerMissedDoseAlertID is the dedupe key of the alert to a carer about
// one missed dose: "carer_missed_dose:<doseId>:<carerId>".
func CarerMissedDoseAlertID(doseID, carerID string) string {
	return string(KindCarerMissedDose) + ":" + doseID + ":" + carerID
}

// CarerSevereReadingAlertID is the dedupe key of the alert to a carer about
// a patient's severe readings stored in the CarerSevereReadingAlertWindow
// that holds at: "carer_severe_reading:<patientId>:<carerId>:<window
// start, UTC, 2006-01-02T15:04Z>". Every instant of one window gives the
// same key.
func CarerSevereReadingAlertID(patientID, carerID string, at time.Time) string {
	window := at.UTC().Truncate(CarerSevereReadingAlertWindow).Format("2006-01-02T15:04Z")
	return string(KindCarerSevereReading) + ":" + patientID + ":" + carerID + ":" + window
}

// PharmacyServiceNoticeID is the dedupe key of the notice to a patient
// about one recorded stage of a service episode:
// "pharmacy_service:<episodeId>:<stage>".
func PharmacyServiceNoticeID(episodeID, stage string) string {
	return string(KindPharmacyService) + ":" + episodeID + ":" + stage
}
