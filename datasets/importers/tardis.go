package importers

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

func init() {
	registerFormat(&Format{
		Summary: "Tardis CSV: trades, liquidations, derivative_ticker, book snapshots/quotes/L2 → trades, liquidations, marks, orders",
		Name:    "tardis",
		Doc: "Tardis.dev normalised CSV (header required; exchange time `timestamp` in µs): trades and liquidations " +
			"(id,side,price,amount; told apart by the file name, *_trades_* or *_liquidations_*), derivative_ticker " +
			"(→ marks, blank fields carried forward), book_snapshot_N, quotes and incremental_book_L2 (→ orders of " +
			"one synthetic actor per venue, `book:<exchange>`, one order per price level: new when a level appears, " +
			"amend when its size changes, cancel when it goes). Trades of side `unknown` are skipped and counted.",
		Tables: []string{datasets.TableTrades, datasets.TableLiquidations, datasets.TableMarks, datasets.TableOrders},
		parse:  parseTardis,
	})
}

func parseTardis(c *parseCtx, in *input) error {
	f := newCSV(in.name, in.r, ',')
	header, err := f.next()
	if err == io.EOF {
		return errAtf(in.name, 1, "", "empty file")
	}
	if err != nil {
		return err
	}
	header = append([]string(nil), header...)
	cols := columns(header)
	idx, err := require(in.name, cols, "exchange", "symbol", "timestamp")
	if err != nil {
		return err
	}
	t := &tardisFile{c: c, f: f, in: in, cols: cols, iEx: idx[0], iSym: idx[1], iTS: idx[2],
		ts: newTSColumn(c.unit), symCache: map[string]string{}}
	lower := strings.ToLower(in.base)
	switch {
	case has(cols, "asks[0].price") || has(cols, "bids[0].price"):
		c.file.Kind = "book_snapshot"
		return t.run(t.bookSnapshot)
	case has(cols, "is_snapshot"):
		c.file.Kind = "incremental_book_L2"
		return t.run(t.incremental)
	case has(cols, "ask_price") && has(cols, "bid_price"):
		c.file.Kind = "quotes"
		return t.run(t.quotes)
	case has(cols, "mark_price") || has(cols, "funding_rate"):
		c.file.Kind = "derivative_ticker"
		return t.run(t.ticker)
	case has(cols, "side") && has(cols, "price") && has(cols, "amount"):
		switch {
		case strings.Contains(lower, "liquidation"):
			c.file.Kind = "liquidations"
			return t.run(t.liquidation)
		case strings.Contains(lower, "trade"):
			c.file.Kind = "trades"
			return t.run(t.trade)
		}
		return errAtf(in.name, 1, "", "trades and liquidations share one layout: name the file like Tardis does (*_trades_* or *_liquidations_*)")
	}
	return errAtf(in.name, 1, "", "unsupported Tardis data type (header %q); supported: trades, liquidations, derivative_ticker, book_snapshot_N, quotes, incremental_book_L2", strings.Join(header, ","))
}

type tardisFile struct {
	c                *parseCtx
	f                *csvFile
	in               *input
	cols             map[string]int
	iEx, iSym, iTS   int
	ts               *tsColumn
	symCache         map[string]string
	rec              []string
	line             int
	exchange, symbol string
	at               detectors.Micros
	tickers          map[string]*detectors.Mark
}

func (t *tardisFile) run(each func() error) error {
	for {
		rec, err := t.f.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		t.rec, t.line = rec, t.f.line
		if t.exchange, err = t.get(t.iEx, "exchange"); err != nil {
			return err
		}
		raw, err := t.get(t.iSym, "symbol")
		if err != nil {
			return err
		}
		sym, ok := t.symCache[raw]
		if !ok {
			if sym, err = t.c.symbols.Canonical(raw); err != nil {
				return errAt(t.in.name, t.line, "symbol", err)
			}
			t.symCache[raw] = sym
		}
		t.symbol = sym
		s, err := t.get(t.iTS, "timestamp")
		if err != nil {
			return err
		}
		if t.at, err = t.ts.parse(s); err != nil {
			return errAt(t.in.name, t.line, "timestamp", err)
		}
		if err := each(); err != nil {
			return err
		}
	}
	t.c.file.TimeUnit = t.ts.unit.String()
	return nil
}

