package web

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"
	"time"
)

// The charts are drawn here, on the server, as inline SVG: a small
// renderer of our own rather than a charting library, because the pages'
// Content-Security-Policy allows no inline style (the SVG that Go charting
// libraries write styles its elements with style attributes), because each
// chart needs its own accessible name and description and a per-point
// <title> a pharmacist can hover, and because two shapes (a time series
// over shaded bands, and a day-by-day grid) are all the workspace draws.
// Colours come from the stylesheet, by class.

// Chart geometry, in SVG user units.
const (
	chartWidth  = 560
	chartLeft   = 44
	chartRight  = 12
	chartTop    = 10
	chartBottom = 26
)

// timeChart is a time series over horizontal bands.
type timeChart struct {
	ID         string // unique in its page
	Title      string
	Desc       string
	Height     int
	From, To   time.Time
	Loc        *time.Location
	YMin, YMax float64
	YStep      float64
	Bands      []chartBand
	Rules      []chartRule
	Series     []chartSeries
}

// chartBand shades [From, To) of the y axis.
type chartBand struct {
	From, To     float64
	Class, Label string
}

// chartRule is a horizontal line: a threshold or an average.
type chartRule struct {
	Y            float64
	Class, Label string
}

type chartSeries struct {
	Class  string
	Points []chartPoint
}

