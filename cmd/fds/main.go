// Command fds backtests the market-abuse detectors of a crypto-derivatives exchange's Fraud
// Detection Service on historical data. All behaviour lives in package cli so that tests run the
// whole CLI in memory.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/fds-dev/fds/cmd/fds/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
