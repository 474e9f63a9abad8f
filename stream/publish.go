package stream

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// PublishOptions say how to publish a market replay.
type PublishOptions struct {
	Topics Topics
	// Speed paces the replay at Speed times real time by event ts; 0 publishes as fast as the
	// cluster accepts.
	Speed float64
	// Partitions, when > 0, creates missing topics with that many partitions.
	Partitions int32
	// Progress receives the number of events published so far (may be nil).
	Progress func(events int64)
	// Sleep waits for d or until ctx ends; nil uses a timer. Tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// PublishStats accounts for a replay.
type PublishStats struct {
	Events     int64
	ByTable    map[string]int64
	FirstTS    detectors.Micros
	LastTS     detectors.Micros
	EndMarkers int
}

// Publish writes events, in the order next yields them (event-time order), to the event topics:
// key = symbol, value = the v1 encoding with the event's row in its table, record timestamp =
// event time. After the last event it writes an end-of-stream marker to every partition of every
// event topic, so that consumers know the replay is over (and empty partitions do not hold their
// watermark back). It returns once every record is acknowledged.
func Publish(ctx context.Context, cl *kgo.Client, next func() (*detectors.Event, error), opts PublishOptions) (PublishStats, error) {
	st := PublishStats{ByTable: map[string]int64{}}
	if opts.Speed < 0 || math.IsNaN(opts.Speed) || math.IsInf(opts.Speed, 0) {
		return st, fmt.Errorf("--speed %v: want a finite number >= 0 (0 = as fast as possible)", opts.Speed)
	}
	sleep := opts.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	eventTopics := opts.Topics.EventTopics()
	counts, err := EnsureTopics(ctx, cl, eventTopics, nil, opts.Partitions)
	if err != nil {
		return st, err
	}
	var mu sync.Mutex
	var produceErr error
	onDone := func(r *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			if produceErr == nil {
				produceErr = fmt.Errorf("producing to %s: %w", r.Topic, err)
			}
			mu.Unlock()
		}
	}
	firstErr := func() error {
		mu.Lock()
		defer mu.Unlock()
		return produceErr
	}
	rows := map[detectors.Kind]int64{}
	var wallStart time.Time
	for {
		ev, err := next()
		if err != nil {
			return st, err
		}
		if ev == nil {
			break
		}
		if st.Events == 0 {
			st.FirstTS = ev.TS
			wallStart = time.Now()
		}
		if opts.Speed > 0 {
			due := wallStart.Add(time.Duration(float64(ev.TS-st.FirstTS) * float64(time.Microsecond) / opts.Speed))
			if wait := time.Until(due); wait > 0 {
				if err := sleep(ctx, wait); err != nil {
					return st, err
				}
			}
		}
		row := rows[ev.Kind]
		rows[ev.Kind] = row + 1
		value, err := AppendEvent(nil, ev, row)
		if err != nil {
			return st, err
		}
		table := datasets.TableOfKind(ev.Kind)
		cl.Produce(ctx, &kgo.Record{Topic: opts.Topics.Event(table), Key: []byte(ev.Symbol), Value: value,
			Timestamp: time.UnixMicro(ev.TS)}, onDone)
		st.Events++
		st.ByTable[table]++
		st.LastTS = ev.TS
		if st.Events%4096 == 0 {
			if err := firstErr(); err != nil {
				return st, err
			}
			if err := ctx.Err(); err != nil {
				return st, err
			}
			if opts.Progress != nil {
				opts.Progress(st.Events)
			}
		}
	}
	// Every event must be on its partition before the markers that close them.
	if err := cl.Flush(ctx); err != nil {
		return st, err
	}
	if err := firstErr(); err != nil {
		return st, err
	}
	marker := AppendEndOfStream(nil, st.LastTS, st.Events)
	for _, topic := range eventTopics {
		for part := int32(0); part < counts[topic]; part++ {
			cl.Produce(ctx, &kgo.Record{Topic: topic, Partition: part, Value: marker,
				Timestamp: time.UnixMicro(st.LastTS)}, onDone)
			st.EndMarkers++
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return st, err
	}
	if err := firstErr(); err != nil {
		return st, err
	}
	if opts.Progress != nil {
		opts.Progress(st.Events)
	}
	return st, nil
}

// NewProducer returns a client for Publish: the connection options plus the partitioner that
// keys by symbol like Kafka's default and sends end-of-stream markers to their partition.
func NewProducer(connOpts []kgo.Opt) (*kgo.Client, error) {
	opts := append(append([]kgo.Opt(nil), connOpts...), producerOpts()...)
	return kgo.NewClient(opts...)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// DatasetEvents opens a dataset folder's event tables merged in the backtest's replay order
// (ts, then table, then row): the sequence `fds replay` publishes. Every event table present is
// included. Tables not sorted by ts are sorted once through sorter into tempDir (nil sorter: an
// error). close releases the readers and temporary files.
func DatasetEvents(ctx context.Context, dir string, sorter backtest.Sorter, tempDir string, notice func(string)) (next func() (*detectors.Event, error), close func(), err error) {
	if notice == nil {
		notice = func(string) {}
	}
	ds, err := datasets.Open(dir)
	if err != nil {
		return nil, nil, err
	}
	var readers []*datasets.EventReader
	var tmpDirs []string
	closeAll := func() {
		for _, r := range readers {
			r.Close()
		}
		for _, d := range tmpDirs {
			os.RemoveAll(d)
		}
	}
	merger := backtest.NewMerger()
	tables := 0
	for _, table := range datasets.EventTables {
		if !ds.Has(table) {
			continue
		}
		kind, _ := datasets.KindOfTable(table)
		src := ds
		sorted, badRow, err := ds.CheckSorted(table)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		if !sorted {
			if sorter == nil {
				closeAll()
				return nil, nil, fmt.Errorf("%s: row %d: column ts: table not sorted by ts", table, badRow)
			}
			tmp, err := os.MkdirTemp(tempDir, "fds-sorted-")
			if err != nil {
				closeAll()
				return nil, nil, err
			}
			tmpDirs = append(tmpDirs, tmp)
			if err := sorter.SortParquet(ctx, ds.Files(table), filepath.Join(tmp, table+".parquet")); err != nil {
				closeAll()
				return nil, nil, fmt.Errorf("sorting %s by ts: %w", table, err)
			}
			notice(fmt.Sprintf("table %s is not sorted by ts (first out-of-order row %d): sorted a copy once", table, badRow))
			if src, err = datasets.Open(tmp); err != nil {
				closeAll()
				return nil, nil, err
			}
		}
		r, err := src.OpenEvents(table)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		readers = append(readers, r)
		if err := merger.Add(table, kind, r); err != nil {
			closeAll()
			return nil, nil, err
		}
		tables++
	}
	if tables == 0 {
		closeAll()
		return nil, nil, errors.New(dir + ": no event table (want marks, orders, trades or liquidations)")
	}
	return merger.Next, closeAll, nil
}
