package main

import (
	"math"
	"testing"
)

// TestParseTop reads the stage and detector figures out of `go tool pprof -top -cum` text.
func TestParseTop(t *testing.T) {
	out := `File: fds
Type: cpu
Duration: 12.31s, Total samples = 1.2mins (48.40%)
Showing nodes accounting for 2.34s, 39.26% of 5.96s total
      flat  flat%   sum%        cum   cum%
     0.23s  3.86%  6.21%      1.89s 31.71%  github.com/fds-dev/fds/datasets.(*EventReader).Next
     0.03s   0.5%  1.17%      2.42s 40.60%  github.com/fds-dev/fds/detectors.(*gated).OnEvent
         0     0%  7.38%    1840ms 30.87%  github.com/fds-dev/fds/detectors/spoofing.(*detector).OnEvent
     0.02s  0.34%  1.51%      0.35s  5.87%  github.com/fds-dev/fds/detectors/washtrade.(*detector).OnEvent
         0     0%  1.51%      0.01s  0.17%  github.com/fds-dev/fds/detectors/washtrade.(*detector).Flush
         0     0% 35.74%      0.37s  6.21%  runtime.gcBgMarkWorker
`
	b, err := parseTop(out)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		"total":                     72, // 1.2 mins
		"decode (Parquet → events)": 1.89,
		"detector spoofing":         1.84, // 1840ms
		"detector washtrade":        0.36, // OnEvent 0.35 + Flush 0.01
		"garbage collector":         0.37,
	} {
		got := b.Total
		if name != "total" {
			got = b.Stages[name]
		}
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if _, ok := b.Stages["detector detectors"]; ok {
		t.Error("the min_score wrapper was counted as a detector")
	}
}

func TestMedian(t *testing.T) {
	ms := []measured{{WallS: 3}, {WallS: 1}, {WallS: 2}, {WallS: 10}}
	if got := median(ms, wallOf); got != 2.5 { // mean of the middle two of 1, 2, 3, 10
		t.Errorf("median = %v, want 2.5", got)
	}
	if got := median(ms[:3], wallOf); got != 2 {
		t.Errorf("median of 3 = %v, want 2", got)
	}
}
