// Package pumpdump is the pump_and_dump detector: a symbol-level detector of the coordinated buying
// bursts of Telegram pump groups, from public trades alone (no account ids needed), after La Morgia
// et al. 2020, "Pump and dumps in the Bitcoin era".
//
// # Definition
//
// Time is cut into chunks of `chunk` seconds aligned to the epoch. A rush order is the set of trades
// of one symbol with the same taker side in the same millisecond (one aggressive order sweeping the
// book prints several trades at once; pump participants send market buys all at once). For each
// symbol and chunk the detector aggregates the buy rush orders R, the trades T, the traded notional
// V (price·qty) and the highest price H. Each is compared with a rolling baseline: the chunks of the
// previous `baseline` seconds (empty chunks count as zeros), kept as running sums in a ring buffer:
//
//	zR = (R − mean R) / (sd R + 1)     zT = (T − mean T) / (sd T + 1)
//	zV = (V − mean V) / (sd V + mean V + ε)    (the +1 and +mean floors keep a quiet
//	                                             baseline from turning one trade into z=∞)
//	ret = H / P − 1                    P = the last price before the chunk
//
// The suspicion of a chunk rises with each: every factor is squashed into [0, 1) and the score is
// their weighted geometric mean
//
//	score = (sR^2 · sT · sV · sP)^(1/5),   sX = 1 − exp(−max(zX, 0)/z_scale),  sP = 1 − exp(−max(ret, 0)/return_scale)
//
// (rush orders weigh double: they are what sets a pump apart from an ordinary busy minute), and is
// 0 unless the chunk has at least `min_rush_orders` buy rush orders and ret ≥ `min_return` (sell
// rush orders are not held against it: early buyers dump into the pump within seconds). A chunk is
// scored when it closes, i.e. at the symbol's first trade after the chunk's end (or at the last
// event of the input). The symbol's own trades are the detector's clock: symbols are independent,
// so sharding the input by symbol changes nothing.
//
// Consecutive chunks that score (score > 0, with at least `warmup` seconds of the symbol's history
// in the baseline) are one burst. A burst is judged when it ends (when its next chunk closes
// without scoring, or at the symbol's first trade after that chunk's end, or at the end of the
// input) or, at the latest, when its `max_burst_chunks`-th chunk closes (its later chunks are then
// ignored until it ends): a pump that keeps climbing for minutes is reported within two chunks.
//
// A chunk that continues a burst is compared with the baseline before the burst (the ring less
// the burst's earlier chunks: they are not normal trading), and the burst's chunks so far are
// also judged together, as one window: their summed R, T and V against the mean and sd of the
// sums of as many consecutive chunks of that baseline, and the return of their highest price over
// the last price before the burst. A pump whose rush straddles a chunk boundary (half of it in
// each chunk) is so judged on all of its evidence against a baseline of the same length. The
// burst's score is the best of its windows (each chunk alone, and its first k chunks together).
//
// It raises one alert, at that time, scored by its best window so far, unless an
// alert of the same symbol was raised less than `cooldown` seconds before (measured between the
// best chunks' first trades) with a score at least as high: a pre-pump by the organisers minutes
// before the signal must not hide the pump itself. Each alert restarts the cooldown. Bursts,
// alerts and the cooldown never depend on min_score, which only filters: a run at min_score t
// raises exactly the alerts of a run at 0 that score at least t.
//
// The alert's window runs from the burst's first chunk to the end of its last. Evidence, of the
// best window: the features rush_orders, trades, notional, return, z_rush, z_trades, z_notional,
// baseline_rush_mean, baseline_trades_mean and baseline_notional_mean (the baseline's means for
// a window of that length), window_chunks (1 for a single chunk), and the ids of up to 50 of its
// trades; burst_chunks counts the burst's chunks. When trades carry accounts, the alert's
// accounts are those that bought (net, as taker or maker) at least `accumulation_share` of the
// symbol's net bought quantity during the baseline before the best window and sold during it: who
// accumulated and sold into the pump. On public data the alert has no accounts.
//
// # State
//
// Per symbol: a ring of baseline/chunk chunk aggregates (576 for the defaults), the open chunk,
// the open burst's sums and, only when trades carry accounts, net positions of at most `max_accounts` accounts over
// the baseline (the oldest-updated are evicted beyond that).
//
// # Groups
//
// A group of configurations (a sweep, detectors.Spec.NewGroup) keeps the chunk aggregates, the
// ring and the account book once per distinct value of the parameters they depend on (chunk,
// baseline, max_accounts), and computes a closed chunk's z-scores against the whole baseline once
// for them; per configuration remain the score of each window, the open burst (a burst's later
// chunks are compared with the baseline less its own, and which chunks score depends on the
// configuration) and the cooldown. A single instance is a group of one.
package pumpdump

