package importers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

func init() {
	registerFormat(&Format{
		Name:    "ws-capture",
		Summary: "raw WebSocket captures recorded by cryptofeed (Binance futures, BitMEX, Bybit, Deribit) → trades, marks, orders",
		Doc: "cryptofeed raw capture (`<url> <-> <ts>` connect line, `<url> <- <ts>: <json>` requests sent, " +
			"`<ts>: <json>` messages received, ts in Unix seconds): the venue's native messages mapped by shape. " +
			"Trades (Binance aggTrade, BitMEX trade, Bybit trade, Deribit trades.*) at the exchange's trade time; " +
			"marks (Deribit ticker, Binance markPriceUpdate); book data (Binance depthUpdate, BitMEX orderBookL2, " +
			"Bybit orderBookL2_25, Deribit book.*) → level orders of `book:<exchange>` as the tardis format. " +
			"Messages without fds content (acks, heartbeats, bookTicker, kline, quote) and trades the venue " +
			"replays from before the connection are skipped and counted.",
		Tables: []string{datasets.TableTrades, datasets.TableMarks, datasets.TableOrders},
		parse:  parseWSCapture,
	})
}

// wsState is the part of a WebSocket-capture import kept across its files.
type wsState struct {
	// bitmexIDs maps a BitMEX orderBookL2 level id to its level, per book (BitMEX's update
	// and delete name a level by id only; partial and insert give its price).
	bitmexIDs map[*bookState]map[int64]bookKey
	// lastTS is the time of a book's latest level order: book times never go back, so the
	// import's sort by time cannot reorder one book's events (a cancel before its new).
	lastTS map[*bookState]detectors.Micros
	// skipped counts what was skipped, by reason (see wsSkip*), over every file.
	skipped map[string]int64
}

// Reasons to skip, the keys of wsState.skipped.
const (
	wsSkipNoContent      = "no fds content"       // acks, heartbeats, info, unknown channels
	wsSkipBeforeConnect  = "trade before connect" // trades stamped before the connection opened
	wsSkipSnapshotTrade  = "BitMEX partial trade" // trades of a BitMEX trade partial (history)
	wsSkipUnknownLevelID = "BitMEX unknown level id"
)

// wsVenue names the venue of a message shape; the exchange name is that of Tardis.
const (
	venueBinance = "binance"
	venueBitmex  = "bitmex"
	venueBybit   = "bybit"
	venueDeribit = "deribit"
)

// wsFile is the state of one capture file.
type wsFile struct {
	c  *parseCtx
	st *wsState
	in *input
	// line is the 1-based line number; recv the receive time of the current message.
	line int
	recv detectors.Micros
	// connect is the time of the latest connect line (0: none seen); trades stamped before it
	// are the venue's replay of history at subscription.
	connect detectors.Micros
	// exchange names the venue in book accounts (book:<exchange>), from the connect URL,
	// else the file name, else the message shape.
	exchange string
	fromName string
	symCache map[string]string
	recvTS   *tsColumn
}

