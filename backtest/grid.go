package backtest

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/fds-dev/fds/detectors"
)

// A grid file says which parameters `fds tune` sweeps (docs/tuning.md):
//
//	detectors:
//	  spoofing:
//	    fixed:                       # optional: values every configuration shares
//	      warmup_orders: 50
//	    sweep:                       # optional: the axes of the grid
//	      min_size_ratio: [2, 3, 5, 8]               # a list
//	      min_depth_ratio: {linear: [0.1, 0.5, 5]}   # start, stop, number of values
//	      max_lifetime: {log: [1, 100, 5]}           # 1, 3.16, 10, 31.6, 100
//	match:                           # optional: matching windows, as in a config file
//	  lead_s: 60
//	  tolerance_s: 300
//
// Detectors are tuned independently of each other (matching and metrics are per detector), so a
// grid's configurations are the union, not the product, of its detectors' grids.

// MaxGridConfigs bounds the configurations of one grid: each is a live detector instance during
// the replay.
const MaxGridConfigs = 10000

// maxRangeSteps bounds the values of one linear or log range.
const maxRangeSteps = 1000

// Grid is a parsed tuning grid.
type Grid struct {
	// Detectors are sorted by name.
	Detectors []GridDetector
	Match     MatchSettings
	// Source is the file's text, copied into a tuning run folder for the record.
	Source []byte
}

// GridDetector is one detector's part of a grid.
type GridDetector struct {
	Name string
	// Fixed are values every configuration of the detector shares. A fixed min_score is the
	// floor of the threshold sweep: alerts below it are never produced.
	Fixed map[string]float64
	// Axes are the swept parameters, in the detector's declared parameter order.
	Axes []GridAxis
	// SweepsMinScore says min_score is one of the axes: each configuration then runs at its own
	// min_score and keeps it, and no threshold is swept for the detector (for detectors whose
	// state depends on min_score).
	SweepsMinScore bool
}

// GridAxis is one swept parameter and its values, in file order (ranges in ascending steps).
type GridAxis struct {
	Param  string
	Values []float64
}

// GridConfig is one configuration of a grid: one detector with fixed and swept values set.
type GridConfig struct {
	// ID is "detector#k", k counting the detector's configurations from 0 in expansion order.
	ID       string
	Detector string
	Index    int
	// Values holds the fixed and swept values (parameters not named keep their defaults).
	Values map[string]float64
	// Swept holds the swept values alone, in axis order.
	Swept []ParamValue
}

// ParamValue is a parameter's name and value.
type ParamValue struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// Size returns the number of configurations of the detector.
func (d *GridDetector) Size() int {
	n := 1
	for _, a := range d.Axes {
		n *= len(a.Values)
	}
	return n
}

// Size returns the number of configurations of the grid.
func (g *Grid) Size() int {
	n := 0
	for i := range g.Detectors {
		n += g.Detectors[i].Size()
	}
	return n
}

// DetectorNames returns the grid's detectors, sorted.
func (g *Grid) DetectorNames() []string {
	out := make([]string, len(g.Detectors))
	for i := range g.Detectors {
		out[i] = g.Detectors[i].Name
	}
	return out
}

// Expand lists the grid's configurations: detectors by name; within a detector, the cartesian
// product of its axes with the last axis varying fastest (an odometer), values in file order.
func (g *Grid) Expand() []GridConfig {
	var out []GridConfig
	for di := range g.Detectors {
		d := &g.Detectors[di]
		n := d.Size()
		digits := make([]int, len(d.Axes))
		for k := 0; k < n; k++ {
			c := GridConfig{ID: fmt.Sprintf("%s#%d", d.Name, k), Detector: d.Name, Index: k,
				Values: make(map[string]float64, len(d.Fixed)+len(d.Axes))}
			for p, v := range d.Fixed {
				c.Values[p] = v
			}
			for ai, a := range d.Axes {
				v := a.Values[digits[ai]]
				c.Values[a.Param] = v
				c.Swept = append(c.Swept, ParamValue{Name: a.Param, Value: v})
			}
			out = append(out, c)
			for ai := len(digits) - 1; ai >= 0; ai-- {
				digits[ai]++
				if digits[ai] < len(d.Axes[ai].Values) {
					break
				}
				digits[ai] = 0
			}
		}
	}
	return out
}

