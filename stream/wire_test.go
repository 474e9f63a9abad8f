package stream

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/fds-dev/fds/detectors"
)

// sampleEvents covers every kind and every optional field, with floats chosen to catch any
// lossy encoding (not representable in decimal with few digits, signed zero, subnormal, NaN, Inf).
func sampleEvents() []detectors.Event {
	return []detectors.Event{
		{TS: 1_700_000_000_123_456, Symbol: "BTC-PERP", Kind: detectors.KindOrder, Order: detectors.Order{
			Account: "acct-7", OrderID: 9_007_199_254_740_993, Event: detectors.OrderNew, Side: detectors.Buy,
			Type: detectors.Limit, Price: 0.1 + 0.2, Qty: 1e-9, LeavesQty: 5e-324, ReduceOnly: true, PostOnly: true}},
		{TS: -5, Symbol: "ETH-PERP", Kind: detectors.KindOrder, Order: detectors.Order{
			Account: "", OrderID: -42, Event: detectors.OrderReject, Side: detectors.Sell,
			Type: detectors.StopLimit, Price: math.Copysign(0, -1), Qty: 3, LeavesQty: 0}},
		{TS: 1, Symbol: "Ω-PERP", Kind: detectors.KindTrade, Trade: detectors.Trade{
			TradeID: 123456789, Price: 65432.1, Qty: 0.003, TakerSide: detectors.Sell, MakerAccount: "m",
			TakerAccount: "t", MakerOrderID: 1, TakerOrderID: math.MaxInt64}},
		{TS: 2, Symbol: "SOL", Kind: detectors.KindTrade, Trade: detectors.Trade{TradeID: 0, Price: 1, Qty: 2, TakerSide: detectors.Buy}},
		{TS: 3, Symbol: "BTC-PERP", Kind: detectors.KindMark, Mark: detectors.Mark{MarkPrice: 100.5, IndexPrice: 100.4,
			FundingRate: -0.0001, OpenInterest: math.Inf(1), HasFunding: true, HasOpenInterest: true}},
		{TS: 4, Symbol: "BTC-PERP", Kind: detectors.KindMark, Mark: detectors.Mark{MarkPrice: math.NaN(), IndexPrice: 1}},
		{TS: 5, Symbol: "XRP", Kind: detectors.KindLiquidation, Liquidation: detectors.Liquidation{
			Account: "whale", Side: detectors.Sell, Qty: 1e6, Price: 0.5}},
	}
}

// sameBits compares events field by field with floats compared by bits (NaN == NaN, -0 != +0).
func sameBits(a, b detectors.Event) bool {
	fa, fb := floatsOf(a), floatsOf(b)
	for i := range fa {
		if math.Float64bits(fa[i]) != math.Float64bits(fb[i]) {
			return false
		}
	}
	a.Order.Price, a.Order.Qty, a.Order.LeavesQty = 0, 0, 0
	b.Order.Price, b.Order.Qty, b.Order.LeavesQty = 0, 0, 0
	a.Trade.Price, a.Trade.Qty, b.Trade.Price, b.Trade.Qty = 0, 0, 0, 0
	a.Mark.MarkPrice, a.Mark.IndexPrice, a.Mark.FundingRate, a.Mark.OpenInterest = 0, 0, 0, 0
	b.Mark.MarkPrice, b.Mark.IndexPrice, b.Mark.FundingRate, b.Mark.OpenInterest = 0, 0, 0, 0
	a.Liquidation.Qty, a.Liquidation.Price, b.Liquidation.Qty, b.Liquidation.Price = 0, 0, 0, 0
	return reflect.DeepEqual(a, b)
}

func floatsOf(e detectors.Event) []float64 {
	return []float64{e.Order.Price, e.Order.Qty, e.Order.LeavesQty, e.Trade.Price, e.Trade.Qty,
		e.Mark.MarkPrice, e.Mark.IndexPrice, e.Mark.FundingRate, e.Mark.OpenInterest,
		e.Liquidation.Qty, e.Liquidation.Price}
}

