package detectors

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// echo raises one alert per trade with the trade's price as score, accounts unsorted and doubled.
type echo struct{}

func (echo) OnEvent(ev *Event, emit Emit) {
	if ev.Kind == KindTrade {
		emit(Alert{Symbol: ev.Symbol, TS: ev.TS, Score: ev.Trade.Price,
			Accounts: []string{ev.Trade.TakerAccount, ev.Trade.MakerAccount, ev.Trade.TakerAccount, ""}})
	}
}
func (echo) Flush(Emit) {}

func init() {
	Register(Spec{
		Name: "test_echo", Type: WashTrade, Summary: "echo trades", DefaultMinScore: 0.5,
		Params: []ParamSpec{
			{Name: "window", Default: 1.5, Min: 0, Max: 60, Unit: "s"},
			{Name: "levels", Default: 3, Min: 1, Max: 10, Unit: "count", Integer: true},
			{Name: "strict", Default: 0, Min: 0, Max: 1, Bool: true},
		},
		New: func(p Params, env Env) (Detector, error) { return echo{}, nil },
	})
}

func TestBuildGatesByMinScoreAndStampsAlerts(t *testing.T) {
	d, p, err := Build("test_echo", map[string]float64{MinScoreParam: 2}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if p[MinScoreParam] != 2 || p["window"] != 1.5 {
		t.Fatalf("params = %v", p)
	}
	var got []Alert
	emit := func(a Alert) { got = append(got, a) }
	for i, price := range []float64{1, 2, 3} {
		d.OnEvent(&Event{TS: int64(i), Symbol: "X", Kind: KindTrade, Trade: Trade{Price: price, TakerAccount: "b", MakerAccount: "a"}}, emit)
	}
	// Scores 1, 2, 3 against min_score 2: the alert scoring 1 is dropped, 2 is kept (>=).
	if len(got) != 2 || got[0].Score != 2 || got[1].Score != 3 {
		t.Fatalf("alerts = %+v", got)
	}
	if got[0].Detector != "test_echo" || got[0].Type != WashTrade {
		t.Fatalf("alert not stamped: %+v", got[0])
	}
	if !reflect.DeepEqual(got[0].Accounts, []string{"a", "b"}) {
		t.Fatalf("accounts %q, want sorted, unique, no empty", got[0].Accounts)
	}
}

func TestResolveChecksEveryValue(t *testing.T) {
	s, _ := Lookup("test_echo")
	cases := []struct {
		values map[string]float64
		err    string
	}{
		{map[string]float64{"window": 61}, "out of range [0, 60]"},
		{map[string]float64{"levels": 2.5}, "whole number"},
		{map[string]float64{"strict": 2}, "out of range"},
		{map[string]float64{"window": math.NaN()}, "not a finite number"},
		{map[string]float64{"nope": 1}, `no parameter "nope"`},
		{map[string]float64{MinScoreParam: -1}, "out of range"},
	}
	for _, c := range cases {
		if _, err := s.Resolve(c.values); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("Resolve(%v) = %v, want error containing %q", c.values, err, c.err)
		}
	}
	p, err := s.Resolve(map[string]float64{"window": 2, "strict": 1})
	if err != nil {
		t.Fatal(err)
	}
	// 2 s is 2,000,000 µs.
	if p.Duration("window") != 2*Second || !p.Bool("strict") || p.Int("levels") != 3 || p[MinScoreParam] != 0.5 {
		t.Fatalf("resolved %v", p)
	}
}

func TestBuildUnknownDetectorNamesTheKnownOnes(t *testing.T) {
	_, _, err := Build("nope", nil, Env{})
	if err == nil || !strings.Contains(err.Error(), "test_echo") {
		t.Fatalf("err = %v", err)
	}
}

func TestAlertKeyIsStable(t *testing.T) {
	a := Alert{Detector: "d", Symbol: "BTCUSDT", Accounts: []string{"a", "b"}, TS: 42, Score: 1}
	b := a
	b.Score = 9 // the key ignores score and evidence: it identifies the alert, not its figures
	if a.Key() != "d|BTCUSDT|a,b|42" || a.Key() != b.Key() {
		t.Fatalf("key %q / %q", a.Key(), b.Key())
	}
}

func TestEnumsRoundTrip(t *testing.T) {
	for _, s := range []Side{Buy, Sell} {
		if got, err := ParseSide(s.String()); err != nil || got != s {
			t.Errorf("side %v: %v %v", s, got, err)
		}
	}
	for e := OrderNew; e <= OrderReject; e++ {
		if got, err := ParseOrderEvent(e.String()); err != nil || got != e {
			t.Errorf("event %v: %v %v", e, got, err)
		}
	}
	for o := Limit; o <= StopLimit; o++ {
		if got, err := ParseOrderType(o.String()); err != nil || got != o {
			t.Errorf("order type %v: %v %v", o, got, err)
		}
	}
	for _, it := range IncidentTypes {
		if got, err := ParseIncidentType(string(it)); err != nil || got != it {
			t.Errorf("type %v: %v %v", it, got, err)
		}
	}
	if _, err := ParseSide("BUY"); err == nil {
		t.Error("ParseSide accepted a non-canonical name")
	}
	if Buy.Opposite() != Sell {
		t.Error("Opposite")
	}
}

