package backtest

import (
	"fmt"
	"sort"
	"strings"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/reports"
)

// timelineRequest is one timeline being filled from the dataset.
type timelineRequest struct {
	tl       reports.Timeline
	symbol   string
	from, to detectors.Micros
	// evTrades are the false alert's evidence trades; evAccts the missed incident's accounts,
	// whose trades are highlighted.
	evTrades map[int64]bool
	evAccts  map[string]bool
	// focusInc is the missed incident's id ("" for a false alert); focusAl the false alert's
	// index (-1 for a miss).
	focusInc string
	focusAl  int
}

// Timeline windows: the case's span plus half its length on each side, at least a minute.
const minTimelinePad = detectors.Minute

// timelines scans the dataset's trades and marks once: it counts rows per symbol for the dataset
// summary and collects the prices around the first misses and false alerts, then adds their
// timelines to the document.
func (b *reportBuild) timelines(misses []missCase, falses []falseCase) error {
	if b.ds == nil || !b.sameData {
		return nil
	}
	k := min(max(b.opts.Timelines, 0), b.opts.MaxCases) // a timeline belongs to a listed case
	var reqs []*timelineRequest
	for i, m := range misses[:min(len(misses), k)] {
		in := m.incident
		r := &timelineRequest{focusInc: in.ID, focusAl: -1, symbol: in.Symbol}
		r.from, r.to = b.padWindow(in.Start, in.End)
		if len(in.Accounts) > 0 {
			r.evAccts = map[string]bool{}
			for _, a := range in.Accounts {
				r.evAccts[a] = true
			}
		}
		r.tl = reports.Timeline{
			Name:          fmt.Sprintf("timeline_miss_%d", i+1),
			Title:         fmt.Sprintf("Missed %s incident %s on %s", in.Type, b.text(in.ID), in.Symbol),
			EvidenceLabel: "trades of the incident's accounts",
		}
		var acc string
		if len(in.Accounts) > 0 {
			acc = "; accounts " + strings.Join(b.accounts(in.Accounts), ", ")
		}
		r.tl.Caption = fmt.Sprintf("%s raised no alert matching %s incident %s on %s (%s to %s%s). %s",
			m.detector, in.Type, b.text(in.ID), in.Symbol, reports.FormatTime(in.Start), reports.FormatTime(in.End), acc, timelineLegend)
		reqs = append(reqs, r)
		b.doc.Misses[i].Timeline = r.tl.Name
	}
	for i, f := range falses[:min(len(falses), k)] {
		a := &b.rf.Alerts[f.alert]
		r := &timelineRequest{focusAl: f.alert, symbol: a.Symbol}
		lo, hi := a.TS, a.TS
		if a.WindowStart > 0 && a.WindowStart < lo {
			lo = a.WindowStart
		}
		hi = max(hi, a.WindowEnd)
		r.from, r.to = b.padWindow(lo, hi)
		if len(a.Evidence.TradeIDs) > 0 {
			r.evTrades = map[int64]bool{}
			for _, id := range a.Evidence.TradeIDs {
				r.evTrades[id] = true
			}
		}
		kind := "matched no incident"
		if f.duplicate {
			kind = "repeated an alert on an incident already detected"
		}
		r.tl = reports.Timeline{
			AlertWindow:   &[2]int64{a.WindowStart, a.WindowEnd},
			Name:          fmt.Sprintf("timeline_fp_%d", i+1),
			Title:         fmt.Sprintf("False alert of %s on %s, score %.3g", a.Detector, a.Symbol, a.Score),
			EvidenceLabel: "the alert's evidence trades",
		}
		r.tl.Caption = fmt.Sprintf("%s alert at %s on %s (score %.4g, accounts %s) %s. %s", a.Detector, reports.FormatTime(a.TS),
			a.Symbol, a.Score, formatList(b.accounts(a.Accounts)), kind, timelineLegend)
		reqs = append(reqs, r)
		b.doc.FalseAlerts[i].Timeline = r.tl.Name
	}

	symbols := map[string]*reports.SymbolRows{}
	row := func(sym string) *reports.SymbolRows {
		s := symbols[sym]
		if s == nil {
			s = &reports.SymbolRows{Symbol: sym}
			symbols[sym] = s
		}
		return s
	}
	for _, table := range []string{datasets.TableTrades, datasets.TableMarks} {
		if !b.ds.Has(table) {
			continue
		}
		r, err := b.ds.OpenEvents(table)
		if err != nil {
			return err
		}
		var ev detectors.Event
		for {
			ok, err := r.Next(&ev)
			if err != nil {
				r.Close()
				return err
			}
			if !ok {
				break
			}
			s := row(ev.Symbol)
			if table == datasets.TableTrades {
				s.Trades++
			} else {
				s.Marks++
			}
			for _, q := range reqs {
				if ev.Symbol != q.symbol || ev.TS < q.from || ev.TS > q.to {
					continue
				}
				if table == datasets.TableMarks {
					q.tl.Marks = append(q.tl.Marks, reports.PricePoint{TS: ev.TS, Price: ev.Mark.MarkPrice})
					continue
				}
				pp := reports.PricePoint{TS: ev.TS, Price: ev.Trade.Price}
				q.tl.Trades = append(q.tl.Trades, pp)
				if q.evTrades[ev.Trade.TradeID] || q.evAccts[ev.Trade.MakerAccount] || q.evAccts[ev.Trade.TakerAccount] {
					q.tl.Evidence = append(q.tl.Evidence, pp)
				}
			}
		}
		r.Close()
	}
	names := make([]string, 0, len(symbols))
	for n := range symbols {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b.doc.Dataset.Symbols = append(b.doc.Dataset.Symbols, *symbols[n])
	}

	for _, q := range reqs {
		q.tl.Symbol, q.tl.From, q.tl.To = q.symbol, q.from, q.to
		for i := range b.incidents {
			in := &b.incidents[i]
			if in.Symbol != q.symbol || in.End < q.from || in.Start > q.to {
				continue
			}
			focus := q.focusInc != "" && in.ID == q.focusInc
			label := fmt.Sprintf("%s %s", in.Type, b.text(in.ID))
			if focus {
				label += " (missed)"
			}
			q.tl.Spans = append(q.tl.Spans, reports.Span{From: in.Start, To: in.End, Label: label, Focus: focus})
		}
		for i := range b.rf.Alerts {
			a := &b.rf.Alerts[i]
			if a.Symbol != q.symbol || a.TS < q.from || a.TS > q.to {
				continue
			}
			q.tl.Alerts = append(q.tl.Alerts, reports.AlertMark{TS: a.TS, Detector: a.Detector, TP: b.alertTP[i], Focus: i == q.focusAl})
		}
		b.doc.Timelines = append(b.doc.Timelines, q.tl)
	}
	return nil
}

// padWindow widens [from, to] by half its length on each side, at least minTimelinePad, within
// the run's data.
func (b *reportBuild) padWindow(from, to detectors.Micros) (detectors.Micros, detectors.Micros) {
	pad := max((to-from)/2, minTimelinePad)
	lo, hi := from-pad, to+pad
	if b.last > b.first {
		lo, hi = max(lo, min(b.first, from)), min(hi, max(b.last, to))
	}
	return lo, hi
}

const timelineLegend = "Shaded: labelled incidents on the symbol (the case's own darker) and, for a false alert, its window in light red; vertical lines: alerts of every detector " +
	"on the symbol (green matched an incident, red matched none; the case's own solid); crosses: the case's executions."
