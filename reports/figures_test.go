package reports

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"
)

// compareGolden compares a rendered PNG with testdata/<name>.png, allowing small differences
// (anti-aliasing, font rasteriser updates): a pixel differs when a channel moves by more than 48
// of 255, and at most 0.2% of pixels may. With -regen the golden file is rewritten first; look at
// it before committing.
func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden := filepath.Join("testdata", name+".png")
	if *regen {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", golden)
	}
	img, err := png.Decode(bytes.NewReader(got))
	if err != nil {
		t.Fatalf("%s: rendered PNG does not decode: %v", name, err)
	}
	want := decodePNG(t, golden)
	if img.Bounds() != want.Bounds() {
		t.Fatalf("%s: size %v, golden %v", name, img.Bounds().Size(), want.Bounds().Size())
	}
	if frac := differingPixels(img, want); frac > 0.002 {
		t.Errorf("%s: %.3f%% of pixels differ from %s (limit 0.2%%); if the change is intended, run go test ./reports -regen and inspect the image",
			name, 100*frac, golden)
	}
}

func differingPixels(a, b image.Image) float64 {
	differ, total := 0, 0
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			total++
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if absDiff(r1, r2) > 48<<8 || absDiff(g1, g2) > 48<<8 || absDiff(b1, b2) > 48<<8 {
				differ++
			}
		}
	}
	return float64(differ) / float64(total)
}

// TestFiguresGolden renders every figure type from the hand-made samples and compares it with
// its golden image; sizes follow from the figure size at 150 dpi (8 × 6 in is 1200 × 900 px).
func TestFiguresGolden(t *testing.T) {
	figs, err := sampleFigures()
	if err != nil {
		t.Fatal(err)
	}
	wantSize := map[string][2]int{
		"pr_curve": {1200, 900}, "thresholds_spoofing": {1200, 900}, "ttd": {1200, 900}, "comparison": {1200, 900},
		// 1.6 in + 3 detectors × 0.55 in = 3.25 in tall: 487.5 px, rounded up.
		"confusion": {1200, 488},
		// 10 × 5 in.
		"timeline_miss_1": {1500, 750},
	}
	for _, f := range figs {
		f := f
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			b, err := f.Render(FormatPNG)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if ws, ok := wantSize[f.Name]; !ok || img.Bounds().Dx() != ws[0] || img.Bounds().Dy() != ws[1] {
				t.Errorf("size %v, want %v", img.Bounds().Size(), ws)
			}
			if f.Name != "pr_curve" { // pr_curves.png is the PR plot's own golden (plot_test.go)
				compareGolden(t, f.Name, b)
			}
		})
	}
}

// TestFiguresDeterministic renders each figure twice as PNG and as vector PDF: same bytes.
func TestFiguresDeterministic(t *testing.T) {
	figs, err := sampleFigures()
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{FormatPNG, FormatPDF, FormatSVG} {
		a, err := RenderAll(figs, format)
		if err != nil {
			t.Fatal(err)
		}
		b, err := RenderAll(figs, format)
		if err != nil {
			t.Fatal(err)
		}
		for i := range figs {
			if !bytes.Equal(a[i], b[i]) {
				t.Errorf("%s %s: two renders differ", figs[i].Name, format)
			}
		}
		if format == FormatPDF && !bytes.HasPrefix(a[0], []byte("%PDF")) {
			t.Errorf("vector figure is not a PDF")
		}
	}
	if _, err := figs[0].Render("gif"); err == nil || !strings.Contains(err.Error(), "unsupported format") {
		t.Errorf("gif: error %v", err)
	}
}

