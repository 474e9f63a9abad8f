// Package importers converts exchange and research data formats into fds's canonical dataset
// tables (see datasets/schema.go and docs/importers.md): ccxt trade CSVs, Binance USD-M futures
// public dumps, Tardis CSVs, LOBSTER message files, raw exchange WebSocket captures (cryptofeed)
// and pump-and-dump label lists.
//
// Every importer normalises the same things the same way: epoch timestamps of any unit to
// microseconds (detected by magnitude, see DetectTimeUnit), sides of any spelling to buy/sell
// (see ParseSide), symbols to BASE/QUOTE (see SymbolMapper), gzip and zip input by magic bytes.
// Anything it cannot map fails the import with one line naming the file, line and column; no
// table is written then. A successful import writes only the tables it produced, each atomically
// (temporary file in the output folder, renamed into place), so importing into an existing dataset
// folder adds or replaces those tables and leaves the others alone.
package importers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// Options tune an import. The zero value is the documented default of every field.
type Options struct {
	// Symbol names the instrument of inputs whose rows carry none (Binance dumps, LOBSTER
	// message files); by default it is taken from the file name. It is mapped like any symbol.
	Symbol string
	// TimeUnit forces the unit of epoch timestamps ("s", "ms", "us", "ns"); "" or "auto" detects
	// it per file by magnitude.
	TimeUnit string
	// Quotes are extra quote currencies for splitting separator-less symbols (NULSBTC).
	Quotes []string
	// SymbolAliases map a canonical symbol to another (a coin renamed, a typo in a label list).
	SymbolAliases map[string]string

	// Date is the trading day of a LOBSTER file (YYYY-MM-DD); by default from its file name.
	Date string
	// Timezone is the zone of LOBSTER's seconds-after-midnight; default America/New_York.
	Timezone string

	// LabelExchange keeps only label rows of this exchange (case-insensitive prefix match, so
	// "binance" keeps BINANCE_SPOT); default "binance"; "*" keeps every exchange.
	LabelExchange string
	// LabelLead starts a pump incident this long before the announced time (admins often buy
	// before the signal); default 120 s, as the Sapienza list's README observes. Negative: 0.
	LabelLead detectors.Micros
	// LabelDuration ends a pump incident this long after the announced time; default 1 h.
	LabelDuration detectors.Micros
	// LabelMergeGap merges announcements of the same symbol closer than this into one incident
	// (several groups announce one pump, a minute or two apart); default 30 min.
	LabelMergeGap detectors.Micros
}

// Defaults of the label options.
const (
	DefaultLabelLead     = 120 * detectors.Second
	DefaultLabelDuration = detectors.Hour
	DefaultLabelMergeGap = 30 * detectors.Minute
)

func (o Options) withDefaults() Options {
	if o.LabelExchange == "" {
		o.LabelExchange = "binance"
	}
	if o.LabelLead == 0 {
		o.LabelLead = DefaultLabelLead
	}
	if o.LabelLead < 0 {
		o.LabelLead = 0
	}
	if o.LabelDuration <= 0 {
		o.LabelDuration = DefaultLabelDuration
	}
	if o.LabelMergeGap <= 0 {
		o.LabelMergeGap = DefaultLabelMergeGap
	}
	if o.Timezone == "" {
		o.Timezone = "America/New_York"
	}
	return o
}

// Report says what an import read and wrote.
type Report struct {
	Format string
	Inputs []InputReport
	Tables []TableReport
}

// InputReport is one input file's part of an import.
type InputReport struct {
	Path string
	// Kind is the data type found in the file (e.g. "aggTrades", "book_snapshot_5", "pumps.json").
	Kind string
	// TimeUnit is the unit detected (or forced) for its timestamps; "" for formats without epochs.
	TimeUnit string
	Rows     int64
	// Skipped counts rows dropped by a documented rule (a Tardis trade of unknown side, a label
	// on another exchange), not errors.
	Skipped int64
}

// TableReport is one table written.
type TableReport struct {
	Table string
	Path  string
	Rows  int64
}

// Format describes one importer.
type Format struct {
	Name string
	// Summary is one line for command help; Doc is the full mapping (docs/importers.md has more).
	Summary string
	Doc     string
	// Tables the format can produce.
	Tables []string
	parse  func(c *parseCtx, in *input) error
	finish func(c *parseCtx) error
}

var formats = map[string]*Format{}

func registerFormat(f *Format) { formats[f.Name] = f }

