package stream

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// This file builds the small market the stream tests replay, and registers the test-only
// detectors: two well-behaved ones that exercise alerts raised from events and from Flush, and
// two deliberately broken ones (wall clock, arrival order) that the parity check must catch.

const (
	testFlushDetector   = "test_flush_summary"
	testEveryNDetector  = "test_every_nth_trade"
	testWallClock       = "test_broken_wall_clock"
	testArrivalOrder    = "test_broken_arrival_order"
	marketSymbols       = 6
	marketMinutes       = 20
	marketAccounts      = 24
	marketSeed          = 20240611
	marketMakerAccounts = 8
)

func init() {
	// Per symbol: counts trades and, at Flush, raises one alert per symbol with the count and
	// notional as evidence. Well-behaved: depends only on the symbol's own events.
	detectors.Register(detectors.Spec{Name: testFlushDetector, Type: detectors.PumpAndDump,
		Summary: "test: per-symbol trade summary raised at the end of the input",
		Needs:   []detectors.Kind{detectors.KindTrade},
		New: func(p detectors.Params, env detectors.Env) (detectors.Detector, error) {
			return &flushSummary{trades: map[string]*symbolSummary{}}, nil
		}})
	// Per symbol: an alert on every 40th trade, scored from the trade's price and quantity.
	detectors.Register(detectors.Spec{Name: testEveryNDetector, Type: detectors.MomentumIgnition,
		Summary: "test: an alert every n-th trade of a symbol",
		Needs:   []detectors.Kind{detectors.KindTrade, detectors.KindMark},
		Params:  []detectors.ParamSpec{{Name: "n", Default: 40, Min: 1, Max: 1e6, Integer: true, Unit: "count"}},
		New: func(p detectors.Params, env detectors.Env) (detectors.Detector, error) {
			return &everyNth{n: p.Int("n"), count: map[string]int{}, mark: map[string]float64{}}, nil
		}})
	// Broken: the score is the wall clock when the alert is raised.
	detectors.Register(detectors.Spec{Name: testWallClock, Type: detectors.MomentumIgnition,
		Summary: "test: BROKEN, scores alerts with the wall clock",
		Needs:   []detectors.Kind{detectors.KindTrade},
		New: func(p detectors.Params, env detectors.Env) (detectors.Detector, error) {
			return &wallClock{count: map[string]int{}}, nil
		}})
	// Broken: counts every event it receives, whatever the symbol, and alerts on a trade when
	// that count is a multiple of 97 — so its alerts depend on which other symbols' events reach
	// the instance, and in which order. It claims not to be cross-symbol.
	detectors.Register(detectors.Spec{Name: testArrivalOrder, Type: detectors.MomentumIgnition,
		Summary: "test: BROKEN, depends on the arrival order of all events",
		Needs:   []detectors.Kind{detectors.KindTrade, detectors.KindOrder},
		New: func(p detectors.Params, env detectors.Env) (detectors.Detector, error) {
			return &arrivalOrder{}, nil
		}})
}

type symbolSummary struct {
	trades   int
	notional float64
	lastTS   detectors.Micros
	first    detectors.Micros
	ids      []int64
}

type flushSummary struct{ trades map[string]*symbolSummary }

func (d *flushSummary) OnEvent(ev *detectors.Event, emit detectors.Emit) {
	s := d.trades[ev.Symbol]
	if s == nil {
		s = &symbolSummary{first: ev.TS}
		d.trades[ev.Symbol] = s
	}
	s.trades++
	s.notional += ev.Trade.Price * ev.Trade.Qty
	s.lastTS = ev.TS
	if len(s.ids) < 5 {
		s.ids = append(s.ids, ev.Trade.TradeID)
	}
}

func (d *flushSummary) Flush(emit detectors.Emit) {
	syms := make([]string, 0, len(d.trades))
	for s := range d.trades {
		syms = append(syms, s)
	}
	sort.Strings(syms)
	for _, sym := range syms {
		s := d.trades[sym]
		emit(detectors.Alert{Symbol: sym, TS: s.lastTS, WindowStart: s.first, WindowEnd: s.lastTS,
			Score: s.notional / float64(s.trades), Evidence: detectors.Evidence{TradeIDs: s.ids,
				Features: map[string]float64{"trades": float64(s.trades), "notional": s.notional}, Note: "flush"}})
	}
}

type everyNth struct {
	n     int
	count map[string]int
	mark  map[string]float64
}

