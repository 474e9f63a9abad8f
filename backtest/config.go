package backtest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/fds-dev/fds/detectors"
)

// Config is what a backtest runs: which detectors with which parameters, and how alerts match
// incidents. It is the YAML file `fds backtest --config` reads, the file a run folder records as
// config.yaml and the file `fds tune` writes for its chosen configuration, so an online service
// can load the same file unchanged.
type Config struct {
	// Detectors maps a detector name to its parameter overrides (defaults apply to the rest).
	// Only the detectors named here run; an empty map runs every registered detector.
	Detectors map[string]map[string]float64 `yaml:"detectors"`
	Match     MatchSettings                 `yaml:"match"`
}

// MatchSettings are the matching windows in seconds, as written in config files.
type MatchSettings struct {
	// LeadSeconds: an alert may precede its incident's start by this much and still match.
	LeadSeconds float64 `yaml:"lead_s"`
	// ToleranceSeconds: an alert may follow its incident's end by this much and still match.
	ToleranceSeconds float64 `yaml:"tolerance_s"`
}

// Default matching windows.
const (
	DefaultLeadSeconds      = 60
	DefaultToleranceSeconds = 300
)

// DefaultConfig runs every registered detector at its defaults.
func DefaultConfig() Config {
	c := Config{Detectors: map[string]map[string]float64{},
		Match: MatchSettings{LeadSeconds: DefaultLeadSeconds, ToleranceSeconds: DefaultToleranceSeconds}}
	for _, n := range detectors.Names() {
		c.Detectors[n] = map[string]float64{}
	}
	return c
}

// MatchConfig converts the settings to microseconds.
func (m MatchSettings) MatchConfig() MatchConfig {
	return MatchConfig{
		Lead:      detectors.Micros(math.Round(m.LeadSeconds * float64(detectors.Second))),
		Tolerance: detectors.Micros(math.Round(m.ToleranceSeconds * float64(detectors.Second))),
	}
}

// LoadConfig reads and validates a config file. Unknown keys, detectors and parameters and
// out-of-range values are errors naming the file and position.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig parses config YAML; name is used in errors.
func ParseConfig(name string, data []byte) (Config, error) {
	c := Config{Match: MatchSettings{LeadSeconds: DefaultLeadSeconds, ToleranceSeconds: DefaultToleranceSeconds}}
	if len(bytes.TrimSpace(data)) == 0 {
		return DefaultConfig(), nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.Strict(), yaml.DisallowUnknownField())
	if err := dec.Decode(&c); err != nil {
		return Config{}, decodeConfigError(name, err)
	}
	if c.Detectors == nil || len(c.Detectors) == 0 {
		c.Detectors = DefaultConfig().Detectors
	}
	if err := c.Validate(); err != nil {
		return Config{}, locateConfigError(name, data, c, err)
	}
	return c, nil
}

// oneLine folds a multi-line library error into one line.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " ")
}

// Validate checks detectors, parameters and windows.
func (c Config) Validate() error {
	for _, name := range c.DetectorNames() {
		spec, ok := detectors.Lookup(name)
		if !ok {
			return fmt.Errorf("detectors.%s: unknown detector (have %s)", name, strings.Join(detectors.Names(), ", "))
		}
		if _, err := spec.Resolve(c.Detectors[name]); err != nil {
			return fmt.Errorf("detectors.%s: %w", name, err)
		}
	}
	if c.Match.LeadSeconds < 0 || math.IsNaN(c.Match.LeadSeconds) || math.IsInf(c.Match.LeadSeconds, 0) {
		return fmt.Errorf("match.lead_s: %v must be a finite number >= 0", c.Match.LeadSeconds)
	}
	if c.Match.ToleranceSeconds < 0 || math.IsNaN(c.Match.ToleranceSeconds) || math.IsInf(c.Match.ToleranceSeconds, 0) {
		return fmt.Errorf("match.tolerance_s: %v must be a finite number >= 0", c.Match.ToleranceSeconds)
	}
	return nil
}

