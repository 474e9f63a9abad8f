package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// decodeResult is what `fds-bench decode` prints: the rows of the event tables a backtest of
// every registered detector reads, decoded by arrow-go's Parquet reader and nothing else.
type decodeResult struct {
	Tables []string `json:"tables"`
	Rows   int64    `json:"rows"`
	WallS  float64  `json:"wall_s"`
	CPUS   float64  `json:"cpu_s"`
}

func runDecode(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("decode", flag.ContinueOnError)
	data := fs.String("data", "", "dataset folder")
	tables := fs.String("tables", "", "comma-separated event tables (default: those the registered detectors need)")
	merge := fs.Bool("merge", false, "instead of bare Arrow batches, decode canonical events (with the backtest's value checks) and merge the tables in event-time order, each table decoded ahead in a goroutine: a backtest without detectors")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" {
		return fmt.Errorf("decode needs --data DIR")
	}
	ds, err := datasets.Open(*data)
	if err != nil {
		return err
	}
	names := neededTables()
	if *tables != "" {
		names = strings.Split(*tables, ",")
	}
	res := decodeResult{}
	t0, c0 := time.Now(), cpuTime()
	if *merge {
		n, err := mergeOnly(ds, names)
		if err != nil {
			return err
		}
		res.Rows = n
		res.Tables = names
		res.WallS, res.CPUS = time.Since(t0).Seconds(), (cpuTime() - c0).Seconds()
		return json.NewEncoder(stdout).Encode(res)
	}
	for _, table := range names {
		if !ds.Has(table) {
			continue
		}
		res.Tables = append(res.Tables, table)
		for _, path := range ds.Files(table) {
			n, err := bareDecode(path)
			if err != nil {
				return err
			}
			res.Rows += n
		}
	}
	res.WallS, res.CPUS = time.Since(t0).Seconds(), (cpuTime() - c0).Seconds()
	return json.NewEncoder(stdout).Encode(res)
}

// neededTables lists the event tables the registered detectors read, in replay tie order: what
// `fds backtest` with every detector at its defaults decodes.
func neededTables() []string {
	need := map[detectors.Kind]bool{}
	for _, s := range detectors.All() {
		for _, k := range s.Needs {
			need[k] = true
		}
	}
	var out []string
	for _, t := range datasets.EventTables {
		if k, _ := datasets.KindOfTable(t); need[k] {
			out = append(out, t)
		}
	}
	return out
}

// bareDecode reads every column of a Parquet file as Arrow record batches of 64K rows, string
// columns as dictionaries, with Go's allocator: the library's own speed, the floor under any
// replay of the file.
func bareDecode(path string) (int64, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	defer pf.Close()
	props := pqarrow.ArrowReadProperties{BatchSize: 64 * 1024}
	sch := pf.MetaData().Schema
	var cols []int
	for j := 0; j < sch.NumColumns(); j++ {
		cols = append(cols, j)
		if sch.Column(j).PhysicalType() == parquet.Types.ByteArray {
			props.SetReadDict(j, true)
		}
	}
	fr, err := pqarrow.NewFileReader(pf, props, memory.DefaultAllocator)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), cols, nil)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	defer rr.Release()
	var rows int64
	for rr.Next() {
		rows += rr.RecordBatch().NumRows()
	}
	if err := rr.Err(); err != nil && err != io.EOF {
		return rows, fmt.Errorf("%s: %w", path, err)
	}
	return rows, nil
}

// mergeOnly replays the tables through the backtest's merger with no detector and returns the
// events merged.
func mergeOnly(ds *datasets.Dataset, tables []string) (int64, error) {
	m := backtest.NewMerger()
	var readers []*datasets.EventReader
	defer func() {
		for _, r := range readers {
			r.Close()
		}
	}()
	for _, table := range tables {
		if !ds.Has(table) {
			continue
		}
		kind, _ := datasets.KindOfTable(table)
		r, err := ds.OpenEventsWith(table, datasets.ReadOptions{Check: true, Reject: true})
		if err != nil {
			return 0, err
		}
		readers = append(readers, r)
		if err := m.Add(table, kind, r); err != nil {
			return 0, err
		}
	}
	stop := m.Prefetch()
	defer stop()
	var n int64
	for {
		ev, err := m.Next()
		if err != nil {
			return n, err
		}
		if ev == nil {
			return n, nil
		}
		n++
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