func (d *everyNth) OnEvent(ev *detectors.Event, emit detectors.Emit) {
	if ev.Kind == detectors.KindMark {
		d.mark[ev.Symbol] = ev.Mark.MarkPrice
		return
	}
	d.count[ev.Symbol]++
	if d.count[ev.Symbol]%d.n != 0 {
		return
	}
	t := ev.Trade
	emit(detectors.Alert{Symbol: ev.Symbol, Accounts: []string{t.TakerAccount, t.MakerAccount}, TS: ev.TS,
		WindowStart: ev.TS - detectors.Second, WindowEnd: ev.TS, Score: math.Log1p(t.Price*t.Qty) / 10,
		Evidence: detectors.Evidence{TradeIDs: []int64{t.TradeID}, OrderIDs: []int64{t.MakerOrderID, t.TakerOrderID},
			Features: map[string]float64{"premium": t.Price/d.mark[ev.Symbol] - 1, "qty": t.Qty}}})
}

func (d *everyNth) Flush(detectors.Emit) {}

type wallClock struct{ count map[string]int }

func (d *wallClock) OnEvent(ev *detectors.Event, emit detectors.Emit) {
	d.count[ev.Symbol]++
	if d.count[ev.Symbol]%100 == 0 {
		emit(detectors.Alert{Symbol: ev.Symbol, TS: ev.TS, Score: float64(time.Now().UnixNano())})
	}
}

func (d *wallClock) Flush(detectors.Emit) {}

type arrivalOrder struct{ seen int }

func (d *arrivalOrder) OnEvent(ev *detectors.Event, emit detectors.Emit) {
	d.seen++
	if ev.Kind == detectors.KindTrade && d.seen%97 == 0 {
		emit(detectors.Alert{Symbol: ev.Symbol, TS: ev.TS, Score: float64(d.seen)})
	}
}

func (d *arrivalOrder) Flush(detectors.Emit) {}

// market is a generated dataset: a seeded random market of marketSymbols perpetuals over
// marketMinutes minutes with a few market makers quoting, takers trading and, injected, a wash
// trading burst and a spoof, so that the real detectors alert too.
type market struct {
	marks, orders, trades []detectors.Event
	accounts              []detectors.Account
}

