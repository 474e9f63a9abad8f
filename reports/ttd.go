package reports

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// TTDSeries is one detector's time-to-detect values in seconds, one per detected incident: the
// first eligible alert's ts minus the incident's start (negative when the alert came in the lead
// window before the start).
type TTDSeries struct {
	Name    string
	Seconds []float64
}

// TTDFigure returns the time-to-detect distributions as empirical CDFs, one line per detector,
// named "ttd". A series without values is listed in the legend as having detected nothing.
func TTDFigure(series []TTDSeries) (*Figure, error) {
	for _, s := range series {
		for i, v := range s.Seconds {
			if !finite(v) {
				return nil, fmt.Errorf("time-to-detect series %q: value %d is %v", s.Name, i, v)
			}
		}
	}
	return &Figure{
		Name: "ttd", Title: "Time to detect",
		Caption: "Empirical distribution of the time from each detected incident's labelled start to the detector's " +
			"first eligible alert: the curve at x is the share of detected incidents detected within x seconds. " +
			"Negative times are alerts in the lead window before the start.",
		Width: plotWidth, Height: plotHeight,
		draw: func(dc draw.Canvas) error { return drawTTD(dc, series) },
	}, nil
}

func drawTTD(dc draw.Canvas, series []TTDSeries) error {
	p := newPlot("Time to detect by detector", "Time to detect (incident start to first alert)", "Share of detected incidents")
	p.Y.Min, p.Y.Max = 0, 1.02
	p.Y.Tick.Marker = plot.ConstantTicks(unitTicks())
	lo, hi := 0.0, 1.0
	for _, s := range series {
		for _, v := range s.Seconds {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	// Detection times run from sub-second (trade-level patterns) to hours (windowed patterns): a
	// symmetric log axis keeps both readable and still shows zero and negative times. The values
	// are transformed here and drawn on a linear axis (gonum places axis labels by the data
	// midpoint, which a non-linear scale moves off centre).
	scale := func(x float64) float64 { return x }
	if max(-lo, hi) > 120 {
		scale = symLogF
		p.X.Tick.Marker = symLogTicks{}
		p.X.Label.Text = "Time to detect (symmetric log scale)"
	} else {
		p.X.Tick.Marker = durationTicks{}
	}
	span := scale(hi) - scale(lo)
	p.X.Min, p.X.Max = scale(lo)-0.03*span, scale(hi)+0.03*span

	legend := newLegend()
	for i, s := range series {
		if len(s.Seconds) == 0 {
			legend.Add(s.Name + "  (nothing detected)")
			continue
		}
		v := append([]float64(nil), s.Seconds...)
		sort.Float64s(v)
		scaled := make([]float64, len(v))
		for i, x := range v {
			scaled[i] = scale(x)
		}
		line, err := plotter.NewLine(ecdfSteps(scaled, p.X.Min, p.X.Max))
		if err != nil {
			return fmt.Errorf("series %q: %w", s.Name, err)
		}
		line.Color, line.Width, line.Dashes = seriesColor(i), vg.Points(2), plotutil.Dashes(i)
		p.Add(line)
		legend.Add(fmt.Sprintf("%s  n=%d, median %s", s.Name, len(v), formatSeconds(median(v))), line)
	}
	if len(series) == 0 {
		legend.Add("no detector ran")
	}
	drawWithLegendPanel(dc, p, legend)
	return nil
}

// ecdfSteps returns the empirical CDF of sorted values as a step line from lo to hi: 0 before the
// first value, k/n from the k-th value on.
func ecdfSteps(sorted []float64, lo, hi float64) plotter.XYs {
	n := float64(len(sorted))
	xys := plotter.XYs{{X: min(lo, sorted[0]), Y: 0}}
	for i, v := range sorted {
		if i+1 < len(sorted) && sorted[i+1] == v {
			continue // ties jump once, to the share at the last of them
		}
		xys = append(xys, plotter.XY{X: v, Y: xys[len(xys)-1].Y}, plotter.XY{X: v, Y: float64(i+1) / n})
	}
	return append(xys, plotter.XY{X: max(hi, sorted[len(sorted)-1]), Y: 1})
}

// median of sorted values, the mean of the middle two for an even count (as backtest's Quantile).
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// formatSeconds writes a duration in seconds with a unit a reader takes in at a glance.
func formatSeconds(s float64) string {
	a := math.Abs(s)
	switch {
	case a < 120:
		return fmt.Sprintf("%.1f s", s)
	case a < 2*3600:
		return fmt.Sprintf("%.1f min", s/60)
	case a < 2*86400:
		return fmt.Sprintf("%.1f h", s/3600)
	}
	return fmt.Sprintf("%.1f d", s/86400)
}

// symLogF is the symmetric log transform sign(x)·log10(1+|x|): linear near zero and logarithmic
// far from it, so zero and negative values stay on the axis.
func symLogF(x float64) float64 { return math.Copysign(math.Log10(1+math.Abs(x)), x) }

// symLogTicks puts labelled ticks, on an axis of symLogF-transformed seconds, at 0 and at round
// durations (10 s, 1 min, 10 min, 1 h, 6 h, 1 d, 7 d) on both sides, within the axis range. The
// scale is used for ranges beyond two minutes, where a 1 s tick would crowd the 0 tick.
type symLogTicks struct{}

var roundDurations = []struct {
	s     float64
	label string
}{{10, "10 s"}, {60, "1 min"}, {600, "10 min"}, {3600, "1 h"}, {6 * 3600, "6 h"}, {86400, "1 d"}, {7 * 86400, "7 d"}}

func (symLogTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for i := len(roundDurations) - 1; i >= 0; i-- {
		if d := roundDurations[i]; symLogF(-d.s) >= lo {
			ticks = append(ticks, plot.Tick{Value: symLogF(-d.s), Label: "−" + d.label})
		}
	}
	if lo <= 0 && hi >= 0 {
		ticks = append(ticks, plot.Tick{Value: 0, Label: "0"})
	}
	for _, d := range roundDurations {
		if symLogF(d.s) <= hi {
			ticks = append(ticks, plot.Tick{Value: symLogF(d.s), Label: d.label})
		}
	}
	return ticks
}

// durationTicks are gonum's default tick positions labelled with a seconds unit.
type durationTicks struct{}

func (durationTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label += " s"
		}
	}
	return ticks
}
