package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func init() { register(newManCmd) }

type manOptions struct {
	Dir  string
	Date string
}

func newManCmd(app *App) *cobra.Command {
	var opts manOptions
	c := &cobra.Command{
		Use:   "man DIR",
		Short: "Write man pages of every fds command to a folder",
		Long: `man writes one page per command (section 1: fds.1, fds-backtest.1, fds-datasets-inspect.1, ...)
generated from the commands' help, each written atomically. The date in the pages is --date, else
SOURCE_DATE_EPOCH when set (reproducible builds), else today.`,
		Example: `  fds man ./man && man ./man/fds-query.1
  sudo fds man /usr/local/share/man/man1
  SOURCE_DATE_EPOCH=1735689600 fds man dist/man`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("man needs one folder, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			opts.Dir = args[0]
			return runMan(app, c.Root(), opts)
		},
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		},
	}
	c.Flags().StringVar(&opts.Date, "date", "", "date printed in the pages, YYYY-MM-DD (default: SOURCE_DATE_EPOCH, else today)")
	return c
}

// manDate picks the pages' date: --date, SOURCE_DATE_EPOCH, or today (UTC).
func manDate(flag string) (time.Time, error) {
	if flag != "" {
		t, err := time.Parse("2006-01-02", flag)
		if err != nil {
			return time.Time{}, usagef("--date %q: want YYYY-MM-DD", flag)
		}
		return t, nil
	}
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: not a number of seconds", s)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	return time.Now().UTC(), nil
}

func runMan(app *App, root *cobra.Command, opts manOptions) error {
	date, err := manDate(opts.Date)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return fmt.Errorf("%s: %w", opts.Dir, unwrapPathError(err))
	}
	root.DisableAutoGenTag = true // the tag carries the wall-clock time: pages would differ run to run
	header := &doc.GenManHeader{Title: "FDS", Section: "1", Date: &date, Source: "fds " + Version, Manual: "fds manual"}
	n := 0
	var walk func(c *cobra.Command) error
	walk = func(c *cobra.Command) error {
		if !c.IsAvailableCommand() && c != root {
			return nil
		}
		c.DisableAutoGenTag = true
		var buf bytes.Buffer
		h := *header
		h.Title = strings.ToUpper(strings.ReplaceAll(c.CommandPath(), " ", "-"))
		if err := doc.GenMan(c, &h, &buf); err != nil {
			return fmt.Errorf("man page of %s: %w", c.CommandPath(), err)
		}
		path := filepath.Join(opts.Dir, strings.ReplaceAll(c.CommandPath(), " ", "-")+".1")
		if err := writeFileAtomic(path, buf.Bytes()); err != nil {
			return err
		}
		n++
		for _, sub := range c.Commands() {
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return err
	}
	app.Infof("fds man: wrote %d pages in %s", n, opts.Dir)
	return nil
}
