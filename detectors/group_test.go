package detectors

import (
	"reflect"
	"strings"
	"testing"
)

// echoGroup raises, per trade and configuration, one alert scoring the trade's price times the
// configuration's "scale", accounts unsorted and doubled.
type echoGroup struct{ scales []float64 }

func (g *echoGroup) OnEvent(ev *Event, emit GroupEmit) {
	if ev.Kind != KindTrade {
		return
	}
	for i, s := range g.scales {
		emit(i, Alert{Symbol: ev.Symbol, TS: ev.TS, Score: ev.Trade.Price * s,
			Accounts: []string{ev.Trade.TakerAccount, ev.Trade.MakerAccount, ev.Trade.TakerAccount}})
	}
}

func (g *echoGroup) Flush(GroupEmit) {}

func init() {
	Register(Spec{
		Name: "test_echo_group", Type: Spoofing, Summary: "echo trades, grouped", DefaultMinScore: 0.5,
		Params: []ParamSpec{{Name: "scale", Default: 1, Min: 0, Max: 10, Unit: "ratio"}},
		NewGroup: func(ps []Params, env Env) (Group, error) {
			g := &echoGroup{}
			for _, p := range ps {
				g.scales = append(g.scales, p.Get("scale"))
			}
			return g, nil
		},
	})
}

func TestRegisterBuildsTheSingleInstanceAsAGroupOfOne(t *testing.T) {
	d, _, err := Build("test_echo_group", map[string]float64{"scale": 2, MinScoreParam: 3}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	var got []Alert
	for i, price := range []float64{1, 2} {
		d.OnEvent(&Event{TS: int64(i), Symbol: "X", Kind: KindTrade, Trade: Trade{Price: price, TakerAccount: "b", MakerAccount: "a"}},
			func(a Alert) { got = append(got, a) })
	}
	// Scores 2·1 and 2·2 against min_score 3: only the second stays.
	if len(got) != 1 || got[0].Score != 4 || got[0].Detector != "test_echo_group" || got[0].Type != Spoofing {
		t.Fatalf("alerts = %+v", got)
	}
}

func TestBuildGroupGatesEachConfigurationByItsOwnMinScore(t *testing.T) {
	values := []map[string]float64{
		{"scale": 1, MinScoreParam: 0},
		{"scale": 1, MinScoreParam: 2},
		{"scale": 3}, // the default min_score, 0.5
	}
	g, ps, err := BuildGroup("test_echo_group", values, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 || ps[2][MinScoreParam] != 0.5 {
		t.Fatalf("params = %v", ps)
	}
	got := make([][]float64, 3)
	for i, price := range []float64{0.1, 1, 2} {
		g.OnEvent(&Event{TS: int64(i), Symbol: "X", Kind: KindTrade, Trade: Trade{Price: price, TakerAccount: "b", MakerAccount: "a"}},
			func(c int, a Alert) {
				if a.Detector != "test_echo_group" || !reflect.DeepEqual(a.Accounts, []string{"a", "b"}) {
					t.Errorf("alert not stamped or accounts not sorted: %+v", a)
				}
				got[c] = append(got[c], a.Score)
			})
	}
	// Hand computation: config 0 keeps 0.1, 1, 2; config 1 keeps 2 (>= 2); config 2 scores
	// 0.3, 3, 6 and keeps the two at least 0.5.
	want := [][]float64{{0.1, 1, 2}, {2}, {3, 6}}
	for c := range want {
		if len(got[c]) != len(want[c]) {
			t.Fatalf("config %d: scores %v, want %v", c, got[c], want[c])
		}
		for k := range want[c] {
			if d := got[c][k] - want[c][k]; d > 1e-12 || d < -1e-12 {
				t.Fatalf("config %d: scores %v, want %v", c, got[c], want[c])
			}
		}
	}
}

func TestBuildGroupRejectsDetectorsWithoutGroupsAndBadValues(t *testing.T) {
	if _, _, err := BuildGroup("test_echo", []map[string]float64{{}}, Env{}); err == nil || !strings.Contains(err.Error(), "no grouped constructor") {
		t.Errorf("err = %v", err)
	}
	if _, _, err := BuildGroup("test_echo_group", []map[string]float64{{}, {"scale": 11}}, Env{}); err == nil || !strings.Contains(err.Error(), "scale") {
		t.Errorf("err = %v", err)
	}
	if _, _, err := BuildGroup("test_echo_group", nil, Env{}); err == nil {
		t.Error("an empty group was built")
	}
}

func TestLayersShareEqualKeysInFirstSeenOrder(t *testing.T) {
	keys := []string{"b", "a", "b", "c", "a"}
	of, n := Layers(len(keys), func(i int) string { return keys[i] })
	if n != 3 || !reflect.DeepEqual(of, []int{0, 1, 0, 2, 1}) {
		t.Fatalf("layers %v (%d), want [0 1 0 2 1] (3)", of, n)
	}
}
