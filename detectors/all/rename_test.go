package all_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/fds-dev/fds/datasets/synth"
	"github.com/fds-dev/fds/detectors"
)

// TestRenamingAccountsChangesOnlyNames is a property test: a detector must judge accounts by
// what they do, never by their ids. The small generated market is replayed twice through every
// registered detector, the second time with every account id (in the events and in the accounts
// table) replaced by another whose sort order is scrambled; the alerts must be the same up to
// the renaming: same detectors, symbols, times, windows and scores, the renamed accounts.
func TestRenamingAccountsChangesOnlyNames(t *testing.T) {
	g, err := synth.New(synth.Config{Seed: 5, Preset: "small"})
	if err != nil {
		t.Fatal(err)
	}
	var evs []detectors.Event
	if _, err := g.Run(func(ev *detectors.Event) error { evs = append(evs, *ev); return nil }); err != nil {
		t.Fatal(err)
	}
	accounts := g.AccountMap()
	// The new id reverses the old one's digits behind another prefix: a permutation of the ids
	// that scrambles their order.
	rename := func(id string) string {
		if id == "" {
			return ""
		}
		r := []rune(id)
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		return "z" + string(r)
	}
	renamed := map[string]detectors.Account{}
	for id, a := range accounts {
		a.AccountID = rename(id)
		for _, f := range []*string{&a.OwnerGroup, &a.Referrer} {
			if _, isAccount := accounts[*f]; isAccount || strings.HasPrefix(*f, "u") {
				*f = rename(*f) // owner groups default to an account id; referrers are ids
			}
		}
		renamed[a.AccountID] = a
	}
	renamedEvents := make([]detectors.Event, len(evs))
	for i, ev := range evs {
		ev.Order.Account = rename(ev.Order.Account)
		ev.Trade.MakerAccount = rename(ev.Trade.MakerAccount)
		ev.Trade.TakerAccount = rename(ev.Trade.TakerAccount)
		ev.Liquidation.Account = rename(ev.Liquidation.Account)
		renamedEvents[i] = ev
	}
	run := func(name string, evs []detectors.Event, accts map[string]detectors.Account) []string {
		values := shortWarmups(mustSpec(t, name))
		values[detectors.MinScoreParam] = 0
		d, _, err := detectors.Build(name, values, detectors.Env{Accounts: accts})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		emit := func(a detectors.Alert) {
			out = append(out, fmt.Sprintf("%s %s %d [%d,%d] %.12f %s", a.Detector, a.Symbol, a.TS, a.WindowStart, a.WindowEnd,
				a.Score, strings.Join(a.Accounts, ",")))
		}
		var ev detectors.Event
		for i := range evs {
			ev = evs[i]
			ev.Seq = int64(i)
			d.OnEvent(&ev, emit)
		}
		d.Flush(emit)
		sort.Strings(out)
		return out
	}
	checked := 0
	for _, spec := range detectors.All() {
		a := run(spec.Name, evs, accounts)
		b := run(spec.Name, renamedEvents, renamed)
		// Rename the first run's accounts (and re-sort them) to compare.
		for i, line := range a {
			k := strings.LastIndexByte(line, ' ')
			var ids []string
			if line[k+1:] != "" {
				for _, id := range strings.Split(line[k+1:], ",") {
					ids = append(ids, rename(id))
				}
			}
			sort.Strings(ids)
			a[i] = line[:k+1] + strings.Join(ids, ",")
		}
		sort.Strings(a)
		if len(a) != len(b) {
			t.Errorf("%s: %d alerts, %d after renaming the accounts", spec.Name, len(a), len(b))
			continue
		}
		for i := range a {
			if a[i] != b[i] {
				t.Errorf("%s: renaming changed an alert:\n  %s\n  %s", spec.Name, a[i], b[i])
				break
			}
		}
		if len(a) > 0 {
			checked++
		}
	}
	if checked < 5 {
		t.Fatalf("only %d detectors raised alerts: the market does not exercise the property", checked)
	}
}

func mustSpec(t *testing.T, name string) *detectors.Spec {
	t.Helper()
	s, ok := detectors.Lookup(name)
	if !ok {
		t.Fatalf("%s not registered", name)
	}
	return s
}
