package backtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/reports"
)

// reportProbe alerts on every trade of at least 5 lots: its taker is the suspect, its score is
// qty/10, its evidence the trade, and its note names the maker (an account that appears in no
// alert's account list, so that only the accounts table can teach the redactor about it).
type reportProbe struct{}

func (reportProbe) OnEvent(ev *detectors.Event, emit detectors.Emit) {
	if ev.Kind != detectors.KindTrade || ev.Trade.Qty < 5 {
		return
	}
	emit(detectors.Alert{Symbol: ev.Symbol, Accounts: []string{ev.Trade.TakerAccount}, TS: ev.TS,
		WindowStart: ev.TS - 10*detectors.Second, WindowEnd: ev.TS, Score: ev.Trade.Qty / 10,
		Evidence: detectors.Evidence{TradeIDs: []int64{ev.Trade.TradeID}, Features: map[string]float64{"qty": ev.Trade.Qty},
			Note: "maker " + ev.Trade.MakerAccount}})
}

func (reportProbe) Flush(detectors.Emit) {}

func init() {
	detectors.Register(detectors.Spec{
		Name: "test_report", Type: detectors.Spoofing, Summary: "test detector for reports",
		Needs: []detectors.Kind{detectors.KindTrade}, DefaultMinScore: 0.5,
		New: func(detectors.Params, detectors.Env) (detectors.Detector, error) { return reportProbe{}, nil },
	})
}

// rt is second s of the report test's market, which starts at 2024-01-01T00:00:00Z.
func rt(s int) detectors.Micros {
	return 1704067200*detectors.Second + detectors.Micros(s)*detectors.Second
}

var reportAccounts = []string{"acct_mm", "acct_retail", "acct_spoof_a", "acct_spoof_b", "acct_spoof_c", "acct_other"}

