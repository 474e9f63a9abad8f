package backtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/fds-dev/fds/detectors"
)

// sklearnScript computes, for each case, what scikit-learn says about the same scores and labels:
// precision_recall_curve and average_precision_score over the alerts' TP labels, and
// precision_recall_fscore_support(average="binary", zero_division=0) at every threshold, where
// the samples are the alerts (label = TP, predicted = score >= threshold) plus one positive,
// never-predicted sample per missed incident.
const sklearnScript = `
import json, sys, warnings
warnings.simplefilter("ignore")
try:
    from sklearn.metrics import precision_recall_curve, average_precision_score, precision_recall_fscore_support
except ImportError:
    sys.exit(noSklearnExit)
out = []
for c in json.load(sys.stdin):
    s, y, missed = c["scores"], c["labels"], c["missed"]
    r = {"points": []}
    if s:
        p, rc, t = precision_recall_curve(y, s)
        r["precision"], r["recall"], r["thresholds"] = p.tolist(), rc.tolist(), t.tolist()
        r["ap"] = float(average_precision_score(y, s))
    for th in c["thresholds"]:
        y_true = y + [1] * missed
        y_pred = [1 if v >= th else 0 for v in s] + [0] * missed
        pt = {}
        for beta in c["betas"]:
            if not y_true:
                continue
            P, R, F, _ = precision_recall_fscore_support(y_true, y_pred, average="binary", beta=beta, zero_division=0)
            pt[str(beta)] = [float(P), float(R), float(F)]
        r["points"].append(pt)
    out.append(r)
json.dump(out, sys.stdout)
`

// noSklearnExit is the script's exit status when scikit-learn cannot be imported.
const noSklearnExit = 3

type sklearnCase struct {
	Scores     []float64 `json:"scores"`
	Labels     []int     `json:"labels"`
	Missed     int       `json:"missed"`
	Thresholds []float64 `json:"thresholds"`
	Betas      []float64 `json:"betas"`
}

type sklearnAnswer struct {
	Precision  []float64               `json:"precision"`
	Recall     []float64               `json:"recall"`
	Thresholds []float64               `json:"thresholds"`
	AP         float64                 `json:"ap"`
	Points     []map[string][3]float64 `json:"points"`
}

// runSklearn runs the script with each candidate interpreter until one has scikit-learn
// (Debian's python3-sklearn lives under /usr/bin/python3, which a pyenv shim on PATH may hide),
// and skips the test when none has. Importing scikit-learn takes seconds, so the script itself
// is the probe.
func runSklearn(t *testing.T, input []byte) []byte {
	var candidates []string
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		candidates = append(candidates, "/usr/bin/python3")
	}
	if p, err := exec.LookPath("python3"); err == nil && p != "/usr/bin/python3" {
		candidates = append(candidates, p)
	}
	script := strings.ReplaceAll(sklearnScript, "noSklearnExit", strconv.Itoa(noSklearnExit))
	for _, py := range candidates {
		cmd := exec.Command(py, "-c", script)
		cmd.Stdin = bytes.NewReader(input)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == noSklearnExit {
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", py, err, stderr.String())
		}
		return out
	}
	t.Skip("scikit-learn agreement test skipped: no python3 with sklearn (apt-get install -y python3-sklearn)")
	return nil
}

