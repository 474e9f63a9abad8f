// Package washtrade is the wash_trade detector: bursts of trades in which one beneficial owner is
// on both sides, either the same account as maker and taker, or two accounts of the same
// owner_group (from the accounts table).
//
// # Definition
//
// A self-trade is a trade whose maker and taker accounts are equal, or whose two accounts have the
// same non-empty owner_group. Self-trades are grouped by (symbol, owner): the owner is the
// owner_group, or the account itself when it has none. For each (symbol, owner) the detector keeps
// the self-trades of the last `window` seconds. After each self-trade it scores that burst:
//
//	n        = self-trades in the window
//	v        = Σ notional / typical trade notional of the symbol (each trade's ratio taken when it
//	           happened; typical = exp of an EWMA of log(price·qty) over the symbol's trades that
//	           are not self-trades, half-life `typical_halflife` trades)
//	share    = the owner's self-trade notional / all notional it traded in the symbol, both
//	           decayed exponentially with time constant `window` (a market maker whose hedge
//	           hits its own quote twice has a share near 0; a wash trader's is near 1)
//	score    = sqrt( (1 − exp(−n/count_scale)) · (1 − exp(−v/volume_scale)) ) · share^share_exponent
//
// and raises one alert the first time the score reaches min_score, unless an alert for the same
// (symbol, owner) was raised less than `cooldown` seconds before. The burst's trades are then
// forgotten, so a later alert needs fresh self-trades. For an owner that trades only with itself
// (share 1), one self-match of a typical size scores 0.23 (n=1, v=1), below the default min_score
// of 0.5, and three score 0.53.
//
// The alert's accounts are every account on either side of the burst's trades; its window runs
// from the first to the last of them; its evidence lists their trade ids and order ids and the
// features self_trades, same_account_trades, notional, volume_ratio and typical_notional.
//
// # State
//
// Per symbol: one float (the typical notional). Per (symbol, owner) that traded in the last
// 5·window seconds: two decayed sums (total and self-trade notional). Per (symbol, owner) with a
// self-trade in the last `window` seconds or an alert in the last `cooldown` seconds: the burst,
// capped at `max_burst_trades` trades (older ones are dropped from the evidence and the score).
// Every `window` seconds of event time, entries past those horizons are forgotten. At most
// `max_owners` of each are tracked: self-trades of new owners beyond that are ignored, and an
// owner whose volume could not be tracked counts as share 1, until a sweep frees room.
package washtrade

import (
	"math"
	"sort"

	"github.com/fds-dev/fds/detectors"
)

// Name is the detector's registry name.
const Name = "wash_trade"

func init() {
	detectors.Register(detectors.Spec{
		Name:    Name,
		Type:    detectors.WashTrade,
		Summary: "bursts of trades with the same account or owner group on both sides",
		Doc: "A self-trade has the same account, or two accounts of the same owner_group, as maker and taker. " +
			"Per (symbol, owner) the self-trades of the last `window` seconds are scored " +
			"sqrt((1-exp(-n/count_scale))·(1-exp(-v/volume_scale)))·share^share_exponent, n their count, v their notional in " +
			"typical trade notionals and share the owner's self-trade share of its decayed traded notional; an alert fires when the score first reaches min_score, at most once per cooldown.",
		Needs:           []detectors.Kind{detectors.KindTrade},
		NeedsAccounts:   true,
		DefaultMinScore: 0.5,
		Params: []detectors.ParamSpec{
			{Name: "window", Default: 600, Min: 1, Max: 7 * 86400, Unit: "s", Doc: "self-trades of one owner and symbol within this are one burst"},
			{Name: "cooldown", Default: 1800, Min: 0, Max: 7 * 86400, Unit: "s", Doc: "after an alert, no new alert for the same owner and symbol for this long"},
			{Name: "count_scale", Default: 3, Min: 0.1, Max: 1000, Unit: "count", Doc: "self-trade count at which the count term reaches 1-1/e"},
			{Name: "volume_scale", Default: 5, Min: 0.01, Max: 1e6, Unit: "ratio", Doc: "burst notional, in typical trade notionals, at which the volume term reaches 1-1/e"},
			{Name: "share_exponent", Default: 0.5, Min: 0, Max: 10, Unit: "ratio", Doc: "weight of the owner's self-trade share of its volume in the score (0: ignore the share)"},
			{Name: "typical_halflife", Default: 500, Min: 1, Max: 1e7, Unit: "count", Doc: "half-life, in trades, of the typical trade notional's EWMA"},
			{Name: "same_owner_group", Default: 1, Min: 0, Max: 1, Bool: true, Unit: "bool", Doc: "also count trades between two accounts of one owner_group (0: same account only)"},
			{Name: "max_burst_trades", Default: 1000, Min: 1, Max: 1e6, Integer: true, Unit: "count", Doc: "cap on the trades kept per burst"},
			{Name: "max_owners", Default: 100000, Min: 1, Max: 1e8, Integer: true, Unit: "count", Doc: "cap on the (symbol, owner) bursts tracked at once"},
		},
		New: newDetector,
	})
}

