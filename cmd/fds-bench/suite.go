package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type suiteOptions struct {
	fds, self, goBin, cache, out string
	sizes                        []int64
	runs                         int
	seed                         uint64
	args                         []string
}

// measured is one child process: wall and CPU seconds, peak RSS in bytes.
type measured struct {
	WallS, CPUS float64
	RSS         int64
}

// sizeResult is everything the suite reports for one dataset size.
type sizeResult struct {
	Size     int64
	Events   int64
	Rows     int64 // rows bare-decoded
	Gen      measured
	Decode   []measured
	Engine   []measured // decode to events, checks and merge, no detector
	Backtest []measured
	Profile  profileBreakdown
}

func runSuite(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("suite", flag.ContinueOnError)
	var o suiteOptions
	var sizes string
	fs.StringVar(&o.fds, "fds", "bin/fds", "the fds binary to measure")
	fs.StringVar(&o.self, "self", "", "the fds-bench binary run for bare decodes (default: this one)")
	fs.StringVar(&o.goBin, "go", "go", "the go command, for go tool pprof")
	fs.StringVar(&o.cache, "cache", filepath.Join(os.TempDir(), "fds-bench"), "folder keeping the generated datasets across runs")
	fs.StringVar(&o.out, "out", "", "also write the Markdown report to this file")
	fs.StringVar(&sizes, "sizes", "1000000,10000000", "comma-separated dataset sizes in events")
	fs.IntVar(&o.runs, "runs", 3, "runs per measurement (medians are reported)")
	fs.Uint64Var(&o.seed, "seed", 1, "generator seed")
	extra := fs.String("backtest-args", "", "extra arguments for fds backtest (space-separated)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("--sizes: %q is not a positive number of events", s)
		}
		o.sizes = append(o.sizes, n)
	}
	if o.runs < 1 {
		return fmt.Errorf("--runs must be at least 1")
	}
	if *extra != "" {
		o.args = strings.Fields(*extra)
	}
	if o.self == "" {
		var err error
		if o.self, err = os.Executable(); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(o.cache, 0o755); err != nil {
		return err
	}
	var results []sizeResult
	for _, size := range o.sizes {
		r, err := benchSize(o, size, stderr)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	var md bytes.Buffer
	writeReport(&md, o, results)
	if o.out != "" {
		if err := writeFileAtomic(o.out, md.Bytes()); err != nil {
			return err
		}
	}
	_, err := stdout.Write(md.Bytes())
	return err
}

func benchSize(o suiteOptions, size int64, log io.Writer) (sizeResult, error) {
	r := sizeResult{Size: size}
	data := filepath.Join(o.cache, fmt.Sprintf("synth-%d-seed%d", size, o.seed))
	genFile := filepath.Join(data, ".fds-bench-generate.json")
	if _, err := os.Stat(filepath.Join(data, "labels.parquet")); err != nil {
		fmt.Fprintf(log, "fds-bench: generating %d events into %s\n", size, data)
		os.RemoveAll(data)
		m, _, err := run(o.fds, "datasets", "generate", "--out", data, "--seed", strconv.FormatUint(o.seed, 10),
			"--events", strconv.FormatInt(size, 10), "--quiet")
		if err != nil {
			return r, err
		}
		b, _ := json.Marshal(m)
		if err := os.WriteFile(genFile, b, 0o644); err != nil {
			return r, err
		}
	}
	if b, err := os.ReadFile(genFile); err == nil {
		_ = json.Unmarshal(b, &r.Gen)
	}
	runDir := filepath.Join(o.cache, fmt.Sprintf("run-%d", size))
	backtest := append([]string{"backtest", "--data", data, "--out", runDir, "--quiet"}, o.args...)
	for i := 0; i < o.runs; i++ {
		fmt.Fprintf(log, "fds-bench: %d events, run %d/%d\n", size, i+1, o.runs)
		m, out, err := run(o.self, "decode", "--data", data)
		if err != nil {
			return r, err
		}
		var dec decodeResult
		if err := json.Unmarshal(out, &dec); err != nil {
			return r, fmt.Errorf("decode output: %w", err)
		}
		r.Rows = dec.Rows
		r.Decode = append(r.Decode, m)
		if m, _, err = run(o.self, "decode", "--merge", "--data", data); err != nil {
			return r, err
		}
		r.Engine = append(r.Engine, m)
		if m, _, err = run(o.fds, backtest...); err != nil {
			return r, err
		}
		r.Backtest = append(r.Backtest, m)
	}
	var man struct {
		Events int64 `json:"events_replayed"`
	}
	b, err := os.ReadFile(filepath.Join(runDir, "manifest.json"))
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &man); err != nil {
		return r, err
	}
	r.Events = man.Events
	prof := filepath.Join(o.cache, fmt.Sprintf("cpu-%d.pprof", size))
	if _, _, err := run(o.fds, append(backtest, "--cpuprofile", prof)...); err != nil {
		return r, err
	}
	if r.Profile, err = breakdown(o.goBin, o.fds, prof); err != nil {
		fmt.Fprintf(log, "fds-bench: no profile breakdown: %v\n", err)
	}
	return r, nil
}

