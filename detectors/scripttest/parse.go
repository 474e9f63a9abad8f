package scripttest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fds-dev/fds/detectors"
)

// DefaultStart is the time relative script times count from unless a script says `start`.
var DefaultStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Script is a parsed script file: one or more test cases.
type Script struct {
	Name  string
	Cases []*Case
}

// Case is one test: a detector with parameters, reference data, events and expected alerts.
type Case struct {
	Name     string
	Line     int
	Detector string
	Params   map[string]float64
	// Start is the time relative times count from.
	Start    detectors.Micros
	Accounts map[string]detectors.Account
	// Events are in replay order with Seq set.
	Events []detectors.Event
	Expect []Expectation
	// ExpectNone says the script wrote `none`: the case passes only without alerts.
	ExpectNone bool
	hasExpect  bool
	// orders remembers order lines by id, so later lines can omit known fields.
	orders      map[int64]*knownOrder
	nextTradeID int64
	lastTS      detectors.Micros
	eventsSeen  bool
}

type knownOrder struct {
	account string
	side    detectors.Side
	typ     detectors.OrderType
	price   float64
	qty     float64
	leaves  float64
}

// Expectation is one expect line: constraints an alert must meet. Zero-valued optional fields
// are not checked.
type Expectation struct {
	Line int
	// Text is the line as written, for diffs.
	Text   string
	Type   string
	Symbol string
	// Accounts, OrderIDs and TradeIDs are checked as sets when their Has flag is set.
	Accounts    []string
	HasAccounts bool
	OrderIDs    []int64
	HasOrders   bool
	TradeIDs    []int64
	HasTrades   bool
	// At bounds the alert's TS when HasAt (AtMin == AtMax for an exact time).
	AtMin, AtMax detectors.Micros
	HasAt        bool
	// Window is the alert's exact window when HasWindow.
	WindowStart, WindowEnd detectors.Micros
	HasWindow              bool
	Checks                 []Check
}

// Check is a numeric constraint on the score or on an evidence feature.
type Check struct {
	// Field is "score" or "feature.NAME".
	Field string
	Op    string // >=, <=, >, <, = or ".." (range Lo..Hi)
	Value float64
	Hi    float64
}

// Parse reads a script. Errors name the file and line: "name:12: message".
func Parse(name string, r io.Reader) (*Script, error) {
	p := &parser{name: name, script: &Script{Name: name}, preamble: newCase("", 0)}
	p.cur = p.preamble
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		p.line++
		if err := p.parseLine(sc.Text()); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, p.line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, p.line+1, err)
	}
	if len(p.script.Cases) == 0 {
		base := name
		if i := strings.LastIndexAny(base, "/\\"); i >= 0 {
			base = base[i+1:]
		}
		p.preamble.Name = strings.TrimSuffix(base, ".fdstest")
		p.preamble.Line = 1
		p.script.Cases = append(p.script.Cases, p.preamble)
	}
	for _, c := range p.script.Cases {
		if err := c.finish(); err != nil {
			return nil, fmt.Errorf("%s:%d: case %q: %w", name, c.Line, c.Name, err)
		}
	}
	return p.script, nil
}

func newCase(name string, line int) *Case {
	return &Case{
		Name: name, Line: line, Params: map[string]float64{}, Accounts: map[string]detectors.Account{},
		Start: DefaultStart.UnixMicro(), orders: map[int64]*knownOrder{}, nextTradeID: 1,
	}
}

type parser struct {
	name     string
	line     int
	script   *Script
	preamble *Case
	cur      *Case
	section  string
}

// inherit copies the preamble into a new case.
func (p *parser) inherit(name string) *Case {
	c := newCase(name, p.line)
	pre := p.preamble
	c.Detector, c.Start = pre.Detector, pre.Start
	for k, v := range pre.Params {
		c.Params[k] = v
	}
	for k, v := range pre.Accounts {
		c.Accounts[k] = v
	}
	return c
}

func stripComment(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return s[:i]
		}
	}
	return s
}

