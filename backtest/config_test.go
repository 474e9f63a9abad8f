package backtest

import (
	"strings"
	"testing"

	"github.com/fds-dev/fds/detectors"
)

func init() {
	detectors.Register(detectors.Spec{
		Name: "test_counter", Type: detectors.Spoofing, Summary: "test detector",
		Needs: []detectors.Kind{detectors.KindTrade},
		Params: []detectors.ParamSpec{
			{Name: "every", Default: 3, Min: 1, Max: 1000, Unit: "count", Integer: true, Doc: "alert on every n-th event"},
			{Name: "window", Default: 2.5, Min: 0, Max: 3600, Unit: "s", Doc: "a duration"},
		},
		New: func(p detectors.Params, env detectors.Env) (detectors.Detector, error) {
			return &countingDetector{n: p.Int("every")}, nil
		},
	})
}

func TestParseConfigStrict(t *testing.T) {
	cases := []struct {
		name, yaml, wantErr string
	}{
		{"ok", "detectors:\n  test_counter:\n    every: 4\nmatch:\n  lead_s: 10\n", ""},
		{"unknown top-level key", "detector:\n  test_counter: {}\n", `unknown field "detector"`},
		{"unknown detector", "detectors:\n  nope: {}\n", "detectors.nope: unknown detector"},
		{"unknown parameter", "detectors:\n  test_counter:\n    evry: 4\n", `has no parameter "evry"`},
		{"out of range", "detectors:\n  test_counter:\n    every: 0\n", "out of range [1, 1000]"},
		{"not whole", "detectors:\n  test_counter:\n    every: 1.5\n", "must be a whole number"},
		{"negative window", "match:\n  tolerance_s: -1\n", "match.tolerance_s"},
		{"malformed", "detectors: [\n", "cfg.yaml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("cfg.yaml", []byte(tc.yaml))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "cfg.yaml") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err %q must be one line starting with the file name", err)
			}
		})
	}
}

func TestUnknownKeyErrorNamesPosition(t *testing.T) {
	_, err := ParseConfig("c.yaml", []byte("match:\n  lead_s: 1\n  bogus: 2\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "c.yaml:3:3: ") {
		t.Fatalf("err = %v, want the file:line:column c.yaml:3:3 of the unknown key", err)
	}
}

func TestFormatConfigRoundTrips(t *testing.T) {
	c := DefaultConfig()
	if err := c.Select([]string{"test_counter"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Set("test_counter.every=7"); err != nil {
		t.Fatal(err)
	}
	c.Match.LeadSeconds = 12.5
	out, err := FormatConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseConfig("formatted", out)
	if err != nil {
		t.Fatalf("formatted config does not parse: %v\n%s", err, out)
	}
	eff, _ := back.Effective()
	if eff["test_counter"]["every"] != 7 || eff["test_counter"]["window"] != 2.5 || back.Match.LeadSeconds != 12.5 {
		t.Fatalf("round trip lost values: %v %+v\n%s", eff, back.Match, out)
	}
	if !strings.Contains(string(out), "window: 2.5  # s [0, 3600]; a duration") {
		t.Fatalf("parameters must be commented with unit and range:\n%s", out)
	}
}

func TestSetRejectsBadAssignments(t *testing.T) {
	c := DefaultConfig()
	for _, s := range []string{"test_counter", "test_counter.every", "nope.x=1", "test_counter.nope=1", "test_counter.every=abc", "test_counter.every=0"} {
		if err := c.Set(s); err == nil {
			t.Errorf("Set(%q) accepted", s)
		}
	}
}
