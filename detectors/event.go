// Package detectors defines what every market-abuse detector of the FDS sees and says: the
// canonical event types, the Alert, the small Detector interface, and the registry through which
// the backtest, the tuner and the online stream service build detectors from parameters.
//
// A detector runs on event time only. It sees events in non-decreasing ts order, never reads the
// wall clock, never does I/O and keeps bounded state, so the same code gives the same alerts in a
// backtest, in a unit test over a short event script, and online behind a Kafka consumer.
package detectors

import "fmt"

// Micros is a UTC timestamp in microseconds since the Unix epoch: the unit of every ts column.
type Micros = int64

// Time units in microseconds, for readable detector code.
const (
	Microsecond Micros = 1
	Millisecond Micros = 1000
	Second      Micros = 1000 * Millisecond
	Minute      Micros = 60 * Second
	Hour        Micros = 60 * Minute
	Day         Micros = 24 * Hour
)

// Kind says which table an event comes from. The numeric order is also the tie order of the
// replay: at the same ts, marks come before orders, orders before trades, trades before
// liquidations (a price update is known before the flow it prices; an order fill and its trade
// print are the same execution, the order book side first).
type Kind uint8

const (
	KindMark Kind = iota + 1
	KindOrder
	KindTrade
	KindLiquidation
)

func (k Kind) String() string {
	switch k {
	case KindMark:
		return "mark"
	case KindOrder:
		return "order"
	case KindTrade:
		return "trade"
	case KindLiquidation:
		return "liquidation"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Side is an order's or a taker's side. Buy is +1 and Sell is -1 so that signed quantity is
// qty*float64(side).
type Side int8

const (
	Buy  Side = 1
	Sell Side = -1
)

func (s Side) String() string {
	switch s {
	case Buy:
		return "buy"
	case Sell:
		return "sell"
	}
	return fmt.Sprintf("side(%d)", int8(s))
}

// Opposite returns the other side.
func (s Side) Opposite() Side { return -s }

// ParseSide accepts the canonical names (buy, sell).
func ParseSide(s string) (Side, error) {
	switch s {
	case "buy":
		return Buy, nil
	case "sell":
		return Sell, nil
	}
	return 0, fmt.Errorf("unknown side %q (want buy or sell)", s)
}

// OrderEvent is what happened to an order.
type OrderEvent uint8

const (
	OrderNew OrderEvent = iota + 1
	OrderAmend
	OrderCancel
	OrderFill
	OrderExpire
	OrderReject
)

var orderEventNames = [...]string{"", "new", "amend", "cancel", "fill", "expire", "reject"}

func (e OrderEvent) String() string {
	if int(e) < len(orderEventNames) && e > 0 {
		return orderEventNames[e]
	}
	return fmt.Sprintf("event(%d)", uint8(e))
}

// ParseOrderEvent accepts the canonical names.
func ParseOrderEvent(s string) (OrderEvent, error) {
	for i := 1; i < len(orderEventNames); i++ {
		if orderEventNames[i] == s {
			return OrderEvent(i), nil
		}
	}
	return 0, fmt.Errorf("unknown order event %q (want new, amend, cancel, fill, expire or reject)", s)
}

// OrderType is an order's type.
type OrderType uint8

const (
	Limit OrderType = iota + 1
	Market
	StopMarket
	StopLimit
)

var orderTypeNames = [...]string{"", "limit", "market", "stop_market", "stop_limit"}

func (t OrderType) String() string {
	if int(t) < len(orderTypeNames) && t > 0 {
		return orderTypeNames[t]
	}
	return fmt.Sprintf("order_type(%d)", uint8(t))
}

// ParseOrderType accepts the canonical names.
func ParseOrderType(s string) (OrderType, error) {
	for i := 1; i < len(orderTypeNames); i++ {
		if orderTypeNames[i] == s {
			return OrderType(i), nil
		}
	}
	return 0, fmt.Errorf("unknown order type %q (want limit, market, stop_market or stop_limit)", s)
}

// Order is one row of the orders table: one event in an order's life.
// Price is 0 for market orders. LeavesQty is the quantity still open after this event; for a
// fill, Qty is the quantity filled by this event.
type Order struct {
	Account    string
	OrderID    int64
	Event      OrderEvent
	Side       Side
	Type       OrderType
	Price      float64
	Qty        float64
	LeavesQty  float64
	ReduceOnly bool
	PostOnly   bool
}

// Trade is one row of the trades table: one execution between a maker and a taker. Account and
// order fields are empty (0 for order ids) in public data.
type Trade struct {
	TradeID      int64
	Price        float64
	Qty          float64
	TakerSide    Side
	MakerAccount string
	TakerAccount string
	MakerOrderID int64
	TakerOrderID int64
}

// Mark is one row of the marks table: the venue's mark and index price, the funding rate in force
// and the open interest. HasFunding and HasOpenInterest say whether the nullable fields are set.
type Mark struct {
	MarkPrice       float64
	IndexPrice      float64
	FundingRate     float64
	OpenInterest    float64
	HasFunding      bool
	HasOpenInterest bool
}

// Liquidation is one row of the liquidations table: a forced close of Account's position.
// Side is the side of the liquidation order (a long is liquidated by a sell).
type Liquidation struct {
	Account string
	Side    Side
	Qty     float64
	Price   float64
}

// Event is one row of any market table, in replay order. Only the member named by Kind is
// meaningful. The replay reuses one Event value per source, so a detector that keeps anything
// beyond the call must copy it (the members are plain values and strings, so a struct copy is
// enough).
type Event struct {
	TS     Micros
	Symbol string
	Kind   Kind
	// Seq is the event's position in the replay (0, 1, 2, ...): a stable identity for evidence.
	Seq         int64
	Order       Order
	Trade       Trade
	Mark        Mark
	Liquidation Liquidation
}

// Account is the reference data of one account, from the accounts table. Detectors that link
// accounts (same beneficial owner, shared device) receive the table once, before any event.
type Account struct {
	AccountID  string
	CreatedAt  Micros
	OwnerGroup string
	IPHash     string
	DeviceHash string
	Referrer   string
}

// IncidentType is the one vocabulary for abuse types, used by detectors, labels and reports.
type IncidentType string

const (
	WashTrade           IncidentType = "wash_trade"
	Collusion           IncidentType = "collusion"
	Spoofing            IncidentType = "spoofing"
	Layering            IncidentType = "layering"
	QuoteStuffing       IncidentType = "quote_stuffing"
	PumpAndDump         IncidentType = "pump_and_dump"
	MomentumIgnition    IncidentType = "momentum_ignition"
	LiquidationHunt     IncidentType = "liquidation_hunt"
	FundingManipulation IncidentType = "funding_manipulation"
	FrontRunning        IncidentType = "front_running"
)

// IncidentTypes lists the vocabulary in a fixed order.
var IncidentTypes = []IncidentType{
	WashTrade, Collusion, Spoofing, Layering, QuoteStuffing, PumpAndDump,
	MomentumIgnition, LiquidationHunt, FundingManipulation, FrontRunning,
}

// ParseIncidentType accepts a name from the vocabulary.
func ParseIncidentType(s string) (IncidentType, error) {
	for _, t := range IncidentTypes {
		if string(t) == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown incident type %q", s)
}