type selfTrade struct {
	ts           detectors.Micros
	tradeID      int64
	makerOrderID int64
	takerOrderID int64
	maker, taker string
	notional     float64
	ratio        float64 // notional / typical notional when it happened
}

type burst struct {
	trades    []selfTrade
	lastTrade detectors.Micros
	lastAlert detectors.Micros
	alerted   bool
}

// key names an owner in a symbol: an owner group, or an account without one.
type key struct {
	symbol, owner string
	group         bool
}

// flow is an owner's traded notional in a symbol, decayed with time constant window.
type flow struct {
	total, self float64
	last        detectors.Micros
}

type detector struct {
	window, cooldown            detectors.Micros
	countScale, volumeScale     float64
	shareExponent               float64
	alpha                       float64
	sameGroup                   bool
	maxBurst, maxOwners         int
	minScore                    float64
	owner                       map[string]string // account -> owner group, from Env
	typical                     map[string]float64
	bursts                      map[key]*burst
	flows                       map[key]*flow
	nextSweep                   detectors.Micros
	ownersDropped, tradesCapped int64
}

func newDetector(p detectors.Params, env detectors.Env) (detectors.Detector, error) {
	d := &detector{
		window:        p.Duration("window"),
		cooldown:      p.Duration("cooldown"),
		countScale:    p.Get("count_scale"),
		volumeScale:   p.Get("volume_scale"),
		shareExponent: p.Get("share_exponent"),
		alpha:         1 - math.Exp2(-1/p.Get("typical_halflife")),
		sameGroup:     p.Bool("same_owner_group"),
		maxBurst:      p.Int("max_burst_trades"),
		maxOwners:     p.Int("max_owners"),
		minScore:      p.Get(detectors.MinScoreParam),
		owner:         map[string]string{},
		typical:       map[string]float64{},
		bursts:        map[key]*burst{},
		flows:         map[key]*flow{},
	}
	for id, a := range env.Accounts {
		if a.OwnerGroup != "" {
			d.owner[id] = a.OwnerGroup
		}
	}
	return d, nil
}

// ownerKey returns the owner of an account in a symbol: its owner group, or the account itself.
func (d *detector) ownerKey(symbol, account string) key {
	if g := d.owner[account]; g != "" {
		return key{symbol, g, true}
	}
	return key{symbol, account, false}
}

// addFlow adds a trade's notional to an owner's decayed totals and returns the owner's
// self-trade share, or 1 when the owner cannot be tracked (max_owners reached).
func (d *detector) addFlow(k key, now detectors.Micros, notional float64, self bool) float64 {
	f := d.flows[k]
	if f == nil {
		if len(d.flows) >= d.maxOwners {
			return 1
		}
		f = &flow{last: now}
		d.flows[k] = f
	}
	if now > f.last {
		decay := math.Exp(-float64(now-f.last) / float64(d.window))
		f.total *= decay
		f.self *= decay
		f.last = now
	}
	f.total += notional
	if self {
		f.self += notional
	}
	if f.total <= 0 {
		return 1
	}
	return math.Min(1, f.self/f.total)
}

// score is the burst score of n self-trades worth v typical notionals.
func (d *detector) score(n int, v float64) float64 {
	return math.Sqrt((1 - math.Exp(-float64(n)/d.countScale)) * (1 - math.Exp(-v/d.volumeScale)))
}

