package stream

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/fds-dev/fds/detectors"
)

// WireVersion is the version byte every event message starts with. A consumer rejects (dead
// letters) any other version rather than guess at its layout.
const WireVersion = 1

// AlertVersion is the "v" field of every alert message.
const AlertVersion = 1

// recordEndOfStream is the record type of the end-of-stream marker `fds replay` writes to every
// partition after the last event; the event kinds use their detectors.Kind value.
const recordEndOfStream = 0xE0

// MaxStringBytes bounds every string field of an event message (symbols and account ids are
// short; a longer one is a malformed message, not a reason to allocate).
const MaxStringBytes = 1 << 10

// Message is one decoded event message: an event, or the end-of-stream marker of its partition.
type Message struct {
	// EndOfStream marks the marker; Event is then unset apart from TS (the last event time the
	// publisher sent) and Row holds the number of events it published.
	EndOfStream bool
	// Row is the event's position in its source table (0, 1, 2, ...): the tie-breaker that gives
	// events of equal ts and kind the order a backtest gives them. Upstream producers without a
	// table order write 0, and ties then fall back to partition and offset.
	Row   int64
	Event detectors.Event
}

// AppendEvent appends the v1 encoding of ev (with its table row) to buf and returns it.
//
// Layout, little-endian: version u8 (1) | kind u8 | ts i64 | row uvarint | symbol str |
// kind fields, where str is uvarint length + UTF-8 bytes, ids are zigzag varints, prices and
// quantities are IEEE-754 float64 bits (exact, so scores computed from them match a backtest's
// to the bit), sides are i8 (+1 buy, -1 sell) and enums u8 in detectors' numbering:
//
//	order:        account str | order_id varint | event u8 | side i8 | type u8 | price f64 |
//	              qty f64 | leaves_qty f64 | flags u8 (1 reduce_only, 2 post_only)
//	trade:        trade_id varint | price f64 | qty f64 | taker_side i8 | maker_account str |
//	              taker_account str | maker_order_id varint | taker_order_id varint
//	mark:         flags u8 (1 funding set, 2 open interest set) | mark f64 | index f64 |
//	              funding f64 | open_interest f64
//	liquidation:  account str | side i8 | qty f64 | price f64
func AppendEvent(buf []byte, ev *detectors.Event, row int64) ([]byte, error) {
	if ev.Kind < detectors.KindMark || ev.Kind > detectors.KindLiquidation {
		return buf, fmt.Errorf("encode event: unknown kind %d", ev.Kind)
	}
	if row < 0 {
		return buf, fmt.Errorf("encode event: negative row %d", row)
	}
	buf = append(buf, WireVersion, byte(ev.Kind))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(ev.TS))
	buf = binary.AppendUvarint(buf, uint64(row))
	buf = appendString(buf, ev.Symbol)
	switch ev.Kind {
	case detectors.KindOrder:
		o := &ev.Order
		buf = appendString(buf, o.Account)
		buf = binary.AppendVarint(buf, o.OrderID)
		buf = append(buf, byte(o.Event), byte(o.Side), byte(o.Type))
		buf = appendFloat(buf, o.Price)
		buf = appendFloat(buf, o.Qty)
		buf = appendFloat(buf, o.LeavesQty)
		var flags byte
		if o.ReduceOnly {
			flags |= 1
		}
		if o.PostOnly {
			flags |= 2
		}
		buf = append(buf, flags)
	case detectors.KindTrade:
		t := &ev.Trade
		buf = binary.AppendVarint(buf, t.TradeID)
		buf = appendFloat(buf, t.Price)
		buf = appendFloat(buf, t.Qty)
		buf = append(buf, byte(t.TakerSide))
		buf = appendString(buf, t.MakerAccount)
		buf = appendString(buf, t.TakerAccount)
		buf = binary.AppendVarint(buf, t.MakerOrderID)
		buf = binary.AppendVarint(buf, t.TakerOrderID)
	case detectors.KindMark:
		m := &ev.Mark
		var flags byte
		if m.HasFunding {
			flags |= 1
		}
		if m.HasOpenInterest {
			flags |= 2
		}
		buf = append(buf, flags)
		buf = appendFloat(buf, m.MarkPrice)
		buf = appendFloat(buf, m.IndexPrice)
		buf = appendFloat(buf, m.FundingRate)
		buf = appendFloat(buf, m.OpenInterest)
	case detectors.KindLiquidation:
		l := &ev.Liquidation
		buf = appendString(buf, l.Account)
		buf = append(buf, byte(l.Side))
		buf = appendFloat(buf, l.Qty)
		buf = appendFloat(buf, l.Price)
	}
	return buf, nil
}

