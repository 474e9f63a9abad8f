package reports

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/go-pdf/fpdf"
)

var sampleOnce struct {
	sync.Once
	figs []*Figure
	pngs [][]byte
	err  error
}

// renderSample returns the sample document and its figures rendered as PNG (once per test
// binary: the figures are the same for every test).
func renderSample(t testing.TB) (*Document, []*Figure, [][]byte) {
	t.Helper()
	doc := sampleDocument()
	sampleOnce.Do(func() {
		if sampleOnce.figs, sampleOnce.err = doc.Figures(); sampleOnce.err == nil {
			sampleOnce.pngs, sampleOnce.err = RenderAll(sampleOnce.figs, FormatPNG)
		}
	})
	if sampleOnce.err != nil {
		t.Fatal(sampleOnce.err)
	}
	return doc, sampleOnce.figs, sampleOnce.pngs
}

// pdfText extracts a PDF's text with poppler's pdftotext, skipping the test when it is absent.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext not found: install poppler-utils (.ci/run does) to check the PDF's text")
	}
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// pdfPages reads the page count with poppler's pdfinfo.
func pdfPages(t *testing.T, pdf []byte) int {
	t.Helper()
	if _, err := exec.LookPath("pdfinfo"); err != nil {
		t.Skip("pdfinfo not found: install poppler-utils (.ci/run does) to check the PDF's pages")
	}
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdfinfo", path).Output()
	if err != nil {
		t.Fatalf("pdfinfo: %v", err)
	}
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("pdfinfo gave no page count:\n%s", out)
	}
	n := 0
	for _, c := range m[1] {
		n = 10*n + int(c-'0')
	}
	return n
}

// TestPDFGolden writes the sample document as PDF five times (byte-identical: fixed date, sorted
// resources, distinct image widths), then checks its page count and its extracted text: headings, table cells and
// figure captions a reader relies on.
func TestPDFGolden(t *testing.T) {
	doc, figs, pngs := renderSample(t)
	// Several writes: fpdf orders images through a map, which went unnoticed with two writes
	// half of the time.
	var a bytes.Buffer
	if err := WritePDF(&a, doc, figs, pngs); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		var b bytes.Buffer
		if err := WritePDF(&b, doc, figs, pngs); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatal("two writes of the same document differ")
		}
	}
	if !bytes.Contains(a.Bytes(), []byte("/CreationDate (D:20240101015617")) {
		t.Error("creation date is not the document's date")
	}
	// Page by page: title, dataset, and metrics on pages 1-2 at most; six figures, two of
	// them (confusion, timeline) short enough to share a page: at least 4 pages of figures;
	// misses and false alerts each start a page; the configuration appendix starts a page.
	if n := pdfPages(t, a.Bytes()); n < 9 || n > 12 {
		t.Errorf("%d pages, want 9 to 12", n)
	}
	text := pdfText(t, a.Bytes())
	flat := strings.Join(strings.Fields(text), " ")
	for _, want := range []string{
		"Backtest report", "Run sample-run · fds test", "Run identity", "config sha256 c117d12cc3a03aca",
		"Dataset", "BTCUSDT 33795 6978", "5b9d52a629bb9f163bc3f44d6b27ac644097b6298aa938073f6553d2d13f1864",
		"Detection quality",
		// spoofing: 32/81 = 0.395, 32/34 = 0.941, F1 64/115 = 0.557.
		"spoofing 81 34 32 49 (0) 2 0.395 0.941 0.557 0.335 6.3 s 1003.05",
		"overall 144 66 64 80 (0) 2 0.444 0.970 0.610 0.667 1.6 s 1783.19",
		"0.395 [0.290, 0.510]", "Alerts by incident type", "32 *",
		"Figure 1. Precision–recall curves", "Figure 6. Missed spoofing incident synth-spoofing-0007 on BTCUSDT",
		"Missed incidents", "M1. spoofing missed synth-spoofing-0007", "in the window but about other accounts (u9)",
		"False alerts", "F1. spoofing, score 0.62", "depth_ratio 0.78, size_ratio 10.89", "11, 12",
		"Notes", "table liquidations is absent", "Appendix: configuration", "min_score: 0.5",
		"page 1 of",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	if strings.Contains(text, "{nb}") {
		t.Error("page total alias not replaced")
	}
}

func TestPDFRejectsMismatchedImages(t *testing.T) {
	doc, figs, pngs := renderSample(t)
	if err := WritePDF(&bytes.Buffer{}, doc, figs, pngs[1:]); err == nil {
		t.Error("WritePDF accepted fewer images than figures")
	}
	if err := WriteHTML(&bytes.Buffer{}, doc, figs[1:], pngs); err == nil {
		t.Error("WriteHTML accepted fewer figures than images")
	}
}

