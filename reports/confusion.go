package reports

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Confusion says which detector fired on which type of incident: Counts[d][t] is the number of
// detector d's alerts that fall inside an incident of type Types[t] (same symbol, ts within the
// incident's matching window, sharing an account when the incident names any). An alert inside
// incidents of two types counts in both columns; Outside counts the alerts inside none.
type Confusion struct {
	Detectors []string
	// Own is the incident type each detector detects, by detector.
	Own     []string
	Types   []string
	Counts  [][]int
	Outside []int
	// Alerts is each detector's number of alerts.
	Alerts []int
}

func (c *Confusion) check() error {
	n := len(c.Detectors)
	if len(c.Own) != n || len(c.Counts) != n || len(c.Outside) != n || len(c.Alerts) != n {
		return fmt.Errorf("confusion table: %d detectors but %d own types, %d count rows, %d outside counts, %d alert counts",
			n, len(c.Own), len(c.Counts), len(c.Outside), len(c.Alerts))
	}
	for i, row := range c.Counts {
		if len(row) != len(c.Types) {
			return fmt.Errorf("confusion table: detector %q has %d counts for %d types", c.Detectors[i], len(row), len(c.Types))
		}
	}
	return nil
}

// ConfusionFigure returns the confusion table as a heat map, named "confusion": one row per
// detector, one column per incident type and one for alerts inside no incident; each cell shows
// the count and is shaded by its share of the detector's alerts, the detector's own type framed.
func ConfusionFigure(c Confusion) (*Figure, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	h := 1.6*vg.Inch + vg.Length(max(len(c.Detectors), 1))*0.55*vg.Inch
	return &Figure{
		Name: "confusion", Title: "Alerts by incident type",
		Caption: "Alerts of each detector (rows) that fall inside labelled incidents of each type (columns): same symbol, " +
			"within the incident's matching window, sharing an account when the incident names accounts. The framed cell is " +
			"the type the detector is scored on; \"no incident\" counts alerts inside none. Shading: share of the detector's alerts.",
		Width: plotWidth, Height: h,
		draw: func(dc draw.Canvas) error { return drawConfusion(dc, c) },
	}, nil
}

// cells is a plotter drawing the table's cells with their counts.
type cells struct {
	c    Confusion
	font text.Style
}

func (cl *cells) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	nt := len(cl.c.Types)
	for d := range cl.c.Detectors {
		y := float64(len(cl.c.Detectors) - 1 - d) // first detector on top
		for t := 0; t <= nt; t++ {
			count := cl.c.Outside[d]
			if t < nt {
				count = cl.c.Counts[d][t]
			}
			share := 0.0
			if cl.c.Alerts[d] > 0 {
				share = float64(count) / float64(cl.c.Alerts[d])
			}
			x := float64(t)
			rect := []vg.Point{
				{X: trX(x - 0.48), Y: trY(y - 0.45)}, {X: trX(x + 0.48), Y: trY(y - 0.45)},
				{X: trX(x + 0.48), Y: trY(y + 0.45)}, {X: trX(x - 0.48), Y: trY(y + 0.45)},
			}
			c.FillPolygon(shareColor(share), rect)
			if t < nt && cl.c.Types[t] == cl.c.Own[d] {
				c.StrokeLines(draw.LineStyle{Color: color.Black, Width: vg.Points(2)}, append(rect, rect[0]))
			}
			sty := cl.font
			if share > 0.55 {
				sty.Color = color.White
			}
			c.FillText(sty, vg.Point{X: trX(x), Y: trY(y)}, fmt.Sprint(count))
		}
	}
}

func drawConfusion(dc draw.Canvas, c Confusion) error {
	// No grid: it would cross the cells.
	p := newPlainPlot("Alerts of each detector inside incidents of each type", "Labelled incident type", "Detector")
	p.Title.TextStyle.Font = sans(13)
	nt, nd := len(c.Types), len(c.Detectors)
	p.X.Min, p.X.Max = -0.5, float64(nt)+0.5
	p.Y.Min, p.Y.Max = -0.5, float64(max(nd, 1))-0.5
	var xt, yt []plot.Tick
	for t, name := range c.Types {
		xt = append(xt, plot.Tick{Value: float64(t), Label: name})
	}
	xt = append(xt, plot.Tick{Value: float64(nt), Label: "no incident"})
	for d, name := range c.Detectors {
		yt = append(yt, plot.Tick{Value: float64(nd - 1 - d), Label: name})
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.ConstantTicks(xt), plot.ConstantTicks(yt)
	if nt > 3 {
		p.X.Tick.Label.Rotation = math30
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	}
	p.X.Tick.Length, p.Y.Tick.Length = 0, 0
	p.X.LineStyle.Width, p.Y.LineStyle.Width = 0, 0
	font := text.Style{Color: color.Black, Font: sans(12), XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}
	p.Add(&cells{c: c, font: font})
	if nd == 0 {
		l, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: float64(nt) / 2, Y: 0}}, Labels: []string{"no detector ran"}})
		if err != nil {
			return err
		}
		p.Add(l)
	}
	p.Draw(draw.Crop(dc, 0, -vg.Points(10), 0, -vg.Points(6)))
	return nil
}

// math30 is 30° in radians: long column labels are tilted by it.
const math30 = 0.5235987755982988

// shareColor runs from white (share 0) to a dark blue (share 1); the cell text turns white above
// a share of 0.55.
func shareColor(share float64) color.Color {
	share = min(max(share, 0), 1)
	mix := func(from, to float64) uint8 { return uint8(math.Round(from + (to-from)*share)) }
	return color.RGBA{R: mix(255, 25), G: mix(255, 70), B: mix(255, 190), A: 255}
}
