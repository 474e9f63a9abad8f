package stream

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// Late-event policies.
const (
	LateDeadLetter = "dlq"
	LateDrop       = "drop"
)

// Defaults of Config.
const (
	DefaultMaxDelay        = 2 * time.Second
	DefaultIdleTimeout     = 10 * time.Second
	DefaultCommitInterval  = 5 * time.Second
	DefaultMaxMessageBytes = 64 << 10
	// pollWait bounds one poll so that commits, idleness and shutdown are checked regularly.
	pollWait = 250 * time.Millisecond
	// maxPollRecords bounds the records handled between two chances to rebalance.
	maxPollRecords = 10000
)

// Config configures a Pipeline.
type Config struct {
	// ClientOpts connect to the cluster (Conn.Options); the pipeline adds the group options.
	ClientOpts []kgo.Opt
	Group      string
	Topics     Topics
	// Detectors is the detector configuration, the same file `fds backtest --config` reads.
	Detectors backtest.Config
	// Env is the reference data (accounts) detectors are built with.
	Env detectors.Env
	// MaxDelay is the out-of-orderness allowed within a partition (event time).
	MaxDelay time.Duration
	// IdleTimeout is the wall time after which a partition without records stops holding the
	// watermark back (0: never; a finite replay ends partitions with end-of-stream markers).
	IdleTimeout time.Duration
	// Late is LateDeadLetter (default) or LateDrop.
	Late string
	// MaxMessageBytes: larger messages are rejected (dead-lettered) unread.
	MaxMessageBytes int
	// CommitInterval (wall time) and CommitEvery (events processed) say when to commit offsets;
	// offsets are also committed on shutdown, rebalance and end of stream.
	CommitInterval time.Duration
	CommitEvery    int64
	// Warmup is how far (event time) before the committed position a restarted session replays
	// to rebuild detector state; negative replays each partition from its earliest retained
	// record, which is exact whatever the detectors' look-back.
	Warmup time.Duration
	// ExitAtEnd makes Run return once every assigned partition has reached its end-of-stream
	// marker and the alerts are flushed; otherwise the pipeline stays in the group, idle.
	ExitAtEnd bool
	// CreatePartitions, when > 0, creates the alerts and dead-letter topics if missing.
	CreatePartitions int32
	Metrics          *Metrics
	// Log receives operational log lines (never secrets); may be nil.
	Log func(msg string, fields map[string]any)
	// OnEnd is called (from Run's goroutine) after the end-of-stream flush has been committed.
	OnEnd func()
}

// Summary accounts for a Run.
type Summary struct {
	Events          int64
	AlertsPublished int64
	// AlertsSuppressed are alerts recomputed after a restart or rebalance and not produced again.
	AlertsSuppressed int64
	Late             int64
	Rejected         int64
	Sessions         int
	EndOfStream      bool
}

var (
	errSessionOver = errors.New("partition assignment changed")
	errCrash       = errors.New("simulated crash")
)

type topicPartition struct {
	topic     string
	partition int32
}

// groupState is what the group callbacks learn, guarded by Pipeline.mu.
type groupState struct {
	gen      int
	ready    int // the generation whose committed offsets are known
	revoked  int // the last generation revoked or lost
	assigned map[string][]int32
	// committed offsets (-1: none) and the watermark recorded with them, per partition.
	committed map[topicPartition]int64
	resumeTS  detectors.Micros
	hasResume bool
}

// Pipeline consumes event topics as one member of a consumer group, runs the configured detectors
// on the events of its partitions in event-time order and produces their alerts.
//
// Each partition assignment is a session: fresh detector instances, fed by backtest.Replay from
// a watermark merger over the assigned partitions. A session starts by rewinding every partition
// (to its earliest record, or Warmup before the committed position) and replays up to the
// committed offsets without producing: alerts raised while processing an event below its
// partition's committed offset were published before the commit. Alerts raised after it are
// produced unless the alerts topic already holds them (counted by key when the session starts).
// Offsets are committed only after every alert raised before them has been acknowledged, and an
// end-of-stream marker only after the flush it triggers has run and its alerts have been
// acknowledged (a flush found uncommitted runs again, de-duplicated by key), so a crash anywhere,
// the flush included, loses no alert and a restart publishes none twice.
type Pipeline struct {
	cfg     Config
	metrics *Metrics
	cl      *kgo.Client
	log     func(string, map[string]any)

	mu      sync.Mutex
	grp     groupState
	current *session
	crashed bool
	closing bool

	produceMu  sync.Mutex
	produceErr error

	summary Summary

	// Simulated crashes, for the restart tests (zero: none). A crash commits nothing, leaves no
	// goodbye, and whatever the detectors raise after it dies with the process.
	//   crashAfterAlerts: once that many alerts of this run are acknowledged (any phase);
	//   crashAfterFlushAlerts: once that many end-of-stream flush alerts are acknowledged;
	//   crashBeforeEndCommit: after the flush's alerts are acknowledged, before the commit that
	//   covers the end-of-stream markers.
	crashAfterAlerts      int64
	crashAfterFlushAlerts int64
	crashBeforeEndCommit  bool
}

