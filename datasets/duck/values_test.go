package duck

import (
	"context"
	"encoding/json"
	"math"
	"testing"
)

// scanOne runs a one-row query and returns its values with their DuckDB type names.
func scanOne(t *testing.T, s *Session, q string) ([]any, []string) {
	t.Helper()
	rows, err := s.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatalf("%s: no row", q)
	}
	vals := make([]any, len(types))
	ptrs := make([]any, len(types))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(types))
	for i, ct := range types {
		names[i] = ct.DatabaseTypeName()
	}
	return vals, names
}

func TestTextAndJSONValuesOfDuckDBTypes(t *testing.T) {
	s := openSession(t)
	tests := []struct {
		expr     string
		text     string
		jsonText string
	}{
		{"'a,b'", "a,b", `"a,b"`},
		{"42::INTEGER", "42", `42`},
		{"1234567.5::DOUBLE", "1234567.5", `1234567.5`},
		{"'NaN'::DOUBLE", "NaN", `"NaN"`},
		{"1e-9::DOUBLE", "1e-09", `1e-09`},
		{"true", "true", `true`},
		{"NULL::VARCHAR", "", `null`},
		{"TIMESTAMPTZ '2024-01-01 00:00:01.25+00'", "2024-01-01T00:00:01.25Z", `"2024-01-01T00:00:01.25Z"`},
		{"TIMESTAMP '2024-01-01 00:00:01'", "2024-01-01T00:00:01", `"2024-01-01T00:00:01"`},
		{"DATE '2024-02-29'", "2024-02-29", `"2024-02-29"`},
		{"['a', NULL]", `["a",null]`, `["a",null]`},
		{"[TIMESTAMPTZ '2024-01-01 00:00:00+00']", `["2024-01-01T00:00:00Z"]`, `["2024-01-01T00:00:00Z"]`},
		{"{'k': 1.5}", `{"k":1.5}`, `{"k":1.5}`},
		{"170141183460469231731687303715884105727::HUGEINT", "170141183460469231731687303715884105727", `170141183460469231731687303715884105727`},
		{"12.30::DECIMAL(10,2)", "12.3", `12.3`}, // the driver's Decimal.String drops trailing zeros
		{"MAP {'a': 1}", `[{"key":"a","value":1}]`, `[{"key":"a","value":1}]`},
	}
	for _, tc := range tests {
		vals, types := scanOne(t, s, "SELECT "+tc.expr)
		if got := TextValue(vals[0], types[0]); got != tc.text {
			t.Errorf("%s (%s, %T): text %q, want %q", tc.expr, types[0], vals[0], got, tc.text)
		}
		b, err := json.Marshal(JSONValue(vals[0], types[0]))
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if string(b) != tc.jsonText {
			t.Errorf("%s (%s, %T): json %s, want %s", tc.expr, types[0], vals[0], b, tc.jsonText)
		}
	}
}

func TestFormatFloat(t *testing.T) {
	tenth := 0.1 // a variable, so that 0.1+0.2 is float64 arithmetic, not an exact constant
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {1e6, "1000000"}, {tenth + 2*tenth, "0.30000000000000004"}, {1e-7, "1e-07"},
		{1e21, "1e+21"}, {-2.5, "-2.5"}, {math.Inf(-1), "-Infinity"},
	}
	for _, tc := range tests {
		if got := FormatFloat(tc.in, 64); got != tc.want {
			t.Errorf("FormatFloat(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
