package detectors

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Alert is what a detector says: this symbol, these accounts, this window look like Type.
// Score rises with suspicion, so one threshold on it sweeps the detector's PR curve.
type Alert struct {
	Detector string
	Type     IncidentType
	Symbol   string
	// Accounts are the accounts the alert is about, sorted, without duplicates; empty for
	// symbol-level alerts on public data.
	Accounts []string
	// TS is the event time at which the detector could raise the alert: the ts of the event that
	// completed the pattern. Time-to-detect is measured from it.
	TS          Micros
	WindowStart Micros
	WindowEnd   Micros
	Score       float64
	Evidence    Evidence
}

// Evidence is what made an alert fire: the orders and trades involved and the named figures its
// score was computed from.
type Evidence struct {
	OrderIDs []int64
	TradeIDs []int64
	// Features are the figures behind the score (ratios, sizes, counts), by name.
	Features map[string]float64
	Note     string
}

// Key identifies an alert stably across runs: detector, symbol, accounts and time. The stream
// mode uses it to de-duplicate on restart; regression diffs use it to pair alerts.
func (a *Alert) Key() string {
	// Sized up front: one allocation (sorting and matching build a key per alert).
	var ts [20]byte
	tsText := strconv.AppendInt(ts[:0], a.TS, 10)
	n := len(a.Detector) + len(a.Symbol) + len(a.Accounts) + 3 + len(tsText)
	for _, acct := range a.Accounts {
		n += len(acct)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(a.Detector)
	b.WriteByte('|')
	b.WriteString(a.Symbol)
	b.WriteByte('|')
	for i, acct := range a.Accounts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(acct)
	}
	b.WriteByte('|')
	b.Write(tsText)
	return b.String()
}

// SortedUnique returns a sorted copy of xs without repeats (nil stays nil): the evidence lists
// of an alert, whose episode may keep appending to xs.
func SortedUnique[T cmp.Ordered](xs []T) []T {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}

// SortAccounts sorts and de-duplicates account ids in place and returns the result.
func SortAccounts(accounts []string) []string {
	out := accounts[:0]
	sort.Strings(accounts)
	for i, a := range accounts {
		if a == "" || (i > 0 && a == accounts[i-1]) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// Emit receives the alerts a detector raises.
type Emit func(Alert)

// Detector is the contract between a detection rule and whatever feeds it: the backtest replay,
// a unit test's event script or the online stream consumer.
//
// OnEvent is called once per event in non-decreasing TS order (ties in Kind order). The event is
// reused after the call returns. Flush is called once at the end of the input (a backtest's last
// event, a stream's shutdown) so that a detector can close windows still open; it must not
// invent time beyond the last event it saw.
type Detector interface {
	OnEvent(ev *Event, emit Emit)
	Flush(emit Emit)
}

// Env is the reference data a detector may receive when it is built: what the online service
// would load from its account store.
type Env struct {
	Accounts map[string]Account
}

// ParamSpec documents one parameter. Every value is a float64 so that a tuning grid can sweep any
// parameter the same way; Integer and Bool parameters are checked for whole (0/1) values.
type ParamSpec struct {
	Name    string
	Default float64
	Min     float64
	Max     float64
	// Unit is "s" for durations (seconds), "ratio", "count", "bp" (basis points), "score", ...
	Unit    string
	Integer bool
	Bool    bool
	Doc     string
}

// Params are resolved parameter values by name.
type Params map[string]float64

// Get returns a parameter's value; it panics on a name the detector did not declare, which is a
// programming error caught by the detector's own tests.
func (p Params) Get(name string) float64 {
	v, ok := p[name]
	if !ok {
		panic("detectors: undeclared parameter " + name)
	}
	return v
}

// Duration returns a parameter given in seconds as Micros.
func (p Params) Duration(name string) Micros {
	return Micros(math.Round(p.Get(name) * float64(Second)))
}

// Int returns an integer parameter.
func (p Params) Int(name string) int { return int(p.Get(name)) }

// Bool returns a 0/1 parameter.
func (p Params) Bool(name string) bool { return p.Get(name) != 0 }

// MinScoreParam is the parameter every detector has: alerts scoring below it are dropped.
const MinScoreParam = "min_score"

// Spec describes a detector for the registry: what it detects, what it needs, its parameters and
// how to build it.
type Spec struct {
	Name    string
	Type    IncidentType
	Summary string
	// Doc is the precise definition, as in docs/detectors.md.
	Doc string
	// Needs lists the tables the detector reads; the replay skips tables no detector needs.
	Needs []Kind
	// NeedsAccounts says the detector uses the accounts table (Env.Accounts).
	NeedsAccounts bool
	// CrossSymbol says the detector relates events of different symbols, so sharding by symbol
	// changes its input.
	CrossSymbol bool
	// DefaultMinScore is the default of the common min_score parameter.
	DefaultMinScore float64
	// ReadsMinScore says the detector's own logic uses min_score (a cooldown started only by
	// alerts above it), so its Params carry it. Without it New and NewGroup never receive
	// min_score: the common gate alone applies it, the detector's alerts at any threshold are its
	// alerts at a lower one cut there, and a sweep's threshold curve is exact by construction
	// (docs/tuning.md, "Thresholds without replaying").
	ReadsMinScore bool
	Params        []ParamSpec
	New           func(p Params, env Env) (Detector, error)
	// NewGroup, when set, builds many configurations as one Group that keeps the state they
	// have in common once (a sweep's fast path; see Group). New may then be left nil: Register
	// sets it to the group of one, so that a single instance runs the same code.
	NewGroup func(ps []Params, env Env) (Group, error)
}

// AllParams returns the detector's parameters including the common min_score, in declared order.
func (s *Spec) AllParams() []ParamSpec {
	out := make([]ParamSpec, 0, len(s.Params)+1)
	out = append(out, s.Params...)
	out = append(out, ParamSpec{
		Name: MinScoreParam, Default: s.DefaultMinScore, Min: 0, Max: math.Inf(1), Unit: "score",
		Doc: "alerts scoring below this are dropped",
	})
	return out
}

// Param returns the spec of the named parameter.
func (s *Spec) Param(name string) (ParamSpec, bool) {
	for _, p := range s.AllParams() {
		if p.Name == name {
			return p, true
		}
	}
	return ParamSpec{}, false
}

// Resolve returns the defaults overridden by values, each checked against its spec.
func (s *Spec) Resolve(values map[string]float64) (Params, error) {
	p := make(Params)
	for _, ps := range s.AllParams() {
		p[ps.Name] = ps.Default
	}
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := values[n]
		ps, ok := s.Param(n)
		if !ok {
			return nil, fmt.Errorf("detector %s has no parameter %q (have %s)", s.Name, n, strings.Join(s.paramNames(), ", "))
		}
		if err := ps.Check(v); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", s.Name, n, err)
		}
		p[n] = v
	}
	return p, nil
}

