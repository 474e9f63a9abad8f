package datasets

import "github.com/fds-dev/fds/detectors"

// This file fixes the data layer's API so that the packages built on it can be written in
// parallel; the bodies live in dataset.go, reader.go and writer.go.

// MatchRow is one row of a run's matches.parquet: one alert's outcome, or one missed incident.
type MatchRow struct {
	Detector string
	// Outcome is "tp" (alert matched an incident), "fp" (alert matched none) or "fn" (incident
	// no alert matched).
	Outcome    string
	AlertKey   string // empty for fn
	IncidentID string // empty for fp
	Symbol     string
	Score      float64 // NaN for fn
	AlertTS    detectors.Micros
	// IncidentStart and TimeToDetect are 0 for fp; TimeToDetect is alert ts - incident start for tp.
	IncidentStart detectors.Micros
	TimeToDetect  detectors.Micros
}

// Duplicate of nothing: the functions below are implemented in the other files of the package.
var (
	_ = Open
	_ = NewEventWriter
	_ = WriteAccounts
	_ = WriteLabels
	_ = WriteAlerts
	_ = ReadAlerts
	_ = WriteMatches
)
