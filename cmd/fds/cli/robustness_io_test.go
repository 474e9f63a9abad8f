package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fds-dev/fds/datasets/synth"
)

const washGrid = "detectors:\n  wash_trade:\n    sweep:\n      min_score: [0.5, 0.7]\n"

// smallMarket generates the small preset (a few thousand events) into dir.
func smallMarket(t *testing.T, dir string) {
	t.Helper()
	if _, err := synth.Generate(synth.Config{Preset: "small", Seed: 1, Events: 5000}, dir); err != nil {
		t.Fatal(err)
	}
}

// TestStructuralProblemsInEveryReadingCommand: the commands that read a dataset through DuckDB
// (inspect, query) or the replay (tune) fail a broken file with one line naming it.
func TestStructuralProblemsInEveryReadingCommand(t *testing.T) {
	for _, tc := range badDataCases() {
		switch tc.name {
		case "not a parquet file", "truncated parquet", "missing column", "wrong column type":
		default:
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "data")
			os.MkdirAll(dir, 0o755)
			tc.setup(t, dir)
			grid := filepath.Join(root, "grid.yaml")
			os.WriteFile(grid, []byte(washGrid), 0o644)
			cmds := [][]string{{"tune", "--data", dir, "--grid", grid, "--out", filepath.Join(root, "tune")}}
			if tc.name == "not a parquet file" || tc.name == "truncated parquet" {
				// DuckDB reads a file with a column missing or of another type as it is.
				cmds = append(cmds, []string{"datasets", "inspect", dir}, []string{"query", "--data", dir, "SELECT count(*) FROM trades"})
			}
			for _, args := range cmds {
				code, _, stderr := fds(t, args...)
				if code != ExitError {
					t.Errorf("%s: exit %d, want 1; stderr %s", args[0], code, stderr)
					continue
				}
				wantOneLineError(t, stderr, "trades.parquet")
			}
			if _, err := os.Stat(filepath.Join(root, "tune")); err == nil {
				t.Error("tune failed but left its folder")
			}
		})
	}
}

func TestConfigGridAndTestFileErrors(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "data")
	smallMarket(t, data)
	write := func(name, content string) string {
		p := filepath.Join(root, name)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	out := filepath.Join(root, "run")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing config", []string{"backtest", "--data", data, "--out", out, "--config", filepath.Join(root, "none.yaml")}, ExitError, "none.yaml: no such file or directory"},
		{"malformed config", []string{"backtest", "--data", data, "--out", out, "--config", write("a.yaml", "detectors: [\n")}, ExitError, "a.yaml:1:12:"},
		{"unknown detector", []string{"backtest", "--data", data, "--out", out, "--config", write("b.yaml", "detectors:\n  nope: {}\n")}, ExitError, `b.yaml:2:3: detectors.nope: unknown detector`},
		{"unknown parameter", []string{"backtest", "--data", data, "--out", out, "--config", write("c.yaml", "detectors:\n  wash_trade:\n    windw: 3\n")}, ExitError, `c.yaml:3:5: detectors.wash_trade: detector wash_trade has no parameter "windw"`},
		{"out-of-range value", []string{"backtest", "--data", data, "--out", out, "--config", write("d.yaml", "detectors:\n  wash_trade:\n    min_score: -1\n")}, ExitError, "d.yaml:3:16: detectors.wash_trade: wash_trade.min_score: value -1 out of range"},
		{"non-numeric value", []string{"backtest", "--data", data, "--out", out, "--config", write("e.yaml", "detectors:\n  wash_trade:\n    min_score: high\n")}, ExitError, "e.yaml:3:"},
		{"bad --set", []string{"backtest", "--data", data, "--out", out, "--set", "wash_trade.min_score=abc"}, ExitUsage, `value "abc" is not a number`},
		{"unknown --detectors", []string{"backtest", "--data", data, "--out", out, "--detectors", "nope"}, ExitUsage, `unknown detector "nope"`},
		{"malformed grid", []string{"tune", "--data", data, "--out", out, "--grid", write("g.yaml", "detectors:\n  wash_trade:\n    sweep:\n      gap: {linear: [1, 2]}\n")}, ExitError, "g.yaml:4:21: gap: linear wants [start, stop, steps]"},
		{"grid not YAML", []string{"tune", "--data", data, "--out", out, "--grid", write("h.yaml", "\x00\x01binary")}, ExitError, "h.yaml"},
		{"malformed test file", []string{"test", write("bad.fdstest", "case x\n  trade at 1s BTC buy\n")}, ExitRegression, "could not be run"},
		{"missing test file", []string{"test", filepath.Join(root, "none.fdstest")}, ExitError, "none.fdstest"},
		{"malformed tolerances", []string{"regress", "--baseline", data, "--candidate", data, "--tolerances", write("tol.yaml", "metrics: [\n")}, ExitUsage, "tol.yaml:1:10: sequence end token ']' not found"},
		{"missing import input", []string{"datasets", "import", "--format", "ccxt-trades", "--out", out, filepath.Join(root, "none.csv")}, ExitError, "none.csv"},
		{"malformed import input", []string{"datasets", "import", "--format", "ccxt-trades", "--out", out, write("x.csv", "symbol,timestamp\nBTC/USDT,yesterday\n")}, ExitError, "x.csv:1: column side: missing from the header"},
		{"missing alerts", []string{"evaluate", "--alerts", filepath.Join(root, "none.csv"), "--labels", data, "--out", out}, ExitError, "none.csv"},
		{"missing run to verify", []string{"backtest", "--verify", filepath.Join(root, "norun")}, ExitError, "norun"},
		{"missing regress baseline", []string{"regress", "--baseline", filepath.Join(root, "nobase"), "--candidate", data}, ExitError, "nobase"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := fds(t, append(c.args, "--quiet")...)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, c.code, stderr)
			}
			wantOneLineError(t, stderr, c.want)
			if _, err := os.Stat(out); err == nil {
				t.Fatal("a failed command left its output folder")
			}
		})
	}
}

