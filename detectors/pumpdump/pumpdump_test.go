package pumpdump

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/scripttest"
)

func TestScripts(t *testing.T) { scripttest.RunDir(t, "testdata") }

func build(t testing.TB, over map[string]float64) detectors.Detector {
	t.Helper()
	d, _, err := detectors.Build(Name, over, detectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func replay(d detectors.Detector, evs []detectors.Event) []detectors.Alert {
	var out []detectors.Alert
	emit := func(a detectors.Alert) { out = append(out, a) }
	for i := range evs {
		ev := evs[i]
		ev.Seq = int64(i)
		d.OnEvent(&ev, emit)
	}
	d.Flush(emit)
	return out
}

const t0 = detectors.Micros(1_580_403_600) * detectors.Second // 2020-01-30T17:00:00Z, a chunk boundary

func trade(ts detectors.Micros, side detectors.Side, price, qty float64, taker, maker string) detectors.Event {
	return detectors.Event{TS: ts, Symbol: "NULS/BTC", Kind: detectors.KindTrade,
		Trade: detectors.Trade{Price: price, Qty: qty, TakerSide: side, TakerAccount: taker, MakerAccount: maker}}
}

// pumpScenario: two hours of one buy of 1 at 1.00 per 25 s chunk, then a chunk of 30 buys at
// distinct milliseconds with prices 1.005, 1.010, ..., 1.150, then one sell in the next chunk.
func pumpScenario(accounts bool) []detectors.Event {
	var evs []detectors.Event
	acct := func(s string) string {
		if accounts {
			return s
		}
		return ""
	}
	chunk := 25 * detectors.Second
	for i := detectors.Micros(-288); i < 0; i++ {
		evs = append(evs, trade(t0+i*chunk+detectors.Second, detectors.Buy, 1, 1, acct("A"), acct("B")))
	}
	for i := 1; i <= 30; i++ {
		evs = append(evs, trade(t0+detectors.Micros(i)*detectors.Millisecond, detectors.Buy, 1+0.005*float64(i), 1,
			acct(string(rune('a'+i%26))), acct("A")))
	}
	evs = append(evs, trade(t0+chunk+2*detectors.Second, detectors.Sell, 1.1, 1, acct("z"), acct("y")))
	return evs
}

func TestDefaultsOnAPumpChunk(t *testing.T) {
	alerts := replay(build(t, nil), pumpScenario(false))
	if len(alerts) != 1 {
		t.Fatalf("alerts %+v", alerts)
	}
	a := alerts[0]
	// Hand computation with the defaults (z_scale 10, return_scale 0.05): the 2 h baseline has
	// R = T = V = 1 in every chunk (sd 0), so zR = zT = (30-1)/1 = 29; V = 30 + 0.005·465 =
	// 32.325, zV = 31.325/(0+1+32.325/30) = 15.078; ret = 0.15;
	// score = ((1-e^-2.9)^3 (1-e^-1.5078)(1-e^-3))^(1/5) = 0.910082.
	if math.Abs(a.Score-0.910082) > 1e-6 {
		t.Errorf("score %.6f, want 0.910082", a.Score)
	}
	f := a.Evidence.Features
	if f["rush_orders"] != 30 || math.Abs(f["z_notional"]-15.078219) > 1e-5 || math.Abs(f["return"]-0.15) > 1e-12 {
		t.Errorf("features %v", f)
	}
	if a.TS != t0+27*detectors.Second || a.WindowStart != t0 || a.WindowEnd != t0+25*detectors.Second ||
		a.Type != detectors.PumpAndDump || len(a.Accounts) != 0 || len(a.Evidence.TradeIDs) != 30 {
		t.Errorf("alert %+v", a)
	}
}

func TestAccountIDsChangeNothingButTheAccounts(t *testing.T) {
	// Property: the symbol-level decision does not depend on who trades; only the named
	// accounts do. With accounts, A (the maker of every pump fill, who bought 288 before) is
	// named.
	public := replay(build(t, nil), pumpScenario(false))
	named := replay(build(t, nil), pumpScenario(true))
	if len(public) != 1 || len(named) != 1 {
		t.Fatalf("public %d named %d alerts", len(public), len(named))
	}
	p, n := public[0], named[0]
	if p.TS != n.TS || p.Score != n.Score || p.WindowStart != n.WindowStart {
		t.Errorf("accounts changed the alert: %+v vs %+v", p, n)
	}
	if strings.Join(n.Accounts, ",") != "A" {
		t.Errorf("accounts %v, want A", n.Accounts)
	}
	// Renaming every account changes the names only.
	evs := pumpScenario(true)
	for i := range evs {
		if evs[i].Trade.MakerAccount != "" {
			evs[i].Trade.MakerAccount = "x-" + evs[i].Trade.MakerAccount
		}
		if evs[i].Trade.TakerAccount != "" {
			evs[i].Trade.TakerAccount = "x-" + evs[i].Trade.TakerAccount
		}
	}
	renamed := replay(build(t, nil), evs)
	if len(renamed) != 1 || renamed[0].Score != n.Score || strings.Join(renamed[0].Accounts, ",") != "x-A" {
		t.Errorf("renamed %+v", renamed)
	}
}

func TestDeterministicAndBounded(t *testing.T) {
	a1 := replay(build(t, nil), pumpScenario(true))
	a2 := replay(build(t, nil), pumpScenario(true))
	if fmt.Sprint(a1) != fmt.Sprint(a2) {
		t.Error("two runs differ")
	}
	spec, _ := detectors.Lookup(Name)
	p, _ := spec.Resolve(map[string]float64{"max_accounts": 8})
	d := New(p)
	// 10 days of trades between 1000 distinct accounts: the ring stays at baseline/chunk slots
	// and the account book at max_accounts.
	var ev detectors.Event
	for i := 0; i < 40000; i++ {
		ev = trade(t0+detectors.Micros(i)*20*detectors.Second, detectors.Buy, 1, 1, fmt.Sprint("t", i%1000), fmt.Sprint("m", i%997))
		d.OnEvent(&ev, func(detectors.Alert) {})
	}
	s := d.symbols["NULS/BTC"]
	if len(s.ring) != 576 || s.filled != 576 || len(s.accounts.net) > 8 {
		t.Errorf("ring %d filled %d accounts %d", len(s.ring), s.filled, len(s.accounts.net))
	}
}

func TestBaselineAfterALongGap(t *testing.T) {
	// A symbol's second data window months later starts a new history: no alert in its first
	// `warmup` seconds even though its baseline is empty.
	evs := pumpScenario(false)
	shift := 90 * detectors.Day
	var second []detectors.Event
	second = append(second, trade(t0+shift, detectors.Buy, 1, 1, "", ""))
	for i := 1; i <= 30; i++ {
		second = append(second, trade(t0+shift+25*detectors.Second+detectors.Micros(i)*detectors.Millisecond, detectors.Buy, 1+0.01*float64(i), 1, "", ""))
	}
	second = append(second, trade(t0+shift+60*detectors.Second, detectors.Sell, 1, 1, "", ""))
	alerts := replay(build(t, nil), append(evs, second...))
	if len(alerts) != 1 || alerts[0].WindowStart != t0 {
		t.Errorf("alerts %+v", alerts)
	}
}

func BenchmarkPumpDump(b *testing.B) {
	// One day of a busy symbol: a trade every 100 ms, alternating sides, price random-walking.
	var evs []detectors.Event
	price := 1.0
	for i := 0; i < 864000; i++ {
		side := detectors.Buy
		if i%3 == 0 {
			side = detectors.Sell
		}
		price *= 1 + 0.0001*float64(i%7-3)
		evs = append(evs, trade(t0+detectors.Micros(i)*100*detectors.Millisecond, side, price, 1, "", ""))
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		d := build(b, nil)
		emit := func(detectors.Alert) {}
		for i := range evs {
			d.OnEvent(&evs[i], emit)
		}
		d.Flush(emit)
	}
	b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
}

func TestOddTradesAreIgnored(t *testing.T) {
	// NaN, infinite, zero and negative prices or quantities and unknown sides amid a pump: no
	// panic, no NaN score, and the alert is the one of the clean scenario.
	clean := replay(build(t, nil), pumpScenario(false))
	var evs []detectors.Event
	odd := []float64{0, -1, math.NaN(), math.Inf(1), math.Inf(-1)}
	for i, ev := range pumpScenario(false) {
		evs = append(evs, ev)
		bad := ev
		bad.Trade.Price = odd[i%len(odd)]
		if i%3 == 0 {
			bad.Trade.Price, bad.Trade.Qty = 1, odd[i%len(odd)]
		}
		if bad.Trade.Qty == 0 {
			bad.Trade.TakerSide = 0
		}
		evs = append(evs, bad)
	}
	got := replay(build(t, map[string]float64{"min_score": 0}), evs)
	for _, a := range got {
		if math.IsNaN(a.Score) || math.IsInf(a.Score, 0) {
			t.Fatalf("non-finite score %+v", a)
		}
	}
	again := replay(build(t, nil), evs)
	if len(again) != 1 || len(clean) != 1 || again[0].Score != clean[0].Score {
		t.Errorf("odd trades changed the alert: %+v vs %+v", again, clean)
	}
}

func TestWindowStatsMatchBruteForce(t *testing.T) {
	// The baseline of a burst's windows: mean and sd of the sums of `length` consecutive chunks
	// of the ring, its newest `exclude` chunks left out, checked against a direct computation on
	// the chronological list, with the ring wrapped (700 chunks pushed into 576 slots) and not.
	rng := rand.New(rand.NewPCG(7, 11))
	for _, pushed := range []int{40, 700} {
		d := New(mustResolve(t, nil))
		s := &symbolState{ring: make([]stat, d.ringLen)}
		var all []stat
		for i := 0; i < pushed; i++ {
			x := stat{rush: float64(rng.IntN(30)), trades: float64(rng.IntN(100)), notional: 1000 * rng.Float64()}
			s.add(x, d.ringLen)
			all = append(all, x)
		}
		kept := all[max(0, len(all)-d.ringLen):]
		for _, c := range []struct{ length, exclude int }{{1, 0}, {1, 1}, {2, 1}, {3, 2}, {2, 0}} {
			mean, sd := d.windowStats(s, c.length, c.exclude)
			base := kept[:len(kept)-c.exclude]
			var sums []float64
			for i := 0; i+c.length <= len(base); i++ {
				var w float64
				for _, x := range base[i : i+c.length] {
					w += x.rush
				}
				sums = append(sums, w)
			}
			var m, v float64
			for _, w := range sums {
				m += w
			}
			m /= float64(len(sums))
			for _, w := range sums {
				v += (w - m) * (w - m)
			}
			wantSD := math.Sqrt(v / float64(len(sums)))
			if math.Abs(mean.rush-m) > 1e-9 || math.Abs(sd.rush-wantSD) > 1e-9 {
				t.Errorf("pushed %d length %d exclude %d: mean %.6f sd %.6f, want %.6f %.6f", pushed, c.length, c.exclude, mean.rush, sd.rush, m, wantSD)
			}
		}
	}
}

func mustResolve(t *testing.T, over map[string]float64) detectors.Params {
	t.Helper()
	spec, _ := detectors.Lookup(Name)
	p, err := spec.Resolve(over)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
