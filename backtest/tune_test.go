package backtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

func init() {
	// test_big_trade alerts on trades of at least min_qty, scoring qty/(qty+scale), then stays
	// silent on the symbol for cooldown seconds: a detector whose parameters change which
	// alerts exist (cooldown) and how they score, so a sweep has something to choose.
	detectors.Register(detectors.Spec{
		Name: "test_big_trade", Type: detectors.WashTrade, Summary: "test detector: big trades",
		Needs: []detectors.Kind{detectors.KindTrade},
		Params: []detectors.ParamSpec{
			{Name: "min_qty", Default: 1, Min: 0, Max: 1e6, Unit: "qty", Doc: "smallest trade alerted"},
			{Name: "scale", Default: 10, Min: 0.1, Max: 1e6, Unit: "qty", Doc: "qty scoring 0.5"},
			{Name: "cooldown", Default: 0, Min: 0, Max: 86400, Unit: "s", Doc: "silence after an alert"},
		},
		New: func(p detectors.Params, env detectors.Env) (detectors.Detector, error) {
			return &bigTrade{minQty: p.Get("min_qty"), scale: p.Get("scale"), cooldown: p.Duration("cooldown"), last: map[string]detectors.Micros{}}, nil
		},
	})
}

func init() {
	// test_gate_aware reads min_score itself (and declares it): only alerts scoring at least
	// min_score start its cooldown, so its alerts at a threshold are not the alerts at the
	// floor cut at that threshold.
	detectors.Register(detectors.Spec{
		Name: "test_gate_aware", Type: detectors.WashTrade, Summary: "test detector: state depends on min_score",
		Needs: []detectors.Kind{detectors.KindTrade}, ReadsMinScore: true,
		Params: []detectors.ParamSpec{
			{Name: "cooldown", Default: 3600, Min: 0, Max: 86400, Unit: "s", Doc: "silence after an alert at or above min_score"},
		},
		New: func(p detectors.Params, env detectors.Env) (detectors.Detector, error) {
			return &gateAware{minScore: p.Get(detectors.MinScoreParam), cooldown: p.Duration("cooldown"), last: map[string]detectors.Micros{}}, nil
		},
	})
}

func init() {
	// The same detector with a default min_score of 0.5: sweeping it from the floor 0 trips the
	// probe that runs the default alongside.
	spec, _ := detectors.Lookup("test_gate_aware")
	probed := *spec
	probed.Name, probed.DefaultMinScore = "test_gate_aware_default", 0.5
	detectors.Register(probed)
}

type gateAware struct {
	minScore float64
	cooldown detectors.Micros
	last     map[string]detectors.Micros
}

func (d *gateAware) OnEvent(ev *detectors.Event, emit detectors.Emit) {
	if t, ok := d.last[ev.Symbol]; ok && ev.TS-t < d.cooldown {
		return
	}
	q := ev.Trade.Qty
	score := q / (q + 10)
	if score >= d.minScore {
		d.last[ev.Symbol] = ev.TS
	}
	emit(detectors.Alert{Symbol: ev.Symbol, TS: ev.TS, Accounts: []string{ev.Trade.TakerAccount}, Score: score})
}

func (d *gateAware) Flush(detectors.Emit) {}

type bigTrade struct {
	minQty, scale float64
	cooldown      detectors.Micros
	last          map[string]detectors.Micros
}

func (d *bigTrade) OnEvent(ev *detectors.Event, emit detectors.Emit) {
	q := ev.Trade.Qty
	if ev.Kind != detectors.KindTrade || q < d.minQty {
		return
	}
	if t, ok := d.last[ev.Symbol]; ok && ev.TS-t < d.cooldown {
		return
	}
	d.last[ev.Symbol] = ev.TS
	emit(detectors.Alert{Symbol: ev.Symbol, TS: ev.TS, WindowStart: ev.TS, WindowEnd: ev.TS,
		Accounts: []string{ev.Trade.TakerAccount}, Score: q / (q + d.scale)})
}

func (d *bigTrade) Flush(detectors.Emit) {}