// LoadGrid reads and checks a grid file.
func LoadGrid(path string) (*Grid, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("grid: %w", err)
	}
	return ParseGrid(path, data)
}

// gridErrorf is a grid mistake at a node of the file: "name:line:column: message".
func gridErrorf(name string, n ast.Node, format string, args ...any) error {
	line, col := 0, 0
	if n != nil && n.GetToken() != nil && n.GetToken().Position != nil {
		line, col = n.GetToken().Position.Line, n.GetToken().Position.Column
	}
	return fmt.Errorf("%s:%d:%d: %s", name, line, col, fmt.Sprintf(format, args...))
}

// ParseGrid parses grid YAML; name (the file's path) starts every error, with line and column.
// Unknown keys, detectors and parameters, values out of a parameter's range, malformed ranges
// and grids above MaxGridConfigs are errors.
func ParseGrid(name string, data []byte) (*Grid, error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", name, oneLine(err.Error()))
	}
	g := &Grid{Match: MatchSettings{LeadSeconds: DefaultLeadSeconds, ToleranceSeconds: DefaultToleranceSeconds},
		Source: append([]byte(nil), data...)}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc.Body == nil {
			continue
		}
		if body != nil {
			return nil, gridErrorf(name, doc.Body, "a grid file holds one YAML document")
		}
		body = doc.Body
	}
	if body == nil {
		return nil, fmt.Errorf("%s: empty grid (want a detectors: section)", name)
	}
	top, err := entries(name, body, "the grid")
	if err != nil {
		return nil, err
	}
	sawDetectors := false
	for _, kv := range top {
		switch key := keyOf(kv); key {
		case "detectors":
			sawDetectors = true
			dets, err := entries(name, kv.Value, "detectors")
			if err != nil {
				return nil, err
			}
			for _, dkv := range dets {
				d, err := parseGridDetector(name, dkv)
				if err != nil {
					return nil, err
				}
				g.Detectors = append(g.Detectors, d)
			}
		case "match":
			ms, err := entries(name, kv.Value, "match")
			if err != nil {
				return nil, err
			}
			for _, mkv := range ms {
				key := keyOf(mkv)
				if key != "lead_s" && key != "tolerance_s" {
					return nil, gridErrorf(name, mkv.Key, "unknown key match.%s (want lead_s, tolerance_s)", key)
				}
				v, err := number(name, mkv.Value)
				if err != nil {
					return nil, err
				}
				if v < 0 || math.IsInf(v, 0) {
					return nil, gridErrorf(name, mkv.Value, "match.%s: %v must be a finite number >= 0", key, v)
				}
				if key == "lead_s" {
					g.Match.LeadSeconds = v
				} else {
					g.Match.ToleranceSeconds = v
				}
			}
		default:
			return nil, gridErrorf(name, kv.Key, "unknown key %q (want detectors, match)", key)
		}
	}
	if !sawDetectors || len(g.Detectors) == 0 {
		return nil, gridErrorf(name, body, "the grid names no detector (want a detectors: section)")
	}
	sort.Slice(g.Detectors, func(i, j int) bool { return g.Detectors[i].Name < g.Detectors[j].Name })
	if n := g.Size(); n > MaxGridConfigs {
		return nil, gridErrorf(name, body, "the grid has %d configurations, more than %d (each is a live detector instance); narrow it", n, MaxGridConfigs)
	}
	return g, nil
}

