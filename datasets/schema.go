// Package datasets is fds's data layer: the canonical schema of a dataset folder, reading its
// Parquet tables as streams of Arrow record batches and canonical events, writing them, the
// synthetic market generator, importers of exchange formats, and labels. DuckDB lives in the
// subpackage duck alone, so that everything here stays pure Go.
package datasets

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/fds-dev/fds/detectors"
)

// Table names: a dataset folder holds <name>.parquet or a folder <name>/ of Parquet files.
const (
	TableOrders       = "orders"
	TableTrades       = "trades"
	TableMarks        = "marks"
	TableLiquidations = "liquidations"
	TableAccounts     = "accounts"
	TableLabels       = "labels"
)

// EventTables are the tables replayed as events, in tie order (see detectors.Kind).
var EventTables = []string{TableMarks, TableOrders, TableTrades, TableLiquidations}

// AllTables lists every canonical table.
var AllTables = []string{TableOrders, TableTrades, TableMarks, TableLiquidations, TableAccounts, TableLabels}

// KindOfTable maps an event table to its event kind.
func KindOfTable(table string) (detectors.Kind, bool) {
	switch table {
	case TableMarks:
		return detectors.KindMark, true
	case TableOrders:
		return detectors.KindOrder, true
	case TableTrades:
		return detectors.KindTrade, true
	case TableLiquidations:
		return detectors.KindLiquidation, true
	}
	return 0, false
}

// TableOfKind maps an event kind to its table.
func TableOfKind(k detectors.Kind) string {
	switch k {
	case detectors.KindMark:
		return TableMarks
	case detectors.KindOrder:
		return TableOrders
	case detectors.KindTrade:
		return TableTrades
	case detectors.KindLiquidation:
		return TableLiquidations
	}
	return ""
}

// TS is the canonical timestamp type: microseconds, UTC.
var TS = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// dict is the type of low-cardinality string columns (symbols, accounts, enums): dictionary
// encoded in Parquet and in Arrow, so the replay converts each distinct value to a Go string once.
var dict = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

func field(name string, t arrow.DataType, nullable bool) arrow.Field {
	return arrow.Field{Name: name, Type: t, Nullable: nullable}
}

// Canonical Arrow schemas of every table, as written by fds. Readers accept plain strings where a
// dictionary is written, and any integer width for ids; see docs/schema.md.
var (
	OrdersSchema = arrow.NewSchema([]arrow.Field{
		field("ts", TS, false),
		field("symbol", dict, false),
		field("account_id", dict, false),
		field("order_id", arrow.PrimitiveTypes.Int64, false),
		field("event", dict, false),
		field("side", dict, false),
		field("order_type", dict, false),
		field("price", arrow.PrimitiveTypes.Float64, false),
		field("qty", arrow.PrimitiveTypes.Float64, false),
		field("leaves_qty", arrow.PrimitiveTypes.Float64, false),
		field("reduce_only", arrow.FixedWidthTypes.Boolean, false),
		field("post_only", arrow.FixedWidthTypes.Boolean, false),
	}, nil)

	TradesSchema = arrow.NewSchema([]arrow.Field{
		field("ts", TS, false),
		field("symbol", dict, false),
		field("trade_id", arrow.PrimitiveTypes.Int64, false),
		field("price", arrow.PrimitiveTypes.Float64, false),
		field("qty", arrow.PrimitiveTypes.Float64, false),
		field("taker_side", dict, false),
		field("maker_account", dict, true),
		field("taker_account", dict, true),
		field("maker_order_id", arrow.PrimitiveTypes.Int64, true),
		field("taker_order_id", arrow.PrimitiveTypes.Int64, true),
	}, nil)

	MarksSchema = arrow.NewSchema([]arrow.Field{
		field("ts", TS, false),
		field("symbol", dict, false),
		field("mark_price", arrow.PrimitiveTypes.Float64, false),
		field("index_price", arrow.PrimitiveTypes.Float64, false),
		field("funding_rate", arrow.PrimitiveTypes.Float64, true),
		field("open_interest", arrow.PrimitiveTypes.Float64, true),
	}, nil)

	LiquidationsSchema = arrow.NewSchema([]arrow.Field{
		field("ts", TS, false),
		field("symbol", dict, false),
		field("account_id", dict, true),
		field("side", dict, false),
		field("qty", arrow.PrimitiveTypes.Float64, false),
		field("price", arrow.PrimitiveTypes.Float64, false),
	}, nil)

	AccountsSchema = arrow.NewSchema([]arrow.Field{
		field("account_id", arrow.BinaryTypes.String, false),
		field("created_at", TS, false),
		field("owner_group", arrow.BinaryTypes.String, false),
		field("ip_hash", arrow.BinaryTypes.String, true),
		field("device_hash", arrow.BinaryTypes.String, true),
		field("referrer", arrow.BinaryTypes.String, true),
	}, nil)

	LabelsSchema = arrow.NewSchema([]arrow.Field{
		field("incident_id", arrow.BinaryTypes.String, false),
		field("type", arrow.BinaryTypes.String, false),
		field("symbol", arrow.BinaryTypes.String, false),
		field("accounts", arrow.ListOf(arrow.BinaryTypes.String), false),
		field("start_ts", TS, false),
		field("end_ts", TS, false),
		field("source", arrow.BinaryTypes.String, false),
	}, nil)
)

// SchemaOf returns the canonical schema of a table.
func SchemaOf(table string) (*arrow.Schema, error) {
	switch table {
	case TableOrders:
		return OrdersSchema, nil
	case TableTrades:
		return TradesSchema, nil
	case TableMarks:
		return MarksSchema, nil
	case TableLiquidations:
		return LiquidationsSchema, nil
	case TableAccounts:
		return AccountsSchema, nil
	case TableLabels:
		return LabelsSchema, nil
	}
	return nil, fmt.Errorf("unknown table %q", table)
}

// Incident is one row of the labels table: a labelled abuse episode. Accounts may be empty
// (symbol-level incidents such as a pump on public data); then any alert's accounts match.
type Incident struct {
	ID       string
	Type     detectors.IncidentType
	Symbol   string
	Accounts []string
	Start    detectors.Micros
	End      detectors.Micros
	Source   string
}