// writeTuneDataset writes a 4-day trades-and-labels dataset: a noise trade every 10 minutes
// (qty 1–5), 40 labelled big trades (qty 8–20) and 30 unlabelled look-alikes (qty 6–12), seeded.
func writeTuneDataset(t testing.TB, dir string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	start := detectors.Micros(1_704_067_200_000_000) // 2024-01-01T00:00:00Z
	span := 4 * detectors.Day
	type tr struct {
		ts      detectors.Micros
		qty     float64
		account string
	}
	var trades []tr
	for ts := start; ts < start+span; ts += 10 * detectors.Minute {
		trades = append(trades, tr{ts, float64(1 + rng.IntN(5)), fmt.Sprintf("n%d", rng.IntN(50))})
	}
	var incidents []datasets.Incident
	for i := 0; i < 40; i++ {
		ts := start + detectors.Micros(float64(span)*(float64(i)+0.5)/40) + 7*detectors.Second
		acct := fmt.Sprintf("w%d", i)
		trades = append(trades, tr{ts, 8 + rng.Float64()*12, acct})
		incidents = append(incidents, datasets.Incident{ID: fmt.Sprintf("inc-%02d", i), Type: detectors.WashTrade,
			Symbol: "BTC", Accounts: []string{acct}, Start: ts - 10*detectors.Second, End: ts + 10*detectors.Second, Source: "test"})
	}
	for i := 0; i < 30; i++ {
		ts := start + detectors.Micros(float64(span)*(float64(i)+0.2)/30) + 3*detectors.Second
		trades = append(trades, tr{ts, 6 + rng.Float64()*6, fmt.Sprintf("l%d", i)})
	}
	// Sort by ts (insertion sort keeps it dependency-free; a few hundred rows).
	for i := 1; i < len(trades); i++ {
		for j := i; j > 0 && trades[j].ts < trades[j-1].ts; j-- {
			trades[j], trades[j-1] = trades[j-1], trades[j]
		}
	}
	w, err := datasets.NewEventWriter(filepath.Join(dir, "trades.parquet"), datasets.TableTrades)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range trades {
		ev := detectors.Event{TS: x.ts, Symbol: "BTC", Kind: detectors.KindTrade, Trade: detectors.Trade{
			TradeID: int64(i + 1), Price: 100, Qty: x.qty, TakerSide: detectors.Buy, TakerAccount: x.account, MakerAccount: "mm"}}
		if err := w.Write(&ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := datasets.WriteLabels(filepath.Join(dir, "labels.parquet"), incidents); err != nil {
		t.Fatal(err)
	}
}

const tuneTestGrid = `detectors:
  test_big_trade:
    fixed:
      scale: 10
    sweep:
      min_qty: [1, 4, 7, 10]
      cooldown: [0, 3600, 21600]
`

func tuneTestOptions(t testing.TB, data string, v Validation) TuneOptions {
	g, err := ParseGrid("grid.yaml", []byte(tuneTestGrid))
	if err != nil {
		t.Fatal(err)
	}
	obj, _ := ParseObjective("fbeta:1")
	return TuneOptions{Options: Options{DataDir: data}, Grid: g, Objective: obj, Validation: v, Seed: 1, Resamples: 200}
}

func TestTuneReproducesThroughBacktest(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.MkdirAll(data, 0o755)
	writeTuneDataset(t, data)
	for _, v := range []Validation{{}, {Split: true, SplitFraction: 0.5}, {Folds: 3}} {
		t.Run(fmt.Sprintf("split=%v folds=%d", v.Split, v.Folds), func(t *testing.T) {
			res, err := Tune(context.Background(), tuneTestOptions(t, data, v))
			if err != nil {
				t.Fatal(err)
			}
			if res.Configurations != 12 || !res.Feasible || res.TunedMetrics == nil {
				t.Fatalf("configurations %d feasible %v", res.Configurations, res.Feasible)
			}
			// test_big_trade never sees min_score, so no verification replay ran: the figures
			// compared with a backtest below are the sweep's own.
			if _, ran := res.Manifest.TimingsSeconds["verify"]; ran {
				t.Fatal("a verification backtest ran for a detector that does not read min_score")
			}
			// Asked to, the verification backtest runs and agrees with the sweep's figures: the
			// threshold sweep is exact for a detector whose min_score only gates its alerts.
			opts := tuneTestOptions(t, data, v)
			opts.Verify = true
			verified, err := Tune(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, ran := verified.Manifest.TimingsSeconds["verify"]; !ran {
				t.Fatal("Verify set but no verification backtest ran")
			}
			for _, w := range verified.Warnings {
				if strings.Contains(w, "beyond its gate") {
					t.Fatalf("the sweep's prediction differs from the backtest: %s", w)
				}
			}
			if x, y := mustJSON(t, verified.TunedMetrics), mustJSON(t, res.TunedMetrics); x != y {
				t.Fatalf("verified tuned_metrics\n%s\nsweep's\n%s", x, y)
			}
			out := filepath.Join(dir, "tune")
			if err := WriteTuneFolder(context.Background(), out, res); err != nil {
				t.Fatal(err)
			}
			cfg, err := LoadConfig(filepath.Join(out, TunedConfigFile))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg, res.Tuned) {
				t.Fatalf("tuned.yaml loads as %+v, want %+v", cfg, res.Tuned)
			}
			run, err := Run(context.Background(), Options{DataDir: data, Config: cfg})
			if err != nil {
				t.Fatal(err)
			}
			a, _ := json.Marshal(run.Metrics)
			b, _ := json.Marshal(res.TunedMetrics)
			if !bytes.Equal(a, b) {
				t.Fatalf("backtest of tuned.yaml:\n%s\ntuning reported:\n%s", a, b)
			}
			// The leaderboard's all-data figures of the chosen configuration are the backtest's.
			dt := res.Detectors[0]
			best, m := dt.Leaderboard[0].Full, run.Metrics.Detectors["test_big_trade"]
			if best.TP != m.TP || best.FP != m.FP || best.FN != m.FN || best.Precision != m.Precision || best.Recall != m.Recall || best.F1 != m.F1 || best.AlertsPerDay != m.AlertsPerDay {
				t.Fatalf("leaderboard full %+v != backtest %+v", best, m)
			}
			if dt.Chosen != dt.Leaderboard[0].ID || dt.MinScore != cfg.Detectors["test_big_trade"]["min_score"] {
				t.Fatalf("chosen %s at %v, tuned.yaml min_score %v", dt.Chosen, dt.MinScore, cfg.Detectors["test_big_trade"]["min_score"])
			}
		})
	}
}

func TestTuneIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.MkdirAll(data, 0o755)
	writeTuneDataset(t, data)
	files := []string{LeaderboardJSONFile, LeaderboardMDFile, TunedConfigFile, CurvesFile, GridFile}
	var first map[string][]byte
	for i, workers := range []int{1, 3} {
		opts := tuneTestOptions(t, data, Validation{Split: true, SplitFraction: 0.6})
		opts.Workers = workers
		res, err := Tune(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, fmt.Sprint("run", i))
		if err := WriteTuneFolder(context.Background(), out, res); err != nil {
			t.Fatal(err)
		}
		got := map[string][]byte{}
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(out, f))
			if err != nil {
				t.Fatal(err)
			}
			got[f] = b
		}
		if first == nil {
			first = got
			continue
		}
		for _, f := range files {
			if !bytes.Equal(first[f], got[f]) {
				t.Errorf("%s differs between runs (workers 1 and %d)", f, workers)
			}
		}
	}
}