func parseGridDetector(name string, kv *ast.MappingValueNode) (GridDetector, error) {
	det := keyOf(kv)
	spec, ok := detectors.Lookup(det)
	if !ok {
		return GridDetector{}, gridErrorf(name, kv.Key, "unknown detector %q (have %s)", det, strings.Join(detectors.Names(), ", "))
	}
	d := GridDetector{Name: det, Fixed: map[string]float64{}}
	parts, err := entries(name, kv.Value, "detectors."+det)
	if err != nil {
		return d, err
	}
	axes := map[string]GridAxis{}
	where := map[string]ast.Node{}
	for _, pkv := range parts {
		section := keyOf(pkv)
		if section != "fixed" && section != "sweep" {
			return d, gridErrorf(name, pkv.Key, "unknown key detectors.%s.%s (want fixed, sweep)", det, section)
		}
		params, err := entries(name, pkv.Value, "detectors."+det+"."+section)
		if err != nil {
			return d, err
		}
		for _, param := range params {
			p := keyOf(param)
			ps, ok := spec.Param(p)
			if !ok {
				return d, gridErrorf(name, param.Key, "detector %s has no parameter %q (have %s)", det, p, strings.Join(paramNamesOf(spec), ", "))
			}
			if prev, dup := where[p]; dup {
				return d, gridErrorf(name, param.Key, "%s.%s is given twice (also at line %d)", det, p, prev.GetToken().Position.Line)
			}
			where[p] = param.Key
			if section == "fixed" {
				v, err := paramNumber(name, param.Value, ps)
				if err != nil {
					return d, err
				}
				d.Fixed[p] = v
				continue
			}
			values, err := axisValues(name, param.Value, ps)
			if err != nil {
				return d, err
			}
			axes[p] = GridAxis{Param: p, Values: values}
		}
	}
	for _, ps := range spec.AllParams() {
		if a, ok := axes[ps.Name]; ok {
			d.Axes = append(d.Axes, a)
		}
	}
	_, d.SweepsMinScore = axes[detectors.MinScoreParam]
	return d, nil
}

func paramNamesOf(spec *detectors.Spec) []string {
	var out []string
	for _, p := range spec.AllParams() {
		out = append(out, p.Name)
	}
	return out
}

// axisValues reads a list, {linear: [start, stop, steps]} or {log: [start, stop, steps]}.
func axisValues(name string, n ast.Node, ps detectors.ParamSpec) ([]float64, error) {
	const want = "want a list [a, b, ...], {linear: [start, stop, steps]} or {log: [start, stop, steps]}"
	switch v := n.(type) {
	case *ast.SequenceNode:
		if len(v.Values) == 0 {
			return nil, gridErrorf(name, n, "%s: empty list", ps.Name)
		}
		var out []float64
		seen := map[float64]bool{}
		for _, item := range v.Values {
			x, err := paramNumber(name, item, ps)
			if err != nil {
				return nil, err
			}
			if seen[x] {
				return nil, gridErrorf(name, item, "%s: value %v is listed twice", ps.Name, x)
			}
			seen[x] = true
			out = append(out, x)
		}
		return out, nil
	case *ast.MappingNode, *ast.MappingValueNode:
		kvs, err := entries(name, n, ps.Name)
		if err != nil {
			return nil, err
		}
		if len(kvs) != 1 || (keyOf(kvs[0]) != "linear" && keyOf(kvs[0]) != "log") {
			return nil, gridErrorf(name, n, "%s: %s", ps.Name, want)
		}
		kind := keyOf(kvs[0])
		seq, ok := kvs[0].Value.(*ast.SequenceNode)
		if !ok || len(seq.Values) != 3 {
			return nil, gridErrorf(name, kvs[0].Value, "%s: %s wants [start, stop, steps]", ps.Name, kind)
		}
		var nums [3]float64
		for i, item := range seq.Values {
			x, err := number(name, item)
			if err != nil {
				return nil, err
			}
			nums[i] = x
		}
		start, stop, stepsF := nums[0], nums[1], nums[2]
		if stepsF != math.Trunc(stepsF) || stepsF < 1 || stepsF > maxRangeSteps {
			return nil, gridErrorf(name, seq.Values[2], "%s: steps %v must be a whole number in [1, %d]", ps.Name, stepsF, maxRangeSteps)
		}
		if math.IsInf(start, 0) || math.IsInf(stop, 0) {
			return nil, gridErrorf(name, seq, "%s: %s range bounds must be finite", ps.Name, kind)
		}
		if kind == "log" && (start <= 0 || stop <= 0) {
			return nil, gridErrorf(name, seq, "%s: log range bounds must be > 0, got [%v, %v]", ps.Name, start, stop)
		}
		values := rangeValues(kind, start, stop, int(stepsF), ps.Integer || ps.Bool)
		for _, x := range values {
			if err := ps.Check(x); err != nil {
				return nil, gridErrorf(name, seq, "%s: %s range gives %v: %v", ps.Name, kind, x, err)
			}
		}
		return values, nil
	}
	return nil, gridErrorf(name, n, "%s: %s (a single value goes under fixed)", ps.Name, want)
}

