package reports

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Document is a full, publishable report of one backtest run: what the PDF, the HTML page and
// the Markdown summary show. The caller (package backtest) fills it from a run folder; every
// account id in it is already redacted when the report is redacted. Rendering reads no clock:
// Date is the document's date, and the same Document gives the same bytes.
type Document struct {
	Title string
	// Run names the run (its folder's name).
	Run string
	// Date is written as the PDF's creation date; derive it from the run, not from the clock.
	Date time.Time
	// Generator names the program that wrote the report (the PDF's producer).
	Generator string
	Identity  []Field
	// Config is the run's config.yaml, shown in an appendix.
	Config  string
	Dataset DatasetSummary
	Metrics []MetricsRow
	Overall *MetricsRow
	// Uncovered counts incidents of types no detector of the run detects.
	Uncovered  []TypeCount
	Comparison []ComparisonRow
	// CINote says what the comparison's intervals are; empty without intervals.
	CINote     string
	Confusion  Confusion
	PR         []PRSeries
	Thresholds []ThresholdSeries
	TTD        []TTDSeries
	Timelines  []Timeline
	// Misses and FalseAlerts are the cases listed with their evidence, worst first; the totals
	// count all of them, listed or not.
	Misses           []Miss
	MissesTotal      int
	FalseAlerts      []FalseAlert
	FalseAlertsTotal int
	// Redaction, when not empty, says how account ids were replaced.
	Redaction string
	Notes     []string
}

// DatasetSummary describes the run's dataset.
type DatasetSummary struct {
	Dir string
	// Available says the dataset folder was found and read; without it the summary holds only
	// what the run folder records.
	Available bool
	Inputs    []InputRow
	Tables    []TableRows
	From, To  string
	SpanDays  float64
	Symbols   []SymbolRows
	// Accounts is the number of rows of the accounts table, -1 when unknown.
	Accounts  int
	Incidents []TypeCount
}

// InputRow is one input file of the run, with its size and SHA-256.
type InputRow struct {
	Table, Path string
	Bytes       int64
	SHA256      string
}

// TableRows is a table's number of rows.
type TableRows struct {
	Table string
	Rows  int64
}

// SymbolRows counts a symbol's trades and marks.
type SymbolRows struct {
	Symbol        string
	Trades, Marks int64
}

// Miss is a labelled incident no alert of its detector matched, with what the detector did near
// it.
type Miss struct {
	Detector   string
	IncidentID string
	Type       string
	Symbol     string
	Accounts   []string
	Start, End int64
	// Nearest is the detector's alert on the symbol closest in time, if any.
	Nearest *NearAlert
	// Timeline is the name of the case's timeline figure, if one was drawn.
	Timeline string
}

// NearAlert is an alert near a missed incident and why it did not match it.
type NearAlert struct {
	Key    string
	TS     int64
	Score  float64
	Reason string
}

// FalseAlert is an alert that matched no incident, with its evidence.
type FalseAlert struct {
	Detector    string
	Key         string
	Symbol      string
	Accounts    []string
	TS          int64
	WindowStart int64
	WindowEnd   int64
	Score       float64
	// Duplicate says the alert fell inside an incident another alert had already matched.
	Duplicate bool
	Features  []Feature
	OrderIDs  []int64
	TradeIDs  []int64
	Note      string
	Timeline  string
}

// Feature is one named figure behind an alert's score.
type Feature struct {
	Name  string
	Value float64
}

// Figures builds the document's figures in report order: PR curves, detector comparison,
// confusion table, time to detect, threshold curves per detector, then the timelines.
func (d *Document) Figures() ([]*Figure, error) {
	var figs []*Figure
	add := func(f *Figure, err error) error {
		if err != nil {
			return err
		}
		figs = append(figs, f)
		return nil
	}
	if len(d.PR) > 0 {
		if err := add(PRFigure(d.PR)); err != nil {
			return nil, err
		}
	}
	if len(d.Comparison) > 0 {
		if err := add(ComparisonFigure(d.Comparison, d.CINote)); err != nil {
			return nil, err
		}
	}
	if len(d.Confusion.Detectors) > 0 {
		if err := add(ConfusionFigure(d.Confusion)); err != nil {
			return nil, err
		}
	}
	if len(d.TTD) > 0 {
		if err := add(TTDFigure(d.TTD)); err != nil {
			return nil, err
		}
	}
	for _, s := range d.Thresholds {
		if err := add(ThresholdFigure(s)); err != nil {
			return nil, err
		}
	}
	for _, t := range d.Timelines {
		if err := add(TimelineFigure(t)); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for _, f := range figs {
		if seen[f.Name] {
			return nil, fmt.Errorf("two figures named %q", f.Name)
		}
		seen[f.Name] = true
	}
	return figs, nil
}

// RenderAll renders figures in a format, in parallel (each figure is independent, so the bytes
// do not depend on the scheduling), and returns them in the figures' order.
func RenderAll(figs []*Figure, format string) ([][]byte, error) {
	out := make([][]byte, len(figs))
	errs := make([]error, len(figs))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(figs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = figs[i].Render(format)
			}
		}()
	}
	for i := range figs {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Formatting shared by the renderers.

// FormatTime writes a µs timestamp as UTC with millisecond precision.
func FormatTime(us int64) string {
	return time.UnixMicro(us).UTC().Format("2006-01-02 15:04:05.000")
}

// formatDuration writes a µs duration in seconds with a unit suited to its size.
func formatDuration(us int64) string { return formatSeconds(float64(us) / 1e6) }

func formatScore(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func formatFeature(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "−Inf"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// formatIDs lists ids, eliding the middle of a long list.
func formatIDs(ids []int64, limit int) string {
	if len(ids) == 0 {
		return "–"
	}
	parts := make([]string, 0, min(len(ids), limit+1))
	for i, id := range ids {
		if i == limit {
			parts = append(parts, fmt.Sprintf("… (%d in all)", len(ids)))
			break
		}
		parts = append(parts, strconv.FormatInt(id, 10))
	}
	return strings.Join(parts, ", ")
}

func formatAccounts(accounts []string) string {
	if len(accounts) == 0 {
		return "–"
	}
	return strings.Join(accounts, ", ")
}

func formatFeatures(fs []Feature) string {
	if len(fs) == 0 {
		return "–"
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Name + " " + formatFeature(f.Value)
	}
	return strings.Join(parts, ", ")
}

func formatCI(ci *CI) string {
	if ci == nil {
		return ""
	}
	return fmt.Sprintf(" [%.3f, %.3f]", ci.Low, ci.High)
}

// SortedFeatures returns features by name.
func SortedFeatures(m map[string]float64) []Feature {
	out := make([]Feature, 0, len(m))
	for k, v := range m {
		out = append(out, Feature{Name: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// maxIDsShown bounds the order and trade ids listed per case.
const maxIDsShown = 12