func (d *detector) OnEvent(ev *detectors.Event, emit detectors.Emit) {
	if ev.Kind != detectors.KindTrade {
		return
	}
	if ev.TS >= d.nextSweep {
		d.sweep(ev.TS)
	}
	t := &ev.Trade
	if t.MakerAccount == "" || t.TakerAccount == "" {
		return // public data: no accounts, nothing to relate
	}
	notional := math.Abs(t.Price * t.Qty)
	km, kt := d.ownerKey(ev.Symbol, t.MakerAccount), d.ownerKey(ev.Symbol, t.TakerAccount)
	self := t.MakerAccount == t.TakerAccount || (km.group && km == kt && d.sameGroup)
	logTypical, seen := d.typical[ev.Symbol]
	if !self {
		d.addFlow(km, ev.TS, notional, false)
		if kt != km {
			d.addFlow(kt, ev.TS, notional, false)
		}
		if notional > 0 {
			if !seen {
				d.typical[ev.Symbol] = math.Log(notional)
			} else {
				d.typical[ev.Symbol] = logTypical + d.alpha*(math.Log(notional)-logTypical)
			}
		}
		return
	}
	k := km
	if t.MakerAccount == t.TakerAccount && !km.group {
		k = key{ev.Symbol, t.MakerAccount, false}
	}
	share := d.addFlow(k, ev.TS, notional, true)
	typical := notional
	if seen {
		typical = math.Exp(logTypical)
	}
	ratio := 1.0
	if typical > 0 {
		ratio = notional / typical
	}
	b := d.bursts[k]
	if b == nil {
		if len(d.bursts) >= d.maxOwners {
			d.ownersDropped++
			return
		}
		b = &burst{}
		d.bursts[k] = b
	}
	// Drop trades that left the window, and the oldest beyond the cap.
	cut := 0
	for cut < len(b.trades) && b.trades[cut].ts < ev.TS-d.window {
		cut++
	}
	if len(b.trades)-cut >= d.maxBurst {
		cut = len(b.trades) - d.maxBurst + 1
		d.tradesCapped++
	}
	if cut > 0 {
		b.trades = append(b.trades[:0], b.trades[cut:]...)
	}
	b.trades = append(b.trades, selfTrade{
		ts: ev.TS, tradeID: t.TradeID, makerOrderID: t.MakerOrderID, takerOrderID: t.TakerOrderID,
		maker: t.MakerAccount, taker: t.TakerAccount, notional: notional, ratio: ratio,
	})
	b.lastTrade = ev.TS
	if b.alerted && ev.TS < b.lastAlert+d.cooldown {
		return
	}
	var v, sumNotional float64
	sameAccount := 0
	for i := range b.trades {
		v += b.trades[i].ratio
		sumNotional += b.trades[i].notional
		if b.trades[i].maker == b.trades[i].taker {
			sameAccount++
		}
	}
	n := len(b.trades)
	s := d.score(n, v) * math.Pow(share, d.shareExponent)
	if s < d.minScore {
		return
	}
	a := detectors.Alert{
		Symbol: ev.Symbol, TS: ev.TS, WindowStart: b.trades[0].ts, WindowEnd: ev.TS, Score: s,
		Evidence: detectors.Evidence{Features: map[string]float64{
			"self_trades": float64(n), "same_account_trades": float64(sameAccount), "notional": sumNotional,
			"volume_ratio": v, "typical_notional": typical, "self_share": share,
		}},
	}
	for i := range b.trades {
		st := &b.trades[i]
		a.Accounts = append(a.Accounts, st.maker, st.taker)
		a.Evidence.TradeIDs = append(a.Evidence.TradeIDs, st.tradeID)
		for _, id := range []int64{st.makerOrderID, st.takerOrderID} {
			if id != 0 {
				a.Evidence.OrderIDs = append(a.Evidence.OrderIDs, id)
			}
		}
	}
	a.Accounts = detectors.SortAccounts(a.Accounts)
	a.Evidence.OrderIDs = uniqueIDs(a.Evidence.OrderIDs)
	emit(a)
	b.alerted, b.lastAlert = true, ev.TS
	b.trades = b.trades[:0]
}

func uniqueIDs(ids []int64) []int64 {
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := ids[:0]
	for i, x := range ids {
		if i == 0 || x != ids[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// sweep forgets bursts with no self-trade in the window and no alert in the cooldown. Deleting
// from a map in any order gives the same state, so the iteration order does not matter.
func (d *detector) sweep(now detectors.Micros) {
	for k, b := range d.bursts {
		if b.lastTrade < now-d.window && (!b.alerted || b.lastAlert < now-d.cooldown) {
			delete(d.bursts, k)
		}
	}
	// After 5 time constants a flow keeps under 1% of its weight.
	for k, f := range d.flows {
		if f.last < now-5*d.window {
			delete(d.flows, k)
		}
	}
	d.nextSweep = now + d.window
}

// Flush has nothing to do: alerts are raised as soon as a burst's score reaches min_score.
func (d *detector) Flush(detectors.Emit) {}
