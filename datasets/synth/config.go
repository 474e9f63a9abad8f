// Package synth generates a seeded synthetic perpetual-futures market with injected, labelled
// abuse episodes: the data the detectors are developed and measured on when no labelled exchange
// data exists. It runs a small matching engine per symbol, so every trade has a maker fill, a
// taker order (new and fill) and a trade print with matching ids, accounts, price and quantity,
// and every table comes out sorted by ts. Same Config, same events, byte for byte.
//
// The market (docs/generator.md): a random-walk fair price per symbol, marks every second with
// mark, index, funding (at each 8-hour settlement) and open interest; market makers quoting both
// sides at several levels and cancelling/replacing most of their quotes; noise takers; trend
// followers; honest whales whose big resting orders get filled; and look-alikes for each injected
// type. Injected episodes are wash trades (one account, or two accounts of one owner group) and
// spoofing (a big one-sided order near the touch cancelled within seconds while the same account
// trades the other side); each is a row of the labels table.
//
// Use Generate to write a dataset folder, or New and Run to stream the events in memory.
package synth

import (
	"fmt"
	"math"
	"time"

	"github.com/fds-dev/fds/detectors"
)

// Config chooses what to generate. The zero value of each field means the preset's default.
type Config struct {
	Seed uint64
	// Preset is "default", "hard" (subtler episodes, more look-alikes) or "small" (tiny, for
	// unit tests); empty means "default".
	Preset string
	// Events is the approximate total number of events (orders, trades and marks); the market's
	// duration is chosen to produce about this many.
	Events int64
	// Start is the time of the first event (default 2024-01-01T00:00:00Z).
	Start time.Time
	// Symbols restricts the market to these of the known symbols (KnownSymbols), in this order.
	Symbols []string
}

// DefaultStart is the start of a market whose Config leaves Start zero.
var DefaultStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// SymbolSpec describes one perpetual: its starting price, tick and lot, the typical order size
// and its activity relative to BTCUSDT.
type SymbolSpec struct {
	Name string
	// Price is the starting fair price in quote currency.
	Price float64
	// PriceDecimals and QtyDecimals give the tick (10^-PriceDecimals) and lot (10^-QtyDecimals).
	PriceDecimals int
	QtyDecimals   int
	// TypicalQty is the market makers' median quote size.
	TypicalQty float64
	// Activity scales every rate of the symbol's flow (1 for BTCUSDT).
	Activity float64
	// VolBPPerSqrtSecond is the fair price's volatility in basis points per √second.
	VolBPPerSqrtSecond float64
}

// KnownSymbols are the symbols the generator can make, the thin alt last.
var KnownSymbols = []SymbolSpec{
	{Name: "BTCUSDT", Price: 42000, PriceDecimals: 1, QtyDecimals: 3, TypicalQty: 0.2, Activity: 1, VolBPPerSqrtSecond: 1},
	{Name: "ETHUSDT", Price: 2300, PriceDecimals: 2, QtyDecimals: 3, TypicalQty: 3, Activity: 0.8, VolBPPerSqrtSecond: 1.2},
	{Name: "SOLUSDT", Price: 100, PriceDecimals: 3, QtyDecimals: 1, TypicalQty: 60, Activity: 0.5, VolBPPerSqrtSecond: 1.6},
	{Name: "WIFUSDT", Price: 2.5, PriceDecimals: 4, QtyDecimals: 0, TypicalQty: 2000, Activity: 0.15, VolBPPerSqrtSecond: 2.5},
}