// AppendEndOfStream appends the end-of-stream marker: the last event time sent and the number of
// events published.
func AppendEndOfStream(buf []byte, lastTS detectors.Micros, events int64) []byte {
	buf = append(buf, WireVersion, recordEndOfStream)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(lastTS))
	buf = binary.AppendUvarint(buf, uint64(events))
	return buf
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func appendFloat(buf []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
}

// DecodeError says why a message could not be decoded; Reason is a short label for metrics and
// dead-letter headers.
type DecodeError struct {
	Reason string
	Detail string
}

func (e *DecodeError) Error() string { return e.Reason + ": " + e.Detail }

func malformed(format string, args ...any) error {
	return &DecodeError{Reason: "malformed", Detail: fmt.Sprintf(format, args...)}
}

// decoder reads a message; the first error sticks, so the field reads need no checks between.
type decoder struct {
	b   []byte
	off int
	err error
	// strs interns strings across messages: a stream repeats a few symbols and accounts.
	strs map[string]string
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = malformed("byte %d: %s", d.off, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) u8(field string) byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("%s: message ends early", field)
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *decoder) u64(field string) uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b)-d.off < 8 {
		d.fail("%s: message ends early", field)
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b[d.off:])
	d.off += 8
	return v
}

func (d *decoder) float(field string) float64 { return math.Float64frombits(d.u64(field)) }

func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("%s: bad varint", field)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint(field string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("%s: bad varint", field)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) str(field string) string {
	n := d.uvarint(field)
	if d.err != nil {
		return ""
	}
	if n > MaxStringBytes {
		d.fail("%s: length %d exceeds %d bytes", field, n, MaxStringBytes)
		return ""
	}
	if uint64(len(d.b)-d.off) < n {
		d.fail("%s: message ends early", field)
		return ""
	}
	raw := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	if s, ok := d.strs[string(raw)]; ok {
		return s
	}
	if !utf8.Valid(raw) {
		d.fail("%s: not valid UTF-8", field)
		return ""
	}
	s := string(raw)
	if d.strs != nil && len(d.strs) < 1<<16 {
		d.strs[s] = s
	}
	return s
}

func (d *decoder) side(field string) detectors.Side {
	v := detectors.Side(int8(d.u8(field)))
	if d.err == nil && v != detectors.Buy && v != detectors.Sell {
		d.fail("%s: %d is not a side (want 1 or -1)", field, int8(v))
	}
	return v
}

// Decoder decodes event messages, interning repeated strings. It is not safe for concurrent use.
type Decoder struct {
	strs map[string]string
}

// NewDecoder returns a decoder with an empty string table.
func NewDecoder() *Decoder { return &Decoder{strs: make(map[string]string)} }

// Decode decodes one event message into m (fully overwritten). Any input gives either a message
// or a *DecodeError; nothing panics.
func (dec *Decoder) Decode(b []byte, m *Message) error {
	*m = Message{}
	d := decoder{b: b, strs: dec.strs}
	if v := d.u8("version"); d.err == nil && v != WireVersion {
		return &DecodeError{Reason: "unknown_version", Detail: fmt.Sprintf("version %d (this fds reads version %d)", v, WireVersion)}
	}
	kind := d.u8("kind")
	ev := &m.Event
	ev.TS = int64(d.u64("ts"))
	row := d.uvarint("row")
	if d.err == nil && row > math.MaxInt64 {
		d.fail("row: %d out of range", row)
	}
	m.Row = int64(row)
	if d.err != nil {
		return d.err
	}
	if kind == recordEndOfStream {
		m.EndOfStream = true
	} else {
		ev.Kind = detectors.Kind(kind)
		ev.Symbol = d.str("symbol")
		if d.err == nil && ev.Symbol == "" {
			d.fail("symbol: empty")
		}
		switch ev.Kind {
		case detectors.KindOrder:
			o := &ev.Order
			o.Account = d.str("account")
			o.OrderID = d.varint("order_id")
			o.Event = detectors.OrderEvent(d.u8("event"))
			if d.err == nil && (o.Event < detectors.OrderNew || o.Event > detectors.OrderReject) {
				d.fail("event: %d is not an order event", o.Event)
			}
			o.Side = d.side("side")
			o.Type = detectors.OrderType(d.u8("type"))
			if d.err == nil && (o.Type < detectors.Limit || o.Type > detectors.StopLimit) {
				d.fail("type: %d is not an order type", o.Type)
			}
			o.Price = d.float("price")
			o.Qty = d.float("qty")
			o.LeavesQty = d.float("leaves_qty")
			flags := d.u8("flags")
			o.ReduceOnly, o.PostOnly = flags&1 != 0, flags&2 != 0
		case detectors.KindTrade:
			t := &ev.Trade
			t.TradeID = d.varint("trade_id")
			t.Price = d.float("price")
			t.Qty = d.float("qty")
			t.TakerSide = d.side("taker_side")
			t.MakerAccount = d.str("maker_account")
			t.TakerAccount = d.str("taker_account")
			t.MakerOrderID = d.varint("maker_order_id")
			t.TakerOrderID = d.varint("taker_order_id")
		case detectors.KindMark:
			mk := &ev.Mark
			flags := d.u8("flags")
			mk.HasFunding, mk.HasOpenInterest = flags&1 != 0, flags&2 != 0
			mk.MarkPrice = d.float("mark_price")
			mk.IndexPrice = d.float("index_price")
			mk.FundingRate = d.float("funding_rate")
			mk.OpenInterest = d.float("open_interest")
		case detectors.KindLiquidation:
			l := &ev.Liquidation
			l.Account = d.str("account")
			l.Side = d.side("side")
			l.Qty = d.float("qty")
			l.Price = d.float("price")
		default:
			return malformed("byte 1: unknown record type %d", kind)
		}
	}
	if d.err != nil {
		return d.err
	}
	if d.off != len(b) {
		return malformed("%d trailing bytes after the %s fields", len(b)-d.off, recordName(kind))
	}
	return nil
}