import (
	"math"
	"sort"

	"github.com/fds-dev/fds/detectors"
)

// Name is the detector's registry name.
const Name = "pump_and_dump"

// maxEvidenceTrades caps the trade ids kept as evidence of one chunk.
const maxEvidenceTrades = 50

func init() {
	detectors.Register(detectors.Spec{
		Name:    Name,
		Type:    detectors.PumpAndDump,
		Summary: "bursts of buy rush orders, trades, notional and price against the symbol's rolling baseline",
		Doc: "Per symbol and `chunk`-second chunk: buy rush orders R (same-millisecond same-side trades as one order), " +
			"trades T, notional V and return of the high over the last price before the chunk, against the previous " +
			"`baseline` seconds of chunks. z-scores with floors, each squashed 1-exp(-z/z_scale); score = weighted " +
			"geometric mean (rush orders double). Consecutive scoring chunks are a burst, judged when it ends or at max_burst_chunks, by its best window " +
			"(each chunk against the baseline before the burst, and its chunks together against the sums of as many baseline chunks); within " +
			"`cooldown` seconds after an alert only a higher-scoring burst alerts. Accounts (when trades carry them): who accumulated before and sold into the burst.",
		Needs:           []detectors.Kind{detectors.KindTrade},
		DefaultMinScore: 0.75,
		Params: []detectors.ParamSpec{
			{Name: "chunk", Default: 25, Min: 1, Max: 3600, Unit: "s", Doc: "length of the chunks trades are aggregated in (La Morgia et al. use 5, 15 and 25 s)"},
			{Name: "baseline", Default: 4 * 3600, Min: 60, Max: 7 * 86400, Unit: "s", Doc: "the rolling baseline: chunks of this many seconds before the scored one"},
			{Name: "warmup", Default: 1800, Min: 0, Max: 7 * 86400, Unit: "s", Doc: "no alert before the symbol has this much history"},
			{Name: "max_burst_chunks", Default: 2, Min: 1, Max: 1e6, Unit: "count", Integer: true, Doc: "a burst is judged at the latest when it has this many chunks (its later chunks are not scored again)"},
			{Name: "cooldown", Default: 3600, Min: 0, Max: 7 * 86400, Unit: "s", Doc: "after an alert, only a higher-scoring burst of the symbol alerts for this long"},
			{Name: "min_rush_orders", Default: 5, Min: 1, Max: 1e6, Unit: "count", Integer: true, Doc: "buy rush orders a chunk needs to be scored"},
			{Name: "min_return", Default: 0.01, Min: 0, Max: 100, Unit: "ratio", Doc: "rise of the chunk's high over the last price before it that a chunk needs to be scored"},
			{Name: "z_scale", Default: 10, Min: 0.01, Max: 1e6, Unit: "ratio", Doc: "z-score at which a count factor reaches 1-1/e"},
			{Name: "return_scale", Default: 0.05, Min: 1e-6, Max: 100, Unit: "ratio", Doc: "return at which the price factor reaches 1-1/e"},
			{Name: "accumulation_share", Default: 0.05, Min: 0, Max: 1, Unit: "ratio", Doc: "share of the baseline's net buying an account needs to be named as an accumulator"},
			{Name: "max_accounts", Default: 10000, Min: 1, Max: 1e7, Unit: "count", Integer: true, Doc: "accounts tracked per symbol for the evidence"},
		},
		NewGroup: newGroup,
	})
}

// group is the layers of a group of configurations, in the order of their first configuration.
type group struct {
	layers []*Detector
}

// stateKey is the values of the parameters a layer's state depends on.
type stateKey struct {
	chunk, baseline detectors.Micros
	maxAccounts     int
}

