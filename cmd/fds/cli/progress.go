package cli

import (
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress draws a progress bar on a terminal (events, rate, ETA) and nothing otherwise; with
// --verbose or --log-format json off a terminal it logs a line every few seconds instead.
type progress struct {
	app   *App
	label string
	bar   *progressbar.ProgressBar
	total int64
	last  time.Time
	start time.Time
}

func newProgress(app *App, label string) *progress {
	return &progress{app: app, label: label, start: time.Now()}
}

// Update reports done of total events (total 0 when unknown).
func (p *progress) Update(done, total int64) {
	if p == nil || p.app.Quiet {
		return
	}
	if !p.app.Terminal {
		// Off a terminal, progress is a log line every 5 s for those who asked for logs.
		if (p.app.Verbose || p.app.LogFormat == "json") && time.Since(p.last) > 5*time.Second {
			p.last = time.Now()
			p.app.logLine("progress", map[string]any{"step": p.label, "events": done, "total": total,
				"rate_per_s": float64(done) / time.Since(p.start).Seconds()})
		}
		return
	}
	if p.bar == nil {
		max := total
		if max <= 0 {
			max = -1
		}
		p.bar = progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(p.app.Stderr),
			progressbar.OptionSetDescription(p.label),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("events"),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	p.bar.Set64(done)
}

// Finish clears the bar.
func (p *progress) Finish() {
	if p != nil && p.bar != nil {
		p.bar.Finish()
	}
}
