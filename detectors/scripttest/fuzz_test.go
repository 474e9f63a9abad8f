package scripttest

import (
	"strings"
	"testing"
)

// FuzzParse checks that no input makes the parser (or running what it accepts) panic, and that
// every error names the file and a line.
func FuzzParse(f *testing.F) {
	f.Add(twoCases)
	f.Add("detector test_trade_echo\nevents\n  +0 S order A new id=1 buy 1 qty=1\n  +1 S exec sell 1 qty=1 taker=B/2 maker=A/1\nexpect\n  none\n")
	f.Add("detector x\nevents\n  00:00:01.5 S mark 1 funding=0.1 oi=3\n  +2 S liq A sell 1 qty=2\nexpect\n  x S at=+0..+1 score=0..1 feature.a<2 window=+0..+1\n")
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Parse("f.fdstest", strings.NewReader(src))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.fdstest:") {
				t.Fatalf("error without file:line: %v", err)
			}
			return
		}
		for _, c := range s.Cases {
			if len(c.Events) > 1000 {
				return
			}
		}
		res := s.Run()
		_ = res.Passed()
		var b strings.Builder
		_ = res.Report(&b)
	})
}
