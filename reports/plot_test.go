package reports

import (
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var regen = flag.Bool("regen", false, "rewrite the golden files in testdata")

// goldenSeries are three hand-made curves: a good detector, a poor one with its operating point
// mid-curve, and a detector that raised no alert.
func goldenSeries() []PRSeries {
	return []PRSeries{
		{
			Name: "spoofing", AveragePrecision: 0.8725,
			Recall:    []float64{0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.92},
			Precision: []float64{1, 1, 0.97, 0.93, 0.85, 0.7, 0.55},
			Operating: &PRMark{Recall: 0.8, Precision: 0.85, Threshold: 0.5},
		},
		{
			Name: "wash_trade", AveragePrecision: 0.4125,
			Recall:    []float64{0.05, 0.2, 0.35, 0.5, 0.6},
			Precision: []float64{0.5, 0.8, 0.75, 0.6, 0.4},
			Operating: &PRMark{Recall: 0.5, Precision: 0.6, Threshold: 0.25},
		},
		{Name: "pump_and_dump"},
	}
}

// TestPlotPRCurvesGolden renders the curves and compares the PNG with testdata/pr_curves.png,
// allowing small differences (anti-aliasing, font rasteriser updates). Regenerate with
// `go test ./reports -regen` and look at the image before committing it.
func TestPlotPRCurvesGolden(t *testing.T) {
	out := filepath.Join(t.TempDir(), "pr.png")
	if err := PlotPRCurves(out, goldenSeries()); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "pr_curves.png")
	if *regen {
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", golden)
	}
	got, want := decodePNG(t, out), decodePNG(t, golden)
	if got.Bounds() != want.Bounds() {
		t.Fatalf("size %v, golden %v", got.Bounds().Size(), want.Bounds().Size())
	}
	if b := got.Bounds(); b.Dx() != 1200 || b.Dy() != 900 {
		t.Errorf("size %dx%d, want 1200x900", b.Dx(), b.Dy())
	}
	// A pixel differs when a channel moves by more than 48 of 255; up to 0.2% may differ.
	differ, total := 0, 0
	b := got.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			total++
			r1, g1, b1, _ := got.At(x, y).RGBA()
			r2, g2, b2, _ := want.At(x, y).RGBA()
			if absDiff(r1, r2) > 48<<8 || absDiff(g1, g2) > 48<<8 || absDiff(b1, b2) > 48<<8 {
				differ++
			}
		}
	}
	if frac := float64(differ) / float64(total); frac > 0.002 {
		t.Errorf("%.3f%% of pixels differ from %s (limit 0.2%%); if the change is intended, run go test ./reports -regen and inspect the image", 100*frac, golden)
	}
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (regenerate with go test ./reports -regen)", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func TestPlotPRCurvesDeterministicAndFormats(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	for _, p := range []string{a, b} {
		if err := PlotPRCurves(p, goldenSeries()); err != nil {
			t.Fatal(err)
		}
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if string(ba) != string(bb) {
		t.Error("two renders of the same curves differ")
	}
	pdf := filepath.Join(dir, "pr.pdf")
	if err := PlotPRCurves(pdf, goldenSeries()); err != nil {
		t.Fatal(err)
	}
	if head, _ := os.ReadFile(pdf); !strings.HasPrefix(string(head), "%PDF") {
		t.Error("pr.pdf is not a PDF")
	}
	if err := PlotPRCurves(filepath.Join(dir, "empty.png"), nil); err != nil {
		t.Errorf("no series: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestPlotPRCurvesRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name   string
		path   string
		series []PRSeries
		want   string
	}{
		{"format", filepath.Join(dir, "pr.gif"), nil, "unsupported plot format"},
		{"lengths", filepath.Join(dir, "pr.png"), []PRSeries{{Name: "d", Recall: []float64{0.1}}}, "1 recall values but 0 precision"},
		{"range", filepath.Join(dir, "pr.png"), []PRSeries{{Name: "d", Recall: []float64{1.5}, Precision: []float64{1}}}, `series "d": point 0: recall 1.5`},
		{"nan", filepath.Join(dir, "pr.png"), []PRSeries{{Name: "d", Recall: []float64{0.5}, Precision: []float64{0.5},
			Operating: &PRMark{Recall: 0.5, Precision: nan()}}}, "operating precision NaN"},
	}
	for _, c := range cases {
		err := PlotPRCurves(c.path, c.series)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: error %v, want one naming the file and containing %q", c.name, err, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pr.png")); !os.IsNotExist(err) {
		t.Error("a rejected plot left a file")
	}
}

func nan() float64 { var z float64; return z / z }
