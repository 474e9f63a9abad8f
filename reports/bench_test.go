package reports

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// demoDocument is the size of the demo run's report (fds report on the default generated
// market): three detectors, their threshold curves with a hundred points each, six timelines
// of about 600 trades, and thirty listed cases of each kind.
func demoDocument() *Document {
	doc := sampleDocument()
	doc.Thresholds = nil
	for _, name := range []string{"pump_and_dump", "spoofing", "wash_trade"} {
		s := ThresholdSeries{Name: name, MinScore: 0.5}
		for k := 0; k < 100; k++ {
			th := 1 - float64(k)/200
			s.Threshold = append(s.Threshold, th)
			s.Precision = append(s.Precision, 1-float64(k)/250)
			s.Recall = append(s.Recall, float64(k+1)/100)
			s.F1 = append(s.F1, 2*(1-float64(k)/250)*float64(k+1)/100/((1-float64(k)/250)+float64(k+1)/100))
			s.AlertsPerDay = append(s.AlertsPerDay, float64(k+1)*12)
		}
		doc.Thresholds = append(doc.Thresholds, s)
	}
	doc.Timelines = nil
	for i := 0; i < 6; i++ {
		tl := sampleTimeline()
		tl.Name = fmt.Sprintf("timeline_%d", i)
		doc.Timelines = append(doc.Timelines, tl)
	}
	miss, fa := doc.Misses[0], doc.FalseAlerts[0]
	for i := 0; i < 29; i++ {
		doc.Misses = append(doc.Misses, miss)
		doc.FalseAlerts = append(doc.FalseAlerts, fa)
	}
	doc.MissesTotal, doc.FalseAlertsTotal = 30, 80
	return doc
}

// BenchmarkWriteReportFolder measures fds report's rendering of a demo-sized run: every figure
// as PNG, the PDF, the HTML page and the summary. Target: a few seconds per report on one core.
func BenchmarkWriteReportFolder(b *testing.B) {
	doc := demoDocument()
	dir := filepath.Join(b.TempDir(), "report")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := WriteReportFolder(context.Background(), dir, doc, []string{ReportPDF, ReportHTML, ReportMD, ReportPNG}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderTimelinePNG measures the costliest figure type.
func BenchmarkRenderTimelinePNG(b *testing.B) {
	f, err := TimelineFigure(sampleTimeline())
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		if _, err := f.Render(FormatPNG); err != nil {
			b.Fatal(err)
		}
	}
}