func TestEventRoundTripIsBitExact(t *testing.T) {
	dec := NewDecoder()
	for i, ev := range sampleEvents() {
		row := int64(i * 1000)
		b, err := AppendEvent(nil, &ev, row)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		var m Message
		if err := dec.Decode(b, &m); err != nil {
			t.Fatalf("event %d: decode: %v", i, err)
		}
		if m.EndOfStream || m.Row != row || !sameBits(m.Event, ev) {
			t.Errorf("event %d: round trip\n got %+v row %d\nwant %+v row %d", i, m.Event, m.Row, ev, row)
		}
	}
}

func TestEndOfStreamRoundTrip(t *testing.T) {
	var m Message
	if err := NewDecoder().Decode(AppendEndOfStream(nil, 1234, 99), &m); err != nil {
		t.Fatal(err)
	}
	if !m.EndOfStream || m.Event.TS != 1234 || m.Row != 99 {
		t.Errorf("got %+v", m)
	}
}

func TestEncodeRejectsBadEvents(t *testing.T) {
	ev := detectors.Event{Kind: 9, Symbol: "X"}
	if _, err := AppendEvent(nil, &ev, 0); err == nil {
		t.Error("kind 9 encoded")
	}
	ev.Kind = detectors.KindTrade
	if _, err := AppendEvent(nil, &ev, -1); err == nil {
		t.Error("negative row encoded")
	}
}

