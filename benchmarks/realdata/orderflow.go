package realdata

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/datasets/importers"
	"github.com/fds-dev/fds/detectors"
)

// ActorModel says who the actors of LOBSTER's anonymous order flow are. LOBSTER has no account
// ids, so every account-level pattern depends on this choice.
type ActorModel string

const (
	// ActorPerOrder is the importer's mapping: the MPID when the order carries one, else the
	// synthetic actor ord-<order id>, so no two anonymous orders share an actor.
	ActorPerOrder ActorModel = "one actor per order (or MPID)"
	// ActorOneAnonymous merges every anonymous order into the single actor AnonymousActor (MPIDs
	// are kept): the opposite bound, as if the whole anonymous flow were one firm's.
	ActorOneAnonymous ActorModel = "one actor for all anonymous orders"
)

// AnonymousActor is the account of every anonymous order under ActorOneAnonymous.
const AnonymousActor = "anon"

// perOrderPrefix is the prefix of the importer's synthetic per-order actors.
const perOrderPrefix = "ord-"

// TopAlerts is how many of each detector's highest-scoring alerts the report lists per model.
const TopAlerts = 5

// OrderFlowResult is the alert rate of the detectors on LOBSTER's order flow, under each actor
// model, and what the account-blind tests of spoofing and layering alone let through.
type OrderFlowResult struct {
	File   string
	Orders int64
	Trades int64
	Hours  float64
	Passes []OrderFlowPass
}

// OrderFlowPass is one run over the flow: one actor model, one parameter set.
type OrderFlowPass struct {
	Model ActorModel
	// Relaxed is true for the runs with the account-dependent tests of spoofing and layering
	// switched off (RelaxedParams); false for every detector at its defaults.
	Relaxed   bool
	Actors    int
	Detectors []OrderFlowRow
	// Top holds each detector's TopAlerts highest-scoring candidates (ties by time), by
	// detector name, whether or not they reach the detector's min_score.
	Top []detectors.Alert
}

// RelaxedParams switch off the tests of spoofing and layering that need to know who traded the
// other side or quoted it: no minimum opposite-side quantity (spoofing still needs some) and no
// two-sided exemption. What they let through has the book shape of a spoof or a layer; only
// account ids could tell whether it is one. pump_and_dump's 30 min warm-up is the whole file's
// length, so at its defaults it never scores a chunk here: the relaxed run has none.
var RelaxedParams = map[string]map[string]float64{
	"spoofing":      {"min_opposite_ratio": 0, "max_two_sided_ratio": 1e6},
	"layering":      {"min_opposite_ratio": 0, "max_two_sided_ratio": 1e6},
	"pump_and_dump": {"warmup": 0},
}

// OrderFlowRow is one detector's alerts on the flow.
type OrderFlowRow struct {
	Detector string
	// Reads are the tables the detector reads; Missing those of them the LOBSTER file lacks.
	Reads, Missing []string
	// MinScore is the detector's default min_score; Alerts are its alerts at it.
	MinScore      float64
	Alerts        int
	AlertsPerHour float64
	Accounts      int
	// Candidates are the episodes the detector judged, whatever their score (min_score 0):
	// min_score only filters, so they are the alerts a lower threshold would raise.
	Candidates int
}

// RunOrderFlow imports the LOBSTER message file and runs every registered detector that reads
// order events or trades, at its defaults, over it: once with the importer's actors (one per
// order or MPID, in workDir/per-order) and once with every anonymous order merged into one actor
// (workDir/one-anonymous); then spoofing and layering alone with RelaxedParams, under both.
func RunOrderFlow(ctx context.Context, dataRoot, workDir string) (*OrderFlowResult, error) {
	files, err := filepath.Glob(filepath.Join(dataRoot, LobsterFolder, "*_message_*.csv"))
	if err != nil {
		return nil, err
	}
	if len(files) != 1 {
		return nil, fmt.Errorf("%s: want one LOBSTER message file, found %d", filepath.Join(dataRoot, LobsterFolder), len(files))
	}
	perOrder := filepath.Join(workDir, "per-order")
	rep, err := importers.Import("lobster", files, perOrder, importers.Options{})
	if err != nil {
		return nil, err
	}
	res := &OrderFlowResult{File: filepath.Base(files[0])}
	for _, t := range rep.Tables {
		switch t.Table {
		case datasets.TableOrders:
			res.Orders = t.Rows
		case datasets.TableTrades:
			res.Trades = t.Rows
		}
	}
	merged := filepath.Join(workDir, "one-anonymous")
	if err := mergeAnonymous(perOrder, merged); err != nil {
		return nil, err
	}
	for _, relaxed := range []bool{false, true} {
		for _, m := range []struct {
			model ActorModel
			dir   string
		}{{ActorPerOrder, perOrder}, {ActorOneAnonymous, merged}} {
			p, hours, err := runFlowPass(ctx, m.model, m.dir, relaxed)
			if err != nil {
				return nil, err
			}
			res.Hours = max(res.Hours, hours)
			res.Passes = append(res.Passes, *p)
		}
	}
	return res, nil
}