// DetectorNames returns the configured detector names, sorted.
func (c Config) DetectorNames() []string {
	names := make([]string, 0, len(c.Detectors))
	for n := range c.Detectors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Select keeps only the named detectors (adding any not in the config at their defaults).
func (c *Config) Select(names []string) error {
	keep := map[string]map[string]float64{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if _, ok := detectors.Lookup(n); !ok {
			return fmt.Errorf("unknown detector %q (have %s)", n, strings.Join(detectors.Names(), ", "))
		}
		if p, ok := c.Detectors[n]; ok {
			keep[n] = p
		} else {
			keep[n] = map[string]float64{}
		}
	}
	if len(keep) == 0 {
		return errors.New("no detector selected")
	}
	c.Detectors = keep
	return nil
}

// Set applies one DETECTOR.PARAM=VALUE override (from --set), adding the detector if needed.
func (c *Config) Set(assignment string) error {
	key, value, ok := strings.Cut(assignment, "=")
	det, param, ok2 := strings.Cut(key, ".")
	if !ok || !ok2 || det == "" || param == "" {
		return fmt.Errorf("--set %q: want DETECTOR.PARAM=VALUE", assignment)
	}
	spec, found := detectors.Lookup(det)
	if !found {
		return fmt.Errorf("--set %q: unknown detector %q (have %s)", assignment, det, strings.Join(detectors.Names(), ", "))
	}
	ps, found := spec.Param(param)
	if !found {
		return fmt.Errorf("--set %q: detector %s has no parameter %q", assignment, det, param)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
	if err != nil {
		if b, berr := strconv.ParseBool(strings.TrimSpace(value)); berr == nil && ps.Bool {
			v, err = map[bool]float64{false: 0, true: 1}[b], nil
		} else {
			return fmt.Errorf("--set %q: value %q is not a number", assignment, value)
		}
	}
	if err := ps.Check(v); err != nil {
		return fmt.Errorf("--set %q: %w", assignment, err)
	}
	if c.Detectors == nil {
		c.Detectors = map[string]map[string]float64{}
	}
	if c.Detectors[det] == nil {
		c.Detectors[det] = map[string]float64{}
	}
	c.Detectors[det][param] = v
	return nil
}

// Effective returns, per configured detector, every parameter resolved (defaults filled in).
func (c Config) Effective() (map[string]detectors.Params, error) {
	out := map[string]detectors.Params{}
	for _, n := range c.DetectorNames() {
		spec, ok := detectors.Lookup(n)
		if !ok {
			return nil, fmt.Errorf("unknown detector %q", n)
		}
		p, err := spec.Resolve(c.Detectors[n])
		if err != nil {
			return nil, err
		}
		out[n] = p
	}
	return out, nil
}

// FormatConfig writes a config as commented YAML with every parameter resolved: each detector's
// summary and each parameter's unit, range and meaning as comments. The output parses back to
// the same configuration (a test checks it), so it serves as a run's config.yaml, as the
// scaffold `fds init` writes and as the file `fds tune` chooses.
func FormatConfig(c Config) ([]byte, error) {
	eff, err := c.Effective()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("# fds configuration: detectors to run with their parameters, and how alerts match incidents.\n")
	b.WriteString("# Durations are in seconds. Every parameter is listed with its effective value.\n")
	b.WriteString("detectors:\n")
	for _, n := range c.DetectorNames() {
		spec, _ := detectors.Lookup(n)
		fmt.Fprintf(&b, "  # %s (%s): %s\n", n, spec.Type, spec.Summary)
		fmt.Fprintf(&b, "  %s:\n", n)
		for _, ps := range spec.AllParams() {
			rng := fmt.Sprintf("[%s, %s]", formatFloat(ps.Min), formatFloat(ps.Max))
			unit := ps.Unit
			if unit == "" {
				unit = "-"
			}
			fmt.Fprintf(&b, "    %s: %s  # %s %s; %s\n", ps.Name, formatYAMLNumber(eff[n][ps.Name]), unit, rng, ps.Doc)
		}
	}
	b.WriteString("match:\n")
	fmt.Fprintf(&b, "  lead_s: %s  # s; an alert may precede an incident's start by this much\n", formatYAMLNumber(c.Match.LeadSeconds))
	fmt.Fprintf(&b, "  tolerance_s: %s  # s; an alert may follow an incident's end by this much\n", formatYAMLNumber(c.Match.ToleranceSeconds))
	return b.Bytes(), nil
}

// formatYAMLNumber writes a value as formatFloat does but without an exponent between 1e-6 and
// 1e21: YAML 1.1 readers (PyYAML) and some YAML-to-JSON converters take 1e+06 for a string.
func formatYAMLNumber(v float64) string {
	if a := math.Abs(v); a == 0 || (a >= 1e-6 && a < 1e21) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return formatFloat(v)
}

// formatFloat writes the shortest representation that parses back exactly.
func formatFloat(v float64) string {
	if math.IsInf(v, 1) {
		return "inf"
	}
	if math.IsInf(v, -1) {
		return "-inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
