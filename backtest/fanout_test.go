package backtest

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/fds-dev/fds/detectors"
)

// sliceNext serves events like a merger, numbering them.
func sliceNext(events []detectors.Event) func() (*detectors.Event, error) {
	i := 0
	var cur detectors.Event
	return func() (*detectors.Event, error) {
		if i >= len(events) {
			return nil, nil
		}
		cur = events[i]
		cur.Seq = int64(i)
		i++
		return &cur, nil
	}
}

func manyEvents(n int) []detectors.Event {
	out := make([]detectors.Event, n)
	for i := range out {
		out[i] = detectors.Event{TS: detectors.Micros(i / 3), Symbol: []string{"A", "B", "C"}[i%3], Kind: detectors.KindTrade}
	}
	return out
}

func TestFanOutMatchesReplay(t *testing.T) {
	// More events than a batch, so batches turn over several times, and an uneven last batch.
	events := manyEvents(3*fanOutBatch + 17)
	build := func() []Instance {
		var out []Instance
		for _, n := range []int{1, 2, 5, 7, 1000} {
			out = append(out, Instance{Detector: &countingDetector{n: n}})
		}
		return out
	}
	collect := func(run func(instances []Instance, sink func(int, detectors.Alert)) (ReplayStats, error)) ([][]detectors.Alert, ReplayStats) {
		instances := build()
		got := make([][]detectors.Alert, len(instances))
		st, err := run(instances, func(i int, a detectors.Alert) { got[i] = append(got[i], a) })
		if err != nil {
			t.Fatal(err)
		}
		return got, st
	}
	want, wantStats := collect(func(in []Instance, sink func(int, detectors.Alert)) (ReplayStats, error) {
		return Replay(context.Background(), sliceNext(events), in, sink, nil)
	})
	if len(want[0]) != len(events)+1 { // every event, then the flush alert
		t.Fatalf("reference replay gave %d alerts for n=1", len(want[0]))
	}
	for _, workers := range []int{1, 2, 3, 8} {
		var reported []int64
		got, st := collect(func(in []Instance, sink func(int, detectors.Alert)) (ReplayStats, error) {
			return FanOut(context.Background(), sliceNext(events), in, sink, func(n int64) { reported = append(reported, n) }, workers)
		})
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("workers=%d: alerts differ from Replay's", workers)
		}
		if st != wantStats {
			t.Fatalf("workers=%d: stats %+v, want %+v", workers, st, wantStats)
		}
		if len(reported) == 0 || reported[len(reported)-1] != int64(len(events)) {
			t.Fatalf("workers=%d: progress %v must end at %d", workers, reported, len(events))
		}
	}
}

func TestFanOutStopsOnErrorsAndCancellation(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	next := func() (*detectors.Event, error) {
		calls++
		if calls > 10 {
			return nil, boom
		}
		return &detectors.Event{TS: detectors.Micros(calls)}, nil
	}
	_, err := FanOut(context.Background(), next, []Instance{{Detector: &countingDetector{n: 1}}}, func(int, detectors.Alert) {}, nil, 2)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the source's error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = FanOut(ctx, sliceNext(manyEvents(checkEvery+fanOutBatch)), []Instance{{Detector: &countingDetector{n: 1}}}, func(int, detectors.Alert) {}, nil, 2)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
