package reports

import (
	"fmt"
	"image/color"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// PricePoint is a price at a time (µs since the Unix epoch, UTC).
type PricePoint struct {
	TS    int64
	Price float64
}

// Span is a labelled incident's time span on a timeline. Focus marks the incident the timeline
// is about.
type Span struct {
	From, To int64
	Label    string
	Focus    bool
}

// AlertMark is an alert on a timeline: its ts, whether it matched an incident, and whether it is
// the alert the timeline is about.
type AlertMark struct {
	TS       int64
	Detector string
	TP       bool
	Focus    bool
}

// Timeline is the market around one case (a missed incident or a false alert): the last trade
// price and the mark price of the symbol, the labelled incidents shaded, the alerts marked and
// the case's own executions highlighted.
type Timeline struct {
	// Name is the figure's file stem (e.g. timeline_miss_1); Title and Caption as in Figure.
	Name    string
	Title   string
	Caption string
	Symbol  string
	// From and To bound the window shown, µs.
	From, To int64
	Trades   []PricePoint
	Marks    []PricePoint
	// Evidence are executions to highlight (the alert's evidence trades, or the incident's
	// accounts' trades), described by EvidenceLabel in the legend.
	Evidence      []PricePoint
	EvidenceLabel string
	Spans         []Span
	Alerts        []AlertMark
	// AlertWindow, when set, is the false alert's own window [from, to] (µs), shaded.
	AlertWindow *[2]int64
}

// Timeline figures are wide: time runs along them.
const (
	timelineWidth  = 10 * vg.Inch
	timelineHeight = 5 * vg.Inch
	// maxTimelinePoints bounds the vertices of a price line; longer series are thinned to the
	// first, lowest, highest and last price of equal time buckets, which keeps every spike.
	maxTimelinePoints = 4000
)

// TimelineFigure checks a timeline and returns it as a figure.
func TimelineFigure(t Timeline) (*Figure, error) {
	if t.To <= t.From {
		return nil, fmt.Errorf("timeline %s: window [%d, %d] is empty", t.Name, t.From, t.To)
	}
	for _, series := range [][]PricePoint{t.Trades, t.Marks, t.Evidence} {
		for i, p := range series {
			if !finite(p.Price) {
				return nil, fmt.Errorf("timeline %s: point %d: price %v is not finite", t.Name, i, p.Price)
			}
			if i > 0 && p.TS < series[i-1].TS {
				return nil, fmt.Errorf("timeline %s: point %d: prices must be in time order", t.Name, i)
			}
		}
	}
	return &Figure{Name: t.Name, Title: t.Title, Caption: t.Caption, Width: timelineWidth, Height: timelineHeight,
		draw: func(dc draw.Canvas) error { return drawTimeline(dc, t) }}, nil
}

// unixSeconds converts µs to the float seconds the time axis uses.
func unixSeconds(us int64) float64 { return float64(us) / 1e6 }

var (
	tradeColor      = color.RGBA{R: 0x1f, G: 0x5f, B: 0xbf, A: 0xff}
	markColor       = color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff}
	focusFill       = color.NRGBA{R: 0xff, G: 0xa5, B: 0x00, A: 0x55}
	otherFill       = color.NRGBA{R: 0x80, G: 0x80, B: 0x80, A: 0x33}
	alertWindowFill = color.NRGBA{R: 0xc8, G: 0x1e, B: 0x1e, A: 0x22}
	truePosColor    = color.RGBA{R: 0x1a, G: 0x8a, B: 0x2e, A: 0xff}
	falsePosColor   = color.RGBA{R: 0xc8, G: 0x1e, B: 0x1e, A: 0xff}
)

