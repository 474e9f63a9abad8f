package reports

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ThresholdSeries is one detector's figures as a function of the score threshold: point k keeps
// the alerts scoring at least Threshold[k]. Points are by descending threshold, as backtest's
// Curve gives them, one per distinct score.
type ThresholdSeries struct {
	Name         string
	Threshold    []float64
	Precision    []float64
	Recall       []float64
	F1           []float64
	AlertsPerDay []float64
	// MinScore is the run's min_score: no alert below it was recorded, so the curves start there.
	MinScore float64
}

func (s *ThresholdSeries) check() error {
	n := len(s.Threshold)
	if len(s.Precision) != n || len(s.Recall) != n || len(s.F1) != n || len(s.AlertsPerDay) != n {
		return fmt.Errorf("threshold series %q: columns of different lengths (%d thresholds, %d precision, %d recall, %d F1, %d alerts/day)",
			s.Name, n, len(s.Precision), len(s.Recall), len(s.F1), len(s.AlertsPerDay))
	}
	if n == 0 {
		return fmt.Errorf("threshold series %q: no points", s.Name)
	}
	if !finite(s.MinScore) {
		return fmt.Errorf("threshold series %q: min_score %v is not finite", s.Name, s.MinScore)
	}
	for i := 0; i < n; i++ {
		if !finite(s.Threshold[i]) || (i > 0 && !(s.Threshold[i] < s.Threshold[i-1])) {
			return fmt.Errorf("threshold series %q: point %d: thresholds must be finite and strictly descending", s.Name, i)
		}
		for _, v := range []float64{s.Precision[i], s.Recall[i], s.F1[i]} {
			if math.IsNaN(v) || v < 0 || v > 1 {
				return fmt.Errorf("threshold series %q: point %d: precision, recall and F1 must lie in [0, 1]", s.Name, i)
			}
		}
		if !finite(s.AlertsPerDay[i]) || s.AlertsPerDay[i] < 0 {
			return fmt.Errorf("threshold series %q: point %d: alerts/day %v is not a finite non-negative number", s.Name, i, s.AlertsPerDay[i])
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// bestF1 returns the index of the highest F1, ties to the higher threshold (fewer alerts), as
// backtest's Curve.BestF1 chooses.
func (s *ThresholdSeries) bestF1() int {
	best := 0
	for i, f := range s.F1 {
		if f > s.F1[best] {
			best = i
		}
	}
	return best
}

// ThresholdFigure returns a detector's threshold curves, named "thresholds_<detector>": precision,
// recall and F1 (top) and alerts per day (bottom) against the score threshold.
func ThresholdFigure(s ThresholdSeries) (*Figure, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	b := s.bestF1()
	return &Figure{
		Name:  "thresholds_" + fileStem(s.Name),
		Title: "Threshold curves: " + s.Name,
		Caption: fmt.Sprintf("Precision, recall and F1 (top) and alerts per day (bottom) of %s when only alerts scoring at least "+
			"the threshold are kept. The curves start at the run's min_score %s: lower scores were never recorded. "+
			"Best F1 %.3f at threshold %s (dotted line).", s.Name, formatThreshold(s.MinScore), s.F1[b], formatThreshold(s.Threshold[b])),
		Width: plotWidth, Height: plotHeight,
		draw: func(dc draw.Canvas) error { return drawThresholds(dc, s) },
	}, nil
}

// thresholdSteps returns the step function of values over thresholds: the value of point k holds
// for thresholds in (Threshold[k+1], Threshold[k]], and the last point's down to lo.
func thresholdSteps(th, v []float64, lo float64) plotter.XYs {
	n := len(th)
	xys := make(plotter.XYs, 0, 2*n)
	xys = append(xys, plotter.XY{X: lo, Y: v[n-1]})
	for k := n - 1; k >= 0; k-- {
		xys = append(xys, plotter.XY{X: th[k], Y: v[k]})
		if k > 0 {
			xys = append(xys, plotter.XY{X: th[k], Y: v[k-1]})
		}
	}
	return xys
}

var (
	precisionColor = color.RGBA{R: 0x1f, G: 0x5f, B: 0xbf, A: 0xff}
	recallColor    = color.RGBA{R: 0xd9, G: 0x6b, B: 0x00, A: 0xff}
	f1Color        = color.RGBA{R: 0x2a, G: 0x8a, B: 0x3a, A: 0xff}
	loadColor      = color.RGBA{R: 0x6a, G: 0x3d, B: 0x9a, A: 0xff}
)

func drawThresholds(dc draw.Canvas, s ThresholdSeries) error {
	n := len(s.Threshold)
	lo := min(s.MinScore, s.Threshold[n-1])
	hi := s.Threshold[0]
	if hi-lo < 1e-9 {
		lo, hi = lo-0.05, hi+0.05
	}
	pad := (hi - lo) * 0.02
	best := s.Threshold[s.bestF1()]

	top := newPlot("Threshold curves: "+s.Name, "", "Share (0–1)")
	top.Y.Min, top.Y.Max = 0, 1.02
	top.Y.Tick.Marker = plot.ConstantTicks(unitTicks())
	bottom := newPlot("", "Score threshold (alerts scoring at least this are kept)", "Alerts per day")
	for _, p := range []*plot.Plot{top, bottom} {
		p.X.Min, p.X.Max = lo-pad, hi+pad
	}

	legend := newLegend()
	for _, c := range []struct {
		name   string
		values []float64
		col    color.Color
		dashes []vg.Length
	}{
		{"precision", s.Precision, precisionColor, nil},
		{"recall", s.Recall, recallColor, []vg.Length{vg.Points(6), vg.Points(3)}},
		{"F1", s.F1, f1Color, []vg.Length{vg.Points(2), vg.Points(2)}},
	} {
		line, err := plotter.NewLine(thresholdSteps(s.Threshold, c.values, lo))
		if err != nil {
			return err
		}
		line.Color, line.Width, line.Dashes = c.col, vg.Points(2), c.dashes
		top.Add(line)
		legend.Add(c.name, line)
	}
	maxLoad, minLoad := 0.0, math.Inf(1)
	for _, v := range s.AlertsPerDay {
		maxLoad = max(maxLoad, v)
		if v > 0 {
			minLoad = min(minLoad, v)
		}
	}
	// Alerts per day can span orders of magnitude from the strictest threshold to the loosest;
	// a log axis keeps both ends readable. The values are drawn as log10 on a linear axis with
	// labels in alerts per day (gonum places axis labels by the data midpoint, which a log
	// scale moves off centre).
	loads := s.AlertsPerDay
	if minLoad > 0 && maxLoad/minLoad > 30 {
		loads = make([]float64, len(s.AlertsPerDay))
		for i, v := range s.AlertsPerDay {
			loads[i] = math.Log10(v)
		}
		bottom.Y.Tick.Marker = log10Ticks{}
		bottom.Y.Min, bottom.Y.Max = math.Log10(minLoad)-0.15, math.Log10(maxLoad)+0.15
		bottom.Y.Label.Text = "Alerts per day (log scale)"
	} else {
		bottom.Y.Min, bottom.Y.Max = 0, max(maxLoad*1.1, 1)
	}
	load, err := plotter.NewLine(thresholdSteps(s.Threshold, loads, lo))
	if err != nil {
		return err
	}
	load.Color, load.Width = loadColor, vg.Points(2)
	bottom.Add(load)
	legend.Add("alerts per day", load)

	for _, p := range []*plot.Plot{top, bottom} {
		ymin, ymax := p.Y.Min, p.Y.Max
		mark, err := plotter.NewLine(plotter.XYs{{X: best, Y: ymin}, {X: best, Y: ymax}})
		if err != nil {
			return err
		}
		mark.Color, mark.Width, mark.Dashes = color.Gray{Y: 60}, vg.Points(1), []vg.Length{vg.Points(1), vg.Points(3)}
		p.Add(mark)
		if p == top {
			legend.Add(fmt.Sprintf("best F1 %.3f at %s", s.F1[s.bestF1()], formatThreshold(best)), mark)
		}
	}

	lw := legendWidthFor(dc, legend)
	area := draw.Crop(dc, 0, -lw, 0, -vg.Points(6))
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadY: vg.Points(6)}
	canvases := plot.Align([][]*plot.Plot{{top}, {bottom}}, tiles, area)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	legend.Draw(draw.Crop(dc, dc.Max.X-dc.Min.X-lw+vg.Points(10), -vg.Points(10), vg.Points(10), -0.6*vg.Inch))
	return nil
}

// log10Ticks labels an axis of log10 values at 1, 2 and 5 times powers of ten, in the original
// unit.
type log10Ticks struct{}

func (log10Ticks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(lo); e <= math.Ceil(hi); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if x := math.Log10(v); x >= lo && x <= hi {
				ticks = append(ticks, plot.Tick{Value: x, Label: strconv.FormatFloat(v, 'g', -1, 64)})
			}
		}
	}
	return ticks
}