// TestSortedUnique: a sorted copy without repeats, the input untouched, nil kept nil and an
// empty list kept empty (alert files tell the two apart).
func TestSortedUnique(t *testing.T) {
	in := []int64{5, 3, 5, 1, 3}
	got := SortedUnique(in)
	if want := []int64{1, 3, 5}; !slices.Equal(got, want) {
		t.Fatalf("SortedUnique(%v) = %v, want %v", in, got, want)
	}
	if want := []int64{5, 3, 5, 1, 3}; !slices.Equal(in, want) {
		t.Fatalf("input changed to %v", in)
	}
	if got := SortedUnique([]int64(nil)); got != nil {
		t.Fatalf("nil gave %#v", got)
	}
	if got := SortedUnique([]string{}); got == nil || len(got) != 0 {
		t.Fatalf("empty gave %#v", got)
	}
	if got := SortedUnique([]string{"b", "a", "b"}); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("strings gave %v", got)
	}
}

// TestAlertKeyFormat: detector|symbol|accounts joined by commas|ts, with no accounts and with
// several, built with a single allocation (every alert of a sweep gets one).
func TestAlertKeyFormat(t *testing.T) {
	for _, tc := range []struct {
		a    Alert
		want string
	}{
		{Alert{Detector: "d", Symbol: "S", TS: -7}, "d|S||-7"},
		{Alert{Detector: "wash_trade", Symbol: "BTCUSDT", Accounts: []string{"a1", "b22", "c333"}, TS: 1700000000000000}, "wash_trade|BTCUSDT|a1,b22,c333|1700000000000000"},
	} {
		if got := tc.a.Key(); got != tc.want {
			t.Errorf("Key() = %q, want %q", got, tc.want)
		}
		if n := testing.AllocsPerRun(100, func() { _ = tc.a.Key() }); n != 1 {
			t.Errorf("Key() of %q: %v allocations, want 1", tc.want, n)
		}
	}
}

// TestMinScoreReachesOnlyDetectorsThatDeclareIt: a constructor sees min_score only when its spec
// says ReadsMinScore, through Build and BuildGroup alike, so an undeclared detector cannot make its
// alerts depend on it (the tuner's exact threshold curves rest on this); Build still returns the
// full parameters.
func TestMinScoreReachesOnlyDetectorsThatDeclareIt(t *testing.T) {
	var seen []Params
	record := func(ps []Params, env Env) (Group, error) {
		seen = append(seen, ps...)
		return &Layered[Group]{}, nil
	}
	Register(Spec{Name: "test_gate_only", Type: WashTrade, DefaultMinScore: 0.5, NewGroup: record,
		Params: []ParamSpec{{Name: "window", Default: 1, Min: 0, Max: 60, Unit: "s"}}})
	Register(Spec{Name: "test_reads_min_score", Type: WashTrade, DefaultMinScore: 0.5, NewGroup: record, ReadsMinScore: true,
		Params: []ParamSpec{{Name: "window", Default: 1, Min: 0, Max: 60, Unit: "s"}}})
	for _, c := range []struct {
		name string
		want bool
	}{{"test_gate_only", false}, {"test_reads_min_score", true}} {
		seen = nil
		_, p, err := Build(c.name, map[string]float64{MinScoreParam: 0.7}, Env{})
		if err != nil {
			t.Fatal(err)
		}
		if p[MinScoreParam] != 0.7 {
			t.Fatalf("%s: Build returns %v, want the full parameters", c.name, p)
		}
		if _, _, err := BuildGroup(c.name, []map[string]float64{{MinScoreParam: 0.1}, {"window": 2}}, Env{}); err != nil {
			t.Fatal(err)
		}
		if len(seen) != 3 {
			t.Fatalf("%s: constructor saw %d parameter sets, want 3", c.name, len(seen))
		}
		for _, ps := range seen {
			v, has := ps[MinScoreParam]
			if has != c.want || ps["window"] == 0 {
				t.Fatalf("%s: constructor got %v (min_score present %v, want %v)", c.name, ps, has, c.want)
			}
			if has && v != 0.7 && v != 0.1 && v != 0.5 {
				t.Fatalf("%s: min_score %v, want the resolved value", c.name, v)
			}
		}
	}
}
