package reports

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fds-dev/fds/internal/fsutil"
)

// Report formats: the PDF report, the HTML page, the Markdown summary, the figures as PNG, and
// the figures as vector PDF.
const (
	ReportPDF    = "pdf"
	ReportHTML   = "html"
	ReportMD     = "md"
	ReportPNG    = "png"
	ReportVector = "vector"
)

// ReportFormats lists the formats in the order they are written and documented.
var ReportFormats = []string{ReportPDF, ReportHTML, ReportMD, ReportPNG, ReportVector}

// DefaultReportFormats is what fds report writes unless told otherwise.
const DefaultReportFormats = "pdf,html,md,png"

// Files of a report folder.
const (
	ReportPDFFile     = "report.pdf"
	ReportHTMLFile    = "report.html"
	ReportSummaryFile = "summary.md"
	FiguresDir        = "figures"
)

// ParseReportFormats reads a comma-separated list of formats, e.g. "pdf,html"; repeats are
// ignored and the result is in ReportFormats order.
func ParseReportFormats(s string) ([]string, error) {
	want := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		ok := false
		for _, known := range ReportFormats {
			ok = ok || f == known
		}
		if !ok {
			return nil, fmt.Errorf("unknown report format %q (want some of %s)", f, strings.Join(ReportFormats, ", "))
		}
		want[f] = true
	}
	var out []string
	for _, f := range ReportFormats {
		if want[f] {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no report format given (want some of %s)", strings.Join(ReportFormats, ", "))
	}
	return out, nil
}

// WriteReportFolder renders the document in the given formats into the folder dir: report.pdf,
// report.html, summary.md, figures/<name>.png and figures/<name>.pdf. The folder is built beside
// dir and swapped in whole, so a failed or interrupted write (ctx cancelled: it stops before the
// next file) leaves the previous report (or none). It returns the written files' paths relative
// to dir, in a fixed order.
func WriteReportFolder(ctx context.Context, dir string, doc *Document, formats []string) ([]string, error) {
	want := map[string]bool{}
	for _, f := range formats {
		want[f] = true
	}
	figs, err := doc.Figures()
	if err != nil {
		return nil, err
	}
	st, err := fsutil.NewStaging(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer st.Abort()
	var pngs [][]byte
	if want[ReportPDF] || want[ReportHTML] || want[ReportPNG] {
		if pngs, err = RenderAll(figs, FormatPNG); err != nil {
			return nil, err
		}
	}
	var written []string
	write := func(rel string, data []byte) error {
		if err := st.Err(); err != nil {
			return err
		}
		p := st.Path(filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		written = append(written, rel)
		return nil
	}
	if want[ReportPDF] {
		var buf bytes.Buffer
		if err := WritePDF(&buf, doc, figs, pngs); err != nil {
			return nil, err
		}
		if err := write(ReportPDFFile, buf.Bytes()); err != nil {
			return nil, err
		}
	}
	if want[ReportHTML] {
		var buf bytes.Buffer
		if err := WriteHTML(&buf, doc, figs, pngs); err != nil {
			return nil, err
		}
		if err := write(ReportHTMLFile, buf.Bytes()); err != nil {
			return nil, err
		}
	}
	if want[ReportMD] {
		var buf bytes.Buffer
		links := ""
		if want[ReportPNG] {
			links = FiguresDir
		}
		if err := WriteSummaryMarkdown(&buf, doc, figs, links); err != nil {
			return nil, err
		}
		if err := write(ReportSummaryFile, buf.Bytes()); err != nil {
			return nil, err
		}
	}
	if want[ReportPNG] {
		for i, f := range figs {
			if err := write(FiguresDir+"/"+f.Name+".png", pngs[i]); err != nil {
				return nil, err
			}
		}
	}
	if want[ReportVector] {
		vectors, err := RenderAll(figs, FormatPDF)
		if err != nil {
			return nil, err
		}
		for i, f := range figs {
			if err := write(FiguresDir+"/"+f.Name+".pdf", vectors[i]); err != nil {
				return nil, err
			}
		}
	}
	if err := st.Commit(); err != nil {
		return nil, err
	}
	return written, nil
}
