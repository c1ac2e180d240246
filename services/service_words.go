package services

import (
	"fmt"
	"time"

	"github.com/concord-health/concord/models"
)

// describeEpisode says, in plain words for the patient, which service
// they are in and what happens next. e must be refreshed at now.
func describeEpisode(e models.ServiceEpisode, loc *time.Location, now time.Time) (summary, next string) {
	switch e.Service {
	case models.ServiceKindNMS:
		return describeNMS(e, loc)
	case models.ServiceKindBPCheck:
		return describeBPCheck(e)
	case models.ServiceKindDMS:
		return describeDMS(e, loc)
	case models.ServiceKindSMRReferral:
		return describeSMR(e)
	}
	return "", ""
}

// day writes a local date ("2026-12-02") as "Wednesday 2 December".
func day(d string) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return d
	}
	return t.Format("Monday 2 January")
}

func closedWords(e models.ServiceEpisode) string {
	return "Your pharmacist ended this service early. If you have questions, ask at the pharmacy."
}

func describeNMS(e models.ServiceEpisode, loc *time.Location) (string, string) {
	med := e.MedicationName
	summary := fmt.Sprintf("You are in the New Medicine Service for %s: your pharmacist checks with you how a new medicine is going, "+
		"in three conversations over about five weeks.", med)
	switch e.State {
	case string(models.EpisodeCompleted):
		return fmt.Sprintf("You have finished the New Medicine Service for %s.", med),
			"Nothing more is planned. Keep taking your medicines as agreed, and ask your pharmacist if anything changes."
	case string(models.EpisodeClosed):
		return fmt.Sprintf("The New Medicine Service for %s has ended.", med), closedWords(e)
	case models.EpisodeMissed:
		return summary, "A check-in was not held in time, so this service cannot continue. Your pharmacist may contact you; " +
			"you can always ask them about your medicine."
	}
	for _, st := range e.Stages {
		what := "talk with you about how it is going"
		if st.Stage == models.StageFollowUp {
			what = "have a last conversation with you about it"
		}
		switch st.State {
		case models.StageUpcoming:
			return summary, fmt.Sprintf("Your pharmacist will %s between %s and %s.", what, day(st.WindowFrom), day(st.WindowTo))
		case models.StageDue:
			return summary, fmt.Sprintf("Your pharmacist will %s by %s: expect a call or visit the pharmacy.", what, day(st.WindowTo))
		}
	}
	return summary, ""
}

func describeBPCheck(e models.ServiceEpisode) (string, string) {
	summary := "You had a blood pressure check at your pharmacy."
	var outcome models.ConsultationOutcome
	for _, c := range e.Consultations {
		outcome = c.Outcome
	}
	switch {
	case e.State == string(models.EpisodeClosed):
		return summary, closedWords(e)
	case outcome == models.OutcomeABPMOffered && e.Status == models.EpisodeActive:
		return summary + " Your reading was raised, so your pharmacist offered a monitor that measures your blood pressure over 24 hours.",
			"Wear the monitor as shown and bring it back to the pharmacy; your pharmacist will share the result with your GP practice."
	case outcome == models.OutcomeSameDayReferral:
		return summary + " Your reading was very high.",
			"Please contact your GP practice today (or NHS 111 out of hours), as your pharmacist advised. Call 999 if you have chest pain, " +
				"shortness of breath, or weakness on one side."
	case outcome == models.OutcomeBPLow:
		return summary + " Your reading was low.", "Follow your pharmacist's advice; tell your GP practice if you feel dizzy or faint."
	case outcome == models.OutcomeReferredDiagnosis:
		return summary + " Your 24-hour monitoring result has been sent to your GP practice.",
			"Your GP practice will contact you about your blood pressure and what to do next."
	case outcome == models.OutcomeHypertensionUnlikly:
		return summary + " Your 24-hour monitoring result was in the normal range.", "Nothing more is needed now. A check every five years is usual."
	}
	return summary + " Your reading was in the normal range.", "Nothing more is needed now. A check every five years is usual."
}

func describeDMS(e models.ServiceEpisode, loc *time.Location) (string, string) {
	from := "hospital"
	if e.Discharge != nil && e.Discharge.Hospital != "" {
		from = e.Discharge.Hospital
	}
	summary := fmt.Sprintf("Your pharmacy received your medicines from your stay at %s (the Discharge Medicines Service) "+
		"and checks them against your medicines list.", from)
	switch e.State {
	case string(models.EpisodeClosed):
		return summary, closedWords(e)
	case string(models.EpisodeCompleted):
		added, stopped, changed := 0, 0, 0
		if e.Discharge != nil {
			for _, c := range e.Discharge.Changes {
				if c.Decision != models.DecisionAccepted {
					continue
				}
				switch c.Kind {
				case models.ChangeNew:
					added++
				case models.ChangeStopped:
					stopped++
				case models.ChangeDose:
					changed++
				}
			}
		}
		if added+stopped+changed == 0 {
			return summary, "Your pharmacist checked them: your medicines list did not need to change."
		}
		return summary, fmt.Sprintf("Your pharmacist updated your medicines list: %d added, %d stopped, %d changed. "+
			"Check your medicines in the app and ask your pharmacist if anything is unclear.", added, stopped, changed)
	}
	if i := e.Stage(models.StageReconciliation); i >= 0 && e.Stages[i].DueBy != nil {
		return summary, fmt.Sprintf("Your pharmacist aims to finish by %s. You will get a message if your medicines list changes.",
			e.Stages[i].DueBy.In(loc).Format("Monday 2 January, 15:04"))
	}
	return summary, ""
}

func describeSMR(e models.ServiceEpisode) (string, string) {
	to := "your GP practice"
	for _, c := range e.Consultations {
		if c.Referral != nil && c.Referral.To == models.ReferToPCNPharmacy {
			to = "the clinical pharmacist of your GP practice's Primary Care Network"
		}
	}
	return fmt.Sprintf("Your pharmacist has asked %s to review all your medicines with you (a Structured Medication Review).", to),
		"The practice team will contact you to arrange it. Bring your medicines, or a list of them, to the review."
}
