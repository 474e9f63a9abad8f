package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/detectors/scripttest"
)

func TestInitWritesAWorkingFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "team")
	if code, _, stderr := fds(t, "init", dir); code != ExitOK {
		t.Fatalf("init: exit %d %s", code, stderr)
	}
	// fds.yaml is every detector at its defaults.
	cfg, err := backtest.LoadConfig(filepath.Join(dir, "fds.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.Effective()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := backtest.DefaultConfig().Effective()
	if !reflect.DeepEqual(got, want) || cfg.Match != backtest.DefaultConfig().Match {
		t.Errorf("fds.yaml is not the default configuration:\n%v\n%v", got, want)
	}
	// grid.yaml parses for the tuner and has something to sweep.
	g, err := backtest.LoadGrid(filepath.Join(dir, "grid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if g.Size() < 2 {
		t.Errorf("the sample grid has %d configurations", g.Size())
	}
	// Both validate against the schemas written beside them, as an editor would check them.
	for _, f := range []struct{ yaml, schema string }{{"fds.yaml", "config"}, {"grid.yaml", "grid"}} {
		c := jsonschema.NewCompiler()
		s, err := c.Compile(filepath.Join(dir, "schemas", f.schema+".schema.json"))
		if err != nil {
			t.Fatal(err)
		}
		src, _ := os.ReadFile(filepath.Join(dir, f.yaml))
		if !strings.HasPrefix(string(src), "# yaml-language-server: $schema=schemas/"+f.schema+".schema.json\n") {
			t.Errorf("%s lacks the editor's schema line", f.yaml)
		}
		if err := validateYAML(s, string(src)); err != nil {
			t.Errorf("%s does not validate against its schema: %v", f.yaml, err)
		}
	}
	// The sample detector test passes.
	res, err := scripttest.RunPath(filepath.Join(dir, "tests", "example.fdstest"))
	if err != nil {
		t.Fatal(err)
	}
	if passed, failed := res.Counts(); failed != 0 || passed != 2 {
		var b strings.Builder
		res.Report(&b)
		t.Errorf("example.fdstest: %d passed, %d failed\n%s", passed, failed, b.String())
	}
	// Every fds command of the CI workflow exists with the flags it uses.
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	src, _ := os.ReadFile(filepath.Join(dir, ".github", "workflows", "fds.yml"))
	if err := yaml.Unmarshal(src, &wf); err != nil {
		t.Fatalf("fds.yml: %v", err)
	}
	root := NewRoot(&App{Stdout: &strings.Builder{}, Stderr: &strings.Builder{}})
	checked := 0
	for _, job := range wf.Jobs {
		for _, step := range job.Steps {
			if !strings.HasPrefix(step.Run, "fds ") {
				continue
			}
			args, err := shellFields(step.Run)
			if err != nil {
				t.Fatal(err)
			}
			c, rest, err := root.Find(args[1:])
			if err != nil || c == root {
				t.Errorf("workflow: %q: no such command", step.Run)
				continue
			}
			if err := c.ParseFlags(rest); err != nil {
				t.Errorf("workflow: %q: %v", step.Run, err)
			}
			checked++
		}
	}
	if checked < 4 {
		t.Errorf("checked %d fds commands of the workflow, want the test, generate, backtest and regress steps", checked)
	}
}

func TestInitRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := fds(t, "init", dir); code != ExitOK {
		t.Fatalf("init: exit %d %s", code, stderr)
	}
	mine := filepath.Join(dir, "fds.yaml")
	if err := os.WriteFile(mine, []byte("detectors: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "grid.yaml"))
	code, _, stderr := fds(t, "init", dir)
	if code != ExitError || !strings.Contains(stderr, mine) || !strings.Contains(stderr, "--force") {
		t.Errorf("second init: exit %d %q", code, stderr)
	}
	// Nothing was written: not even the missing grid.yaml.
	if b, _ := os.ReadFile(mine); string(b) != "detectors: {}\n" {
		t.Errorf("fds.yaml was overwritten: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "grid.yaml")); err == nil {
		t.Error("a refused init wrote grid.yaml")
	}
	if code, _, stderr := fds(t, "init", dir, "--force"); code != ExitOK {
		t.Fatalf("init --force: exit %d %s", code, stderr)
	}
	if b, _ := os.ReadFile(mine); !strings.Contains(string(b), "# fds configuration") {
		t.Errorf("--force did not restore fds.yaml: %q", b)
	}
	if code, _, _ := fds(t, "init"); code != ExitUsage {
		t.Errorf("init without a folder: exit %d, want %d", code, ExitUsage)
	}
}

// TestInitFolderCommandsRunUnchanged runs, from a fresh folder, every command of its README
// (generate, inspect, backtest with fds.yaml, query, tune with grid.yaml, backtest the tuned
// config, test, baseline, regress) and then the CI workflow's commands, through Main: they must
// all succeed as written (the market is the small preset).
func TestInitFolderCommandsRunUnchanged(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := fds(t, "init", dir, "--quiet"); code != ExitOK {
		t.Fatalf("init: exit %d %s", code, stderr)
	}
	t.Chdir(dir)
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	cmds := commandLines(t, string(readme))
	if len(cmds) < 8 {
		t.Fatalf("the folder's README shows %d commands", len(cmds))
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	src, _ := os.ReadFile(filepath.Join(".github", "workflows", "fds.yml"))
	if err := yaml.Unmarshal(src, &wf); err != nil {
		t.Fatal(err)
	}
	for _, job := range wf.Jobs {
		for _, step := range job.Steps {
			if strings.HasPrefix(step.Run, "fds ") {
				f, _ := shellFields(step.Run)
				cmds = append(cmds, f[1:])
			}
		}
	}
	runCommandsAsWritten(t, cmds)
	for _, f := range []string{"runs/tune/tuned.yaml", "baseline/metrics.json", "regress.md", "regress.xml", "fds-tests.xml"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("after the folder's commands: %v", err)
		}
	}
}
