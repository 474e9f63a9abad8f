package duck

import (
	"context"
	"testing"

	"github.com/fds-dev/fds/datasets"
)

func TestInspectCountsTheFixture(t *testing.T) {
	dir := writeQueryFixture(t)
	ds, err := datasets.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := openSession(t)
	in, err := s.Inspect(context.Background(), ds)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]TableInspection{}
	for _, ti := range in.Tables {
		byName[ti.Table] = ti
	}
	tr := byName["trades"]
	// Expected figures are the fixture's facts (query_fixture_test.go), counted by hand.
	if tr.Rows != 4 || *tr.FirstTS != "2024-01-01T00:00:01Z" || *tr.LastTS != "2024-01-01T00:00:10Z" || *tr.SpanSeconds != 9 {
		t.Errorf("trades rows/span: %d %s %s %v", tr.Rows, *tr.FirstTS, *tr.LastTS, *tr.SpanSeconds)
	}
	if *tr.Symbols != 3 || len(tr.SymbolNames) != 3 || *tr.Accounts != 3 {
		t.Errorf("trades symbols %d %q accounts %d", *tr.Symbols, tr.SymbolNames, *tr.Accounts)
	}
	if *tr.SortedByTS || tr.FirstUnsortedRow != 3 {
		t.Errorf("trades sortedness: %v row %d, want false row 3", *tr.SortedByTS, tr.FirstUnsortedRow)
	}
	cols := map[string]ColumnStats{}
	for _, c := range tr.Columns {
		cols[c.Name] = c
	}
	if cols["maker_account"].Nulls != 1 || cols["taker_account"].Nulls != 2 || cols["price"].Nulls != 0 {
		t.Errorf("null counts: maker %d taker %d price %d", cols["maker_account"].Nulls, cols["taker_account"].Nulls, cols["price"].Nulls)
	}
	if *cols["price"].Min != "5.0" || *cols["price"].Max != "2000.0" {
		t.Errorf("price range %s..%s", *cols["price"].Min, *cols["price"].Max)
	}
	if *cols["ts"].Min != "2024-01-01T00:00:01Z" {
		t.Errorf("ts min %s", *cols["ts"].Min)
	}

	if o := byName["orders"]; !*o.SortedByTS || o.FirstUnsortedRow != 0 || *o.Accounts != 1 {
		t.Errorf("orders: sorted %v accounts %d", *o.SortedByTS, *o.Accounts)
	}
	mk := byName["marks"]
	for _, c := range mk.Columns {
		if c.Name == "funding_rate" && c.Nulls != 1 {
			t.Errorf("marks funding_rate nulls %d, want 1", c.Nulls)
		}
	}
	if mk.Accounts != nil {
		t.Errorf("marks have no account column, got %d", *mk.Accounts)
	}
	ac := byName["accounts"]
	if ac.SortedByTS != nil || *ac.Accounts != 3 || *ac.FirstTS != "2023-12-31T00:00:00Z" {
		t.Errorf("accounts: %+v", ac)
	}
	lb := byName["labels"]
	// Labels span min(start_ts) .. max(end_ts): +1 s .. +60 s.
	if *lb.FirstTS != "2024-01-01T00:00:01Z" || *lb.LastTS != "2024-01-01T00:01:00Z" || *lb.Accounts != 3 {
		t.Errorf("labels span %s..%s accounts %d", *lb.FirstTS, *lb.LastTS, *lb.Accounts)
	}
	want := []TypeCount{{"spoofing", 1}, {"wash_trade", 2}}
	if len(in.LabelsByType) != 2 || in.LabelsByType[0] != want[0] || in.LabelsByType[1] != want[1] {
		t.Errorf("labels by type %v, want %v", in.LabelsByType, want)
	}
}