func drawTimeline(dc draw.Canvas, t Timeline) error {
	from, to := unixSeconds(t.From), unixSeconds(t.To)
	day, lastDay := time.UnixMicro(t.From).UTC().Format("2006-01-02"), time.UnixMicro(t.To).UTC().Format("2006-01-02")
	xLabel := "Time (UTC, " + day + ")"
	if lastDay != day {
		xLabel = "Time (UTC, " + day + " to " + lastDay + ")"
	}
	p := newPlot(t.Title, xLabel, "Price ("+t.Symbol+", quote currency)")
	p.Title.TextStyle.Font = sans(13)
	p.X.Tick.Marker = clockTicks{}
	p.X.Min, p.X.Max = from, to

	lo, hi := math.Inf(1), math.Inf(-1)
	for _, series := range [][]PricePoint{t.Trades, t.Marks, t.Evidence} {
		for _, pp := range series {
			lo, hi = min(lo, pp.Price), max(hi, pp.Price)
		}
	}
	noPrices := math.IsInf(lo, 1)
	if noPrices {
		lo, hi = 0, 1
		p.Y.Tick.Marker = plot.ConstantTicks(nil)
		p.Y.Label.Text = "(no trades or marks in this window)"
	}
	if hi-lo < 1e-12*max(1, math.Abs(hi)) {
		lo, hi = lo-max(math.Abs(lo)*0.001, 1e-9), hi+max(math.Abs(hi)*0.001, 1e-9)
	}
	margin := (hi - lo) * 0.06
	lo, hi = lo-margin, hi+margin
	p.Y.Min, p.Y.Max = lo, hi

	legend := newLegend()
	// Spans first, so lines draw over them; the focus span last, so it is on top of the others.
	var focusSpan, otherSpan *plotter.Polygon
	for pass := 0; pass < 2; pass++ {
		for _, s := range t.Spans {
			if s.Focus != (pass == 1) {
				continue
			}
			a, b := max(unixSeconds(s.From), from), min(unixSeconds(s.To), to)
			if b < a {
				continue
			}
			if b-a < (to-from)/400 { // an instant-long incident stays visible as a thin band
				mid := (a + b) / 2
				a, b = mid-(to-from)/800, mid+(to-from)/800
			}
			poly, err := plotter.NewPolygon(plotter.XYs{{X: a, Y: lo}, {X: b, Y: lo}, {X: b, Y: hi}, {X: a, Y: hi}})
			if err != nil {
				return err
			}
			poly.LineStyle.Width = 0
			if s.Focus {
				poly.Color = focusFill
				focusSpan = poly
			} else {
				poly.Color = otherFill
				otherSpan = poly
			}
			p.Add(poly)
		}
	}
	if w := t.AlertWindow; w != nil {
		a, b := max(unixSeconds(w[0]), from), min(unixSeconds(w[1]), to)
		if b > a {
			poly, err := plotter.NewPolygon(plotter.XYs{{X: a, Y: lo}, {X: b, Y: lo}, {X: b, Y: hi}, {X: a, Y: hi}})
			if err != nil {
				return err
			}
			poly.LineStyle.Width = 0
			poly.Color = alertWindowFill
			p.Add(poly)
			legend.Add("this alert's window", poly)
		}
	}
	if focusSpan != nil {
		label := "labelled incident"
		for _, s := range t.Spans {
			if s.Focus && s.Label != "" {
				label = s.Label
			}
		}
		legend.Add(label, focusSpan)
	}
	if otherSpan != nil {
		legend.Add("other labelled incidents", otherSpan)
	}

	if len(t.Marks) > 0 {
		line, err := plotter.NewLine(thinPrices(t.Marks))
		if err != nil {
			return err
		}
		line.Color, line.Width, line.Dashes = markColor, vg.Points(1.5), []vg.Length{vg.Points(5), vg.Points(3)}
		p.Add(line)
		legend.Add("mark price", line)
	}
	if len(t.Trades) > 0 {
		line, err := plotter.NewLine(thinPrices(t.Trades))
		if err != nil {
			return err
		}
		line.Color, line.Width = tradeColor, vg.Points(1)
		p.Add(line)
		legend.Add("last trade price", line)
	}
	if len(t.Evidence) > 0 {
		xys := make(plotter.XYs, len(t.Evidence))
		for i, e := range t.Evidence {
			xys[i] = plotter.XY{X: unixSeconds(e.TS), Y: e.Price}
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return err
		}
		sc.Shape, sc.Color, sc.Radius = draw.CrossGlyph{}, color.Black, vg.Points(4)
		p.Add(sc)
		label := t.EvidenceLabel
		if label == "" {
			label = "evidence trades"
		}
		legend.Add(label, sc)
	}

	// Alerts as vertical lines: the case's own alert solid and thick, the others dashed.
	seen := map[[2]bool]bool{}
	for _, pass := range []bool{false, true} {
		for _, a := range t.Alerts {
			if a.Focus != pass {
				continue
			}
			x := unixSeconds(a.TS)
			if x < from || x > to {
				continue
			}
			line, err := plotter.NewLine(plotter.XYs{{X: x, Y: lo}, {X: x, Y: hi}})
			if err != nil {
				return err
			}
			line.Color = falsePosColor
			if a.TP {
				line.Color = truePosColor
			}
			if a.Focus {
				line.Width = vg.Points(2.5)
			} else {
				line.Width, line.Dashes = vg.Points(1.2), []vg.Length{vg.Points(4), vg.Points(2)}
			}
			p.Add(line)
			key := [2]bool{a.TP, a.Focus}
			if !seen[key] {
				seen[key] = true
				what := "alert, matched an incident"
				if !a.TP {
					what = "alert, matched none"
				}
				if a.Focus {
					what = "this " + what
				}
				legend.Add(what, line)
			}
		}
	}
	drawWithLegendPanel(dc, p, legend)
	return nil
}