func (t *tardisFile) get(i int, col string) (string, error) {
	if i >= len(t.rec) {
		return "", errAtf(t.in.name, t.line, col, "missing (row has %d fields)", len(t.rec))
	}
	return strings.TrimSpace(t.rec[i]), nil
}

func (t *tardisFile) col(name string) (string, error) {
	i, ok := t.cols[name]
	if !ok {
		return "", errAtf(t.in.name, 1, name, "missing from the header")
	}
	return t.get(i, name)
}

func (t *tardisFile) num(name string, signed bool) (float64, error) {
	s, err := t.col(name)
	if err != nil {
		return 0, err
	}
	var v float64
	if signed {
		v, err = parseFinite(s)
	} else {
		v, err = parseNonNeg(s)
	}
	if err != nil {
		return 0, errAt(t.in.name, t.line, name, err)
	}
	return v, nil
}

func (t *tardisFile) trade() error {
	side, err := t.col("side")
	if err != nil {
		return err
	}
	if strings.EqualFold(side, "unknown") || side == "" {
		t.c.file.Skipped++
		return nil
	}
	r := row[detectors.Trade]{TS: t.at, Symbol: t.symbol}
	if r.V.TakerSide, err = ParseSide(side); err != nil {
		return errAt(t.in.name, t.line, "side", err)
	}
	if r.V.Price, err = t.num("price", false); err != nil {
		return err
	}
	if r.V.Qty, err = t.num("amount", false); err != nil {
		return err
	}
	id, _ := t.col("id")
	if n, err := strconv.ParseInt(id, 10, 64); err == nil && id != "" {
		r.V.TradeID = n
	} else {
		// Non-numeric ids (BitMEX UUIDs) are replaced by the row's position in time order.
		t.c.out.tradeIDMissing = true
	}
	t.c.out.trades = append(t.c.out.trades, r)
	t.c.file.Rows++
	return nil
}

// liquidation maps a Tardis liquidation: side is the liquidation order's side (buy: a short was
// liquidated), which is also the canonical meaning. Public feeds name no account.
func (t *tardisFile) liquidation() error {
	side, err := t.col("side")
	if err != nil {
		return err
	}
	r := row[detectors.Liquidation]{TS: t.at, Symbol: t.symbol}
	if r.V.Side, err = ParseSide(side); err != nil {
		return errAt(t.in.name, t.line, "side", err)
	}
	if r.V.Price, err = t.num("price", false); err != nil {
		return err
	}
	if r.V.Qty, err = t.num("amount", false); err != nil {
		return err
	}
	t.c.out.liqs = append(t.c.out.liqs, r)
	t.c.file.Rows++
	return nil
}

// ticker maps derivative_ticker rows to marks. Tardis leaves a field blank when the venue's
// message did not carry it, so each symbol's last known values are carried forward; rows before
// the first mark price are skipped; without any index price the mark stands in for it.
func (t *tardisFile) ticker() error {
	if t.tickers == nil {
		t.tickers = map[string]*detectors.Mark{}
	}
	key := t.exchange + "|" + t.symbol
	m := t.tickers[key]
	if m == nil {
		m = &detectors.Mark{}
		t.tickers[key] = m
	}
	for _, fld := range []struct {
		name   string
		signed bool
		set    func(float64)
	}{
		{"mark_price", false, func(v float64) { m.MarkPrice = v }},
		{"index_price", false, func(v float64) { m.IndexPrice = v }},
		{"funding_rate", true, func(v float64) { m.FundingRate, m.HasFunding = v, true }},
		{"open_interest", false, func(v float64) { m.OpenInterest, m.HasOpenInterest = v, true }},
	} {
		i, ok := t.cols[fld.name]
		if !ok || i >= len(t.rec) || strings.TrimSpace(t.rec[i]) == "" {
			continue
		}
		v, err := t.num(fld.name, fld.signed)
		if err != nil {
			return err
		}
		fld.set(v)
	}
	if m.MarkPrice == 0 {
		t.c.file.Skipped++
		return nil
	}
	out := *m
	if out.IndexPrice == 0 {
		out.IndexPrice = out.MarkPrice
	}
	t.c.out.marks = append(t.c.out.marks, row[detectors.Mark]{TS: t.at, Symbol: t.symbol, V: out})
	t.c.file.Rows++
	return nil
}