// mountTmpfs mounts a tmpfs with the given options at dir for the test (root only; skipped
// where mounting is not allowed).
func mountTmpfs(t *testing.T, dir, options string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", options, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
}

// writingCommands are the commands that write outputs, each given an output path under dir.
func writingCommands(data, grid, dir string) map[string][]string {
	return map[string][]string{
		"backtest": {"backtest", "--data", data, "--out", filepath.Join(dir, "run"), "--detectors", "wash_trade"},
		"tune":     {"tune", "--data", data, "--grid", grid, "--out", filepath.Join(dir, "tune")},
		"generate": {"datasets", "generate", "--preset", "small", "--events", "20000", "--out", filepath.Join(dir, "gen")},
		"import":   {"datasets", "import", "--format", "ccxt-trades", "--out", filepath.Join(dir, "imported"), filepath.Join(filepath.Dir(grid), "trades.csv")},
		"query":    {"query", "--data", data, "--output", filepath.Join(dir, "q.csv"), "SELECT * FROM orders"},
		"fix":      {"datasets", "validate", data, "--fix", filepath.Join(dir, "fixed")},
		"evaluate": {"evaluate", "--alerts", filepath.Join(filepath.Dir(grid), "alerts.csv"), "--labels", data, "--out", filepath.Join(dir, "eval")},
	}
}

func writingFixture(t *testing.T) (data, grid string) {
	root := t.TempDir()
	data = filepath.Join(root, "data")
	smallMarket(t, data)
	grid = filepath.Join(root, "grid.yaml")
	os.WriteFile(grid, []byte(washGrid), 0o644)
	var csv strings.Builder
	csv.WriteString("symbol,timestamp,datetime,side,price,amount,cost\n")
	// Varied values, so that the imported table does not compress below the small file system.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&csv, "AAA/BTC,%d,x,buy,%.8f,%.6f,1\n", 1580231503000+int64(i)*rng.Int64N(5000), 1+rng.Float64(), rng.Float64()*100)
	}
	os.WriteFile(filepath.Join(root, "trades.csv"), []byte(csv.String()), 0o644)
	os.WriteFile(filepath.Join(root, "alerts.csv"), []byte("detector,symbol,ts,score,type\nm,BTCUSDT,2024-01-01T00:01:00Z,0.5,spoofing\n"), 0o644)
	return data, grid
}

