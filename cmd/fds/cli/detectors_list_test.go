package cli

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/fds-dev/fds/detectors"
)

// TestDetectorsListJSONHasTheCatalogue: `fds detectors list --json` lists the ten detectors of
// the catalogue (issue 3), each with its incident type from the one vocabulary and its parameters
// with defaults, units and docs, min_score among them; the table lists the same names.
func TestDetectorsListJSONHasTheCatalogue(t *testing.T) {
	code, stdout, stderr := fds(t, "detectors", "list", "--json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got []detectorJSON
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	want := []string{"collusion", "front_running", "funding_manipulation", "layering", "liquidation_hunt",
		"momentum_ignition", "pump_and_dump", "quote_stuffing", "spoofing", "wash_trade"}
	var names []string
	for _, d := range got {
		names = append(names, d.Name)
		if _, err := detectors.ParseIncidentType(d.IncidentType); err != nil {
			t.Errorf("%s: incident type %q: %v", d.Name, d.IncidentType, err)
		}
		if d.Summary == "" || len(d.Tables) == 0 {
			t.Errorf("%s: summary %q tables %v", d.Name, d.Summary, d.Tables)
		}
		hasMinScore := false
		for _, p := range d.Params {
			hasMinScore = hasMinScore || p.Name == "min_score"
			if p.Doc == "" || p.Kind == "" || p.Unit == "" {
				t.Errorf("%s.%s: doc %q kind %q unit %q", d.Name, p.Name, p.Doc, p.Kind, p.Unit)
			}
			if p.Default < p.Min || (p.Max != nil && p.Default > *p.Max) {
				t.Errorf("%s.%s: default %g outside [%g, %v]", d.Name, p.Name, p.Default, p.Min, p.Max)
			}
		}
		if len(d.Params) < 3 || !hasMinScore {
			t.Errorf("%s: %d parameters (min_score %v)", d.Name, len(d.Params), hasMinScore)
		}
	}
	sort.Strings(names)
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("detectors %v, want the ten of the catalogue %v", names, want)
	}

	code, table, stderr := fds(t, "detectors", "list")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, n := range want {
		if !strings.Contains(table, "\n"+n+" ") {
			t.Errorf("table has no row for %s:\n%s", n, table)
		}
	}
}
