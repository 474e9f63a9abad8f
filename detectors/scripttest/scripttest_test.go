package scripttest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fds-dev/fds/detectors"
)

// tradeEcho is a test-only detector: one alert per trade of at least min_qty, scored qty/10,
// about the trade's two accounts, with the trade id as evidence and the window set to
// [previous trade ts, ts].
type tradeEcho struct {
	minQty float64
	last   detectors.Micros
}

func (d *tradeEcho) OnEvent(ev *detectors.Event, emit detectors.Emit) {
	if ev.Kind != detectors.KindTrade || ev.Trade.Qty < d.minQty {
		return
	}
	emit(detectors.Alert{
		Symbol: ev.Symbol, Accounts: []string{ev.Trade.TakerAccount, ev.Trade.MakerAccount},
		TS: ev.TS, WindowStart: d.last, WindowEnd: ev.TS, Score: ev.Trade.Qty / 10,
		Evidence: detectors.Evidence{TradeIDs: []int64{ev.Trade.TradeID}, OrderIDs: []int64{ev.Trade.MakerOrderID},
			Features: map[string]float64{"qty": ev.Trade.Qty}},
	})
	d.last = ev.TS
}

func (d *tradeEcho) Flush(detectors.Emit) {}

func init() {
	detectors.Register(detectors.Spec{
		Name: "test_trade_echo", Type: detectors.WashTrade, Summary: "test only",
		Needs:  []detectors.Kind{detectors.KindTrade},
		Params: []detectors.ParamSpec{{Name: "min_qty", Default: 0, Min: 0, Max: 1e9, Unit: "count"}},
		New: func(p detectors.Params, _ detectors.Env) (detectors.Detector, error) {
			return &tradeEcho{minQty: p.Get("min_qty")}, nil
		},
	})
}

