package backtest

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/fds-dev/fds/detectors"
)

// fanOutBatch is how many events FanOut copies per batch: large enough that the per-batch
// synchronisation is noise, small enough (about 1 MB of events) to stay in cache.
const fanOutBatch = 4096

// FanOut is Replay for many instances: the events are read once, copied into batches, and
// workers goroutines share the instances, each feeding its instances a whole batch in order
// while the next batch is read. Every instance sees exactly the sequence of events Replay would
// give it and raises its alerts in the same order, so the result does not depend on workers
// (0 means GOMAXPROCS). sink may be called concurrently for different instances, never for the
// same one. progress (may be nil) is called from the calling goroutine.
func FanOut(ctx context.Context, next func() (*detectors.Event, error), instances []Instance,
	sink func(instance int, a detectors.Alert), progress func(events int64), workers int) (ReplayStats, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, max(len(instances), 1))
	emits := make([]detectors.Emit, len(instances))
	for i := range instances {
		emits[i] = func(a detectors.Alert) { sink(i, a) }
	}

	var st ReplayStats
	fill := func(buf []detectors.Event) ([]detectors.Event, error) {
		buf = buf[:0]
		for len(buf) < fanOutBatch {
			ev, err := next()
			if err != nil {
				return buf, err
			}
			if ev == nil {
				break
			}
			if st.Events == 0 {
				st.FirstTS = ev.TS
			}
			st.LastTS = ev.TS
			st.Events++
			buf = append(buf, *ev)
		}
		return buf, nil
	}

	// feed runs job(i) for every instance on the workers; instances are handed out one at a
	// time so that a slow detector does not leave the other workers idle.
	feed := func(job func(i int)) *sync.WaitGroup {
		var wg sync.WaitGroup
		var nextInstance atomic.Int64
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(nextInstance.Add(1) - 1)
					if i >= len(instances) {
						return
					}
					job(i)
				}
			}()
		}
		return &wg
	}

	cur := make([]detectors.Event, 0, fanOutBatch)
	spare := make([]detectors.Event, 0, fanOutBatch)
	cur, err := fill(cur)
	if err != nil {
		return st, err
	}
	lastReported := int64(0)
	for len(cur) > 0 {
		batch := cur
		wg := feed(func(i int) {
			d, emit := instances[i].Detector, emits[i]
			for k := range batch {
				d.OnEvent(&batch[k], emit)
			}
		})
		var readErr error
		spare, readErr = fill(spare)
		wg.Wait()
		if readErr != nil {
			return st, readErr
		}
		cur, spare = spare, cur
		if st.Events-lastReported >= checkEvery {
			lastReported = st.Events
			if err := ctx.Err(); err != nil {
				return st, err
			}
			if progress != nil {
				progress(st.Events)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	feed(func(i int) { instances[i].Detector.Flush(emits[i]) }).Wait()
	if progress != nil {
		progress(st.Events)
	}
	return st, nil
}