func parseWSCapture(c *parseCtx, in *input) error {
	if c.ws == nil {
		c.ws = &wsState{bitmexIDs: map[*bookState]map[int64]bookKey{}, lastTS: map[*bookState]detectors.Micros{},
			skipped: map[string]int64{}}
	}
	f := &wsFile{c: c, st: c.ws, in: in, symCache: map[string]string{}, fromName: exchangeFromCaptureName(in.base),
		recvTS: &tsColumn{unit: UnitSeconds}}
	br := bufio.NewReaderSize(in.r, 1<<16)
	for {
		text, err := br.ReadBytes('\n')
		if len(text) > 0 {
			f.line++
			if perr := f.parseLine(text); perr != nil {
				return perr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return errAt(in.name, f.line+1, "", err)
		}
	}
	if f.line == 0 {
		return errAtf(in.name, 1, "", "empty file")
	}
	c.file.Kind = "ws-capture"
	if f.exchange != "" {
		c.file.Kind = "ws-capture " + f.exchange
	}
	return nil
}

// exchangeFromCaptureName reads the venue from cryptofeed's file name (BINANCE_FUTURES.ws.1.0).
func exchangeFromCaptureName(base string) string {
	name, _, ok := strings.Cut(base, ".ws.")
	if !ok || name == "" {
		return ""
	}
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

// exchangeFromURL names the venue of a WebSocket URL by its host, as Tardis names exchanges.
func exchangeFromURL(url string) string {
	u := strings.ToLower(url)
	switch {
	case strings.Contains(u, "fstream.binance") || strings.Contains(u, "fstream-auth.binance"):
		return "binance-futures"
	case strings.Contains(u, "dstream.binance"):
		return "binance-delivery"
	case strings.Contains(u, "binance"):
		return "binance"
	case strings.Contains(u, "bitmex"):
		return "bitmex"
	case strings.Contains(u, "bybit"):
		return "bybit"
	case strings.Contains(u, "deribit"):
		return "deribit"
	}
	return ""
}

func (f *wsFile) parseLine(text []byte) error {
	text = bytes.TrimRight(text, "\r\n")
	if len(bytes.TrimSpace(text)) == 0 {
		return nil // cryptofeed ends its captures with blank lines
	}
	// A connect line: "<url> <-> <unix_ts>".
	if url, ts, ok := bytes.Cut(text, []byte(" <-> ")); ok && !bytes.Contains(url, []byte(": ")) {
		at, err := f.recvTS.parse(string(ts))
		if err != nil {
			return errAt(f.in.name, f.line, "connect time", err)
		}
		f.connect = at
		if ex := exchangeFromURL(string(url)); ex != "" && f.exchange == "" {
			f.exchange = ex
		}
		return nil
	}
	head, payload, ok := bytes.Cut(text, []byte(": "))
	if !ok {
		return errAtf(f.in.name, f.line, "", "not a capture line (want `<unix_ts>: <json>`)")
	}
	if _, _, sent := bytes.Cut(head, []byte(" <- ")); sent {
		return nil // a request the recorder sent (subscribe), not market data
	}
	at, err := f.recvTS.parse(string(head))
	if err != nil {
		return errAt(f.in.name, f.line, "receive time", err)
	}
	f.recv = at
	var msg map[string]json.RawMessage
	if err := json.Unmarshal(payload, &msg); err != nil {
		return errAt(f.in.name, f.line, "", fmt.Errorf("bad JSON: %w", err))
	}
	if msg == nil {
		return errAtf(f.in.name, f.line, "", "JSON message is not an object")
	}
	var mapped bool
	switch {
	case hasKey(msg, "stream") && hasKey(msg, "data"):
		mapped, err = f.binance(msg["data"], "data.")
	case hasKey(msg, "e"):
		mapped, err = f.binance(payload, "")
	case hasKey(msg, "table"):
		mapped, err = f.bitmex(msg)
	case hasKey(msg, "topic"):
		mapped, err = f.bybit(msg)
	case hasKey(msg, "jsonrpc") || hasKey(msg, "method"):
		mapped, err = f.deribit(msg)
	}
	if err != nil {
		return err
	}
	if mapped {
		f.c.file.Rows++
	} else {
		f.skip(wsSkipNoContent)
	}
	return nil
}

func (f *wsFile) skip(reason string) {
	f.st.skipped[reason]++
	f.c.file.Skipped++
}

func (f *wsFile) venue(v string) string {
	if f.exchange == "" {
		f.exchange = f.fromName
	}
	if f.exchange == "" {
		f.exchange = v
	}
	return f.exchange
}

// errField is the error of a JSON field: the field's path is the column.
func (f *wsFile) errField(field string, err error) error { return errAt(f.in.name, f.line, field, err) }

func (f *wsFile) symbol(raw json.RawMessage, field string) (string, error) {
	s, err := jsonString(raw)
	if err != nil {
		return "", f.errField(field, err)
	}
	sym, ok := f.symCache[s]
	if !ok {
		if sym, err = f.c.symbols.Canonical(s); err != nil {
			return "", f.errField(field, err)
		}
		f.symCache[s] = sym
	}
	return sym, nil
}

// num reads a JSON number, or a string holding one (venues quote decimals), as a finite
// non-negative float.
func (f *wsFile) num(raw json.RawMessage, field string) (float64, error) {
	s, err := jsonScalar(raw)
	if err != nil {
		return 0, f.errField(field, err)
	}
	v, err := parseNonNeg(s)
	if err != nil {
		return 0, f.errField(field, err)
	}
	return v, nil
}

func (f *wsFile) signed(raw json.RawMessage, field string) (float64, error) {
	s, err := jsonScalar(raw)
	if err != nil {
		return 0, f.errField(field, err)
	}
	v, err := parseFinite(s)
	if err != nil {
		return 0, f.errField(field, err)
	}
	return v, nil
}

// epoch reads an integer epoch time (a number or a string) in the given unit.
func (f *wsFile) epoch(raw json.RawMessage, field string, unit TimeUnit) (detectors.Micros, error) {
	s, err := jsonScalar(raw)
	if err != nil {
		return 0, f.errField(field, err)
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, f.errField(field, fmt.Errorf("%q is not an integer epoch time", s))
	}
	at, err := intToMicros(i, unit)
	if err == nil {
		err = plausibleTS(at, s)
	}
	if err != nil {
		return 0, f.errField(field, err)
	}
	return at, nil
}

// isoTime reads an ISO 8601 UTC time (BitMEX, Bybit: 2021-07-22T22:36:10.014Z).
func (f *wsFile) isoTime(raw json.RawMessage, field string) (detectors.Micros, error) {
	s, err := jsonString(raw)
	if err != nil {
		return 0, f.errField(field, err)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, f.errField(field, fmt.Errorf("%q is not an ISO 8601 time", s))
	}
	at := t.UnixMicro()
	if err := plausibleTS(at, s); err != nil {
		return 0, f.errField(field, err)
	}
	return at, nil
}

func (f *wsFile) side(raw json.RawMessage, field string) (detectors.Side, error) {
	s, err := jsonString(raw)
	if err != nil {
		return 0, f.errField(field, err)
	}
	side, err := ParseSide(s)
	if err != nil {
		return 0, f.errField(field, err)
	}
	return side, nil
}

// tradeID keeps an integer id; any other id (BitMEX trdMatchID and Bybit trade_id are UUIDs)
// becomes the FNV-1a 64-bit hash of its text with the sign bit cleared, 0 mapped to 1: stable
// across runs and imports, unique in practice (collisions at 2^-63 per pair).
func (f *wsFile) tradeID(raw json.RawMessage, field string) (int64, error) {
	s, err := jsonScalar(raw)
	if err != nil {
		return 0, f.errField(field, err)
	}
	if s == "" {
		return 0, f.errField(field, errors.New("empty trade id"))
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return n, nil
	}
	return hashTradeID(s), nil
}

func hashTradeID(s string) int64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	id := int64(h.Sum64() & math.MaxInt64)
	if id == 0 {
		id = 1
	}
	return id
}

// trade keeps a trade unless it is stamped before the connection opened (the venue's replay of
// its last trades at subscription: the capture did not observe that time).
func (f *wsFile) trade(at detectors.Micros, symbol string, t detectors.Trade) {
	if f.connect != 0 && at < f.connect {
		f.skip(wsSkipBeforeConnect)
		return
	}
	f.c.out.trades = append(f.c.out.trades, row[detectors.Trade]{TS: at, Symbol: symbol, V: t})
}

func (f *wsFile) mark(at detectors.Micros, symbol string, m detectors.Mark) {
	f.c.out.marks = append(f.c.out.marks, row[detectors.Mark]{TS: at, Symbol: symbol, V: m})
}

// bookAt returns the book of symbol and the time its next events get: at, or the book's latest
// event time when at is earlier (venues stamp book messages by their own clocks; never going
// back keeps one book's events in message order after the import's sort by time).
func (f *wsFile) bookAt(exchange, symbol string, at detectors.Micros) (*bookState, detectors.Micros) {
	b := f.c.book(exchange, symbol)
	if last, ok := f.st.lastTS[b]; ok && at < last {
		at = last
	}
	f.st.lastTS[b] = at
	return b, at
}

// ---------------------------------------------------------------------------------------------
// Binance (USD-M futures; spot combined streams have the same shapes)

// binance maps one Binance event. Keys are matched exactly (a map, not a struct): Binance uses
// keys differing only in case ("e"/"E", "p"/"P", "t"/"T") that Go's case-insensitive struct
// matching would confuse.
func (f *wsFile) binance(data json.RawMessage, prefix string) (bool, error) {
	var d map[string]json.RawMessage
	if err := json.Unmarshal(data, &d); err != nil || d == nil {
		return false, f.errField(strings.TrimSuffix(prefix, "."), errors.New("not a JSON object"))
	}
	ev, err := jsonString(d["e"])
	if err != nil {
		return false, f.errField(prefix+"e", err)
	}
	ex := f.venue(venueBinance)
	switch ev {
	case "aggTrade", "trade":
		sym, err := f.symbol(d["s"], prefix+"s")
		if err != nil {
			return false, err
		}
		at, err := f.epoch(d["T"], prefix+"T", UnitMillis)
		if err != nil {
			return false, err
		}
		var t detectors.Trade
		if t.Price, err = f.num(d["p"], prefix+"p"); err != nil {
			return false, err
		}
		if t.Qty, err = f.num(d["q"], prefix+"q"); err != nil {
			return false, err
		}
		m, err := jsonScalar(d["m"])
		if err == nil {
			t.TakerSide, err = TakerSideFromBuyerMaker(m)
		}
		if err != nil {
			return false, f.errField(prefix+"m", err)
		}
		idKey := "a"
		if ev == "trade" {
			idKey = "t"
		}
		if t.TradeID, err = f.tradeID(d[idKey], prefix+idKey); err != nil {
			return false, err
		}
		f.trade(at, sym, t)
		return true, nil
	case "markPriceUpdate":
		sym, err := f.symbol(d["s"], prefix+"s")
		if err != nil {
			return false, err
		}
		at, err := f.epoch(d["E"], prefix+"E", UnitMillis)
		if err != nil {
			return false, err
		}
		var m detectors.Mark
		if m.MarkPrice, err = f.num(d["p"], prefix+"p"); err != nil {
			return false, err
		}
		if m.IndexPrice, err = f.num(d["i"], prefix+"i"); err != nil {
			return false, err
		}
		if r, ok := d["r"]; ok && !isNullOrEmpty(r) {
			if m.FundingRate, err = f.signed(r, prefix+"r"); err != nil {
				return false, err
			}
			m.HasFunding = true
		}
		if m.MarkPrice == 0 {
			return false, nil
		}
		if m.IndexPrice == 0 {
			m.IndexPrice = m.MarkPrice
		}
		f.mark(at, sym, m)
		return true, nil
	case "depthUpdate":
		sym, err := f.symbol(d["s"], prefix+"s")
		if err != nil {
			return false, err
		}
		// T is the matching engine's time; E (the event's send time) when T is absent.
		key := "T"
		if _, ok := d["T"]; !ok {
			key = "E"
		}
		at, err := f.epoch(d[key], prefix+key, UnitMillis)
		if err != nil {
			return false, err
		}
		b, at := f.bookAt(ex, sym, at)
		for _, s := range []struct {
			key  string
			side detectors.Side
		}{{"b", detectors.Buy}, {"a", detectors.Sell}} {
			var levels [][]json.RawMessage
			if err := json.Unmarshal(d[s.key], &levels); err != nil && len(d[s.key]) > 0 {
				return false, f.errField(prefix+s.key, errors.New("not a list of [price, qty]"))
			}
			for i, lv := range levels {
				col := fmt.Sprintf("%s%s[%d]", prefix, s.key, i)
				if len(lv) < 2 {
					return false, f.errField(col, errors.New("want [price, qty]"))
				}
				p, err := f.num(lv[0], col+".price")
				if err != nil {
					return false, err
				}
				q, err := f.num(lv[1], col+".qty")
				if err != nil {
					return false, err
				}
				f.c.levelOrder(b, at, bookKey{side: s.side, price: p}, q)
			}
		}
		return true, nil
	}
	// bookTicker, kline, forceOrder and anything else carry nothing fds maps (yet).
	return false, nil
}

// ---------------------------------------------------------------------------------------------
// BitMEX

type bitmexRow struct {
	Symbol     json.RawMessage `json:"symbol"`
	ID         json.RawMessage `json:"id"`
	Side       json.RawMessage `json:"side"`
	Size       json.RawMessage `json:"size"`
	Price      json.RawMessage `json:"price"`
	Timestamp  json.RawMessage `json:"timestamp"`
	TrdMatchID json.RawMessage `json:"trdMatchID"`
}

func (f *wsFile) bitmex(msg map[string]json.RawMessage) (bool, error) {
	table, err := jsonString(msg["table"])
	if err != nil {
		return false, f.errField("table", err)
	}
	action, _ := jsonString(msg["action"])
	if table != "trade" && table != "orderBookL2" && table != "orderBookL2_25" {
		return false, nil // quote, instrument, funding, ...: nothing fds maps
	}
	var rows []bitmexRow
	if err := json.Unmarshal(msg["data"], &rows); err != nil {
		return false, f.errField("data", errors.New("not a list of rows"))
	}
	ex := f.venue(venueBitmex)
	if table == "trade" {
		return f.bitmexTrades(action, rows)
	}
	switch action {
	case "partial":
		return true, f.bitmexPartial(ex, msg, rows)
	case "insert", "update", "delete":
		for i, r := range rows {
			col := fmt.Sprintf("data[%d].", i)
			sym, err := f.symbol(r.Symbol, col+"symbol")
			if err != nil {
				return false, err
			}
			id, err := f.levelID(r.ID, col+"id")
			if err != nil {
				return false, err
			}
			// orderBookL2 messages carry no time: the receive time stands in.
			b, at := f.bookAt(ex, sym, f.recv)
			ids := f.st.bitmexIDs[b]
			if ids == nil {
				ids = map[int64]bookKey{}
				f.st.bitmexIDs[b] = ids
			}
			if action == "insert" {
				k, qty, err := f.bitmexLevel(r, col)
				if err != nil {
					return false, err
				}
				ids[id] = k
				f.c.levelOrder(b, at, k, qty)
				continue
			}
			k, ok := ids[id]
			if !ok {
				// A level the capture never saw inserted (an update racing the partial).
				f.skip(wsSkipUnknownLevelID)
				continue
			}
			qty := 0.0
			if action == "update" {
				if qty, err = f.num(r.Size, col+"size"); err != nil {
					return false, err
				}
			} else {
				delete(ids, id)
			}
			f.c.levelOrder(b, at, k, qty)
		}
		return true, nil
	}
	return false, nil
}

func (f *wsFile) levelID(raw json.RawMessage, field string) (int64, error) {
	s, err := jsonScalar(raw)
	if err != nil {
		return 0, f.errField(field, err)
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, f.errField(field, fmt.Errorf("%q is not an integer id", s))
	}
	return id, nil
}

func (f *wsFile) bitmexLevel(r bitmexRow, col string) (bookKey, float64, error) {
	side, err := f.side(r.Side, col+"side")
	if err != nil {
		return bookKey{}, 0, err
	}
	p, err := f.num(r.Price, col+"price")
	if err != nil {
		return bookKey{}, 0, err
	}
	q, err := f.num(r.Size, col+"size")
	if err != nil {
		return bookKey{}, 0, err
	}
	return bookKey{side: side, price: p}, q, nil
}

// bitmexPartial replaces the books of the symbols it covers (its filter's symbol even when
// empty) by its levels.
func (f *wsFile) bitmexPartial(ex string, msg map[string]json.RawMessage, rows []bitmexRow) error {
	type snap struct {
		keys []bookKey
		qtys []float64
		ids  map[int64]bookKey
	}
	var order []string
	snaps := map[string]*snap{}
	get := func(sym string) *snap {
		s := snaps[sym]
		if s == nil {
			s = &snap{ids: map[int64]bookKey{}}
			snaps[sym] = s
			order = append(order, sym)
		}
		return s
	}
	var filter struct {
		Symbol json.RawMessage `json:"symbol"`
	}
	if raw, ok := msg["filter"]; ok && json.Unmarshal(raw, &filter) == nil && len(filter.Symbol) > 0 {
		sym, err := f.symbol(filter.Symbol, "filter.symbol")
		if err != nil {
			return err
		}
		get(sym)
	}
	for i, r := range rows {
		col := fmt.Sprintf("data[%d].", i)
		sym, err := f.symbol(r.Symbol, col+"symbol")
		if err != nil {
			return err
		}
		id, err := f.levelID(r.ID, col+"id")
		if err != nil {
			return err
		}
		k, q, err := f.bitmexLevel(r, col)
		if err != nil {
			return err
		}
		s := get(sym)
		s.keys, s.qtys, s.ids[id] = append(s.keys, k), append(s.qtys, q), k
	}
	for _, sym := range order {
		s := snaps[sym]
		b, at := f.bookAt(ex, sym, f.recv)
		f.st.bitmexIDs[b] = s.ids
		f.c.replaceBook(b, at, s.keys, s.qtys)
	}
	return nil
}

// bitmexTrades maps a trade insert. A partial holds the last trade(s) before the subscription
// (history, up to hours old): skipped and counted.
func (f *wsFile) bitmexTrades(action string, rows []bitmexRow) (bool, error) {
	if action == "partial" {
		for range rows {
			f.skip(wsSkipSnapshotTrade)
		}
		return true, nil
	}
	if action != "insert" {
		return false, nil
	}
	for i, r := range rows {
		col := fmt.Sprintf("data[%d].", i)
		sym, err := f.symbol(r.Symbol, col+"symbol")
		if err != nil {
			return false, err
		}
		at, err := f.isoTime(r.Timestamp, col+"timestamp")
		if err != nil {
			return false, err
		}
		// size is in contracts (XBTUSD: USD 1 each), kept as the quantity.
		t, err := f.parseTrade(rawField{r.Side, col + "side"}, rawField{r.Price, col + "price"},
			rawField{r.Size, col + "size"}, rawField{r.TrdMatchID, col + "trdMatchID"})
		if err != nil {
			return false, err
		}
		f.trade(at, sym, t)
	}
	return true, nil
}

// ---------------------------------------------------------------------------------------------
// Bybit (v1/v2 public topics: trade.*, orderBookL2_25.*, orderBook_200.*)

type bybitRow struct {
	Symbol      json.RawMessage `json:"symbol"`
	Side        json.RawMessage `json:"side"`
	Size        json.RawMessage `json:"size"`
	Price       json.RawMessage `json:"price"`
	TradeTimeMs json.RawMessage `json:"trade_time_ms"`
	Timestamp   json.RawMessage `json:"timestamp"`
	TradeID     json.RawMessage `json:"trade_id"`
}

func (f *wsFile) bybit(msg map[string]json.RawMessage) (bool, error) {
	topic, err := jsonString(msg["topic"])
	if err != nil {
		return false, f.errField("topic", err)
	}
	kind, _, _ := strings.Cut(topic, ".")
	ex := f.venue(venueBybit)
	switch {
	case kind == "trade":
		var rows []bybitRow
		if err := json.Unmarshal(msg["data"], &rows); err != nil {
			return false, f.errField("data", errors.New("not a list of trades"))
		}
		for i, r := range rows {
			col := fmt.Sprintf("data[%d].", i)
			sym, err := f.symbol(r.Symbol, col+"symbol")
			if err != nil {
				return false, err
			}
			// trade_time_ms is the trade's time in ms; timestamp (ISO, whole seconds in
			// USDT perpetuals) when it is absent.
			var at detectors.Micros
			if !isNullOrEmpty(r.TradeTimeMs) {
				at, err = f.epoch(r.TradeTimeMs, col+"trade_time_ms", UnitMillis)
			} else {
				at, err = f.isoTime(r.Timestamp, col+"timestamp")
			}
			if err != nil {
				return false, err
			}
			t, err := f.parseTrade(rawField{r.Side, col + "side"}, rawField{r.Price, col + "price"},
				rawField{r.Size, col + "size"}, rawField{r.TradeID, col + "trade_id"})
			if err != nil {
				return false, err
			}
			f.trade(at, sym, t)
		}
		return true, nil
	case strings.HasPrefix(kind, "orderBook"):
		return true, f.bybitBook(ex, msg)
	}
	return false, nil // instrument_info, klineV2, liquidation, ...
}

func (f *wsFile) bybitBook(ex string, msg map[string]json.RawMessage) error {
	typ, err := jsonString(msg["type"])
	if err != nil {
		return f.errField("type", err)
	}
	// timestamp_e6 is the exchange's time in µs; the receive time when it is absent.
	at := f.recv
	if raw, ok := msg["timestamp_e6"]; ok && !isNullOrEmpty(raw) {
		if at, err = f.epoch(raw, "timestamp_e6", UnitMicros); err != nil {
			return err
		}
	}
	level := func(r bybitRow, col string, removed bool) (string, bookKey, float64, error) {
		sym, err := f.symbol(r.Symbol, col+"symbol")
		if err != nil {
			return "", bookKey{}, 0, err
		}
		side, err := f.side(r.Side, col+"side")
		if err != nil {
			return "", bookKey{}, 0, err
		}
		p, err := f.num(r.Price, col+"price")
		if err != nil {
			return "", bookKey{}, 0, err
		}
		q := 0.0
		if !removed {
			if q, err = f.num(r.Size, col+"size"); err != nil {
				return "", bookKey{}, 0, err
			}
		}
		return sym, bookKey{side: side, price: p}, q, nil
	}
	switch typ {
	case "snapshot":
		// USDT perpetuals nest the levels in data.order_book; inverse contracts send the list.
		var rows []bybitRow
		field := "data"
		if err := json.Unmarshal(msg["data"], &rows); err != nil {
			var nested struct {
				OrderBook []bybitRow `json:"order_book"`
			}
			if err := json.Unmarshal(msg["data"], &nested); err != nil {
				return f.errField("data", errors.New("not a book snapshot"))
			}
			rows, field = nested.OrderBook, "data.order_book"
		}
		var order []string
		keys := map[string][]bookKey{}
		qtys := map[string][]float64{}
		for i, r := range rows {
			sym, k, q, err := level(r, fmt.Sprintf("%s[%d].", field, i), false)
			if err != nil {
				return err
			}
			if _, ok := keys[sym]; !ok {
				order = append(order, sym)
			}
			keys[sym], qtys[sym] = append(keys[sym], k), append(qtys[sym], q)
		}
		for _, sym := range order {
			b, at := f.bookAt(ex, sym, at)
			f.c.replaceBook(b, at, keys[sym], qtys[sym])
		}
		return nil
	case "delta":
		var d map[string][]bybitRow
		if err := json.Unmarshal(msg["data"], &d); err != nil {
			return f.errField("data", errors.New("not a book delta (delete, update, insert lists)"))
		}
		// Bybit's order: deletes, then updates, then inserts.
		for _, part := range []string{"delete", "update", "insert"} {
			for i, r := range d[part] {
				sym, k, q, err := level(r, fmt.Sprintf("data.%s[%d].", part, i), part == "delete")
				if err != nil {
					return err
				}
				b, at := f.bookAt(ex, sym, at)
				f.c.levelOrder(b, at, k, q)
			}
		}
		return nil
	}
	return f.errField("type", fmt.Errorf("unknown book message type %q (want snapshot or delta)", typ))
}

// ---------------------------------------------------------------------------------------------
// Deribit (JSON-RPC subscriptions: book.*, ticker.*, trades.*)

func (f *wsFile) deribit(msg map[string]json.RawMessage) (bool, error) {
	var params struct {
		Channel json.RawMessage `json:"channel"`
		Data    json.RawMessage `json:"data"`
	}
	if m, _ := jsonString(msg["method"]); m != "subscription" {
		return false, nil // subscription results, heartbeats, test requests
	}
	if err := json.Unmarshal(msg["params"], &params); err != nil {
		return false, f.errField("params", errors.New("not an object"))
	}
	channel, err := jsonString(params.Channel)
	if err != nil {
		return false, f.errField("params.channel", err)
	}
	kind, _, _ := strings.Cut(channel, ".")
	ex := f.venue(venueDeribit)
	switch kind {
	case "trades":
		return true, f.deribitTrades(params.Data)
	case "ticker":
		return true, f.deribitTicker(params.Data)
	case "book":
		return true, f.deribitBook(ex, params.Data)
	}
	return false, nil // quote, deribit_price_index, markprice.options, ...
}

func (f *wsFile) deribitTrades(data json.RawMessage) error {
	var rows []struct {
		Instrument json.RawMessage `json:"instrument_name"`
		Timestamp  json.RawMessage `json:"timestamp"`
		Price      json.RawMessage `json:"price"`
		Amount     json.RawMessage `json:"amount"`
		Direction  json.RawMessage `json:"direction"`
		TradeID    json.RawMessage `json:"trade_id"`
	}
	if err := json.Unmarshal(data, &rows); err != nil {
		return f.errField("params.data", errors.New("not a list of trades"))
	}
	for i, r := range rows {
		col := fmt.Sprintf("params.data[%d].", i)
		sym, err := f.symbol(r.Instrument, col+"instrument_name")
		if err != nil {
			return err
		}
		at, err := f.epoch(r.Timestamp, col+"timestamp", UnitMillis)
		if err != nil {
			return err
		}
		// direction is the taker's side.
		t, err := f.parseTrade(rawField{r.Direction, col + "direction"}, rawField{r.Price, col + "price"},
			rawField{r.Amount, col + "amount"}, rawField{r.TradeID, col + "trade_id"})
		if err != nil {
			return err
		}
		f.trade(at, sym, t)
	}
	return nil
}

// rawField is one field of a venue's message and its path, for errors.
type rawField struct {
	raw  json.RawMessage
	path string
}

// parseTrade reads a trade's taker side, price, quantity and id, in that order, an error naming
// the first field that fails.
func (f *wsFile) parseTrade(side, price, qty, id rawField) (detectors.Trade, error) {
	var t detectors.Trade
	var err error
	if t.TakerSide, err = f.side(side.raw, side.path); err != nil {
		return t, err
	}
	if t.Price, err = f.num(price.raw, price.path); err != nil {
		return t, err
	}
	if t.Qty, err = f.num(qty.raw, qty.path); err != nil {
		return t, err
	}
	t.TradeID, err = f.tradeID(id.raw, id.path)
	return t, err
}

// isDeribitOption tells an option instrument (BTC-30JUL21-40000-C): four parts, the last C or P.
func isDeribitOption(instrument string) bool {
	parts := strings.Split(instrument, "-")
	return len(parts) == 4 && (parts[3] == "C" || parts[3] == "P")
}

// deribitTicker maps a ticker to a mark. An option's mark_price is its premium in the
// underlying coin while index_price is the underlying in USD: the mark stands in for the index
// so that no mark/index gap of mixed units reaches a detector. Greeks, IVs and best quotes are
// not kept.
func (f *wsFile) deribitTicker(data json.RawMessage) error {
	var d struct {
		Instrument   json.RawMessage `json:"instrument_name"`
		Timestamp    json.RawMessage `json:"timestamp"`
		MarkPrice    json.RawMessage `json:"mark_price"`
		IndexPrice   json.RawMessage `json:"index_price"`
		OpenInterest json.RawMessage `json:"open_interest"`
		Funding8h    json.RawMessage `json:"funding_8h"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return f.errField("params.data", errors.New("not an object"))
	}
	const col = "params.data."
	sym, err := f.symbol(d.Instrument, col+"instrument_name")
	if err != nil {
		return err
	}
	at, err := f.epoch(d.Timestamp, col+"timestamp", UnitMillis)
	if err != nil {
		return err
	}
	var m detectors.Mark
	if m.MarkPrice, err = f.num(d.MarkPrice, col+"mark_price"); err != nil {
		return err
	}
	if !isNullOrEmpty(d.IndexPrice) {
		if m.IndexPrice, err = f.num(d.IndexPrice, col+"index_price"); err != nil {
			return err
		}
	}
	if !isNullOrEmpty(d.OpenInterest) {
		if m.OpenInterest, err = f.num(d.OpenInterest, col+"open_interest"); err != nil {
			return err
		}
		m.HasOpenInterest = true
	}
	if !isNullOrEmpty(d.Funding8h) {
		if m.FundingRate, err = f.signed(d.Funding8h, col+"funding_8h"); err != nil {
			return err
		}
		m.HasFunding = true
	}
	if m.MarkPrice == 0 {
		f.skip(wsSkipNoContent)
		return nil
	}
	if m.IndexPrice == 0 || isDeribitOption(sym) {
		m.IndexPrice = m.MarkPrice
	}
	f.mark(at, sym, m)
	return nil
}

// deribitBook applies a book snapshot or change. Levels are [action, price, amount] (raw and
// 100ms books; action new, change or delete) or [price, amount] (grouped books).
func (f *wsFile) deribitBook(ex string, data json.RawMessage) error {
	var d struct {
		Type       json.RawMessage     `json:"type"`
		Instrument json.RawMessage     `json:"instrument_name"`
		Timestamp  json.RawMessage     `json:"timestamp"`
		Bids       [][]json.RawMessage `json:"bids"`
		Asks       [][]json.RawMessage `json:"asks"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return f.errField("params.data", errors.New("not a book message (bids and asks lists)"))
	}
	const col = "params.data."
	sym, err := f.symbol(d.Instrument, col+"instrument_name")
	if err != nil {
		return err
	}
	at, err := f.epoch(d.Timestamp, col+"timestamp", UnitMillis)
	if err != nil {
		return err
	}
	typ, _ := jsonString(d.Type)
	var keys []bookKey
	var qtys []float64
	for _, s := range []struct {
		name   string
		side   detectors.Side
		levels [][]json.RawMessage
	}{{"bids", detectors.Buy, d.Bids}, {"asks", detectors.Sell, d.Asks}} {
		for i, lv := range s.levels {
			c := fmt.Sprintf("%s%s[%d]", col, s.name, i)
			action := "new"
			if len(lv) == 3 {
				if action, err = jsonString(lv[0]); err != nil {
					return f.errField(c+".action", err)
				}
				lv = lv[1:]
			}
			if len(lv) != 2 {
				return f.errField(c, errors.New("want [action, price, amount] or [price, amount]"))
			}
			p, err := f.num(lv[0], c+".price")
			if err != nil {
				return err
			}
			q, err := f.num(lv[1], c+".amount")
			if err != nil {
				return err
			}
			switch action {
			case "new", "change":
			case "delete":
				q = 0
			default:
				return f.errField(c+".action", fmt.Errorf("unknown action %q (want new, change or delete)", action))
			}
			keys, qtys = append(keys, bookKey{side: s.side, price: p}), append(qtys, q)
		}
	}
	b, at := f.bookAt(ex, sym, at)
	if typ == "snapshot" {
		f.c.replaceBook(b, at, keys, qtys)
		return nil
	}
	for i, k := range keys {
		f.c.levelOrder(b, at, k, qtys[i])
	}
	return nil
}

// ---------------------------------------------------------------------------------------------
// JSON scalars

func hasKey(m map[string]json.RawMessage, k string) bool { _, ok := m[k]; return ok }

func isNullOrEmpty(raw json.RawMessage) bool {
	s := bytes.TrimSpace(raw)
	return len(s) == 0 || string(s) == "null" || string(s) == `""`
}

// jsonString reads a JSON string.
func jsonString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 {
		return "", errors.New("missing")
	}
	// Fast path: a plain string without escapes (every symbol, side and decimal of the venues)
	// needs no decoder.
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && bytes.IndexByte(raw[1:n-1], '\\') < 0 && bytes.IndexByte(raw[1:n-1], '"') < 0 && utf8.Valid(raw[1:n-1]) && !hasControl(raw[1:n-1]) {
		return string(raw[1 : n-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s is not a string", clip(raw))
	}
	return s, nil
}

func hasControl(b []byte) bool {
	for _, c := range b {
		if c < ' ' {
			return true
		}
	}
	return false
}

// jsonScalar reads a JSON number, string or boolean as its text.
func jsonScalar(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", errors.New("missing")
	}
	switch raw[0] {
	case '"':
		return jsonString(raw)
	case '{', '[', 'n':
		return "", fmt.Errorf("%s is not a number or string", clip(raw))
	}
	return string(raw), nil
}

// clip shortens a JSON value quoted in an error.
func clip(raw json.RawMessage) string {
	s := string(raw)
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}