// constructorParams is what New and NewGroup receive: p without min_score unless the detector
// declares ReadsMinScore, so that a detector cannot depend on it without saying so.
func (s *Spec) constructorParams(p Params) Params {
	if s.ReadsMinScore {
		return p
	}
	out := make(Params, len(p)-1)
	for k, v := range p {
		if k != MinScoreParam {
			out[k] = v
		}
	}
	return out
}

func (s *Spec) paramNames() []string {
	var names []string
	for _, p := range s.AllParams() {
		names = append(names, p.Name)
	}
	return names
}

// Check reports whether v is a valid value of the parameter.
func (ps ParamSpec) Check(v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("value %v is not a finite number", v)
	}
	if v < ps.Min || v > ps.Max {
		return fmt.Errorf("value %v out of range [%v, %v] %s", v, ps.Min, ps.Max, ps.Unit)
	}
	if (ps.Integer || ps.Bool) && v != math.Trunc(v) {
		return fmt.Errorf("value %v must be a whole number", v)
	}
	if ps.Bool && v != 0 && v != 1 {
		return fmt.Errorf("value %v must be 0 or 1", v)
	}
	return nil
}

var registry = map[string]*Spec{}

// Register adds a detector to the registry; detector packages call it from init. It panics on a
// duplicate or malformed spec: a programming error.
func Register(s Spec) {
	if s.New == nil && s.NewGroup != nil {
		s.New = SingleFromGroup(s.NewGroup)
	}
	if s.Name == "" || s.New == nil {
		panic("detectors: Register needs a name and a constructor")
	}
	if _, dup := registry[s.Name]; dup {
		panic("detectors: duplicate detector " + s.Name)
	}
	for _, p := range s.Params {
		if p.Name == MinScoreParam {
			panic("detectors: " + s.Name + " declares the common parameter min_score")
		}
		if err := p.Check(p.Default); err != nil {
			panic(fmt.Sprintf("detectors: %s.%s default: %v", s.Name, p.Name, err))
		}
	}
	registry[s.Name] = &s
}

// Lookup returns the named detector's spec.
func Lookup(name string) (*Spec, bool) {
	s, ok := registry[name]
	return s, ok
}

// All returns every registered detector, sorted by name.
func All() []*Spec {
	out := make([]*Spec, 0, len(registry))
	for _, s := range registry {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names returns the registered detector names, sorted.
func Names() []string {
	var names []string
	for _, s := range All() {
		names = append(names, s.Name)
	}
	return names
}

// Build resolves the named detector's parameters and builds it, wrapped so that alerts below
// min_score are dropped and every alert carries the detector's name and type.
func Build(name string, values map[string]float64, env Env) (Detector, Params, error) {
	s, ok := Lookup(name)
	if !ok {
		return nil, nil, fmt.Errorf("unknown detector %q (have %s)", name, strings.Join(Names(), ", "))
	}
	p, err := s.Resolve(values)
	if err != nil {
		return nil, nil, err
	}
	d, err := s.New(s.constructorParams(p), env)
	if err != nil {
		return nil, nil, fmt.Errorf("detector %s: %w", name, err)
	}
	return &gated{inner: d, name: s.Name, typ: s.Type, minScore: p[MinScoreParam]}, p, nil
}

// gated applies the common min_score and stamps name and type.
type gated struct {
	inner    Detector
	name     string
	typ      IncidentType
	minScore float64
	emit     Emit
	outer    Emit
}

func (g *gated) wrap(emit Emit) Emit {
	g.outer = emit
	if g.emit == nil {
		g.emit = func(a Alert) {
			if a.Score < g.minScore {
				return
			}
			a.Detector, a.Type = g.name, g.typ
			a.Accounts = SortAccounts(a.Accounts)
			g.outer(a)
		}
	}
	return g.emit
}

func (g *gated) OnEvent(ev *Event, emit Emit) { g.inner.OnEvent(ev, g.wrap(emit)) }
func (g *gated) Flush(emit Emit)              { g.inner.Flush(g.wrap(emit)) }
