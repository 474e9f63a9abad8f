package duck

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// The values a query returns through database/sql are the driver's Go types (time.Time, []any,
// map[string]any, duckdb.Decimal, ...). TextValue and JSONValue render them the same way for
// every output format, so that the CLI needs no DuckDB types.

// FormatFloat writes a float the way people read prices and quantities: plain decimals (no
// exponent) between 1e-6 and 1e21, the shortest text that parses back to the same value, and
// NaN, Infinity, -Infinity for the non-finite values.
func FormatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e21) {
		return strconv.FormatFloat(f, 'f', -1, bits)
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// formatTime renders a DuckDB date, time or timestamp. Zoned timestamps (the canonical ts
// columns) are UTC with a Z; naive ones have no zone.
func formatTime(t time.Time, dbType string) string {
	t = t.UTC()
	switch {
	case dbType == "DATE":
		return t.Format("2006-01-02")
	case strings.HasPrefix(dbType, "TIME") && !strings.HasPrefix(dbType, "TIMESTAMP"):
		return t.Format("15:04:05.999999")
	case strings.Contains(dbType, "TZ") || strings.Contains(dbType, "TIME ZONE"):
		return t.Format("2006-01-02T15:04:05.999999Z")
	}
	return t.Format("2006-01-02T15:04:05.999999")
}

// TextValue renders one value as a table, CSV or TSV cell; null is "" (the caller decides how a
// null shows). dbType is the column's DuckDB type name (sql.ColumnType.DatabaseTypeName).
func TextValue(v any, dbType string) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return FormatFloat(x, 64)
	case float32:
		return FormatFloat(float64(x), 32)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x)
	case *big.Int:
		return x.String()
	case duckdb.Decimal:
		return x.String()
	case time.Time:
		return formatTime(x, dbType)
	case []byte:
		if dbType == "UUID" && len(x) == 16 {
			var u duckdb.UUID
			copy(u[:], x)
			return u.String()
		}
		return `\x` + hex.EncodeToString(x)
	}
	b, err := json.Marshal(JSONValue(v, elementType(dbType)))
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// elementType is the type of a list's elements ("VARCHAR[]" gives "VARCHAR"), so that nested
// timestamps render like top-level ones.
func elementType(dbType string) string {
	if strings.HasSuffix(dbType, "[]") {
		return strings.TrimSuffix(dbType, "[]")
	}
	return dbType
}

// JSONValue converts one value for encoding/json: numbers stay numbers (big ones exact, as
// json.Number), non-finite floats become the strings "NaN", "Infinity", "-Infinity" (as in
// alerts' features), times become text as in TextValue, lists arrays, structs objects, maps
// arrays of {"key", "value"} objects.
func JSONValue(v any, dbType string) any {
	switch x := v.(type) {
	case nil, string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return FormatFloat(x, 64)
		}
		return json.Number(FormatFloat(x, 64))
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return FormatFloat(float64(x), 32)
		}
		return json.Number(FormatFloat(float64(x), 32))
	case *big.Int:
		return json.Number(x.String())
	case duckdb.Decimal:
		return json.Number(x.String())
	case time.Time, []byte:
		return TextValue(x, dbType)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = JSONValue(e, elementType(dbType))
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = JSONValue(e, "")
		}
		return out
	case duckdb.OrderedMap:
		return orderedMapJSON(&x)
	case *duckdb.OrderedMap:
		return orderedMapJSON(x)
	case duckdb.Map:
		keys := make([]string, 0, len(x))
		byText := make(map[string]any, len(x))
		for k, e := range x {
			t := TextValue(k, "")
			keys = append(keys, t)
			byText[t] = e
		}
		sort.Strings(keys)
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = map[string]any{"key": k, "value": JSONValue(byText[k], "")}
		}
		return out
	case duckdb.Interval:
		return map[string]any{"months": x.Months, "days": x.Days, "micros": x.Micros}
	case duckdb.Union:
		return map[string]any{"tag": x.Tag, "value": JSONValue(x.Value, "")}
	}
	return fmt.Sprint(v)
}

func orderedMapJSON(m *duckdb.OrderedMap) any {
	keys, values := m.Keys(), m.Values()
	out := make([]any, len(keys))
	for i := range keys {
		out[i] = map[string]any{"key": JSONValue(keys[i], ""), "value": JSONValue(values[i], "")}
	}
	return out
}
