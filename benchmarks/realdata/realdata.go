// Package realdata runs fds's detectors on the real data of ../shared/data, through the same
// importers, replay and matcher as any user's backtest, and reports the figures of
// docs/benchmarks.md: the pump_and_dump benchmark on the Binance pump windows, and the alert rate
// of the order-event detectors on LOBSTER's (presumably honest) NASDAQ order flow.
package realdata

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/datasets/importers"
	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/pumpdump"
)

// Folders of ../shared/data the benchmarks read.
const (
	TradesFolder   = "pnd-binance-trades"
	SapienzaFolder = "pnd-sapienza-labels"
	Labels498      = "pnd-binance-labels-498"
	LobsterFolder  = "lobster-amzn-2021-l3"
)

// CoverageGap splits a symbol's trades into separate traded spans where two consecutive trades
// are further apart than this: the pump windows of one coin months apart are two spans, the
// months between them are not covered. No window of the data has a gap near a day.
const CoverageGap = 24 * detectors.Hour

// QuietMargin is how far from any labelled pump (of the same symbol, covered or not) a moment
// must be to count as "far from any pump" for the false-alarm rate.
const QuietMargin = 6 * detectors.Hour

// PumpOptions configure the pump_and_dump benchmark.
type PumpOptions struct {
	// DataRoot is the folder holding the shared data folders (../shared/data).
	DataRoot string
	// TradesDir holds the trade windows (*.csv.gz); default DataRoot/pnd-binance-trades. Point
	// it at another folder of windows of the same kind to run the same parameters out of sample.
	TradesDir string
	// WorkDir receives the imported dataset (trades and labels tables).
	WorkDir string
	// Params override pump_and_dump's defaults (the same for every window).
	Params map[string]float64
	// Thresholds are the min_score values of the precision/recall table (each is a full run).
	Thresholds []float64
}

// Span is one traded span of a symbol.
type Span struct {
	Symbol      string
	First, Last detectors.Micros
}

// IncidentRow is the outcome of one covered incident.
type IncidentRow struct {
	ID        string
	Symbol    string
	Announced detectors.Micros
	Sources   string
	Detected  bool
	// FromAnnounced is the first eligible alert's time minus the announced time.
	FromAnnounced detectors.Micros
	Score         float64
}

// ThresholdRow is one row of the precision/recall table.
type ThresholdRow struct {
	MinScore          float64
	TP, FP, FN        int
	Precision, Recall float64
	F1                float64
	QuietAlerts       int
	QuietAlertsPerDay float64
}

// PumpResult is what the benchmark measured.
type PumpResult struct {
	Windows    int
	Trades     int64
	Symbols    int
	Spans      []Span
	TracedDays float64
	// Labels: merged incidents of the three lists; covered ones are counted, the others are not.
	Labels, Covered       int
	UncoveredSymbolAbsent int
	UncoveredOutsideSpan  int
	Params                detectors.Params
	Headline              ThresholdRow
	Table                 []ThresholdRow
	AveragePrecision      float64
	Incidents             []IncidentRow
	QuietDays             float64
	TTDMedian, TTDP90     float64 // seconds from the announced time, detected incidents
	TTDMin, TTDMax        float64
	FalseAlerts           []detectors.Alert
	ElapsedReplaySeconds  float64
}