// flowTables are the tables a LOBSTER import holds.
var flowTables = []string{datasets.TableOrders, datasets.TableTrades}

func runFlowPass(ctx context.Context, model ActorModel, dir string, relaxed bool) (*OrderFlowPass, float64, error) {
	have := map[detectors.Kind]bool{detectors.KindOrder: true, detectors.KindTrade: true}
	cfg := backtest.DefaultConfig()
	cfg.Detectors = map[string]map[string]float64{}
	fm := &OrderFlowPass{Model: model, Relaxed: relaxed}
	for _, s := range detectors.All() {
		if relaxed && RelaxedParams[s.Name] == nil {
			continue
		}
		row := OrderFlowRow{Detector: s.Name, MinScore: s.DefaultMinScore}
		reads := false
		for _, k := range s.Needs {
			table := datasets.TableOfKind(k)
			row.Reads = append(row.Reads, table)
			if have[k] {
				reads = true
			} else {
				row.Missing = append(row.Missing, table)
			}
		}
		if reads {
			params := map[string]float64{detectors.MinScoreParam: 0}
			if relaxed {
				for k, v := range RelaxedParams[s.Name] {
					params[k] = v
				}
			}
			cfg.Detectors[s.Name] = params
			fm.Detectors = append(fm.Detectors, row)
		}
	}
	r, err := backtest.Run(ctx, backtest.Options{DataDir: dir, Config: cfg})
	if err != nil {
		return nil, 0, err
	}
	hours := float64(r.Stats.LastTS-r.Stats.FirstTS) / float64(detectors.Hour)
	if fm.Actors, err = countActors(dir); err != nil {
		return nil, 0, err
	}
	byDetector := map[string][]detectors.Alert{}
	for _, a := range r.Alerts {
		byDetector[a.Detector] = append(byDetector[a.Detector], a)
	}
	for i := range fm.Detectors {
		row := &fm.Detectors[i]
		alerts := byDetector[row.Detector]
		accts := map[string]bool{}
		for _, a := range alerts {
			if a.Score < row.MinScore {
				continue
			}
			row.Alerts++
			for _, ac := range a.Accounts {
				accts[ac] = true
			}
		}
		row.Candidates, row.Accounts = len(alerts), len(accts)
		if hours > 0 {
			row.AlertsPerHour = float64(row.Alerts) / hours
		}
		sort.SliceStable(alerts, func(i, j int) bool {
			if alerts[i].Score != alerts[j].Score {
				return alerts[i].Score > alerts[j].Score
			}
			return alerts[i].TS < alerts[j].TS
		})
		fm.Top = append(fm.Top, alerts[:min(TopAlerts, len(alerts))]...)
	}
	return fm, hours, nil
}

// countActors counts the distinct accounts of the orders table and the trades' maker accounts.
func countActors(dir string) (int, error) {
	ds, err := datasets.Open(dir)
	if err != nil {
		return 0, err
	}
	actors := map[string]bool{}
	err = eachEvent(ds, func(ev *detectors.Event) error {
		switch ev.Kind {
		case detectors.KindOrder:
			actors[ev.Order.Account] = true
		case detectors.KindTrade:
			if ev.Trade.MakerAccount != "" {
				actors[ev.Trade.MakerAccount] = true
			}
		}
		return nil
	})
	return len(actors), err
}