// sklearnCases are seeded random cases: continuous and heavily tied scores, rare and common
// positives, missed incidents, plus the corner cases (all negative, all positive, one alert).
func sklearnCases() ([]sklearnCase, [][]Scored) {
	r := rand.New(rand.NewPCG(2024, 11))
	var cases []sklearnCase
	var scored [][]Scored
	add := func(s []Scored, missed int) {
		c := sklearnCase{Missed: missed, Betas: []float64{1, 2, 0.5}}
		seen := map[float64]bool{}
		maxScore := math.Inf(-1)
		for _, x := range s {
			c.Scores = append(c.Scores, x.Score)
			label := 0
			if x.TP {
				label = 1
			}
			c.Labels = append(c.Labels, label)
			if !seen[x.Score] {
				seen[x.Score] = true
				c.Thresholds = append(c.Thresholds, x.Score)
			}
			maxScore = max(maxScore, x.Score)
		}
		// One threshold above every score: no alert kept.
		if len(s) > 0 {
			c.Thresholds = append(c.Thresholds, maxScore+1)
		}
		cases = append(cases, c)
		scored = append(scored, s)
	}
	for i := range 12 {
		// Up to 60 alerts: every distinct score is a threshold checked with three betas, and
		// each scikit-learn call costs about a millisecond.
		n := 1 + r.IntN(60)
		pPos := []float64{0.05, 0.3, 0.7}[i%3]
		tied := i%2 == 0
		s := make([]Scored, n)
		for j := range s {
			score := r.Float64()
			if tied {
				score = float64(r.IntN(6)) / 5 // six distinct values: many ties
			}
			s[j] = Scored{Score: score, TP: r.Float64() < pPos}
		}
		add(s, r.IntN(10))
	}
	add([]Scored{{0.3, false}, {0.3, false}, {0.9, false}}, 0) // all negative, no incidents
	add([]Scored{{0.3, false}, {0.7, false}}, 4)               // all negative, every incident missed
	add([]Scored{{0.2, true}, {0.2, true}, {0.5, true}}, 0)    // all positive
	add([]Scored{{0.42, true}}, 2)                             // one alert
	return cases, scored
}

// TestSklearnAgreement feeds identical scores and labels to fds and to scikit-learn and requires
// agreement to 1e-9 on precision_recall_curve, average_precision_score (and the identity
// AP_fds = AP_sklearn · tp/incidents), and precision_recall_fscore_support at every threshold.
func TestSklearnAgreement(t *testing.T) {
	cases, scored := sklearnCases()
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	out := runSklearn(t, in)
	var answers []sklearnAnswer
	if err := json.Unmarshal(out, &answers); err != nil {
		t.Fatalf("python output: %v", err)
	}
	if len(answers) != len(cases) {
		t.Fatalf("%d answers for %d cases", len(answers), len(cases))
	}
	const tol = 1e-9
	same := func(what string, i int, got, want []float64) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("case %d %s: %d values, sklearn %d", i, what, len(got), len(want))
			return
		}
		for k := range got {
			if !near(got[k], want[k], tol) {
				t.Errorf("case %d %s[%d] = %.17g, sklearn %.17g", i, what, k, got[k], want[k])
			}
		}
	}
	for i, c := range cases {
		a := answers[i]
		s := scored[i]
		tp := 0
		for _, x := range s {
			if x.TP {
				tp++
			}
		}
		incidents := tp + c.Missed

		if len(s) > 0 {
			p, r, th := SklearnPRCurve(s)
			same("precision_recall_curve precision", i, p, a.Precision)
			same("precision_recall_curve recall", i, r, a.Recall)
			same("precision_recall_curve thresholds", i, th, a.Thresholds)
			if got := SklearnAveragePrecision(s); !near(got, a.AP, tol) {
				t.Errorf("case %d average_precision_score = %.17g, sklearn %.17g", i, got, a.AP)
			}
			// The documented identity between fds's AP and scikit-learn's.
			want := 0.0
			if incidents > 0 {
				want = a.AP * float64(tp) / float64(incidents)
			}
			if got := AveragePrecision(s, incidents); !near(got, want, tol) {
				t.Errorf("case %d AP = %.17g, sklearn AP·tp/incidents = %.17g", i, got, want)
			}
		}

		curve := PRCurve(s, incidents, detectors.Day)
		for k, th := range c.Thresholds {
			pt := curve.At(th)
			for _, beta := range c.Betas {
				key := map[float64]string{1: "1", 2: "2", 0.5: "0.5"}[beta]
				want, ok := a.Points[k][key]
				if !ok {
					continue
				}
				got := [3]float64{pt.Precision, pt.Recall, FBeta(pt.Precision, pt.Recall, beta)}
				for m, name := range []string{"precision", "recall", "fbeta"} {
					if !near(got[m], want[m], tol) {
						t.Errorf("case %d threshold %v beta %v: %s = %.17g, sklearn %.17g", i, th, beta, name, got[m], want[m])
					}
				}
				if beta == 1 && !near(pt.F1, want[2], tol) {
					t.Errorf("case %d threshold %v: point F1 = %.17g, sklearn %.17g", i, th, pt.F1, want[2])
				}
			}
		}
	}
}