// RunPump imports the pump windows and the three label lists, runs pump_and_dump over them and
// scores it against the covered incidents.
func RunPump(ctx context.Context, o PumpOptions) (*PumpResult, error) {
	if o.TradesDir == "" {
		o.TradesDir = filepath.Join(o.DataRoot, TradesFolder)
	}
	trades, err := filepath.Glob(filepath.Join(o.TradesDir, "*.csv.gz"))
	if err != nil {
		return nil, err
	}
	if len(trades) == 0 {
		return nil, fmt.Errorf("%s: no trade windows (*.csv.gz)", o.TradesDir)
	}
	sort.Strings(trades)
	labels := []string{
		filepath.Join(o.DataRoot, TradesFolder, "P&Ds.csv"),
		filepath.Join(o.DataRoot, SapienzaFolder, "pump_telegram.csv"),
		filepath.Join(o.DataRoot, Labels498, "pumps.json"),
	}
	if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
		return nil, err
	}
	rep, err := importers.Import("ccxt-trades", trades, o.WorkDir, importers.Options{})
	if err != nil {
		return nil, err
	}
	if _, err := importers.Import("pump-labels", labels, o.WorkDir, importers.Options{}); err != nil {
		return nil, err
	}
	res := &PumpResult{Windows: len(trades), Trades: rep.Tables[0].Rows}

	ds, err := datasets.Open(o.WorkDir)
	if err != nil {
		return nil, err
	}
	if res.Spans, err = tradedSpans(ds); err != nil {
		return nil, err
	}
	symbols := map[string]bool{}
	var traced detectors.Micros
	for _, s := range res.Spans {
		symbols[s.Symbol] = true
		traced += s.Last - s.First
	}
	res.Symbols = len(symbols)
	res.TracedDays = float64(traced) / float64(detectors.Day)
	all, err := ds.Labels()
	if err != nil {
		return nil, err
	}
	res.Labels = len(all)
	var covered []datasets.Incident
	for _, in := range all {
		switch {
		case !symbols[in.Symbol]:
			res.UncoveredSymbolAbsent++
		case !inSpans(res.Spans, in.Symbol, in.Start+importers.DefaultLabelLead):
			res.UncoveredOutsideSpan++
		default:
			covered = append(covered, in)
		}
	}
	res.Covered = len(covered)
	quiet := quietIntervals(res.Spans, all)
	for _, q := range quiet {
		res.QuietDays += float64(q.Last-q.First) / float64(detectors.Day)
	}

	spec, _ := detectors.Lookup(pumpdump.Name)
	if res.Params, err = spec.Resolve(o.Params); err != nil {
		return nil, err
	}
	run := func(minScore float64) (ThresholdRow, *backtest.DetectorMatch, []detectors.Alert, error) {
		params := map[string]float64{}
		for k, v := range o.Params {
			params[k] = v
		}
		params[detectors.MinScoreParam] = minScore
		cfg := backtest.DefaultConfig()
		cfg.Detectors = map[string]map[string]float64{pumpdump.Name: params}
		t0 := time.Now()
		r, err := backtest.Run(ctx, backtest.Options{DataDir: o.WorkDir, Config: cfg})
		if err != nil {
			return ThresholdRow{}, nil, nil, err
		}
		res.ElapsedReplaySeconds = time.Since(t0).Seconds()
		m, _, metrics := backtest.Evaluate(r.Alerts, covered, []string{pumpdump.Name}, cfg.Match.MatchConfig(), traced)
		dm, _ := m.Detector(pumpdump.Name)
		dmet := metrics.Detectors[pumpdump.Name]
		row := ThresholdRow{MinScore: minScore, TP: dmet.TP, FP: dmet.FP, FN: dmet.FN,
			Precision: dmet.Precision, Recall: dmet.Recall, F1: dmet.F1}
		for _, a := range r.Alerts {
			if inQuiet(quiet, a.Symbol, a.TS) {
				row.QuietAlerts++
			}
		}
		if res.QuietDays > 0 {
			row.QuietAlertsPerDay = float64(row.QuietAlerts) / res.QuietDays
		}
		if minScore == res.Params[detectors.MinScoreParam] {
			res.AveragePrecision = dmet.AveragePrecision
		}
		return row, dm, r.Alerts, nil
	}
	for _, th := range o.Thresholds {
		row, _, _, err := run(th)
		if err != nil {
			return nil, err
		}
		res.Table = append(res.Table, row)
	}
	head, dm, alerts, err := run(res.Params[detectors.MinScoreParam])
	if err != nil {
		return nil, err
	}
	res.Headline = head
	byKey := map[string]*detectors.Alert{}
	for i := range alerts {
		byKey[alerts[i].Key()] = &alerts[i]
	}
	var ttd []float64
	for _, io := range dm.Incidents {
		row := IncidentRow{ID: io.ID, Symbol: io.Symbol, Announced: io.Start + importers.DefaultLabelLead, Detected: io.Detected}
		for _, in := range covered {
			if in.ID == io.ID {
				row.Sources = in.Source
			}
		}
		if io.Detected {
			row.FromAnnounced = io.TimeToDetect - importers.DefaultLabelLead
			if a := byKey[io.AlertKey]; a != nil {
				row.Score = a.Score
			}
			ttd = append(ttd, float64(row.FromAnnounced)/float64(detectors.Second))
		}
		res.Incidents = append(res.Incidents, row)
	}
	for _, ao := range dm.Alerts {
		if !ao.TP {
			if a := byKey[ao.Key]; a != nil {
				res.FalseAlerts = append(res.FalseAlerts, *a)
			}
		}
	}
	backtest.SortAlerts(res.FalseAlerts)
	sort.Float64s(ttd)
	if len(ttd) > 0 {
		res.TTDMin, res.TTDMax = ttd[0], ttd[len(ttd)-1]
		res.TTDMedian = backtest.Quantile(ttd, 0.5)
		res.TTDP90 = backtest.Quantile(ttd, 0.9)
	}
	return res, nil
}