// NewPipeline checks the configuration and returns a pipeline; Run starts it.
func NewPipeline(cfg Config) (*Pipeline, error) {
	if cfg.Group == "" {
		return nil, errors.New("a consumer group is needed (--group ID)")
	}
	if err := cfg.Detectors.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Detectors.Detectors) == 0 {
		return nil, errors.New("no detector configured")
	}
	switch cfg.Late {
	case "":
		cfg.Late = LateDeadLetter
	case LateDeadLetter, LateDrop:
	default:
		return nil, fmt.Errorf("late-event policy %q: want %s or %s", cfg.Late, LateDeadLetter, LateDrop)
	}
	if cfg.MaxDelay < 0 {
		return nil, fmt.Errorf("max delay %v must be >= 0", cfg.MaxDelay)
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.CommitInterval <= 0 {
		cfg.CommitInterval = DefaultCommitInterval
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.Env.Accounts == nil {
		cfg.Env.Accounts = map[string]detectors.Account{}
	}
	p := &Pipeline{cfg: cfg, metrics: cfg.Metrics, log: cfg.Log}
	if p.log == nil {
		p.log = func(string, map[string]any) {}
	}
	return p, nil
}

// Metrics returns the pipeline's metrics.
func (p *Pipeline) Metrics() *Metrics { return p.metrics }

// Run consumes until ctx is cancelled (a graceful shutdown: offsets of everything processed are
// committed and the group is left), until the end of the stream with ExitAtEnd, or until an
// error (nothing is committed past what was acknowledged).
func (p *Pipeline) Run(ctx context.Context) (Summary, error) {
	eventTopics := p.cfg.Topics.EventTopics()
	opts := append([]kgo.Opt(nil), p.cfg.ClientOpts...)
	opts = append(opts, producerOpts()...)
	opts = append(opts,
		// An alert counts as published only once every in-sync replica has it (franz-go's
		// default, with idempotent writes, stated here because the commit invariant rests on it
		// and must not be weakened by a connection option).
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ConsumerGroup(p.cfg.Group),
		kgo.ConsumeTopics(eventTopics...),
		// Range assignment gives a member the same partition numbers of every event topic: all
		// of a symbol's orders, trades, marks and liquidations.
		kgo.Balancers(kgo.RangeBalancer()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(pollWait),
		kgo.OnPartitionsAssigned(p.onAssigned),
		kgo.OnPartitionsRevoked(p.onRevoked),
		kgo.OnPartitionsLost(p.onLost),
		kgo.OnOffsetsFetched(p.onFetched),
		kgo.AdjustFetchOffsetsFn(p.adjustOffsets),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return p.summary, fmt.Errorf("kafka client: %w", err)
	}
	p.cl = cl
	defer func() {
		p.metrics.SetHealthy(false)
		p.mu.Lock()
		p.closing = true
		p.mu.Unlock()
		if p.crashed {
			// A crash leaves no goodbye: the group notices the member's absence.
			cl.LeaveGroupContext(nil)
		}
		cl.CloseAllowingRebalance()
	}()
	others := []string{p.cfg.Topics.AlertsTopic(), p.cfg.Topics.DeadLetterTopic()}
	if _, err := EnsureTopics(ctx, cl, eventTopics, nil, 0); err != nil {
		return p.summary, err
	}
	if _, err := EnsureTopics(ctx, cl, nil, others, p.cfg.CreatePartitions); err != nil {
		return p.summary, err
	}
	p.log("stream: consuming", map[string]any{"group": p.cfg.Group, "topics": strings.Join(eventTopics, ","),
		"alerts": p.cfg.Topics.AlertsTopic(), "detectors": strings.Join(p.cfg.Detectors.DetectorNames(), ",")})

	var carry []*kgo.Record
	lastGen := 0
	for {
		gen, records, err := p.waitAssignment(ctx, lastGen)
		carry = append(carry, records...)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return p.summary, nil
			}
			return p.summary, err
		}
		lastGen = gen
		s, err := p.newSession(ctx, gen)
		if err != nil {
			return p.summary, err
		}
		p.summary.Sessions++
		cause := "start"
		if p.summary.Sessions > 1 {
			cause = "rebalance"
		}
		p.metrics.Add(MetricSessions, 1, cause)
		for _, r := range carry {
			s.ingest(r, time.Now())
		}
		carry = nil
		err = s.run(ctx)
		carry = s.carry
		switch {
		case errors.Is(err, errSessionOver):
			p.log("stream: partitions reassigned; starting a new session", nil)
			continue
		case errors.Is(err, errCrash):
			return p.summary, err
		case ctx.Err() != nil:
			// Graceful shutdown: commit what was processed, then leave.
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			cerr := s.commit(cctx)
			cancel()
			p.mu.Lock()
			p.current = nil
			p.mu.Unlock()
			if cerr != nil {
				return p.summary, fmt.Errorf("committing offsets on shutdown: %w", cerr)
			}
			p.log("stream: shut down; offsets committed", map[string]any{"events": p.summary.Events})
			return p.summary, nil
		case err != nil:
			p.mu.Lock()
			p.current = nil
			p.mu.Unlock()
			return p.summary, err
		}
		// End of stream: flushed and committed.
		p.summary.EndOfStream = true
		if p.cfg.OnEnd != nil {
			p.cfg.OnEnd()
		}
		if p.cfg.ExitAtEnd {
			return p.summary, nil
		}
		if err := s.idleAfterEnd(ctx); err != nil && !errors.Is(err, errSessionOver) {
			if ctx.Err() != nil {
				return p.summary, nil
			}
			return p.summary, err
		}
		if ctx.Err() != nil {
			return p.summary, nil
		}
		carry = s.carry
	}
}