func newGroup(ps []detectors.Params, env detectors.Env) (detectors.Group, error) {
	layerOf, n := detectors.Layers(len(ps), func(i int) stateKey {
		return stateKey{chunk: ps[i].Duration("chunk"), baseline: ps[i].Duration("baseline"), maxAccounts: ps[i].Int("max_accounts")}
	})
	g := &group{layers: make([]*Detector, n)}
	for i, p := range ps {
		if g.layers[layerOf[i]] == nil {
			g.layers[layerOf[i]] = newLayer(p)
		}
		g.layers[layerOf[i]].addConfig(i, p)
	}
	return g, nil
}

// OnEvent feeds the event to every layer: a configuration's alerts come from its layer alone, in
// the order a separate instance raises them.
func (g *group) OnEvent(ev *detectors.Event, emit detectors.GroupEmit) {
	for _, d := range g.layers {
		d.onEvent(ev, emit)
	}
}

// Flush flushes every layer.
func (g *group) Flush(emit detectors.GroupEmit) {
	for _, d := range g.layers {
		d.flush(emit)
	}
}

// config is the part of a configuration that decides which chunks score, how bursts are judged
// and the cooldown: it is kept per configuration of a group.
type config struct {
	index                          int // in the group
	warmup, cooldown               detectors.Micros
	minRush, maxBurstChunks        int
	minReturn, zScale, returnScale float64
	accShare                       float64
}

// configState is a configuration's state in one symbol.
type configState struct {
	quietUntil detectors.Micros
	// quietScore is the score of the alert that started the cooldown: a stronger burst within
	// the cooldown still alerts (a set-up burst must not hide the pump minutes later).
	quietScore float64
	// burst is the open burst, nil when the last closed chunk did not score.
	burst *burst
}

// Detector is the pump_and_dump detector: the state of the configurations sharing the
// parameters it depends on (a layer of a group), and their configurations. New builds one of a
// single configuration.
type Detector struct {
	chunk, baseline detectors.Micros
	maxAccounts     int
	ringLen         int
	configs         []config

	symbols map[string]*symbolState

	// onChunk, when set (tests, tuning), receives every scored chunk, once per configuration.
	onChunk func(sym string, start detectors.Micros, f Features)
}

// New builds the detector of one configuration from resolved parameters.
func New(p detectors.Params) *Detector {
	d := newLayer(p)
	d.addConfig(0, p)
	return d
}

// newLayer builds the shared state of the configurations with p's chunk, baseline and
// max_accounts, without configurations.
func newLayer(p detectors.Params) *Detector {
	d := &Detector{
		chunk:       p.Duration("chunk"),
		baseline:    p.Duration("baseline"),
		maxAccounts: p.Int("max_accounts"),
		symbols:     map[string]*symbolState{},
	}
	if d.chunk <= 0 {
		d.chunk = detectors.Second
	}
	d.ringLen = int(max(1, d.baseline/d.chunk))
	return d
}

// addConfig adds configuration index of the group; it must precede the first event.
func (d *Detector) addConfig(index int, p detectors.Params) {
	d.configs = append(d.configs, config{
		index:          index,
		warmup:         p.Duration("warmup"),
		cooldown:       p.Duration("cooldown"),
		minRush:        p.Int("min_rush_orders"),
		maxBurstChunks: p.Int("max_burst_chunks"),
		minReturn:      p.Get("min_return"),
		zScale:         p.Get("z_scale"),
		returnScale:    p.Get("return_scale"),
		accShare:       p.Get("accumulation_share"),
	})
}

// Features are the figures of one scored window: a chunk, or the first Chunks chunks of a burst
// taken together (their sums against the sums of as many consecutive chunks of the baseline).
type Features struct {
	RushOrders, SellRushOrders, Trades int
	Notional, High, Reference, Return  float64
	ZRush, ZTrades, ZNotional          float64
	MeanRush, MeanTrades, MeanNotional float64
	History                            detectors.Micros
	Chunks                             int
	Score                              float64
}

// chunkAgg aggregates one symbol's open chunk.
type chunkAgg struct {
	rushBuys, rushSells, trades int
	notional, high              float64
	lastMs                      int64
	lastSide                    detectors.Side
	first, last                 float64
	tradeIDs                    []int64
	firstTS                     detectors.Micros
	// delta is each account's net bought quantity in this chunk (only when trades carry accounts).
	delta map[string]float64
}