func TestTuneSplitFiguresAddUp(t *testing.T) {
	dir := t.TempDir()
	writeTuneDataset(t, dir)
	res, err := Tune(context.Background(), tuneTestOptions(t, dir, Validation{Split: true, SplitFraction: 0.5}))
	if err != nil {
		t.Fatal(err)
	}
	dt := res.Detectors[0]
	if dt.Incidents["in_sample"]+dt.Incidents["out_of_sample"] != 40 {
		t.Fatalf("incidents split %v, want 40 in all", dt.Incidents)
	}
	// Incidents are evenly spread: 20 start in each half (hand count from writeTuneDataset).
	if dt.Incidents["in_sample"] != 20 {
		t.Fatalf("in-sample incidents %d, want 20", dt.Incidents["in_sample"])
	}
	for _, cs := range dt.Leaderboard {
		in, out, full := cs.InSample, *cs.OutOfSample, cs.Full
		if in.TP+out.TP != full.TP || in.FP+out.FP != full.FP || in.FN+out.FN != full.FN || in.Alerts+out.Alerts != full.Alerts {
			t.Fatalf("%s: in %+v + out %+v != full %+v", cs.ID, in, out, full)
		}
	}
	for i := 1; i < len(dt.Leaderboard); i++ {
		o := Objective{Kind: MaxFBeta, Beta: 1}
		if o.Value(toPoint(dt.Leaderboard[i].InSample)) > o.Value(toPoint(dt.Leaderboard[i-1].InSample))+1e-15 {
			t.Fatalf("leaderboard not ranked by in-sample F1 at rank %d", i+1)
		}
	}
	// The top DefaultTop (10) of the 12 configurations get intervals, in and out of sample.
	for i, cs := range dt.Leaderboard {
		if has := cs.OutOfSample.CI != nil && cs.InSample.CI != nil; has != (i < DefaultTop) {
			t.Fatalf("rank %d: intervals %v", i+1, has)
		}
	}
}

func toPoint(f Figures) PRPoint {
	return PRPoint{Alerts: f.Alerts, TP: f.TP, FP: f.FP, Precision: f.Precision, Recall: f.Recall, F1: f.F1, AlertsPerDay: f.AlertsPerDay}
}

