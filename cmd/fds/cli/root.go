// Package cli implements the fds command line. Each command lives in its own file with an options
// struct, flag parsing kept apart from a run function that writes to the App's writers, so tests
// run the whole CLI in memory through Main.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	// Every detector registers itself.
	_ "github.com/fds-dev/fds/detectors/all"
)

// App is what every command shares: the output writers and the global output manners.
type App struct {
	Stdout io.Writer
	Stderr io.Writer
	// Terminal says stderr is a terminal: progress bars are drawn only then.
	Terminal  bool
	Quiet     bool
	Verbose   bool
	LogFormat string

	CPUProfile string
	MemProfile string
	cpuFile    *os.File
}

// Infof prints a notice on stderr unless --quiet (a JSON log line with --log-format json).
func (a *App) Infof(format string, args ...any) {
	if a.Quiet {
		return
	}
	a.notice("info", format, args...)
}

// Debugf prints a detail on stderr with --verbose.
func (a *App) Debugf(format string, args ...any) {
	if !a.Verbose || a.Quiet {
		return
	}
	a.notice("debug", format, args...)
}

type commandMaker struct {
	parent string // "" for a top-level command, else the parent's name (e.g. "datasets")
	make   func(*App) *cobra.Command
}

var commandMakers []commandMaker

// register adds a top-level command; command files call it from init.
func register(make func(*App) *cobra.Command) {
	commandMakers = append(commandMakers, commandMaker{make: make})
}

// registerSub adds a subcommand under a parent group such as "datasets" or "detectors".
func registerSub(parent string, make func(*App) *cobra.Command) {
	commandMakers = append(commandMakers, commandMaker{parent: parent, make: make})
}

// Version is the fds version, set by the linker (-X) in release builds.
var Version = "0.1.0-dev"

// NewRoot builds the command tree for an App.
func NewRoot(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "fds",
		Short: "Backtest market-abuse detectors on historical exchange data",
		Long: `fds replays Parquet market and order histories in event-time order through the
market-abuse detectors of the Fraud Detection Service (the same code the online service runs),
matches their alerts to labelled incidents and reports precision, recall, PR curves and
time-to-detect.`,
		Example: `  fds datasets generate --out data/demo --seed 1
  fds backtest --data data/demo --out runs/demo
  fds detectors list`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(app.Stdout)
	root.SetErr(app.Stderr)
	root.PersistentFlags().BoolVarP(&app.Quiet, "quiet", "q", false, "print nothing but results and errors")
	root.PersistentFlags().BoolVarP(&app.Verbose, "verbose", "v", false, "print details of the work")
	root.PersistentFlags().StringVar(&app.LogFormat, "log-format", "text", "format of log lines: text or json")
	root.PersistentFlags().StringVar(&app.CPUProfile, "cpuprofile", "", "write a CPU profile (pprof) of the command to this file")
	root.PersistentFlags().StringVar(&app.MemProfile, "memprofile", "", "write a heap profile (pprof) at the end of the command to this file")
	root.PersistentPreRunE = func(c *cobra.Command, args []string) error {
		if err := app.checkManners(); err != nil {
			return err
		}
		return app.startProfiles()
	}
	root.PersistentPostRunE = func(c *cobra.Command, args []string) error { return app.stopProfiles() }
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &UsageError{Err: err} })

	groups := map[string]*cobra.Command{}
	groupNames := []string{"datasets", "detectors"}
	groups["datasets"] = &cobra.Command{Use: "datasets", Short: "Generate, import, validate and inspect datasets",
		Example: "  fds datasets generate --out data/demo --seed 1\n  fds datasets inspect data/demo"}
	groups["detectors"] = &cobra.Command{Use: "detectors", Short: "List and describe the detectors",
		Example: "  fds detectors list"}
	for _, name := range groupNames {
		g := groups[name]
		g.Args = noArgs
		g.RunE = func(c *cobra.Command, args []string) error { return c.Help() }
		root.AddCommand(g)
	}
	makers := append([]commandMaker(nil), commandMakers...)
	sort.SliceStable(makers, func(i, j int) bool { return makers[i].parent < makers[j].parent })
	for _, m := range makers {
		c := m.make(app)
		if m.parent == "" {
			root.AddCommand(c)
			continue
		}
		g, ok := groups[m.parent]
		if !ok {
			panic("cli: unknown command group " + m.parent)
		}
		g.AddCommand(c)
	}
	return root
}

// noArgs rejects positional arguments as a usage error.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q", c.CommandPath(), strings.Join(args, " "))
	}
	return nil
}

// Main runs fds with args and returns the exit code. Errors are printed as one line on stderr.
// An interrupt (SIGINT, Ctrl-C) or SIGTERM while it runs cancels ctx: the command stops at its
// next check, removes what it staged and Main returns ExitInterrupted.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// First thing, before any work: until signal handling is installed, the Go runtime's default
	// for SIGINT is to kill the process on the spot (exit by signal, staging left behind).
	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	app := &App{Stdout: stdout, Stderr: stderr}
	if f, ok := stderr.(*os.File); ok {
		app.Terminal = term.IsTerminal(int(f.Fd()))
	}
	root := NewRoot(app)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil && app.cpuFile != nil {
		// A failed command skips the post-run hook: stop and keep its profile all the same.
		app.stopProfiles()
	}
	if err != nil {
		if isUnknownCommand(err) {
			err = &UsageError{Err: err}
		}
		if ctx.Err() != nil && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w: %v", context.Canceled, err)
		}
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		if m, ok := describeWriteFailure(err); ok {
			msg = m
		}
		if errors.Is(err, context.Canceled) {
			msg = "interrupted: " + strings.TrimPrefix(msg, "context canceled: ")
		}
		app.printError(msg)
	}
	return exitCode(err)
}

func isUnknownCommand(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "unknown flag") ||
		strings.HasPrefix(s, "unknown shorthand flag") || strings.Contains(s, "accepts ")
}