type stat struct {
	rush, trades, notional float64
}

type symbolState struct {
	name string
	ring []stat
	// next is the ring slot of chunk `pushed+1`; filled counts valid slots.
	next, filled int
	pushed       int64 // id of the last chunk pushed into the ring
	chunkID      int64 // id (ts / chunk) of the open chunk, when cur has trades
	adds         int   // chunks added since the last exact recomputation of the sums
	hasPushed    bool
	sum, sumSq   stat
	firstTS      detectors.Micros
	lastPrice    float64
	cur          chunkAgg
	// configs is each configuration's state, in the order of Detector.configs; open counts
	// their open bursts.
	configs   []configState
	open      int
	lastTrade detectors.Micros // ts of the symbol's last trade
	accounts  *accountBook
}

// burst is a run of consecutive scoring chunks of one symbol, the sums of the chunks judged so
// far (the burst as one window) and the evidence of its best window.
type burst struct {
	firstChunk, lastChunk int64
	chunks                int
	judged                bool // max_burst_chunks reached: judged, its later chunks ignored
	best                  Features
	bestFirstTS           detectors.Micros
	bestTradeIDs          []int64
	bestAccounts          []string

	// The burst's judged chunks taken together.
	rushBuys, rushSells, trades int
	notional, high, reference   float64
	firstTS                     detectors.Micros
	history                     detectors.Micros
	tradeIDs                    []int64
	delta                       map[string]float64 // net bought per account (only with accounts)
}

// OnEvent implements detectors.Detector for a detector of one configuration (New).
func (d *Detector) OnEvent(ev *detectors.Event, emit detectors.Emit) {
	d.onEvent(ev, func(_ int, a detectors.Alert) { emit(a) })
}

// Flush implements detectors.Detector for a detector of one configuration (New).
func (d *Detector) Flush(emit detectors.Emit) {
	d.flush(func(_ int, a detectors.Alert) { emit(a) })
}

func (d *Detector) onEvent(ev *detectors.Event, emit detectors.GroupEmit) {
	if ev.Kind != detectors.KindTrade {
		return
	}
	if t := &ev.Trade; !(t.Price > 0) || !(t.Qty > 0) || math.IsInf(t.Price, 0) || math.IsInf(t.Qty, 0) ||
		(t.TakerSide != detectors.Buy && t.TakerSide != detectors.Sell) {
		// A trade no venue can print (validated data has none) would poison the running sums.
		return
	}
	s := d.symbols[ev.Symbol]
	if s == nil {
		s = &symbolState{name: ev.Symbol, ring: make([]stat, d.ringLen), firstTS: ev.TS, configs: make([]configState, len(d.configs))}
		d.symbols[ev.Symbol] = s
	}
	t := &ev.Trade
	c := &s.cur
	s.lastTrade = ev.TS
	id := floorDiv(ev.TS, d.chunk)
	if c.trades > 0 && id != s.chunkID {
		d.closeChunk(s, ev.TS, emit)
	}
	if s.open > 0 {
		for k := range s.configs {
			if b := s.configs[k].burst; b != nil && id > b.lastChunk+1 {
				d.endBurst(s, k, ev.TS, emit) // the chunk after the burst had no trades
			}
		}
	}
	if c.trades == 0 {
		s.chunkID = id
		if s.hasPushed && id-s.pushed > int64(d.ringLen) {
			// A gap longer than the baseline (two data windows of one symbol months apart):
			// the history starts again, warm-up included.
			s.firstTS = ev.TS
		}
		c.firstTS = ev.TS
		c.first = t.Price
		c.lastMs = math.MinInt64
	}
	c.last = t.Price
	ms := floorDiv(ev.TS, detectors.Millisecond)
	if ms != c.lastMs || t.TakerSide != c.lastSide {
		if t.TakerSide == detectors.Buy {
			c.rushBuys++
		} else {
			c.rushSells++
		}
		c.lastMs, c.lastSide = ms, t.TakerSide
	}
	c.trades++
	c.notional += t.Price * t.Qty
	c.high = max(c.high, t.Price)
	if len(c.tradeIDs) < maxEvidenceTrades {
		c.tradeIDs = append(c.tradeIDs, t.TradeID)
	}
	if t.TakerAccount != "" || t.MakerAccount != "" {
		d.trackAccounts(s, ev)
	}
}