// waitAssignment polls until the group has assigned partitions of a generation after lastGen
// and their committed offsets are known; records polled meanwhile belong to that generation.
func (p *Pipeline) waitAssignment(ctx context.Context, lastGen int) (int, []*kgo.Record, error) {
	var records []*kgo.Record
	for {
		p.mu.Lock()
		gen, ready := p.grp.gen, p.grp.ready
		p.mu.Unlock()
		if gen > lastGen && ready == gen {
			return gen, records, nil
		}
		if err := ctx.Err(); err != nil {
			return 0, records, err
		}
		p.cl.AllowRebalance()
		pctx, cancel := context.WithTimeout(ctx, pollWait)
		fetches := p.cl.PollRecords(pctx, maxPollRecords)
		cancel()
		p.metrics.Polled(time.Now())
		if fetches.IsClientClosed() {
			return 0, records, kgo.ErrClientClosed
		}
		if err := fatalFetchError(fetches); err != nil {
			return 0, records, err
		}
		records = append(records, fetches.Records()...)
	}
}

// fatalFetchError returns the first fetch error that is not a poll timeout or cancellation.
func fatalFetchError(fetches kgo.Fetches) error {
	var out error
	fetches.EachError(func(topic string, partition int32, err error) {
		if out != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return
		}
		if topic == "" {
			out = err
			return
		}
		out = fmt.Errorf("consuming %s/%d: %w", topic, partition, err)
	})
	return out
}

// ---- group callbacks ----

func (p *Pipeline) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.grp.gen++
	p.grp.assigned = assigned
	p.grp.committed = map[topicPartition]int64{}
	p.grp.hasResume = false
}

func (p *Pipeline) onFetched(_ context.Context, _ *kgo.Client, resp *kmsg.OffsetFetchResponse) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	topics := resp.Topics
	for _, g := range resp.Groups {
		if g.Group == p.cfg.Group {
			topics = append(topics, convertGroupTopics(g.Topics)...)
		}
	}
	for _, t := range topics {
		for _, part := range t.Partitions {
			if kerr.ErrorForCode(part.ErrorCode) != nil {
				continue
			}
			p.grp.committed[topicPartition{t.Topic, part.Partition}] = part.Offset
			if part.Offset >= 0 && part.Metadata != nil {
				if ts, ok := parseCommitMetadata(*part.Metadata); ok && (!p.grp.hasResume || ts < p.grp.resumeTS) {
					p.grp.resumeTS, p.grp.hasResume = ts, true
				}
			}
		}
	}
	return nil
}

func convertGroupTopics(in []kmsg.OffsetFetchResponseGroupTopic) []kmsg.OffsetFetchResponseTopic {
	out := make([]kmsg.OffsetFetchResponseTopic, 0, len(in))
	for _, t := range in {
		ot := kmsg.OffsetFetchResponseTopic{Topic: t.Topic}
		for _, part := range t.Partitions {
			ot.Partitions = append(ot.Partitions, kmsg.OffsetFetchResponseTopicPartition{
				Partition: part.Partition, Offset: part.Offset, Metadata: part.Metadata, ErrorCode: part.ErrorCode})
		}
		out = append(out, ot)
	}
	return out
}

// adjustOffsets rewinds every assigned partition: to its start, or Warmup before the watermark
// recorded with the last commit. The session replays from there to rebuild detector state.
func (p *Pipeline) adjustOffsets(_ context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rewind := kgo.NewOffset().AtStart()
	if p.cfg.Warmup >= 0 && p.grp.hasResume {
		from := p.grp.resumeTS - p.cfg.Warmup.Microseconds()
		rewind = kgo.NewOffset().AfterMilli(from / 1000)
	}
	out := make(map[string]map[int32]kgo.Offset, len(offsets))
	for t, parts := range offsets {
		out[t] = make(map[int32]kgo.Offset, len(parts))
		for part := range parts {
			out[t][part] = rewind
			if _, ok := p.grp.committed[topicPartition{t, part}]; !ok {
				p.grp.committed[topicPartition{t, part}] = -1
			}
		}
	}
	p.grp.ready = p.grp.gen
	return out, nil
}