func (t *tardisFile) book() *bookState { return t.c.book(t.exchange, t.symbol) }

func (t *tardisFile) bookSnapshot() error {
	var keys []bookKey
	var qtys []float64
	for _, side := range []struct {
		name string
		side detectors.Side
	}{{"asks", detectors.Sell}, {"bids", detectors.Buy}} {
		for i := 0; ; i++ {
			pc := fmt.Sprintf("%s[%d].price", side.name, i)
			ac := fmt.Sprintf("%s[%d].amount", side.name, i)
			pi, ok := t.cols[pc]
			if !ok {
				break
			}
			ai, ok := t.cols[ac]
			if !ok {
				return errAtf(t.in.name, 1, ac, "missing from the header")
			}
			if pi >= len(t.rec) || ai >= len(t.rec) || strings.TrimSpace(t.rec[pi]) == "" {
				continue // a shallow book leaves the deeper levels blank
			}
			p, err := t.num(pc, false)
			if err != nil {
				return err
			}
			a, err := t.num(ac, false)
			if err != nil {
				return err
			}
			keys = append(keys, bookKey{side: side.side, price: p})
			qtys = append(qtys, a)
		}
	}
	t.c.replaceBook(t.book(), t.at, keys, qtys)
	t.c.file.Rows++
	return nil
}

func (t *tardisFile) quotes() error {
	var keys []bookKey
	var qtys []float64
	for _, q := range []struct {
		price, amount string
		side          detectors.Side
	}{{"ask_price", "ask_amount", detectors.Sell}, {"bid_price", "bid_amount", detectors.Buy}} {
		ps, err := t.col(q.price)
		if err != nil {
			return err
		}
		if ps == "" {
			continue
		}
		p, err := t.num(q.price, false)
		if err != nil {
			return err
		}
		a, err := t.num(q.amount, false)
		if err != nil {
			return err
		}
		keys = append(keys, bookKey{side: q.side, price: p})
		qtys = append(qtys, a)
	}
	t.c.replaceBook(t.book(), t.at, keys, qtys)
	t.c.file.Rows++
	return nil
}

// incremental applies one incremental_book_L2 row. A row with is_snapshot=true after update rows
// (or first) starts a new snapshot: every level of the old book is cancelled first.
func (t *tardisFile) incremental() error {
	snap, err := t.col("is_snapshot")
	if err != nil {
		return err
	}
	isSnap, err := parseBool(snap)
	if err != nil {
		return errAt(t.in.name, t.line, "is_snapshot", err)
	}
	sideS, err := t.col("side")
	if err != nil {
		return err
	}
	side, err := ParseSide(sideS)
	if err != nil {
		return errAt(t.in.name, t.line, "side", err)
	}
	p, err := t.num("price", false)
	if err != nil {
		return err
	}
	a, err := t.num("amount", false)
	if err != nil {
		return err
	}
	b := t.book()
	if isSnap && !b.inSnapshot {
		t.c.replaceBook(b, t.at, nil, nil)
	}
	b.inSnapshot = isSnap
	t.c.levelOrder(b, t.at, bookKey{side: side, price: p}, a)
	t.c.file.Rows++
	return nil
}