// rangeValues spaces steps values from start to stop, both included: evenly (linear, as numpy's
// linspace) or in constant ratio (log, as numpy's geomspace). Interior values are rounded to 12
// significant digits so that 0.1 steps read 0.3, not 0.30000000000000004; whole parameters are
// rounded to whole numbers and repeated values dropped.
func rangeValues(kind string, start, stop float64, steps int, whole bool) []float64 {
	out := make([]float64, 0, steps)
	seen := map[float64]bool{}
	for i := 0; i < steps; i++ {
		var x float64
		switch {
		case i == 0:
			x = start
		case i == steps-1:
			x = stop
		case kind == "linear":
			x = start + (stop-start)*float64(i)/float64(steps-1)
		default:
			x = start * math.Pow(stop/start, float64(i)/float64(steps-1))
		}
		x = roundSignificant(x, 12)
		if whole {
			x = math.Round(x)
		}
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func roundSignificant(x float64, digits int) float64 {
	if x == 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return x
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', digits, 64), 64)
	if err != nil {
		return x
	}
	return r
}

// paramNumber reads a number (or true/false for a 0/1 parameter) and checks it against the spec.
func paramNumber(name string, n ast.Node, ps detectors.ParamSpec) (float64, error) {
	var v float64
	if b, ok := n.(*ast.BoolNode); ok && ps.Bool {
		if b.Value {
			v = 1
		}
	} else {
		var err error
		if v, err = number(name, n); err != nil {
			return 0, err
		}
	}
	if err := ps.Check(v); err != nil {
		return 0, gridErrorf(name, n, "%s: %v", ps.Name, err)
	}
	return v, nil
}

// number reads a plain numeric scalar. Anchors, aliases, tags and quoted strings are not
// numbers in a grid.
func number(name string, n ast.Node) (float64, error) {
	switch v := n.(type) {
	case *ast.IntegerNode:
		switch x := v.Value.(type) {
		case int64:
			return float64(x), nil
		case uint64:
			return float64(x), nil
		}
	case *ast.FloatNode:
		return v.Value, nil
	case *ast.InfinityNode:
		return v.Value, nil
	case *ast.StringNode:
		// Plain (unquoted) scalars such as 1e3, which YAML 1.2's core schema reads as strings.
		if v.Token != nil && v.Token.Type == token.StringType {
			if x, err := strconv.ParseFloat(v.Value, 64); err == nil && !math.IsNaN(x) {
				return x, nil
			}
		}
	}
	tok := ""
	if n != nil && n.GetToken() != nil {
		tok = n.GetToken().Value
	}
	return 0, gridErrorf(name, n, "want a number, got %q", tok)
}

// entries returns a mapping's key/value pairs (a one-pair mapping may come as the pair itself).
func entries(name string, n ast.Node, what string) ([]*ast.MappingValueNode, error) {
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values, nil
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}, nil
	case *ast.NullNode:
		return nil, nil
	}
	return nil, gridErrorf(name, n, "%s: want a mapping of keys to values", what)
}

func keyOf(kv *ast.MappingValueNode) string {
	if s, ok := kv.Key.(ast.ScalarNode); ok {
		return fmt.Sprint(s.GetValue())
	}
	return kv.Key.String()
}