func (p *Pipeline) onRevoked(ctx context.Context, _ *kgo.Client, _ map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.grp.revoked = p.grp.gen
	if p.current != nil && !p.crashed && !p.closing {
		if err := p.current.commit(ctx); err != nil {
			p.log("stream: commit on revoke failed; the next owner replays from the previous commit", map[string]any{"error": err.Error()})
		}
	}
}

func (p *Pipeline) onLost(_ context.Context, _ *kgo.Client, _ map[string][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.grp.revoked = p.grp.gen
}

const commitMetadataPrefix = "fds1 wm="

func parseCommitMetadata(s string) (detectors.Micros, bool) {
	rest, ok := strings.CutPrefix(s, commitMetadataPrefix)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(rest, 10, 64)
	return v, err == nil
}

// ---- producing ----

// producerOpts make keyed records go where Kafka's default partitioner puts them (murmur2 of the
// key, so any client agrees) and unkeyed records (end-of-stream markers) to their set partition.
func producerOpts() []kgo.Opt {
	keyed := kgo.StickyKeyPartitioner(nil)
	return []kgo.Opt{
		kgo.RecordPartitioner(kgo.BasicConsistentPartitioner(func(topic string) func(*kgo.Record, int) int {
			tp := keyed.ForTopic(topic)
			return func(r *kgo.Record, n int) int {
				if r.Key == nil {
					if int(r.Partition) < n && r.Partition >= 0 {
						return int(r.Partition)
					}
					return 0
				}
				return tp.Partition(r, n)
			}
		})),
		kgo.ProducerLinger(5 * time.Millisecond),
	}
}

func (p *Pipeline) produce(ctx context.Context, r *kgo.Record) {
	if p.crashed {
		return // a dead process produces nothing
	}
	p.cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
		if err != nil {
			p.produceMu.Lock()
			if p.produceErr == nil {
				p.produceErr = fmt.Errorf("producing to %s: %w", r.Topic, err)
			}
			p.produceMu.Unlock()
		}
	})
}

func (p *Pipeline) firstProduceError() error {
	p.produceMu.Lock()
	defer p.produceMu.Unlock()
	return p.produceErr
}

// ---- sessions ----

type source struct {
	tp   topicPartition
	kind detectors.Kind
	// startCommitted is the committed offset when the session began (-1: none): events below it
	// were processed, and their alerts published, before.
	startCommitted int64
	// committed is the last offset committed (never moves back).
	committed int64
	// next is one past the last offset consumed (-1 before any).
	next       int64
	eos        int64
	hw         int64
	lastRecord time.Time
}

type session struct {
	p       *Pipeline
	gen     int
	wm      *Watermark
	sources []*source
	byTP    map[topicPartition]int
	kinds   map[string]detectors.Kind
	needed  map[detectors.Kind]bool
	dec     *Decoder
	msg     Message

	instances []backtest.Instance
	seq       int64
	cur       *Pending
	// flushing: the detectors are flushing at the end of the stream. flushReplayed: that flush
	// ran to completion in an earlier session (every end-of-stream marker is below its committed
	// offset, and markers are committed only after the flush's alerts are acknowledged), so its
	// alerts are on the topic. flushed: this session's flush has returned, so its markers may be
	// committed.
	flushing      bool
	flushReplayed bool
	flushed       bool
	// published counts the alerts on the topic by key when the session started; emitted counts
	// the alerts this session raised by key, replayed or not.
	published      map[string]int
	emitted        map[string]int
	alertsOut      int64
	flushAlertsOut int64

	sinceCommit int64
	lastCommit  time.Time
	carry       []*kgo.Record
	started     time.Time
}

