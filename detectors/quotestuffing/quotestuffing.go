// Package quotestuffing is the quote_stuffing detector: bursts of order messages from one account
// far above its own usual rate, made of fleeting orders (cancelled within a fraction of a second
// of being placed) that almost never trade: an extreme order-to-trade ratio that floods the feed
// without any intent to trade.
//
// # Definition
//
// Messages are an account's order events new, amend and cancel in one symbol (fills, expiries and
// rejections are the venue's, not the account's); executions are its fill events. A fleeting
// order is a new order cancelled less than `fleeting` seconds after it was placed. For each
// account and symbol the detector keeps the messages of the last `window` seconds, and the
// account's usual message rate: an exponentially decayed count with time constant `baseline`,
// divided by the weight a constant rate would have accumulated since the symbol's first order
// event, τ·(1 − exp(−age/τ)) with τ = baseline (at least one window): messages per second,
// unbiased also in the first minutes of the input, when what came before the replay is unknown. A message triggers when, with it, the window holds at least
// `min_messages` messages and at least `min_burst_ratio` times what the usual rate would put in
// a window. Triggers of one account and symbol less than `gap` seconds apart are one episode,
// which runs from the first message in the window of its first trigger to its last trigger, and
// is judged at the first order event of the symbol `gap` seconds after its last trigger (or at the
// end of the input). With peak the largest window count of the episode, expected the usual
// rate (frozen when the episode starts) times window, and the episode's messages, new orders,
// fleeting orders and executions:
//
//	intensity = 1 − exp(−peak / count_scale)
//	burst     = 1 − exp(−(peak / max(expected, 1) − 1) / ratio_scale)
//	fleeting  = fleeting orders / new orders
//	otr       = 1 − exp(−(messages / (executions + 1)) / otr_scale)
//	calm      = exp(−drift / drift_scale)
//	score     = sqrt(intensity · burst · fleeting · otr · calm)
//
// where drift is how far, in bp, the mean price of the account's new orders in the window moved
// from its first trigger to its last.
//
// A market maker re-quoting its whole ladder at once (its orders live until its next sweep, and
// its usual rate is already high) scores low on fleeting and burst; one chasing a violent move
// (re-quoting every slot at each step of a pump) is fleeting and bursty, but its quotes travel
// with the price: calm is near 0, where a stuffer's orders stay put; an execution algorithm firing
// many market orders scores low on otr (every message trades) and fleeting (nothing cancelled).
// Episodes and scores never depend on min_score, which only filters.
//
// The alert's accounts are the account; its window runs from the episode's first to its last
// trigger; its evidence lists the ids of up to `max_evidence_orders` of the episode's orders
// (the first ones, from the window of its first trigger) and the features peak_messages, messages, new_orders, fleeting_orders,
// executions, order_to_trade, usual_rate, burst_ratio and drift_bp.
//
// The detector's clock is each symbol's order events: sharding by symbol changes nothing.
//
// # State
//
// Per account and symbol that sent a message in the last 5·baseline seconds: the window's message
// times (at most `max_window_messages`, beyond which the window count saturates), counters and the
// decayed rate, swept every `baseline` seconds, at most `max_accounts` of them (new accounts
// beyond are ignored until a sweep frees room). The new orders of the last `fleeting` seconds
// (to recognise fleeting cancels; two generations of maps, the older dropped whole every
// max(fleeting, 0.1 s), so at most twice that), and the open episodes with at most
// max_evidence_orders ids.
//
// # Groups
//
// The detector offers groups (detectors.Spec.NewGroup; the single detector is a group of one).
// The configurations that agree on window, baseline, fleeting, max_window_messages,
// max_accounts, min_messages, min_burst_ratio and gap share one layer: the windows, counters and
// usual rates per account, the fleeting index and the episodes, kept once. The episode
// parameters are part of the layer because an open episode keeps its account from being
// forgotten (by the sweep and, when gap exceeds 5·baseline, at its next message), which changes
// what max_accounts admits and what the usual rate remembers: sharing the windows across
// different triggers would not give exactly a separate instance's alerts. Per configuration only
// the score (count_scale, ratio_scale, otr_scale, drift_scale) and the evidence cap (each
// configuration takes its prefix of the layer's ids, kept up to the largest cap) remain.
package quotestuffing

import (
	"math"
	"sort"

	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/detectors/internal/episodes"
	"github.com/fds-dev/fds/detectors/internal/recent"
)

