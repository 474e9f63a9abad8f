package importers

import (
	"io"
	"strconv"
	"strings"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

func init() {
	registerFormat(&Format{
		Summary: "ccxt fetch_trades CSV (symbol,timestamp,side,price,amount) → trades",
		Name:    "ccxt-trades",
		Doc: "ccxt fetch_trades CSV with a header: symbol,timestamp,datetime,side,price,amount[,btc_volume|cost][,id]. " +
			"side is the taker side; without ids, trades are numbered 1..n in time order. Without a symbol column, --symbol names it.",
		Tables: []string{datasets.TableTrades},
		parse:  parseCCXTTrades,
	})
}

func parseCCXTTrades(c *parseCtx, in *input) error {
	c.file.Kind = "trades"
	f := newCSV(in.name, in.r, ',')
	header, err := f.next()
	if err == io.EOF {
		return errAtf(in.name, 1, "", "empty file (want a header symbol,timestamp,datetime,side,price,amount)")
	}
	if err != nil {
		return err
	}
	cols := columns(header)
	idx, err := require(in.name, cols, "timestamp", "side", "price", "amount")
	if err != nil {
		return err
	}
	iTS, iSide, iPrice, iAmount := idx[0], idx[1], idx[2], idx[3]
	iSym, hasSym := cols["symbol"]
	iID, hasID := cols["id"]
	fixed := ""
	if !hasSym || c.opts.Symbol != "" {
		if c.opts.Symbol == "" {
			return errAtf(in.name, 1, "symbol", "missing from the header; pass the symbol as an option (--symbol)")
		}
		if fixed, err = c.symbols.Canonical(c.opts.Symbol); err != nil {
			return errAt(in.name, 0, "", err)
		}
	}
	ts := newTSColumn(c.unit)
	cache := map[string]string{}
	for {
		rec, err := f.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		var r row[detectors.Trade]
		r.Symbol = fixed
		if fixed == "" {
			raw, err := f.field(rec, iSym, "symbol")
			if err != nil {
				return err
			}
			sym, ok := cache[raw]
			if !ok {
				if sym, err = c.symbols.Canonical(raw); err != nil {
					return errAt(in.name, f.line, "symbol", err)
				}
				cache[raw] = sym
			}
			r.Symbol = sym
		}
		s, err := f.field(rec, iTS, "timestamp")
		if err != nil {
			return err
		}
		if r.TS, err = ts.parse(s); err != nil {
			return errAt(in.name, f.line, "timestamp", err)
		}
		if s, err = f.field(rec, iSide, "side"); err != nil {
			return err
		}
		if r.V.TakerSide, err = ParseSide(s); err != nil {
			return errAt(in.name, f.line, "side", err)
		}
		if s, err = f.field(rec, iPrice, "price"); err != nil {
			return err
		}
		if r.V.Price, err = parseNonNeg(s); err != nil {
			return errAt(in.name, f.line, "price", err)
		}
		if s, err = f.field(rec, iAmount, "amount"); err != nil {
			return err
		}
		if r.V.Qty, err = parseNonNeg(s); err != nil {
			return errAt(in.name, f.line, "amount", err)
		}
		if hasID && iID < len(rec) && strings.TrimSpace(rec[iID]) != "" {
			if r.V.TradeID, err = strconv.ParseInt(strings.TrimSpace(rec[iID]), 10, 64); err != nil {
				return errAtf(in.name, f.line, "id", "%q is not an integer trade id", rec[iID])
			}
		} else {
			c.out.tradeIDMissing = true
		}
		c.out.trades = append(c.out.trades, r)
		c.file.Rows++
	}
	c.file.TimeUnit = ts.unit.String()
	return nil
}
