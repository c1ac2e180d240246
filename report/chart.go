package report

import (
	"math"
	"strconv"
	"time"

	"github.com/concord-health/concord/services"
)

// chart draws the period's systolic and diastolic readings against time:
// a grid every 20 mmHg, systolic a solid line, diastolic a dashed one, a
// dot per reading, dates along the bottom.
func (p *page) chart(r services.Report) {
	pdf := p.pdf
	pdf.Ln(3)
	top := pdf.GetY()
	left, plotW := margin+12, contentW-12
	plotH := chartH - 8

	lo, hi := math.Inf(1), math.Inf(-1)
	for _, rd := range r.BPSeries {
		c := rd.Canonical
		if c.Systolic == nil || c.Diastolic == nil {
			continue
		}
		lo, hi = math.Min(lo, *c.Diastolic), math.Max(hi, *c.Systolic)
	}
	lo = math.Floor(lo/20) * 20
	hi = math.Ceil(hi/20) * 20
	if hi-lo < 60 {
		hi = lo + 60
	}
	from, to := r.From, r.To
	if !to.After(from) {
		to = from.Add(time.Hour)
	}
	x := func(t time.Time) float64 {
		return left + plotW*float64(t.Sub(from))/float64(to.Sub(from))
	}
	y := func(v float64) float64 { return top + plotH - plotH*(v-lo)/(hi-lo) }

	// Grid and axis labels.
	pdf.SetFont("Helvetica", "", 7)
	pdf.SetLineWidth(0.1)
	pdf.SetDrawColor(200, 200, 200)
	for v := lo; v <= hi; v += 20 {
		pdf.Line(left, y(v), left+plotW, y(v))
		pdf.Text(margin, y(v)+1, strconv.Itoa(int(v)))
	}
	pdf.SetDrawColor(120, 120, 120)
	pdf.Rect(left, top, plotW, plotH, "D")
	for i, t := range []time.Time{from, from.Add(to.Sub(from) / 2), to} {
		label := p.tr(t.In(p.loc).Format("2 Jan"))
		w := pdf.GetStringWidth(label)
		lx := x(t) - w/2
		switch i {
		case 0:
			lx = x(t)
		case 2:
			lx = x(t) - w
		}
		pdf.Text(lx, top+plotH+3.5, label)
	}
	pdf.Text(margin, top-1, "mmHg")

	// The two series.
	series := func(pick func(i int) (time.Time, float64, bool), red, green, blue int, dashed bool) {
		pdf.SetDrawColor(red, green, blue)
		pdf.SetFillColor(red, green, blue)
		pdf.SetLineWidth(0.4)
		if dashed {
			pdf.SetDashPattern([]float64{1.2, 0.8}, 0)
		}
		var px, py float64
		first := true
		for i := range r.BPSeries {
			t, v, ok := pick(i)
			if !ok {
				continue
			}
			cx, cy := x(t), y(v)
			if !first {
				pdf.Line(px, py, cx, cy)
			}
			px, py, first = cx, cy, false
		}
		pdf.SetDashPattern([]float64{}, 0)
		for i := range r.BPSeries {
			if t, v, ok := pick(i); ok {
				pdf.Circle(x(t), y(v), 0.6, "F")
			}
		}
	}
	series(func(i int) (time.Time, float64, bool) {
		c := r.BPSeries[i].Canonical
		return r.BPSeries[i].TakenAt, deref(c.Systolic), c.Systolic != nil
	}, 180, 30, 30, false)
	series(func(i int) (time.Time, float64, bool) {
		c := r.BPSeries[i].Canonical
		return r.BPSeries[i].TakenAt, deref(c.Diastolic), c.Diastolic != nil
	}, 30, 80, 180, true)

	// Legend, top right inside the plot.
	pdf.SetFont("Helvetica", "", 7)
	lx, ly := left+plotW-48, top+3
	pdf.SetLineWidth(0.4)
	pdf.SetDrawColor(180, 30, 30)
	pdf.Line(lx, ly, lx+6, ly)
	pdf.Text(lx+7, ly+1, "systolic")
	pdf.SetDrawColor(30, 80, 180)
	pdf.SetDashPattern([]float64{1.2, 0.8}, 0)
	pdf.Line(lx+22, ly, lx+28, ly)
	pdf.SetDashPattern([]float64{}, 0)
	pdf.Text(lx+29, ly+1, "diastolic")

	pdf.SetDrawColor(0, 0, 0)
	pdf.SetLineWidth(0.2)
	pdf.SetY(top + chartH - 2)
}
