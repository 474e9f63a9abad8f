package backtest

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// How fds regress puts a confidence interval on a change.
//
// Both runs replay the same data and are scored against the same incidents, so the comparison is
// paired. The resampling units of a detector are its incidents (identified by incident id: on
// each side detected or missed, with the detecting alert's score and time-to-detect) and the
// alerts that matched no incident (identified by Alert.Key: present as a false positive on one
// side or both, with its score). A replicate draws, per detector, as many units as it has, with
// replacement, and computes every metric on both sides from the same draw; the change of the
// replicate is candidate − baseline. Units that are the same on both sides cancel, so the
// interval reflects only what the change touched, as a paired test should.
//
// The interval is the percentile interval of the replicates' changes around the change computed
// from the units (equal to metrics.json's for every metric but time-to-detect, whose per-incident
// values in the matches file are the matched alert's), shifted onto the reported change; the
// p-value of "no change" is the share of replicates deviating from the units' change by at least
// its size (the bootstrap shift test), (1 + count) / (1 + replicates). Overall figures come from
// the same draws pooled over detectors, as metrics.json pools them.
const bootstrapMethod = "paired bootstrap over incidents and unmatched alerts, stratified by detector; percentile interval of the change"

// StratifiedResample runs a stratified bootstrap: in each of replicates rounds every stratum
// draws as many units as it holds, uniformly with replacement, and fn receives counts[s][u], how
// often unit u of stratum s was drawn in that round (the buffers are reused: fn must not keep
// them). Each stratum draws from its own PCG stream seeded with (seed, FNV-64a of its name), so
// the draws of a stratum depend neither on the other strata nor on their order.
func StratifiedResample(strata []string, sizes []int, replicates int, seed uint64, fn func(rep int, counts [][]int)) {
	rngs := make([]*rand.Rand, len(strata))
	counts := make([][]int, len(strata))
	for s, name := range strata {
		h := fnv.New64a()
		h.Write([]byte(name))
		rngs[s] = rand.New(rand.NewPCG(seed, h.Sum64()))
		counts[s] = make([]int, sizes[s])
	}
	for rep := 0; rep < replicates; rep++ {
		for s := range strata {
			c := counts[s]
			clear(c)
			n := len(c)
			for k := 0; k < n; k++ {
				c[rngs[s].IntN(n)]++
			}
		}
		fn(rep, counts)
	}
}

// deltaInterval is a change's bootstrap interval as offsets from the change, and its p-value.
type deltaInterval struct{ lo, hi, p float64 }

// shiftedInterval turns replicate changes into an interval around center (the change computed
// from all units) and the shift-test p-value. ok is false with too few defined replicates.
func shiftedInterval(samples []float64, center, level float64, replicates int) (deltaInterval, bool) {
	if len(samples) < 10 || 2*len(samples) < replicates {
		return deltaInterval{}, false
	}
	dev := make([]float64, len(samples))
	extreme := 0
	for i, s := range samples {
		dev[i] = s - center
		if math.Abs(dev[i]) >= math.Abs(center)-regressEpsilon {
			extreme++
		}
	}
	sort.Float64s(dev)
	alpha := 1 - level
	return deltaInterval{
		lo: Quantile(dev, alpha/2),
		hi: Quantile(dev, 1-alpha/2),
		p:  float64(1+extreme) / float64(1+len(samples)),
	}, true
}

// unitSide is one run's view of a detector's resampling units.
type unitSide struct {
	incident []bool    // the unit is an incident the run scores the detector against
	tp       []bool    // ... which an alert of the run detected
	fp       []bool    // the unit is an alert of the run that matched no incident
	score    []float64 // the alert's score (tp or fp)
	ttd      []float64 // seconds, for tp
	byScore  []int     // units carrying an alert, by descending score (NaN last), then index
	byTTD    []int     // tp units by ascending time-to-detect, then index
}

// pairedUnits are one detector's units on both sides (0 = baseline, 1 = candidate).
type pairedUnits struct {
	detector string
	n        int
	side     [2]*unitSide
}

