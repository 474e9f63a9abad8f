package stream

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fds-dev/fds/detectors"
)

// TestSinkSuppression drives a session's alert sink directly with copies of one alert key and
// checks which copies it produces: a copy raised by an event below its partition's committed
// offset is replayed (suppressed); a copy above it, or from a flush whose markers are not
// committed, is suppressed only while the topic already holds that many copies of the key —
// counting the replayed copies too, so that a key raised again after a commit is not lost.
func TestSinkSuppression(t *testing.T) {
	const committed = 10 // the partition's committed offset when the session started
	cases := []struct {
		name string
		// onTopic: copies of the key on the alerts topic when the session started.
		onTopic int
		// flushReplayed: every end-of-stream marker was committed (the flush completed before).
		flushReplayed bool
		// raises: the offset of the event raising each copy in turn; -1: raised by the flush.
		raises []int64
		// produced, replayed, already: how many copies are produced and suppressed, and why.
		produced, replayed, already int
	}{
		// Published before the commit, replayed now: suppressed; nothing new.
		{name: "replayed copy", onTopic: 1, raises: []int64{5}, replayed: 1},
		// Published after the commit, before the crash: recognised by key.
		{name: "crash-window copy", onTopic: 1, raises: []int64{12}, already: 1},
		// A second copy of a key after the commit, the first before it: the topic's one copy
		// is the replayed one, so the new copy is published (the bug the count of replayed
		// copies fixes: it used to be taken for the topic's copy and lost).
		{name: "new copy after a replayed one", onTopic: 1, raises: []int64{5, 12}, replayed: 1, produced: 1},
		// Two copies after the commit, one of them on the topic before the crash.
		{name: "one of two crash-window copies", onTopic: 1, raises: []int64{12, 13}, already: 1, produced: 1},
		// A flush re-run after a crash that published one of its two copies.
		{name: "flush re-run", onTopic: 1, raises: []int64{-1, -1}, already: 1, produced: 1},
		// A flush that completed and was committed before: all of it is replayed.
		{name: "committed flush", onTopic: 1, flushReplayed: true, raises: []int64{-1}, replayed: 1},
		// Nothing on the topic: a first run publishes everything above the commit.
		{name: "first run", raises: []int64{12, -1}, produced: 2},
	}
	addrs := newCluster(t)
	conn := []kgo.Opt{kgo.SeedBrokers(addrs...)}
	alert := detectors.Alert{Detector: testFlushDetector, Symbol: "BTC", TS: 1_704_067_200_000_000, Score: 1}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			topics := Topics{Prefix: fmt.Sprintf("sink%d.", i)}
			cfg := testConfig(addrs, topics, "sink", parityConfigs(marketFixture)["good"], detectors.Env{})
			p, err := NewPipeline(cfg)
			if err != nil {
				t.Fatal(err)
			}
			cl, err := NewProducer(conn)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			p.cl = cl
			ctx, cancel := context.WithTimeout(context.Background(), 30*testTimeScale*time.Second)
			defer cancel()
			if _, err := EnsureTopics(ctx, cl, nil, []string{topics.AlertsTopic()}, 1); err != nil {
				t.Fatal(err)
			}
			s := &session{p: p, sources: []*source{{startCommitted: committed, committed: committed}},
				published: map[string]int{}, emitted: map[string]int{}, flushReplayed: c.flushReplayed}
			if c.onTopic > 0 {
				s.published[alert.Key()] = c.onTopic
			}
			for _, off := range c.raises {
				s.cur, s.flushing = nil, false
				if off < 0 {
					s.flushing = true
				} else {
					s.cur = &Pending{Source: 0, Offset: off}
				}
				s.sink(0, alert)
			}
			if err := cl.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if err := p.firstProduceError(); err != nil {
				t.Fatal(err)
			}
			m := p.Metrics()
			got := [3]int{int(p.summary.AlertsPublished), int(m.Value(MetricAlertsSuppressed, "replayed")),
				int(m.Value(MetricAlertsSuppressed, "already_published"))}
			if want := [3]int{c.produced, c.replayed, c.already}; got != want {
				t.Errorf("produced, replayed, already published = %v, want %v", got, want)
			}
			if c.produced > 0 {
				if recs := readRecords(t, conn, topics.AlertsTopic()); len(recs) != c.produced {
					t.Errorf("%d records on the alerts topic, want %d", len(recs), c.produced)
				}
			}
		})
	}
}
