package cli

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fds-dev/fds/backtest"
)

func init() { register(newShardSymbolsCmd) }

type shardSymbolsOptions struct {
	Shard       string
	SymbolsFile string
	SQL         bool
}

func newShardSymbolsCmd(app *App) *cobra.Command {
	var opts shardSymbolsOptions
	c := &cobra.Command{
		Use:   "shard-symbols --shard K/N [SYMBOL...]",
		Short: "Print which of the given symbols fds backtest --shard K/N replays",
		Long: `shard-symbols prints the symbols, of those given as arguments or one per line in
--symbols-file, that shard K of N keeps (FNV-1a of the symbol modulo N, as fds backtest --shard):
one per line, or with --sql as a quoted, comma-separated list for a SQL IN (...), so that a
pod fetches only its shard's partitions (docs/scaling.md).`,
		Example: `  fds shard-symbols --shard 0/2 BTCUSDT ETHUSDT SOLUSDT WIFUSDT
  fds shard-symbols --shard $JOB_COMPLETION_INDEX/8 --symbols-file symbols.txt --sql`,
		RunE: func(c *cobra.Command, args []string) error {
			return runShardSymbols(app, opts, args)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Shard, "shard", "", "the shard, K/N")
	f.StringVar(&opts.SymbolsFile, "symbols-file", "", "file of symbols, one per line (blank lines and # comments skipped)")
	f.BoolVar(&opts.SQL, "sql", false, "print 'A','B',... for a SQL IN list")
	return c
}

func runShardSymbols(app *App, opts shardSymbolsOptions, args []string) error {
	if opts.Shard == "" {
		return usagef("shard-symbols needs --shard K/N")
	}
	shard, err := backtest.ParseShard(opts.Shard)
	if err != nil {
		return &UsageError{Err: fmt.Errorf("--shard: %w", err)}
	}
	symbols := append([]string(nil), args...)
	if opts.SymbolsFile != "" {
		f, err := os.Open(opts.SymbolsFile)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if s := strings.TrimSpace(sc.Text()); s != "" && !strings.HasPrefix(s, "#") {
				symbols = append(symbols, s)
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("%s: %w", opts.SymbolsFile, err)
		}
	}
	if len(symbols) == 0 {
		return usagef("shard-symbols needs symbols (arguments or --symbols-file)")
	}
	sort.Strings(symbols)
	var kept []string
	for i, s := range symbols {
		if (i == 0 || s != symbols[i-1]) && shard.Has(s) {
			kept = append(kept, s)
		}
	}
	if opts.SQL {
		quoted := make([]string, len(kept))
		for i, s := range kept {
			quoted[i] = "'" + strings.ReplaceAll(s, "'", "''") + "'"
		}
		if len(quoted) == 0 {
			quoted = []string{"NULL"} // IN (NULL) selects nothing: an empty shard
		}
		_, err := fmt.Fprintln(app.Stdout, strings.Join(quoted, ","))
		return err
	}
	for _, s := range kept {
		if _, err := fmt.Fprintln(app.Stdout, s); err != nil {
			return err
		}
	}
	return nil
}
