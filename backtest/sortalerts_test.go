package backtest

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"

	"github.com/fds-dev/fds/detectors"
)

// TestSortAlertsMatchesKeyOrder checks SortAlerts (keys built once, only for ties) against the
// definition of the canonical order, the key built in every comparison, on alerts with many ties
// of ts, detector and symbol and accounts that are prefixes of each other ("a" against "a,b":
// the key's separators decide).
func TestSortAlertsMatchesKeyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	accounts := []string{"a", "b", "a1", "ab", "b,a"}
	for trial := 0; trial < 50; trial++ {
		alerts := make([]detectors.Alert, 1+rng.IntN(200))
		for i := range alerts {
			a := detectors.Alert{
				TS:       detectors.Micros(rng.IntN(4)),
				Detector: []string{"front_running", "spoofing"}[rng.IntN(2)],
				Symbol:   []string{"BTCUSDT", "ETHUSDT"}[rng.IntN(2)],
				Score:    float64(i), // tells equal keys apart: the sort must be stable
			}
			for k := rng.IntN(3); k > 0; k-- {
				a.Accounts = append(a.Accounts, accounts[rng.IntN(len(accounts))])
			}
			alerts[i] = a
		}
		want := append([]detectors.Alert(nil), alerts...)
		sort.SliceStable(want, func(i, j int) bool {
			a, b := &want[i], &want[j]
			if a.TS != b.TS {
				return a.TS < b.TS
			}
			if a.Detector != b.Detector {
				return a.Detector < b.Detector
			}
			if a.Symbol != b.Symbol {
				return a.Symbol < b.Symbol
			}
			return a.Key() < b.Key()
		})
		SortAlerts(alerts)
		if !reflect.DeepEqual(alerts, want) {
			t.Fatalf("trial %d: order differs from the key order%s", trial, fmt.Sprint("\n got  ", alerts, "\n want ", want))
		}
	}
}