func (p *parser) parseLine(raw string) error {
	text := strings.TrimRight(stripComment(raw), " \t\r")
	if strings.TrimSpace(text) == "" {
		return nil
	}
	indented := text[0] == ' ' || text[0] == '\t'
	fields := strings.Fields(text)
	if indented {
		switch p.section {
		case "accounts":
			return p.parseAccount(fields)
		case "events":
			return p.parseEvent(fields)
		case "expect":
			return p.parseExpect(fields, strings.TrimSpace(text))
		}
		return errors.New("indented line outside an accounts, events or expect section")
	}
	p.section = ""
	head, args := fields[0], fields[1:]
	switch head {
	case "case":
		if len(args) == 0 {
			return errors.New("case needs a name")
		}
		if p.cur == p.preamble && (p.preamble.eventsSeen || p.preamble.hasExpect) {
			return errors.New("events or expect before the first case: put them inside a case")
		}
		p.cur = p.inherit(strings.Join(args, " "))
		p.script.Cases = append(p.script.Cases, p.cur)
	case "detector":
		if len(args) != 1 {
			return errors.New("detector needs exactly one name")
		}
		p.cur.Detector = args[0]
	case "set":
		if len(args) == 0 {
			return errors.New("set needs K=V pairs")
		}
		for _, a := range args {
			k, v, ok := strings.Cut(a, "=")
			if !ok || k == "" {
				return fmt.Errorf("set: %q is not K=V", a)
			}
			f, err := parseParamValue(v)
			if err != nil {
				return fmt.Errorf("set %s: %w", k, err)
			}
			p.cur.Params[k] = f
		}
	case "start":
		if len(args) != 1 {
			return errors.New("start needs one RFC 3339 time")
		}
		if p.cur.eventsSeen {
			return errors.New("start after events")
		}
		t, err := time.Parse(time.RFC3339Nano, args[0])
		if err != nil {
			return fmt.Errorf("start: %v", err)
		}
		p.cur.Start = t.UnixMicro()
	case "accounts", "events", "expect":
		if len(args) != 0 {
			return fmt.Errorf("%s takes no arguments: its lines follow, indented", head)
		}
		if head == "expect" && p.cur.hasExpect {
			return errors.New("second expect section in the same case")
		}
		if head == "events" {
			p.cur.eventsSeen = true
		}
		if head == "expect" {
			p.cur.hasExpect = true
		}
		p.section = head
	default:
		return fmt.Errorf("unknown header %q (want case, detector, set, start, accounts, events or expect; section lines are indented)", head)
	}
	return nil
}

func parseParamValue(v string) (float64, error) {
	units := []struct {
		suffix string
		scale  float64
	}{{"us", 1e-6}, {"ms", 1e-3}, {"s", 1}, {"m", 60}, {"h", 3600}}
	for _, u := range units {
		if strings.HasSuffix(v, u.suffix) {
			f, err := strconv.ParseFloat(strings.TrimSuffix(v, u.suffix), 64)
			if err == nil {
				return f * u.scale, nil
			}
		}
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number or a duration (500ms, 2s, 5m, 1h)", v)
	}
	return f, nil
}