func TestTuneWalkForwardPoolsFolds(t *testing.T) {
	dir := t.TempDir()
	writeTuneDataset(t, dir)
	res, err := Tune(context.Background(), tuneTestOptions(t, dir, Validation{Folds: 3}))
	if err != nil {
		t.Fatal(err)
	}
	dt := res.Detectors[0]
	if len(dt.Folds) != 3 || dt.WalkForward == nil || dt.WalkForward.CI == nil {
		t.Fatalf("folds %d, walk-forward %+v", len(dt.Folds), dt.WalkForward)
	}
	var tp, fp, fn, inc int
	for _, f := range dt.Folds {
		tp, fp, fn, inc = tp+f.OutOfSample.TP, fp+f.OutOfSample.FP, fn+f.OutOfSample.FN, inc+f.OutOfSample.Incidents
	}
	wf := dt.WalkForward
	if wf.TP != tp || wf.FP != fp || wf.FN != fn || wf.Incidents != inc {
		t.Fatalf("pooled %+v, folds sum tp %d fp %d fn %d incidents %d", wf, tp, fp, fn, inc)
	}
	// 4 equal blocks of 4 days: folds test days 1–2, 2–3 and 3–4, holding 30 of the 40 incidents.
	if inc != 30 {
		t.Fatalf("test incidents %d, want 30", inc)
	}
}

func TestValidationPeriods(t *testing.T) {
	const first, last = 1000, 1400
	full, train, test, folds, err := validationPeriods(Validation{Split: true, SplitFraction: 0.25}, first, last)
	if err != nil {
		t.Fatal(err)
	}
	// 0.25 of the 400 µs span: the split is at 1100.
	if train.To != 1100 || train.Start != first || train.End != 1100 || train.From != math.MinInt64 ||
		test.From != 1100 || test.Start != 1100 || test.End != last || test.To != math.MaxInt64 || folds != nil {
		t.Fatalf("split periods train %+v test %+v", train, test)
	}
	if full.Start != first || full.End != last || full.Span() != 400 {
		t.Fatalf("full %+v", full)
	}
	// A timestamp on the split belongs to the later period.
	if train.Holds(1100) || !test.Holds(1100) || !train.Holds(1099) {
		t.Fatal("the split time must open the test period")
	}
	_, _, test2, _, err := validationPeriods(Validation{Split: true, SplitAt: 1300, HasSplitAt: true}, first, last)
	if err != nil || test2.From != 1300 {
		t.Fatalf("split at a time: %+v %v", test2, err)
	}
	for _, at := range []detectors.Micros{first, last, 900, 2000} {
		if _, _, _, _, err := validationPeriods(Validation{Split: true, SplitAt: at, HasSplitAt: true}, first, last); err == nil {
			t.Errorf("split at %d (data %d..%d) accepted", at, first, last)
		}
	}
	// 3 folds: blocks of 100 µs at 1000, 1100, 1200, 1300; fold k trains before block k and
	// tests on it; the last test period is open to the future.
	_, _, _, folds, err = validationPeriods(Validation{Folds: 3}, first, last)
	if err != nil {
		t.Fatal(err)
	}
	want := [][4]detectors.Micros{{1100, 1100, 1200, 1200}, {1200, 1200, 1300, 1300}, {1300, 1300, math.MaxInt64, last}}
	for k, f := range folds {
		tr, te := f[0], f[1]
		if tr.From != math.MinInt64 || tr.To != want[k][0] || tr.Start != first || tr.End != want[k][0] ||
			te.From != want[k][1] || te.To != want[k][2] || te.Start != want[k][1] || te.End != want[k][3] {
			t.Errorf("fold %d: train %+v test %+v", k+1, tr, te)
		}
	}
	if _, _, _, _, err := validationPeriods(Validation{Folds: 3}, 5, 7); err == nil {
		t.Error("3 folds over a 2 µs span accepted")
	}
}