// TestDecodeRejectsEveryTruncation cuts each sample at every length: each prefix must give a
// DecodeError (never a panic, never a message), since no prefix of a message is a message.
func TestDecodeRejectsEveryTruncation(t *testing.T) {
	dec := NewDecoder()
	for i, ev := range sampleEvents() {
		b, _ := AppendEvent(nil, &ev, 7)
		for n := 0; n < len(b); n++ {
			var m Message
			err := dec.Decode(b[:n], &m)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("event %d cut at %d/%d: got %v, want a DecodeError", i, n, len(b), err)
			}
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	trade := detectors.Event{TS: 1, Symbol: "S", Kind: detectors.KindTrade, Trade: detectors.Trade{TakerSide: detectors.Buy}}
	good, _ := AppendEvent(nil, &trade, 0)
	withByte := func(i int, v byte) []byte {
		b := bytes.Clone(good)
		b[i] = v
		return b
	}
	// Offsets in the trade layout: 0 version, 1 kind, 2..9 ts, 10 row, 11 symbol len, 12 'S',
	// 13 trade_id, 14..21 price, 22..29 qty, 30 taker_side.
	longSymbol := detectors.Event{TS: 1, Symbol: strings.Repeat("x", MaxStringBytes+1), Kind: detectors.KindTrade,
		Trade: detectors.Trade{TakerSide: detectors.Buy}}
	long, _ := AppendEvent(nil, &longSymbol, 0)
	emptySymbol := trade
	emptySymbol.Symbol = ""
	empty, _ := AppendEvent(nil, &emptySymbol, 0)
	cases := []struct {
		name, reason, detail string
		in                   []byte
	}{
		{"empty", "malformed", "version", nil},
		{"future version", "unknown_version", "version 2", withByte(0, 2)},
		{"unknown kind", "malformed", "record type 7", withByte(1, 7)},
		{"bad side", "malformed", "taker_side: 0", withByte(30, 0)},
		{"trailing bytes", "malformed", "1 trailing bytes", append(bytes.Clone(good), 0)},
		{"long string", "malformed", "exceeds 1024 bytes", long},
		{"empty symbol", "malformed", "symbol: empty", empty},
		{"bad utf8", "malformed", "UTF-8", withByte(12, 0xff)},
	}
	for _, c := range cases {
		var m Message
		err := NewDecoder().Decode(c.in, &m)
		var de *DecodeError
		if !errors.As(err, &de) || de.Reason != c.reason || !strings.Contains(de.Detail, c.detail) {
			t.Errorf("%s: got %v, want reason %s with %q", c.name, err, c.reason, c.detail)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, ev := range sampleEvents() {
		b, _ := AppendEvent(nil, &ev, 3)
		f.Add(b)
	}
	f.Add(AppendEndOfStream(nil, 1, 2))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		dec := NewDecoder()
		if err := dec.Decode(b, &m); err != nil {
			return
		}
		if m.EndOfStream {
			return
		}
		// Whatever decodes re-encodes to the same bytes: the format has one spelling per message
		// apart from varint padding, which binary.Uvarint rejects as overlong only at 10+ bytes.
		again, err := AppendEvent(nil, &m.Event, m.Row)
		if err != nil {
			t.Fatalf("decoded %+v does not re-encode: %v", m, err)
		}
		var m2 Message
		if err := dec.Decode(again, &m2); err != nil || !sameBits(m.Event, m2.Event) || m.Row != m2.Row {
			t.Fatalf("re-encoded message differs: %v", err)
		}
	})
}

func TestAlertRoundTrip(t *testing.T) {
	alerts := []detectors.Alert{
		{Detector: "wash_trade", Type: detectors.WashTrade, Symbol: "BTC", Accounts: []string{"a", "b"}, TS: 10,
			WindowStart: 1, WindowEnd: 10, Score: 0.1 + 0.2, Evidence: detectors.Evidence{OrderIDs: []int64{1, 2},
				TradeIDs: []int64{}, Features: map[string]float64{"nan": math.NaN(), "inf": math.Inf(1),
					"ninf": math.Inf(-1), "tiny": 5e-324, "x": 1.0 / 3}, Note: "quote \" and\nnewline"}},
		{Detector: "spoofing", Type: detectors.Spoofing, Symbol: "ETH", TS: -3, Score: math.NaN()},
	}
	for i, a := range alerts {
		b, err := EncodeAlert(&a)
		if err != nil {
			t.Fatalf("alert %d: %v", i, err)
		}
		again, _ := EncodeAlert(&a)
		if !bytes.Equal(b, again) {
			t.Errorf("alert %d: encoding is not deterministic", i)
		}
		got, err := DecodeAlert(b)
		if err != nil {
			t.Fatalf("alert %d: %v (%s)", i, err, b)
		}
		gb, _ := EncodeAlert(&got)
		if !bytes.Equal(gb, b) {
			t.Errorf("alert %d: round trip changed it:\n%s\n%s", i, b, gb)
		}
		// nil and empty lists stay distinct; NaN features survive.
		if (got.Evidence.TradeIDs == nil) != (a.Evidence.TradeIDs == nil) || (got.Accounts == nil) != (a.Accounts == nil) {
			t.Errorf("alert %d: nil/empty lists not preserved: %+v", i, got)
		}
		if i == 0 && (!math.IsNaN(got.Evidence.Features["nan"]) || got.Evidence.Features["x"] != 1.0/3) {
			t.Errorf("alert 0: features %v", got.Evidence.Features)
		}
	}
	if !bytes.Contains(mustEncode(t, &alerts[0]), []byte(`"v":1`)) {
		t.Error("alert message lacks its version field")
	}
}

func mustEncode(t *testing.T, a *detectors.Alert) []byte {
	b, err := EncodeAlert(a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeAlertRejects(t *testing.T) {
	a := detectors.Alert{Detector: "d", Symbol: "S", TS: 1, Score: 1}
	b := mustEncode(t, &a)
	for name, in := range map[string][]byte{
		"not json":     []byte("{"),
		"version 2":    bytes.Replace(b, []byte(`"v":1`), []byte(`"v":2`), 1),
		"key mismatch": bytes.Replace(b, []byte(`"ts":1`), []byte(`"ts":2`), 1),
		"bad float":    bytes.Replace(b, []byte(`"score":1`), []byte(`"score":"one"`), 1),
	} {
		if _, err := DecodeAlert(in); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func BenchmarkDecodeTrade(b *testing.B) {
	ev := sampleEvents()[2]
	buf, _ := AppendEvent(nil, &ev, 12345)
	dec := NewDecoder()
	var m Message
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if err := dec.Decode(buf, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeOrder(b *testing.B) {
	ev := sampleEvents()[0]
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendEvent(buf[:0], &ev, 12345)
	}
}