func recordName(kind byte) string {
	if kind == recordEndOfStream {
		return "end-of-stream"
	}
	return detectors.Kind(kind).String()
}

// ---- alerts ----

// wireAlert is the JSON form of an alert on the alerts topic. Floats that JSON cannot hold (NaN,
// ±Inf) are written as the strings "NaN", "+Inf" and "-Inf"; every other float is written in the
// shortest form that parses back to the same bits. Nil and empty lists stay distinct (null vs
// []), so an alert survives the round trip unchanged.
type wireAlert struct {
	V           int                  `json:"v"`
	Key         string               `json:"key"`
	Detector    string               `json:"detector"`
	Type        string               `json:"type"`
	Symbol      string               `json:"symbol"`
	Accounts    []string             `json:"accounts"`
	TS          int64                `json:"ts"`
	WindowStart int64                `json:"window_start"`
	WindowEnd   int64                `json:"window_end"`
	Score       jsonFloat            `json:"score"`
	OrderIDs    []int64              `json:"order_ids"`
	TradeIDs    []int64              `json:"trade_ids"`
	Features    map[string]jsonFloat `json:"features"`
	Note        string               `json:"note"`
}

type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`:
		*f = jsonFloat(math.NaN())
		return nil
	case `"+Inf"`, `"Inf"`:
		*f = jsonFloat(math.Inf(1))
		return nil
	case `"-Inf"`:
		*f = jsonFloat(math.Inf(-1))
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	*f = jsonFloat(v)
	return nil
}

// EncodeAlert returns the alert message value: JSON with "v": AlertVersion and the alert's key.
// The encoding is deterministic (struct field order, map keys sorted), so the same alert always
// gives the same bytes.
func EncodeAlert(a *detectors.Alert) ([]byte, error) {
	w := wireAlert{V: AlertVersion, Key: a.Key(), Detector: a.Detector, Type: string(a.Type),
		Symbol: a.Symbol, Accounts: a.Accounts, TS: a.TS, WindowStart: a.WindowStart,
		WindowEnd: a.WindowEnd, Score: jsonFloat(a.Score), OrderIDs: a.Evidence.OrderIDs,
		TradeIDs: a.Evidence.TradeIDs, Note: a.Evidence.Note}
	if a.Evidence.Features != nil {
		w.Features = make(map[string]jsonFloat, len(a.Evidence.Features))
		for k, v := range a.Evidence.Features {
			w.Features[k] = jsonFloat(v)
		}
	}
	return json.Marshal(&w)
}

// DecodeAlert parses an alert message value.
func DecodeAlert(b []byte) (detectors.Alert, error) {
	var w wireAlert
	if err := json.Unmarshal(b, &w); err != nil {
		return detectors.Alert{}, fmt.Errorf("alert message: %w", err)
	}
	if w.V != AlertVersion {
		return detectors.Alert{}, fmt.Errorf("alert message: version %d (this fds reads version %d)", w.V, AlertVersion)
	}
	a := detectors.Alert{Detector: w.Detector, Type: detectors.IncidentType(w.Type), Symbol: w.Symbol,
		Accounts: w.Accounts, TS: w.TS, WindowStart: w.WindowStart, WindowEnd: w.WindowEnd,
		Score: float64(w.Score), Evidence: detectors.Evidence{OrderIDs: w.OrderIDs,
			TradeIDs: w.TradeIDs, Note: w.Note}}
	if w.Features != nil {
		a.Evidence.Features = make(map[string]float64, len(w.Features))
		for k, v := range w.Features {
			a.Evidence.Features[k] = float64(v)
		}
	}
	if w.Key != a.Key() {
		return a, errors.New("alert message: key field does not match the alert's fields")
	}
	return a, nil
}
