package importers

import (
	"testing"

	"github.com/fds-dev/fds/detectors"
)

func TestDetectTimeUnit(t *testing.T) {
	// The same instant, 2020-01-28T17:11:42.072Z, in each unit (hand-converted), plus the class
	// boundaries.
	cases := []struct {
		v    float64
		want TimeUnit
	}{
		{1580231502, UnitSeconds},
		{1580231502.072, UnitSeconds},
		{1580231502072, UnitMillis},
		{1580231502072000, UnitMicros},
		{1580231502072000000, UnitNanos},
		{99_999_999_999, UnitSeconds}, // 5138-11-16: the largest seconds value
		{100_000_000_000, UnitMillis}, // 1973-03-03 in ms
		{99_999_999_999_999, UnitMillis},
		{100_000_000_000_000, UnitMicros},
		{100_000_000_000_000_000, UnitNanos},
	}
	for _, c := range cases {
		if got := DetectTimeUnit(c.v); got != c.want {
			t.Errorf("DetectTimeUnit(%v) = %v, want %v", c.v, got, c.want)
		}
	}
}

func TestTSColumnConvertsEveryUnitToMicros(t *testing.T) {
	const want = 1580231502072000 // 2020-01-28T17:11:42.072Z in µs
	for _, s := range []string{"1580231502.072", "1580231502072", "1580231502072000", "1580231502072000999"} {
		got, err := newTSColumn(UnitAuto).parse(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if got != want {
			t.Errorf("parse(%s) = %d, want %d", s, got, want)
		}
	}
	// Decimal seconds keep microseconds exactly (the Binance websocket capture's receive time).
	got, err := newTSColumn(UnitAuto).parse("1626992742.289739")
	if err != nil || got != 1626992742289739 {
		t.Errorf("decimal seconds = %d, %v; want 1626992742289739", got, err)
	}
}

func TestTSColumnRejectsMixedUnits(t *testing.T) {
	c := newTSColumn(UnitAuto)
	if _, err := c.parse("1580231502072"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.parse("1580231502"); err == nil {
		t.Error("a seconds value after milliseconds rows was accepted")
	}
	if _, err := c.parse("abc"); err == nil {
		t.Error("a non-number was accepted")
	}
	// A forced unit applies as told, whatever the magnitude.
	f := newTSColumn(UnitMillis)
	if got, err := f.parse("5"); err != nil || got != 5000 {
		t.Errorf("forced ms: %d, %v", got, err)
	}
}

func TestParseSide(t *testing.T) {
	for _, s := range []string{"buy", "BUY", "b", "Bid", "bids", "1", "+1", " long "} {
		if got, err := ParseSide(s); err != nil || got != detectors.Buy {
			t.Errorf("ParseSide(%q) = %v, %v; want buy", s, got, err)
		}
	}
	for _, s := range []string{"sell", "SELL", "s", "ask", "asks", "offer", "-1", "short"} {
		if got, err := ParseSide(s); err != nil || got != detectors.Sell {
			t.Errorf("ParseSide(%q) = %v, %v; want sell", s, got, err)
		}
	}
	for _, s := range []string{"", "unknown", "2", "buyy"} {
		if _, err := ParseSide(s); err == nil {
			t.Errorf("ParseSide(%q) accepted", s)
		}
	}
	// Binance: the buyer was the maker, so the taker sold.
	if s, _ := TakerSideFromBuyerMaker("true"); s != detectors.Sell {
		t.Error("is_buyer_maker=true must be a sell taker")
	}
	if s, _ := TakerSideFromBuyerMaker("False"); s != detectors.Buy {
		t.Error("is_buyer_maker=False must be a buy taker")
	}
	if _, err := TakerSideFromBuyerMaker("maybe"); err == nil {
		t.Error("is_buyer_maker=maybe accepted")
	}
}

func TestSymbolMapper(t *testing.T) {
	m := NewSymbolMapper()
	cases := map[string]string{
		"NULS/BTC":      "NULS/BTC",
		"NULS-BTC":      "NULS/BTC",
		"nuls_btc":      "NULS/BTC",
		"NULSBTC":       "NULS/BTC",
		"BTCUSDT":       "BTC/USDT", // USDT before USD: longest known quote first
		"ETHBTC":        "ETH/BTC",
		"XBTUSD":        "XBT/USD", // not XB/TUSD: a base keeps 3 letters when it can
		"BTCTUSD":       "BTC/TUSD",
		"OMUSDT":        "OM/USDT",
		"BTC-USD":       "BTC/USD",
		"BTC-PERPETUAL": "BTC-PERPETUAL", // not a quote: kept as written
		"BTC-25JUN21":   "BTC-25JUN21",
		"AMZN":          "AMZN",
		"BTC":           "BTC", // a bare quote code is not split into "" + BTC
	}
	for in, want := range cases {
		got, err := m.Canonical(in)
		if err != nil || got != want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if got, _ := m.Pair("nuls", "btc"); got != "NULS/BTC" {
		t.Errorf("Pair(nuls, btc) = %q", got)
	}
	for _, bad := range []string{"", "  ", "NU LS", "A,B", "A;B"} {
		if _, err := m.Canonical(bad); err == nil {
			t.Errorf("Canonical(%q) accepted", bad)
		}
	}
	m.Aliases = map[string]string{"AAPC/BTC": "APPC/BTC"}
	if got, _ := m.Canonical("AAPC-BTC"); got != "APPC/BTC" {
		t.Errorf("alias: %q", got)
	}
	if got, _ := NewSymbolMapper("XYZ").Canonical("ABCXYZ"); got != "ABC/XYZ" {
		t.Errorf("extra quote: %q", got)
	}
}
