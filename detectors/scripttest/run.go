package scripttest

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/fds-dev/fds/detectors"
)

// Result is the outcome of running every case of a script.
type Result struct {
	Script string
	Cases  []CaseResult
}

// CaseResult is the outcome of one case.
type CaseResult struct {
	Name string
	Line int
	// Err is set when the detector could not be built (unknown name, bad parameter).
	Err error
	// Alerts are all alerts the detector raised, in emission order.
	Alerts []detectors.Alert
	// Missing are expectations no alert met; Unexpected are alerts no expectation took.
	Missing    []Expectation
	Unexpected []detectors.Alert
	start      detectors.Micros
}

// Passed reports whether the case built and its alerts matched the expectations one to one.
func (r *CaseResult) Passed() bool {
	return r.Err == nil && len(r.Missing) == 0 && len(r.Unexpected) == 0
}

// Passed reports whether every case passed.
func (r *Result) Passed() bool {
	for i := range r.Cases {
		if !r.Cases[i].Passed() {
			return false
		}
	}
	return true
}

// Counts returns how many cases passed and failed.
func (r *Result) Counts() (passed, failed int) {
	for i := range r.Cases {
		if r.Cases[i].Passed() {
			passed++
		} else {
			failed++
		}
	}
	return passed, failed
}

// Diff is the readable difference of expected and raised alerts ("" when the case passed):
// "- " lines are expectations not met, "+ " lines are unexpected alerts in the expect grammar.
func (r *CaseResult) Diff() string {
	if r.Err != nil {
		return "error: " + r.Err.Error() + "\n"
	}
	var b strings.Builder
	for _, e := range r.Missing {
		fmt.Fprintf(&b, "- %s    (line %d)\n", e.Text, e.Line)
	}
	for i := range r.Unexpected {
		fmt.Fprintf(&b, "+ %s\n", FormatAlert(&r.Unexpected[i], r.start))
	}
	if b.Len() > 0 && len(r.Alerts) > len(r.Unexpected) {
		b.WriteString("  matched alerts:\n")
		for i := range r.Alerts {
			if !containsAlert(r.Unexpected, &r.Alerts[i]) {
				fmt.Fprintf(&b, "    %s\n", FormatAlert(&r.Alerts[i], r.start))
			}
		}
	}
	return b.String()
}

func containsAlert(list []detectors.Alert, a *detectors.Alert) bool {
	for i := range list {
		if list[i].Key() == a.Key() && list[i].Score == a.Score {
			return true
		}
	}
	return false
}

// Report writes one line per case (ok/FAIL) and the diff of each failing case.
func (r *Result) Report(w io.Writer) error {
	for i := range r.Cases {
		c := &r.Cases[i]
		status := "ok  "
		if !c.Passed() {
			status = "FAIL"
		}
		if _, err := fmt.Fprintf(w, "%s %s:%d %s (%d alerts)\n", status, r.Script, c.Line, c.Name, len(c.Alerts)); err != nil {
			return err
		}
		if !c.Passed() {
			for _, line := range strings.SplitAfter(strings.TrimRight(c.Diff(), "\n"), "\n") {
				if _, err := fmt.Fprintf(w, "    %s", line); err != nil {
					return err
				}
			}
			if _, err := fmt.Fprintln(w); err != nil {
				return err
			}
		}
	}
	return nil
}

// Run runs every case: it builds the detector through detectors.Build (so parameters and
// min_score apply), replays the events, flushes, and matches alerts to expectations.
func (s *Script) Run() Result {
	res := Result{Script: s.Name}
	for _, c := range s.Cases {
		res.Cases = append(res.Cases, c.Run())
	}
	return res
}

// Run runs one case.
func (c *Case) Run() CaseResult {
	r := CaseResult{Name: c.Name, Line: c.Line, start: c.Start}
	d, _, err := detectors.Build(c.Detector, c.Params, detectors.Env{Accounts: c.Accounts})
	if err != nil {
		r.Err = err
		return r
	}
	emit := func(a detectors.Alert) { r.Alerts = append(r.Alerts, a) }
	// The replay reuses one Event value; so does this, so that a detector keeping a pointer
	// fails here as it would in production.
	var ev detectors.Event
	for i := range c.Events {
		ev = c.Events[i]
		d.OnEvent(&ev, emit)
	}
	d.Flush(emit)
	r.Missing, r.Unexpected = match(c.Expect, r.Alerts)
	return r
}

// match pairs expectations with alerts one to one (a maximum bipartite matching, so that the
// order of expect lines does not matter) and returns the leftovers of both sides.
func match(exp []Expectation, alerts []detectors.Alert) ([]Expectation, []detectors.Alert) {
	ok := make([][]bool, len(exp))
	for i := range exp {
		ok[i] = make([]bool, len(alerts))
		for j := range alerts {
			ok[i][j] = exp[i].Matches(&alerts[j])
		}
	}
	alertOf := make([]int, len(exp))
	expOf := make([]int, len(alerts))
	for j := range expOf {
		expOf[j] = -1
	}
	var try func(i int, seen []bool) bool
	try = func(i int, seen []bool) bool {
		for j := range alerts {
			if !ok[i][j] || seen[j] {
				continue
			}
			seen[j] = true
			if expOf[j] < 0 || try(expOf[j], seen) {
				expOf[j], alertOf[i] = i, j
				return true
			}
		}
		return false
	}
	var missing []Expectation
	for i := range exp {
		if !try(i, make([]bool, len(alerts))) {
			alertOf[i] = -1
		}
	}
	for i := range exp {
		if alertOf[i] < 0 {
			missing = append(missing, exp[i])
		}
	}
	var unexpected []detectors.Alert
	for j := range alerts {
		if expOf[j] < 0 {
			unexpected = append(unexpected, alerts[j])
		}
	}
	return missing, unexpected
}