func genMarket(seed uint64) *market {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	m := &market{}
	t0 := detectors.Micros(1_717_000_000) * detectors.Second
	for i := 0; i < marketAccounts; i++ {
		group := fmt.Sprintf("g%d", i)
		if i == 11 || i == 12 {
			group = "g-shared" // two accounts of one owner: wash trades between them
		}
		m.accounts = append(m.accounts, detectors.Account{AccountID: fmt.Sprintf("a%02d", i), CreatedAt: t0 - detectors.Day,
			OwnerGroup: group})
	}
	acct := func(i int) string { return fmt.Sprintf("a%02d", i) }
	var orderID, tradeID int64
	for s := 0; s < marketSymbols; s++ {
		sym := fmt.Sprintf("SYM%d-PERP", s)
		mid := 100.0 * float64(s+1)
		type resting struct {
			id      int64
			account string
			side    detectors.Side
			price   float64
			qty     float64
		}
		var book []resting
		end := t0 + marketMinutes*detectors.Minute
		for ts := t0 + detectors.Micros(rng.IntN(1000))*detectors.Millisecond; ts < end; ts += detectors.Micros(200+rng.IntN(1800)) * detectors.Millisecond {
			mid *= math.Exp(rng.NormFloat64() * 0.0005)
			switch r := rng.IntN(10); {
			case r < 2:
				m.marks = append(m.marks, detectors.Event{TS: ts, Symbol: sym, Kind: detectors.KindMark, Mark: detectors.Mark{
					MarkPrice: mid, IndexPrice: mid * (1 + rng.NormFloat64()*1e-4), FundingRate: 1e-4, HasFunding: true}})
			case r < 6:
				// A market maker quotes.
				orderID++
				side := detectors.Buy
				if rng.IntN(2) == 0 {
					side = detectors.Sell
				}
				price := mid * (1 - float64(side)*(0.0002+rng.Float64()*0.001))
				qty := 1 + math.Round(rng.Float64()*4*100)/100
				o := resting{orderID, acct(rng.IntN(marketMakerAccounts)), side, price, qty}
				book = append(book, o)
				m.orders = append(m.orders, detectors.Event{TS: ts, Symbol: sym, Kind: detectors.KindOrder, Order: detectors.Order{
					Account: o.account, OrderID: o.id, Event: detectors.OrderNew, Side: side, Type: detectors.Limit,
					Price: price, Qty: qty, LeavesQty: qty, PostOnly: true}})
			case r < 8 && len(book) > 0:
				// The oldest resting order is cancelled, so the book follows the mid.
				k := 0
				o := book[k]
				book = append(book[:k], book[k+1:]...)
				m.orders = append(m.orders, detectors.Event{TS: ts, Symbol: sym, Kind: detectors.KindOrder, Order: detectors.Order{
					Account: o.account, OrderID: o.id, Event: detectors.OrderCancel, Side: o.side, Type: detectors.Limit,
					Price: o.price, Qty: o.qty, LeavesQty: 0}})
			case len(book) > 0:
				// A taker lifts a resting order: the fill and the trade print share the ts.
				k := rng.IntN(len(book))
				o := book[k]
				book = append(book[:k], book[k+1:]...)
				taker := acct(marketMakerAccounts + rng.IntN(marketAccounts-marketMakerAccounts))
				orderID++
				tradeID++
				m.orders = append(m.orders, detectors.Event{TS: ts, Symbol: sym, Kind: detectors.KindOrder, Order: detectors.Order{
					Account: o.account, OrderID: o.id, Event: detectors.OrderFill, Side: o.side, Type: detectors.Limit,
					Price: o.price, Qty: o.qty, LeavesQty: 0}})
				m.trades = append(m.trades, detectors.Event{TS: ts, Symbol: sym, Kind: detectors.KindTrade, Trade: detectors.Trade{
					TradeID: tradeID, Price: o.price, Qty: o.qty, TakerSide: o.side.Opposite(), MakerAccount: o.account,
					TakerAccount: taker, MakerOrderID: o.id, TakerOrderID: orderID}})
			}
		}
		// Injected wash trading on SYM1: accounts a11 and a12 (one owner) trade with each other
		// ten times within a minute, each about twice a typical size.
		if s == 1 {
			for k := 0; k < 10; k++ {
				ts := t0 + 7*detectors.Minute + detectors.Micros(k)*5*detectors.Second + 3
				tradeID++
				m.trades = append(m.trades, detectors.Event{TS: ts, Symbol: sym, Kind: detectors.KindTrade, Trade: detectors.Trade{
					TradeID: tradeID, Price: mid, Qty: 6, TakerSide: detectors.Buy, MakerAccount: "a11", TakerAccount: "a12"}})
			}
		}
	}
	// Injected spoof on its own symbol, after the flow (as in the spoofing detector's first
	// positive script case): a market maker quotes 1 lot at two levels a side, a20 bids 10 lots
	// behind the touch, its resting ask is lifted, and it cancels the bid two seconds later.
	sym, ts := "SPOOF-PERP", t0+marketMinutes*detectors.Minute
	order := func(at detectors.Micros, account string, id int64, ev detectors.OrderEvent, side detectors.Side, price, qty, leaves float64) {
		m.orders = append(m.orders, detectors.Event{TS: at, Symbol: sym, Kind: detectors.KindOrder, Order: detectors.Order{
			Account: account, OrderID: id, Event: ev, Side: side, Type: detectors.Limit, Price: price, Qty: qty, LeavesQty: leaves}})
	}
	order(ts, "a00", 1_000_001, detectors.OrderNew, detectors.Buy, 99.9, 1, 1)
	order(ts, "a00", 1_000_002, detectors.OrderNew, detectors.Buy, 99.8, 1, 1)
	order(ts, "a00", 1_000_003, detectors.OrderNew, detectors.Sell, 100.1, 1, 1)
	order(ts, "a00", 1_000_004, detectors.OrderNew, detectors.Sell, 100.2, 1, 1)
	order(ts+detectors.Second, "a20", 1_000_010, detectors.OrderNew, detectors.Sell, 100.1, 1, 1)
	order(ts+2*detectors.Second, "a20", 1_000_011, detectors.OrderNew, detectors.Buy, 99.8, 10, 10)
	order(ts+2500*detectors.Millisecond, "a20", 1_000_010, detectors.OrderFill, detectors.Sell, 100.1, 1, 0)
	m.trades = append(m.trades, detectors.Event{TS: ts + 2500*detectors.Millisecond, Symbol: sym, Kind: detectors.KindTrade,
		Trade: detectors.Trade{TradeID: 1_000_007, Price: 100.1, Qty: 1, TakerSide: detectors.Buy, MakerAccount: "a20",
			TakerAccount: "a15", MakerOrderID: 1_000_010, TakerOrderID: 1_000_020}})
	order(ts+4*detectors.Second, "a20", 1_000_011, detectors.OrderCancel, detectors.Buy, 99.8, 10, 0)
	sortEvents := func(evs []detectors.Event) {
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].TS < evs[j].TS })
	}
	sortEvents(m.marks)
	sortEvents(m.orders)
	sortEvents(m.trades)
	return m
}

func (m *market) events() int { return len(m.marks) + len(m.orders) + len(m.trades) }

// write writes the market as a dataset folder.
func (m *market) write(t testing.TB, dir string) {
	t.Helper()
	for table, evs := range map[string][]detectors.Event{datasets.TableMarks: m.marks,
		datasets.TableOrders: m.orders, datasets.TableTrades: m.trades} {
		w, err := datasets.NewEventWriter(filepath.Join(dir, table+".parquet"), table)
		if err != nil {
			t.Fatal(err)
		}
		for i := range evs {
			if err := w.Write(&evs[i]); err != nil {
				t.Fatalf("%s row %d: %v", table, i, err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := datasets.WriteAccounts(filepath.Join(dir, datasets.TableAccounts+".parquet"), m.accounts); err != nil {
		t.Fatal(err)
	}
}
