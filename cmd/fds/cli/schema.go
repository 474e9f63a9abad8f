package cli

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/spf13/cobra"

	"github.com/fds-dev/fds/detectors"
)

func init() { register(newSchemaCmd) }

// JSON Schema documents of the YAML files fds reads, generated from the detector registry so
// that every detector and parameter, with its range, default and meaning, is in them. Editors
// that speak JSON Schema (VS Code's YAML extension, JetBrains IDEs) validate and complete config
// and grid files from them.

// schemaDraft is the JSON Schema dialect of the documents.
const schemaDraft = "https://json-schema.org/draft/2020-12/schema"

// schemaKinds are the documents `fds schema` prints.
var schemaKinds = []string{"config", "grid"}

func newSchemaCmd(app *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "schema config|grid",
		Short: "Print the JSON Schema of config files or of tuning grid files",
		Long: `schema prints a JSON Schema (draft 2020-12) generated from the detector registry: every
detector, every parameter with its minimum, maximum, default, unit and meaning. config describes
the files fds backtest --config reads (and fds tune writes as tuned.yaml); grid describes the files
fds tune --grid reads (docs/tuning.md). Point an editor at it for validation and completion, e.g.
with a first line "# yaml-language-server: $schema=config.schema.json" (fds init does this).`,
		Example: `  fds schema config > config.schema.json
  fds schema grid > grid.schema.json`,
		ValidArgs: schemaKinds,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 || !contains(schemaKinds, args[0]) {
				return usagef("schema wants one of: config, grid")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			doc := configSchema()
			if args[0] == "grid" {
				doc = gridSchema()
			}
			return writeSchema(app, doc)
		},
	}
	return c
}

func writeSchema(app *App, doc map[string]any) error {
	b, err := marshalSchema(doc)
	if err != nil {
		return err
	}
	_, err = app.Stdout.Write(b)
	return err
}

