package realdata

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/fds-dev/fds/detectors"
)

func pct(x float64) string { return fmt.Sprintf("%.1f", 100*x) }

func utc(ts detectors.Micros) string {
	return time.UnixMicro(ts).UTC().Format("2006-01-02 15:04")
}

// Markdown writes the pump benchmark's figures as the tables of docs/benchmarks.md.
func (r *PumpResult) Markdown(w io.Writer) {
	fmt.Fprintf(w, "Data: %d trade windows, %d trades, %d symbols, %d traded spans, %.1f traded days.\n\n",
		r.Windows, r.Trades, r.Symbols, len(r.Spans), r.TracedDays)
	fmt.Fprintf(w, "Labels: %d merged incidents from the three lists; %d covered by the trades; not counted: "+
		"%d whose symbol has no trades here, %d outside the symbol's traded spans.\n\n",
		r.Labels, r.Covered, r.UncoveredSymbolAbsent, r.UncoveredOutsideSpan)
	names := make([]string, 0, len(r.Params))
	for k := range r.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	var ps []string
	for _, k := range names {
		ps = append(ps, fmt.Sprintf("%s=%g", k, r.Params[k]))
	}
	fmt.Fprintf(w, "Parameters (the same for every window): `%s`.\n\n", strings.Join(ps, " "))
	h := r.Headline
	fmt.Fprintf(w, "| | precision | recall | F1 |\n|---|---|---|---|\n")
	fmt.Fprintf(w, "| fds pump_and_dump (event level, %d covered pumps, min_score %g) | %s | %s | %s |\n",
		r.Covered, h.MinScore, pct(h.Precision), pct(h.Recall), pct(h.F1))
	fmt.Fprintf(w, "| La Morgia et al. 2020, Table III: Kamps \"strict\" | 50.1 | 75.0 | 60.5 |\n")
	fmt.Fprintf(w, "| La Morgia et al. 2020, Table III: random forest, 25 s chunks, 10-fold CV | 93.1 | 91.4 | 92.0 |\n\n")
	fmt.Fprintf(w, "At min_score %g: TP %d, FP %d, FN %d; average precision %.3f; false alerts far (> %s) from any "+
		"labelled pump: %d in %.1f days = %.3f per day.\n\n",
		h.MinScore, h.TP, h.FP, h.FN, r.AveragePrecision, fmtDur(QuietMargin), h.QuietAlerts, r.QuietDays, h.QuietAlertsPerDay)
	fmt.Fprintf(w, "Time to detect, from the announced time, over the %d detected pumps: median %.0f s, 90th percentile %.0f s, "+
		"min %.0f s, max %.0f s.\n\n", h.TP, r.TTDMedian, r.TTDP90, r.TTDMin, r.TTDMax)
	if len(r.Table) > 0 {
		fmt.Fprintf(w, "| min_score | TP | FP | FN | precision | recall | F1 | quiet false alerts/day |\n|---|---|---|---|---|---|---|---|\n")
		for _, t := range r.Table {
			fmt.Fprintf(w, "| %g | %d | %d | %d | %s | %s | %s | %.3f |\n", t.MinScore, t.TP, t.FP, t.FN,
				pct(t.Precision), pct(t.Recall), pct(t.F1), t.QuietAlertsPerDay)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "| covered pump (announced, UTC) | lists | detected | alert − announced | score |\n|---|---|---|---|---|\n")
	for _, in := range r.Incidents {
		det, ttd, sc := "no", "", ""
		if in.Detected {
			det, ttd, sc = "yes", fmt.Sprintf("%+.0f s", float64(in.FromAnnounced)/float64(detectors.Second)), fmt.Sprintf("%.3f", in.Score)
		}
		fmt.Fprintf(w, "| %s %s | %s | %s | %s | %s |\n", in.Symbol, utc(in.Announced), in.Sources, det, ttd, sc)
	}
	fmt.Fprintln(w)
	if len(r.FalseAlerts) > 0 {
		fmt.Fprintf(w, "| false alert (UTC) | symbol | score | rush orders | trades | return |\n|---|---|---|---|---|---|\n")
		for _, a := range r.FalseAlerts {
			f := a.Evidence.Features
			fmt.Fprintf(w, "| %s | %s | %.3f | %.0f | %.0f | %.3f |\n", utc(a.TS), a.Symbol, a.Score,
				f["rush_orders"], f["trades"], f["return"])
		}
		fmt.Fprintln(w)
	}
}

func fmtDur(d detectors.Micros) string {
	return time.Duration(d * 1000).String()
}