func TestFigureInputChecks(t *testing.T) {
	good := sampleThresholds()
	short := good
	short.F1 = short.F1[:2]
	unsorted := good
	unsorted.Threshold = []float64{0.5, 0.9, 0.82, 0.7, 0.66, 0.58, 0.51}
	badP := good
	badP.Precision = append([]float64{1.5}, good.Precision[1:]...)
	tl := sampleTimeline()
	empty := tl
	empty.To = empty.From
	backwards := tl
	backwards.Trades = []PricePoint{{TS: sec(2), Price: 1}, {TS: sec(1), Price: 1}}
	nanPrice := tl
	nanPrice.Marks = []PricePoint{{TS: sec(1), Price: math.NaN()}}
	conf := sampleConfusion()
	conf.Counts = conf.Counts[:2]
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"threshold lengths", second(ThresholdFigure(short)), "columns of different lengths"},
		{"threshold order", second(ThresholdFigure(unsorted)), "strictly descending"},
		{"threshold range", second(ThresholdFigure(badP)), "must lie in [0, 1]"},
		{"threshold empty", second(ThresholdFigure(ThresholdSeries{Name: "x"})), "no points"},
		{"timeline window", second(TimelineFigure(empty)), "is empty"},
		{"timeline order", second(TimelineFigure(backwards)), "in time order"},
		{"timeline NaN", second(TimelineFigure(nanPrice)), "not finite"},
		{"ttd NaN", second(TTDFigure([]TTDSeries{{Name: "d", Seconds: []float64{math.Inf(1)}}})), "value 0 is +Inf"},
		{"comparison range", second(ComparisonFigure([]ComparisonRow{{Detector: "d", Precision: 2}}, "")), "precision 2 not in [0, 1]"},
		{"comparison CI", second(ComparisonFigure([]ComparisonRow{{Detector: "d", F1: 0.5, F1CI: &CI{0.6, 0.4}}}, "")), "F1 interval"},
		{"confusion shape", second(ConfusionFigure(conf)), "3 detectors but"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, c.err, c.want)
		}
	}
}

func second(_ *Figure, err error) error { return err }

// TestThresholdSteps checks the step function by hand: three points by descending threshold
// (0.9, 0.7, 0.5) with values 1, 2, 3 drawn from lo = 0.4: value 3 on [0.4, 0.5], 2 on (0.5, 0.7],
// 1 on (0.7, 0.9].
func TestThresholdSteps(t *testing.T) {
	got := thresholdSteps([]float64{0.9, 0.7, 0.5}, []float64{1, 2, 3}, 0.4)
	want := plotter.XYs{{X: 0.4, Y: 3}, {X: 0.5, Y: 3}, {X: 0.5, Y: 2}, {X: 0.7, Y: 2}, {X: 0.7, Y: 1}, {X: 0.9, Y: 1}}
	if len(got) != len(want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("steps %v, want %v", got, want)
		}
	}
	s := sampleThresholds()
	// F1 by hand: 8/15 = 0.533 at threshold 0.66 is the highest of the sample.
	if b := s.bestF1(); s.Threshold[b] != 0.66 {
		t.Errorf("best F1 at %v, want 0.66", s.Threshold[b])
	}
}

// TestECDFSteps: values 1, 2, 2, 5 give shares 1/4 at 1, 3/4 at 2 (the tie jumps once), 1 at 5.
func TestECDFSteps(t *testing.T) {
	got := ecdfSteps([]float64{1, 2, 2, 5}, 0, 6)
	want := plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 0}, {X: 1, Y: 0.25}, {X: 2, Y: 0.25}, {X: 2, Y: 0.75}, {X: 5, Y: 0.75}, {X: 5, Y: 1}, {X: 6, Y: 1}}
	if len(got) != len(want) {
		t.Fatalf("ecdf %v, want %v", got, want)
	}
	for i := range want {
		if math.Abs(got[i].X-want[i].X) > 1e-12 || math.Abs(got[i].Y-want[i].Y) > 1e-12 {
			t.Fatalf("ecdf %v, want %v", got, want)
		}
	}
	// Medians by hand: odd count the middle value, even count the mean of the middle two.
	if m := median([]float64{1, 2, 9}); m != 2 {
		t.Errorf("median of 1 2 9 = %v", m)
	}
	if m := median([]float64{1, 2, 4, 9}); m != 3 {
		t.Errorf("median of 1 2 4 9 = %v", m)
	}
}

