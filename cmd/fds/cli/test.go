package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fds-dev/fds/detectors/scripttest"
	"github.com/fds-dev/fds/reports"
)

func init() { register(newTestCmd) }

type testOptions struct {
	JUnit string
	// All lists passing cases too.
	All bool
}

func newTestCmd(app *App) *cobra.Command {
	var opts testOptions
	c := &cobra.Command{
		Use:   "test PATH...",
		Short: "Run detector test files (event scripts with expected alerts)",
		Long: `test runs detector test files: event scripts in the format of docs/detector-tests.md (a few
orders, trades and marks, then the alerts the detector must raise, or none). A PATH is a file or
a folder, searched recursively for *.fdstest files (folders starting with a dot are skipped).
Every case builds its detector with its parameters, replays its events and must raise exactly the
expected alerts; a failing case is shown as a diff ("-" expected alerts not raised, "+" alerts
raised but not expected, in the script's own grammar).

Exit codes: 0 every case passed, 3 a case failed or a file did not parse, 1 an error (a missing
path, a folder without test files), 2 a usage error.`,
		Example: `  fds test detectors/
  fds test detectors/spoofing/testdata/positives.fdstest --all
  fds test detectors/ tests/ --junit fds-test.xml`,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("test needs at least one PATH (a *.fdstest file or a folder holding some)")
			}
			return runTest(app, args, opts)
		},
	}
	c.Flags().StringVar(&opts.JUnit, "junit", "", "also write JUnit XML to FILE (one suite per file, one case per test case)")
	c.Flags().BoolVar(&opts.All, "all", false, "list passing cases too")
	return c
}

// testFiles expands the paths into test files: files as given, folders searched recursively for
// *.fdstest in lexical order. A file reached twice runs once.
func testFiles(paths []string) ([]string, error) {
	var files []string
	seen := map[string]bool{}
	add := func(p string) {
		key := filepath.Clean(p)
		if !seen[key] {
			seen[key] = true
			files = append(files, p)
		}
	}
	for _, root := range paths {
		fi, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", root, unwrapPathError(err))
		}
		if !fi.IsDir() {
			add(root)
			continue
		}
		found := 0
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(d.Name(), ".fdstest") {
				found++
				add(p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", root, unwrapPathError(err))
		}
		if found == 0 {
			return nil, fmt.Errorf("%s: no *.fdstest files in this folder", root)
		}
	}
	return files, nil
}

// testFileResult is one file's outcome: its cases, or the error that kept it from running.
type testFileResult struct {
	Path   string
	Result scripttest.Result
	Err    error
}

func runTest(app *App, paths []string, opts testOptions) error {
	files, err := testFiles(paths)
	if err != nil {
		return err
	}
	results := make([]testFileResult, 0, len(files))
	for _, p := range files {
		res, err := scripttest.RunPath(p)
		if err != nil && errors.Is(err, fs.ErrNotExist) {
			return err
		}
		results = append(results, testFileResult{Path: p, Result: res, Err: err})
	}
	if err := writeTestReport(app.Stdout, results, opts.All); err != nil {
		return err
	}
	if opts.JUnit != "" {
		if err := reports.WriteJUnitFile(opts.JUnit, testJUnit(results)); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	s := summarizeTests(results)
	if s.failed > 0 || s.broken > 0 {
		return &RegressionError{Msg: s.String()}
	}
	return nil
}

type testSummary struct{ files, cases, passed, failed, broken int }

func summarizeTests(results []testFileResult) testSummary {
	s := testSummary{files: len(results)}
	for _, r := range results {
		if r.Err != nil {
			s.broken++
			continue
		}
		p, f := r.Result.Counts()
		s.cases += p + f
		s.passed += p
		s.failed += f
	}
	return s
}

func (s testSummary) String() string {
	out := fmt.Sprintf("%d file(s), %d case(s): %d passed, %d failed", s.files, s.cases, s.passed, s.failed)
	if s.broken > 0 {
		out += fmt.Sprintf("; %d file(s) could not be run", s.broken)
	}
	return out
}

// writeTestReport prints a promtool-like report: per file SUCCESS or FAILED with the failing
// cases' diffs, then the totals.
func writeTestReport(w io.Writer, results []testFileResult, all bool) error {
	bw := bufio.NewWriter(w)
	for _, r := range results {
		fmt.Fprintf(bw, "Unit Testing: %s\n", r.Path)
		if r.Err != nil {
			fmt.Fprintf(bw, "  FAILED: %s\n\n", oneLineError(r.Err))
			continue
		}
		passed, failed := r.Result.Counts()
		if failed == 0 {
			fmt.Fprintf(bw, "  SUCCESS (%d case(s))\n", passed)
		} else {
			fmt.Fprintf(bw, "  FAILED: %d of %d case(s)\n", failed, passed+failed)
		}
		for i := range r.Result.Cases {
			c := &r.Result.Cases[i]
			if c.Passed() {
				if all {
					fmt.Fprintf(bw, "    ok   %s (line %d, %d alert(s))\n", c.Name, c.Line, len(c.Alerts))
				}
				continue
			}
			fmt.Fprintf(bw, "    FAIL %s (line %d, %d alert(s)):\n", c.Name, c.Line, len(c.Alerts))
			for _, line := range strings.Split(strings.TrimRight(c.Diff(), "\n"), "\n") {
				fmt.Fprintf(bw, "      %s\n", line)
			}
		}
		bw.WriteString("\n")
	}
	s := summarizeTests(results)
	verdict := "PASS"
	if s.failed > 0 || s.broken > 0 {
		verdict = "FAIL"
	}
	fmt.Fprintf(bw, "%s: %s\n", verdict, s)
	return bw.Flush()
}

func oneLineError(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// testJUnit converts the results: one suite per file, one case per test case; a file that did
// not parse is one errored case.
func testJUnit(results []testFileResult) reports.JUnitSuites {
	out := reports.JUnitSuites{Name: "fds test"}
	for _, r := range results {
		s := reports.JUnitSuite{Name: r.Path}
		class := strings.ReplaceAll(strings.TrimSuffix(filepath.ToSlash(r.Path), ".fdstest"), "/", ".")
		if r.Err != nil {
			s.Cases = append(s.Cases, reports.JUnitCase{ClassName: class, Name: "parse",
				Error: &reports.JUnitProblem{Message: oneLineError(r.Err), Type: "parse"}})
		}
		for i := range r.Result.Cases {
			c := &r.Result.Cases[i]
			jc := reports.JUnitCase{ClassName: class, Name: c.Name}
			switch {
			case c.Err != nil:
				jc.Error = &reports.JUnitProblem{Message: oneLineError(c.Err), Type: "build"}
			case !c.Passed():
				jc.Failure = &reports.JUnitProblem{
					Message: fmt.Sprintf("line %d: %d expected alert(s) not raised, %d unexpected alert(s)", c.Line, len(c.Missing), len(c.Unexpected)),
					Type:    "alerts", Detail: c.Diff(),
				}
			}
			s.Cases = append(s.Cases, jc)
		}
		out.Suites = append(out.Suites, s)
	}
	return out
}