// parseOffset reads a script time: "+1.5", "+1.5s", "+500ms", "+2m", "+1h", "+250us" or a clock
// "HH:MM:SS(.fff)"; both are offsets from the case's start.
func parseOffset(s string) (detectors.Micros, error) {
	if strings.HasPrefix(s, "+") {
		body := s[1:]
		scale := float64(detectors.Second)
		for _, u := range []struct {
			suffix string
			scale  detectors.Micros
		}{{"us", detectors.Microsecond}, {"ms", detectors.Millisecond}, {"s", detectors.Second}, {"m", detectors.Minute}, {"h", detectors.Hour}} {
			if strings.HasSuffix(body, u.suffix) {
				body, scale = strings.TrimSuffix(body, u.suffix), float64(u.scale)
				break
			}
		}
		f, err := strconv.ParseFloat(body, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || strings.ContainsAny(body, "eE+-") {
			return 0, fmt.Errorf("bad time %q (want +1.5, +1.5s, +500ms, +2m or 00:00:01.500)", s)
		}
		return detectors.Micros(math.Round(f * scale)), nil
	}
	parts := strings.Split(s, ":")
	if len(parts) == 3 {
		h, err1 := strconv.Atoi(parts[0])
		m, err2 := strconv.Atoi(parts[1])
		sec, err3 := strconv.ParseFloat(parts[2], 64)
		if err1 == nil && err2 == nil && err3 == nil && h >= 0 && m >= 0 && m < 60 && sec >= 0 && sec < 60 && !strings.ContainsAny(parts[2], "eE+-") {
			return detectors.Micros(h)*detectors.Hour + detectors.Micros(m)*detectors.Minute + detectors.Micros(math.Round(sec*1e6)), nil
		}
	}
	return 0, fmt.Errorf("bad time %q (want +1.5, +1.5s, +500ms, +2m or 00:00:01.500)", s)
}

// parseTimeRange reads "TIME" or "TIME..TIME" as offsets.
func parseTimeRange(s string) (lo, hi detectors.Micros, err error) {
	a, b, isRange := strings.Cut(s, "..")
	if lo, err = parseOffset(a); err != nil {
		return 0, 0, err
	}
	if !isRange {
		return lo, lo, nil
	}
	if hi, err = parseOffset(b); err != nil {
		return 0, 0, err
	}
	if hi < lo {
		return 0, 0, fmt.Errorf("time range %q ends before it starts", s)
	}
	return lo, hi, nil
}

func (p *parser) parseAccount(f []string) error {
	c := p.cur
	if c.eventsSeen {
		return errors.New("accounts after events: declare accounts first")
	}
	acct := detectors.Account{AccountID: f[0]}
	if strings.Contains(f[0], "=") {
		return fmt.Errorf("account line must start with the account id, got %q", f[0])
	}
	for _, tok := range f[1:] {
		k, v, ok := strings.Cut(tok, "=")
		if !ok {
			return fmt.Errorf("account %s: %q is not K=V", f[0], tok)
		}
		switch k {
		case "owner":
			acct.OwnerGroup = v
		case "ip":
			acct.IPHash = v
		case "device":
			acct.DeviceHash = v
		case "referrer":
			acct.Referrer = v
		case "created":
			off, err := parseOffset(v)
			if err != nil {
				return fmt.Errorf("account %s created: %w", f[0], err)
			}
			acct.CreatedAt = c.Start + off
		default:
			return fmt.Errorf("account %s: unknown field %q (want owner, ip, device, referrer or created)", f[0], k)
		}
	}
	c.Accounts[acct.AccountID] = acct
	return nil
}

// tokens splits an event line's words into key=value pairs, bare words and bare numbers.
type tokens struct {
	kv      map[string]string
	words   []string
	numbers []float64
}

func splitTokens(f []string) (tokens, error) {
	t := tokens{kv: map[string]string{}}
	for _, tok := range f {
		if k, v, ok := strings.Cut(tok, "="); ok {
			if _, dup := t.kv[k]; dup {
				return t, fmt.Errorf("%s= given twice", k)
			}
			t.kv[k] = v
			continue
		}
		if x, err := strconv.ParseFloat(tok, 64); err == nil {
			t.numbers = append(t.numbers, x)
			continue
		}
		t.words = append(t.words, tok)
	}
	return t, nil
}

func (t *tokens) float(key string) (float64, bool, error) {
	v, ok := t.kv[key]
	if !ok {
		return 0, false, nil
	}
	delete(t.kv, key)
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false, fmt.Errorf("%s=%q is not a number", key, v)
	}
	return x, true, nil
}

func (t *tokens) int(key string) (int64, bool, error) {
	v, ok := t.kv[key]
	if !ok {
		return 0, false, nil
	}
	delete(t.kv, key)
	x, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%s=%q is not an integer", key, v)
	}
	return x, true, nil
}

func (t *tokens) price() (float64, bool, error) {
	x, ok, err := t.float("price")
	if err != nil || ok {
		if ok && len(t.numbers) > 0 {
			return 0, false, errors.New("price given twice")
		}
		return x, ok, err
	}
	switch len(t.numbers) {
	case 0:
		return 0, false, nil
	case 1:
		return t.numbers[0], true, nil
	}
	return 0, false, fmt.Errorf("more than one bare number %v (only the price is bare; write qty=...)", t.numbers)
}