// tradedSpans reads the trades table once and cuts each symbol's trades into spans at gaps
// longer than CoverageGap. Spans are sorted by symbol, then time.
func tradedSpans(ds *datasets.Dataset) ([]Span, error) {
	r, err := ds.OpenEvents(datasets.TableTrades)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	open := map[string]*Span{}
	var spans []Span
	var ev detectors.Event
	for {
		ok, err := r.Next(&ev)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		s := open[ev.Symbol]
		if s != nil && ev.TS-s.Last > CoverageGap {
			spans = append(spans, *s)
			s = nil
		}
		if s == nil {
			s = &Span{Symbol: ev.Symbol, First: ev.TS, Last: ev.TS}
			open[ev.Symbol] = s
		}
		s.Last = ev.TS
	}
	for _, s := range open {
		spans = append(spans, *s)
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].Symbol != spans[j].Symbol {
			return spans[i].Symbol < spans[j].Symbol
		}
		return spans[i].First < spans[j].First
	})
	return spans, nil
}

func inSpans(spans []Span, sym string, ts detectors.Micros) bool {
	for _, s := range spans {
		if s.Symbol == sym && s.First <= ts && ts <= s.Last {
			return true
		}
	}
	return false
}

// quietIntervals are the parts of the traded spans further than QuietMargin from every labelled
// incident of the same symbol.
func quietIntervals(spans []Span, incidents []datasets.Incident) []Span {
	var out []Span
	for _, s := range spans {
		parts := []Span{s}
		for _, in := range incidents {
			if in.Symbol != s.Symbol {
				continue
			}
			lo, hi := in.Start-QuietMargin, in.End+QuietMargin
			var next []Span
			for _, p := range parts {
				if hi <= p.First || lo >= p.Last {
					next = append(next, p)
					continue
				}
				if lo > p.First {
					next = append(next, Span{Symbol: p.Symbol, First: p.First, Last: lo})
				}
				if hi < p.Last {
					next = append(next, Span{Symbol: p.Symbol, First: hi, Last: p.Last})
				}
			}
			parts = next
		}
		out = append(out, parts...)
	}
	return out
}

func inQuiet(quiet []Span, sym string, ts detectors.Micros) bool {
	for _, q := range quiet {
		if q.Symbol == sym && q.First <= ts && ts < q.Last {
			return true
		}
	}
	return false
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// DefaultThresholds are the min_score values of the benchmark's precision/recall table.
var DefaultThresholds = []float64{0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95}
