package backtest

import (
	"context"

	"github.com/fds-dev/fds/detectors"
)

// LoadEventsForTest replays a dataset's event tables that the named detectors read and returns
// the events in replay order, with the reference data detectors are built with.
func LoadEventsForTest(dir string, names []string) ([]detectors.Event, detectors.Env, error) {
	ctx := context.Background()
	s, err := openSession(Options{DataDir: dir}, names)
	if err != nil {
		return nil, detectors.Env{}, err
	}
	defer s.close()
	if err := s.openSources(ctx); err != nil {
		return nil, detectors.Env{}, err
	}
	var events []detectors.Event
	_, err = s.replay(ctx, func(next func() (*detectors.Event, error), _ func(int64)) (ReplayStats, error) {
		var st ReplayStats
		for {
			ev, err := next()
			if err != nil || ev == nil {
				return st, err
			}
			events = append(events, *ev)
		}
	})
	return events, s.env, err
}

// SweepAlertsForTest returns every configuration's alerts of a sweep, by configuration id.
func SweepAlertsForTest(r *TuneResult) map[string][]detectors.Alert {
	out := map[string][]detectors.Alert{}
	for _, sc := range r.sweep {
		out[sc.ID] = sc.alerts
	}
	return out
}