// thinPrices converts prices to plot vertices, thinning long series: the window is cut into equal
// time buckets and each bucket keeps its first, lowest, highest and last point, in time order.
func thinPrices(pts []PricePoint) plotter.XYs {
	if len(pts) <= maxTimelinePoints {
		xys := make(plotter.XYs, len(pts))
		for i, pp := range pts {
			xys[i] = plotter.XY{X: unixSeconds(pp.TS), Y: pp.Price}
		}
		return xys
	}
	buckets := maxTimelinePoints / 4
	first, last := pts[0].TS, pts[len(pts)-1].TS
	width := max((last-first)/int64(buckets)+1, 1)
	var xys plotter.XYs
	for i := 0; i < len(pts); {
		b := (pts[i].TS - first) / width
		j := i
		lowest, highest := i, i
		for j < len(pts) && (pts[j].TS-first)/width == b {
			if pts[j].Price < pts[lowest].Price {
				lowest = j
			}
			if pts[j].Price > pts[highest].Price {
				highest = j
			}
			j++
		}
		keep := []int{i, lowest, highest, j - 1}
		// In time order, without repeats.
		for a := 1; a < len(keep); a++ {
			for b := a; b > 0 && keep[b] < keep[b-1]; b-- {
				keep[b], keep[b-1] = keep[b-1], keep[b]
			}
		}
		for k, idx := range keep {
			if k > 0 && idx == keep[k-1] {
				continue
			}
			xys = append(xys, plotter.XY{X: unixSeconds(pts[idx].TS), Y: pts[idx].Price})
		}
		i = j
	}
	return xys
}

// clockTicks labels a time axis (Unix seconds) at round clock times: the smallest step of
// 1, 2, 5, 10, 15 or 30 seconds, minutes or hours, or days, that gives at most eight ticks. Labels
// are clock times (dates from a one-day step on); the axis label names the date.
type clockTicks struct{}

var clockSteps = []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400}

func (clockTicks) Ticks(lo, hi float64) []plot.Tick {
	step := clockSteps[len(clockSteps)-1]
	for _, s := range clockSteps {
		if (hi-lo)/s <= 8 {
			step = s
			break
		}
	}
	format := "15:04"
	switch {
	case step >= 86400:
		format = "2006-01-02"
	case step < 60:
		format = "15:04:05"
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: time.Unix(int64(v), 0).UTC().Format(format)})
	}
	return ticks
}
