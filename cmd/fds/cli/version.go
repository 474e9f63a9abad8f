package cli

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

func init() { register(newVersionCmd) }

type versionOptions struct{ JSON bool }

func newVersionCmd(app *App) *cobra.Command {
	var opts versionOptions
	c := &cobra.Command{
		Use:     "version",
		Short:   "Print the fds version",
		Example: "  fds version\n  fds version --json",
		Args:    noArgs,
		RunE:    func(c *cobra.Command, args []string) error { return runVersion(app, opts) },
	}
	c.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return c
}

func runVersion(app *App, opts versionOptions) error {
	if opts.JSON {
		enc := json.NewEncoder(app.Stdout)
		return enc.Encode(map[string]string{"version": Version, "go": runtime.Version()})
	}
	_, err := fmt.Fprintf(app.Stdout, "fds %s (%s)\n", Version, runtime.Version())
	return err
}