// Name is the detector's registry name.
const Name = "quote_stuffing"

func init() {
	detectors.Register(detectors.Spec{
		Name:    Name,
		Type:    detectors.QuoteStuffing,
		Summary: "bursts of fleeting order messages far above the account's usual rate, with an extreme order-to-trade ratio",
		Doc: "An account's order messages (new, amend, cancel) in one symbol trigger when the last `window` seconds hold at least " +
			"min_messages of them and min_burst_ratio times its usual (decayed) rate. Triggers less than `gap` apart are an episode, " +
			"judged gap after the last: score = sqrt(intensity·burst·fleeting·otr·calm) from the peak window count, its ratio to the usual " +
			"rate, the share of new orders cancelled within `fleeting` seconds, the messages per execution and how far its quotes moved.",
		Needs:           []detectors.Kind{detectors.KindOrder},
		DefaultMinScore: 0.5,
		Params: []detectors.ParamSpec{
			{Name: "window", Default: 1, Min: 0.001, Max: 3600, Unit: "s", Doc: "sliding window the message rate is counted over"},
			{Name: "min_messages", Default: 20, Min: 1, Max: 1e7, Integer: true, Unit: "count", Doc: "messages in a window for a trigger"},
			{Name: "min_burst_ratio", Default: 3, Min: 1, Max: 1e6, Unit: "ratio", Doc: "window count / what the account's usual rate puts in a window, for a trigger"},
			{Name: "baseline", Default: 300, Min: 1, Max: 7 * 86400, Unit: "s", Doc: "time constant of the account's usual message rate"},
			{Name: "gap", Default: 60, Min: 0, Max: 86400, Unit: "s", Doc: "triggers less than this apart are one episode; it is judged this long after its last trigger"},
			{Name: "fleeting", Default: 0.1, Min: 0, Max: 3600, Unit: "s", Doc: "a new order cancelled within this of placement is fleeting"},
			{Name: "count_scale", Default: 50, Min: 1, Max: 1e7, Unit: "count", Doc: "peak window count at which the intensity term reaches 1-1/e"},
			{Name: "ratio_scale", Default: 5, Min: 0.01, Max: 1e6, Unit: "ratio", Doc: "burst ratio above 1 at which the burst term reaches 1-1/e"},
			{Name: "otr_scale", Default: 10, Min: 0.01, Max: 1e6, Unit: "ratio", Doc: "messages per execution at which the order-to-trade term reaches 1-1/e"},
			{Name: "drift_scale", Default: 50, Min: 0.01, Max: 1e6, Unit: "bp", Doc: "move of the account's quotes over the episode at which the calm term falls to 1/e"},
			{Name: "max_window_messages", Default: 100000, Min: 1, Max: 1e8, Integer: true, Unit: "count", Doc: "cap on the message times kept per account's window"},
			{Name: "max_accounts", Default: 100000, Min: 1, Max: 1e8, Integer: true, Unit: "count", Doc: "cap on the (account, symbol) pairs tracked"},
			{Name: "max_evidence_orders", Default: 200, Min: 0, Max: 1e6, Integer: true, Unit: "count", Doc: "cap on the order ids listed as an episode's evidence"},
		},
		NewGroup: newGroup,
	})
}

type key struct{ symbol, account string }

// counts are an account's cumulative message counters.
type counts struct {
	messages, news, fleeting, executions int64
}

// stamp is one message in the window: its time, its order, its price (new orders only) and the
// counters just before it.
type stamp struct {
	ts      detectors.Micros
	orderID int64
	price   float64
	before  counts
}

type account struct {
	k       key
	window  []stamp // ring of message times, oldest at head; its length a power of two
	head, n int
	// priceSum and priced sum the prices of the new orders in the window.
	priceSum float64
	priced   int
	total    counts
	rate     float64 // decayed message count, time constant baseline
	rateAt   detectors.Micros
	last     detectors.Micros
	ep       *episode
}

type episode struct {
	acct        *account
	first, last detectors.Micros // first and last trigger
	start       counts           // counters at the first message of the first trigger's window
	atLast      counts           // counters at the last trigger
	peak        int
	expected    float64
	usualRate   float64
	orderIDs    []int64
	// firstPrice and lastPrice are the mean new-order prices of the windows of the first and
	// last trigger: how far the account's quotes moved during the episode.
	firstPrice, lastPrice float64
}

