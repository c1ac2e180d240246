// Package report renders the consultation report (services.Report) as a
// one-page A4 PDF with github.com/go-pdf/fpdf: the PDF core fonts only (no
// font files; text in Windows-1252, so it stays extractable), a blood
// pressure chart drawn with lines, and every list cut to fit the page with
// "and N more".
package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/concord-health/concord/models"
	"github.com/concord-health/concord/services"
)

// Page geometry (millimetres, A4 portrait) and the lists' caps, chosen so
// that the fullest report still fits one page.
const (
	pageW, pageH   = 210.0, 297.0
	margin         = 15.0
	contentW       = pageW - 2*margin
	bottom         = pageH - 12.0
	lineH          = 4.3
	chartH         = 48.0
	maxOtherRows   = 5
	maxMedicineRow = 7
	maxFlagRows    = 4
)

// page is one report being laid out.
type page struct {
	pdf *fpdf.Fpdf
	tr  func(string) string
	loc *time.Location
}

// Write renders r as a one-page PDF to w. Errors: fpdf's, or w's.
func Write(w io.Writer, r services.Report) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetCreationDate(r.GeneratedAt)
	pdf.SetModificationDate(r.GeneratedAt)
	pdf.SetTitle("Concord consultation report", true)
	pdf.SetCreator("Concord", true)
	loc := r.Location
	if loc == nil {
		loc = time.UTC
	}
	p := &page{pdf: pdf, tr: pdf.UnicodeTranslatorFromDescriptor(""), loc: loc}
	pdf.AddPage()

	p.header(r)
	p.bloodPressure(r)
	p.otherReadings(r)
	p.medicines(r)
	p.flags(r)
	p.footer(r)

	if pdf.PageNo() != 1 {
		return fmt.Errorf("report ran to %d pages", pdf.PageNo())
	}
	return pdf.Output(w)
}

// text writes one line of at most width mm (cut with "..." to fit) and
// moves to the next line.
func (p *page) text(width float64, style string, size float64, s string) {
	p.cell(width, style, size, s, 1)
}

// cell writes s in a cell width mm wide, cut to fit; ln is fpdf's (0: to
// the right, 1: next line).
func (p *page) cell(width float64, style string, size float64, s string, ln int) {
	p.pdf.SetFont("Helvetica", style, size)
	s = p.tr(s)
	if p.pdf.GetStringWidth(s) > width-1 {
		for len(s) > 0 && p.pdf.GetStringWidth(s+"...") > width-1 {
			s = s[:len(s)-1]
		}
		s += "..."
	}
	p.pdf.CellFormat(width, lineH, s, "", ln, "L", false, 0, "")
}

func (p *page) heading(s string) {
	p.pdf.Ln(2)
	p.pdf.SetTextColor(0, 70, 130)
	p.text(contentW, "B", 11, s)
	p.pdf.SetTextColor(0, 0, 0)
	y := p.pdf.GetY()
	p.pdf.SetDrawColor(0, 70, 130)
	p.pdf.SetLineWidth(0.3)
	p.pdf.Line(margin, y, margin+contentW, y)
	p.pdf.Ln(1)
}

func (p *page) date(t time.Time) string { return t.In(p.loc).Format("2 Jan 2006") }

func (p *page) header(r services.Report) {
	p.pdf.SetTextColor(0, 70, 130)
	p.text(contentW, "B", 15, "Health report for your consultation")
	p.pdf.SetTextColor(0, 0, 0)
	p.pdf.Ln(1)
	p.text(contentW, "B", 10, "Patient: "+r.PatientName)
	if r.NHSNumber != "" {
		p.text(contentW, "", 9, "NHS number: "+models.FormatNHSNumber(r.NHSNumber))
	}
	p.text(contentW, "", 9, fmt.Sprintf("Period: %s to %s (%d days)", p.date(r.From), p.date(r.To), r.Days))
	p.text(contentW, "", 8, "Readings and doses as the patient logged them in Concord; times in "+p.loc.String()+".")
}

func (p *page) bloodPressure(r services.Report) {
	p.heading("Blood pressure")
	bp := r.BloodPressure
	if bp.Count == 0 {
		p.text(contentW, "", 9, "No blood pressure readings in this period.")
		return
	}
	if avg := bp.HomeAverage; avg != nil {
		p.text(contentW, "B", 10, fmt.Sprintf("Home average (NICE NG136): %s/%s mmHg", num(avg.Systolic), num(avg.Diastolic)))
		how := fmt.Sprintf("From %s over %s", plural(avg.Readings, "home reading"), plural(avg.Days, "day"))
		if avg.DiscardedFirstDay {
			how += ", the first day's readings left out as NICE advises"
		}
		if !avg.EnoughDays {
			how += "; fewer than the 4 days NICE asks for, so indicative only"
		}
		p.text(contentW, "", 8.5, how+".")
	} else {
		p.text(contentW, "B", 10, "No home readings in this period for a NICE home average.")
	}
	count := plural(bp.Count, "reading")
	if n := pharmacyReadings(r.BPSeries); n > 0 {
		count += fmt.Sprintf(" (%d at the pharmacy)", n)
	}
	line := fmt.Sprintf("%s; systolic %s-%s, diastolic %s-%s mmHg; bands: %s", count,
		num(deref(bp.MinSystolic)), num(deref(bp.MaxSystolic)), num(deref(bp.MinDiastolic)), num(deref(bp.MaxDiastolic)), bandShares(bp.Bands))
	p.text(contentW, "", 8.5, line)
	p.chart(r)
}

