package cli

import (
	"context"
	"math"

	"github.com/spf13/cobra"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/stream"
)

func init() { register(newReplayCmd) }

type replayOptions struct {
	Kafka      kafkaOptions
	Data       string
	Speed      float64
	Partitions int32
}

func newReplayCmd(app *App) *cobra.Command {
	var opts replayOptions
	c := &cobra.Command{
		Use:   "replay",
		Short: "Publish a dataset to Kafka in event-time order: a market replay for testing an online FDS",
		Long: `replay reads a dataset's event tables, merges them in the backtest's replay order (ts, then
marks, orders, trades, liquidations, then row) and publishes each event to its topic
(<prefix><table>, key = symbol, value = the versioned fds event encoding, record timestamp = event
time), as fast as the cluster accepts or at --speed times real time. After the last event it writes
an end-of-stream marker to every partition of every event topic. See docs/stream.md.`,
		Example: `  fds replay --data data/demo --brokers localhost:9092 --partitions 6
  fds replay --data data/demo --brokers localhost:9092 --speed 60   # an hour per minute`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if opts.Data == "" || opts.Kafka.Brokers == "" {
				return usagef("replay needs --data DIR and --brokers ADDRS")
			}
			if opts.Speed < 0 || math.IsNaN(opts.Speed) || math.IsInf(opts.Speed, 0) {
				return usagef("--speed %v: want a number >= 0 (0: as fast as possible)", opts.Speed)
			}
			return runReplay(c.Context(), app, opts)
		},
	}
	f := c.Flags()
	addKafkaFlags(f, &opts.Kafka)
	f.StringVar(&opts.Data, "data", "", "dataset folder (one Parquet file or folder per table)")
	f.Float64Var(&opts.Speed, "speed", 0, "replay at this many times real time by event ts (0: as fast as possible)")
	f.Int32Var(&opts.Partitions, "partitions", 0, "create missing topics with this many partitions (0: the topics must exist)")
	return c
}

func runReplay(ctx context.Context, app *App, opts replayOptions) error {
	conn := opts.Kafka.conn("fds-replay")
	clientOpts, err := conn.Options()
	if err != nil {
		return &UsageError{Err: err}
	}
	var sorter backtest.Sorter
	closeSorter := func() {}
	defer func() { closeSorter() }()
	next, closeData, err := stream.DatasetEvents(ctx, opts.Data, lazySorter{ctx: ctx, open: func() (backtest.Sorter, error) {
		if sorter == nil {
			s, c, err := openSorter(ctx)
			if err != nil {
				return nil, err
			}
			sorter, closeSorter = s, c
		}
		return sorter, nil
	}}, "", func(s string) { app.Infof("fds: %s", s) })
	if err != nil {
		return err
	}
	defer closeData()
	cl, err := stream.NewProducer(clientOpts)
	if err != nil {
		return err
	}
	defer cl.Close()
	app.logLine("replay: connecting", map[string]any{"kafka": conn.String()})
	bar := newProgress(app, "publishing")
	st, err := stream.Publish(ctx, cl, next, stream.PublishOptions{
		Topics: stream.Topics{Prefix: opts.Kafka.TopicPrefix}, Speed: opts.Speed, Partitions: opts.Partitions,
		Progress: func(n int64) { bar.Update(n, 0) }})
	bar.Finish()
	if err != nil {
		return err
	}
	app.Infof("published %d events (%v) and %d end-of-stream markers", st.Events, st.ByTable, st.EndMarkers)
	return nil
}

// lazySorter opens DuckDB only when a table turns out to be unsorted.
type lazySorter struct {
	ctx  context.Context
	open func() (backtest.Sorter, error)
}

func (l lazySorter) SortParquet(ctx context.Context, src []string, dst string) error {
	s, err := l.open()
	if err != nil {
		return err
	}
	return s.SortParquet(ctx, src, dst)
}