// writeReportMarket writes the report test's dataset: ten minutes of AAAUSDT trades (one a second,
// 1 lot, acct_mm to acct_retail) with three big trades the probe alerts on, at 100 s (taker
// acct_spoof_a), 200 s (acct_other) and 400 s (acct_spoof_c); BBBUSDT trades every 10 s; AAAUSDT
// marks every 5 s; and labels:
//
//	I1 spoofing   [90, 120]  acct_spoof_a  detected by the 100 s alert (TTD 10 s)
//	I2 spoofing   [190, 220] acct_spoof_b  missed: the 200 s alert names acct_other
//	I3 spoofing   [500, 530] acct_spoof_c  missed: the 400 s alert is 100 s early (lead 60 s)
//	W1 wash_trade [95, 105]  acct_spoof_a  no wash-trade detector runs: uncovered
func writeReportMarket(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	trades, err := datasets.NewEventWriter(filepath.Join(dir, "trades.parquet"), datasets.TableTrades)
	if err != nil {
		t.Fatal(err)
	}
	marks, err := datasets.NewEventWriter(filepath.Join(dir, "marks.parquet"), datasets.TableMarks)
	if err != nil {
		t.Fatal(err)
	}
	big := map[int]struct {
		qty   float64
		taker string
	}{100: {9, "acct_spoof_a"}, 200: {8, "acct_other"}, 400: {6, "acct_spoof_c"}}
	for s := 0; s < 600; s++ {
		tr := detectors.Trade{TradeID: int64(1000 + s), Price: 100 + 0.01*float64(s%7), Qty: 1, TakerSide: detectors.Buy,
			MakerAccount: "acct_mm", TakerAccount: "acct_retail"}
		if b, ok := big[s]; ok {
			tr.Qty, tr.TakerAccount = b.qty, b.taker
		}
		if err := trades.Write(&detectors.Event{TS: rt(s), Symbol: "AAAUSDT", Kind: detectors.KindTrade, Trade: tr}); err != nil {
			t.Fatal(err)
		}
		if s%10 == 0 {
			other := detectors.Trade{TradeID: int64(5000 + s), Price: 7, Qty: 1, TakerSide: detectors.Sell, MakerAccount: "acct_mm", TakerAccount: "acct_retail"}
			if err := trades.Write(&detectors.Event{TS: rt(s), Symbol: "BBBUSDT", Kind: detectors.KindTrade, Trade: other}); err != nil {
				t.Fatal(err)
			}
		}
		if s%5 == 0 {
			m := detectors.Mark{MarkPrice: 100.02, IndexPrice: 100.02}
			if err := marks.Write(&detectors.Event{TS: rt(s), Symbol: "AAAUSDT", Kind: detectors.KindMark, Mark: m}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := trades.Close(); err != nil {
		t.Fatal(err)
	}
	if err := marks.Close(); err != nil {
		t.Fatal(err)
	}
	var accts []detectors.Account
	for _, a := range reportAccounts {
		accts = append(accts, detectors.Account{AccountID: a, CreatedAt: rt(0), OwnerGroup: "og-" + a})
	}
	if err := datasets.WriteAccounts(filepath.Join(dir, "accounts.parquet"), accts); err != nil {
		t.Fatal(err)
	}
	labels := []datasets.Incident{
		{ID: "I1", Type: detectors.Spoofing, Symbol: "AAAUSDT", Accounts: []string{"acct_spoof_a"}, Start: rt(90), End: rt(120), Source: "test"},
		{ID: "I2", Type: detectors.Spoofing, Symbol: "AAAUSDT", Accounts: []string{"acct_spoof_b"}, Start: rt(190), End: rt(220), Source: "test"},
		{ID: "I3", Type: detectors.Spoofing, Symbol: "AAAUSDT", Accounts: []string{"acct_spoof_c"}, Start: rt(500), End: rt(530), Source: "test"},
		{ID: "W1", Type: detectors.WashTrade, Symbol: "AAAUSDT", Accounts: []string{"acct_spoof_a"}, Start: rt(95), End: rt(105), Source: "test"},
	}
	if err := datasets.WriteLabels(filepath.Join(dir, "labels.parquet"), labels); err != nil {
		t.Fatal(err)
	}
}

// reportRun writes the dataset and back-tests it with the probe alone; it returns the dataset
// and run folders.
func reportRun(t *testing.T) (data, run string) {
	t.Helper()
	dir := t.TempDir()
	data, run = filepath.Join(dir, "data"), filepath.Join(dir, "run")
	writeReportMarket(t, data)
	cfg := Config{Detectors: map[string]map[string]float64{"test_report": {}}, Match: MatchSettings{LeadSeconds: 60, ToleranceSeconds: 300}}
	res, err := Run(context.Background(), Options{DataDir: data, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteRunFolder(context.Background(), run, res); err != nil {
		t.Fatal(err)
	}
	return data, run
}

// TestBuildReportHandMadeMarket checks every part of the document against the hand-made market
// (see writeReportMarket for the expected outcomes).
func TestBuildReportHandMadeMarket(t *testing.T) {
	_, run := reportRun(t)
	doc, err := BuildReport(run, ReportOptions{Resamples: 200})
	if err != nil {
		t.Fatal(err)
	}
	// 3 alerts: 1 TP (I1), 2 FP; 3 spoofing incidents: 2 missed.
	o := doc.Overall
	if o == nil || o.Alerts != 3 || o.TP != 1 || o.FP != 2 || o.FN != 2 || o.Incidents != 3 {
		t.Fatalf("overall %+v", o)
	}
	if len(doc.Uncovered) != 1 || doc.Uncovered[0] != (reports.TypeCount{Type: "wash_trade", Incidents: 1}) {
		t.Errorf("uncovered %+v", doc.Uncovered)
	}

	if doc.MissesTotal != 2 || len(doc.Misses) != 2 {
		t.Fatalf("misses %d %+v", doc.MissesTotal, doc.Misses)
	}
	// Equal durations (30 s): by start, I2 before I3.
	m1, m2 := doc.Misses[0], doc.Misses[1]
	if m1.IncidentID != "I2" || m1.Start != rt(190) || m1.End != rt(220) || strings.Join(m1.Accounts, ",") != "acct_spoof_b" {
		t.Errorf("first miss %+v", m1)
	}
	if m1.Nearest == nil || m1.Nearest.TS != rt(200) || m1.Nearest.Reason != "in the window but about other accounts (acct_other)" {
		t.Errorf("first miss's nearest alert %+v", m1.Nearest)
	}
	if m2.IncidentID != "I3" || m2.Nearest == nil || m2.Nearest.TS != rt(400) ||
		m2.Nearest.Reason != "came 100 s before the start, earlier than the 60 s lead window" {
		t.Errorf("second miss %+v nearest %+v", m2, m2.Nearest)
	}

	// False alerts by score: 0.8 (200 s) then 0.6 (400 s).
	if doc.FalseAlertsTotal != 2 || len(doc.FalseAlerts) != 2 {
		t.Fatalf("false alerts %+v", doc.FalseAlerts)
	}
	f1 := doc.FalseAlerts[0]
	if f1.TS != rt(200) || f1.Score != 0.8 || f1.Duplicate || strings.Join(f1.Accounts, ",") != "acct_other" ||
		len(f1.TradeIDs) != 1 || f1.TradeIDs[0] != 1200 || f1.Note != "maker acct_mm" ||
		len(f1.Features) != 1 || f1.Features[0] != (reports.Feature{Name: "qty", Value: 8}) ||
		f1.Key != "test_report|AAAUSDT|acct_other|"+strconv.FormatInt(rt(200), 10) {
		t.Errorf("first false alert %+v", f1)
	}

	// Confusion, by hand: the 100 s alert lies in I1 (spoofing) and W1 (wash_trade, same
	// account); the others in none (wrong accounts or too early).
	c := doc.Confusion
	if strings.Join(c.Types, ",") != "wash_trade,spoofing" || len(c.Counts) != 1 ||
		c.Counts[0][0] != 1 || c.Counts[0][1] != 1 || c.Outside[0] != 2 || c.Alerts[0] != 3 || c.Own[0] != "spoofing" {
		t.Errorf("confusion %+v", c)
	}
	// TTD of I1: 100 s − 90 s.
	if len(doc.TTD) != 1 || len(doc.TTD[0].Seconds) != 1 || doc.TTD[0].Seconds[0] != 10 {
		t.Errorf("ttd %+v", doc.TTD)
	}
	// Threshold points by descending score: 0.9 (1 TP), 0.8, 0.6; precision 1, 1/2, 1/3.
	th := doc.Thresholds
	if len(th) != 1 || len(th[0].Threshold) != 3 || th[0].Threshold[0] != 0.9 || th[0].Precision[2] != 1.0/3 || th[0].MinScore != 0.5 {
		t.Errorf("thresholds %+v", th)
	}
	// Comparison: precision 1/3 and recall 1/3 with intervals around them.
	cmp := doc.Comparison
	if len(cmp) != 1 || cmp[0].Precision != 1.0/3 || cmp[0].RecallCI == nil || !(cmp[0].RecallCI.Low <= 1.0/3 && 1.0/3 <= cmp[0].RecallCI.High) {
		t.Errorf("comparison %+v", cmp)
	}

	// Dataset summary: rows from the Parquet footers, symbols from the scan.
	ds := doc.Dataset
	if !ds.Available || ds.Accounts != 6 || len(ds.Symbols) != 2 ||
		ds.Symbols[0] != (reports.SymbolRows{Symbol: "AAAUSDT", Trades: 600, Marks: 120}) ||
		ds.Symbols[1] != (reports.SymbolRows{Symbol: "BBBUSDT", Trades: 60, Marks: 0}) {
		t.Errorf("dataset %+v", ds)
	}
	if len(ds.Incidents) != 2 || ds.Incidents[0] != (reports.TypeCount{Type: "wash_trade", Incidents: 1}) ||
		ds.Incidents[1] != (reports.TypeCount{Type: "spoofing", Incidents: 3}) {
		t.Errorf("incidents by type %+v", ds.Incidents)
	}

	// Timelines: the two misses and the two false alerts. The first false alert's window is
	// [190, 200] s padded by a minute: 130 to 260 s, 131 trades and 27 marks of AAAUSDT, its
	// evidence the 200 s trade, I2 shaded (not the focus), its own alert the only one.
	if len(doc.Timelines) != 4 {
		t.Fatalf("%d timelines", len(doc.Timelines))
	}
	fp := doc.Timelines[2]
	if fp.Name != "timeline_fp_1" || fp.From != rt(130) || fp.To != rt(260) || len(fp.Trades) != 131 || len(fp.Marks) != 27 ||
		len(fp.Evidence) != 1 || fp.Evidence[0].TS != rt(200) || len(fp.Spans) != 1 || fp.Spans[0].Focus ||
		len(fp.Alerts) != 1 || !fp.Alerts[0].Focus || fp.Alerts[0].TP {
		t.Errorf("false-alert timeline %s [%d, %d] trades %d marks %d evidence %v spans %+v alerts %+v",
			fp.Name, fp.From, fp.To, len(fp.Trades), len(fp.Marks), fp.Evidence, fp.Spans, fp.Alerts)
	}
	if doc.Misses[0].Timeline != "timeline_miss_1" || doc.FalseAlerts[1].Timeline != "timeline_fp_2" {
		t.Errorf("cases not linked to their timelines")
	}
	miss := doc.Timelines[0]
	if len(miss.Spans) != 1 || !miss.Spans[0].Focus || miss.Spans[0].Label != "spoofing I2 (missed)" {
		t.Errorf("miss timeline spans %+v", miss.Spans)
	}
	// The document's date is the last replayed event's: the trade at 599 s.
	if !doc.Date.Equal(time.UnixMicro(rt(599))) {
		t.Errorf("document date %v, want the last event's time", doc.Date)
	}
}

// TestReportRedactedLeaksNoAccount writes every format of a redacted report and checks that no
// raw account id appears in any file (the PDFs through their extracted text), while the
// pseudonyms do: acct_spoof_b's is HMAC-SHA256 under the test key, computed with Python.
func TestReportRedactedLeaksNoAccount(t *testing.T) {
	_, run := reportRun(t)
	red, err := reports.NewRedactor([]byte("0123456789abcdef-test-key"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := BuildReport(run, ReportOptions{Redactor: red, Resamples: 50})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "report")
	files, err := reports.WriteReportFolder(context.Background(), out, doc, reports.ReportFormats)
	if err != nil {
		t.Fatal(err)
	}
	_, havePDFText := exec.LookPath("pdftotext")
	all := ""
	for _, f := range files {
		path := filepath.Join(out, f)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if strings.HasSuffix(f, ".pdf") {
			if havePDFText != nil {
				continue
			}
			got, err := exec.Command("pdftotext", path, "-").Output()
			if err != nil {
				t.Fatalf("pdftotext %s: %v", f, err)
			}
			text = string(got)
		}
		all += text
		for _, id := range reportAccounts {
			if strings.Contains(text, id) {
				t.Errorf("%s contains the raw account id %s", f, id)
			}
		}
	}
	if havePDFText != nil {
		t.Log("pdftotext not found: PDFs not checked (install poppler-utils)")
	}
	for _, want := range []string{"acct-f39c98aed0e926b0", "maker acct-4209c16af419f81a", "account ids redacted"} {
		if !strings.Contains(all, want) {
			t.Errorf("outputs lack %q", want)
		}
	}
}

// TestReportDeterministic builds and writes the report twice: every file is byte-identical.
func TestReportDeterministic(t *testing.T) {
	_, run := reportRun(t)
	var prev map[string][]byte
	for i := 0; i < 2; i++ {
		doc, err := BuildReport(run, ReportOptions{Resamples: 50})
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "report")
		files, err := reports.WriteReportFolder(context.Background(), out, doc, []string{reports.ReportPDF, reports.ReportHTML, reports.ReportMD, reports.ReportPNG})
		if err != nil {
			t.Fatal(err)
		}
		cur := map[string][]byte{}
		for _, f := range files {
			cur[f], _ = os.ReadFile(filepath.Join(out, f))
			if prev != nil && !bytes.Equal(prev[f], cur[f]) {
				t.Errorf("%s differs between two reports of the same run", f)
			}
		}
		prev = cur
	}
}

// TestReportWithoutDataset: when the dataset is gone, or changed since the run, the report is
// built from the run folder alone and says so.
func TestReportWithoutDataset(t *testing.T) {
	data, run := reportRun(t)
	check := func(name string, doc *reports.Document, wantNote string) {
		t.Helper()
		if doc.Dataset.Available || len(doc.Timelines) != 0 || len(doc.Confusion.Detectors) != 0 {
			t.Errorf("%s: dataset used: available %v, %d timelines", name, doc.Dataset.Available, len(doc.Timelines))
		}
		if doc.MissesTotal != 2 || doc.FalseAlertsTotal != 2 || doc.Overall.TP != 1 {
			t.Errorf("%s: %d misses, %d false alerts", name, doc.MissesTotal, doc.FalseAlertsTotal)
		}
		// From matches.parquet: the incident's start, the matched alert's time-to-detect.
		if len(doc.TTD) != 1 || doc.TTD[0].Seconds[0] != 10 || doc.Misses[0].Start != rt(190) {
			t.Errorf("%s: ttd %+v, first miss %+v", name, doc.TTD, doc.Misses[0])
		}
		notes := strings.Join(doc.Notes, " | ")
		if !strings.Contains(notes, wantNote) || !strings.Contains(notes, "incident ends and accounts are unknown") {
			t.Errorf("%s: notes %q lack %q", name, notes, wantNote)
		}
	}
	doc, err := BuildReport(run, ReportOptions{DataDir: filepath.Join(data, "missing")})
	if err != nil {
		t.Fatal(err)
	}
	check("missing", doc, "dataset not available")

	// One more label: labels.parquet changes size.
	changed := filepath.Join(t.TempDir(), "changed")
	writeReportMarket(t, changed)
	ds, err := datasets.Open(changed)
	if err != nil {
		t.Fatal(err)
	}
	incidents, err := ds.Labels()
	if err != nil {
		t.Fatal(err)
	}
	incidents = append(incidents, datasets.Incident{ID: "I4", Type: detectors.Spoofing, Symbol: "AAAUSDT", Start: rt(10), End: rt(20), Source: "test"})
	if err := datasets.WriteLabels(filepath.Join(changed, "labels.parquet"), incidents); err != nil {
		t.Fatal(err)
	}
	doc, err = BuildReport(run, ReportOptions{DataDir: changed})
	if err != nil {
		t.Fatal(err)
	}
	check("changed", doc, "differs from the run's inputs (labels.parquet changed or missing)")
	if _, err := reports.WriteReportFolder(context.Background(), filepath.Join(t.TempDir(), "r"), doc, []string{reports.ReportPDF, reports.ReportMD}); err != nil {
		t.Errorf("report without dataset does not render: %v", err)
	}
}

// TestReportToleratesOldConfig: a config.yaml naming a parameter this fds does not know (a run
// made by another version) still gives a report, with its min_score and windows.
func TestReportToleratesOldConfig(t *testing.T) {
	_, run := reportRun(t)
	old := "detectors:\n  test_report:\n    retired_param: 3\n    min_score: 0.55\nmatch:\n  lead_s: 60\n  tolerance_s: 300\n"
	if err := os.WriteFile(filepath.Join(run, ConfigFile), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	doc, err := BuildReport(run, ReportOptions{Resamples: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Thresholds) != 1 || doc.Thresholds[0].MinScore != 0.55 || doc.MissesTotal != 2 {
		t.Errorf("thresholds %+v, %d misses", doc.Thresholds, doc.MissesTotal)
	}
	if doc.Comparison[0].PrecisionCI != nil || doc.CINote != "" {
		t.Error("intervals computed with Resamples < 0")
	}
	if !strings.Contains(strings.Join(doc.Notes, " "), `has no parameter "retired_param"`) {
		t.Errorf("notes %q do not say the config is old", doc.Notes)
	}
}

func TestBuildReportErrors(t *testing.T) {
	_, run := reportRun(t)
	if _, err := BuildReport(filepath.Join(run, "nope"), ReportOptions{}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing run: %v", err)
	}
	if _, err := BuildReport(filepath.Join(run, MetricsFile), ReportOptions{}); err == nil || !strings.Contains(err.Error(), "not a run folder") {
		t.Errorf("file instead of folder: %v", err)
	}
	if err := os.WriteFile(filepath.Join(run, MatchesFile), []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := BuildReport(run, ReportOptions{}); err == nil || !strings.Contains(err.Error(), MatchesFile) {
		t.Errorf("corrupt matches: %v", err)
	}
}