// pharmacyReadings counts the readings not taken at home (a clinic
// reading, an ABPM average).
func pharmacyReadings(rs []models.Reading) int {
	n := 0
	for _, r := range rs {
		if r.Setting() != models.ReadingSourceHome {
			n++
		}
	}
	return n
}

func deref(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}

func (p *page) otherReadings(r services.Report) {
	p.heading("Other readings")
	if len(r.Others) == 0 {
		p.text(contentW, "", 9, "No other readings in this period.")
		return
	}
	for _, s := range r.Others {
		unit := unitName(s.Unit)
		line := fmt.Sprintf("%s: %s, mean %s %s (%s-%s); bands: %s", typeName(s.Type), plural(s.Count, "reading"),
			num(deref(s.Mean)), unit, num(deref(s.Min)), num(deref(s.Max)), bandShares(s.Bands))
		p.text(contentW, "", 8.5, line)
	}
	p.text(contentW, "I", 8, "Latest:")
	for i, rd := range r.OtherReadings {
		if i == maxOtherRows {
			p.text(contentW, "I", 8, fmt.Sprintf("and %d more", len(r.OtherReadings)-maxOtherRows))
			break
		}
		band := rd.Band
		if band == "" {
			band = models.BandUnclassified
		}
		p.cell(40, "", 8.5, rd.TakenAt.In(p.loc).Format("2 Jan 2006 15:04"), 0)
		p.cell(60, "", 8.5, typeName(rd.Type), 0)
		p.cell(40, "", 8.5, readingValue(rd), 0)
		p.text(contentW-140, "", 8.5, words(band))
	}
}

func (p *page) medicines(r services.Report) {
	p.heading("Medicines")
	if len(r.Medications) == 0 {
		p.text(contentW, "", 9, "No medicines recorded.")
		return
	}
	cols := []float64{62, 22, 22, 18, 28, 28}
	for i, h := range []string{"Medicine", "Adherence", "Taken/due", "Missed", "Stock", "Runs out"} {
		ln := 0
		if i == len(cols)-1 {
			ln = 1
		}
		p.cell(cols[i], "B", 8.5, h, ln)
	}
	for i, m := range r.Medications {
		if i == maxMedicineRow {
			p.text(contentW, "I", 8, fmt.Sprintf("and %d more", len(r.Medications)-maxMedicineRow))
			break
		}
		name := strings.TrimSpace(m.Name + " " + m.Strength)
		adherence, taken, missed := percent(m.Adherence.DoseAdherence), fmt.Sprintf("%d/%d", m.Adherence.Taken, m.Adherence.Due), fmt.Sprint(m.Adherence.Missed)
		if m.AsNeeded {
			adherence, taken, missed = "as needed", "-", "-"
		}
		stock, runOut := "not recorded", "-"
		if m.Stock != nil {
			stock = num(m.Stock.Quantity) + " units"
			if m.Stock.RunOutDate != nil {
				runOut = *m.Stock.RunOutDate
			}
		}
		for j, v := range []string{name, adherence, taken, missed, stock, runOut} {
			ln := 0
			if j == len(cols)-1 {
				ln = 1
			}
			p.cell(cols[j], "", 8.5, v, ln)
		}
	}
	if o := r.Adherence.Overall; o.Due > 0 {
		p.text(contentW, "", 8, fmt.Sprintf("Overall: %s of %d scheduled doses taken, %d missed, %d skipped; days fully covered %s.",
			percent(o.DoseAdherence), o.Due, o.Missed, o.Skipped, percent(o.PDC)))
	}
}

func (p *page) flags(r services.Report) {
	p.heading("Open review flags")
	if len(r.OpenFlags) == 0 {
		p.text(contentW, "", 9, "No open flags.")
		return
	}
	for i, f := range r.OpenFlags {
		if i == maxFlagRows {
			p.text(contentW, "I", 8, fmt.Sprintf("and %d more", len(r.OpenFlags)-maxFlagRows))
			break
		}
		ev := f.Evidence
		line := fmt.Sprintf("%s (%s), since %s: %s %s %s %s; suggested: %s", flagName(ev, f.Rule), f.Severity, p.date(f.CreatedAt),
			words(ev.Metric), num(ev.Value), ev.Op, num(ev.Threshold), words(string(f.SuggestedService)))
		p.text(contentW, "", 8.5, line)
	}
}

func (p *page) footer(r services.Report) {
	p.pdf.SetY(bottom)
	p.pdf.SetTextColor(90, 90, 90)
	p.text(contentW, "", 7.5, fmt.Sprintf("Made by Concord on %s. Home readings support, not replace, clinical measurement.",
		r.GeneratedAt.In(p.loc).Format("2 Jan 2006 15:04")))
	p.pdf.SetTextColor(0, 0, 0)
}