type symbolState struct {
	name     string
	accounts map[string]*account // by account id
	open     []*episode          // in opening order
	deadline detectors.Micros
	first    detectors.Micros // the symbol's first order event
	last     detectors.Micros
}

// placed is a new order of the last `fleeting` seconds: its account.
type placed struct {
	a *account
}

// layerKey holds the parameters the windows, rates, triggers and episodes depend on: the
// configurations of a group that agree on all of them share one layer.
type layerKey struct {
	window, baseline, gap, fleeting     detectors.Micros
	minMessages, maxWindow, maxAccounts int
	minRatio                            float64
}

// scorer is one configuration's part: the scales of its score and its cap on evidence.
type scorer struct {
	config                 int // index in the group
	countScale, ratioScale float64
	otrScale, driftScale   float64
	maxEvidence            int
}

// layer is the state of the configurations sharing one layerKey: the accounts' windows,
// counters and rates, the fleeting index and the episodes, kept once and judged by each of its
// scorers.
type layer struct {
	layerKey
	scorers     []scorer
	maxEvidence int // the largest of the scorers': each takes its prefix of the evidence

	symbols   map[string]*symbolState
	nAccounts int                 // accounts tracked, all symbols
	recent    *recent.Map[placed] // new orders of the last `fleeting` seconds
	nextSweep detectors.Micros
	dropped   int64
	lastSym   *symbolState // the last event's: runs of one symbol skip the map
}

// group is the configurations of a sweep, one layer per distinct layerKey. A single detector is
// a group of one.
type group = detectors.Layered[*layer]

func newGroup(ps []detectors.Params, _ detectors.Env) (detectors.Group, error) {
	keys := make([]layerKey, len(ps))
	for i, p := range ps {
		keys[i] = layerKey{
			window: p.Duration("window"), baseline: p.Duration("baseline"), gap: p.Duration("gap"),
			fleeting: p.Duration("fleeting"), minMessages: p.Int("min_messages"), maxWindow: p.Int("max_window_messages"),
			maxAccounts: p.Int("max_accounts"), minRatio: p.Get("min_burst_ratio"),
		}
	}
	layerOf, n := detectors.Layers(len(ps), func(i int) layerKey { return keys[i] })
	g := &group{Layers: make([]*layer, n)}
	for i, p := range ps {
		l := g.Layers[layerOf[i]]
		if l == nil {
			l = &layer{layerKey: keys[i], symbols: map[string]*symbolState{}, recent: recent.New[placed](keys[i].fleeting)}
			g.Layers[layerOf[i]] = l
		}
		sc := scorer{
			config: i, countScale: p.Get("count_scale"), ratioScale: p.Get("ratio_scale"), otrScale: p.Get("otr_scale"),
			driftScale: p.Get("drift_scale"), maxEvidence: p.Int("max_evidence_orders"),
		}
		l.scorers = append(l.scorers, sc)
		l.maxEvidence = max(l.maxEvidence, sc.maxEvidence)
	}
	return g, nil
}

// Score is the episode score (see the package doc).
func (d *scorer) Score(peak int, expected float64, messages, news, fleeting, executions int64, driftBP float64) float64 {
	intensity := 1 - math.Exp(-float64(peak)/d.countScale)
	burst := 1 - math.Exp(-math.Max(0, float64(peak)/math.Max(expected, 1)-1)/d.ratioScale)
	var fl float64
	if news > 0 {
		fl = math.Min(1, float64(fleeting)/float64(news))
	}
	otr := 1 - math.Exp(-float64(messages)/float64(executions+1)/d.otrScale)
	calm := math.Exp(-driftBP / d.driftScale)
	return math.Sqrt(intensity * burst * fl * otr * calm)
}

