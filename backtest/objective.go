package backtest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ObjectiveKind is what a tuning objective optimises.
type ObjectiveKind int

const (
	// MaxFBeta maximises F-beta.
	MaxFBeta ObjectiveKind = iota + 1
	// MaxRecallAtPrecision maximises recall subject to precision >= Bound.
	MaxRecallAtPrecision
	// MaxRecallAtBudget maximises recall subject to alerts per day <= Bound.
	MaxRecallAtBudget
	// MinAlertsAtRecall minimises alerts subject to recall >= Bound.
	MinAlertsAtRecall
)

// Objective is how the tuner picks an operating point on a curve and ranks configurations.
// Its text form (ParseObjective, String) is the CLI's --objective:
//
//	fbeta:BETA                  maximise F-beta (fbeta:1 is F1; f1 is accepted)
//	recall@precision>=P         maximise recall subject to precision >= P
//	recall@alerts_per_day<=B    maximise recall subject to alerts/day <= B
//	min_alerts@recall>=R        minimise alerts subject to recall >= R
type Objective struct {
	Kind ObjectiveKind
	// Beta for MaxFBeta; the bound (P, B or R) otherwise.
	Beta  float64
	Bound float64
}

// ObjectiveSyntax lists the accepted forms, for help texts and errors.
const ObjectiveSyntax = "fbeta:BETA, recall@precision>=P, recall@alerts_per_day<=B or min_alerts@recall>=R"

// ParseObjective reads an objective's text form.
func ParseObjective(s string) (Objective, error) {
	t := strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	bad := func(why string) (Objective, error) {
		return Objective{}, fmt.Errorf("objective %q: %s (want %s)", s, why, ObjectiveSyntax)
	}
	num := func(v string, lo, hi float64, what string) (float64, error) {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(x) || x < lo || x > hi {
			return 0, fmt.Errorf("objective %q: %s %q must be a number in [%g, %g]", s, what, v, lo, hi)
		}
		return x, nil
	}
	switch {
	case t == "f1":
		return Objective{Kind: MaxFBeta, Beta: 1}, nil
	case strings.HasPrefix(t, "fbeta:"):
		b, err := num(strings.TrimPrefix(t, "fbeta:"), 0, 1e6, "beta")
		if err != nil {
			return Objective{}, err
		}
		if b == 0 {
			return bad("beta must be > 0")
		}
		return Objective{Kind: MaxFBeta, Beta: b}, nil
	case strings.HasPrefix(t, "recall@precision>="):
		p, err := num(strings.TrimPrefix(t, "recall@precision>="), 0, 1, "precision")
		if err != nil {
			return Objective{}, err
		}
		return Objective{Kind: MaxRecallAtPrecision, Bound: p}, nil
	case strings.HasPrefix(t, "recall@alerts_per_day<="):
		b, err := num(strings.TrimPrefix(t, "recall@alerts_per_day<="), 0, math.MaxFloat64, "budget")
		if err != nil {
			return Objective{}, err
		}
		return Objective{Kind: MaxRecallAtBudget, Bound: b}, nil
	case strings.HasPrefix(t, "min_alerts@recall>="):
		r, err := num(strings.TrimPrefix(t, "min_alerts@recall>="), 0, 1, "recall")
		if err != nil {
			return Objective{}, err
		}
		return Objective{Kind: MinAlertsAtRecall, Bound: r}, nil
	}
	return bad("unknown form")
}

// String is the objective's text form.
func (o Objective) String() string {
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	switch o.Kind {
	case MaxFBeta:
		return "fbeta:" + g(o.Beta)
	case MaxRecallAtPrecision:
		return "recall@precision>=" + g(o.Bound)
	case MaxRecallAtBudget:
		return "recall@alerts_per_day<=" + g(o.Bound)
	case MinAlertsAtRecall:
		return "min_alerts@recall>=" + g(o.Bound)
	}
	return "objective(?)"
}

// ValueName names what Value measures, for tables.
func (o Objective) ValueName() string {
	switch o.Kind {
	case MaxFBeta:
		return "F" + strconv.FormatFloat(o.Beta, 'g', -1, 64)
	case MinAlertsAtRecall:
		return "alerts/day"
	}
	return "recall"
}

// Feasible reports whether a point meets the objective's constraint (always, for F-beta).
func (o Objective) Feasible(p PRPoint) bool {
	switch o.Kind {
	case MaxRecallAtPrecision:
		return p.Precision >= o.Bound
	case MaxRecallAtBudget:
		return p.AlertsPerDay <= o.Bound
	case MinAlertsAtRecall:
		return p.Recall >= o.Bound
	}
	return true
}

// Value is the figure the objective optimises at a point: F-beta, recall, or alerts per day
// (minimised).
func (o Objective) Value(p PRPoint) float64 {
	switch o.Kind {
	case MaxFBeta:
		return FBeta(p.Precision, p.Recall, o.Beta)
	case MinAlertsAtRecall:
		return p.AlertsPerDay
	}
	return p.Recall
}

// Better reports whether point a is strictly preferred to point b. A feasible point beats an
// infeasible one; of two infeasible points the one nearer the constraint wins (higher precision,
// fewer alerts per day, higher recall). Between feasible points the objective's value decides,
// ties going to higher precision, then fewer alerts, then higher recall; points equal in all of
// these are not ordered (callers keep the first, which on a curve is the higher threshold).
// Alerts are compared as counts: the points compared share one time span.
func (o Objective) Better(a, b PRPoint) bool {
	fa, fb := o.Feasible(a), o.Feasible(b)
	if fa != fb {
		return fa
	}
	if !fa {
		switch o.Kind {
		case MaxRecallAtPrecision:
			if a.Precision != b.Precision {
				return a.Precision > b.Precision
			}
		case MaxRecallAtBudget:
			if a.Alerts != b.Alerts {
				return a.Alerts < b.Alerts
			}
		case MinAlertsAtRecall:
			if a.Recall != b.Recall {
				return a.Recall > b.Recall
			}
		}
	}
	if o.Kind == MinAlertsAtRecall {
		if a.Alerts != b.Alerts {
			return a.Alerts < b.Alerts
		}
	} else if va, vb := o.Value(a), o.Value(b); va != vb {
		return va > vb
	}
	if a.Precision != b.Precision {
		return a.Precision > b.Precision
	}
	if a.Alerts != b.Alerts {
		return a.Alerts < b.Alerts
	}
	return a.Recall > b.Recall
}

// Best returns the curve's preferred point and whether it is feasible. Only finite thresholds
// are candidates (a min_score must be a number); a curve without one gives the empty point,
// which keeps no alert (feasible only if the constraint allows zero recall).
func (o Objective) Best(c *Curve) (PRPoint, bool) {
	best := PRPoint{Threshold: math.Inf(1)} // keeps no alert
	found := false
	for _, p := range c.Points {
		if math.IsInf(p.Threshold, 0) || math.IsNaN(p.Threshold) {
			continue
		}
		if !found || o.Better(p, best) {
			best, found = p, true
		}
	}
	return best, o.Feasible(best)
}