// flush scores, by symbol name, each symbol's open chunk and judges its open bursts at the
// symbol's last trade (a symbol's clock is its own trades, so a sharded run flushes the same
// alerts).
func (d *Detector) flush(emit detectors.GroupEmit) {
	names := make([]string, 0, len(d.symbols))
	for n := range d.symbols {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := d.symbols[n]
		if s.cur.trades > 0 {
			d.closeChunk(s, s.lastTrade, emit)
		}
		for k := range s.configs {
			if s.configs[k].burst != nil {
				d.endBurst(s, k, s.lastTrade, emit)
			}
		}
	}
}

// closeChunk scores a symbol's open chunk at time now and pushes it into the baseline.
func (d *Detector) closeChunk(s *symbolState, now detectors.Micros, emit detectors.GroupEmit) {
	d.fillGap(s)
	d.score(s, now, emit)
	c := &s.cur
	s.add(stat{rush: float64(c.rushBuys), trades: float64(c.trades), notional: c.notional}, d.ringLen)
	s.pushed, s.hasPushed = s.chunkID, true
	s.lastPrice = c.last
	s.cur = chunkAgg{tradeIDs: c.tradeIDs[:0]}
}

// fillGap pushes the empty chunks between the last pushed chunk and the open one as zeros, so
// that the ring is exactly the `baseline` seconds before the open chunk; a gap longer than the
// ring empties it.
func (d *Detector) fillGap(s *symbolState) {
	if !s.hasPushed {
		return
	}
	gap := s.chunkID - s.pushed - 1
	if gap >= int64(d.ringLen) {
		s.next, s.filled, s.sum, s.sumSq, s.adds = 0, 0, stat{}, stat{}, 0
		clear(s.ring)
		return
	}
	for i := int64(0); i < gap; i++ {
		s.add(stat{}, d.ringLen)
	}
}

func (s *symbolState) add(x stat, n int) {
	if s.filled == n {
		old := s.ring[s.next]
		s.sum.rush -= old.rush
		s.sum.trades -= old.trades
		s.sum.notional -= old.notional
		s.sumSq.rush -= old.rush * old.rush
		s.sumSq.trades -= old.trades * old.trades
		s.sumSq.notional -= old.notional * old.notional
	} else {
		s.filled++
	}
	s.ring[s.next] = x
	s.next = (s.next + 1) % n
	s.sum.rush += x.rush
	s.sum.trades += x.trades
	s.sum.notional += x.notional
	s.sumSq.rush += x.rush * x.rush
	s.sumSq.trades += x.trades * x.trades
	s.sumSq.notional += x.notional * x.notional
	// Subtracting what leaves the window accumulates rounding error over an endless stream:
	// once per ring length, the sums are recomputed exactly (amortised O(1) per chunk).
	s.adds++
	if s.adds%n == 0 {
		s.sum, s.sumSq = stat{}, stat{}
		for _, v := range s.ring[:s.filled] {
			s.sum.rush += v.rush
			s.sum.trades += v.trades
			s.sum.notional += v.notional
			s.sumSq.rush += v.rush * v.rush
			s.sumSq.trades += v.trades * v.trades
			s.sumSq.notional += v.notional * v.notional
		}
	}
}

// baselineStats returns the mean and standard deviation of the chunks in the ring: after
// fillGap, exactly the `baseline` seconds before the open chunk (fewer at the start of a history).
func (d *Detector) baselineStats(s *symbolState) (mean, sd stat) {
	n := float64(s.filled)
	if n == 0 {
		return stat{}, stat{}
	}
	sum, sq := s.sum, s.sumSq
	mean = stat{sum.rush / n, sum.trades / n, sum.notional / n}
	sd = stat{
		math.Sqrt(max(sq.rush/n-mean.rush*mean.rush, 0)),
		math.Sqrt(max(sq.trades/n-mean.trades*mean.trades, 0)),
		math.Sqrt(max(sq.notional/n-mean.notional*mean.notional, 0)),
	}
	return mean, sd
}