func (d *layer) OnEvent(ev *detectors.Event, emit detectors.GroupEmit) {
	if ev.Kind != detectors.KindOrder {
		return // the clock of a symbol is its order events only
	}
	if ev.TS >= d.nextSweep {
		d.sweep(ev.TS)
	}
	s := d.lastSym
	if s == nil || s.name != ev.Symbol {
		s = d.symbols[ev.Symbol]
		if s == nil {
			s = &symbolState{name: ev.Symbol, first: ev.TS, accounts: map[string]*account{}}
			d.symbols[ev.Symbol] = s
		}
		d.lastSym = s
	}
	s.last = ev.TS
	if len(s.open) > 0 && ev.TS >= s.deadline {
		d.closeDue(s, ev.TS, false, emit)
	}
	o := &ev.Order
	if o.Account == "" {
		return
	}
	a := s.accounts[o.Account]
	if a == nil {
		if d.nAccounts >= d.maxAccounts {
			d.dropped++
			return
		}
		a = &account{k: key{ev.Symbol, o.Account}, window: make([]stamp, 8), rateAt: ev.TS}
		s.accounts[o.Account] = a
		d.nAccounts++
	}
	if ev.TS-a.last >= 5*d.baseline && a.ep == nil {
		// What the sweep forgets counts as forgotten whether or not a sweep ran yet, so that the
		// sweep's timing (which other symbols' events drive) never changes a score.
		a.rate, a.rateAt, a.n, a.head, a.priceSum, a.priced = 0, ev.TS, 0, 0, 0, 0
	}
	a.last = ev.TS
	switch o.Event {
	case detectors.OrderFill:
		a.total.executions++
		return
	case detectors.OrderNew, detectors.OrderAmend, detectors.OrderCancel:
	default:
		return
	}
	d.recent.Advance(ev.TS)
	before := a.total
	a.total.messages++
	switch o.Event {
	case detectors.OrderNew:
		a.total.news++
		if d.fleeting > 0 {
			d.recent.Put(o.OrderID, ev.TS, placed{a: a})
		}
	case detectors.OrderCancel:
		// The same account and symbol (an account forgotten and back is the same key).
		if ts, p, ok := d.recent.Get(o.OrderID); ok && (p.a == a || p.a.k == a.k) && ev.TS-ts < d.fleeting {
			a.total.fleeting++
			d.recent.Delete(o.OrderID)
		}
	}
	// The usual rate as it was before this message, then the message joins it.
	decay := 1.0 // exp(−0): messages at one ts skip the exp
	if ev.TS != a.rateAt {
		decay = math.Exp(-float64(ev.TS-a.rateAt) / float64(d.baseline))
	}
	usual := a.rate * decay
	a.rate, a.rateAt = usual+1, ev.TS
	tau := float64(d.baseline) / float64(detectors.Second)
	weight := math.Max(tau*settled(float64(ev.TS-s.first)/float64(d.baseline)), float64(d.window)/float64(detectors.Second))
	usualPerSecond := usual / weight
	// Slide the window and add the message.
	for a.n > 0 && (a.window[a.head].ts <= ev.TS-d.window || a.n >= d.maxWindow) {
		a.dropOldest() // out of the window, or beyond the cap (the count saturates)
	}
	if a.n == len(a.window) {
		a.grow()
	}
	price := 0.0
	if o.Event == detectors.OrderNew && o.Price > 0 && !math.IsInf(o.Price, 0) {
		price = o.Price
		a.priceSum += price
		a.priced++
	}
	a.window[(a.head+a.n)&(len(a.window)-1)] = stamp{ts: ev.TS, orderID: o.OrderID, price: price, before: before}
	a.n++
	expected := usualPerSecond * float64(d.window) / float64(detectors.Second)
	if a.n >= d.minMessages && float64(a.n) >= d.minRatio*expected {
		// A trigger. (An episode whose gap is over was closed above, at this very event.)
		e := a.ep
		if e == nil {
			e = &episode{acct: a, first: ev.TS, start: a.window[a.head].before, expected: expected, usualRate: usualPerSecond}
			// Evidence starts with the orders of the window that triggered (the last one is
			// added below).
			for i := 0; i < a.n-1 && len(e.orderIDs) < d.maxEvidence; i++ {
				if id := a.window[(a.head+i)&(len(a.window)-1)].orderID; len(e.orderIDs) == 0 || e.orderIDs[len(e.orderIDs)-1] != id {
					e.orderIDs = append(e.orderIDs, id)
				}
			}
			a.ep = e
			if len(s.open) == 0 {
				s.deadline = math.MaxInt64
			}
			s.open = append(s.open, e)
		}
		e.last = ev.TS
		e.atLast = a.total
		e.peak = max(e.peak, a.n)
		if a.priced > 0 {
			e.lastPrice = a.priceSum / float64(a.priced)
			if e.firstPrice == 0 {
				e.firstPrice = e.lastPrice
			}
		}
		s.deadline = min(s.deadline, e.last+d.gap)
	}
	if e := a.ep; e != nil && len(e.orderIDs) < d.maxEvidence && (len(e.orderIDs) == 0 || e.orderIDs[len(e.orderIDs)-1] != o.OrderID) {
		e.orderIDs = append(e.orderIDs, o.OrderID)
	}
}