func (t *tokens) leftover() error {
	if len(t.kv) > 0 {
		keys := make([]string, 0, len(t.kv))
		for k := range t.kv {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return fmt.Errorf("unknown field %s=", keys[0])
	}
	if len(t.words) > 0 {
		return fmt.Errorf("unexpected word %q", t.words[0])
	}
	return nil
}

// account splits "ACCT" or "ACCT/ORDER".
func splitAccountOrder(v string) (string, int64, bool, error) {
	a, o, ok := strings.Cut(v, "/")
	if a == "" {
		return "", 0, false, fmt.Errorf("empty account in %q", v)
	}
	if !ok {
		return a, 0, false, nil
	}
	id, err := strconv.ParseInt(o, 10, 64)
	if err != nil {
		return "", 0, false, fmt.Errorf("bad order id in %q", v)
	}
	return a, id, true, nil
}

func (p *parser) parseEvent(f []string) error {
	c := p.cur
	if len(f) < 3 {
		return errors.New("event line needs TIME SYMBOL KIND ...")
	}
	off, err := parseOffset(f[0])
	if err != nil {
		return err
	}
	ts := c.Start + off
	if len(c.Events) > 0 && ts < c.lastTS {
		return fmt.Errorf("time %s is before the previous event's", f[0])
	}
	c.lastTS = ts
	sym, kind := f[1], f[2]
	if strings.Contains(sym, "=") || strings.HasPrefix(sym, "+") {
		return fmt.Errorf("bad symbol %q", sym)
	}
	toks, err := splitTokens(f[3:])
	if err != nil {
		return err
	}
	base := detectors.Event{TS: ts, Symbol: sym}
	switch kind {
	case "order":
		return p.parseOrder(base, &toks)
	case "trade", "exec":
		return p.parseTrade(base, &toks, kind == "exec")
	case "mark":
		return p.parseMark(base, &toks)
	case "liq", "liquidation":
		return p.parseLiquidation(base, &toks)
	}
	return fmt.Errorf("unknown event kind %q (want order, trade, exec, mark or liq)", kind)
}

func (c *Case) add(ev detectors.Event) { c.Events = append(c.Events, ev) }

// takeSide removes a buy/sell word.
func (t *tokens) takeSide() (detectors.Side, bool, error) {
	var side detectors.Side
	found := false
	rest := t.words[:0]
	for _, w := range t.words {
		if s, err := detectors.ParseSide(w); err == nil {
			if found {
				return 0, false, errors.New("side given twice")
			}
			side, found = s, true
			continue
		}
		rest = append(rest, w)
	}
	t.words = rest
	return side, found, nil
}

func (p *parser) parseOrder(ev detectors.Event, t *tokens) error {
	c := p.cur
	if len(t.words) == 0 {
		return errors.New("order needs ACCOUNT EVENT id=N")
	}
	account := t.words[0]
	t.words = t.words[1:]
	var (
		event     detectors.OrderEvent
		typ       detectors.OrderType
		hasEvent  bool
		hasType   bool
		rest      []string
		reduce    bool
		postOnly  bool
		sideFound bool
		side      detectors.Side
	)
	side, sideFound, err := t.takeSide()
	if err != nil {
		return err
	}
	for _, w := range t.words {
		if e, err := detectors.ParseOrderEvent(w); err == nil {
			if hasEvent {
				return errors.New("order event given twice")
			}
			event, hasEvent = e, true
			continue
		}
		if ty, err := detectors.ParseOrderType(w); err == nil {
			if hasType {
				return errors.New("order type given twice")
			}
			typ, hasType = ty, true
			continue
		}
		switch w {
		case "reduce_only":
			reduce = true
		case "post_only":
			postOnly = true
		default:
			rest = append(rest, w)
		}
	}
	t.words = rest
	if !hasEvent {
		return errors.New("order needs an event (new, amend, cancel, fill, expire or reject)")
	}
	id, ok, err := t.int("id")
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("order needs id=N")
	}
	price, hasPrice, err := t.price()
	if err != nil {
		return err
	}
	qty, hasQty, err := t.float("qty")
	if err != nil {
		return err
	}
	leaves, hasLeaves, err := t.float("leaves")
	if err != nil {
		return err
	}
	if err := t.leftover(); err != nil {
		return err
	}
	known := c.orders[id]
	if known != nil && known.account != account {
		return fmt.Errorf("order %d belongs to %s, not %s", id, known.account, account)
	}
	if known == nil && event != detectors.OrderNew && event != detectors.OrderReject && !(sideFound && hasType && hasQty) {
		return fmt.Errorf("order %d is not known: give its side, type and qty= or place it with a new line first", id)
	}
	if known != nil {
		if !sideFound {
			side, sideFound = known.side, true
		}
		if !hasType {
			typ, hasType = known.typ, true
		}
		if !hasPrice {
			price = known.price
		}
	}
	if !sideFound {
		return errors.New("order needs a side (buy or sell)")
	}
	if !hasType {
		typ = detectors.Limit
	}
	if typ == detectors.Limit || typ == detectors.StopLimit {
		if !hasPrice && known == nil {
			return errors.New("limit order needs a price")
		}
	}
	switch event {
	case detectors.OrderNew:
		if !hasQty {
			return errors.New("new order needs qty=")
		}
		if !hasLeaves {
			leaves = qty
		}
	case detectors.OrderFill:
		if !hasQty {
			return errors.New("fill needs qty= (the quantity filled)")
		}
		if !hasLeaves {
			if known == nil {
				return errors.New("fill of an unknown order needs leaves=")
			}
			leaves = math.Max(0, known.leaves-qty)
		}
	case detectors.OrderAmend:
		if !hasQty {
			return errors.New("amend needs qty= (the new order quantity)")
		}
		if !hasLeaves {
			filled := 0.0
			if known != nil {
				filled = known.qty - known.leaves
			}
			leaves = math.Max(0, qty-filled)
		}
	default: // cancel, expire, reject
		if !hasQty {
			if known != nil {
				qty = known.qty
			}
		}
		if !hasLeaves {
			leaves = 0
		}
	}
	if qty < 0 || leaves < 0 || price < 0 {
		return errors.New("negative price, qty or leaves")
	}
	ev.Kind = detectors.KindOrder
	ev.Order = detectors.Order{
		Account: account, OrderID: id, Event: event, Side: side, Type: typ, Price: price,
		Qty: qty, LeavesQty: leaves, ReduceOnly: reduce, PostOnly: postOnly,
	}
	p.rememberOrder(&ev.Order)
	c.add(ev)
	return nil
}