func mustParse(t *testing.T, src string) *Script {
	t.Helper()
	s, err := Parse("t.fdstest", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseOffset(t *testing.T) {
	tests := []struct {
		in   string
		want detectors.Micros
	}{
		{"+0", 0},
		{"+0.000", 0},
		{"+1.5", 1_500_000},
		{"+1.5s", 1_500_000},
		{"+500ms", 500_000},
		{"+250us", 250},
		{"+2m", 120_000_000},
		{"+1h", 3_600_000_000},
		{"00:00:01.500", 1_500_000},
		{"01:02:03", 3_723_000_000}, // 3600+120+3 s
		{"+0.000001", 1},
	}
	for _, tc := range tests {
		got, err := parseOffset(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseOffset(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"1.5", "+", "+x", "+-1", "00:61:00", "+1e3", "12:00", "+1.5d"} {
		if _, err := parseOffset(bad); err == nil {
			t.Errorf("parseOffset(%q) accepted", bad)
		}
	}
}

func TestParseErrorsNameFileAndLine(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown header", "detector x\nbogus\n", "t.fdstest:2: unknown header"},
		{"time goes back", "detector x\nevents\n  +2 S mark 1\n  +1 S mark 1\nexpect\n  none\n", "t.fdstest:4: time +1 is before"},
		{"bad kind", "detector x\nevents\n  +0 S quote 1\n", "t.fdstest:3: unknown event kind"},
		{"unknown order", "detector x\nevents\n  +0 S order A cancel id=3\n", "t.fdstest:3: order 3 is not known"},
		{"wrong owner", "detector x\nevents\n  +0 S order A new id=3 buy 1 qty=1\n  +1 S order B cancel id=3\n", "t.fdstest:4: order 3 belongs to A"},
		{"two numbers", "detector x\nevents\n  +0 S order A new id=3 buy 1 2\n", "t.fdstest:3: more than one bare number"},
		{"unknown field", "detector x\nevents\n  +0 S order A new id=3 buy 1 qty=1 colour=red\n", "t.fdstest:3: unknown field colour="},
		{"indented stray", "  +0 S mark 1\n", "t.fdstest:1: indented line outside"},
		{"no expect", "detector x\nevents\n  +0 S mark 1\n", "t.fdstest:1: case \"t\": no expect section"},
		{"empty expect", "detector x\nexpect\n", "empty expect section"},
		{"none plus alert", "detector x\nexpect\n  none\n  wash_trade S\n", "t.fdstest:4: none must be the only"},
		{"bad check", "detector x\nexpect\n  wash_trade S score>>1\n", "t.fdstest:3: bad number"},
		{"exec unknown maker", "detector x\nevents\n  +0 S exec buy 1 qty=1 taker=A/1 maker=B/2\n", "t.fdstest:3: exec: maker order 2 is not known"},
		{"exec wrong side", "detector x\nevents\n  +0 S order B new id=2 buy 1 qty=1\n  +0 S exec buy 1 qty=1 taker=A/1 maker=B/2\n", "t.fdstest:4: exec: maker order 2 is a buy order"},
		{"exec too big", "detector x\nevents\n  +0 S order B new id=2 sell 1 qty=1\n  +0 S exec buy 1 qty=2 taker=A/1 maker=B/2\n", "exceeds maker order 2's leaves 1"},
		{"no detector", "events\n  +0 S mark 1\nexpect\n  none\n", "no detector line"},
		{"events before case", "detector x\nevents\n  +0 S mark 1\ncase one\n", "t.fdstest:4: events or expect before the first case"},
		{"bad set", "detector x\nset a=b\n", "t.fdstest:2: set a: \"b\" is not a number"},
		{"account field", "detector x\naccounts\n  A boss=1\n", "t.fdstest:3: account A: unknown field \"boss\""},
	}
	for _, tc := range tests {
		_, err := Parse("t.fdstest", strings.NewReader(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestOrderLinesRememberKnownFields(t *testing.T) {
	s := mustParse(t, `
detector test_trade_echo
events
  +0 S order A new id=1 sell limit 101.5 qty=10 post_only
  +1 S order A fill id=1 qty=4
  +2 S order A amend id=1 qty=8 102
  +3 S order A cancel id=1
expect
  none
`)
	ev := s.Cases[0].Events
	if len(ev) != 4 {
		t.Fatalf("got %d events, want 4", len(ev))
	}
	// Hand computation: fill 4 of 10 leaves 6; amend to 8 keeps the 4 filled, leaves 4; a cancel
	// reports the order's quantity (8) with leaves 0.
	want := []detectors.Order{
		{Account: "A", OrderID: 1, Event: detectors.OrderNew, Side: detectors.Sell, Type: detectors.Limit, Price: 101.5, Qty: 10, LeavesQty: 10, PostOnly: true},
		{Account: "A", OrderID: 1, Event: detectors.OrderFill, Side: detectors.Sell, Type: detectors.Limit, Price: 101.5, Qty: 4, LeavesQty: 6},
		{Account: "A", OrderID: 1, Event: detectors.OrderAmend, Side: detectors.Sell, Type: detectors.Limit, Price: 102, Qty: 8, LeavesQty: 4},
		{Account: "A", OrderID: 1, Event: detectors.OrderCancel, Side: detectors.Sell, Type: detectors.Limit, Price: 102, Qty: 8, LeavesQty: 0},
	}
	for i := range want {
		if ev[i].Order != want[i] {
			t.Errorf("event %d: got %+v, want %+v", i, ev[i].Order, want[i])
		}
		if ev[i].TS != DefaultStart.UnixMicro()+int64(i)*detectors.Second || ev[i].Seq != int64(i) {
			t.Errorf("event %d: ts %d seq %d", i, ev[i].TS, ev[i].Seq)
		}
	}
}

func TestExecExpandsIntoConsistentOrderEventsAndTrade(t *testing.T) {
	s := mustParse(t, `
detector test_trade_echo
start 2025-03-01T12:00:00Z
events
  +0 S order M new id=9 sell limit 100 qty=5
  +1 S exec buy 100 qty=2 taker=T/4 maker=M/9
  +2 S exec id=50 buy 100 qty=3 taker=T/5 maker=M/9
expect
  none
`)
	ev := s.Cases[0].Events
	// 1 new + 2 × (taker new, maker fill, taker fill, trade) = 9 events; at equal ts orders come
	// before the trade.
	kinds := ""
	for _, e := range ev {
		kinds += e.Kind.String()[:1]
	}
	if kinds != "ooootooot" {
		t.Fatalf("kinds %q, want ooootooot", kinds)
	}
	tr := ev[4].Trade
	if tr.TradeID != 1 || tr.TakerAccount != "T" || tr.MakerAccount != "M" || tr.TakerOrderID != 4 || tr.MakerOrderID != 9 || tr.Qty != 2 || tr.TakerSide != detectors.Buy {
		t.Errorf("trade %+v", tr)
	}
	if ev[8].Trade.TradeID != 50 {
		t.Errorf("explicit trade id: got %d", ev[8].Trade.TradeID)
	}
	takerNew, makerFill, takerFill := ev[1].Order, ev[2].Order, ev[3].Order
	if takerNew.Event != detectors.OrderNew || takerNew.Type != detectors.Market || takerNew.Qty != 2 || takerNew.Side != detectors.Buy {
		t.Errorf("taker new %+v", takerNew)
	}
	if makerFill.Event != detectors.OrderFill || makerFill.OrderID != 9 || makerFill.LeavesQty != 3 || makerFill.Price != 100 {
		t.Errorf("maker fill %+v", makerFill)
	}
	if takerFill.LeavesQty != 0 || takerFill.Qty != 2 {
		t.Errorf("taker fill %+v", takerFill)
	}
	if ev[7].Order.LeavesQty != 0 || ev[7].Order.OrderID != 5 {
		t.Errorf("second exec's taker fill %+v", ev[7].Order)
	}
	wantTS := int64(1740830400)*detectors.Second + 2*detectors.Second // 2025-03-01T12:00:02Z
	if ev[8].TS != wantTS {
		t.Errorf("ts %d, want %d", ev[8].TS, wantTS)
	}
}

func TestEqualTimesReplayInTableOrder(t *testing.T) {
	s := mustParse(t, `
detector test_trade_echo
events
  +1 S trade sell 100 qty=1
  +1 S order A new id=1 buy 99 qty=1
  +1 S mark 100
  +2 S mark 100
expect
  none
`)
	var got []detectors.Kind
	for _, e := range s.Cases[0].Events {
		got = append(got, e.Kind)
	}
	want := []detectors.Kind{detectors.KindMark, detectors.KindOrder, detectors.KindTrade, detectors.KindMark}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("kinds %v, want %v", got, want)
		}
	}
}

const twoCases = `
# preamble shared by both cases
detector test_trade_echo
set min_qty=2
accounts
  A owner=g1 ip=h1
  B owner=g2
case big trades alert
events
  +0.000 BTCUSDT trade id=7 sell 100.0 qty=5 taker=A/2 maker=B/9
  00:00:01.250 BTCUSDT trade id=8 buy 100.5 qty=1 taker=B maker=A
  +2s BTCUSDT trade id=9 buy 100.5 qty=3 taker=B maker=A/3
expect
  wash_trade BTCUSDT accounts=A,B at=+2.000 trades=9 orders=3 score=0.3 window=+0..+2
  wash_trade BTCUSDT accounts=B,A at=+0..+1 score>=0.5 feature.qty=5 trades=7
case min_score applies
set min_score=0.4
events
  +0 ETHUSDT trade sell 10 qty=3 taker=A maker=B
  +1 ETHUSDT trade sell 10 qty=4 taker=A maker=B
expect
  test_trade_echo ETHUSDT at=+1s score=0.4
`

func TestRunMatchesExpectationsOneToOne(t *testing.T) {
	s := mustParse(t, twoCases)
	if len(s.Cases) != 2 || s.Cases[0].Name != "big trades alert" || s.Cases[1].Params["min_qty"] != 2 {
		t.Fatalf("cases %+v", s.Cases)
	}
	if s.Cases[0].Accounts["A"].OwnerGroup != "g1" || s.Cases[1].Accounts["B"].OwnerGroup != "g2" {
		t.Errorf("accounts not inherited")
	}
	res := s.Run()
	for _, c := range res.Cases {
		if !c.Passed() {
			t.Errorf("case %s failed:\n%s", c.Name, c.Diff())
		}
	}
	if p, f := res.Counts(); p != 2 || f != 0 {
		t.Errorf("counts %d/%d", p, f)
	}
}

func TestFailingCaseDiff(t *testing.T) {
	src := `
detector test_trade_echo
events
  +0 S trade id=1 sell 100 qty=5 taker=A maker=B
  +1 S trade id=2 sell 100 qty=6 taker=A maker=C
expect
  wash_trade S accounts=A,B
  wash_trade S accounts=A,B
`
	res := mustParse(t, src).Run()
	if res.Passed() {
		t.Fatal("two expectations for one alert must fail")
	}
	c := res.Cases[0]
	if len(c.Missing) != 1 || len(c.Unexpected) != 1 {
		t.Fatalf("missing %d unexpected %d", len(c.Missing), len(c.Unexpected))
	}
	diff := c.Diff()
	for _, want := range []string{
		"- wash_trade S accounts=A,B    (line 8)",
		"+ wash_trade S accounts=A,C at=+1.000 window=+0.000..+1.000 orders=0 trades=2 score=0.6",
		"matched alerts:",
	} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	var b strings.Builder
	if err := res.Report(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "FAIL t.fdstest:1 t (2 alerts)") {
		t.Errorf("report:\n%s", b.String())
	}
}

func TestExpectNoneFailsOnAnyAlert(t *testing.T) {
	res := mustParse(t, "detector test_trade_echo\nevents\n  +0 S trade sell 1 qty=1\nexpect\n  none\n").Run()
	if res.Passed() || len(res.Cases[0].Unexpected) != 1 {
		t.Fatalf("expect none with one alert: %+v", res.Cases[0])
	}
}

func TestBuildErrorsFailTheCase(t *testing.T) {
	res := mustParse(t, "detector test_trade_echo\nset nope=1\nexpect\n  none\n").Run()
	if res.Passed() || res.Cases[0].Err == nil || !strings.Contains(res.Cases[0].Diff(), `no parameter "nope"`) {
		t.Fatalf("got %+v", res.Cases[0])
	}
	res = mustParse(t, "detector no_such\nexpect\n  none\n").Run()
	if res.Passed() || !strings.Contains(res.Cases[0].Err.Error(), "unknown detector") {
		t.Fatalf("got %+v", res.Cases[0])
	}
}

func TestSetAcceptsDurations(t *testing.T) {
	s := mustParse(t, "detector test_trade_echo\nset a=500ms b=2m c=1.5 d=3s\nexpect\n  none\n")
	p := s.Cases[0].Params
	if p["a"] != 0.5 || p["b"] != 120 || p["c"] != 1.5 || p["d"] != 3 {
		t.Errorf("params %v", p)
	}
}

func TestRunPathAndRunDir(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "two.fdstest")
	if err := os.WriteFile(path, []byte(twoCases), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := RunPath(path)
	if err != nil || !res.Passed() || len(res.Cases) != 2 {
		t.Fatalf("RunPath: %v %+v", err, res)
	}
	RunDir(t, dir)
	if _, err := RunPath(filepath.Join(dir, "missing.fdstest")); err == nil {
		t.Error("RunPath of a missing file succeeded")
	}
}

func TestFormatOffset(t *testing.T) {
	for _, tc := range []struct {
		in   detectors.Micros
		want string
	}{{0, "+0.000"}, {2_000_000, "+2.000"}, {1_500, "+0.001500"}, {-1_500_000, "-1.500"}, {61_250_000, "+61.250"}} {
		if got := FormatOffset(tc.in); got != tc.want {
			t.Errorf("FormatOffset(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
