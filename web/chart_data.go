package web

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// What the charts read, and how far back.
const (
	// chartReadingPages bounds the pages of readings one chart reads
	// (services.MaxReadingPage each): 90 days of four readings a day fit.
	chartReadingPages = 3
	// adherenceDays is the adherence grid's window: the summary's.
	adherenceDays = services.SummaryAdherenceDays
)

// readingsSince returns the patient's readings of typ taken since from,
// newest first, at most chartReadingPages pages. The caller has been
// authorised (ReadReadings).
func (w *Workspace) readingsSince(ctx context.Context, patient models.User, typ models.ReadingType, from time.Time) ([]models.Reading, error) {
	var out []models.Reading
	q := services.ReadingListQuery{Type: typ, From: from, Limit: services.MaxReadingPage}
	for range chartReadingPages {
		page, err := w.Readings.List(ctx, patient, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	return out, nil
}

// bandLimit returns the limit the default banding rule for band puts on
// measure (models.ReadingBandRules, the one table of bands), or def.
func bandLimit(typ models.ReadingType, band, measure string, def float64) float64 {
	for _, r := range models.ReadingBandRules() {
		if r.Type != typ || r.Band != band || r.Personal || r.Setting != models.ReadingSourceHome {
			continue
		}
		for _, c := range r.When {
			if c.Measure == measure {
				return c.Limit
			}
		}
	}
	return def
}

// bpChart draws one measure of blood pressure ("systolic" or "diastolic")
// over the NICE NG136 home bands, with the NICE home average.
func bpChart(id, measure string, readings []models.Reading, avg *models.BPHomeAverage, from, to time.Time, loc *time.Location) template.HTML {
	bp := models.ReadingBloodPressure
	low := bandLimit(bp, models.BandLow, measure, 0)
	stage1 := bandLimit(bp, models.BandHighStage1, measure, 0)
	stage2 := bandLimit(bp, models.BandHighStage2, measure, 0)
	severe := bandLimit(bp, models.BandSevere, measure, 0)
	c := timeChart{ID: id, Height: 210, From: from, To: to, Loc: loc, YStep: 20,
		Title: fmt.Sprintf("%s blood pressure, %d days", capitalise(measure), int(to.Sub(from).Hours()/24+0.5)),
		Bands: []chartBand{
			{From: 0, To: low, Class: "band-low", Label: "Low"},
			{From: low, To: stage1, Class: "band-normal", Label: "Normal"},
			{From: stage1, To: stage2, Class: "band-stage1", Label: "Stage 1"},
			{From: stage2, To: severe, Class: "band-stage2", Label: "Stage 2"},
			{From: severe, To: 400, Class: "band-severe", Label: "Severe"},
		}}
	c.YMin, c.YMax = 60, 220
	if measure == "diastolic" {
		c.YMin, c.YMax = 40, 140
	}
	s := chartSeries{Class: "series-" + measure}
	var hi float64
	for _, r := range readings {
		v := r.Canonical.Systolic
		if measure == "diastolic" {
			v = r.Canonical.Diastolic
		}
		if v == nil || r.Canonical.Systolic == nil || r.Canonical.Diastolic == nil {
			continue
		}
		hi = math.Max(hi, *v)
		s.Points = append(s.Points, chartPoint{T: r.TakenAt, V: *v, Class: "band-" + r.Band,
			Label: fmt.Sprintf("%s/%s mmHg at %s", num(*r.Canonical.Systolic), num(*r.Canonical.Diastolic), at(r.TakenAt, loc))})
	}
	c.YMax = math.Max(c.YMax, math.Ceil((hi+10)/20)*20)
	c.Series = []chartSeries{s}
	c.Desc = fmt.Sprintf("%d readings. Bands from NICE NG136 home thresholds: stage 1 from %s, stage 2 from %s, severe from %s mmHg; low below %s.",
		len(s.Points), num(stage1), num(stage2), num(severe), num(low))
	if avg != nil {
		v := avg.Systolic
		if measure == "diastolic" {
			v = avg.Diastolic
		}
		c.Rules = append(c.Rules, chartRule{Y: v, Class: "rule-average", Label: "Home average " + num(v)})
		c.Desc += " Home average " + num(v) + " mmHg."
	}
	return c.SVG()
}

// glucoseChart draws blood glucose with the hypo line (and the severe hypo
// and very high limits shaded).
func glucoseChart(id string, readings []models.Reading, from, to time.Time, loc *time.Location) template.HTML {
	g := models.ReadingBloodGlucose
	severeHypo := bandLimit(g, models.BandSevereHypo, "value", 3)
	hypo := bandLimit(g, models.BandHypo, "value", 4)
	veryHigh := bandLimit(g, models.BandVeryHigh, "value", 13.9)
	c := timeChart{ID: id, Height: 200, From: from, To: to, Loc: loc, YMin: 0, YMax: 18, YStep: 3,
		Title: fmt.Sprintf("Blood glucose, %d days", int(to.Sub(from).Hours()/24+0.5)),
		Bands: []chartBand{
			{From: 0, To: severeHypo, Class: "band-severe", Label: "Severe hypo"},
			{From: severeHypo, To: hypo, Class: "band-stage2", Label: "Hypo"},
			{From: hypo, To: veryHigh, Class: "band-normal", Label: ""},
			{From: veryHigh, To: 100, Class: "band-stage1", Label: "Very high"},
		},
		Rules: []chartRule{{Y: hypo, Class: "rule-hypo", Label: "Hypo line " + num(hypo) + " mmol/L"}}}
	s := chartSeries{Class: "series-glucose"}
	for _, r := range readings {
		if r.Canonical.Value == nil {
			continue
		}
		v := *r.Canonical.Value
		c.YMax = math.Max(c.YMax, math.Ceil((v+1)/3)*3)
		s.Points = append(s.Points, chartPoint{T: r.TakenAt, V: v, Class: "band-" + r.Band,
			Label: fmt.Sprintf("%s mmol/L at %s", num(v), at(r.TakenAt, loc))})
	}
	c.Series = []chartSeries{s}
	c.Desc = fmt.Sprintf("%d readings. The hypo line is at %s mmol/L (severe below %s); above %s mmol/L is very high.",
		len(s.Points), num(hypo), num(severeHypo), num(veryHigh))
	return c.SVG()
}

// adherenceRow counts one medicine's doses in the grid's window.
type adherenceRow struct {
	Name                               string
	OnTime, Late, Skipped, Missed, Due int
}

// adherenceGrid draws each scheduled medicine's doses per local day over
// the last days days: taken on time, taken late (outside
// models.OnTimeWindow), skipped or missed; a day with several doses shows
// the worst.
func adherenceGrid(id string, meds []models.Medication, doses []models.Dose, now time.Time, loc *time.Location, days int) (template.HTML, []adherenceRow) {
	today := now.In(loc)
	start := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -(days - 1))
	g := dayGrid{ID: id, Title: fmt.Sprintf("Doses per medicine per day, %d days", days)}
	index := map[string]int{}
	for i := range days {
		day := start.AddDate(0, 0, i)
		g.Days = append(g.Days, day)
		index[day.Format(models.LocalDateLayout)] = i
	}
	type tally struct{ onTime, late, skipped, missed int }
	var rows []adherenceRow
	for _, m := range meds {
		if m.Schedule.AsNeeded || m.Status != models.MedicationActive {
			continue
		}
		perDay := make([]tally, days)
		var total tally
		for _, d := range doses {
			i, ok := index[d.LocalDate]
			if d.MedicationID != m.ID || d.AsNeeded || !ok {
				continue
			}
			t := &perDay[i]
			switch {
			case d.Status == models.DoseMissed:
				t.missed++
				total.missed++
			case d.Status == models.DoseSkipped:
				t.skipped++
				total.skipped++
			case d.Status == models.DoseTaken && d.TakenAt != nil && d.TakenAt.Sub(d.ScheduledAt).Abs() > models.OnTimeWindow:
				t.late++
				total.late++
			case d.Status == models.DoseTaken:
				t.onTime++
				total.onTime++
			}
		}
		row := gridRow{Label: m.Name}
		for i, t := range perDay {
			class := "none"
			switch {
			case t.missed > 0:
				class = "missed"
			case t.skipped > 0:
				class = "skipped"
			case t.late > 0:
				class = "late"
			case t.onTime > 0:
				class = "taken"
			}
			var parts []string
			for _, p := range []struct {
				n    int
				word string
			}{{t.onTime, "taken on time"}, {t.late, "taken late"}, {t.skipped, "skipped"}, {t.missed, "missed"}} {
				if p.n > 0 {
					parts = append(parts, fmt.Sprintf("%d %s", p.n, p.word))
				}
			}
			if len(parts) == 0 {
				parts = []string{"no dose due"}
			}
			row.Cells = append(row.Cells, gridCell{Class: class,
				Title: fmt.Sprintf("%s, %s: %s", m.Name, g.Days[i].Format("Mon 2 Jan"), strings.Join(parts, ", "))})
		}
		g.Rows = append(g.Rows, row)
		rows = append(rows, adherenceRow{Name: m.Name, OnTime: total.onTime, Late: total.late, Skipped: total.skipped,
			Missed: total.missed, Due: total.onTime + total.late + total.skipped + total.missed})
	}
	g.Desc = fmt.Sprintf("%d medicines. Each square is a day: a tick for taken on time, a dot for taken late (more than an hour from the dose's time), a dash for skipped, a cross for missed.", len(rows))
	if len(rows) == 0 {
		return "", nil
	}
	return g.SVG(), rows
}

// stockRow is a medicine's stock and run-out date.
type stockRow struct {
	Name     string
	Quantity string
	DaysLeft string
	RunsOut  string
	Soon     bool // runs out within a week
}

// stockRows lists the active medicines that record stock, with when each
// runs out at its schedule's rate (adh's outlook).
func stockRows(meds []models.Medication, adh models.Adherence) []stockRow {
	outlook := map[string]models.MedicationAdherence{}
	for _, a := range adh.Medications {
		outlook[a.MedicationID] = a
	}
	var out []stockRow
	for _, m := range meds {
		if m.Stock == nil || m.Status != models.MedicationActive {
			continue
		}
		r := stockRow{Name: m.Name, Quantity: num(m.Stock.Quantity), DaysLeft: "—", RunsOut: "—"}
		a := outlook[m.ID]
		if a.DaysOfStockLeft != nil {
			r.DaysLeft = plural(int(math.Floor(*a.DaysOfStockLeft)), "day")
			r.Soon = *a.DaysOfStockLeft <= 7
		}
		if a.RunOutDate != nil {
			if d, err := time.Parse(models.LocalDateLayout, *a.RunOutDate); err == nil {
				r.RunsOut = d.Format("Mon 2 Jan 2006")
			}
		}
		out = append(out, r)
	}
	return out
}

// readingRow is a reading in the table beside a chart.
type readingRow struct {
	When, Value, Band string
}

func readingRows(rs []models.Reading, loc *time.Location) []readingRow {
	out := make([]readingRow, 0, len(rs))
	for _, r := range rs {
		row := readingRow{When: at(r.TakenAt, loc), Band: strings.ReplaceAll(r.Band, "_", " ")}
		switch {
		case r.Canonical.Systolic != nil && r.Canonical.Diastolic != nil:
			row.Value = num(*r.Canonical.Systolic) + "/" + num(*r.Canonical.Diastolic) + " mmHg"
		case r.Canonical.Value != nil:
			row.Value = num(*r.Canonical.Value) + readingLabels[r.Type].unit
		}
		out = append(out, row)
	}
	return out
}
