// Command fds-bench measures fds end to end on generated datasets of growing size, side by side
// with the bare Parquet decode of the same files (docs/performance.md; `make bench` runs it
// through scripts/bench.sh).
//
//	fds-bench suite --fds bin/fds --cache /tmp/fds-bench --sizes 1000000,10000000 --runs 3
//	fds-bench decode --data DIR
//
// suite generates each dataset once (kept in the cache folder across runs), then alternates a bare
// decode and a backtest of every detector at its defaults, runs times each, as child processes
// whose wall time, CPU time and peak RSS it records, and reports medians, their ratio, events/s,
// nanoseconds per event (constant when time grows linearly with the data) and a CPU profile
// breakdown by stage and detector.
package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	_ "github.com/fds-dev/fds/detectors/all"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: fds-bench suite|decode [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "decode":
		err = runDecode(os.Args[2:], os.Stdout)
	case "suite":
		err = runSuite(os.Args[2:], os.Stdout, os.Stderr)
	default:
		err = fmt.Errorf("unknown command %q (want suite or decode)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "fds-bench: %v\n", err)
		os.Exit(1)
	}
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func numCPU() int { return runtime.NumCPU() }