// settled is 1 − exp(−x), the share of its long-run weight a decayed count has built up after x
// time constants. From x = 38 on, exp(−x) < 2^−54 and the difference rounds to exactly 1: the
// exp, one per message, is skipped once the input is that old.
func settled(x float64) float64 {
	if x >= 38 {
		return 1
	}
	return 1 - math.Exp(-x)
}

func (a *account) dropOldest() {
	if p := a.window[a.head].price; p > 0 {
		a.priceSum -= p
		a.priced--
		if a.priced == 0 {
			a.priceSum = 0 // no drift of rounding errors across quiet spells
		}
	}
	a.head = (a.head + 1) & (len(a.window) - 1)
	a.n--
}

func (a *account) grow() {
	w := make([]stamp, 2*len(a.window))
	for i := 0; i < a.n; i++ {
		w[i] = a.window[(a.head+i)&(len(a.window)-1)]
	}
	a.window, a.head = w, 0
}

// closeDue judges the symbol's episodes whose gap is over (all of them at the end of the input)
// at now, in opening order, and recomputes the symbol's deadline.
func (d *layer) closeDue(s *symbolState, now detectors.Micros, all bool, emit detectors.GroupEmit) {
	s.open, s.deadline = episodes.CloseDue(s.open, now, d.gap, all, lastBurst, func(e *episode) { d.judge(e, now, emit) })
}

func lastBurst(e *episode) detectors.Micros { return e.last }

// judge closes an episode and raises its alert for each configuration of the layer, in the
// order of the group.
func (d *layer) judge(e *episode, now detectors.Micros, emit detectors.GroupEmit) {
	e.acct.ep = nil
	c := counts{
		messages: e.atLast.messages - e.start.messages, news: e.atLast.news - e.start.news,
		fleeting: e.atLast.fleeting - e.start.fleeting, executions: e.atLast.executions - e.start.executions,
	}
	otr := float64(c.messages) / float64(c.executions+1)
	var drift float64
	if e.firstPrice > 0 {
		drift = math.Abs(e.lastPrice-e.firstPrice) / e.firstPrice * 1e4
	}
	for i := range d.scorers {
		sc := &d.scorers[i]
		// The evidence a smaller cap would have kept is a prefix of the layer's (the same ids,
		// appended in the same order, cut earlier).
		ids := e.orderIDs[:min(len(e.orderIDs), sc.maxEvidence)]
		if len(ids) == 0 {
			ids = nil // as a cap of 0 leaves them: no evidence, not an empty list
		}
		emit(sc.config, detectors.Alert{
			Symbol: e.acct.k.symbol, Accounts: []string{e.acct.k.account}, TS: now, WindowStart: e.first, WindowEnd: e.last,
			Score: sc.Score(e.peak, e.expected, c.messages, c.news, c.fleeting, c.executions, drift),
			Evidence: detectors.Evidence{
				OrderIDs: detectors.SortedUnique(ids),
				Features: map[string]float64{
					"peak_messages": float64(e.peak), "messages": float64(c.messages), "new_orders": float64(c.news),
					"fleeting_orders": float64(c.fleeting), "executions": float64(c.executions), "order_to_trade": otr,
					"usual_rate": e.usualRate, "burst_ratio": float64(e.peak) / math.Max(e.expected, 1), "drift_bp": drift,
				},
			},
		})
	}
}

// sweep forgets accounts idle for 5 time constants of the usual rate (under 1% of it left) and
// without an open episode, every `baseline` seconds of event time. Deletion only: the iteration
// order does not matter.
func (d *layer) sweep(now detectors.Micros) {
	for _, s := range d.symbols {
		for name, a := range s.accounts {
			if a.ep == nil && a.last < now-5*d.baseline {
				delete(s.accounts, name)
				d.nAccounts--
			}
		}
	}
	d.nextSweep = now + d.baseline
}

// Flush judges every open episode at its symbol's last order event, symbols in name order.
func (d *layer) Flush(emit detectors.GroupEmit) {
	names := make([]string, 0, len(d.symbols))
	for n, s := range d.symbols {
		if len(s.open) > 0 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		s := d.symbols[n]
		d.closeDue(s, s.last, true, emit)
	}
}
