package backtest

import (
	"sync"

	"github.com/fds-dev/fds/detectors"
)

// Decoding a table (Parquet pages, Arrow batches, canonical events) costs about as much as the
// detectors do, so the merger can decode each table in a goroutine of its own, ahead of the
// merge, and take the events from blocks handed over through channels. The merge order, the
// events and hence the alerts are those of reading the sources in line: only who calls
// EventSource.Next changes.

// prefetchBlock is how many events one hand-over carries: enough that the channel operations
// are noise, few enough (about 0.5 MB) to stay in cache between the decoder and the merger.
const prefetchBlock = 2048

// prefetchDepth is how many blocks a decoder may be ahead of the merge.
const prefetchDepth = 4

type eventBlock struct {
	events [prefetchBlock]detectors.Event
	n      int
	err    error // the source's error after events[:n]
}

// prefetcher runs a source's Next in its own goroutine, filling blocks ahead of the consumer.
// next lends the consumer events in place, so they are never copied.
type prefetcher struct {
	full chan *eventBlock
	free chan *eventBlock
	stop chan struct{}
	done sync.WaitGroup
	cur  *eventBlock
	i    int
	end  bool
}

func newPrefetcher(src EventSource) *prefetcher {
	p := &prefetcher{
		full: make(chan *eventBlock, prefetchDepth),
		free: make(chan *eventBlock, prefetchDepth+1),
		stop: make(chan struct{}),
	}
	for i := 0; i < prefetchDepth+1; i++ {
		p.free <- new(eventBlock)
	}
	p.done.Add(1)
	go p.decode(src)
	return p
}

// decode is the decoding goroutine: it fills free blocks until the source ends or fails, or
// close is called.
func (p *prefetcher) decode(src EventSource) {
	defer p.done.Done()
	defer close(p.full)
	for {
		var b *eventBlock
		select {
		case b = <-p.free:
		case <-p.stop:
			return
		}
		b.n, b.err = 0, nil
		end := false
		for b.n < prefetchBlock {
			ok, err := src.Next(&b.events[b.n])
			if err != nil {
				b.err, end = err, true
				break
			}
			if !ok {
				end = true
				break
			}
			b.n++
		}
		if b.n > 0 || b.err != nil {
			select {
			case p.full <- b:
			case <-p.stop:
				return
			}
		}
		if end {
			return
		}
	}
}

// next returns the next event, valid until the following call, or nil at the end.
func (p *prefetcher) next() (*detectors.Event, error) {
	for p.cur == nil || p.i >= p.cur.n {
		if p.cur != nil {
			if err := p.cur.err; err != nil {
				return nil, err
			}
			p.free <- p.cur // never blocks: free holds every block
			p.cur = nil
		}
		if p.end {
			return nil, nil
		}
		b, ok := <-p.full
		if !ok {
			p.end = true
			return nil, nil
		}
		p.cur, p.i = b, 0
	}
	ev := &p.cur.events[p.i]
	p.i++
	return ev, nil
}

// close stops the decoding goroutine and waits for it, so that the source may be closed after.
func (p *prefetcher) close() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.done.Wait()
}

// Prefetch makes the merger decode each source in a goroutine of its own from now on, ahead of
// the merge. The returned function stops those goroutines and waits for them; call it before
// closing the sources (it is safe to call more than once). The merged stream is unchanged.
func (m *Merger) Prefetch() (stop func()) {
	var started []*prefetcher
	for _, c := range m.cursors {
		if c.pre != nil || !c.live {
			continue
		}
		// The current event stays in c.own; the rest comes through the prefetcher.
		c.pre = newPrefetcher(c.src)
		started = append(started, c.pre)
	}
	return func() {
		for _, p := range started {
			p.close()
		}
	}
}