// Matches reports whether an alert meets every constraint of the expectation.
func (e *Expectation) Matches(a *detectors.Alert) bool {
	if e.Type != string(a.Type) && e.Type != a.Detector {
		return false
	}
	if e.Symbol != a.Symbol {
		return false
	}
	if e.HasAccounts && !equalStrings(e.Accounts, detectors.SortAccounts(append([]string(nil), a.Accounts...))) {
		return false
	}
	if e.HasOrders && !equalIDs(e.OrderIDs, a.Evidence.OrderIDs) {
		return false
	}
	if e.HasTrades && !equalIDs(e.TradeIDs, a.Evidence.TradeIDs) {
		return false
	}
	if e.HasAt && (a.TS < e.AtMin || a.TS > e.AtMax) {
		return false
	}
	if e.HasWindow && (a.WindowStart != e.WindowStart || a.WindowEnd != e.WindowEnd) {
		return false
	}
	for _, ch := range e.Checks {
		var v float64
		if ch.Field == "score" {
			v = a.Score
		} else {
			f, ok := a.Evidence.Features[strings.TrimPrefix(ch.Field, "feature.")]
			if !ok {
				return false
			}
			v = f
		}
		if !ch.holds(v) {
			return false
		}
	}
	return true
}

func (ch Check) holds(v float64) bool {
	switch ch.Op {
	case ">=":
		return v >= ch.Value
	case "<=":
		return v <= ch.Value
	case ">":
		return v > ch.Value
	case "<":
		return v < ch.Value
	case "=":
		return math.Abs(v-ch.Value) <= 1e-9
	case "..":
		return v >= ch.Value && v <= ch.Hi
	}
	return false
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalIDs(want, got []int64) bool {
	g := append([]int64(nil), got...)
	sort.Slice(g, func(i, j int) bool { return g[i] < g[j] })
	// Evidence may repeat an id (an order seen twice); compare as sets.
	u := g[:0]
	for i, x := range g {
		if i == 0 || x != g[i-1] {
			u = append(u, x)
		}
	}
	if len(u) != len(want) {
		return false
	}
	for i := range u {
		if u[i] != want[i] {
			return false
		}
	}
	return true
}

// FormatAlert writes an alert in the expect grammar, times relative to start.
func FormatAlert(a *detectors.Alert, start detectors.Micros) string {
	var b strings.Builder
	typ := string(a.Type)
	if typ == "" {
		typ = a.Detector
	}
	fmt.Fprintf(&b, "%s %s", typ, a.Symbol)
	accounts := "-"
	if len(a.Accounts) > 0 {
		accounts = strings.Join(a.Accounts, ",")
	}
	fmt.Fprintf(&b, " accounts=%s at=%s", accounts, FormatOffset(a.TS-start))
	if a.WindowStart != 0 || a.WindowEnd != 0 {
		fmt.Fprintf(&b, " window=%s..%s", FormatOffset(a.WindowStart-start), FormatOffset(a.WindowEnd-start))
	}
	if len(a.Evidence.OrderIDs) > 0 {
		fmt.Fprintf(&b, " orders=%s", joinIDs(a.Evidence.OrderIDs))
	}
	if len(a.Evidence.TradeIDs) > 0 {
		fmt.Fprintf(&b, " trades=%s", joinIDs(a.Evidence.TradeIDs))
	}
	fmt.Fprintf(&b, " score=%s", strconv.FormatFloat(a.Score, 'g', 6, 64))
	return b.String()
}

func joinIDs(ids []int64) string {
	s := append([]int64(nil), ids...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	parts := make([]string, 0, len(s))
	for i, x := range s {
		if i > 0 && x == s[i-1] {
			continue
		}
		parts = append(parts, strconv.FormatInt(x, 10))
	}
	return strings.Join(parts, ",")
}

// FormatOffset writes an offset as a script time: "+2.000", "+0.000250", "-1.500".
func FormatOffset(d detectors.Micros) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	if d%detectors.Millisecond == 0 {
		return fmt.Sprintf("%s%d.%03d", sign, d/detectors.Second, (d%detectors.Second)/detectors.Millisecond)
	}
	return fmt.Sprintf("%s%d.%06d", sign, d/detectors.Second, d%detectors.Second)
}

// RunPath parses and runs one script file: the plain entry point for a command such as
// `fds test`. The error is a parse or read error; a failing case is reported in the Result.
func RunPath(path string) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, err
	}
	defer f.Close()
	s, err := Parse(path, f)
	if err != nil {
		return Result{}, err
	}
	return s.Run(), nil
}

// RunFile runs a script file as Go subtests, one per case, failing each case with its diff.
func RunFile(t *testing.T, path string) {
	t.Helper()
	res, err := RunPath(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range res.Cases {
		c := &res.Cases[i]
		t.Run(c.Name, func(t *testing.T) {
			if !c.Passed() {
				t.Errorf("%s:%d: case %q:\n%s", path, c.Line, c.Name, c.Diff())
			}
		})
	}
}

// RunDir runs every *.fdstest file of a folder (sorted) as subtests named by file; it fails when
// the folder holds none, so a mistyped path cannot pass silently.
func RunDir(t *testing.T, dir string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.fdstest"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no *.fdstest files in %s", dir)
	}
	sort.Strings(paths)
	for _, p := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(p), ".fdstest"), func(t *testing.T) { RunFile(t, p) })
	}
}
