package importers

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// TimeUnit is the unit of an epoch timestamp column in a source file.
type TimeUnit int

const (
	UnitAuto TimeUnit = iota
	UnitSeconds
	UnitMillis
	UnitMicros
	UnitNanos
)

func (u TimeUnit) String() string {
	switch u {
	case UnitSeconds:
		return "s"
	case UnitMillis:
		return "ms"
	case UnitMicros:
		return "us"
	case UnitNanos:
		return "ns"
	}
	return "auto"
}

// ParseTimeUnit accepts "", "auto", "s", "ms", "us" and "ns".
func ParseTimeUnit(s string) (TimeUnit, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return UnitAuto, nil
	case "s":
		return UnitSeconds, nil
	case "ms":
		return UnitMillis, nil
	case "us", "µs":
		return UnitMicros, nil
	case "ns":
		return UnitNanos, nil
	}
	return UnitAuto, fmt.Errorf("unknown time unit %q (want auto, s, ms, us or ns)", s)
}

// Magnitude bounds of the unit detection: an epoch timestamp is below 1e11 in seconds, in
// [1e11, 1e14) in milliseconds, in [1e14, 1e17) in microseconds and at or above 1e17 in
// nanoseconds. The classes cannot overlap for any instant from 1973-03-03 (1e11 ms) to
// 5138-11-16 (1e11 s), which covers any market data.
const (
	maxSeconds = 1e11
	maxMillis  = 1e14
	maxMicros  = 1e17
)

// DetectTimeUnit tells the unit of an epoch timestamp by its magnitude (see the bounds above).
func DetectTimeUnit(v float64) TimeUnit {
	a := math.Abs(v)
	switch {
	case a < maxSeconds:
		return UnitSeconds
	case a < maxMillis:
		return UnitMillis
	case a < maxMicros:
		return UnitMicros
	}
	return UnitNanos
}

// tsColumn converts one epoch timestamp column of one file to microseconds. With UnitAuto the
// unit is detected from the first value and every later value must have the same magnitude class,
// so a file mixing units (or a stray number) fails on the row where it happens instead of being
// silently shifted by a factor of 1000.
type tsColumn struct {
	unit   TimeUnit
	forced bool
}

func newTSColumn(u TimeUnit) *tsColumn { return &tsColumn{unit: u, forced: u != UnitAuto} }

// parse converts the text of an epoch timestamp (integer, or decimal for seconds) to Micros.
func (c *tsColumn) parse(s string) (detectors.Micros, error) {
	ts, err := c.convert(s)
	if err != nil {
		return 0, err
	}
	// A detected unit gives an instant of the units' common range (1973 to 5138); market data
	// lies in the range the replay accepts, and a 0, a negative or a stray small number is not an
	// epoch timestamp of any venue. A forced unit applies as told (the replay still rejects the
	// row later, naming the unit it would have been plausible in).
	if !c.forced {
		if err := plausibleTS(ts, s); err != nil {
			return 0, err
		}
	}
	return ts, nil
}

// plausibleTS refuses an instant outside [datasets.MinPlausibleTS, datasets.MaxPlausibleTS]
// (1990 to 2100), quoting the text it was read from.
func plausibleTS(ts detectors.Micros, text string) error {
	if ts < datasets.MinPlausibleTS || ts > datasets.MaxPlausibleTS {
		return fmt.Errorf("timestamp %q is %s, outside 1990-2100: not the time of market data",
			strings.TrimSpace(text), time.UnixMicro(ts).UTC().Format("2006-01-02T15:04:05Z"))
	}
	return nil
}

// convert reads an epoch timestamp in the column's unit (detected from the first value when
// not forced) as microseconds.
func (c *tsColumn) convert(s string) (detectors.Micros, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty timestamp")
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		u, err := c.unitOf(float64(i))
		if err != nil {
			return 0, err
		}
		return intToMicros(i, u)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("timestamp %q is not a number", s)
	}
	u, err := c.unitOf(f)
	if err != nil {
		return 0, err
	}
	m := f * float64(unitMicros(u))
	if math.Abs(m) > 9e18 {
		return 0, fmt.Errorf("timestamp %q out of range", s)
	}
	// Decimal seconds carry at most microsecond precision in the canonical column; rounding
	// (not truncation) keeps 1626992742.289739 exact despite binary floating point.
	return detectors.Micros(math.Round(m)), nil
}

func (c *tsColumn) unitOf(v float64) (TimeUnit, error) {
	d := DetectTimeUnit(v)
	if c.unit == UnitAuto {
		c.unit = d
		return d, nil
	}
	if !c.forced && d != c.unit {
		return 0, fmt.Errorf("timestamp %v looks like %s but earlier rows of the file are in %s", v, d, c.unit)
	}
	return c.unit, nil
}

func unitMicros(u TimeUnit) int64 {
	switch u {
	case UnitSeconds:
		return 1_000_000
	case UnitMillis:
		return 1000
	}
	return 1
}

func intToMicros(i int64, u TimeUnit) (detectors.Micros, error) {
	switch u {
	case UnitNanos:
		// Floor division keeps pre-1970 values ordered; market data has none but it costs nothing.
		q := i / 1000
		if i%1000 < 0 {
			q--
		}
		return q, nil
	case UnitMicros:
		return i, nil
	}
	m := unitMicros(u)
	if i > math.MaxInt64/m || i < math.MinInt64/m {
		return 0, fmt.Errorf("timestamp %d out of range", i)
	}
	return i * m, nil
}