func (p *parser) rememberOrder(o *detectors.Order) {
	k := p.cur.orders[o.OrderID]
	if k == nil {
		k = &knownOrder{account: o.Account}
		p.cur.orders[o.OrderID] = k
	}
	k.side, k.typ, k.price, k.leaves = o.Side, o.Type, o.Price, o.LeavesQty
	if o.Event != detectors.OrderFill {
		k.qty = o.Qty
	} else if k.qty == 0 {
		k.qty = o.Qty + o.LeavesQty
	}
}

func (p *parser) parseTrade(ev detectors.Event, t *tokens, exec bool) error {
	c := p.cur
	side, ok, err := t.takeSide()
	if err != nil {
		return err
	}
	if !ok {
		if v, has := t.kv["taker_side"]; has {
			delete(t.kv, "taker_side")
			if side, err = detectors.ParseSide(v); err != nil {
				return err
			}
		} else {
			return errors.New("trade needs the taker's side (buy or sell)")
		}
	}
	id, hasID, err := t.int("id")
	if err != nil {
		return err
	}
	if !hasID {
		id = c.nextTradeID
	}
	if id >= c.nextTradeID {
		c.nextTradeID = id + 1
	}
	price, hasPrice, err := t.price()
	if err != nil {
		return err
	}
	if !hasPrice {
		return errors.New("trade needs a price")
	}
	qty, hasQty, err := t.float("qty")
	if err != nil {
		return err
	}
	if !hasQty || qty <= 0 {
		return errors.New("trade needs qty= > 0")
	}
	tr := detectors.Trade{TradeID: id, Price: price, Qty: qty, TakerSide: side}
	var hasTakerOrder, hasMakerOrder bool
	if v, ok := t.kv["taker"]; ok {
		delete(t.kv, "taker")
		if tr.TakerAccount, tr.TakerOrderID, hasTakerOrder, err = splitAccountOrder(v); err != nil {
			return err
		}
	}
	if v, ok := t.kv["maker"]; ok {
		delete(t.kv, "maker")
		if tr.MakerAccount, tr.MakerOrderID, hasMakerOrder, err = splitAccountOrder(v); err != nil {
			return err
		}
	}
	if v, ok, err := t.int("taker_order"); err != nil {
		return err
	} else if ok {
		tr.TakerOrderID, hasTakerOrder = v, true
	}
	if v, ok, err := t.int("maker_order"); err != nil {
		return err
	} else if ok {
		tr.MakerOrderID, hasMakerOrder = v, true
	}
	if err := t.leftover(); err != nil {
		return err
	}
	if exec {
		if tr.TakerAccount == "" || tr.MakerAccount == "" || !hasTakerOrder || !hasMakerOrder {
			return errors.New("exec needs taker=ACCT/ORDER and maker=ACCT/ORDER")
		}
		maker := c.orders[tr.MakerOrderID]
		if maker == nil {
			return fmt.Errorf("exec: maker order %d is not known: place it with an order line first", tr.MakerOrderID)
		}
		if maker.account != tr.MakerAccount {
			return fmt.Errorf("exec: maker order %d belongs to %s, not %s", tr.MakerOrderID, maker.account, tr.MakerAccount)
		}
		if maker.side != side.Opposite() {
			return fmt.Errorf("exec: maker order %d is a %s order, but the taker %ss", tr.MakerOrderID, maker.side, side)
		}
		if qty > maker.leaves+1e-12 {
			return fmt.Errorf("exec: qty %v exceeds maker order %d's leaves %v", qty, tr.MakerOrderID, maker.leaves)
		}
		taker := c.orders[tr.TakerOrderID]
		if taker != nil && taker.account != tr.TakerAccount {
			return fmt.Errorf("exec: taker order %d belongs to %s, not %s", tr.TakerOrderID, taker.account, tr.TakerAccount)
		}
		if taker == nil {
			nev := ev
			nev.Kind = detectors.KindOrder
			nev.Order = detectors.Order{Account: tr.TakerAccount, OrderID: tr.TakerOrderID, Event: detectors.OrderNew,
				Side: side, Type: detectors.Market, Qty: qty, LeavesQty: qty}
			p.rememberOrder(&nev.Order)
			c.add(nev)
			taker = c.orders[tr.TakerOrderID]
		}
		if taker.side != side {
			return fmt.Errorf("exec: taker order %d is a %s order, but the trade's taker side is %s", tr.TakerOrderID, taker.side, side)
		}
		if qty > taker.leaves+1e-12 {
			return fmt.Errorf("exec: qty %v exceeds taker order %d's leaves %v", qty, tr.TakerOrderID, taker.leaves)
		}
		for _, fill := range []struct {
			acct string
			id   int64
			k    *knownOrder
		}{{tr.MakerAccount, tr.MakerOrderID, maker}, {tr.TakerAccount, tr.TakerOrderID, taker}} {
			fev := ev
			fev.Kind = detectors.KindOrder
			fev.Order = detectors.Order{Account: fill.acct, OrderID: fill.id, Event: detectors.OrderFill, Side: fill.k.side,
				Type: fill.k.typ, Price: price, Qty: qty, LeavesQty: math.Max(0, fill.k.leaves-qty)}
			fill.k.leaves = fev.Order.LeavesQty
			c.add(fev)
		}
	}
	ev.Kind = detectors.KindTrade
	ev.Trade = tr
	c.add(ev)
	return nil
}

