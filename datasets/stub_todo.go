package datasets

// TEMPORARY: signatures of the data layer while it is being written; replaced by real code.

import (
	"errors"

	"github.com/fds-dev/fds/detectors"
)

var errTodo = errors.New("not yet implemented")

// Dataset is an opened dataset folder.
type Dataset struct {
	Dir string
}

// Open lists the tables of a dataset folder.
func Open(dir string) (*Dataset, error) { return nil, errTodo }

// Tables returns the tables present, in AllTables order.
func (d *Dataset) Tables() []string { return nil }

// Has reports whether the table is present.
func (d *Dataset) Has(table string) bool { return false }

// Files returns the Parquet files of a table, sorted by path.
func (d *Dataset) Files(table string) []string { return nil }

// CheckSorted reads only the ts column of an event table and reports the first row out of order.
func (d *Dataset) CheckSorted(table string) (sorted bool, firstBadRow int64, err error) {
	return false, 0, errTodo
}

// OpenEvents streams an event table in file order.
func (d *Dataset) OpenEvents(table string) (*EventReader, error) { return nil, errTodo }

// Accounts reads the accounts table (empty map when absent).
func (d *Dataset) Accounts() (map[string]detectors.Account, error) { return nil, errTodo }

// Labels reads the labels table (nil when absent).
func (d *Dataset) Labels() ([]Incident, error) { return nil, errTodo }

// EventReader streams one event table as canonical events.
type EventReader struct{}

// Next fills ev with the next row (TS, Symbol, Kind and the kind's member; not Seq) and reports
// false at the end.
func (r *EventReader) Next(ev *detectors.Event) (bool, error) { return false, errTodo }

// Rows returns the rows read so far.
func (r *EventReader) Rows() int64 { return 0 }

// Close releases the reader.
func (r *EventReader) Close() error { return nil }

// EventWriter writes one event table to a Parquet file, atomically: to a temporary file in the
// same folder, renamed into place by Close.
type EventWriter struct{}

// NewEventWriter creates a writer of the named event table at path.
func NewEventWriter(path, table string) (*EventWriter, error) { return nil, errTodo }

// Write appends one event of the writer's kind.
func (w *EventWriter) Write(ev *detectors.Event) error { return errTodo }

// Close flushes, closes and renames the file into place.
func (w *EventWriter) Close() error { return errTodo }

// Abort removes the temporary file.
func (w *EventWriter) Abort() {}

// WriteAccounts writes the accounts table atomically.
func WriteAccounts(path string, accounts []detectors.Account) error { return errTodo }

// WriteLabels writes the labels table atomically.
func WriteLabels(path string, incidents []Incident) error { return errTodo }

// WriteAlerts writes alerts (the run folder's alerts.parquet) atomically.
func WriteAlerts(path string, alerts []detectors.Alert) error { return errTodo }

// ReadAlerts reads an alerts Parquet file written by WriteAlerts (or by another system in the
// same schema).
func ReadAlerts(path string) ([]detectors.Alert, error) { return nil, errTodo }

// WriteMatches writes a run's matches.parquet atomically.
func WriteMatches(path string, rows []MatchRow) error { return errTodo }