// ParseSide normalises the many spellings of a side: buy/sell, b/s, bid/ask, offer, long/short
// in any case, and +1/1/-1. For a trade it is the taker's side; for a book level bid is buy.
func ParseSide(s string) (detectors.Side, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "buy", "b", "bid", "bids", "long", "1", "+1":
		return detectors.Buy, nil
	case "sell", "s", "ask", "asks", "offer", "short", "-1":
		return detectors.Sell, nil
	}
	return 0, fmt.Errorf("unknown side %q (want buy/sell, b/s, bid/ask or 1/-1)", s)
}

// TakerSideFromBuyerMaker maps Binance's is_buyer_maker flag to the taker's side: when the buyer
// was the maker, the taker sold.
func TakerSideFromBuyerMaker(s string) (detectors.Side, error) {
	b, err := parseBool(s)
	if err != nil {
		return 0, err
	}
	if b {
		return detectors.Sell, nil
	}
	return detectors.Buy, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "t", "1", "yes", "y":
		return true, nil
	case "false", "f", "0", "no", "n":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean", s)
}

// DefaultQuotes are the quote currencies recognised at the end of a symbol written without a
// separator (NULSBTC). Longer codes are tried first so that BTCUSDT is BTC/USDT, not BTCUS/DT.
var DefaultQuotes = []string{
	"FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDS", "USDP", "BTC", "ETH", "BNB", "USD", "EUR",
	"GBP", "TRY", "BRL", "AUD", "RUB", "XRP", "TRX", "DAI", "PAX", "JPY",
}

// SymbolMapper turns the symbol spellings of exchange files into fds's canonical form
// BASE/QUOTE in upper case: NULS/BTC, NULS-BTC, NULS_BTC, nulsbtc and (coin NULS, pair BTC) all
// become NULS/BTC. A symbol is split only where the part after the separator (or the suffix of a
// separator-less symbol) is a known quote currency; anything else (BTC-PERPETUAL, BTC-25JUN21,
// AMZN) is kept as written, upper-cased, so no instrument is silently renamed into another.
type SymbolMapper struct {
	quotes []string
	// Aliases map a canonical symbol to another one (a typo in a label list, a renamed coin).
	Aliases map[string]string
}

// NewSymbolMapper returns a mapper knowing DefaultQuotes plus extra quote currencies.
func NewSymbolMapper(extraQuotes ...string) *SymbolMapper {
	seen := map[string]bool{}
	var qs []string
	for _, q := range append(append([]string(nil), extraQuotes...), DefaultQuotes...) {
		q = strings.ToUpper(strings.TrimSpace(q))
		if q != "" && !seen[q] {
			seen[q] = true
			qs = append(qs, q)
		}
	}
	// Longest first, then alphabetical, so that the first match is the longest known quote.
	for i := 1; i < len(qs); i++ {
		for j := i; j > 0 && (len(qs[j]) > len(qs[j-1]) || (len(qs[j]) == len(qs[j-1]) && qs[j] < qs[j-1])); j-- {
			qs[j], qs[j-1] = qs[j-1], qs[j]
		}
	}
	return &SymbolMapper{quotes: qs}
}

func (m *SymbolMapper) isQuote(s string) bool {
	for _, q := range m.quotes {
		if q == s {
			return true
		}
	}
	return false
}

// Canonical maps one symbol spelling to the canonical form; it fails only on an empty or
// implausible symbol (spaces, control characters).
func (m *SymbolMapper) Canonical(raw string) (string, error) {
	s := strings.ToUpper(strings.TrimSpace(raw))
	if s == "" {
		return "", fmt.Errorf("empty symbol")
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == ',' || r == ';' || r == '"' {
			return "", fmt.Errorf("symbol %q has a forbidden character %q", raw, r)
		}
	}
	out := s
	if i := strings.IndexAny(s, "/-_"); i > 0 && i < len(s)-1 && strings.IndexAny(s[i+1:], "/-_") < 0 {
		if m.isQuote(s[i+1:]) {
			out = s[:i] + "/" + s[i+1:]
		}
	} else if !strings.ContainsAny(s, "/-_:") {
		// The longest known quote that leaves a base of at least 3 letters wins (XBTUSD is
		// XBT/USD, not XB/TUSD; BTCTUSD is BTC/TUSD); failing that, the longest that leaves any
		// base (OMUSDT is OM/USDT).
		best := ""
		for _, q := range m.quotes {
			if len(s) > len(q) && strings.HasSuffix(s, q) {
				if len(s)-len(q) >= 3 {
					best = q
					break
				}
				if best == "" {
					best = q
				}
			}
		}
		if best != "" {
			out = s[:len(s)-len(best)] + "/" + best
		}
	}
	if a, ok := m.Aliases[out]; ok {
		return a, nil
	}
	return out, nil
}

// Pair maps a (coin, quote) pair, as label lists write them, to the canonical symbol.
func (m *SymbolMapper) Pair(coin, quote string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(coin))
	q := strings.ToUpper(strings.TrimSpace(quote))
	if c == "" {
		return "", fmt.Errorf("empty coin")
	}
	if q == "" {
		return m.Canonical(c)
	}
	return m.Canonical(c + "/" + q)
}

// parsePositive parses a finite, non-negative decimal (price, quantity).
func parseNonNeg(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0, fmt.Errorf("%q is not a finite non-negative number", s)
	}
	return f, nil
}

// parseFinite parses any finite decimal (funding rates are signed).
func parseFinite(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	return f, nil
}