// TestThinPricesKeepsExtremes: a long series is thinned to at most maxTimelinePoints vertices
// in time order, and its highest and lowest prices survive.
func TestThinPricesKeepsExtremes(t *testing.T) {
	var pts []PricePoint
	for i := 0; i < 50_000; i++ {
		pts = append(pts, PricePoint{TS: sec(float64(i) / 10), Price: 100 + math.Sin(float64(i)/300)})
	}
	pts[31_337].Price = 250 // a spike
	pts[7_001].Price = 3    // a crash
	xys := thinPrices(pts)
	if len(xys) > maxTimelinePoints {
		t.Errorf("%d vertices, want at most %d", len(xys), maxTimelinePoints)
	}
	hi, lo := math.Inf(-1), math.Inf(1)
	for i, p := range xys {
		hi, lo = max(hi, p.Y), min(lo, p.Y)
		if i > 0 && p.X < xys[i-1].X {
			t.Fatalf("vertex %d out of time order", i)
		}
	}
	if hi != 250 || lo != 3 {
		t.Errorf("extremes %v and %v, want 250 and 3", hi, lo)
	}
	short := pts[:10]
	if got := thinPrices(short); len(got) != 10 {
		t.Errorf("short series thinned to %d", len(got))
	}
}

// TestAxisTicks checks the tick rules: clock ticks every 15 s over 100 s (100/10 = 10 > 8 ticks,
// 100/15 ≈ 6.7), labelled as clock times; log ticks at 1, 2, 5 per decade; symmetric-log ticks
// skip the 1 s ticks and include zero.
func TestAxisTicks(t *testing.T) {
	base := float64(t0 / 1_000_000)
	ticks := clockTicks{}.Ticks(base+3, base+103)
	var labels []string
	for _, tk := range ticks {
		labels = append(labels, tk.Label)
	}
	if got := strings.Join(labels, " "); got != "00:00:15 00:00:30 00:00:45 00:01:00 00:01:15 00:01:30" {
		t.Errorf("clock ticks %q", got)
	}
	labels = nil
	for _, tk := range (log10Ticks{}).Ticks(math.Log10(3), math.Log10(120)) {
		labels = append(labels, tk.Label)
	}
	if got := strings.Join(labels, " "); got != "5 10 20 50 100" {
		t.Errorf("log ticks %q", got)
	}
	labels = nil
	for _, tk := range (symLogTicks{}).Ticks(symLogF(-20), symLogF(4000)) {
		labels = append(labels, tk.Label)
	}
	if got := strings.Join(labels, " "); got != "−10 s 0 10 s 1 min 10 min 1 h" {
		t.Errorf("symlog ticks %q", got)
	}
	// symLogF by hand: log10(1+99) = 2, odd symmetry, 0 at 0.
	if symLogF(99) != 2 || symLogF(-99) != -2 || symLogF(0) != 0 {
		t.Errorf("symLogF(99, -99, 0) = %v %v %v", symLogF(99), symLogF(-99), symLogF(0))
	}
}

func TestSmallHelpers(t *testing.T) {
	for in, want := range map[string]string{"spoofing": "spoofing", "Pump&Dump v2": "pump_dump_v2", "": "_", "a/b": "a_b"} {
		if got := fileStem(in); got != want {
			t.Errorf("fileStem(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[float64]string{4: "4.0 s", -20: "-20.0 s", 600: "10.0 min", 3 * 3600: "3.0 h", 3 * 86400: "3.0 d"} {
		if got := formatSeconds(in); got != want {
			t.Errorf("formatSeconds(%v) = %q, want %q", in, got, want)
		}
	}
	if got := formatIDs([]int64{1, 2, 3, 4}, 2); got != "1, 2, … (4 in all)" {
		t.Errorf("formatIDs = %q", got)
	}
	white, blue := shareColor(0), shareColor(1)
	if r, g, b, _ := white.RGBA(); r>>8 != 255 || g>>8 != 255 || b>>8 != 255 {
		t.Errorf("share 0 is not white: %v", white)
	}
	if r, g, b, _ := blue.RGBA(); r>>8 != 25 || g>>8 != 70 || b>>8 != 190 {
		t.Errorf("share 1 is %v, want rgb(25, 70, 190)", blue)
	}
}