// TestHTMLSelfContained: the page embeds every figure as a data: URI, loads nothing from
// elsewhere (no http, no script, no stylesheet link) and is the same for the same document.
func TestHTMLSelfContained(t *testing.T) {
	doc, figs, pngs := renderSample(t)
	var a, b bytes.Buffer
	if err := WriteHTML(&a, doc, figs, pngs); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&b, doc, figs, pngs); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatal("two writes differ")
	}
	page := a.String()
	if n := strings.Count(page, `<img src="data:image/png;base64,iVBORw0KGgo`); n != len(figs) {
		t.Errorf("%d embedded PNGs, want %d", n, len(figs))
	}
	for _, banned := range []string{"http://", "https://", "<script", "<link", "src=\"/", "url("} {
		if strings.Contains(page, banned) {
			t.Errorf("page contains %q: not self-contained", banned)
		}
	}
	for _, want := range []string{
		"<title>Backtest report · sample-run</title>",
		`<tr class="overall"><td>overall</td>`,
		`<td class="n own">32</td>`,
		`<a href="#fig-timeline_miss_1">timeline</a>`,
		"in the window but about other accounts (u9)",
		"detector&#39;s first eligible alert", // text is escaped
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestSummaryMarkdown(t *testing.T) {
	doc, figs, _ := renderSample(t)
	var buf bytes.Buffer
	if err := WriteSummaryMarkdown(&buf, doc, figs, "figures"); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, want := range []string{
		"# Backtest report\n",
		"| spoofing | 81 | 34 | 32 | 49 (0) | 2 | 0.395 | 0.941 | 0.557 | 0.335 | 6.3 | 1003.05 |",
		"| spoofing | 0.395 [0.290, 0.510] | 0.941 [0.850, 1.000] | 0.557 [0.450, 0.660] |",
		"| Detector | spoofing | wash_trade | no incident | alerts |",
		"| spoofing | **32** | 3 | 47 | 81 |",
		"## Missed incidents (2)",
		"- **spoofing** missed `synth-spoofing-0007` (spoofing) on BTCUSDT",
		"## False alerts (1)",
		"- [Time to detect](figures/ttd.png)",
		"## Notes\n\n- table liquidations is absent\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q\n%s", want, md)
		}
	}
	buf.Reset()
	if err := WriteSummaryMarkdown(&buf, doc, figs, ""); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "## Figures") {
		t.Error("figure links written without a figure folder")
	}
}

func TestParseReportFormats(t *testing.T) {
	got, err := ParseReportFormats(" png,PDF, pdf,vector ")
	if err != nil || strings.Join(got, ",") != "pdf,png,vector" {
		t.Errorf("formats %v, %v; want pdf,png,vector in canonical order", got, err)
	}
	for in, want := range map[string]string{"pdf,docx": `unknown report format "docx"`, " , ": "no report format"} {
		if _, err := ParseReportFormats(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
}

// TestWriteReportFolder writes every format into a folder twice: the listed files exist, the
// second write gives the same bytes, and no temporary file is left.
func TestWriteReportFolder(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "report")
	doc := sampleDocument()
	first, err := WriteReportFolder(context.Background(), dir, doc, ReportFormats)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"report.pdf", "report.html", "summary.md",
		"figures/pr_curve.png", "figures/comparison.png", "figures/confusion.png", "figures/ttd.png",
		"figures/thresholds_spoofing.png", "figures/timeline_miss_1.png",
		"figures/pr_curve.pdf", "figures/comparison.pdf", "figures/confusion.pdf", "figures/ttd.pdf",
		"figures/thresholds_spoofing.pdf", "figures/timeline_miss_1.pdf"}
	if strings.Join(first, " ") != strings.Join(want, " ") {
		t.Fatalf("written %v\nwant %v", first, want)
	}
	before := map[string][]byte{}
	for _, f := range first {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		before[f] = b
	}
	if _, err := WriteReportFolder(context.Background(), dir, doc, ReportFormats); err != nil {
		t.Fatal(err)
	}
	for _, f := range first {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if !bytes.Equal(b, before[f]) {
			t.Errorf("%s differs between two writes", f)
		}
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 {
		t.Errorf("folder holds %v, want only report/", entries)
	}
	// Only the summary: no figure links, since the PNGs are not written.
	only, err := WriteReportFolder(context.Background(), dir, doc, []string{ReportMD})
	if err != nil || strings.Join(only, ",") != "summary.md" {
		t.Fatalf("md only: %v %v", only, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.pdf")); !os.IsNotExist(err) {
		t.Error("the folder was not replaced whole: report.pdf survived")
	}
}

// TestUprightHeadersKeepCountColumnsNarrow: a matrix of ten detectors by ten incident types fits
// the page only if each count column is as wide as its numbers, not as its type's name; upright
// headers give that, while a column set normally stays as wide as its header.
func TestUprightHeadersKeepCountColumnsNarrow(t *testing.T) {
	p := &pdfWriter{pdf: fpdf.New("P", "mm", "A4", ""), doc: &Document{}}
	p.setup()
	const size = 8.5
	cols := []pdfCol{{head: "Detector", align: "L"}}
	var row []string
	row = append(row, "funding_manipulation")
	for i := 0; i < 11; i++ {
		cols = append(cols, pdfCol{head: "funding_manipulation", align: "R", upright: true})
		row = append(row, "14 *")
	}
	cols = append(cols, pdfCol{head: "funding_manipulation", align: "R"})
	row = append(row, "3")
	p.layoutColumns(cols, [][]string{row}, size)
	p.cellFont(cols[1], "B", size)
	head := p.pdf.GetStringWidth("funding_manipulation")
	p.cellFont(cols[1], "", size)
	cell := p.pdf.GetStringWidth("14 *")
	for c := 1; c <= 11; c++ {
		// natural width: the widest cell plus padding (layoutColumns), at least 9 mm.
		if want := max(cell+2*pdfCellPad+0.4, 9); math.Abs(cols[c].width-want) > 1e-9 {
			t.Fatalf("upright column %d is %.2f mm wide, want its numbers' %.2f mm (its header is %.2f mm)", c, cols[c].width, want, head)
		}
	}
	if w := cols[12].width; w < head {
		t.Fatalf("normal column %.2f mm, narrower than its header %.2f mm", w, head)
	}
	if total := tableWidth(cols); total > pdfTextW {
		t.Fatalf("table %.1f mm wide, page text %.1f mm", total, pdfTextW)
	}
}