// buildPairedUnits indexes a detector's match rows of both runs by unit: incidents by id, false
// positives by alert key (a key repeated within a run gets one unit per occurrence). Units are
// numbered in key order, so the draws do not depend on row order.
func buildPairedUnits(detector string, rows [2][]datasets.MatchRow) *pairedUnits {
	type ref struct {
		side int
		row  *datasets.MatchRow
	}
	byKey := map[string][]ref{}
	for s := range rows {
		seen := map[string]int{}
		for i := range rows[s] {
			row := &rows[s][i]
			var k string
			if row.Outcome == datasets.OutcomeFP {
				k = "a\x00" + row.AlertKey
			} else {
				k = "i\x00" + row.IncidentID
			}
			occ := seen[k]
			seen[k]++
			k += "\x00" + strconv.Itoa(occ)
			byKey[k] = append(byKey[k], ref{s, row})
		}
	}
	keys := sortedKeys(byKey)
	u := &pairedUnits{detector: detector, n: len(keys)}
	for s := range u.side {
		u.side[s] = &unitSide{
			incident: make([]bool, u.n), tp: make([]bool, u.n), fp: make([]bool, u.n),
			score: make([]float64, u.n), ttd: make([]float64, u.n),
		}
	}
	for i, k := range keys {
		for _, r := range byKey[k] {
			us := u.side[r.side]
			switch r.row.Outcome {
			case datasets.OutcomeTP:
				us.incident[i], us.tp[i] = true, true
				us.score[i] = r.row.Score
				us.ttd[i] = float64(r.row.TimeToDetect) / float64(detectors.Second)
			case datasets.OutcomeFN:
				us.incident[i] = true
			case datasets.OutcomeFP:
				us.fp[i] = true
				us.score[i] = r.row.Score
			}
		}
	}
	for _, us := range u.side {
		for i := 0; i < u.n; i++ {
			if us.tp[i] || us.fp[i] {
				us.byScore = append(us.byScore, i)
			}
			if us.tp[i] {
				us.byTTD = append(us.byTTD, i)
			}
		}
		sort.SliceStable(us.byScore, func(a, b int) bool {
			return rankScore(us.score[us.byScore[a]]) > rankScore(us.score[us.byScore[b]])
		})
		sort.SliceStable(us.byTTD, func(a, b int) bool { return us.ttd[us.byTTD[a]] < us.ttd[us.byTTD[b]] })
	}
	return u
}

// sideFigures are the counts and rank figures of one side under one weighting of the units.
type sideFigures struct {
	tp, fp, inc int
	ap          float64
	ttdMedian   float64
	ttdCount    int
}

func weight(w []int, i int) int {
	if w == nil {
		return 1
	}
	return w[i]
}

// figures computes a side's figures with unit i counted w[i] times (every unit once when w is
// nil), exactly as ComputeMetrics would on the correspondingly repeated alerts and incidents.
func (us *unitSide) figures(w []int) sideFigures {
	var f sideFigures
	for i := range us.incident {
		k := weight(w, i)
		if k == 0 {
			continue
		}
		if us.incident[i] {
			f.inc += k
		}
		if us.tp[i] {
			f.tp += k
		}
		if us.fp[i] {
			f.fp += k
		}
	}
	// AP: Σ (R_k − R_{k−1})·P_k over distinct scores, descending (see PRCurve).
	tp, fp := 0, 0
	prevRecall := 0.0
	for j := 0; j < len(us.byScore); {
		th := rankScore(us.score[us.byScore[j]])
		for ; j < len(us.byScore) && rankScore(us.score[us.byScore[j]]) == th; j++ {
			i := us.byScore[j]
			k := weight(w, i)
			if us.tp[i] {
				tp += k
			} else {
				fp += k
			}
		}
		if tp+fp == 0 {
			continue
		}
		recall := ratio(tp, f.inc)
		f.ap += (recall - prevRecall) * Precision(tp, fp)
		prevRecall = recall
	}
	f.ttdMedian, f.ttdCount = weightedMedian(len(us.byTTD), func(j int) (float64, int) {
		i := us.byTTD[j]
		return us.ttd[i], weight(w, i)
	})
	return f
}