// preset holds everything a preset decides.
type preset struct {
	name   string
	events int64
	// Episodes per hour of market, all symbols together.
	washPerHour, spoofPerHour float64
	// Look-alikes per hour.
	accidentalSelfPerHour, relatedPairPerHour, whaleFilledPerHour, whaleCancelPerHour float64
	bigQuoterPerHour, sameSidePerHour, farSpoofPerHour                                float64
	// Wash episodes: trades per episode, gap between trades, size multiplier (log-normal median).
	washTradesMin, washTradesMax int
	washGapMin, washGapMax       float64 // seconds
	washSize                     float64
	washOtherTrades              int // up to this many genuine market orders per self-trade
	// Spoof episodes: cycles, spoof size in typical sizes, lifetime, opposite execution size.
	spoofCyclesMin, spoofCyclesMax int
	spoofSizeMin, spoofSizeMax     float64
	spoofLifeMin, spoofLifeMax     float64 // seconds
	spoofOppMin, spoofOppMax       float64
	accidentalPairs                bool    // accidental self-matches sometimes come two at a time
	whaleLifeMin, whaleLifeMax     float64 // seconds a filled whale order rests
	retail, trend, whales          int
}

func presetByName(name string) (preset, error) {
	base := preset{
		name: "default", events: 2_000_000,
		washPerHour: 18, spoofPerHour: 18,
		accidentalSelfPerHour: 12, relatedPairPerHour: 6, whaleFilledPerHour: 12, whaleCancelPerHour: 12,
		bigQuoterPerHour: 12, sameSidePerHour: 0, farSpoofPerHour: 0,
		washTradesMin: 4, washTradesMax: 12, washGapMin: 5, washGapMax: 40, washSize: 1,
		spoofCyclesMin: 1, spoofCyclesMax: 3, spoofSizeMin: 8, spoofSizeMax: 20,
		spoofLifeMin: 1, spoofLifeMax: 5, spoofOppMin: 1, spoofOppMax: 3,
		whaleLifeMin: 60, whaleLifeMax: 300,
		retail: 300, trend: 30, whales: 20,
	}
	switch name {
	case "", "default":
		return base, nil
	case "hard":
		p := base
		p.name = "hard"
		p.accidentalSelfPerHour, p.relatedPairPerHour = 30, 15
		p.whaleFilledPerHour, p.whaleCancelPerHour, p.bigQuoterPerHour = 20, 25, 25
		p.sameSidePerHour, p.farSpoofPerHour = 15, 10
		p.washTradesMin, p.washTradesMax, p.washGapMin, p.washGapMax, p.washSize = 3, 5, 20, 120, 0.6
		p.washOtherTrades = 2
		p.spoofCyclesMin, p.spoofCyclesMax = 1, 2
		p.spoofSizeMin, p.spoofSizeMax = 5, 9
		p.spoofLifeMin, p.spoofLifeMax = 3, 9
		p.spoofOppMin, p.spoofOppMax = 0.6, 1.5
		p.accidentalPairs = true
		return p, nil
	case "small":
		p := base
		p.name = "small"
		p.events = 100_000
		p.washPerHour, p.spoofPerHour = 60, 60
		p.washTradesMin, p.washTradesMax, p.washGapMin, p.washGapMax = 4, 8, 2, 10
		p.whaleLifeMin, p.whaleLifeMax = 20, 60
		p.accidentalSelfPerHour, p.relatedPairPerHour = 30, 20
		p.whaleFilledPerHour, p.whaleCancelPerHour, p.bigQuoterPerHour = 30, 30, 30
		p.retail, p.trend, p.whales = 40, 6, 6
		return p, nil
	}
	return preset{}, fmt.Errorf("unknown preset %q (want default, hard or small)", name)
}

// Presets lists the preset names.
var Presets = []string{"default", "hard", "small"}

// Flow rates per second for a symbol of activity 1 (scaled by SymbolSpec.Activity).
const (
	mmRequotesPerSecond  = 50  // one quote cancelled and replaced
	noiseOrdersPerSecond = 2.5 // market orders of retail takers
	trendOrdersPerSecond = 0.3 // market orders of trend followers
	mmPerSymbol          = 3
	mmLevels             = 5
	mmHalfSpreadBP       = 1.5
	mmLevelGapBP         = 2.0
	markInterval         = detectors.Second
	eventsPerActivitySec = 117.0 // measured: events per second of market per unit of activity (default preset)
	episodeMarginSeconds = 30
)

func pow10(n int) float64 { return math.Pow(10, float64(n)) }