func (p *Pipeline) newSession(ctx context.Context, gen int) (*session, error) {
	p.mu.Lock()
	assigned := p.grp.assigned
	committed := p.grp.committed
	p.mu.Unlock()
	s := &session{p: p, gen: gen, wm: NewWatermark(p.cfg.MaxDelay.Microseconds()),
		byTP: map[topicPartition]int{}, kinds: map[string]detectors.Kind{}, needed: map[detectors.Kind]bool{},
		dec: NewDecoder(), emitted: map[string]int{}, lastCommit: time.Now(), started: time.Now()}
	for _, table := range datasets.EventTables {
		k, _ := datasets.KindOfTable(table)
		s.kinds[p.cfg.Topics.Event(table)] = k
	}
	// Sources in a fixed order (topic in tie order, then partition): the tie-break of last resort.
	var tps []topicPartition
	for t, parts := range assigned {
		for _, part := range parts {
			tps = append(tps, topicPartition{t, part})
		}
	}
	sort.Slice(tps, func(i, j int) bool {
		ki, kj := s.kinds[tps[i].topic], s.kinds[tps[j].topic]
		if ki != kj {
			return ki < kj
		}
		if tps[i].topic != tps[j].topic {
			return tps[i].topic < tps[j].topic
		}
		return tps[i].partition < tps[j].partition
	})
	now := time.Now()
	for _, tp := range tps {
		c, ok := committed[tp]
		if !ok {
			c = -1
		}
		s.byTP[tp] = s.wm.AddSource()
		s.sources = append(s.sources, &source{tp: tp, kind: s.kinds[tp.topic], startCommitted: c,
			committed: c, next: -1, eos: -1, hw: -1, lastRecord: now})
	}
	// The same detector instances a backtest builds, from the same configuration.
	for _, n := range p.cfg.Detectors.DetectorNames() {
		spec, _ := detectors.Lookup(n)
		d, _, err := detectors.Build(n, p.cfg.Detectors.Detectors[n], p.cfg.Env)
		if err != nil {
			return nil, err
		}
		s.instances = append(s.instances, backtest.Instance{ID: n, Detector: d})
		for _, k := range spec.Needs {
			s.needed[k] = true
		}
	}
	published, err := readPublished(ctx, p.cfg.ClientOpts, p.cl, p.cfg.Topics.AlertsTopic())
	if err != nil {
		return nil, err
	}
	s.published = published
	p.mu.Lock()
	p.current = s
	p.mu.Unlock()
	p.metrics.SetHealthy(true)
	p.log("stream: session started", map[string]any{"generation": gen, "partitions": len(tps),
		"published_alerts_seen": len(published)})
	return s, nil
}

// run drives backtest.Replay, the same loop a backtest runs, with next pulling from Kafka.
// p.mu is held whenever the session is not polling, so group callbacks (which run only while a
// poll is allowed to rebalance) see consistent session state.
func (s *session) run(ctx context.Context) error {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := backtest.Replay(ctx, func() (*detectors.Event, error) { return s.next(ctx) },
		s.instances, s.sink, nil)
	if err != nil {
		if errors.Is(err, errSessionOver) && p.current == s {
			p.current = nil // revoked: nothing of this session may be committed any more
		}
		return err
	}
	// End of stream: the detectors have flushed. Only now may the commit cover the markers, and
	// commit waits for the flush's alerts to be acknowledged before committing.
	s.flushing = false
	s.flushed = true
	if p.crashed {
		return errCrash // died during the flush
	}
	if p.crashBeforeEndCommit {
		p.crashAfterAcknowledged()
		return errCrash
	}
	p.mu.Unlock()
	err = s.commit(ctx)
	p.mu.Lock()
	if err != nil {
		return err
	}
	p.log("stream: end of stream; detectors flushed and offsets committed", map[string]any{
		"events": p.summary.Events, "alerts": p.summary.AlertsPublished, "suppressed": p.summary.AlertsSuppressed})
	return nil
}

func (s *session) next(ctx context.Context) (*detectors.Event, error) {
	if s.cur != nil {
		s.done(s.cur)
		s.cur = nil
	}
	for i := 0; ; i++ {
		if err := s.p.firstProduceError(); err != nil {
			return nil, err
		}
		if s.p.crashed {
			return nil, errCrash
		}
		if s.dueCommit(false) {
			s.p.mu.Unlock()
			err := s.commit(ctx)
			s.p.mu.Lock()
			if err != nil {
				return nil, err
			}
		}
		if pend := s.wm.Pop(); pend != nil {
			if !s.needed[pend.Event.Kind] {
				s.done(pend)
				continue
			}
			pend.Event.Seq = s.seq
			s.seq++
			s.cur = pend
			return &pend.Event, nil
		}
		if s.wm.AllEnded() {
			// Commit every event before the flush (the markers excluded, see commit): a crash
			// during the flush then replays no event's alerts, only the flush's.
			s.p.mu.Unlock()
			err := s.commit(ctx)
			s.p.mu.Lock()
			if err != nil {
				return nil, err
			}
			s.flushing = true
			s.flushReplayed = true
			for _, src := range s.sources {
				if src.eos >= src.startCommitted {
					s.flushReplayed = false
				}
			}
			return nil, nil
		}
		if s.dueCommit(true) {
			s.p.mu.Unlock()
			err := s.commit(ctx)
			s.p.mu.Lock()
			if err != nil {
				return nil, err
			}
		}
		if err := s.poll(ctx); err != nil {
			return nil, err
		}
	}
}

// done accounts for a processed event.
func (s *session) done(pend *Pending) {
	s.p.summary.Events++
	s.sinceCommit++
	if pend.Arrived != 0 {
		s.p.metrics.Observe(MetricLatency, float64(time.Now().UnixNano()-pend.Arrived)/1e9)
	}
}

// dueCommit says whether to commit now: every CommitEvery events, or CommitInterval after the
// last commit (checked every 256 events, and always before a poll).
func (s *session) dueCommit(beforePoll bool) bool {
	if s.sinceCommit == 0 {
		return false
	}
	if s.p.cfg.CommitEvery > 0 && s.sinceCommit >= s.p.cfg.CommitEvery {
		return true
	}
	// Reading the clock for every event would cost more than the check is worth.
	return (beforePoll || s.sinceCommit%256 == 0) && time.Since(s.lastCommit) >= s.p.cfg.CommitInterval
}

