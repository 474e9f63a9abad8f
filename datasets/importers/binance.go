package importers

import (
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

func init() {
	registerFormat(&Format{
		Summary: "Binance USD-M futures dumps: trades, aggTrades, mark/index/premium klines, fundingRate → trades, marks",
		Name:    "binance-futures",
		Doc: "Binance USD-M futures public dumps (data.binance.vision), CSV or the .zip as downloaded, with or " +
			"without header: trades (id,price,qty,quote_qty,time,is_buyer_maker), aggTrades (agg_trade_id,price," +
			"quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker), markPriceKlines / indexPriceKlines / " +
			"premiumIndexKlines (12 kline columns; the kind from the file name) and fundingRate (calc_time," +
			"funding_interval_hours,last_funding_rate). The symbol comes from the file name (BTCUSDT-aggTrades-...) or --symbol. " +
			"Marks: one row per mark kline at its close_time with the close as mark price; index from indexPriceKlines at " +
			"the same close_time, else mark/(1+premium index close), else the mark itself; funding is the last " +
			"fundingRate at or before the row.",
		Tables: []string{datasets.TableTrades, datasets.TableMarks},
		parse:  parseBinanceFutures,
		finish: finishBinanceFutures,
	})
}

// Binance dump kinds.
const (
	bnTrades       = "trades"
	bnAggTrades    = "aggTrades"
	bnMarkKlines   = "markPriceKlines"
	bnIndexKlines  = "indexPriceKlines"
	bnPremiumKline = "premiumIndexKlines"
	bnTradeKlines  = "klines"
	bnFunding      = "fundingRate"
)

// binanceState joins kline and funding files of one import into marks rows.
type binanceState struct {
	bySymbol map[string]*binanceSymbol
}

type binanceSymbol struct {
	klines  map[detectors.Micros]*klineRow
	funding []fundingRow
}

type klineRow struct {
	mark, index, premium          float64
	hasMark, hasIndex, hasPremium bool
}

type fundingRow struct {
	ts   detectors.Micros
	rate float64
}

// binanceKindOf tells the dump kind from the file name, then the header, then the column count.
func binanceKindOf(base string, first []string, headed bool) string {
	for _, k := range []string{bnAggTrades, bnMarkKlines, bnIndexKlines, bnPremiumKline, bnFunding, bnTrades, bnTradeKlines} {
		if strings.Contains(base, "-"+k+"-") || strings.Contains(base, "-"+k+".") {
			return k
		}
	}
	if headed {
		cols := columns(first)
		switch {
		case has(cols, "agg_trade_id"):
			return bnAggTrades
		case has(cols, "last_funding_rate"):
			return bnFunding
		case has(cols, "is_buyer_maker") && has(cols, "quote_qty"):
			return bnTrades
		case has(cols, "open_time"):
			return "" // a kline, but which one only the name says
		}
		return ""
	}
	switch len(first) {
	case 6:
		return bnTrades
	case 7:
		return bnAggTrades
	case 3:
		return bnFunding
	}
	return ""
}

func has(cols map[string]int, name string) bool { _, ok := cols[name]; return ok }

// binanceReadColumns are the columns each dump kind is read from, by position, with the names
// Binance's headers give them.
var binanceReadColumns = map[string][]struct {
	pos  int
	name string
}{
	bnTrades:       {{0, "id"}, {1, "price"}, {2, "qty"}, {4, "time"}, {5, "is_buyer_maker"}},
	bnAggTrades:    {{0, "agg_trade_id"}, {1, "price"}, {2, "quantity"}, {5, "transact_time"}, {6, "is_buyer_maker"}},
	bnMarkKlines:   {{4, "close"}, {6, "close_time"}},
	bnIndexKlines:  {{4, "close"}, {6, "close_time"}},
	bnPremiumKline: {{4, "close"}, {6, "close_time"}},
	bnFunding:      {{0, "calc_time"}, {2, "last_funding_rate"}},
}

// checkBinanceHeader refuses a header whose columns are not where Binance's layout has them:
// the dumps are read by position, so a reordered file would otherwise swap, say, price and qty.
func checkBinanceHeader(file, kind string, header []string) error {
	for _, c := range binanceReadColumns[kind] {
		if c.pos >= len(header) {
			return errAtf(file, 1, c.name, "missing from the header (%d columns; Binance's %s layout has %s at position %d)",
				len(header), kind, c.name, c.pos+1)
		}
		if got := strings.ToLower(strings.TrimSpace(header[c.pos])); got != c.name {
			return errAtf(file, 1, c.name, "the header has %q at position %d where Binance's %s layout has %s (the columns are read by position)",
				got, c.pos+1, kind, c.name)
		}
	}
	return nil
}

func parseBinanceFutures(c *parseCtx, in *input) error {
	if c.binance == nil {
		c.binance = &binanceState{bySymbol: map[string]*binanceSymbol{}}
	}
	f := newCSV(in.name, in.r, ',')
	first, err := f.next()
	if err == io.EOF {
		return errAtf(in.name, 1, "", "empty file")
	}
	if err != nil {
		return err
	}
	// A header is a first row starting with one of Binance's first column names; any other
	// first row is data (and fails on its first field if it is not a number).
	headed := false
	switch strings.ToLower(strings.TrimSpace(first[0])) {
	case "id", "agg_trade_id", "open_time", "calc_time":
		headed = true
	}
	kind := binanceKindOf(in.base, first, headed)
	switch kind {
	case "":
		return errAtf(in.name, 1, "", "cannot tell the Binance dump kind (trades, aggTrades, markPriceKlines, indexPriceKlines, premiumIndexKlines, fundingRate) from the file name or header; keep Binance's file name (SYMBOL-KIND-...)")
	case bnTradeKlines:
		return errAtf(in.name, 1, "", "trade klines carry no events fds can replay; import trades or aggTrades instead")
	}
	c.file.Kind = kind
	if headed {
		if err := checkBinanceHeader(in.name, kind, first); err != nil {
			return err
		}
	}
	sym, err := c.symbolFromName(in, "-_")
	if err != nil {
		return err
	}
	want := map[string]int{bnTrades: 6, bnAggTrades: 7, bnMarkKlines: 12, bnIndexKlines: 12, bnPremiumKline: 12, bnFunding: 3}[kind]
	ts := newTSColumn(c.unit)
	st := c.binance.bySymbol[sym]
	if st == nil {
		st = &binanceSymbol{klines: map[detectors.Micros]*klineRow{}}
		c.binance.bySymbol[sym] = st
	}
	rec := first
	if headed {
		rec, err = f.next()
	}
	for ; err == nil; rec, err = f.next() {
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		line := f.line
		if len(rec) < want {
			return errAtf(in.name, line, "", "%s row has %d fields, want %d", kind, len(rec), want)
		}
		switch kind {
		case bnTrades, bnAggTrades:
			// trades: id,price,qty,quote_qty,time,is_buyer_maker
			// aggTrades: agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker
			iTime, iMaker := 4, 5
			if kind == bnAggTrades {
				iTime, iMaker = 5, 6
			}
			var r row[detectors.Trade]
			r.Symbol = sym
			if r.V.TradeID, err = strconv.ParseInt(strings.TrimSpace(rec[0]), 10, 64); err != nil {
				return errAtf(in.name, line, "id", "%q is not an integer", rec[0])
			}
			if r.V.Price, err = parseNonNeg(rec[1]); err != nil {
				return errAt(in.name, line, "price", err)
			}
			if r.V.Qty, err = parseNonNeg(rec[2]); err != nil {
				return errAt(in.name, line, "qty", err)
			}
			if r.TS, err = ts.parse(rec[iTime]); err != nil {
				return errAt(in.name, line, "time", err)
			}
			if r.V.TakerSide, err = TakerSideFromBuyerMaker(rec[iMaker]); err != nil {
				return errAt(in.name, line, "is_buyer_maker", err)
			}
			c.out.trades = append(c.out.trades, r)
		case bnMarkKlines, bnIndexKlines, bnPremiumKline:
			// open_time,open,high,low,close,volume,close_time,...: the close is known at close_time.
			at, err := ts.parse(rec[6])
			if err != nil {
				return errAt(in.name, line, "close_time", err)
			}
			var v float64
			if kind == bnPremiumKline {
				v, err = parseFinite(rec[4])
			} else {
				v, err = parseNonNeg(rec[4])
			}
			if err != nil {
				return errAt(in.name, line, "close", err)
			}
			k := st.klines[at]
			if k == nil {
				k = &klineRow{}
				st.klines[at] = k
			}
			switch kind {
			case bnMarkKlines:
				k.mark, k.hasMark = v, true
			case bnIndexKlines:
				k.index, k.hasIndex = v, true
			default:
				if v <= -1 {
					return errAtf(in.name, line, "close", "premium index %v is not above -1", v)
				}
				k.premium, k.hasPremium = v, true
			}
		case bnFunding:
			at, err := ts.parse(rec[0])
			if err != nil {
				return errAt(in.name, line, "calc_time", err)
			}
			rate, err := parseFinite(rec[2])
			if err != nil {
				return errAt(in.name, line, "last_funding_rate", err)
			}
			st.funding = append(st.funding, fundingRow{ts: at, rate: rate})
		}
		c.file.Rows++
	}
	if err != io.EOF {
		return err
	}
	c.file.TimeUnit = ts.unit.String()
	return nil
}

// finishBinanceFutures turns the joined klines and funding into marks rows.
func finishBinanceFutures(c *parseCtx) error {
	if c.binance == nil {
		return nil
	}
	syms := make([]string, 0, len(c.binance.bySymbol))
	for s := range c.binance.bySymbol {
		syms = append(syms, s)
	}
	sort.Strings(syms)
	for _, sym := range syms {
		st := c.binance.bySymbol[sym]
		times := make([]detectors.Micros, 0, len(st.klines))
		marks := 0
		for t, k := range st.klines {
			times = append(times, t)
			if k.hasMark {
				marks++
			}
		}
		if marks == 0 && (len(st.klines) > 0 || len(st.funding) > 0) {
			return errAtf(sym, 0, "", "index/premium klines and funding rates become marks only with the markPriceKlines of the same symbol in the same import")
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		sort.SliceStable(st.funding, func(i, j int) bool { return st.funding[i].ts < st.funding[j].ts })
		fi := -1
		for _, t := range times {
			k := st.klines[t]
			if !k.hasMark {
				continue
			}
			for fi+1 < len(st.funding) && st.funding[fi+1].ts <= t {
				fi++
			}
			m := detectors.Mark{MarkPrice: k.mark, IndexPrice: k.mark}
			switch {
			case k.hasIndex:
				m.IndexPrice = k.index
			case k.hasPremium:
				m.IndexPrice = k.mark / (1 + k.premium)
			}
			if fi >= 0 {
				m.FundingRate, m.HasFunding = st.funding[fi].rate, true
			}
			c.out.marks = append(c.out.marks, row[detectors.Mark]{TS: t, Symbol: sym, V: m})
		}
	}
	return nil
}