// windowStats returns the mean and standard deviation of the sums of `length` consecutive chunks
// of the ring, leaving out its newest `exclude` chunks (the open burst's own, which are not
// baseline). It scans the ring (at most baseline/chunk slots), which only chunks of a burst need.
func (d *Detector) windowStats(s *symbolState, length, exclude int) (mean, sd stat) {
	if length == 1 && exclude == 0 {
		return d.baselineStats(s)
	}
	m := s.filled - exclude
	windows := m - length + 1
	if windows <= 0 || length < 1 {
		return stat{}, stat{}
	}
	n := len(s.ring)
	oldest := (s.next - s.filled + n) % n
	at := func(i int) stat { return s.ring[(oldest+i)%n] }
	sums := func(visit func(w stat)) {
		var w stat
		for i := 0; i < m; i++ {
			x := at(i)
			w.rush += x.rush
			w.trades += x.trades
			w.notional += x.notional
			if i >= length {
				o := at(i - length)
				w.rush -= o.rush
				w.trades -= o.trades
				w.notional -= o.notional
			}
			if i >= length-1 {
				visit(w)
			}
		}
	}
	k := float64(windows)
	sums(func(w stat) { mean.rush += w.rush; mean.trades += w.trades; mean.notional += w.notional })
	mean = stat{mean.rush / k, mean.trades / k, mean.notional / k}
	var v stat
	sums(func(w stat) {
		v.rush += (w.rush - mean.rush) * (w.rush - mean.rush)
		v.trades += (w.trades - mean.trades) * (w.trades - mean.trades)
		v.notional += (w.notional - mean.notional) * (w.notional - mean.notional)
	})
	sd = stat{math.Sqrt(v.rush / k), math.Sqrt(v.trades / k), math.Sqrt(v.notional / k)}
	return mean, sd
}

// score computes a window's score from its features: see the package doc.
func (c *config) score(f *Features) float64 {
	if f.RushOrders < c.minRush || f.Return < c.minReturn {
		return 0
	}
	sq := func(z float64) float64 { return 1 - math.Exp(-max(z, 0)/c.zScale) }
	sR, sT, sV := sq(f.ZRush), sq(f.ZTrades), sq(f.ZNotional)
	sP := 1 - math.Exp(-max(f.Return, 0)/c.returnScale)
	return math.Pow(sR*sR*sT*sV*sP, 1.0/5)
}

// features compares the open chunk with the ring less its newest `exclude` chunks (those of
// the open burst it continues); the score is left to each configuration.
func (d *Detector) features(s *symbolState, exclude int) Features {
	c := &s.cur
	f := Features{
		RushOrders: c.rushBuys, SellRushOrders: c.rushSells, Trades: c.trades,
		Notional: c.notional, High: c.high, Reference: s.lastPrice,
		History: c.firstTS - s.firstTS, Chunks: 1,
	}
	if f.Reference <= 0 {
		f.Reference = c.first
	}
	mean, sd := d.windowStats(s, 1, exclude)
	d.compare(&f, mean, sd)
	return f
}

// burstFeatures compares the burst's judged chunks taken together (the open chunk, already added to
// the burst, and the ring's newest b.chunks-1 chunks) against the sums of b.chunks consecutive
// chunks of the baseline before the burst: a pump whose rush straddles a chunk boundary is judged
// on all of it, against a baseline of the same length.
func (d *Detector) burstFeatures(s *symbolState, b *burst) Features {
	f := Features{
		RushOrders: b.rushBuys, SellRushOrders: b.rushSells, Trades: b.trades,
		Notional: b.notional, High: b.high, Reference: b.reference,
		History: b.history, Chunks: b.chunks,
	}
	mean, sd := d.windowStats(s, b.chunks, b.chunks-1)
	d.compare(&f, mean, sd)
	return f
}

// compare sets a window's return and z-scores against the baseline's mean and sd of windows of
// the same length.
func (d *Detector) compare(f *Features, mean, sd stat) {
	f.MeanRush, f.MeanTrades, f.MeanNotional = mean.rush, mean.trades, mean.notional
	if f.Reference > 0 {
		f.Return = f.High/f.Reference - 1
	}
	f.ZRush = (float64(f.RushOrders) - mean.rush) / (sd.rush + 1)
	f.ZTrades = (float64(f.Trades) - mean.trades) / (sd.trades + 1)
	// The window's own mean trade notional floors the spread: with an empty baseline zV is
	// about the trade count, as zT is, instead of infinite.
	f.ZNotional = (f.Notional - mean.notional) / (sd.notional + mean.notional + f.Notional/float64(max(f.Trades, 1)))
}