// poll fetches records into the watermark merger. It releases p.mu while blocked.
func (s *session) poll(ctx context.Context) error {
	p := s.p
	p.mu.Unlock()
	p.cl.AllowRebalance()
	pctx, cancel := context.WithTimeout(ctx, pollWait)
	fetches := p.cl.PollRecords(pctx, maxPollRecords)
	cancel()
	p.mu.Lock()
	now := time.Now()
	p.metrics.Polled(now)
	if err := ctx.Err(); err != nil {
		s.carry = fetches.Records()
		return err
	}
	if fetches.IsClientClosed() {
		return kgo.ErrClientClosed
	}
	if err := fatalFetchError(fetches); err != nil {
		return err
	}
	if p.grp.gen != s.gen || p.grp.revoked >= s.gen {
		s.carry = fetches.Records()
		return errSessionOver
	}
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		idx, ok := s.byTP[topicPartition{fp.Topic, fp.Partition}]
		if !ok {
			return
		}
		for _, r := range fp.Records {
			s.ingest(r, now)
		}
		src := s.sources[idx]
		src.hw = fp.HighWatermark
		if src.next >= 0 {
			p.metrics.Set(MetricLag, float64(max(0, fp.HighWatermark-src.next)), fp.Topic, strconv.Itoa(int(fp.Partition)))
		}
	})
	s.checkIdle(now)
	p.metrics.Set(MetricBuffered, float64(s.wm.Buffered()))
	if r := s.wm.Released(); r > -1<<62 && r < 1<<62 {
		p.metrics.Set(MetricWatermark, float64(r)/1e6)
	}
	return nil
}

// checkIdle marks partitions without records for IdleTimeout (and consumed to their end, when
// that is known) idle, so that a quiet symbol does not stall the others.
func (s *session) checkIdle(now time.Time) {
	timeout := s.p.cfg.IdleTimeout
	if timeout <= 0 {
		return
	}
	for i, src := range s.sources {
		if s.wm.Ended(i) || s.wm.Idle(i) {
			continue
		}
		caughtUp := src.hw < 0 || src.next < 0 || src.next >= src.hw
		if caughtUp && now.Sub(src.lastRecord) >= timeout {
			s.wm.SetIdle(i, true)
			s.p.log("stream: partition idle; it no longer holds the watermark back", map[string]any{
				"topic": src.tp.topic, "partition": src.tp.partition})
		}
	}
}

// ingest decodes one record into the merger, or rejects it.
func (s *session) ingest(r *kgo.Record, now time.Time) {
	idx, ok := s.byTP[topicPartition{r.Topic, r.Partition}]
	if !ok {
		return
	}
	src := s.sources[idx]
	if r.Offset < src.next {
		return // already consumed in this session
	}
	src.next = r.Offset + 1
	src.lastRecord = now
	replayed := r.Offset < src.startCommitted
	if len(r.Value) > s.p.cfg.MaxMessageBytes {
		s.reject(r, replayed, "oversized", fmt.Sprintf("%d bytes exceed the %d-byte limit", len(r.Value), s.p.cfg.MaxMessageBytes))
		return
	}
	if err := s.dec.Decode(r.Value, &s.msg); err != nil {
		reason, detail := "malformed", err.Error()
		var de *DecodeError
		if errors.As(err, &de) {
			reason, detail = de.Reason, de.Detail
		}
		s.reject(r, replayed, reason, detail)
		return
	}
	if s.msg.EndOfStream {
		src.eos = r.Offset
		s.wm.End(idx)
		return
	}
	if s.msg.Event.Kind != src.kind {
		s.reject(r, replayed, "wrong_topic", fmt.Sprintf("a %s event on the %s topic", s.msg.Event.Kind, src.kind))
		return
	}
	s.p.metrics.Add(MetricEventsIn, 1, r.Topic)
	pend := &Pending{Event: s.msg.Event, Row: s.msg.Row, Source: idx, Offset: r.Offset, Arrived: now.UnixNano()}
	if !s.wm.Push(pend) {
		if replayed {
			return
		}
		s.p.summary.Late++
		s.p.metrics.Add(MetricLateEvents, 1, r.Topic)
		if s.p.cfg.Late == LateDeadLetter {
			s.deadLetter(r, "late", fmt.Sprintf("event ts %d is behind the watermark", pend.Event.TS))
		}
	}
}

func (s *session) reject(r *kgo.Record, replayed bool, reason, detail string) {
	if replayed {
		return // dead-lettered before the commit
	}
	s.p.summary.Rejected++
	s.p.metrics.Add(MetricRejected, 1, r.Topic, reason)
	s.deadLetter(r, reason, detail)
}

// deadLetterValueBytes bounds the copy of a rejected message kept in the dead-letter topic.
const deadLetterValueBytes = 16 << 10