func (p *parser) parseMark(ev detectors.Event, t *tokens) error {
	price, ok, err := t.price()
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("mark needs a price")
	}
	m := detectors.Mark{MarkPrice: price, IndexPrice: price}
	if v, ok, err := t.float("index"); err != nil {
		return err
	} else if ok {
		m.IndexPrice = v
	}
	if v, ok, err := t.float("funding"); err != nil {
		return err
	} else if ok {
		m.FundingRate, m.HasFunding = v, true
	}
	if v, ok, err := t.float("oi"); err != nil {
		return err
	} else if ok {
		m.OpenInterest, m.HasOpenInterest = v, true
	}
	if err := t.leftover(); err != nil {
		return err
	}
	ev.Kind = detectors.KindMark
	ev.Mark = m
	p.cur.add(ev)
	return nil
}

func (p *parser) parseLiquidation(ev detectors.Event, t *tokens) error {
	side, ok, err := t.takeSide()
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("liq needs a side (buy or sell: the liquidation order's side)")
	}
	if len(t.words) != 1 {
		return errors.New("liq needs ACCOUNT SIDE PRICE qty=Q")
	}
	l := detectors.Liquidation{Account: t.words[0], Side: side}
	t.words = nil
	if l.Price, ok, err = t.price(); err != nil {
		return err
	} else if !ok {
		return errors.New("liq needs a price")
	}
	if l.Qty, ok, err = t.float("qty"); err != nil {
		return err
	} else if !ok {
		return errors.New("liq needs qty=")
	}
	if err := t.leftover(); err != nil {
		return err
	}
	ev.Kind = detectors.KindLiquidation
	ev.Liquidation = l
	p.cur.add(ev)
	return nil
}

var checkOps = []string{">=", "<=", "=", ">", "<"}

