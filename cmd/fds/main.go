// Command fds backtests the market-abuse detectors of a crypto-derivatives exchange's Fraud
// Detection Service on historical data. All behaviour lives in package cli so that tests run the
// whole CLI in memory.
package main

import (
	"context"
	"os"

	"github.com/fds-dev/fds/cmd/fds/cli"
)

func main() {
	// cli.Main installs the interrupt (SIGINT, SIGTERM) handling first thing.
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
