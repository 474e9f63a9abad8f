package reports

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// PRSeries is one detector's PR curve as the plot draws it.
type PRSeries struct {
	Name             string
	AveragePrecision float64
	// Recall and Precision are the curve's points by descending score threshold (growing
	// recall), one pair per distinct threshold.
	Recall    []float64
	Precision []float64
	// Operating, when set, is marked on the curve: the point of the run's min_score.
	Operating *PRMark
}

// PRMark is an operating point.
type PRMark struct {
	Recall    float64
	Precision float64
	Threshold float64
}

// The plot is 8 × 6 inches; as PNG at 150 dpi that is 1200 × 900 pixels.
const (
	plotWidth  = 8 * vg.Inch
	plotHeight = 6 * vg.Inch
	// The legend sits in a panel right of the axes, so that it never hides a curve; the panel
	// is as wide as the longest entry, within these bounds.
	minLegendWidth = 1.5 * vg.Inch
	maxLegendWidth = 3.5 * vg.Inch
)

// PlotPRCurves draws one precision/recall curve per series and writes it to path, as PNG
// (1200 × 900 px), PDF or SVG according to the extension. Each curve is drawn as the step
// function whose area is its average precision: from recall R_{k−1} to R_k at precision P_k.
// The legend, in a panel beside the axes, gives each series' AP and its operating point.
func PlotPRCurves(path string, series []PRSeries) error {
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if format != FormatPNG && format != FormatPDF && format != FormatSVG {
		return fmt.Errorf("%s: unsupported plot format %q (want .png, .pdf or .svg)", path, format)
	}
	f, err := PRFigure(series)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Save(path)
}

// PRFigure checks the series and returns the PR plot as a report figure named "pr_curve".
func PRFigure(series []PRSeries) (*Figure, error) {
	for _, s := range series {
		if err := s.check(); err != nil {
			return nil, err
		}
	}
	return &Figure{
		Name: "pr_curve", Title: "Precision–recall curves",
		Caption: "Each detector's precision against recall as its score threshold falls, drawn as the step " +
			"function whose area is the average precision (AP, in the legend). The ringed dot is the run's " +
			"operating point, its min_score.",
		Width: plotWidth, Height: plotHeight,
		draw: func(dc draw.Canvas) error { return drawPR(dc, series) },
	}, nil
}

func (s *PRSeries) check() error {
	if len(s.Recall) != len(s.Precision) {
		return fmt.Errorf("series %q: %d recall values but %d precision values", s.Name, len(s.Recall), len(s.Precision))
	}
	unit := func(what string, i int, v float64) error {
		if math.IsNaN(v) || v < 0 || v > 1 {
			return fmt.Errorf("series %q: point %d: %s %v not in [0, 1]", s.Name, i, what, v)
		}
		return nil
	}
	for i := range s.Recall {
		if err := unit("recall", i, s.Recall[i]); err != nil {
			return err
		}
		if err := unit("precision", i, s.Precision[i]); err != nil {
			return err
		}
	}
	if m := s.Operating; m != nil {
		if err := unit("operating recall", 0, m.Recall); err != nil {
			return err
		}
		if err := unit("operating precision", 0, m.Precision); err != nil {
			return err
		}
	}
	return nil
}

func drawPR(dc draw.Canvas, series []PRSeries) error {
	p := newPlot("Precision–recall by detector", "Recall (share of labelled incidents detected)", "Precision (share of alerts that are true)")
	p.Title.TextStyle.Font = sans(16)
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = sans(13)
		ax.Tick.Label.Font = sans(11)
		ax.Tick.Marker = plot.ConstantTicks(unitTicks())
	}
	legend := newLegend()

	for i, s := range series {
		col := seriesColor(i)
		name := fmt.Sprintf("%s  AP %.3f", s.Name, s.AveragePrecision)
		if len(s.Recall) == 0 {
			legend.Add(s.Name + "  (no alerts)")
			continue
		}
		line, err := plotter.NewLine(stepXYs(s.Recall, s.Precision))
		if err != nil {
			return fmt.Errorf("series %q: %w", s.Name, err)
		}
		line.Color = col
		line.Width = vg.Points(2)
		line.Dashes = plotutil.Dashes(i)
		p.Add(line)
		legend.Add(name, line)
		if m := s.Operating; m != nil {
			dot, err := plotter.NewScatter(plotter.XYs{{X: m.Recall, Y: m.Precision}})
			if err != nil {
				return fmt.Errorf("series %q: %w", s.Name, err)
			}
			dot.Shape = draw.CircleGlyph{}
			dot.Color = col
			dot.Radius = vg.Points(5)
			ring, _ := plotter.NewScatter(plotter.XYs{{X: m.Recall, Y: m.Precision}})
			ring.Shape = draw.RingGlyph{}
			ring.Color = color.Black
			ring.Radius = vg.Points(6)
			p.Add(dot, ring)
			legend.Add(fmt.Sprintf("  min_score %s: P %.3f R %.3f", formatThreshold(m.Threshold), m.Precision, m.Recall), dot, ring)
		}
	}
	if len(series) == 0 {
		legend.Add("no detector ran")
	}
	// Fixed unit ranges (with a little headroom above precision 1) make plots of different runs
	// comparable at a glance.
	p.X.Min, p.X.Max = 0, 1
	p.Y.Min, p.Y.Max = 0, 1.02

	drawWithLegendPanel(dc, p, legend)
	return nil
}

// stepXYs turns a curve's points into the vertices of its AP step function, starting at recall 0.
func stepXYs(recall, precision []float64) plotter.XYs {
	xys := make(plotter.XYs, 0, 2*len(recall))
	prev := 0.0
	for i := range recall {
		xys = append(xys, plotter.XY{X: prev, Y: precision[i]}, plotter.XY{X: recall[i], Y: precision[i]})
		prev = recall[i]
	}
	return xys
}

func unitTicks() []plot.Tick {
	var ticks []plot.Tick
	for i := 0; i <= 10; i++ {
		v := float64(i) / 10
		t := plot.Tick{Value: v}
		if i%2 == 0 {
			t.Label = fmt.Sprintf("%.1f", v)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

func formatThreshold(v float64) string {
	return fmt.Sprintf("%.4g", v)
}