// TestOutputFolderNotWritable: every writing command fails with one line naming its output
// when the output's folder is a file or on a read-only file system, and writes nothing.
func TestOutputFolderNotWritable(t *testing.T) {
	data, grid := writingFixture(t)
	blocker := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(blocker, []byte("x"), 0o644)
	for name, args := range writingCommands(data, grid, blocker) {
		t.Run("under a file/"+name, func(t *testing.T) {
			code, _, stderr := fds(t, append(args, "--quiet")...)
			if code != ExitError {
				t.Fatalf("exit %d; stderr %s", code, stderr)
			}
			wantOneLineError(t, stderr, "not a directory")
		})
	}
	ro := t.TempDir()
	mountTmpfs(t, ro, "ro,size=1m")
	for name, args := range writingCommands(data, grid, ro) {
		t.Run("read-only/"+name, func(t *testing.T) {
			code, _, stderr := fds(t, append(args, "--quiet")...)
			if code != ExitError {
				t.Fatalf("exit %d; stderr %s", code, stderr)
			}
			wantOneLineError(t, stderr, "read-only file system")
		})
	}
}

// TestDiskFullMidRun: on a file system too small for the output every writing command fails
// with one line saying so, leaves nothing behind (no partial file, no staging folder), and the
// same command succeeds on a file system with room.
func TestDiskFullMidRun(t *testing.T) {
	data, grid := writingFixture(t)
	small := t.TempDir()
	mountTmpfs(t, small, "size=16k")
	roomy := t.TempDir()
	for name, args := range writingCommands(data, grid, small) {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := fds(t, append(args, "--quiet")...)
			if code != ExitError {
				t.Fatalf("exit %d on a 16 KiB file system; stderr %s", code, stderr)
			}
			wantOneLineError(t, stderr, "no space left on device")
			if left := listAll(t, small); len(left) > 0 {
				t.Fatalf("left behind: %v", left)
			}
			ok := append([]string(nil), writingCommands(data, grid, roomy)[name]...)
			if code, _, stderr := fds(t, append(ok, "--quiet")...); code != ExitOK {
				t.Fatalf("rerun with room: exit %d: %s", code, stderr)
			}
		})
	}
}