func (s *session) deadLetter(r *kgo.Record, reason, detail string) {
	value := r.Value
	headers := []kgo.RecordHeader{
		{Key: "fds-reason", Value: []byte(reason)},
		{Key: "fds-detail", Value: []byte(detail)},
		{Key: "fds-source-topic", Value: []byte(r.Topic)},
		{Key: "fds-source-partition", Value: []byte(strconv.Itoa(int(r.Partition)))},
		{Key: "fds-source-offset", Value: []byte(strconv.FormatInt(r.Offset, 10))},
	}
	if len(value) > deadLetterValueBytes {
		value = value[:deadLetterValueBytes]
		headers = append(headers, kgo.RecordHeader{Key: "fds-truncated", Value: []byte(strconv.Itoa(len(r.Value)))})
	}
	key := r.Key
	if key == nil {
		key = []byte{}
	}
	s.p.produce(context.Background(), &kgo.Record{Topic: s.p.cfg.Topics.DeadLetterTopic(), Key: key,
		Value: append([]byte(nil), value...), Headers: headers, Timestamp: r.Timestamp})
}

// sink receives every alert of every instance, synchronously from OnEvent or Flush.
func (s *session) sink(_ int, a detectors.Alert) {
	p := s.p
	if p.crashed {
		return // a dead process publishes nothing
	}
	var replayed bool
	switch {
	case s.flushing:
		// A flush not known to be complete is de-duplicated by key below: a crash during it
		// may have published any part of it.
		replayed = s.flushReplayed
	case s.cur != nil:
		replayed = s.cur.Offset < s.sources[s.cur.Source].startCommitted
	}
	key := a.Key()
	// Every copy counts, replayed or not: the i-th copy of a key this session raises is the
	// i-th on the topic (one key, one partition, produced in order).
	s.emitted[key]++
	if replayed {
		p.summary.AlertsSuppressed++
		p.metrics.Add(MetricAlertsSuppressed, 1, "replayed")
		return
	}
	if s.emitted[key] <= s.published[key] {
		p.summary.AlertsSuppressed++
		p.metrics.Add(MetricAlertsSuppressed, 1, "already_published")
		return
	}
	value, err := EncodeAlert(&a)
	if err != nil {
		p.produceMu.Lock()
		if p.produceErr == nil {
			p.produceErr = fmt.Errorf("encoding alert %s: %w", key, err)
		}
		p.produceMu.Unlock()
		return
	}
	p.produce(context.Background(), &kgo.Record{Topic: p.cfg.Topics.AlertsTopic(), Key: []byte(key), Value: value,
		Timestamp: time.UnixMicro(a.TS), Headers: []kgo.RecordHeader{
			{Key: "fds-alert-version", Value: []byte(strconv.Itoa(AlertVersion))},
			{Key: "content-type", Value: []byte("application/json")},
		}})
	p.summary.AlertsPublished++
	s.alertsOut++
	if s.flushing {
		s.flushAlertsOut++
	}
	p.metrics.Add(MetricAlertsOut, 1, a.Detector)
	if (p.crashAfterAlerts > 0 && p.summary.AlertsPublished >= p.crashAfterAlerts) ||
		(p.crashAfterFlushAlerts > 0 && s.flushAlertsOut >= p.crashAfterFlushAlerts) {
		// Die right after the alert is on the topic, before any commit covers it.
		p.crashAfterAcknowledged()
	}
}

// crashAfterAcknowledged simulates a crash (tests): it waits for what was produced to be on the
// topic, then marks the pipeline dead.
func (p *Pipeline) crashAfterAcknowledged() {
	// Generous: a slow broker (the race detector, a loaded machine) must not turn the simulated
	// crash into one with the alert still in flight, which the tests do not expect.
	fctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	p.cl.Flush(fctx)
	cancel()
	p.crashed = true
}

