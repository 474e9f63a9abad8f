package reports

import (
	"math"
	"time"
)

// Hand-made inputs for the golden figures and documents: small, fixed and covering the cases a
// reader meets (a good detector, a poor one, one that raised nothing).

// t0 is 2024-01-01T00:00:00Z in µs.
const t0 = int64(1704067200) * 1_000_000

func sec(s float64) int64 { return t0 + int64(math.Round(s*1e6)) }

func sampleThresholds() ThresholdSeries {
	// Seven distinct scores; P, R, F1 as backtest.PRCurve gives them for 10 incidents and alerts
	// (by descending score) TP TP TP FP TP FP FP over a 0.5-day span: alerts/day = 2·alerts.
	return ThresholdSeries{
		Name:         "spoofing",
		Threshold:    []float64{0.95, 0.9, 0.82, 0.7, 0.66, 0.58, 0.51},
		Precision:    []float64{1, 1, 1, 0.75, 0.8, 4.0 / 6, 4.0 / 7},
		Recall:       []float64{0.1, 0.2, 0.3, 0.3, 0.4, 0.4, 0.4},
		F1:           []float64{2.0 / 11, 2.0 / 6, 6.0 / 13, 6.0 / 14, 8.0 / 15, 8.0 / 16, 8.0 / 17},
		AlertsPerDay: []float64{2, 4, 6, 8, 10, 12, 14},
		MinScore:     0.5,
	}
}

func sampleTTD() []TTDSeries {
	return []TTDSeries{
		{Name: "spoofing", Seconds: []float64{1.5, 2, 2, 3.25, 4, 6.5, 9, 12, 30}},
		{Name: "wash_trade", Seconds: []float64{-20, 0, 0, 0, 15, 45, 300, 900, 2400}},
		{Name: "pump_and_dump"},
	}
}

func sampleComparison() []ComparisonRow {
	return []ComparisonRow{
		{Detector: "pump_and_dump", Precision: 0, Recall: 0, F1: 0},
		{Detector: "spoofing", Precision: 0.395, Recall: 0.941, F1: 0.557,
			PrecisionCI: &CI{0.29, 0.51}, RecallCI: &CI{0.85, 1}, F1CI: &CI{0.45, 0.66}},
		{Detector: "wash_trade", Precision: 0.542, Recall: 1, F1: 0.703,
			PrecisionCI: &CI{0.41, 0.67}, RecallCI: &CI{1, 1}, F1CI: &CI{0.58, 0.8}},
	}
}

func sampleConfusion() Confusion {
	return Confusion{
		Detectors: []string{"pump_and_dump", "spoofing", "wash_trade"},
		Own:       []string{"pump_and_dump", "spoofing", "wash_trade"},
		Types:     []string{"spoofing", "wash_trade"},
		Counts:    [][]int{{0, 1}, {32, 3}, {0, 33}},
		Outside:   []int{3, 47, 26},
		Alerts:    []int{4, 81, 59},
	}
}

// sampleTimeline is a 10-minute window: a random-walk-like price from a fixed formula, marks every
// 5 s, a focus incident from 3 to 6 minutes, another incident, one true and two false alerts.
func sampleTimeline() Timeline {
	var trades, marks, evidence []PricePoint
	for i := 0; i < 600; i++ {
		p := 42000 + 30*math.Sin(float64(i)/37) + 12*math.Sin(float64(i)/5.3)
		if i >= 200 && i < 260 {
			p += float64(i-200) * 0.8 // a push during the incident
		}
		trades = append(trades, PricePoint{TS: sec(float64(i)), Price: p})
		if i%5 == 0 {
			marks = append(marks, PricePoint{TS: sec(float64(i)), Price: 42000 + 30*math.Sin(float64(i)/37)})
		}
		if i >= 200 && i < 260 && i%10 == 0 {
			evidence = append(evidence, PricePoint{TS: sec(float64(i)), Price: p})
		}
	}
	return Timeline{
		Name: "timeline_miss_1", Title: "Missed spoofing incident synth-spoofing-0007 on BTCUSDT",
		Caption: "sample", Symbol: "BTCUSDT", From: sec(0), To: sec(600),
		Trades: trades, Marks: marks, Evidence: evidence, EvidenceLabel: "trades of the incident's accounts",
		Spans: []Span{
			{From: sec(180), To: sec(360), Label: "spoofing synth-spoofing-0007 (missed)", Focus: true},
			{From: sec(450), To: sec(470), Label: "wash_trade synth-wash_trade-0003"},
		},
		Alerts: []AlertMark{
			{TS: sec(120), Detector: "spoofing", TP: false},
			{TS: sec(455), Detector: "wash_trade", TP: true},
			{TS: sec(520), Detector: "spoofing", TP: false},
		},
	}
}