// listAll lists every path under dir (hidden ones included).
func listAll(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != dir {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// asFDS is the environment variable that makes the test binary behave as the fds command (see
// TestMain): tests that need a real process (signals) run it, which costs no build.
const asFDS = "FDS_CLI_TEST_AS_FDS"

// TestMain runs the tests, or, with asFDS set, is fds itself: the same line as cmd/fds/main.go
// (Main installs the signal handling).
func TestMain(m *testing.M) {
	if os.Getenv(asFDS) == "1" {
		os.Exit(Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer that exec's copying goroutine writes while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// interrupt starts fds (the test binary as fds), waits until ready (given stderr so far) says the
// command is at work, sends SIGINT and returns the exit code (-1: killed by the signal) and
// stderr. It waits for a sign of work rather than a fixed delay because loading the binary
// (DuckDB is linked in) and its package init take a variable time, over 0.5 s on a loaded machine,
// and a SIGINT before Main has installed its handler kills the process outright.
func interrupt(t *testing.T, ready func(stderr string) bool, args ...string) (int, string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), asFDS+"=1")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	giveUp := time.After(2 * time.Minute)
	for !ready(stderr.String()) {
		select {
		case err := <-exited:
			t.Fatalf("fds %s ended (%v) before it was seen at work; stderr:\n%s", strings.Join(args, " "), err, stderr.String())
		case <-giveUp:
			cmd.Process.Kill()
			<-exited
			t.Fatalf("fds %s showed no sign of work in 2 minutes; stderr:\n%s", strings.Join(args, " "), stderr.String())
		case <-poll.C:
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = <-exited
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stderr.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), stderr.String()
	}
	t.Fatal(err)
	return -1, ""
}

// wantInterruptedOnce checks an interrupted command's stderr: its last line is the one error
// line, saying it was interrupted, and no other line says so.
func wantInterruptedOnce(t *testing.T, stderr string) {
	t.Helper()
	wantOneLineError(t, stderr, "interrupted")
	if n := strings.Count(stderr, "interrupted"); n != 1 {
		t.Fatalf("%d lines say interrupted, want 1:\n%s", n, stderr)
	}
}

// TestInterruptMidRun sends SIGINT to a real fds process during a backtest and during a dataset
// generation, once each is seen at work: exit status 130, one line saying it was interrupted, no
// output folder and no staging leftovers; a rerun succeeds.
func TestInterruptMidRun(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "data")
	// 400,000 events: the first progress line comes after 65,536 events (backtest's checkEvery),
	// and the rest takes seconds with every detector, long enough to be interrupted.
	if _, err := synth.Generate(synth.Config{Seed: 3, Events: 400_000}, data); err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(root, "runs")
	os.MkdirAll(runs, 0o755)
	run := filepath.Join(runs, "r")
	// --verbose logs progress off a terminal: its first line says the replay is under way.
	replaying := func(stderr string) bool { return strings.Contains(stderr, "step=replaying") }
	code, stderr := interrupt(t, replaying, "backtest", "--data", data, "--out", run, "--verbose")
	if code != ExitInterrupted {
		t.Fatalf("backtest: exit %d, want 130 (-1: killed by the signal before its handler); stderr %s", code, stderr)
	}
	wantInterruptedOnce(t, stderr)
	if left := listAll(t, runs); len(left) > 0 {
		t.Fatalf("an interrupted backtest left %v", left)
	}
	if code, _, stderr := fds(t, "backtest", "--data", data, "--out", run, "--quiet"); code != ExitOK {
		t.Fatalf("rerun: exit %d: %s", code, stderr)
	}

	// A late interrupt, while output is written: fds report is nothing but writing. Its staging
	// folder appears before the figures are rendered; the signal must stop it before the swap,
	// leaving no report folder and no staging behind.
	rep := filepath.Join(runs, "rep")
	writing := func(string) bool {
		m, _ := filepath.Glob(filepath.Join(runs, ".rep.tmp-*"))
		return len(m) > 0
	}
	code, stderr = interrupt(t, writing, "report", run, "--out", rep, "--format", "pdf,html,md,png,vector")
	if code != ExitInterrupted {
		t.Fatalf("report: exit %d, want 130 (0: it finished before the signal); stderr %s", code, stderr)
	}
	wantInterruptedOnce(t, stderr)
	for _, p := range listAll(t, runs) {
		if name := filepath.Base(p); name == "rep" || strings.HasPrefix(name, ".rep") {
			t.Fatalf("an interrupted report left %s", p)
		}
	}

	gen := filepath.Join(root, "gen")
	// The staging folder beside gen appears once generation has started (Main is running, so
	// its handler is in place); 5 M events take far longer than the signal's delivery.
	staging := func(string) bool {
		m, _ := filepath.Glob(filepath.Join(root, ".gen.tmp-*"))
		return len(m) > 0
	}
	code, stderr = interrupt(t, staging, "datasets", "generate", "--events", "5000000", "--out", gen, "--quiet")
	if code != ExitInterrupted {
		t.Fatalf("generate: exit %d, want 130 (-1: killed by the signal before its handler); stderr %s", code, stderr)
	}
	wantInterruptedOnce(t, stderr)
	for _, p := range listAll(t, root) {
		if strings.HasPrefix(filepath.Base(p), ".gen") || strings.HasPrefix(p, gen) {
			t.Fatalf("an interrupted generate left %s", p)
		}
	}
	if code, _, stderr := fds(t, "datasets", "generate", "--preset", "small", "--events", "5000", "--out", gen, "--quiet"); code != ExitOK {
		t.Fatalf("generate rerun: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(gen, "orders.parquet")); err != nil {
		t.Fatalf("generate rerun: %v", err)
	}
}

// TestSpecialNamesAndSQLInjection runs every command that reaches SQL (validate, inspect, query,
// the sort of an unsorted table in backtest and validate --fix) on a dataset whose folder and
// file names hold spaces, quotes, & and non-ASCII letters and whose symbol is an SQL injection
// attempt: the names and the symbol must come through exactly, and rejected rows of the sorted
// table must be reported at their original file and row.
func TestSpecialNamesAndSQLInjection(t *testing.T) {
	root := filepath.Join(t.TempDir(), `it's "a" & ünïcode`)
	data := filepath.Join(root, "da'ta")
	const sym = `x'); DROP TABLE t; --`
	// File a sorts first by name but holds the later rows: the table is out of ts order.
	late, early := goodTrades(20), goodTrades(20)
	for i := range late.ts {
		late.ts[i] += 100_000_000
		late.id[i] += 100
		late.symbol[i], early.symbol[i] = sym, sym
	}
	late.price[4] = math.NaN()
	// A column the reader ignores, whose name is an injection attempt too (inspect lists it).
	late.extra = []col{stringColumn(`evil"); DROP TABLE t; --`, make([]string, 20)...)}
	fileA := filepath.Join(data, "trades", "part 1 'a' & é.parquet")
	late.write(t, fileA)
	early.write(t, filepath.Join(data, "trades", `part 2 "b" & ü.parquet`))
	writeLabelRows(t, filepath.Join(data, "labels.parquet"), label{"i'1", "wash_trade", sym, t0us, t0us + 1})

	code, stdout, stderr := fds(t, "datasets", "validate", data)
	if code != ExitError || !strings.Contains(stdout, fileA+": row 5: column price: NaN") || !strings.Contains(stdout, "ts: unsorted") {
		t.Fatalf("validate: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := fds(t, "datasets", "inspect", data); code != ExitOK || !strings.Contains(stdout, `evil"); DROP TABLE t; --`) {
		t.Fatalf("inspect: exit %d: %s%s", code, stdout, stderr)
	}
	code, stdout, stderr = fds(t, "query", "--data", data, "SELECT DISTINCT symbol FROM trades UNION ALL SELECT symbol FROM labels")
	if code != ExitOK || stdout != "symbol\n"+sym+"\n"+sym+"\n" {
		t.Fatalf("query: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	out := filepath.Join(root, "q 'out' & ü.csv")
	if code, _, stderr := fds(t, "query", "--data", data, "--output", out, "SELECT count(*) AS n FROM trades"); code != ExitOK {
		t.Fatalf("query --output: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(out); string(b) != "n\n40\n" {
		t.Fatalf("query --output wrote %q", b)
	}

	run := filepath.Join(root, "runs", "r'1 & ü")
	code, _, stderr = fds(t, "backtest", "--data", data, "--out", run, "--detectors", "wash_trade")
	if code != ExitOK || !strings.Contains(stderr, "table trades is not sorted by ts") {
		t.Fatalf("backtest: exit %d: %s", code, stderr)
	}
	checkManifest(t, run, "trades", "price: not_finite")
	var m struct {
		Tables map[string]struct {
			Examples []struct {
				File string
				Row  int64
			} `json:"rejected_examples"`
		}
	}
	b, _ := os.ReadFile(filepath.Join(run, "manifest.json"))
	json.Unmarshal(b, &m)
	if ex := m.Tables["trades"].Examples; len(ex) != 1 || ex[0].File != fileA || ex[0].Row != 5 {
		t.Fatalf("rejection reported at %+v, want %s row 5 (the original file, not the sorted copy)", ex, fileA)
	}
	if code, stdout, stderr := fds(t, "backtest", "--verify", run); code != ExitOK || !strings.HasPrefix(stdout, "verified ") {
		t.Fatalf("verify: exit %d: %s%s", code, stdout, stderr)
	}

	fixed := filepath.Join(root, "fi'xed")
	if code, _, stderr := fds(t, "datasets", "validate", data, "--fix", fixed); code != ExitError {
		t.Fatalf("validate --fix: exit %d (the NaN row stays fatal): %s", code, stderr)
	}
	code, stdout, _ = fds(t, "datasets", "validate", fixed)
	if code != ExitError || strings.Contains(stdout, "ts: unsorted") || !strings.Contains(stdout, "trades.parquet: row 25: column price: NaN") {
		t.Fatalf("validate of the sorted copy: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = fds(t, "query", "--data", fixed, "SELECT DISTINCT symbol FROM trades")
	if code != ExitOK || stdout != "symbol\n"+sym+"\n" {
		t.Fatalf("query of the sorted copy: %q", stdout)
	}
}

// TestProfilesAreWrittenWhole: --cpuprofile and --memprofile land under their names only when
// complete, also after a failed command, and leave no temporary file.
func TestProfilesAreWrittenWhole(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu 'x'.prof"), filepath.Join(dir, "mem.prof")
	code, _, _ := fds(t, "--cpuprofile", cpu, "--memprofile", mem, "backtest", "--data", filepath.Join(dir, "none"), "--out", filepath.Join(dir, "run"))
	if code != ExitError {
		t.Fatalf("exit %d", code)
	}
	if st, err := os.Stat(cpu); err != nil || st.Size() == 0 {
		t.Fatalf("cpu profile after a failed command: %v", err)
	}
	if st, err := os.Stat(mem); err != nil || st.Size() == 0 {
		t.Fatalf("heap profile after a failed command: %v", err)
	}
	os.Remove(mem)
	if code, _, stderr := fds(t, "--memprofile", mem, "detectors", "list"); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if st, err := os.Stat(mem); err != nil || st.Size() == 0 {
		t.Fatalf("heap profile: %v", err)
	}
	if left := listAll(t, dir); len(left) != 2 {
		t.Fatalf("files left: %v, want the two profiles alone", left)
	}
}