// commit commits, for every source, the offset below which everything was processed, after
// waiting for every alert and dead letter produced so far to be acknowledged. It holds nothing
// but reads session state: callers hold p.mu or run where the session is not processing.
func (s *session) commit(ctx context.Context) error {
	p := s.p
	if p.crashed {
		return errCrash
	}
	offsets := map[string]map[int32]kgo.EpochOffset{}
	type pending struct {
		src *source
		pos int64
	}
	var moved []pending
	for i, src := range s.sources {
		pos := src.next
		if q := s.wm.MinQueuedOffset(i); q >= 0 {
			pos = q
		}
		if s.cur != nil && s.cur.Source == i && s.cur.Offset < pos {
			pos = s.cur.Offset
		}
		if !s.flushed && src.eos >= 0 && pos > src.eos {
			// An end-of-stream marker is committed only after the flush it triggers has run and
			// its alerts are acknowledged: a restart that finds a marker uncommitted runs the
			// flush again and publishes the part a crash lost.
			pos = src.eos
		}
		if pos < 0 || pos <= src.committed {
			continue
		}
		if offsets[src.tp.topic] == nil {
			offsets[src.tp.topic] = map[int32]kgo.EpochOffset{}
		}
		offsets[src.tp.topic][src.tp.partition] = kgo.EpochOffset{Epoch: -1, Offset: pos}
		moved = append(moved, pending{src, pos})
	}
	s.sinceCommit = 0
	s.lastCommit = time.Now()
	// Wait for the acknowledgements even when no offset moves: the end of a run (or of a flush
	// whose markers an earlier session committed) must not leave alerts in the producer's buffer.
	if err := p.cl.Flush(ctx); err != nil {
		return fmt.Errorf("waiting for alerts to be acknowledged: %w", err)
	}
	if err := p.firstProduceError(); err != nil {
		return err
	}
	if len(offsets) == 0 {
		return nil
	}
	meta := commitMetadataPrefix + strconv.FormatInt(s.wm.Released(), 10)
	cctx := kgo.PreCommitFnContext(ctx, func(req *kmsg.OffsetCommitRequest) error {
		for i := range req.Topics {
			for j := range req.Topics[i].Partitions {
				req.Topics[i].Partitions[j].Metadata = kmsg.StringPtr(meta)
			}
		}
		return nil
	})
	var cerr error
	p.cl.CommitOffsetsSync(cctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			cerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, part := range t.Partitions {
				if e := kerr.ErrorForCode(part.ErrorCode); e != nil && cerr == nil {
					cerr = fmt.Errorf("%s/%d: %w", t.Topic, part.Partition, e)
				}
			}
		}
	})
	if cerr != nil {
		p.metrics.Add(MetricCommits, 1, "error")
		return fmt.Errorf("committing offsets: %w", cerr)
	}
	p.metrics.Add(MetricCommits, 1, "ok")
	for _, m := range moved {
		m.src.committed = m.pos
	}
	return nil
}

// idleAfterEnd keeps the member in its group after the end of the stream, polling so that
// rebalances are served, until ctx ends or the assignment changes. Records after the
// end-of-stream markers are counted as rejected: a replay ends a topic set's stream.
func (s *session) idleAfterEnd(ctx context.Context) error {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		p.mu.Unlock()
		p.cl.AllowRebalance()
		pctx, cancel := context.WithTimeout(ctx, pollWait)
		fetches := p.cl.PollRecords(pctx, maxPollRecords)
		cancel()
		p.mu.Lock()
		p.metrics.Polled(time.Now())
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if fetches.IsClientClosed() {
			return kgo.ErrClientClosed
		}
		if p.grp.gen != s.gen || p.grp.revoked >= s.gen {
			s.carry = fetches.Records()
			if p.current == s {
				p.current = nil
			}
			return errSessionOver
		}
		fetches.EachRecord(func(r *kgo.Record) {
			idx, ok := s.byTP[topicPartition{r.Topic, r.Partition}]
			if !ok || r.Offset < s.sources[idx].next {
				return
			}
			s.sources[idx].next = r.Offset + 1
			s.reject(r, r.Offset < s.sources[idx].startCommitted, "after_end_of_stream", "record after the partition's end-of-stream marker")
		})
	}
}

// publishedQuietSpell is how long readPublished polls without a record before it concludes that the
// offsets it has not seen below a partition's end hold no record.
const publishedQuietSpell = 10 * time.Second

// readPublished counts the alerts already on the alerts topic, by key: what a restarted session
// must not produce again.
func readPublished(ctx context.Context, connOpts []kgo.Opt, cl *kgo.Client, topic string) (map[string]int, error) {
	counts, err := PartitionCounts(ctx, cl, []string{topic})
	if err != nil {
		return nil, err
	}
	ends, err := endOffsets(ctx, cl, topic, counts[topic])
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	want := map[int32]int64{}
	parts := map[int32]kgo.Offset{}
	for part, end := range ends {
		if end > 0 {
			want[part] = end
			parts[part] = kgo.NewOffset().AtStart()
		}
	}
	if len(want) == 0 {
		return out, nil
	}
	opts := append(append([]kgo.Opt(nil), connOpts...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}))
	rd, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	deadline := time.Now().Add(2 * time.Minute)
	lastRecord := time.Now()
	for len(want) > 0 {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("reading the alerts topic %s for keys already published: timed out", topic)
		}
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fetches := rd.PollRecords(pctx, 10000)
		cancel()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := fatalFetchError(fetches); err != nil {
			return nil, err
		}
		if fetches.NumRecords() == 0 {
			// Offsets below the end can be missing (compaction, transaction markers): after a
			// quiet spell what was readable has been read. The spell is long because stopping
			// early on a slow broker would count too few copies and publish duplicates.
			if time.Since(lastRecord) >= publishedQuietSpell {
				break
			}
			continue
		}
		lastRecord = time.Now()
		fetches.EachRecord(func(r *kgo.Record) {
			out[string(r.Key)]++
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
			}
		})
	}
	return out, nil
}