// marshalSchema writes a schema as indented JSON with a final newline; encoding/json sorts map
// keys, so the output is deterministic.
func marshalSchema(doc map[string]any) ([]byte, error) {
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// paramSchema describes one parameter's value. asGrid accepts true/false for 0/1 parameters, as
// grid files do.
func paramSchema(ps detectors.ParamSpec, asGrid bool) map[string]any {
	unit := ps.Unit
	if unit == "" {
		unit = "-"
	}
	desc := fmt.Sprintf("%s (%s; default %s)", ps.Doc, unit, formatSchemaNumber(ps.Default))
	s := map[string]any{"description": desc, "default": ps.Default}
	if ps.Bool {
		enum := []any{0, 1}
		if asGrid {
			enum = append(enum, false, true)
		}
		s["enum"] = enum
		return s
	}
	s["type"] = "number"
	if ps.Integer {
		s["type"] = "integer"
	}
	if !math.IsInf(ps.Min, -1) {
		s["minimum"] = ps.Min
	}
	if !math.IsInf(ps.Max, 1) {
		s["maximum"] = ps.Max
	}
	return s
}

func formatSchemaNumber(v float64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// matchSchema describes the match section shared by config and grid files.
func matchSchema() map[string]any {
	window := func(doc string, def float64) map[string]any {
		return map[string]any{"type": "number", "minimum": 0, "default": def, "description": doc}
	}
	return map[string]any{
		"type":                 "object",
		"description":          "how alerts match labelled incidents (seconds)",
		"additionalProperties": false,
		"properties": map[string]any{
			"lead_s":      window("an alert may precede its incident's start by this much (s)", 60),
			"tolerance_s": window("an alert may follow its incident's end by this much (s)", 300),
		},
	}
}

// configSchema describes backtest.Config files.
func configSchema() map[string]any {
	dets := map[string]any{}
	for _, spec := range detectors.All() {
		params := map[string]any{}
		for _, ps := range spec.AllParams() {
			params[ps.Name] = paramSchema(ps, false)
		}
		dets[spec.Name] = map[string]any{
			"description":          fmt.Sprintf("%s (%s): %s", spec.Name, spec.Type, spec.Summary),
			"type":                 []any{"object", "null"},
			"additionalProperties": false,
			"properties":           params,
		}
	}
	return map[string]any{
		"$schema":              schemaDraft,
		"title":                "fds configuration",
		"description":          "Detectors to run with their parameters (unnamed parameters keep their defaults; no detector listed runs them all), and how alerts match incidents. Read by fds backtest --config.",
		"type":                 []any{"object", "null"},
		"additionalProperties": false,
		"properties": map[string]any{
			"detectors": map[string]any{
				"description":          "detector name to parameter overrides",
				"type":                 []any{"object", "null"},
				"additionalProperties": false,
				"properties":           dets,
			},
			"match": matchSchema(),
		},
	}
}

// gridSchema describes backtest.Grid files (docs/tuning.md).
func gridSchema() map[string]any {
	dets := map[string]any{}
	for _, spec := range detectors.All() {
		fixed := map[string]any{}
		sweep := map[string]any{}
		for _, ps := range spec.AllParams() {
			fixed[ps.Name] = paramSchema(ps, true)
			// A swept min_score turns the detector's threshold sweep off (docs/tuning.md).
			sweep[ps.Name] = axisSchema(ps)
		}
		dets[spec.Name] = map[string]any{
			"description":          fmt.Sprintf("%s (%s): %s", spec.Name, spec.Type, spec.Summary),
			"type":                 []any{"object", "null"},
			"additionalProperties": false,
			"properties": map[string]any{
				"fixed": map[string]any{
					"description":          "values every configuration of the detector shares (a fixed min_score is the floor of the threshold sweep)",
					"type":                 []any{"object", "null"},
					"additionalProperties": false,
					"properties":           fixed,
				},
				"sweep": map[string]any{
					"description":          "the axes of the grid: a list of values, {linear: [start, stop, steps]} or {log: [start, stop, steps]}",
					"type":                 []any{"object", "null"},
					"additionalProperties": false,
					"properties":           sweep,
				},
			},
		}
	}
	return map[string]any{
		"$schema":              schemaDraft,
		"title":                "fds tuning grid",
		"description":          "The parameters fds tune sweeps, per detector (docs/tuning.md). Detectors are tuned independently; each detector's configurations are the Cartesian product of its sweep axes.",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []any{"detectors"},
		"properties": map[string]any{
			"detectors": map[string]any{
				"description":          "detector name to its fixed values and swept axes",
				"type":                 "object",
				"minProperties":        1,
				"additionalProperties": false,
				"properties":           dets,
			},
			"match": matchSchema(),
		},
	}
}

// axisSchema describes one swept parameter: a list of distinct values or a linear or log range.
func axisSchema(ps detectors.ParamSpec) map[string]any {
	value := paramSchema(ps, true)
	bound := map[string]any{"type": "number"}
	if !math.IsInf(ps.Min, -1) {
		bound["minimum"] = ps.Min
	}
	if !math.IsInf(ps.Max, 1) {
		bound["maximum"] = ps.Max
	}
	positive := map[string]any{"type": "number", "exclusiveMinimum": 0}
	if !math.IsInf(ps.Max, 1) {
		positive["maximum"] = ps.Max
	}
	steps := map[string]any{"type": "integer", "minimum": 1, "maximum": 1000}
	rangeOf := func(kind string, b map[string]any) map[string]any {
		return map[string]any{
			"type":                 "object",
			"additionalProperties": false,
			"required":             []any{kind},
			"properties": map[string]any{
				kind: map[string]any{
					"description": "[start, stop, steps]: steps values from start to stop, both included",
					"type":        "array", "minItems": 3, "maxItems": 3,
					"prefixItems": []any{b, b, steps},
				},
			},
		}
	}
	return map[string]any{
		"description": value["description"],
		"oneOf": []any{
			map[string]any{"type": "array", "minItems": 1, "uniqueItems": true, "items": value},
			rangeOf("linear", bound),
			rangeOf("log", positive),
		},
	}
}