// eachEvent calls fn for every event of the orders and trades tables, one table after the other.
func eachEvent(ds *datasets.Dataset, fn func(*detectors.Event) error) error {
	for _, table := range flowTables {
		if !ds.Has(table) {
			continue
		}
		r, err := ds.OpenEvents(table)
		if err != nil {
			return err
		}
		var ev detectors.Event
		for {
			ok, err := r.Next(&ev)
			if err == nil && ok {
				err = fn(&ev)
			}
			if err != nil {
				r.Close()
				return err
			}
			if !ok {
				break
			}
		}
		if err := r.Close(); err != nil {
			return err
		}
	}
	return nil
}

// mergeAnonymous copies the orders and trades of the dataset in src to dst with every
// per-order actor (ord-<id>) replaced by AnonymousActor.
func mergeAnonymous(src, dst string) error {
	ds, err := datasets.Open(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	anon := func(acct string) string {
		if strings.HasPrefix(acct, perOrderPrefix) {
			return AnonymousActor
		}
		return acct
	}
	for _, table := range flowTables {
		if !ds.Has(table) {
			continue
		}
		w, err := datasets.NewEventWriter(filepath.Join(dst, table+".parquet"), table)
		if err != nil {
			return err
		}
		r, err := ds.OpenEvents(table)
		if err != nil {
			w.Abort()
			return err
		}
		var ev detectors.Event
		for {
			ok, err := r.Next(&ev)
			if err == nil && ok {
				ev.Order.Account = anon(ev.Order.Account)
				ev.Trade.MakerAccount = anon(ev.Trade.MakerAccount)
				ev.Trade.TakerAccount = anon(ev.Trade.TakerAccount)
				err = w.Write(&ev)
			}
			if err != nil {
				r.Close()
				w.Abort()
				return err
			}
			if !ok {
				break
			}
		}
		r.Close()
		if err := w.Close(); err != nil {
			return err
		}
	}
	return nil
}

// newYork is LOBSTER's local time; the report gives the alerts' times in it.
var newYork = func() *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// Markdown writes the order-flow figures: per actor model, every detector's alert count and
// rate, then the highest-scoring alerts with their evidence's features.
func (r *OrderFlowResult) Markdown(w io.Writer) {
	fmt.Fprintf(w, "Data: %s: %d order events, %d trades, %.2f hours.\n\n", r.File, r.Orders, r.Trades, r.Hours)
	for _, m := range r.Passes {
		if m.Relaxed {
			fmt.Fprintf(w, "### %s, relaxed: spoofing and layering without their account tests, pump_and_dump without warm-up (%d actors)\n\n",
				m.Model, m.Actors)
		} else {
			fmt.Fprintf(w, "### %s, every detector at its defaults (%d actors)\n\n", m.Model, m.Actors)
		}
		fmt.Fprintf(w, "| detector | reads | absent here | alerts | alerts per hour | actors named | "+
			"candidates (any score) |\n|---|---|---|---|---|---|---|\n")
		for _, d := range m.Detectors {
			missing := strings.Join(d.Missing, ", ")
			if missing == "" {
				missing = "-"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %d | %.2f | %d | %d |\n", d.Detector, strings.Join(d.Reads, ", "), missing,
				d.Alerts, d.AlertsPerHour, d.Accounts, d.Candidates)
		}
		fmt.Fprintln(w)
		if len(m.Top) == 0 {
			continue
		}
		fmt.Fprintf(w, "Highest-scoring candidates (at most %d per detector, whatever their score):\n\n", TopAlerts)
		fmt.Fprintf(w, "| detector | judged (ET) | window | actors | score | features |\n|---|---|---|---|---|---|\n")
		for _, a := range m.Top {
			fmt.Fprintf(w, "| %s | %s | %.1f s | %s | %.3f | %s |\n", a.Detector,
				time.UnixMicro(a.TS).In(newYork).Format("15:04:05.000"),
				float64(a.WindowEnd-a.WindowStart)/float64(detectors.Second),
				strings.Join(a.Accounts, " "), a.Score, features(a.Evidence.Features))
		}
		fmt.Fprintln(w)
	}
}

// features lists an alert's features sorted by name, with 4 significant digits.
func features(f map[string]float64) string {
	names := make([]string, 0, len(f))
	for k := range f {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s=%.4g", k, f[k])
	}
	return strings.Join(parts, " ")
}