// run runs a child process and measures it; it returns the child's standard output.
func run(name string, args ...string) (measured, []byte, error) {
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		return measured{}, nil, fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	m := measured{WallS: wall.Seconds()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.CPUS = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
		m.RSS = ru.Maxrss * 1024 // kilobytes on Linux
	}
	return m, stdout.Bytes(), nil
}

// profileBreakdown is a CPU profile's time by stage: cumulative seconds of the functions that
// stand for each stage, and the total sampled.
type profileBreakdown struct {
	Total  float64
	Stages map[string]float64
}

// stageFuncs name the stages of a backtest by the function whose cumulative time is the stage's.
var stageFuncs = []struct{ stage, fn string }{
	{"decode (Parquet → events)", "github.com/fds-dev/fds/datasets.(*EventReader).Next"},
	{"sort check (ts column scan)", "github.com/fds-dev/fds/datasets.(*Dataset).FirstUnsorted"},
	{"match + metrics", "github.com/fds-dev/fds/backtest.Evaluate"},
	{"write run folder", "github.com/fds-dev/fds/backtest.WriteRunFolder"},
	{"hash inputs", "github.com/fds-dev/fds/backtest.hashInputs"},
	{"garbage collector", "runtime.gcBgMarkWorker"},
}

// detectorFunc matches a detector's OnEvent or Flush (not the common min_score wrapper).
var detectorFunc = regexp.MustCompile(`^github\.com/fds-dev/fds/detectors/([a-z0-9_]+)\.\(\*[A-Za-z]+\)\.(OnEvent|Flush)$`)

func breakdown(goBin, bin, prof string) (profileBreakdown, error) {
	out, err := exec.Command(goBin, "tool", "pprof", "-top", "-cum", "-nodecount=1000000", bin, prof).Output()
	if err != nil {
		return profileBreakdown{}, fmt.Errorf("go tool pprof: %w", err)
	}
	return parseTop(string(out))
}

var totalRe = regexp.MustCompile(`Total samples = ([0-9.]+(?:ns|us|µs|ms|s|mins|hrs))`)

// parseTop reads `go tool pprof -top -cum` output.
func parseTop(out string) (profileBreakdown, error) {
	b := profileBreakdown{Stages: map[string]float64{}}
	m := totalRe.FindStringSubmatch(out)
	if m == nil {
		return b, fmt.Errorf("no total in pprof output")
	}
	b.Total = parseDuration(m[1])
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasSuffix(f[4], "%") {
			continue
		}
		cum, fn := parseDuration(f[3]), strings.Join(f[5:], " ")
		for _, s := range stageFuncs {
			if fn == s.fn {
				b.Stages[s.stage] += cum
			}
		}
		if d := detectorFunc.FindStringSubmatch(fn); d != nil && d[1] != "all" {
			b.Stages["detector "+d[1]] += cum
		}
	}
	return b, nil
}