// Formats returns the importers, sorted by name.
func Formats() []*Format {
	out := make([]*Format, 0, len(formats))
	for _, f := range formats {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// FormatNames returns the --format names, sorted.
func FormatNames() []string {
	var names []string
	for _, f := range Formats() {
		names = append(names, f.Name)
	}
	return names
}

// row is one parsed event row before sorting: its time, symbol and payload.
type row[T any] struct {
	TS     detectors.Micros
	Symbol string
	V      T
	// n is the row's input position, the tie-break of the sort.
	n int
}

// sink collects the canonical rows of one import.
type sink struct {
	trades []row[detectors.Trade]
	// tradeIDMissing says some trades came without an id: they are numbered after sorting.
	tradeIDMissing bool
	orders         []row[detectors.Order]
	marks          []row[detectors.Mark]
	liqs           []row[detectors.Liquidation]
	labels         []rawLabel
	labelsSeen     bool
}

// parseCtx is the state an import shares across its inputs.
type parseCtx struct {
	opts    Options
	unit    TimeUnit
	symbols *SymbolMapper
	out     *sink
	file    *InputReport
	// state of formats that join rows across files (Binance klines, book levels).
	binance *binanceState
	books   map[string]*bookState
	// nextLevelID numbers the synthetic level orders of book data (levelbook.go).
	nextLevelID int64
	lobster     *lobsterState
	ws          *wsState
}

// Import reads the inputs in the named format and writes the canonical tables into outDir,
// creating it if needed. Inputs are read in the order given; rows are then ordered by time (ties
// keep input order). See the package doc for the atomicity guarantee.
func Import(format string, inputs []string, outDir string, opts Options) (Report, error) {
	return ImportContext(context.Background(), format, inputs, outDir, opts)
}

// ImportContext is Import stopping early, with ctx's error and nothing written, when ctx is
// cancelled (an interrupt): every input is read through a reader that checks it.
func ImportContext(ctx context.Context, format string, inputs []string, outDir string, opts Options) (Report, error) {
	f, ok := formats[format]
	if !ok {
		return Report{}, fmt.Errorf("unknown import format %q (have %s)", format, strings.Join(FormatNames(), ", "))
	}
	if len(inputs) == 0 {
		return Report{}, errors.New("no input files")
	}
	if outDir == "" {
		return Report{}, errors.New("no output folder")
	}
	c, err := newParseCtx(opts)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Format: format}
	for _, path := range inputs {
		in, closeFn, err := openInput(path)
		if err != nil {
			return rep, err
		}
		in.r = &ctxReader{ctx: ctx, r: in.r}
		ir := InputReport{Path: in.name}
		c.file = &ir
		err = f.parse(c, in)
		cerr := closeFn()
		if err != nil {
			return rep, err
		}
		if cerr != nil {
			return rep, errAt(path, 0, "", cerr)
		}
		rep.Inputs = append(rep.Inputs, ir)
	}
	if f.finish != nil {
		if err := f.finish(c); err != nil {
			return rep, err
		}
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	_, statErr := os.Stat(outDir)
	tables, err := c.out.write(outDir, c.opts)
	if err != nil && os.IsNotExist(statErr) {
		// Leave no empty folder behind a failed write (a full disk): Remove takes only an
		// empty one.
		os.Remove(outDir)
	}
	rep.Tables = tables
	return rep, err
}

func newParseCtx(opts Options) (*parseCtx, error) {
	opts = opts.withDefaults()
	unit, err := ParseTimeUnit(opts.TimeUnit)
	if err != nil {
		return nil, err
	}
	m := NewSymbolMapper(opts.Quotes...)
	m.Aliases = opts.SymbolAliases
	return &parseCtx{opts: opts, unit: unit, symbols: m, out: &sink{}}, nil
}

// symbolFromName returns Options.Symbol, or the file-name prefix up to the first '-' or '_'
// (Binance names its dumps BTCUSDT-aggTrades-2024-01-01.csv).
func (c *parseCtx) symbolFromName(in *input, sep string) (string, error) {
	raw := c.opts.Symbol
	if raw == "" {
		base := in.base
		if i := strings.IndexAny(base, sep); i > 0 {
			raw = base[:i]
		}
	}
	if raw == "" {
		return "", errAtf(in.name, 0, "", "cannot tell the symbol from the file name; pass it as an option (--symbol)")
	}
	s, err := c.symbols.Canonical(raw)
	if err != nil {
		return "", errAt(in.name, 0, "", err)
	}
	return s, nil
}

func (s *sink) empty() bool {
	return len(s.trades) == 0 && len(s.orders) == 0 && len(s.marks) == 0 && len(s.liqs) == 0 && !s.labelsSeen
}

// write sorts and writes every table the import produced.
func (s *sink) write(outDir string, opts Options) ([]TableReport, error) {
	if s.empty() {
		return nil, errors.New("the inputs hold no rows to import")
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	var reps []TableReport
	add := func(table string, n int, get func(i int, ev *detectors.Event)) error {
		if n == 0 {
			return nil
		}
		path, err := tablePath(outDir, table)
		if err != nil {
			return err
		}
		w, err := datasets.NewEventWriter(path, table)
		if err != nil {
			return err
		}
		kind, _ := datasets.KindOfTable(table)
		var ev detectors.Event
		for i := 0; i < n; i++ {
			ev = detectors.Event{Kind: kind, Seq: int64(i)}
			get(i, &ev)
			if err := w.Write(&ev); err != nil {
				w.Abort()
				return fmt.Errorf("writing %s: %w", path, err)
			}
		}
		if err := w.Close(); err != nil {
			w.Abort()
			return fmt.Errorf("writing %s: %w", path, err)
		}
		reps = append(reps, TableReport{Table: table, Path: path, Rows: int64(n)})
		return nil
	}
	sortRows(s.marks)
	sortRows(s.orders)
	sortRows(s.trades)
	sortRows(s.liqs)
	if s.tradeIDMissing {
		// Sources without trade ids (ccxt aggregates, LOBSTER) get their 1-based position in
		// time order: stable across runs, unique within the table.
		for i := range s.trades {
			s.trades[i].V.TradeID = int64(i + 1)
		}
	}
	if err := add(datasets.TableMarks, len(s.marks), func(i int, ev *detectors.Event) {
		ev.TS, ev.Symbol, ev.Mark = s.marks[i].TS, s.marks[i].Symbol, s.marks[i].V
	}); err != nil {
		return reps, err
	}
	if err := add(datasets.TableOrders, len(s.orders), func(i int, ev *detectors.Event) {
		ev.TS, ev.Symbol, ev.Order = s.orders[i].TS, s.orders[i].Symbol, s.orders[i].V
	}); err != nil {
		return reps, err
	}
	if err := add(datasets.TableTrades, len(s.trades), func(i int, ev *detectors.Event) {
		ev.TS, ev.Symbol, ev.Trade = s.trades[i].TS, s.trades[i].Symbol, s.trades[i].V
	}); err != nil {
		return reps, err
	}
	if err := add(datasets.TableLiquidations, len(s.liqs), func(i int, ev *detectors.Event) {
		ev.TS, ev.Symbol, ev.Liquidation = s.liqs[i].TS, s.liqs[i].Symbol, s.liqs[i].V
	}); err != nil {
		return reps, err
	}
	if s.labelsSeen {
		incidents := mergeLabels(s.labels, opts)
		path, err := tablePath(outDir, datasets.TableLabels)
		if err != nil {
			return reps, err
		}
		if err := datasets.WriteLabels(path, incidents); err != nil {
			return reps, fmt.Errorf("writing %s: %w", path, err)
		}
		reps = append(reps, TableReport{Table: datasets.TableLabels, Path: path, Rows: int64(len(incidents))})
	}
	return reps, nil
}

// tablePath is <outDir>/<table>.parquet. A table stored as a folder of files is not replaced
// (that could not be done atomically): the import refuses it.
func tablePath(outDir, table string) (string, error) {
	dir := filepath.Join(outDir, table)
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return "", fmt.Errorf("%s: table %s is stored as a folder of files; remove it before importing that table", dir, table)
	}
	return filepath.Join(outDir, table+".parquet"), nil
}

// sortRows orders rows by time, ties in input order. Inputs are usually sorted already; when
// not, an unstable sort on (ts, input position) is as deterministic as a stable one and avoids
// the stable sort's rotations (memmove-bound on a million rows).
func sortRows[T any](rows []row[T]) {
	if slices.IsSortedFunc(rows, func(a, b row[T]) int { return cmp.Compare(a.TS, b.TS) }) {
		return
	}
	for i := range rows {
		rows[i].n = i
	}
	slices.SortFunc(rows, func(a, b row[T]) int {
		if c := cmp.Compare(a.TS, b.TS); c != 0 {
			return c
		}
		return cmp.Compare(a.n, b.n)
	})
}
