package backtest

import (
	"context"
	"runtime"

	"github.com/fds-dev/fds/detectors"
)

// replayCollect replays next through the instances and returns their alerts, instance by
// instance, each instance's in the order it raised them. With one worker, or one instance, or
// one CPU, it is Replay; otherwise FanOut runs the instances on several goroutines. Each
// instance sees the same events either way, and SortAlerts orders alerts of different detectors
// by name, so the sorted alerts do not depend on workers.
func replayCollect(ctx context.Context, next func() (*detectors.Event, error), instances []Instance,
	progress func(int64), workers int) ([]detectors.Alert, ReplayStats, error) {
	perInstance := make([][]detectors.Alert, len(instances))
	sink := func(i int, a detectors.Alert) { perInstance[i] = append(perInstance[i], a) }
	var st ReplayStats
	var err error
	if workers == 1 || len(instances) < 2 || runtime.GOMAXPROCS(0) < 2 {
		st, err = Replay(ctx, next, instances, sink, progress)
	} else {
		st, err = FanOut(ctx, next, instances, sink, progress, workers)
	}
	var alerts []detectors.Alert
	for _, a := range perInstance {
		alerts = append(alerts, a...)
	}
	return alerts, st, err
}
