package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/detectors"
)

// compileSchema compiles a generated schema with a full JSON Schema 2020-12 validator, which
// also checks the document against the draft's meta-schema.
func compileSchema(t *testing.T, kind string) *jsonschema.Schema {
	t.Helper()
	code, out, stderr := fds(t, "schema", kind)
	if code != ExitOK {
		t.Fatalf("fds schema %s: exit %d %s", kind, code, stderr)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(kind+".schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(kind + ".schema.json")
	if err != nil {
		t.Fatalf("fds schema %s does not compile: %v", kind, err)
	}
	return s
}

// validateYAML validates a YAML document against a schema, as an editor would.
func validateYAML(s *jsonschema.Schema, src string) error {
	j, err := yaml.YAMLToJSON([]byte(src))
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

func TestSchemaIsDeterministicAndCoversTheRegistry(t *testing.T) {
	for _, kind := range schemaKinds {
		_, a, _ := fds(t, "schema", kind)
		_, b, _ := fds(t, "schema", kind)
		if a != b {
			t.Errorf("fds schema %s differs between two runs", kind)
		}
	}
	var doc struct {
		Properties struct {
			Detectors struct {
				Properties map[string]struct {
					Properties map[string]struct {
						Default     float64  `json:"default"`
						Minimum     *float64 `json:"minimum"`
						Maximum     *float64 `json:"maximum"`
						Description string   `json:"description"`
					} `json:"properties"`
				} `json:"properties"`
			} `json:"detectors"`
		} `json:"properties"`
	}
	_, out, _ := fds(t, "schema", "config")
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	dets := doc.Properties.Detectors.Properties
	if len(dets) != len(detectors.All()) {
		t.Fatalf("schema has %d detectors, registry %d", len(dets), len(detectors.All()))
	}
	for _, spec := range detectors.All() {
		params := dets[spec.Name].Properties
		for _, ps := range spec.AllParams() {
			p, ok := params[ps.Name]
			if !ok {
				t.Errorf("%s.%s missing from the schema", spec.Name, ps.Name)
				continue
			}
			if p.Default != ps.Default || !strings.Contains(p.Description, ps.Doc) {
				t.Errorf("%s.%s: default %v description %q; registry says %v, %q", spec.Name, ps.Name, p.Default, p.Description, ps.Default, ps.Doc)
			}
			if !ps.Bool && (p.Minimum == nil || *p.Minimum != ps.Min) {
				t.Errorf("%s.%s: minimum %v, want %v", spec.Name, ps.Name, p.Minimum, ps.Min)
			}
		}
	}
}

// TestSchemasAgreeWithTheParsers checks that the published schema accepts what fds accepts and
// rejects what fds rejects, on hand-picked valid and invalid documents.
func TestSchemasAgreeWithTheParsers(t *testing.T) {
	if _, ok := detectors.Lookup("spoofing"); !ok {
		t.Skip("the spoofing detector is not registered")
	}
	cfg := compileSchema(t, "config")
	configs := []struct {
		name, src string
		valid     bool
	}{
		{"defaults", string(mustFormatConfig(t)), true},
		{"empty detector", "detectors:\n  spoofing:\n", true},
		{"override", "detectors:\n  spoofing:\n    min_size_ratio: 8\n    max_lifetime: 2.5\nmatch:\n  lead_s: 0\n", true},
		{"unknown top key", "detectorz: {}\n", false},
		{"unknown detector", "detectors:\n  spoofer: {}\n", false},
		{"unknown parameter", "detectors:\n  spoofing:\n    min_size: 3\n", false},
		{"below minimum", "detectors:\n  spoofing:\n    min_score: -1\n", false},
		{"integer parameter", "detectors:\n  spoofing:\n    warmup_orders: 2.5\n", false},
		{"not a number", "detectors:\n  spoofing:\n    max_lifetime: soon\n", false},
		{"negative window", "match:\n  tolerance_s: -5\n", false},
		{"unknown match key", "match:\n  lag_s: 5\n", false},
	}
	if _, ok := detectors.Lookup("wash_trade"); ok {
		configs = append(configs,
			struct {
				name, src string
				valid     bool
			}{"bool parameter 0", "detectors:\n  wash_trade:\n    same_owner_group: 0\n", true},
			struct {
				name, src string
				valid     bool
			}{"bool parameter 2", "detectors:\n  wash_trade:\n    same_owner_group: 2\n", false})
	}
	for _, tc := range configs {
		_, perr := backtest.ParseConfig("t.yaml", []byte(tc.src))
		serr := validateYAML(cfg, tc.src)
		if (perr == nil) != tc.valid || (serr == nil) != tc.valid {
			t.Errorf("config %s: parser %v, schema %v; want valid=%v", tc.name, perr, serr, tc.valid)
		}
	}

	grid := compileSchema(t, "grid")
	grids := []struct {
		name, src string
		valid     bool
	}{
		{"sample", sampleGrid(), true},
		{"list", "detectors:\n  spoofing:\n    sweep:\n      min_size_ratio: [2, 3, 5]\n", true},
		{"linear", "detectors:\n  spoofing:\n    sweep:\n      max_lifetime: {linear: [1, 10, 4]}\n", true},
		{"log", "detectors:\n  spoofing:\n    sweep:\n      max_lifetime: {log: [1, 100, 5]}\n", true},
		{"fixed only", "detectors:\n  spoofing:\n    fixed:\n      min_score: 0.2\n", true},
		{"null detector", "detectors:\n  spoofing:\n", true},
		{"no detectors", "match:\n  lead_s: 1\n", false},
		{"unknown section", "detectors:\n  spoofing:\n    sweeps: {}\n", false},
		{"swept min_score", "detectors:\n  spoofing:\n    sweep:\n      min_score: [0.1, 0.5]\n", true},
		{"single value sweep", "detectors:\n  spoofing:\n    sweep:\n      min_size_ratio: 3\n", false},
		{"empty list", "detectors:\n  spoofing:\n    sweep:\n      min_size_ratio: []\n", false},
		{"repeated value", "detectors:\n  spoofing:\n    sweep:\n      min_size_ratio: [2, 2]\n", false},
		{"log from zero", "detectors:\n  spoofing:\n    sweep:\n      max_lifetime: {log: [0, 10, 3]}\n", false},
		{"range of two", "detectors:\n  spoofing:\n    sweep:\n      max_lifetime: {linear: [1, 10]}\n", false},
		{"fractional steps", "detectors:\n  spoofing:\n    sweep:\n      max_lifetime: {linear: [1, 10, 2.5]}\n", false},
		{"out of range", "detectors:\n  spoofing:\n    sweep:\n      min_size_ratio: [-1, 2]\n", false},
		{"unknown parameter", "detectors:\n  spoofing:\n    fixed:\n      nope: 1\n", false},
	}
	for _, tc := range grids {
		_, perr := backtest.ParseGrid("g.yaml", []byte(tc.src))
		serr := validateYAML(grid, tc.src)
		if (perr == nil) != tc.valid || (serr == nil) != tc.valid {
			t.Errorf("grid %s: parser %v, schema %v; want valid=%v", tc.name, perr, serr, tc.valid)
		}
	}
}

func mustFormatConfig(t *testing.T) []byte {
	t.Helper()
	b, err := backtest.FormatConfig(backtest.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSchemaUsage(t *testing.T) {
	for _, args := range [][]string{{"schema"}, {"schema", "yaml"}, {"schema", "config", "grid"}} {
		if code, _, _ := fds(t, args...); code != ExitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, ExitUsage)
		}
	}
}