func parseDuration(s string) float64 {
	units := []struct {
		suffix string
		scale  float64
	}{{"mins", 60}, {"hrs", 3600}, {"ms", 1e-3}, {"us", 1e-6}, {"µs", 1e-6}, {"ns", 1e-9}, {"s", 1}}
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			v, err := strconv.ParseFloat(strings.TrimSuffix(s, u.suffix), 64)
			if err != nil {
				return 0
			}
			return v * u.scale
		}
	}
	return 0
}

func median(ms []measured, get func(measured) float64) float64 {
	v := make([]float64, len(ms))
	for i, m := range ms {
		v[i] = get(m)
	}
	sort.Float64s(v)
	if len(v) == 0 {
		return math.NaN()
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func wallOf(m measured) float64 { return m.WallS }
func cpuOf(m measured) float64  { return m.CPUS }
func rssOf(m measured) float64  { return float64(m.RSS) }

func writeReport(w io.Writer, o suiteOptions, results []sizeResult) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "## fds-bench: %d run(s) per figure, medians (host %s, %d CPUs, load average at the end %s)\n\n",
		o.runs, host, numCPU(), loadAverage())
	fmt.Fprintln(w, "| events | bare decode wall / CPU | engine, no detector wall / CPU (ratio) | fds backtest wall / CPU | ratio to bare decode wall / CPU | events/s (wall) | ns/event wall / CPU | peak RSS | generate wall / CPU / RSS |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		dw, dc := median(r.Decode, wallOf), median(r.Decode, cpuOf)
		bw, bc := median(r.Backtest, wallOf), median(r.Backtest, cpuOf)
		ev := float64(r.Events)
		gen := "-"
		if r.Gen.WallS > 0 {
			gen = fmt.Sprintf("%.1f s / %.1f s / %s", r.Gen.WallS, r.Gen.CPUS, mib(float64(r.Gen.RSS)))
		}
		ew, ec := median(r.Engine, wallOf), median(r.Engine, cpuOf)
		fmt.Fprintf(w, "| %d | %.2f s / %.2f s | %.2f s / %.2f s (%.2f / %.2f) | %.2f s / %.2f s | %.2f / %.2f | %.2f M | %.0f / %.0f | %s | %s |\n",
			r.Events, dw, dc, ew, ec, ew/dw, ec/dc, bw, bc, bw/dw, bc/dc, ev/bw/1e6, bw/ev*1e9, bc/ev*1e9, mib(median(r.Backtest, rssOf)), gen)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "CPU profile of one backtest per size: share of the sampled CPU time by stage and detector (cumulative time of the stage's function; stages overlap where one calls another).")
	fmt.Fprintln(w)
	stages := map[string]bool{}
	for _, r := range results {
		for s := range r.Profile.Stages {
			stages[s] = true
		}
	}
	names := sortedKeys(stages)
	fmt.Fprint(w, "| stage |")
	for _, r := range results {
		fmt.Fprintf(w, " %d events |", r.Events)
	}
	fmt.Fprint(w, "\n|---|")
	for range results {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	for _, s := range names {
		fmt.Fprintf(w, "| %s |", s)
		for _, r := range results {
			if r.Profile.Total > 0 {
				fmt.Fprintf(w, " %.1f%% (%.2f s) |", 100*r.Profile.Stages[s]/r.Profile.Total, r.Profile.Stages[s])
			} else {
				fmt.Fprint(w, " - |")
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprint(w, "| total sampled |")
	for _, r := range results {
		fmt.Fprintf(w, " %.2f s |", r.Profile.Total)
	}
	fmt.Fprintln(w)
}

func mib(b float64) string { return fmt.Sprintf("%.0f MiB", b/(1<<20)) }

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}
