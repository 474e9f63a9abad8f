package reports

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// CI is a confidence interval.
type CI struct {
	Low, High float64
}

// ComparisonRow is one detector's precision, recall and F1 at the run's thresholds, with
// confidence intervals when the caller computed them (all three or none).
type ComparisonRow struct {
	Detector  string
	Precision float64
	Recall    float64
	F1        float64
	// PrecisionCI, RecallCI and F1CI are nil when no interval is available.
	PrecisionCI *CI
	RecallCI    *CI
	F1CI        *CI
}

func (r *ComparisonRow) check() error {
	for _, v := range []struct {
		name string
		x    float64
		ci   *CI
	}{{"precision", r.Precision, r.PrecisionCI}, {"recall", r.Recall, r.RecallCI}, {"F1", r.F1, r.F1CI}} {
		if math.IsNaN(v.x) || v.x < 0 || v.x > 1 {
			return fmt.Errorf("detector %q: %s %v not in [0, 1]", r.Detector, v.name, v.x)
		}
		if v.ci != nil && !(v.ci.Low >= 0 && v.ci.Low <= v.ci.High && v.ci.High <= 1) {
			return fmt.Errorf("detector %q: %s interval [%v, %v] is not an interval within [0, 1]", r.Detector, v.name, v.ci.Low, v.ci.High)
		}
	}
	return nil
}

// ComparisonFigure returns the detector comparison chart, named "comparison": precision, recall
// and F1 per detector as grouped bars, with interval whiskers where given. ciNote says what the
// intervals are (for the caption); empty when there are none.
func ComparisonFigure(rows []ComparisonRow, ciNote string) (*Figure, error) {
	for i := range rows {
		if err := rows[i].check(); err != nil {
			return nil, err
		}
	}
	caption := "Precision, recall and F1 of each detector at the run's thresholds (min_score)."
	if ciNote != "" {
		caption += " Whiskers: " + ciNote + "."
	}
	return &Figure{
		Name: "comparison", Title: "Detector comparison", Caption: caption,
		Width: plotWidth, Height: plotHeight,
		draw: func(dc draw.Canvas) error { return drawComparison(dc, rows) },
	}, nil
}

// bars is a plotter of rectangles in data coordinates, one per (x, height), all of one colour.
type bars struct {
	xs, heights []float64
	width       float64
	color       color.Color
}

func (b *bars) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	for i, x := range b.xs {
		pts := []vg.Point{
			{X: trX(x - b.width/2), Y: trY(0)}, {X: trX(x + b.width/2), Y: trY(0)},
			{X: trX(x + b.width/2), Y: trY(b.heights[i])}, {X: trX(x - b.width/2), Y: trY(b.heights[i])},
		}
		c.FillPolygon(b.color, c.ClipPolygonXY(pts))
	}
}

func (b *bars) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}}
	c.FillPolygon(b.color, pts)
}

// whiskers is a plotter of vertical interval bars with caps, in data coordinates.
type whiskers struct {
	xs  []float64
	cis []CI
	cap float64 // half-width of the caps, in x data units
}

func (w *whiskers) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	style := draw.LineStyle{Color: color.Black, Width: vg.Points(1.2)}
	for i, x := range w.xs {
		lo, hi := trY(w.cis[i].Low), trY(w.cis[i].High)
		c.StrokeLine2(style, trX(x), lo, trX(x), hi)
		c.StrokeLine2(style, trX(x-w.cap), lo, trX(x+w.cap), lo)
		c.StrokeLine2(style, trX(x-w.cap), hi, trX(x+w.cap), hi)
	}
}

func (w *whiskers) Thumbnail(c *draw.Canvas) {
	style := draw.LineStyle{Color: color.Black, Width: vg.Points(1.2)}
	mx := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(style, mx, c.Min.Y, mx, c.Max.Y)
	c.StrokeLine2(style, mx-vg.Points(3), c.Min.Y, mx+vg.Points(3), c.Min.Y)
	c.StrokeLine2(style, mx-vg.Points(3), c.Max.Y, mx+vg.Points(3), c.Max.Y)
}

func drawComparison(dc draw.Canvas, rows []ComparisonRow) error {
	p := newPlot("Detector comparison at the run's thresholds", "Detector", "Value (share, 0–1)")
	p.Y.Min, p.Y.Max = 0, 1.05
	p.Y.Tick.Marker = plot.ConstantTicks(unitTicks())
	p.X.Min, p.X.Max = -0.6, math.Max(float64(len(rows))-0.4, 0.6)
	var ticks []plot.Tick
	for i, r := range rows {
		ticks = append(ticks, plot.Tick{Value: float64(i), Label: r.Detector})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	if len(rows) > 5 {
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	}

	legend := newLegend()
	const width = 0.26
	var w whiskers
	w.cap = width / 5
	for k, m := range []struct {
		name  string
		col   color.Color
		value func(*ComparisonRow) (float64, *CI)
	}{
		{"precision", precisionColor, func(r *ComparisonRow) (float64, *CI) { return r.Precision, r.PrecisionCI }},
		{"recall", recallColor, func(r *ComparisonRow) (float64, *CI) { return r.Recall, r.RecallCI }},
		{"F1", f1Color, func(r *ComparisonRow) (float64, *CI) { return r.F1, r.F1CI }},
	} {
		b := &bars{width: width, color: m.col}
		for i := range rows {
			x := float64(i) + float64(k-1)*(width+0.02)
			v, ci := m.value(&rows[i])
			b.xs = append(b.xs, x)
			b.heights = append(b.heights, v)
			if ci != nil {
				w.xs = append(w.xs, x)
				w.cis = append(w.cis, *ci)
			}
		}
		p.Add(b)
		legend.Add(m.name, b)
	}
	if len(w.xs) > 0 {
		p.Add(&w)
		legend.Add("confidence interval", &w)
	}
	if len(rows) == 0 {
		legend.Add("no detector ran")
	}
	drawWithLegendPanel(dc, p, legend)
	return nil
}