func (p *parser) parseExpect(f []string, text string) error {
	c := p.cur
	if len(f) == 1 && f[0] == "none" {
		if len(c.Expect) > 0 || c.ExpectNone {
			return errors.New("none must be the only expect line")
		}
		c.ExpectNone = true
		return nil
	}
	if c.ExpectNone {
		return errors.New("none must be the only expect line")
	}
	if len(f) < 2 {
		return errors.New("expect line needs TYPE SYMBOL [constraints]")
	}
	e := Expectation{Line: p.line, Text: text, Type: f[0], Symbol: f[1]}
	for _, tok := range f[2:] {
		if err := e.parseConstraint(tok); err != nil {
			return err
		}
	}
	c.Expect = append(c.Expect, e)
	return nil
}

func (e *Expectation) parseConstraint(tok string) error {
	if strings.HasPrefix(tok, "score") || strings.HasPrefix(tok, "feature.") {
		for _, op := range checkOps {
			i := strings.Index(tok, op)
			if i <= 0 {
				continue
			}
			field, val := tok[:i], tok[i+len(op):]
			if field != "score" && (!strings.HasPrefix(field, "feature.") || len(field) == len("feature.")) {
				break
			}
			ch := Check{Field: field, Op: op}
			if lo, hi, isRange := strings.Cut(val, ".."); isRange && op == "=" {
				a, err1 := strconv.ParseFloat(lo, 64)
				b, err2 := strconv.ParseFloat(hi, 64)
				if err1 != nil || err2 != nil || b < a {
					return fmt.Errorf("bad range in %q", tok)
				}
				ch.Op, ch.Value, ch.Hi = "..", a, b
			} else {
				v, err := strconv.ParseFloat(val, 64)
				if err != nil {
					return fmt.Errorf("bad number in %q", tok)
				}
				ch.Value = v
			}
			e.Checks = append(e.Checks, ch)
			return nil
		}
		return fmt.Errorf("bad check %q (want score>=0.5, score=0.5..0.7, feature.NAME<3, ...)", tok)
	}
	k, v, ok := strings.Cut(tok, "=")
	if !ok {
		return fmt.Errorf("expect: %q is not K=V", tok)
	}
	var err error
	switch k {
	case "accounts":
		e.HasAccounts = true
		if v != "" && v != "-" {
			e.Accounts = detectors.SortAccounts(strings.Split(v, ","))
		}
	case "orders":
		e.HasOrders = true
		e.OrderIDs, err = parseIDs(v)
	case "trades":
		e.HasTrades = true
		e.TradeIDs, err = parseIDs(v)
	case "at":
		e.HasAt = true
		e.AtMin, e.AtMax, err = parseTimeRange(v)
	case "window":
		e.HasWindow = true
		var lo, hi detectors.Micros
		a, b, isRange := strings.Cut(v, "..")
		if !isRange {
			return fmt.Errorf("window needs START..END, got %q", v)
		}
		if lo, err = parseOffset(a); err == nil {
			hi, err = parseOffset(b)
		}
		e.WindowStart, e.WindowEnd = lo, hi
	default:
		return fmt.Errorf("expect: unknown field %q (want accounts, at, window, orders, trades, score or feature.NAME)", k)
	}
	return err
}

func parseIDs(v string) ([]int64, error) {
	if v == "" || v == "-" {
		return []int64{}, nil
	}
	var out []int64
	for _, s := range strings.Split(v, ",") {
		x, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad id %q", s)
		}
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// finish checks a case and puts its events in replay order.
func (c *Case) finish() error {
	if c.Detector == "" {
		return errors.New("no detector line")
	}
	if !c.hasExpect {
		return errors.New("no expect section (write `none` under expect to expect no alerts)")
	}
	if len(c.Expect) == 0 && !c.ExpectNone {
		return errors.New("empty expect section (write `none` to expect no alerts)")
	}
	// Expectation times were parsed as offsets; make them absolute.
	for i := range c.Expect {
		e := &c.Expect[i]
		if e.HasAt {
			e.AtMin += c.Start
			e.AtMax += c.Start
		}
		if e.HasWindow {
			e.WindowStart += c.Start
			e.WindowEnd += c.Start
		}
	}
	sort.SliceStable(c.Events, func(i, j int) bool {
		a, b := &c.Events[i], &c.Events[j]
		if a.TS != b.TS {
			return a.TS < b.TS
		}
		return a.Kind < b.Kind
	})
	for i := range c.Events {
		c.Events[i].Seq = int64(i)
	}
	c.orders = nil
	return nil
}