func TestPeriodCurveAssignsByIncidentStart(t *testing.T) {
	// inc-1 starts before the split (100) but its alert comes after it: the true positive
	// belongs with its incident, in-sample. The false positive at 150 is out of sample.
	d := &DetectorMatch{
		Alerts: []AlertOutcome{
			{Score: 0.9, TS: 120, TP: true, IncidentID: "inc-1", IncidentStart: 90},
			{Score: 0.8, TS: 150},
			{Score: 0.7, TS: 50},
		},
		Incidents: []IncidentOutcome{{ID: "inc-1", Start: 90, Detected: true}, {ID: "inc-2", Start: 130}},
	}
	in := periodCurve(d, Period{From: math.MinInt64, To: 100, Start: 0, End: 100})
	out := periodCurve(d, Period{From: 100, To: math.MaxInt64, Start: 100, End: 200})
	if in.Incidents != 1 || len(in.Points) != 2 || in.Points[1].TP != 1 || in.Points[1].FP != 1 {
		t.Fatalf("in-sample curve %+v", in)
	}
	if out.Incidents != 1 || len(out.Points) != 1 || out.Points[0].TP != 0 || out.Points[0].FP != 1 {
		t.Fatalf("out-of-sample curve %+v", out)
	}
}

// TestTuneVerifiesDetectorsThatReadMinScore: for a detector whose state depends on min_score the
// threshold sweep is only an approximation. Tune's verification backtest catches it and warns,
// and tuned_metrics are the backtest's; sweeping min_score as an axis makes the figures exact.
func TestTuneVerifiesDetectorsThatReadMinScore(t *testing.T) {
	dir := t.TempDir()
	writeTuneDataset(t, dir)
	obj, _ := ParseObjective("fbeta:1")
	tune := func(grid string) *TuneResult {
		g, err := ParseGrid("grid.yaml", []byte(grid))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Tune(context.Background(), TuneOptions{Options: Options{DataDir: dir}, Grid: g, Objective: obj, Seed: 1, Resamples: 50})
		if err != nil {
			t.Fatal(err)
		}
		run, err := Run(context.Background(), Options{DataDir: dir, Config: res.Tuned})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*res.TunedMetrics, run.Metrics) {
			t.Fatalf("tuned_metrics are not the backtest's")
		}
		return res
	}
	approx := tune("detectors:\n  test_gate_aware:\n    sweep:\n      cooldown: [3600, 7200]\n")
	if len(approx.Warnings) == 0 || !strings.Contains(strings.Join(approx.Warnings, " "), "depend on min_score beyond its gate") {
		t.Fatalf("no warning about the approximate threshold sweep: %q", approx.Warnings)
	}
	exact := tune("detectors:\n  test_gate_aware:\n    sweep:\n      cooldown: [3600, 7200]\n      min_score: [0, 0.4, 0.5, 0.6]\n")
	for _, w := range exact.Warnings {
		if strings.Contains(w, "min_score beyond") {
			t.Fatalf("swept min_score must be exact: %s", w)
		}
	}
	dt := exact.Detectors[0]
	if ms := dt.MinScore; ms != 0 && ms != 0.4 && ms != 0.5 && ms != 0.6 {
		t.Fatalf("chosen min_score %v is not one of the swept values", ms)
	}
	best := dt.Leaderboard[0].Full
	m := exact.TunedMetrics.Detectors["test_gate_aware"]
	if best.TP != m.TP || best.FP != m.FP || best.F1 != m.F1 {
		t.Fatalf("leaderboard %+v, backtest %+v", best, m)
	}
}

// TestTuneProbeRejectsDetectorsThatReadMinScore: a detector whose state depends on min_score,
// swept from a floor below its default min_score, is caught by the probe instance run at the
// default in the same replay, and the error says how to tune it instead. (Gate-only detectors
// pass the probe: spoofing and wash_trade, default min_score 0.5, in the acceptance and CLI
// tests.)
func TestTuneProbeRejectsDetectorsThatReadMinScore(t *testing.T) {
	dir := t.TempDir()
	writeTuneDataset(t, dir)
	obj, _ := ParseObjective("fbeta:1")
	for _, c := range []struct {
		grid    string
		wantErr string
	}{
		{"detectors:\n  test_gate_aware_default:\n    sweep:\n      cooldown: [3600, 7200]\n",
			"test_gate_aware_default: the detector's state depends on min_score (at its default 0.5 it raises"},
		// Swept min_score: no probe, no threshold sweep, exact.
		{"detectors:\n  test_gate_aware_default:\n    sweep:\n      cooldown: [3600, 7200]\n      min_score: [0.3, 0.5]\n", ""},
	} {
		g, err := ParseGrid("grid.yaml", []byte(c.grid))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Tune(context.Background(), TuneOptions{Options: Options{DataDir: dir}, Grid: g, Objective: obj, Seed: 1, Resamples: 50})
		if c.wantErr == "" {
			if err != nil {
				t.Fatalf("grid %q: %v", c.grid, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "put min_score under sweep") {
			t.Fatalf("grid %q: err = %v, want %q", c.grid, err, c.wantErr)
		}
	}
}
