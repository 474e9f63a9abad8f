// Command fds-realdata reruns the real-data benchmarks of docs/benchmarks.md: pump_and_dump on the
// Binance pump windows of ../shared/data and the order-event detectors on the LOBSTER order flow.
// It prints the figures as Markdown (`make realdata` runs it).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fds-dev/fds/benchmarks/realdata"
	_ "github.com/fds-dev/fds/detectors/all"
)

func main() {
	data := flag.String("data", "../shared/data", "folder holding the shared real data folders")
	out := flag.String("out", "runs/realdata", "folder for the imported datasets")
	trades := flag.String("trades", "", "folder of pump trade windows (*.csv.gz); default DATA/pnd-binance-trades")
	params := map[string]float64{}
	flag.Func("set", "pump_and_dump parameter override NAME=VALUE (repeatable; durations in seconds)", func(s string) error {
		name, v, ok := strings.Cut(s, "=")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil {
			return fmt.Errorf("want NAME=NUMBER, got %q", s)
		}
		params[name] = f
		return nil
	})
	pumpOnly := flag.Bool("pump-only", false, "run only the pump_and_dump benchmark")
	flag.Parse()
	if err := run(*data, *trades, *out, params, *pumpOnly); err != nil {
		fmt.Fprintf(os.Stderr, "fds-realdata: %v\n", err)
		os.Exit(1)
	}
}

func run(data, trades, out string, params map[string]float64, pumpOnly bool) error {
	ctx := context.Background()
	pump, err := realdata.RunPump(ctx, realdata.PumpOptions{
		DataRoot:   data,
		TradesDir:  trades,
		WorkDir:    filepath.Join(out, "pnd"),
		Params:     params,
		Thresholds: realdata.DefaultThresholds,
	})
	if err != nil {
		return err
	}
	fmt.Println("## pump_and_dump on the Binance pump windows")
	fmt.Println()
	pump.Markdown(os.Stdout)
	if pumpOnly {
		return nil
	}
	flow, err := realdata.RunOrderFlow(ctx, data, filepath.Join(out, "lobster"))
	if err != nil {
		return err
	}
	fmt.Println("## Order-event detectors on LOBSTER AMZN order flow")
	fmt.Println()
	flow.Markdown(os.Stdout)
	return nil
}
