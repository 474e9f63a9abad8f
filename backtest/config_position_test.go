package backtest

import (
	"strings"
	"testing"
)

func TestConfigErrorsNameFileLineAndColumn(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		// test_counter is config_test.go's detector: every is a whole number in [1, 1000].
		{"unknown top-level key", "detector:\n  test_counter: {}\n", `fds.yaml:1:1: unknown field "detector"`},
		{"unknown detector", "detectors:\n  test_counter: {}\n  test_countr: {}\n", "fds.yaml:3:3: detectors.test_countr: unknown detector"},
		{"unknown parameter", "detectors:\n  test_counter:\n    every: 5\n    evry: 3\n", `fds.yaml:4:5: detectors.test_counter: detector test_counter has no parameter "evry"`},
		{"out of range", "detectors:\n  test_counter:\n    window: 1\n    every: 0\n", "fds.yaml:4:12: detectors.test_counter: test_counter.every: value 0 out of range"},
		{"negative window", "match:\n  lead_s: 1\n  tolerance_s: -5\n", "fds.yaml:3:16: match.tolerance_s: -5 must be a finite number >= 0"},
		{"unknown match key", "match:\n  lag_s: 5\n", `fds.yaml:2:3: unknown field "lag_s"`},
	}
	for _, tc := range tests {
		_, err := ParseConfig("fds.yaml", []byte(tc.src))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want a one-line error starting %q", tc.name, err, tc.want)
		}
	}
}