// score judges the open chunk for every configuration: against the whole baseline (computed
// once) or, when it continues the configuration's open burst, the baseline before the burst.
func (d *Detector) score(s *symbolState, now detectors.Micros, emit detectors.GroupEmit) {
	var whole Features
	wholeKnown := false
	for k := range d.configs {
		cf := &d.configs[k]
		st := &s.configs[k]
		b := st.burst
		if b != nil && s.chunkID != b.lastChunk+1 {
			d.endBurst(s, k, now, emit)
			b = nil
		}
		// A chunk continuing a burst is compared with the baseline before the burst: the burst's
		// earlier chunks are not normal trading.
		exclude := 0
		if b != nil {
			exclude = int(min(b.lastChunk-b.firstChunk+1, int64(s.filled)))
		}
		var f Features
		if exclude == 0 {
			if !wholeKnown {
				whole, wholeKnown = d.features(s, 0), true
			}
			f = whole
		} else {
			f = d.features(s, exclude)
		}
		f.Score = cf.score(&f)
		if d.onChunk != nil {
			d.onChunk(s.name, s.chunkID*d.chunk, f)
		}
		if !(f.Score > 0) || f.History < cf.warmup {
			if b != nil {
				d.endBurst(s, k, now, emit)
			}
			continue
		}
		if b == nil {
			b = &burst{firstChunk: s.chunkID, reference: f.Reference, firstTS: s.cur.firstTS, history: f.History}
			st.burst = b
			s.open++
		}
		b.lastChunk = s.chunkID
		if b.judged {
			continue // the burst was judged at max_burst_chunks; it only has to end
		}
		c := &s.cur
		b.chunks++
		b.rushBuys += c.rushBuys
		b.rushSells += c.rushSells
		b.trades += c.trades
		b.notional += c.notional
		b.high = max(b.high, c.high)
		b.tradeIDs = append(b.tradeIDs, c.tradeIDs[:min(len(c.tradeIDs), maxEvidenceTrades-len(b.tradeIDs))]...)
		if s.accounts != nil {
			if b.delta == nil {
				b.delta = map[string]float64{}
			}
			for acct, q := range c.delta {
				if _, ok := b.delta[acct]; ok || len(b.delta) < d.maxAccounts {
					b.delta[acct] += q
				}
			}
		}
		if b.chunks == 1 || f.Score > b.best.Score {
			b.best, b.bestFirstTS = f, c.firstTS
			b.bestTradeIDs = append(b.bestTradeIDs[:0], c.tradeIDs...)
			b.bestAccounts = nil
			if s.accounts != nil {
				b.bestAccounts = s.accounts.accumulators(c.delta, cf.accShare)
			}
		}
		if b.chunks > 1 {
			w := d.burstFeatures(s, b)
			if w.Score = cf.score(&w); w.Score > b.best.Score {
				b.best, b.bestFirstTS = w, b.firstTS
				b.bestTradeIDs = append(b.bestTradeIDs[:0], b.tradeIDs...)
				b.bestAccounts = nil
				if s.accounts != nil {
					b.bestAccounts = s.accounts.accumulators(b.delta, cf.accShare)
				}
			}
		}
		if b.chunks >= cf.maxBurstChunks {
			d.judge(s, k, b, now, emit)
		}
	}
}

// endBurst ends configuration k's open burst in the symbol at now, judging it if
// max_burst_chunks did not.
func (d *Detector) endBurst(s *symbolState, k int, now detectors.Micros, emit detectors.GroupEmit) {
	b := s.configs[k].burst
	s.configs[k].burst = nil
	s.open--
	if !b.judged {
		d.judge(s, k, b, now, emit)
	}
}

