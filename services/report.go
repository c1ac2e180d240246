package services

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/concord-health/concord/models"
)

// ReportReadings reads a patient's readings of one type in a window (the
// reading store).
type ReportReadings interface {
	Range(ctx context.Context, patientID string, typ models.ReadingType, from, to time.Time) ([]models.Reading, error)
}

// ReportAdherence works out a patient's adherence over any window (Doses).
type ReportAdherence interface {
	AdherenceOver(ctx context.Context, patient models.User, days int, now time.Time) (models.Adherence, error)
}

// ReportSources are where the consultation report's data comes from.
type ReportSources struct {
	Readings    ReportReadings
	Medications FlagMedicationLister
	Adherence   ReportAdherence
	Flags       SummaryFlags
}

// Reports gathers the consultation report: what a patient shows their GP
// or pharmacist. It computes nothing clinical itself: the NICE home
// average, bands, adherence and run-out dates are the models' rules.
type Reports struct {
	src ReportSources
	now func() time.Time
}

// NewReports returns the report service.
func NewReports(src ReportSources, now func() time.Time) *Reports {
	return &Reports{src: src, now: now}
}

// Report is a patient's consultation report over Days days up to
// GeneratedAt.
type Report struct {
	PatientName string
	// NHSNumber is "" when the patient has not given it.
	NHSNumber   string
	Days        int
	GeneratedAt time.Time
	// From and To are the window's first and last local dates.
	From, To time.Time
	// Location is the patient's time zone, in which dates are shown.
	Location *time.Location
	// BloodPressure summarises the window's blood pressure readings (its
	// HomeAverage is NICE NG136's); BPSeries are those readings, oldest
	// first, for the chart.
	BloodPressure models.ReadingSummary
	BPSeries      []models.Reading
	// Others summarises each other reading type logged in the window, in
	// models.ReadingTypes order; OtherReadings are those readings, newest
	// first.
	Others        []models.ReadingSummary
	OtherReadings []models.Reading
	Adherence     models.Adherence
	// Medications are the active medicines with their figures and stock.
	Medications []SummaryMedication
	OpenFlags   []SummaryFlag
}

// ValidateReportDays returns days, DefaultReportDays for 0, or an invalid
// error naming "days" outside models.MinReportDays..MaxReportDays.
func ValidateReportDays(days int) (int, error) {
	if days == 0 {
		return models.DefaultReportDays, nil
	}
	if days < models.MinReportDays || days > models.MaxReportDays {
		var p models.Problems
		p.Add("days", "must be between %d and %d", models.MinReportDays, models.MaxReportDays)
		return 0, p.Err()
	}
	return days, nil
}

// Report gathers the patient's report over days days (validated with
// ValidateReportDays). The caller has been authorised.
func (r *Reports) Report(ctx context.Context, patient models.User, days int) (Report, error) {
	days, err := ValidateReportDays(days)
	if err != nil {
		return Report{}, err
	}
	now := r.now().UTC()
	loc := patient.Location()
	from, to := SummaryWindow(now, loc, days)
	out := Report{PatientName: patient.Name, NHSNumber: patient.NHSNumber, Days: days, GeneratedAt: now,
		From: from.In(loc), To: now.In(loc), Location: loc}

	for _, typ := range models.ReadingTypes() {
		readings, err := r.src.Readings.Range(ctx, patient.ID, typ, from, to)
		if err != nil {
			return Report{}, err
		}
		sum := models.SummarizeReadings(typ, days, readings, loc)
		slices.SortFunc(readings, func(a, b models.Reading) int {
			return cmp.Or(a.TakenAt.Compare(b.TakenAt), cmp.Compare(a.ID, b.ID))
		})
		if typ == models.ReadingBloodPressure {
			out.BloodPressure, out.BPSeries = sum, readings
			continue
		}
		if sum.Count > 0 {
			out.Others = append(out.Others, sum)
			out.OtherReadings = append(out.OtherReadings, readings...)
		}
	}
	slices.SortFunc(out.OtherReadings, func(a, b models.Reading) int {
		return cmp.Or(b.TakenAt.Compare(a.TakenAt), cmp.Compare(b.ID, a.ID))
	})

	out.Adherence, err = r.src.Adherence.AdherenceOver(ctx, patient, days, now)
	if err != nil {
		return Report{}, err
	}
	meds, err := r.src.Medications.ListByPatient(ctx, patient.ID)
	if err != nil {
		return Report{}, err
	}
	out.Medications = activeMedications(meds, out.Adherence)

	flags, err := r.src.Flags.LiveOfPatient(ctx, patient.ID, "")
	if err != nil {
		return Report{}, err
	}
	out.OpenFlags = openFlags(flags, now)
	return out, nil
}
