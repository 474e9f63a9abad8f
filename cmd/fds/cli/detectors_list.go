package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fds-dev/fds/detectors"
)

func init() { registerSub("detectors", newDetectorsListCmd) }

type detectorsListOptions struct{ JSON bool }

func newDetectorsListCmd(app *App) *cobra.Command {
	var opts detectorsListOptions
	c := &cobra.Command{
		Use:     "list",
		Short:   "List the detectors with their incident types and parameters",
		Example: "  fds detectors list\n  fds detectors list --json | jq '.[].name'",
		Args:    noArgs,
		RunE:    func(c *cobra.Command, args []string) error { return runDetectorsList(app, opts) },
	}
	c.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return c
}

// detectorJSON is the --json shape of one detector.
type detectorJSON struct {
	Name          string      `json:"name"`
	IncidentType  string      `json:"incident_type"`
	Summary       string      `json:"summary"`
	Doc           string      `json:"doc"`
	Tables        []string    `json:"tables"`
	NeedsAccounts bool        `json:"needs_accounts"`
	CrossSymbol   bool        `json:"cross_symbol"`
	Params        []paramJSON `json:"params"`
}

type paramJSON struct {
	Name    string   `json:"name"`
	Default float64  `json:"default"`
	Min     float64  `json:"min"`
	Max     *float64 `json:"max"` // null when unbounded
	Unit    string   `json:"unit"`
	Kind    string   `json:"kind"` // float, int or bool
	Doc     string   `json:"doc"`
}

func describeDetectors() []detectorJSON {
	var out []detectorJSON
	for _, s := range detectors.All() {
		d := detectorJSON{Name: s.Name, IncidentType: string(s.Type), Summary: s.Summary, Doc: s.Doc,
			NeedsAccounts: s.NeedsAccounts, CrossSymbol: s.CrossSymbol, Tables: []string{}}
		for _, k := range s.Needs {
			d.Tables = append(d.Tables, k.String()+"s")
		}
		for _, p := range s.AllParams() {
			pj := paramJSON{Name: p.Name, Default: p.Default, Min: p.Min, Unit: p.Unit, Doc: p.Doc, Kind: "float"}
			if !math.IsInf(p.Max, 1) {
				m := p.Max
				pj.Max = &m
			}
			if p.Integer {
				pj.Kind = "int"
			}
			if p.Bool {
				pj.Kind = "bool"
			}
			d.Params = append(d.Params, pj)
		}
		out = append(out, d)
	}
	return out
}

func runDetectorsList(app *App, opts detectorsListOptions) error {
	ds := describeDetectors()
	if opts.JSON {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		if ds == nil {
			ds = []detectorJSON{}
		}
		return enc.Encode(ds)
	}
	tw := tabwriter.NewWriter(app.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DETECTOR\tINCIDENT TYPE\tPARAMETERS (default unit)\tSUMMARY")
	for _, d := range ds {
		var ps []string
		for _, p := range d.Params {
			ps = append(ps, fmt.Sprintf("%s=%g%s", p.Name, p.Default, unitSuffix(p.Unit)))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Name, d.IncidentType, strings.Join(ps, " "), d.Summary)
	}
	return tw.Flush()
}

func unitSuffix(u string) string {
	switch u {
	case "", "count", "ratio", "score", "bool":
		return ""
	}
	return u
}