// weightedMedian is Quantile(·, 0.5) of the multiset in which the j-th of n sorted values appears
// with its weight; count is the multiset's size (the median is 0 when it is empty).
func weightedMedian(n int, at func(j int) (v float64, w int)) (median float64, count int) {
	for j := 0; j < n; j++ {
		_, k := at(j)
		count += k
	}
	if count == 0 {
		return 0, 0
	}
	pos := 0.5 * float64(count-1)
	lo := int(math.Floor(pos))
	frac := pos - float64(lo)
	var vlo, vhi float64
	seen := 0
	found := false
	for j := 0; j < n; j++ {
		v, k := at(j)
		if k == 0 {
			continue
		}
		if !found && lo < seen+k {
			vlo, found = v, true
			if lo+1 < seen+k {
				return vlo + frac*(v-vlo), count
			}
		} else if found {
			vhi = v
			return vlo + frac*(vhi-vlo), count
		}
		seen += k
	}
	return vlo, count
}

// metricOf derives a metric from figures; perAlertDay converts an alert count to alerts per day.
func metricOf(f sideFigures, metric string, perAlertDay float64) (float64, bool) {
	switch metric {
	case RegressPrecision:
		return Precision(f.tp, f.fp), f.tp+f.fp > 0
	case RegressRecall:
		return ratio(f.tp, f.inc), true
	case RegressF1:
		return F1(Precision(f.tp, f.fp), ratio(f.tp, f.inc)), true
	case RegressAP:
		return f.ap, true
	case RegressAlertsPerDay:
		return float64(f.tp+f.fp) * perAlertDay, true
	case RegressTTDMedian:
		return f.ttdMedian, f.ttdCount > 0
	}
	return 0, false
}

// perAlertDay is a run's alerts-per-day of one alert: 1 / its span in days, read back from its
// metrics (or manifest); 0 when neither tells.
func perAlertDay(rf *RunFolder) float64 {
	o := rf.Metrics.Overall
	if o.Alerts > 0 && o.AlertsPerDay > 0 {
		return o.AlertsPerDay / float64(o.Alerts)
	}
	for _, dm := range rf.Metrics.Detectors {
		if dm.Alerts > 0 && dm.AlertsPerDay > 0 {
			return dm.AlertsPerDay / float64(dm.Alerts)
		}
	}
	if rf.Manifest.SpanDays > 0 {
		return 1 / rf.Manifest.SpanDays
	}
	return 0
}

