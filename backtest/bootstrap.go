package backtest

import (
	"math/rand/v2"
	"sort"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// Bootstrap defaults: 1000 resamples, 95% percentile intervals.
const (
	DefaultResamples = 1000
	DefaultCILevel   = 0.95
)

// BootstrapSample is what the bootstrap resamples, reduced to two independent lists of units:
// the incidents a detector is scored against (each detected or not: recall's units) and the
// days of the evaluated period (each with the number of false positives raised on it). Days, not
// alerts, are the unit of false positives because false alarms cluster in time (a noisy market
// day raises many), and resampling single alerts would understate the spread. A period shorter
// than MinBootstrapBlocks days is cut into that many equal blocks instead, so that a few hours
// of data still give the false positives some units to resample.
type BootstrapSample struct {
	// Detected has one entry per incident: true when an alert matched it (a true positive).
	Detected []bool
	// BlockFP has one entry per day (or block) of the period, those without false positives
	// included.
	BlockFP []int
}

// MinBootstrapBlocks is the fewest time blocks false positives are resampled in: periods of at
// least this many days use days; shorter ones are cut into this many equal blocks.
const MinBootstrapBlocks = 20

// Append pools another sample into s (walk-forward folds pool their test periods).
func (s *BootstrapSample) Append(o BootstrapSample) {
	s.Detected = append(s.Detected, o.Detected...)
	s.BlockFP = append(s.BlockFP, o.BlockFP...)
}

// Interval is a confidence interval.
type Interval struct {
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// Contains reports whether x lies in the interval (bounds included).
func (iv Interval) Contains(x float64) bool { return iv.Low <= x && x <= iv.High }

// BootstrapCI holds percentile-bootstrap intervals of precision, recall and F1.
type BootstrapCI struct {
	Resamples int      `json:"resamples"`
	Level     float64  `json:"level"`
	Seed      uint64   `json:"seed"`
	Precision Interval `json:"precision"`
	Recall    Interval `json:"recall"`
	F1        Interval `json:"f1"`
}

// bootstrapStream separates the bootstrap's random stream from any other use of the same seed.
const bootstrapStream = 0x6664732d626f6f74 // "fds-boot"

// Bootstrap computes percentile confidence intervals of precision, recall and F1. Each of the
// resamples draws as many incidents as the sample has, with replacement (tp* = detected draws,
// fn* = the others), and as many blocks (days), with replacement (fp* = their false positives
// summed);
// precision = tp*/(tp*+fp*), recall = tp*/(tp*+fn*) and F1 follow with the zero_division=0
// conventions of Precision, Recall and F1. The interval at level (e.g. 0.95) runs from the
// (1−level)/2 to the (1+level)/2 quantile of the resampled figures, interpolated linearly as
// Quantile does. The same sample, resamples, level and seed always give the same intervals.
// resamples <= 0 means DefaultResamples; a level outside (0, 1) means DefaultCILevel.
func Bootstrap(s BootstrapSample, resamples int, level float64, seed uint64) BootstrapCI {
	if resamples <= 0 {
		resamples = DefaultResamples
	}
	if !(level > 0 && level < 1) {
		level = DefaultCILevel
	}
	rng := rand.New(rand.NewPCG(seed, bootstrapStream))
	nInc, nBlocks := len(s.Detected), len(s.BlockFP)
	prec := make([]float64, resamples)
	rec := make([]float64, resamples)
	f1 := make([]float64, resamples)
	for r := 0; r < resamples; r++ {
		tp, fp := 0, 0
		for k := 0; k < nInc; k++ {
			if s.Detected[rng.IntN(nInc)] {
				tp++
			}
		}
		for k := 0; k < nBlocks; k++ {
			fp += s.BlockFP[rng.IntN(nBlocks)]
		}
		prec[r] = Precision(tp, fp)
		rec[r] = Recall(tp, nInc-tp)
		f1[r] = F1(prec[r], rec[r])
	}
	lo, hi := (1-level)/2, (1+level)/2
	interval := func(x []float64) Interval {
		sort.Float64s(x)
		return Interval{Low: Quantile(x, lo), High: Quantile(x, hi)}
	}
	return BootstrapCI{Resamples: resamples, Level: level, Seed: seed,
		Precision: interval(prec), Recall: interval(rec), F1: interval(f1)}
}

// Period is a time window of a dataset for scoring: incidents starting in [From, To) belong to
// it, and so do the alerts that matched them (wherever their ts) and the false positives raised
// in it. Start and End bound the replayed data inside the window: its span gives alerts per day
// and its days (or blocks) are the bootstrap's units for false positives.
type Period struct {
	From, To   detectors.Micros
	Start, End detectors.Micros
}

// Span is the period's length of replayed data (0 when empty).
func (p Period) Span() detectors.Micros { return max(p.End-p.Start, 0) }

// Days is the number of days, whole or started, in the period: at least 1.
func (p Period) Days() int {
	span := p.Span()
	return max(int((span+detectors.Day-1)/detectors.Day), 1)
}

// blockWidth is the length of the period's bootstrap blocks: a day, or for a period shorter
// than MinBootstrapBlocks days, a MinBootstrapBlocks-th of it (at least 1 µs).
func (p Period) blockWidth() detectors.Micros {
	span := p.Span()
	if span >= MinBootstrapBlocks*detectors.Day {
		return detectors.Day
	}
	return max((span+MinBootstrapBlocks-1)/MinBootstrapBlocks, 1)
}

// Blocks is the number of bootstrap blocks of the period: its days, or MinBootstrapBlocks.
func (p Period) Blocks() int {
	w := p.blockWidth()
	return max(int((p.Span()+w-1)/w), 1)
}

// block returns the bootstrap block of a timestamp, clamped to the period.
func (p Period) block(ts detectors.Micros) int {
	if ts < p.Start {
		return 0
	}
	return min(int((ts-p.Start)/p.blockWidth()), p.Blocks()-1)
}

// Holds reports whether a timestamp lies in [From, To).
func (p Period) Holds(ts detectors.Micros) bool { return ts >= p.From && ts < p.To }

// BootstrapSampleOf builds the bootstrap sample of one detector's matching within a period,
// keeping only the alerts scoring at least minScore: because the matching is prefix-consistent
// (see Match), an incident is detected at minScore exactly when the alert that matched it
// scores at least minScore.
func BootstrapSampleOf(d *DetectorMatch, minScore float64, p Period) BootstrapSample {
	s := BootstrapSample{BlockFP: make([]int, p.Blocks())}
	matchedScore := make(map[string]float64, d.TP)
	for _, a := range d.Alerts {
		if a.TP {
			matchedScore[a.IncidentID] = a.Score
		} else if !(a.Score < minScore) && p.Holds(a.TS) {
			s.BlockFP[p.block(a.TS)]++
		}
	}
	for _, in := range d.Incidents {
		if !p.Holds(in.Start) {
			continue
		}
		score, ok := matchedScore[in.ID]
		s.Detected = append(s.Detected, in.Detected && ok && !(score < minScore))
	}
	return s
}

// BootstrapSampleFromRows builds the bootstrap sample of one detector from a run's matches table
// (matches.parquet): its "tp" and "fn" rows are the incidents, its "fp" rows are counted in the
// day (or block) of their alert, the period running from start to end (a run's first and last
// event ts).
func BootstrapSampleFromRows(rows []datasets.MatchRow, detector string, start, end detectors.Micros) BootstrapSample {
	p := Period{From: start, To: end + 1, Start: start, End: end}
	s := BootstrapSample{BlockFP: make([]int, p.Blocks())}
	for _, r := range rows {
		if r.Detector != detector {
			continue
		}
		switch r.Outcome {
		case "tp":
			s.Detected = append(s.Detected, true)
		case "fn":
			s.Detected = append(s.Detected, false)
		case "fp":
			s.BlockFP[p.block(r.AlertTS)]++
		}
	}
	return s
}