// judge raises a burst's alert at now, unless the cooldown of an alert at least as high hides it.
func (d *Detector) judge(s *symbolState, k int, b *burst, now detectors.Micros, emit detectors.GroupEmit) {
	b.judged = true
	f := &b.best
	st := &s.configs[k]
	if b.bestFirstTS < st.quietUntil && f.Score <= st.quietScore {
		return
	}
	st.quietUntil, st.quietScore = b.bestFirstTS+d.configs[k].cooldown, f.Score
	a := detectors.Alert{
		Symbol:      s.name,
		TS:          now,
		WindowStart: b.firstChunk * d.chunk,
		WindowEnd:   (b.lastChunk + 1) * d.chunk,
		Score:       f.Score,
		Accounts:    b.bestAccounts,
		Evidence: detectors.Evidence{
			TradeIDs: b.bestTradeIDs,
			Features: map[string]float64{
				"rush_orders":            float64(f.RushOrders),
				"sell_rush_orders":       float64(f.SellRushOrders),
				"trades":                 float64(f.Trades),
				"notional":               f.Notional,
				"return":                 f.Return,
				"z_rush":                 f.ZRush,
				"z_trades":               f.ZTrades,
				"z_notional":             f.ZNotional,
				"baseline_rush_mean":     f.MeanRush,
				"baseline_trades_mean":   f.MeanTrades,
				"baseline_notional_mean": f.MeanNotional,
				"burst_chunks":           float64(b.chunks),
				"window_chunks":          float64(f.Chunks),
			},
		},
	}
	if len(a.Accounts) > 0 {
		a.Evidence.Note = "accounts accumulated before the burst and sold into it"
	}
	emit(d.configs[k].index, a)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// accountBook tracks accounts' net bought quantity of one symbol over the baseline, as an
// exponentially decaying sum (time constant = baseline) so that it needs no per-trade history.
type accountBook struct {
	net map[string]*netPos
	tau float64
	max int
}

type netPos struct {
	qty float64
	at  detectors.Micros
}

func (d *Detector) trackAccounts(s *symbolState, ev *detectors.Event) {
	if s.accounts == nil {
		s.accounts = &accountBook{net: map[string]*netPos{}, tau: float64(d.baseline), max: d.maxAccounts}
	}
	t := &ev.Trade
	buyer, seller := t.TakerAccount, t.MakerAccount
	if t.TakerSide == detectors.Sell {
		buyer, seller = seller, buyer
	}
	if s.cur.delta == nil {
		s.cur.delta = map[string]float64{}
	}
	for _, side := range [2]struct {
		acct string
		qty  float64
	}{{buyer, t.Qty}, {seller, -t.Qty}} {
		if side.acct == "" {
			continue
		}
		s.accounts.add(side.acct, side.qty, ev.TS)
		if len(s.cur.delta) < d.maxAccounts {
			s.cur.delta[side.acct] += side.qty
		}
	}
}

func (b *accountBook) decayed(p *netPos, now detectors.Micros) float64 {
	return p.qty * math.Exp(-float64(now-p.at)/b.tau)
}

func (b *accountBook) add(acct string, qty float64, now detectors.Micros) {
	if acct == "" {
		return
	}
	p := b.net[acct]
	if p == nil {
		if len(b.net) >= b.max {
			b.evict()
		}
		p = &netPos{at: now}
		b.net[acct] = p
	}
	p.qty = b.decayed(p, now) + qty
	p.at = now
}

// evict drops the least recently updated half of the accounts (ties by name, for determinism).
func (b *accountBook) evict() {
	type kv struct {
		k  string
		at detectors.Micros
	}
	all := make([]kv, 0, len(b.net))
	for k, p := range b.net {
		all = append(all, kv{k, p.at})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].at != all[j].at {
			return all[i].at < all[j].at
		}
		return all[i].k < all[j].k
	})
	for _, e := range all[:len(all)/2+1] {
		delete(b.net, e.k)
	}
}

// accumulators are the accounts that sold in the burst chunk (negative delta) and, before it,
// held a net bought position of at least share of the total held by every net buyer.
func (b *accountBook) accumulators(delta map[string]float64, share float64) []string {
	pre := func(acct string) float64 {
		p := b.net[acct]
		if p == nil {
			return 0
		}
		return p.qty - delta[acct]
	}
	var total float64
	for acct := range b.net {
		if q := pre(acct); q > 0 {
			total += q
		}
	}
	var out []string
	for acct, dq := range delta {
		if q := pre(acct); dq < 0 && q > 0 && q >= share*total {
			out = append(out, acct)
		}
	}
	sort.Strings(out)
	return out
}
