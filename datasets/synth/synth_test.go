package synth

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// collect streams a market into memory.
func collect(t *testing.T, cfg Config) (*Generator, []detectors.Event, Summary) {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var evs []detectors.Event
	sum, err := g.Run(func(ev *detectors.Event) error { evs = append(evs, *ev); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return g, evs, sum
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Preset: "huge"}, `unknown preset "huge"`},
		{Config{Symbols: []string{"DOGEUSDT"}}, `unknown symbol "DOGEUSDT"`},
		{Config{Symbols: []string{"BTCUSDT", "BTCUSDT"}}, "listed twice"},
		{Config{Events: -1}, "events must be positive"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) error %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// TestMarketIsConsistent checks the invariants every consumer relies on, on the small preset.
func TestMarketIsConsistent(t *testing.T) {
	g, evs, sum := collect(t, Config{Seed: 7, Preset: "small"})
	if sum.Events != int64(len(evs)) || sum.Orders+sum.Trades+sum.Marks+sum.Liquidations != sum.Events {
		t.Fatalf("summary counts %+v vs %d events", sum, len(evs))
	}
	accounts := g.AccountMap()
	type orderState struct {
		account string
		side    detectors.Side
		qty     float64
		leaves  float64
		news    int
	}
	orders := map[int64]*orderState{}
	type fill struct {
		ts      detectors.Micros
		account string
		price   float64
		qty     float64
		side    detectors.Side
	}
	fills := map[int64][]fill{} // by order id, in order
	var last detectors.Micros
	trades := 0
	for i := range evs {
		ev := &evs[i]
		if ev.TS < last {
			t.Fatalf("event %d: ts %d before %d", i, ev.TS, last)
		}
		last = ev.TS
		if ev.TS < g.Start() || ev.TS > g.End() {
			t.Fatalf("event %d: ts outside [start, end]", i)
		}
		switch ev.Kind {
		case detectors.KindOrder:
			o := &ev.Order
			if _, ok := accounts[o.Account]; !ok {
				t.Fatalf("order %d: account %q not in the accounts table", o.OrderID, o.Account)
			}
			st := orders[o.OrderID]
			switch o.Event {
			case detectors.OrderNew:
				if st != nil {
					t.Fatalf("order %d: second new", o.OrderID)
				}
				if o.LeavesQty != o.Qty || o.Qty <= 0 {
					t.Fatalf("order %d: new with qty %v leaves %v", o.OrderID, o.Qty, o.LeavesQty)
				}
				orders[o.OrderID] = &orderState{account: o.Account, side: o.Side, qty: o.Qty, leaves: o.Qty, news: 1}
			default:
				if st == nil {
					t.Fatalf("order %d: %s before new", o.OrderID, o.Event)
				}
				if st.account != o.Account || st.side != o.Side {
					t.Fatalf("order %d: account/side changed", o.OrderID)
				}
				if o.Event == detectors.OrderFill {
					if math.Abs(st.leaves-o.Qty-o.LeavesQty) > 1e-9 {
						t.Fatalf("order %d: fill %v from leaves %v gives %v", o.OrderID, o.Qty, st.leaves, o.LeavesQty)
					}
					fills[o.OrderID] = append(fills[o.OrderID], fill{ev.TS, o.Account, o.Price, o.Qty, o.Side})
				} else if o.LeavesQty != 0 {
					t.Fatalf("order %d: %s leaves %v", o.OrderID, o.Event, o.LeavesQty)
				}
				if st.leaves == 0 {
					t.Fatalf("order %d: %s after it was done", o.OrderID, o.Event)
				}
				st.leaves = o.LeavesQty
			}
		case detectors.KindTrade:
			trades++
			tr := &ev.Trade
			for _, leg := range []struct {
				id      int64
				account string
				side    detectors.Side
			}{{tr.MakerOrderID, tr.MakerAccount, tr.TakerSide.Opposite()}, {tr.TakerOrderID, tr.TakerAccount, tr.TakerSide}} {
				fs := fills[leg.id]
				if len(fs) == 0 {
					t.Fatalf("trade %d: no unmatched fill of order %d", tr.TradeID, leg.id)
				}
				f := fs[0]
				fills[leg.id] = fs[1:]
				if f.ts != ev.TS || f.account != leg.account || f.price != tr.Price || f.qty != tr.Qty || f.side != leg.side {
					t.Fatalf("trade %d %+v does not match fill %+v of order %d", tr.TradeID, tr, f, leg.id)
				}
			}
			if orders[tr.TakerOrderID].news != 1 {
				t.Fatalf("trade %d: taker order has no new event", tr.TradeID)
			}
		case detectors.KindMark:
			if ev.Mark.MarkPrice <= 0 || ev.Mark.IndexPrice <= 0 || !ev.Mark.HasOpenInterest || ev.Mark.OpenInterest <= 0 {
				t.Fatalf("mark %+v", ev.Mark)
			}
			// Funding settles at multiples of the preset's interval only.
			if ev.Mark.HasFunding != (ev.TS%g.p2.fundingInterval == 0) {
				t.Fatalf("mark at %d: HasFunding %v", ev.TS, ev.Mark.HasFunding)
			}
		}
	}
	for id, fs := range fills {
		if len(fs) != 0 {
			t.Fatalf("order %d: %d fills without a trade", id, len(fs))
		}
	}
	if trades == 0 || sum.MakerCancelRatio <= 0.9 {
		t.Errorf("trades %d, market-maker cancel ratio %.3f (want > 0.9)", trades, sum.MakerCancelRatio)
	}
	// The small preset starts at 2024-01-01T00:00:00Z: its first marks carry funding.
	if !evs[0].Mark.HasFunding {
		t.Errorf("first mark at midnight has no funding rate")
	}
	labels := g.Labels()
	incidents := 0
	for _, n := range sum.Incidents {
		incidents += n
	}
	if sum.Incidents[detectors.WashTrade] == 0 || sum.Incidents[detectors.Spoofing] == 0 || len(labels) != incidents {
		t.Fatalf("incidents %v, labels %d", sum.Incidents, len(labels))
	}
	for _, inc := range labels {
		if inc.Start > inc.End || inc.Start < g.Start() || inc.End > g.End() || inc.Source != "synth" || len(inc.Accounts) == 0 {
			t.Errorf("label %+v", inc)
		}
		for _, a := range inc.Accounts {
			if _, ok := accounts[a]; !ok {
				t.Errorf("label %s names unknown account %s", inc.ID, a)
			}
		}
		// A two-account wash episode names accounts of one owner group, or linked accounts
		// (shared ip or device hash, or one referred the other).
		if inc.Type == detectors.WashTrade && len(inc.Accounts) == 2 {
			a, b := accounts[inc.Accounts[0]], accounts[inc.Accounts[1]]
			linked := a.OwnerGroup == b.OwnerGroup || a.IPHash == b.IPHash || a.DeviceHash == b.DeviceHash ||
				a.Referrer == b.AccountID || b.Referrer == a.AccountID
			if !linked {
				t.Errorf("wash label %s: accounts of different owners, not linked", inc.ID)
			}
		}
		// Collusion is between unrelated accounts.
		if inc.Type == detectors.Collusion {
			a, b := accounts[inc.Accounts[0]], accounts[inc.Accounts[len(inc.Accounts)-1]]
			if len(inc.Accounts) != 2 || a.OwnerGroup == b.OwnerGroup || a.IPHash == b.IPHash || a.DeviceHash == b.DeviceHash {
				t.Errorf("collusion label %s: want two unrelated accounts, got %v", inc.ID, inc.Accounts)
			}
		}
	}
}

// TestLabelsMatchTheEvents checks that each wash label's accounts really trade with themselves
// (or each other) inside the label's window, and that each spoof label has a cancel.
func TestLabelsMatchTheEvents(t *testing.T) {
	g, evs, _ := collect(t, Config{Seed: 11, Preset: "small"})
	owner := map[string]string{}
	for id, a := range g.AccountMap() {
		owner[id] = a.OwnerGroup
	}
	for _, inc := range g.Labels() {
		in := map[string]bool{}
		for _, a := range inc.Accounts {
			in[a] = true
		}
		self, cancels := 0, 0
		for i := range evs {
			ev := &evs[i]
			if ev.Symbol != inc.Symbol || ev.TS < inc.Start || ev.TS > inc.End {
				continue
			}
			if ev.Kind == detectors.KindTrade && in[ev.Trade.MakerAccount] && in[ev.Trade.TakerAccount] {
				self++
			}
			if ev.Kind == detectors.KindOrder && ev.Order.Event == detectors.OrderCancel && in[ev.Order.Account] {
				cancels++
			}
		}
		switch inc.Type {
		case detectors.WashTrade:
			if self < 2 {
				t.Errorf("%s: %d self-trades in its window", inc.ID, self)
			}
		case detectors.Spoofing:
			if cancels == 0 {
				t.Errorf("%s: no cancel in its window", inc.ID)
			}
		}
	}
}

func TestSameSeedSameStreamOtherSeedOtherStream(t *testing.T) {
	_, a, _ := collect(t, Config{Seed: 5, Preset: "small", Events: 20_000})
	_, b, _ := collect(t, Config{Seed: 5, Preset: "small", Events: 20_000})
	_, c, _ := collect(t, Config{Seed: 6, Preset: "small", Events: 20_000})
	if len(a) != len(b) {
		t.Fatalf("same seed: %d vs %d events", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed: event %d differs: %+v vs %+v", i, a[i], b[i])
		}
	}
	same := len(a) == len(c)
	for i := 0; same && i < len(a); i++ {
		same = a[i] == c[i]
	}
	if same {
		t.Error("seeds 5 and 6 gave the same stream")
	}
}

// TestEventsIsApproximate checks that --events sets the size within 20%.
func TestEventsIsApproximate(t *testing.T) {
	for _, tc := range []struct {
		preset string
		events int64
	}{{"default", 200_000}, {"small", 50_000}, {"hard", 200_000}} {
		_, _, sum := collect(t, Config{Seed: 1, Preset: tc.preset, Events: tc.events})
		ratio := float64(sum.Events) / float64(tc.events)
		if ratio < 0.8 || ratio > 1.2 {
			t.Errorf("%s: asked %d events, got %d (ratio %.2f)", tc.preset, tc.events, sum.Events, ratio)
		}
	}
}

func TestSymbolsAndStart(t *testing.T) {
	start := time.Date(2025, 6, 1, 7, 59, 0, 0, time.UTC)
	g, evs, sum := collect(t, Config{Seed: 1, Preset: "small", Events: 30_000, Start: start, Symbols: []string{"WIFUSDT", "ETHUSDT"}})
	if strings.Join(sum.Symbols, ",") != "WIFUSDT,ETHUSDT" || g.Start() != start.UnixMicro() {
		t.Fatalf("symbols %v start %d", sum.Symbols, g.Start())
	}
	for i := range evs {
		if evs[i].Symbol != "WIFUSDT" && evs[i].Symbol != "ETHUSDT" {
			t.Fatalf("event of symbol %s", evs[i].Symbol)
		}
	}
	// 07:59 + the market's duration crosses 08:00 only if it lasts a minute; the small preset's
	// 30k events over two symbols last longer (30000 / (117 · 0.95) ≈ 270 s), and it settles
	// every 3 minutes: 08:00 and 08:03.
	funding := 0
	for i := range evs {
		if evs[i].Kind == detectors.KindMark && evs[i].Mark.HasFunding {
			funding++
		}
	}
	if funding != 4 {
		t.Errorf("%d funding marks, want 4 (one per symbol at 08:00 and 08:03)", funding)
	}
}

// TestGenerateIsDeterministic writes the small preset twice and compares every file's bytes,
// then reads the dataset back through the datasets reader.
func TestGenerateIsDeterministic(t *testing.T) {
	cfg := Config{Seed: 42, Preset: "small", Events: 30_000}
	dirs := []string{t.TempDir(), t.TempDir()}
	var sums []Summary
	for _, d := range dirs {
		sum, err := Generate(cfg, d)
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, sum)
	}
	for _, table := range []string{"orders", "trades", "marks", "liquidations", "accounts", "labels"} {
		a, errA := os.ReadFile(filepath.Join(dirs[0], table+".parquet"))
		b, errB := os.ReadFile(filepath.Join(dirs[1], table+".parquet"))
		if errA != nil || errB != nil {
			t.Fatalf("%s: %v %v", table, errA, errB)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s.parquet differs between two runs of one seed", table)
		}
	}
	entries, _ := os.ReadDir(dirs[0])
	if len(entries) != 6 {
		t.Errorf("folder holds %d entries, want the 6 tables (no temp files)", len(entries))
	}
	ds, err := datasets.Open(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, table := range []string{"orders", "trades", "marks"} {
		r, err := ds.OpenEvents(table)
		if err != nil {
			t.Fatal(err)
		}
		var ev detectors.Event
		var last detectors.Micros
		for {
			ok, err := r.Next(&ev)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			if ev.TS < last {
				t.Fatalf("%s: not sorted by ts", table)
			}
			last = ev.TS
			counts[table]++
		}
		r.Close()
	}
	if counts["orders"] != sums[0].Orders || counts["trades"] != sums[0].Trades || counts["marks"] != sums[0].Marks {
		t.Errorf("read back %v, generated %+v", counts, sums[0])
	}
	labels, err := ds.Labels()
	if err != nil || len(labels) == 0 {
		t.Fatalf("labels %d, %v", len(labels), err)
	}
	accts, err := ds.Accounts()
	if err != nil || len(accts) != sums[0].Accounts {
		t.Fatalf("accounts %d (want %d), %v", len(accts), sums[0].Accounts, err)
	}
}

// BenchmarkGenerate writes a default-preset dataset of 1M events per iteration; events/s is the
// figure to compare with the target (10M events well under a minute on one core).
func BenchmarkGenerate(b *testing.B) {
	const events = 1_000_000
	dir := b.TempDir()
	var total int64
	for i := 0; i < b.N; i++ {
		sum, err := Generate(Config{Seed: uint64(i + 1), Events: events}, dir)
		if err != nil {
			b.Fatal(err)
		}
		total += sum.Events
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkStream is the generator alone, without Parquet writing.
func BenchmarkStream(b *testing.B) {
	var total int64
	for i := 0; i < b.N; i++ {
		_, sum, err := Stream(Config{Seed: uint64(i + 1), Events: 1_000_000}, func(*detectors.Event) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		total += sum.Events
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "events/s")
}