type chartPoint struct {
	T     time.Time
	V     float64
	Label string // the point's <title>
	Class string // extra class, e.g. the reading's band
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// SVG draws the chart.
func (c timeChart) SVG() template.HTML {
	if c.Height == 0 {
		c.Height = 200
	}
	if c.Loc == nil {
		c.Loc = time.UTC
	}
	plotW := float64(chartWidth - chartLeft - chartRight)
	plotH := float64(c.Height - chartTop - chartBottom)
	span := c.To.Sub(c.From).Seconds()
	x := func(t time.Time) float64 { return chartLeft + plotW*t.Sub(c.From).Seconds()/span }
	y := func(v float64) float64 {
		v = math.Max(c.YMin, math.Min(c.YMax, v))
		return chartTop + plotH*(1-(v-c.YMin)/(c.YMax-c.YMin))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d">`, chartWidth, c.Height, c.ID, c.ID)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, c.ID, esc(c.Title), c.ID, esc(c.Desc))
	for _, band := range c.Bands {
		top, bottom := y(math.Min(band.To, c.YMax)), y(math.Max(band.From, c.YMin))
		if bottom-top <= 0 {
			continue
		}
		fmt.Fprintf(&b, `<rect class="band %s" x="%d" y="%.1f" width="%.1f" height="%.1f"/>`, esc(band.Class), chartLeft, top, plotW, bottom-top)
		if band.Label != "" && bottom-top >= 12 {
			fmt.Fprintf(&b, `<text class="band-label" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, chartLeft+plotW-4, top+12, esc(band.Label))
		}
	}
	// Y axis: gridlines and values.
	if c.YStep > 0 {
		for v := math.Ceil(c.YMin/c.YStep) * c.YStep; v <= c.YMax+1e-9; v += c.YStep {
			fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%.1f" y1="%.1f" y2="%.1f"/>`, chartLeft, chartLeft+plotW, y(v), y(v))
			fmt.Fprintf(&b, `<text class="axis" x="%d" y="%.1f" text-anchor="end">%s</text>`, chartLeft-6, y(v)+4, num(v))
		}
	}
	// X axis: a tick a week (28 days) or a fortnight (longer).
	step := 7 * 24 * time.Hour
	if c.To.Sub(c.From) > 40*24*time.Hour {
		step *= 2
	}
	for t := c.To; !t.Before(c.From); t = t.Add(-step) {
		anchor := "middle"
		if t.Equal(c.To) {
			anchor = "end" // the right edge: centred, it would be cut off
		}
		fmt.Fprintf(&b, `<line class="tick" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, x(t), x(t), chartTop+plotH, chartTop+plotH+4)
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%.1f" text-anchor="%s">%s</text>`, x(t), chartTop+plotH+18, anchor, t.In(c.Loc).Format("2 Jan"))
	}
	fmt.Fprintf(&b, `<line class="axis-line" x1="%d" x2="%.1f" y1="%.1f" y2="%.1f"/>`, chartLeft, chartLeft+plotW, chartTop+plotH, chartTop+plotH)
	for _, r := range c.Rules {
		fmt.Fprintf(&b, `<line class="rule %s" x1="%d" x2="%.1f" y1="%.1f" y2="%.1f"/>`, esc(r.Class), chartLeft, chartLeft+plotW, y(r.Y), y(r.Y))
		fmt.Fprintf(&b, `<text class="rule-label %s" x="%d" y="%.1f">%s</text>`, esc(r.Class), chartLeft+4, y(r.Y)-4, esc(r.Label))
	}
	for _, s := range c.Series {
		pts := slices.Clone(s.Points)
		slices.SortFunc(pts, func(a, b chartPoint) int { return a.T.Compare(b.T) })
		if len(pts) > 1 {
			coords := make([]string, len(pts))
			for i, p := range pts {
				coords[i] = fmt.Sprintf("%.1f,%.1f", x(p.T), y(p.V))
			}
			fmt.Fprintf(&b, `<polyline class="series %s" points="%s"/>`, esc(s.Class), strings.Join(coords, " "))
		}
		for _, p := range pts {
			fmt.Fprintf(&b, `<circle class="point %s %s" cx="%.1f" cy="%.1f" r="3.5"><title>%s</title></circle>`,
				esc(s.Class), esc(p.Class), x(p.T), y(p.V), esc(p.Label))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// dayGrid is a grid of one row per item and one column per day: adherence
// per medicine per day.
type dayGrid struct {
	ID    string
	Title string
	Desc  string
	Days  []time.Time // local midnights, oldest first
	Rows  []gridRow
}

type gridRow struct {
	Label string
	Cells []gridCell // one per day
}

// gridCell is one day of one row: its class (taken, late, missed,
// skipped, none) draws it, and a mark besides colour tells the classes
// apart (a tick, a dot, a cross, a dash).
type gridCell struct {
	Class string
	Title string
}

// Grid geometry.
const (
	gridLabel = 132
	gridSize  = 14
	gridGap   = 2
	gridTop   = 4
	gridAxis  = 20
)

// SVG draws the grid.
func (g dayGrid) SVG() template.HTML {
	width := gridLabel + len(g.Days)*(gridSize+gridGap) + 4
	height := gridTop + len(g.Rows)*(gridSize+gridGap*3) + gridAxis
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart grid-chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d">`, width, height, g.ID, g.ID)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, g.ID, esc(g.Title), g.ID, esc(g.Desc))
	for i, row := range g.Rows {
		top := gridTop + i*(gridSize+gridGap*3)
		label := row.Label
		if len([]rune(label)) > 20 {
			label = string([]rune(label)[:19]) + "…"
		}
		fmt.Fprintf(&b, `<text class="axis row-label" x="0" y="%d">%s</text>`, top+gridSize-3, esc(label))
		for j, cell := range row.Cells {
			x := gridLabel + j*(gridSize+gridGap)
			fmt.Fprintf(&b, `<g class="cell %s"><title>%s</title><rect x="%d" y="%d" width="%d" height="%d" rx="2"/>`,
				esc(cell.Class), esc(cell.Title), x, top, gridSize, gridSize)
			cx, cy := float64(x)+gridSize/2, float64(top)+gridSize/2
			switch cell.Class {
			case "taken":
				fmt.Fprintf(&b, `<path class="mark" d="M%.1f %.1f l3 3 l5 -6"/>`, cx-4, cy)
			case "late":
				fmt.Fprintf(&b, `<circle class="mark-dot" cx="%.1f" cy="%.1f" r="2.5"/>`, cx, cy)
			case "missed":
				fmt.Fprintf(&b, `<path class="mark" d="M%.1f %.1f l8 8 M%.1f %.1f l-8 8"/>`, cx-4, cy-4, cx+4, cy-4)
			case "skipped":
				fmt.Fprintf(&b, `<path class="mark" d="M%.1f %.1f h8"/>`, cx-4, cy)
			}
			b.WriteString(`</g>`)
		}
	}
	axisY := gridTop + len(g.Rows)*(gridSize+gridGap*3) + 12
	for j, day := range g.Days {
		if (len(g.Days)-1-j)%7 != 0 {
			continue
		}
		x, anchor := gridLabel+j*(gridSize+gridGap)+gridSize/2, "middle"
		if j == len(g.Days)-1 {
			x, anchor = gridLabel+j*(gridSize+gridGap)+gridSize, "end" // the right edge
		}
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="%s">%s</text>`, x, axisY, anchor, day.Format("2 Jan"))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
