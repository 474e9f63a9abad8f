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

	"github.com/fds-dev/fds/benchmarks/realdata"
	_ "github.com/fds-dev/fds/detectors/all"
)

func main() {
	data := flag.String("data", "../shared/data", "folder holding the shared real data folders")
	out := flag.String("out", "runs/realdata", "folder for the imported datasets")
	flag.Parse()
	if err := run(*data, *out); err != nil {
		fmt.Fprintf(os.Stderr, "fds-realdata: %v\n", err)
		os.Exit(1)
	}
}

func run(data, out string) error {
	ctx := context.Background()
	pump, err := realdata.RunPump(ctx, realdata.PumpOptions{
		DataRoot:   data,
		WorkDir:    filepath.Join(out, "pnd"),
		Thresholds: realdata.DefaultThresholds,
	})
	if err != nil {
		return err
	}
	fmt.Println("## pump_and_dump on the Binance pump windows")
	fmt.Println()
	pump.Markdown(os.Stdout)
	flow, err := realdata.RunOrderFlow(ctx, data, filepath.Join(out, "lobster"))
	if err != nil {
		return err
	}
	fmt.Println("## Order-event detectors on LOBSTER AMZN order flow")
	fmt.Println()
	flow.Markdown(os.Stdout)
	return nil
}
