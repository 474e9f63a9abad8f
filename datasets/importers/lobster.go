package importers

import (
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // LOBSTER times are New York local time: do not depend on the host's zoneinfo

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

func init() {
	registerFormat(&Format{
		Summary: "LOBSTER message files → orders and trades (one actor per order or MPID)",
		Name:    "lobster",
		Doc: "LOBSTER message file (no header: time,type,order_id,size,price*10000,direction[,mpid]; time in seconds " +
			"after midnight, New York, ns decimals truncated to µs). Symbol and day from the file name " +
			"(AMZN_2021-04-12_..._message_10.csv) or --symbol/--date. Type 1 → new, 2 → amend (size reduced), " +
			"3 → cancel, 4 → fill + trade, 5 (hidden) and 6 (cross) → trade only, 7 (halt) skipped. No accounts: " +
			"account_id is the MPID when the order carries one, else the synthetic actor ord-<order_id>.",
		Tables: []string{datasets.TableOrders, datasets.TableTrades},
		parse:  parseLobster,
	})
}

var lobsterName = regexp.MustCompile(`^([A-Za-z0-9.]+)_(\d{4}-\d{2}-\d{2})_`)

type lobsterState struct {
	orders map[lobsterKey]*lobsterOrder
}

type lobsterKey struct {
	symbol string
	id     int64
}

type lobsterOrder struct {
	account string
	// qty is the order quantity (reduced by partial cancels), leaves what is still open.
	qty, leaves float64
}

func parseLobster(c *parseCtx, in *input) error {
	if c.lobster == nil {
		c.lobster = &lobsterState{orders: map[lobsterKey]*lobsterOrder{}}
	}
	c.file.Kind = "message"
	m := lobsterName.FindStringSubmatch(in.base)
	symRaw, day := c.opts.Symbol, c.opts.Date
	if m != nil {
		if symRaw == "" {
			symRaw = m[1]
		}
		if day == "" {
			day = m[2]
		}
	}
	if symRaw == "" || day == "" {
		return errAtf(in.name, 0, "", "cannot tell the symbol and day from the file name (want SYMBOL_YYYY-MM-DD_...); pass --symbol and --date")
	}
	// Equity tickers are kept as written: no quote-currency splitting.
	sym := strings.ToUpper(strings.TrimSpace(symRaw))
	if _, err := c.symbols.Canonical(sym); err != nil {
		return errAt(in.name, 0, "", err)
	}
	loc, err := time.LoadLocation(c.opts.Timezone)
	if err != nil {
		return errAtf(in.name, 0, "", "time zone %q: %v", c.opts.Timezone, err)
	}
	d, err := time.ParseInLocation("2006-01-02", day, loc)
	if err != nil {
		return errAtf(in.name, 0, "", "day %q is not YYYY-MM-DD", day)
	}
	midnight := d.UnixMicro()
	if err := plausibleTS(midnight, day); err != nil {
		return errAtf(in.name, 0, "", "day %s: %v", day, err)
	}
	f := newCSV(in.name, in.r, ',')
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
		line := f.line
		if len(rec) < 6 {
			return errAtf(in.name, line, "", "message row has %d fields, want 6 or 7 (time,type,order_id,size,price,direction[,mpid])", len(rec))
		}
		secs, err := lobsterSeconds(rec[0])
		if err != nil {
			return errAt(in.name, line, "time", err)
		}
		at := midnight + secs
		typ, err := strconv.Atoi(strings.TrimSpace(rec[1]))
		if err != nil {
			return errAtf(in.name, line, "type", "%q is not an integer", rec[1])
		}
		id, err := strconv.ParseInt(strings.TrimSpace(rec[2]), 10, 64)
		if err != nil {
			// Cross trades (type 6) carry the id -1: any integer is accepted.
			return errAtf(in.name, line, "order_id", "%q is not an integer", rec[2])
		}
		size, err := parseNonNeg(rec[3])
		if err != nil {
			return errAt(in.name, line, "size", err)
		}
		ticks, err := strconv.ParseInt(strings.TrimSpace(rec[4]), 10, 64)
		if err != nil {
			return errAtf(in.name, line, "price", "%q is not an integer (price x 10000)", rec[4])
		}
		price := float64(ticks) / 10000
		var dir detectors.Side
		switch strings.TrimSpace(rec[5]) {
		case "1":
			dir = detectors.Buy
		case "-1":
			dir = detectors.Sell
		default:
			return errAtf(in.name, line, "direction", "%q is not 1 or -1", rec[5])
		}
		mpid := ""
		if len(rec) > 6 {
			mpid = strings.TrimSpace(rec[6])
			if strings.EqualFold(mpid, "null") {
				mpid = ""
			}
		}
		key := lobsterKey{symbol: sym, id: id}
		o := c.lobster.orders[key]
		account := func() string {
			if o != nil {
				return o.account
			}
			if mpid != "" {
				return mpid
			}
			return "ord-" + strconv.FormatInt(id, 10)
		}
		ord := detectors.Order{OrderID: id, Side: dir, Type: detectors.Limit, Price: price}
		emitOrder := func() {
			c.out.orders = append(c.out.orders, row[detectors.Order]{TS: at, Symbol: sym, V: ord})
		}
		trade := func(makerAccount string, makerOrder int64) {
			// A LOBSTER execution names the resting order: the taker is on the other side.
			c.out.trades = append(c.out.trades, row[detectors.Trade]{TS: at, Symbol: sym, V: detectors.Trade{
				Price: price, Qty: size, TakerSide: dir.Opposite(), MakerAccount: makerAccount, MakerOrderID: makerOrder,
			}})
			c.out.tradeIDMissing = true
		}
		switch typ {
		case 1:
			if o != nil {
				return errAtf(in.name, line, "order_id", "order %d submitted twice", id)
			}
			o = &lobsterOrder{account: account(), qty: size, leaves: size}
			c.lobster.orders[key] = o
			ord.Account, ord.Event, ord.Qty, ord.LeavesQty = o.account, detectors.OrderNew, size, size
			emitOrder()
		case 2:
			// Partial cancel: the order quantity and its open part shrink by size (an amend's qty
			// is the new order quantity). An order resting from before the file started has an
			// unknown size: its quantity and leaves are reported as 0.
			ord.Account, ord.Event = account(), detectors.OrderAmend
			if o != nil {
				o.qty = max(o.qty-size, 0)
				o.leaves = max(o.leaves-size, 0)
				ord.Qty, ord.LeavesQty = o.qty, o.leaves
			}
			emitOrder()
		case 3:
			ord.Account, ord.Event, ord.Qty, ord.LeavesQty = account(), detectors.OrderCancel, size, 0
			delete(c.lobster.orders, key)
			emitOrder()
		case 4, 5:
			if typ == 5 && id == 0 {
				// A hidden order is never announced: only its execution is known.
				trade("", 0)
				break
			}
			ord.Account, ord.Event, ord.Qty = account(), detectors.OrderFill, size
			if o != nil {
				o.leaves = max(o.leaves-size, 0)
				ord.LeavesQty = o.leaves
				if o.leaves == 0 {
					delete(c.lobster.orders, key)
				}
			}
			emitOrder()
			trade(ord.Account, id)
		case 6:
			trade("", 0)
		case 7:
			c.file.Skipped++
			continue
		default:
			return errAtf(in.name, line, "type", "unknown LOBSTER event type %d (want 1 to 7)", typ)
		}
		c.file.Rows++
	}
	c.file.TimeUnit = "s"
	return nil
}

// lobsterSeconds parses seconds after midnight with up to 9 decimals into µs exactly, without
// floating point (34200.000376608 is 34200000376 µs).
func lobsterSeconds(s string) (detectors.Micros, error) {
	s = strings.TrimSpace(s)
	intPart, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || sec < 0 || sec > 2*86400 {
		return 0, &strconvError{s}
	}
	us := int64(0)
	if frac != "" {
		if len(frac) > 9 {
			return 0, &strconvError{s}
		}
		for i := 0; i < 6; i++ {
			d := byte('0')
			if i < len(frac) {
				d = frac[i]
			}
			if d < '0' || d > '9' {
				return 0, &strconvError{s}
			}
			us = us*10 + int64(d-'0')
		}
		for i := 6; i < len(frac); i++ {
			if frac[i] < '0' || frac[i] > '9' {
				return 0, &strconvError{s}
			}
		}
	}
	return sec*1_000_000 + us, nil
}

type strconvError struct{ s string }

func (e *strconvError) Error() string {
	return "time " + strconv.Quote(e.s) + " is not seconds after midnight (up to 9 decimals)"
}