func samplePR() []PRSeries { return goldenSeries() }

func sampleFigures() ([]*Figure, error) {
	var out []*Figure
	add := func(f *Figure, err error) error {
		if err != nil {
			return err
		}
		out = append(out, f)
		return nil
	}
	if err := add(PRFigure(samplePR())); err != nil {
		return nil, err
	}
	if err := add(ThresholdFigure(sampleThresholds())); err != nil {
		return nil, err
	}
	if err := add(TTDFigure(sampleTTD())); err != nil {
		return nil, err
	}
	if err := add(ComparisonFigure(sampleComparison(), "95% bootstrap intervals")); err != nil {
		return nil, err
	}
	if err := add(ConfusionFigure(sampleConfusion())); err != nil {
		return nil, err
	}
	if err := add(TimelineFigure(sampleTimeline())); err != nil {
		return nil, err
	}
	return out, nil
}

// sampleDocument is a complete document over the sample figures, with one account id
// ("u7") that redaction tests look for.
func sampleDocument() *Document {
	overall := MetricsRow{Detector: "overall", Alerts: 144, Incidents: 66, TP: 64, FP: 80, FN: 2,
		Precision: 64.0 / 144, Recall: 64.0 / 66, F1: 128.0 / 210, AveragePrecision: 0.667, TTDCount: 64, TTDMedianS: 1.6, AlertsPerDay: 1783.19}
	return &Document{
		Title: "Backtest report", Run: "sample-run", Date: time.Date(2024, 1, 1, 1, 56, 17, 0, time.UTC), Generator: "fds test",
		Identity: []Field{{"dataset", "data/sample"}, {"detectors", "pump_and_dump, spoofing, wash_trade"}, {"config sha256", "c117d12cc3a03aca"}},
		Config:   "detectors:\n  spoofing:\n    min_score: 0.5  # score\nmatch:\n  lead_s: 60\n",
		Dataset: DatasetSummary{Dir: "data/sample", Available: true, From: "2024-01-01T00:00:00.000000Z", To: "2024-01-01T01:56:17.147764Z",
			SpanDays: 0.081, Accounts: 469,
			Inputs:    []InputRow{{Table: "trades", Path: "trades.parquet", Bytes: 1576799, SHA256: "5b9d52a629bb9f163bc3f44d6b27ac644097b6298aa938073f6553d2d13f1864"}},
			Tables:    []TableRows{{"trades", 83624}, {"marks", 27912}},
			Symbols:   []SymbolRows{{"BTCUSDT", 33795, 6978}, {"ETHUSDT", 27238, 6978}},
			Incidents: []TypeCount{{"wash_trade", 32}, {"spoofing", 34}},
		},
		Metrics: []MetricsRow{
			{Detector: "spoofing", Alerts: 81, Incidents: 34, TP: 32, FP: 49, FN: 2, Precision: 32.0 / 81, Recall: 32.0 / 34, F1: 64.0 / 115,
				AveragePrecision: 0.335, TTDCount: 32, TTDMedianS: 6.3, AlertsPerDay: 1003.05},
		},
		Overall:    &overall,
		Uncovered:  []TypeCount{{"layering", 3}},
		Comparison: sampleComparison(),
		CINote:     "95% percentile bootstrap intervals",
		Confusion:  sampleConfusion(),
		PR:         samplePR(),
		Thresholds: []ThresholdSeries{sampleThresholds()},
		TTD:        sampleTTD(),
		Timelines:  []Timeline{sampleTimeline()},
		Misses: []Miss{{Detector: "spoofing", IncidentID: "synth-spoofing-0007", Type: "spoofing", Symbol: "BTCUSDT",
			Accounts: []string{"u7"}, Start: sec(180), End: sec(360), Timeline: "timeline_miss_1",
			Nearest: &NearAlert{Key: "spoofing|BTCUSDT|u9|1704067320000000", TS: sec(120), Score: 0.62, Reason: "in the window but about other accounts (u9)"}}},
		MissesTotal: 2,
		FalseAlerts: []FalseAlert{{Detector: "spoofing", Key: "spoofing|BTCUSDT|u9|1704067320000000", Symbol: "BTCUSDT", Accounts: []string{"u9"},
			TS: sec(120), WindowStart: sec(110), WindowEnd: sec(120), Score: 0.62,
			Features: []Feature{{"depth_ratio", 0.78}, {"size_ratio", 10.89}}, OrderIDs: []int64{11, 12}, TradeIDs: []int64{901}}},
		FalseAlertsTotal: 1,
		Notes:            []string{"table liquidations is absent"},
	}
}
