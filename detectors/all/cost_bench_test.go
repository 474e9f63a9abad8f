package all_test

import (
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fds-dev/fds/datasets/synth"
	"github.com/fds-dev/fds/detectors"
	_ "github.com/fds-dev/fds/detectors/all"
)

// nopDetector reads each event's ts and does nothing else.
type nopDetector struct{ last detectors.Micros }

func (n *nopDetector) OnEvent(ev *detectors.Event, _ detectors.Emit) { n.last = ev.TS }
func (n *nopDetector) Flush(detectors.Emit)                          {}

var costMarket struct {
	once sync.Once
	evs  []detectors.Event
	env  detectors.Env
	err  error
}

// processCPU is the process's user + system CPU time: the collector's work on other threads
// counts, and on a shared machine it does not count the neighbours as wall time does.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDetectorCost replays one in-memory default-preset market of about 1 M events (seed 1,
// generated once per test binary) through each registered detector alone, at its defaults, and
// reports the detector's CPU cost per event (cpu-ns/event: what it adds to a backtest's CPU, plus
// the floor that sub-benchmark none measures) and events/s. Profile one detector with
//
//	go test -run '^$' -bench 'DetectorCost/layering$' -benchtime 3x -cpuprofile cpu.pprof ./detectors/all
func BenchmarkDetectorCost(b *testing.B) {
	costMarket.once.Do(func() {
		g, err := synth.New(synth.Config{Seed: 1, Events: 1_000_000})
		if err != nil {
			costMarket.err = err
			return
		}
		_, costMarket.err = g.Run(func(ev *detectors.Event) error { costMarket.evs = append(costMarket.evs, *ev); return nil })
		costMarket.env = detectors.Env{Accounts: g.AccountMap()}
	})
	if costMarket.err != nil {
		b.Fatal(costMarket.err)
	}
	evs := costMarket.evs
	// The floor under every detector's figure: the loop's event copies and the collector's scans
	// of the in-memory market, with no detector.
	b.Run("none", func(b *testing.B) {
		cpu0 := processCPU(b)
		var d detectors.Detector = &nopDetector{}
		for i := 0; i < b.N; i++ {
			var ev detectors.Event
			for j := range evs {
				ev = evs[j]
				d.OnEvent(&ev, nil)
			}
		}
		if d.(*nopDetector).last == 0 {
			b.Fatal("no event")
		}
		b.ReportMetric(float64(processCPU(b)-cpu0)/float64(len(evs)*b.N), "cpu-ns/event")
	})
	for _, name := range detectors.Names() {
		b.Run(name, func(b *testing.B) {
			cpu0 := processCPU(b)
			alerts := 0
			for i := 0; i < b.N; i++ {
				d, _, err := detectors.Build(name, nil, costMarket.env)
				if err != nil {
					b.Fatal(err)
				}
				count := func(detectors.Alert) { alerts++ }
				var ev detectors.Event
				for j := range evs {
					ev = evs[j]
					d.OnEvent(&ev, count)
				}
				d.Flush(count)
			}
			if alerts == 0 {
				b.Fatalf("%s raised no alert on the default market: not the workload this measures", name)
			}
			n := float64(len(evs) * b.N)
			b.ReportMetric(float64(processCPU(b)-cpu0)/n, "cpu-ns/event")
			b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
		})
	}
}
