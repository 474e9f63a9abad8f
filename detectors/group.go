package detectors

import (
	"fmt"
	"strings"
)

// GroupEmit receives the alerts of a Group: config is the index, in the order given to the
// group's constructor, of the configuration that raised a.
type GroupEmit func(config int, a Alert)

// Group is several configurations of one detector fed from one stream of events. It exists for
// parameter sweeps: most of a detector's work is state that depends on few of its parameters
// (an order book, a typical size), and a group keeps that state once per distinct combination
// of them instead of once per configuration, running only the cheap per-configuration logic
// (candidate filters, scoring, episodes) for each.
//
// A group gives every configuration exactly the alerts, in the same order, that a separate
// instance of that configuration gives on the same events. A detector that offers groups builds
// its single instance as a group of one (Single), so there is one code path. The alerts of
// different configurations may share their Evidence's id slices and features map (one episode
// judged for 100 configurations need not copy them 100 times): consumers treat an alert's
// Evidence as read-only.
//
// OnEvent and Flush follow the Detector contract.
type Group interface {
	OnEvent(ev *Event, emit GroupEmit)
	Flush(emit GroupEmit)
}

// Layered is a group made of independent layers, each keeping the state of one distinct
// combination of state parameters for its configurations (see Layers). Every event goes to every
// layer, in layer order, so a configuration's alerts come from its layer alone, in the order a
// separate instance raises them.
type Layered[L Group] struct {
	Layers []L
}

// OnEvent feeds the event to every layer.
func (g *Layered[L]) OnEvent(ev *Event, emit GroupEmit) {
	for _, l := range g.Layers {
		l.OnEvent(ev, emit)
	}
}

// Flush flushes every layer.
func (g *Layered[L]) Flush(emit GroupEmit) {
	for _, l := range g.Layers {
		l.Flush(emit)
	}
}

// Single returns a group of one configuration as a Detector.
func Single(g Group) Detector {
	s := &single{group: g}
	s.route = func(_ int, a Alert) { s.emit(a) }
	return s
}

type single struct {
	group Group
	emit  Emit
	route GroupEmit
}

func (s *single) OnEvent(ev *Event, emit Emit) {
	s.emit = emit
	s.group.OnEvent(ev, s.route)
}

func (s *single) Flush(emit Emit) {
	s.emit = emit
	s.group.Flush(s.route)
}

// SingleFromGroup turns a group constructor into a single-instance constructor (Spec.New): the
// group of one configuration.
func SingleFromGroup(newGroup func(ps []Params, env Env) (Group, error)) func(p Params, env Env) (Detector, error) {
	return func(p Params, env Env) (Detector, error) {
		g, err := newGroup([]Params{p}, env)
		if err != nil {
			return nil, err
		}
		return Single(g), nil
	}
}

// BuildGroup resolves each configuration's parameters and builds the named detector's group of
// them, wrapped as Build wraps a single instance: every configuration drops the alerts below its
// own min_score, and every alert carries the detector's name and type. The detector must offer
// groups (Spec.NewGroup).
func BuildGroup(name string, values []map[string]float64, env Env) (Group, []Params, error) {
	s, ok := Lookup(name)
	if !ok {
		return nil, nil, fmt.Errorf("unknown detector %q (have %s)", name, strings.Join(Names(), ", "))
	}
	if s.NewGroup == nil {
		return nil, nil, fmt.Errorf("detector %s has no grouped constructor", name)
	}
	if len(values) == 0 {
		return nil, nil, fmt.Errorf("detector %s: a group needs at least one configuration", name)
	}
	ps := make([]Params, len(values))
	minScores := make([]float64, len(values))
	for i, v := range values {
		p, err := s.Resolve(v)
		if err != nil {
			return nil, nil, err
		}
		ps[i], minScores[i] = p, p[MinScoreParam]
	}
	given := make([]Params, len(ps))
	for i, p := range ps {
		given[i] = s.constructorParams(p)
	}
	g, err := s.NewGroup(given, env)
	if err != nil {
		return nil, nil, fmt.Errorf("detector %s: %w", name, err)
	}
	gg := &gatedGroup{inner: g, name: s.Name, typ: s.Type, minScores: minScores}
	gg.gate = func(i int, a Alert) {
		if a.Score < gg.minScores[i] {
			return
		}
		a.Detector, a.Type = gg.name, gg.typ
		a.Accounts = SortAccounts(a.Accounts)
		gg.outer(i, a)
	}
	return gg, ps, nil
}

// gatedGroup is gated for every configuration of a group.
type gatedGroup struct {
	inner     Group
	name      string
	typ       IncidentType
	minScores []float64
	outer     GroupEmit
	gate      GroupEmit
}

func (g *gatedGroup) OnEvent(ev *Event, emit GroupEmit) {
	g.outer = emit
	g.inner.OnEvent(ev, g.gate)
}

func (g *gatedGroup) Flush(emit GroupEmit) {
	g.outer = emit
	g.inner.Flush(g.gate)
}

// Layers assigns each configuration to a layer of shared state: configurations whose key (the
// values of the parameters the state depends on) are equal share one layer. It returns, per
// configuration, the index of its layer, and the number of layers; layers are numbered in the
// order of their first configuration, so the result does not depend on map order.
func Layers[K comparable](n int, key func(i int) K) (layerOf []int, layers int) {
	index := make(map[K]int)
	layerOf = make([]int, n)
	for i := 0; i < n; i++ {
		k := key(i)
		l, ok := index[k]
		if !ok {
			l = len(index)
			index[k] = l
		}
		layerOf[i] = l
	}
	return layerOf, len(index)
}