// pairedIntervals bootstraps every metric's change for the detectors present in both runs and
// for the overall figures. Detectors whose matches disagree with their metrics get no interval
// (and neither does overall), with a note.
func pairedIntervals(base, cand *RegressRun, names []string, opts RegressOptions) (map[string]map[string]deltaInterval, []string) {
	var notes []string
	runs := [2]*RegressRun{base, cand}
	rowsOf := [2]map[string][]datasets.MatchRow{{}, {}}
	for s, r := range runs {
		for _, row := range r.Matches {
			rowsOf[s][row.Detector] = append(rowsOf[s][row.Detector], row)
		}
	}
	var perDay [2]float64
	for s, r := range runs {
		perDay[s] = perAlertDay(r.Run)
	}
	if perDay[0] == 0 {
		perDay[0] = perDay[1]
	}
	if perDay[1] == 0 {
		perDay[1] = perDay[0]
	}

	units := make([]*pairedUnits, len(names))
	sizes := make([]int, len(names))
	inBoth := make([]bool, len(names))
	consistent := true
	for d, n := range names {
		units[d] = buildPairedUnits(n, [2][]datasets.MatchRow{rowsOf[0][n], rowsOf[1][n]})
		sizes[d] = units[d].n
		_, inB := base.Run.Metrics.Detectors[n]
		_, inC := cand.Run.Metrics.Detectors[n]
		inBoth[d] = inB && inC
		for s, r := range runs {
			dm, ok := r.Run.Metrics.Detectors[n]
			if !ok {
				continue
			}
			f := units[d].side[s].figures(nil)
			if f.tp != dm.TP || f.fp != dm.FP || f.inc != dm.Incidents {
				notes = append(notes, fmt.Sprintf("%s: %s's matches (tp %d, fp %d, incidents %d) disagree with its metrics (tp %d, fp %d, incidents %d): no interval for it",
					n, r.Path, f.tp, f.fp, f.inc, dm.TP, dm.FP, dm.Incidents))
				inBoth[d] = false
				consistent = false
			}
		}
	}

	// Pooled time-to-detect order for the overall median: every tp unit of every detector.
	type pooled struct {
		v    float64
		d, i int
	}
	var pool [2][]pooled
	for s := range pool {
		for d, u := range units {
			for _, i := range u.side[s].byTTD {
				pool[s] = append(pool[s], pooled{u.side[s].ttd[i], d, i})
			}
		}
		sort.SliceStable(pool[s], func(a, b int) bool { return pool[s][a].v < pool[s][b].v })
	}

	overall := func(s int, figs []sideFigures, counts [][]int) sideFigures {
		var o sideFigures
		apSum, apN := 0.0, 0
		for d := range figs {
			o.tp += figs[d].tp
			o.fp += figs[d].fp
			o.inc += figs[d].inc
			if figs[d].inc > 0 {
				apSum += figs[d].ap
				apN++
			}
		}
		if apN > 0 {
			o.ap = apSum / float64(apN)
		}
		o.ttdMedian, o.ttdCount = weightedMedian(len(pool[s]), func(j int) (float64, int) {
			p := pool[s][j]
			if counts == nil {
				return p.v, 1
			}
			return p.v, counts[p.d][p.i]
		})
		return o
	}

	// The changes computed from all units (the replicates' centre).
	centre := map[string]map[string]float64{}
	defined := map[string]map[string]bool{}
	record := func(n string, fb, fc sideFigures, into func(n, metric string, delta float64)) {
		for _, metric := range RegressMetrics {
			vb, okb := metricOf(fb, metric, perDay[0])
			vc, okc := metricOf(fc, metric, perDay[1])
			if okb && okc {
				into(n, metric, vc-vb)
			}
		}
	}
	allFigs := [2][]sideFigures{make([]sideFigures, len(names)), make([]sideFigures, len(names))}
	for s := range allFigs {
		for d, u := range units {
			allFigs[s][d] = u.side[s].figures(nil)
		}
	}
	setCentre := func(n, metric string, delta float64) {
		if centre[n] == nil {
			centre[n], defined[n] = map[string]float64{}, map[string]bool{}
		}
		centre[n][metric], defined[n][metric] = delta, true
	}
	for d, n := range names {
		if inBoth[d] {
			record(n, allFigs[0][d], allFigs[1][d], setCentre)
		}
	}
	if consistent {
		record(OverallName, overall(0, allFigs[0], nil), overall(1, allFigs[1], nil), setCentre)
	}

	samples := map[string]map[string][]float64{}
	addSample := func(n, metric string, delta float64) {
		if !defined[n][metric] {
			return
		}
		if samples[n] == nil {
			samples[n] = map[string][]float64{}
		}
		samples[n][metric] = append(samples[n][metric], delta)
	}
	figs := [2][]sideFigures{make([]sideFigures, len(names)), make([]sideFigures, len(names))}
	StratifiedResample(names, sizes, opts.Replicates, opts.Seed, func(rep int, counts [][]int) {
		for s := range figs {
			for d, u := range units {
				figs[s][d] = u.side[s].figures(counts[d])
			}
		}
		for d, n := range names {
			if inBoth[d] {
				record(n, figs[0][d], figs[1][d], addSample)
			}
		}
		if consistent {
			record(OverallName, overall(0, figs[0], counts), overall(1, figs[1], counts), addSample)
		}
	})

	out := map[string]map[string]deltaInterval{}
	for _, n := range append(append([]string(nil), names...), OverallName) {
		for _, metric := range RegressMetrics {
			if !defined[n][metric] {
				continue
			}
			iv, ok := shiftedInterval(samples[n][metric], centre[n][metric], opts.Level, opts.Replicates)
			if !ok {
				continue
			}
			if out[n] == nil {
				out[n] = map[string]deltaInterval{}
			}
			out[n][metric] = iv
		}
	}
	return out, notes
}
