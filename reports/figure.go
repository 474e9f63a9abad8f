package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"path/filepath"
	"strings"
	"sync"
	"time"

	vgpdfdoc "codeberg.org/go-pdf/fpdf"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure is one chart of a report: a file stem, the words around it in documents, its size and
// how to draw it. Figures are built by the constructors of this package (PRFigure,
// ThresholdFigure, ...), which check their data first, so drawing does not fail on bad numbers.
type Figure struct {
	// Name is the file stem: the figure is written as <Name>.png (and <Name>.pdf for vector).
	Name string
	// Title heads the figure in the PDF and HTML reports; Caption explains it below.
	Title   string
	Caption string
	Width   vg.Length
	Height  vg.Length
	draw    func(dc draw.Canvas) error
}

// Figure formats: PNG at FigureDPI, or a vector PDF.
const (
	FormatPNG = "png"
	FormatPDF = "pdf"
	FormatSVG = "svg"
	// FigureDPI is the PNG resolution: an 8-inch-wide figure is 1200 pixels, sharp on screen and
	// when the PDF report is printed at its 17 cm width.
	FigureDPI = 150
)

// Render draws the figure as PNG, PDF or SVG bytes. The same figure always gives the same bytes.
func (f *Figure) Render(format string) ([]byte, error) {
	var canvas vg.CanvasWriterTo
	switch format {
	case FormatPNG:
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(f.Width, f.Height), vgimg.UseDPI(FigureDPI))}
	case FormatPDF:
		fixVectorPDFDates()
		canvas = vgpdf.New(f.Width, f.Height)
	case FormatSVG:
		canvas = vgsvg.New(f.Width, f.Height)
	default:
		return nil, fmt.Errorf("figure %s: unsupported format %q (want png, pdf or svg)", f.Name, format)
	}
	if err := f.draw(draw.New(canvas)); err != nil {
		return nil, fmt.Errorf("figure %s: %w", f.Name, err)
	}
	var buf bytes.Buffer
	if _, err := canvas.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("figure %s: %w", f.Name, err)
	}
	return buf.Bytes(), nil
}

// Save renders the figure in the format of path's extension (.png, .pdf or .svg) and writes it
// atomically.
func (f *Figure) Save(path string) error {
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	b, err := f.Render(format)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return WriteFileAtomic(path, b)
}

var vectorDatesOnce sync.Once

// fixVectorPDFDates makes gonum's PDF canvas deterministic. The canvas builds its document with
// the codeberg fpdf package, which stamps the current time as creation date unless a default is
// set, and offers no per-document setter through gonum; fds is the only user of that package in
// the process, so fixing its defaults once is safe. The date is a constant: a figure file has no
// run-derived date of its own, and a constant keeps two renders byte-identical.
func fixVectorPDFDates() {
	vectorDatesOnce.Do(func() {
		fixed := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		vgpdfdoc.SetDefaultCreationDate(fixed)
		vgpdfdoc.SetDefaultModificationDate(fixed)
		vgpdfdoc.SetDefaultCatalogSort(true)
	})
}

// Shared looks of every chart.

// sans is the Liberation Sans face bundled with gonum/plot: crisper than the default serif at
// small sizes.
func sans(size vg.Length) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
}

var gridGray = color.Gray{Y: 205}

// newPlot returns a plot with the report's title and axis fonts and a light grid.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := newPlainPlot(title, xLabel, yLabel)
	grid := plotter.NewGrid()
	grid.Vertical.Color = gridGray
	grid.Horizontal.Color = gridGray
	p.Add(grid)
	return p
}

// newPlainPlot is newPlot without the grid.
func newPlainPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = sans(15)
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = sans(12)
		ax.Tick.Label.Font = sans(10)
	}
	return p
}

// newLegend returns a legend for a side panel, entries from the top.
func newLegend() plot.Legend {
	l := plot.NewLegend()
	l.Top, l.Left = true, true
	l.TextStyle.Font = sans(10)
	l.Padding = vg.Points(3)
	l.ThumbnailWidth = 0.45 * vg.Inch
	return l
}

// seriesColor is the colour of the i-th series (detector) of a chart: the same detector index
// gets the same colour in every chart of a report.
func seriesColor(i int) color.Color { return plotutil.DarkColors[i%len(plotutil.DarkColors)] }

// drawWithLegendPanel draws p and, in a panel at its right, the legend, so that the legend never
// hides data. The panel is as wide as the longest entry within [minLegendWidth, maxLegendWidth].
func drawWithLegendPanel(dc draw.Canvas, p *plot.Plot, legend plot.Legend) {
	pad := vg.Points(10)
	r := legend.Rectangle(dc)
	legendWidth := min(max(r.Max.X-r.Min.X+2*pad, minLegendWidth), maxLegendWidth)
	p.Draw(draw.Crop(dc, 0, -legendWidth, 0, -vg.Points(6)))
	legend.Draw(draw.Crop(dc, dc.Max.X-dc.Min.X-legendWidth+pad, -pad, pad, -0.6*vg.Inch))
}

// legendWidthFor is the width drawWithLegendPanel gives a legend.
func legendWidthFor(dc draw.Canvas, legend plot.Legend) vg.Length {
	r := legend.Rectangle(dc)
	return min(max(r.Max.X-r.Min.X+2*vg.Points(10), minLegendWidth), maxLegendWidth)
}

// fileStem turns a name (a detector's) into a safe file-name part: lower-case letters, digits,
// '_' and '-'; anything else becomes '_'.
func fileStem(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}
