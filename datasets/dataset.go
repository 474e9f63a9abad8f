package datasets

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/fds-dev/fds/detectors"
)

// Dataset is an opened dataset folder: which tables it holds and the Parquet files of each.
type Dataset struct {
	Dir    string
	tables map[string][]tableFile
}

// tableFile is one Parquet file of a table with the hive partition values of the folders between
// the table folder and the file (outermost first).
type tableFile struct {
	path       string
	partitions []Partition
}

// Partition is one `key=value` folder level of a partitioned table. Null is set for Hive's
// default partition (`key=__HIVE_DEFAULT_PARTITION__`), which stands for a null value. A key that
// is not a column of a file below the folder is read as a constant column of that file.
type Partition struct {
	Key, Value string
	Null       bool
}

const hiveNullPartition = "__HIVE_DEFAULT_PARTITION__"

// Open lists the tables of a dataset folder. A table is `<table>.parquet` or a folder `<table>/`
// (also accepted: a folder named `<table>.parquet/`, as Spark writes) holding Parquet files at any
// depth, possibly under hive partition folders `key=value/`. Files are taken in path order:
// folder entries sorted by name, a folder's files before and after its siblings as the names sort
// (the order of a depth-first walk). Hidden files and folders (leading "." or "_") are skipped,
// which also skips the writers' temporary files.
func Open(dir string) (*Dataset, error) {
	info, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("dataset folder %s: does not exist", dir)
		}
		return nil, fmt.Errorf("dataset folder %s: %w", dir, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("dataset folder %s: not a folder", dir)
	}
	d := &Dataset{Dir: dir, tables: make(map[string][]tableFile)}
	for _, table := range AllTables {
		var found []string
		var files []tableFile
		for _, name := range []string{table + ".parquet", table} {
			p := filepath.Join(dir, name)
			st, err := os.Stat(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("dataset folder %s: table %s: %w", dir, table, err)
			}
			if st.IsDir() {
				found = append(found, name+"/")
				listed, err := listTableFolder(p)
				if err != nil {
					return nil, err
				}
				files = listed
			} else if name == table+".parquet" {
				found = append(found, name)
				files = []tableFile{{path: p}}
			} else {
				// A plain file named like the table (no extension) is not a table.
				continue
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			d.tables[table] = files
		default:
			return nil, fmt.Errorf("dataset folder %s: table %s is both %s and %s; keep one", dir, table, found[0], found[1])
		}
	}
	if len(d.tables) == 0 {
		return nil, fmt.Errorf("dataset folder %s: no tables (want one of %s, each as <table>.parquet or a folder <table>/)", dir, strings.Join(AllTables, ", "))
	}
	return d, nil
}

// listTableFolder walks a table folder in lexical order and returns its Parquet files with the
// hive partition values read from the folder names.
func listTableFolder(root string) ([]tableFile, error) {
	var files []tableFile
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		name := e.Name()
		if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() || !strings.HasSuffix(strings.ToLower(name), ".parquet") {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		files = append(files, tableFile{path: p, partitions: ParsePartitionPath(rel)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("table folder %s: %w", root, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("table folder %s: no Parquet files", root)
	}
	return files, nil
}

// ParsePartitionPath reads the `key=value` folder names of a folder path relative to a table
// folder (other folder names are skipped). Values are percent-decoded as Hive escapes them; a
// value that does not decode is taken as written. An inner folder overrides an outer one with the
// same key.
func ParsePartitionPath(rel string) []Partition {
	if rel == "." || rel == "" {
		return nil
	}
	var out []Partition
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		key, value, ok := strings.Cut(part, "=")
		if !ok || key == "" {
			continue
		}
		if v, err := url.PathUnescape(value); err == nil {
			value = v
		}
		pv := Partition{Key: key, Value: value}
		if value == hiveNullPartition {
			pv = Partition{Key: key, Null: true}
		}
		replaced := false
		for i := range out {
			if out[i].Key == key {
				out[i], replaced = pv, true
			}
		}
		if !replaced {
			out = append(out, pv)
		}
	}
	return out
}

// Tables returns the tables present, in AllTables order.
func (d *Dataset) Tables() []string {
	var out []string
	for _, t := range AllTables {
		if _, ok := d.tables[t]; ok {
			out = append(out, t)
		}
	}
	return out
}

// Has reports whether the table is present.
func (d *Dataset) Has(table string) bool {
	_, ok := d.tables[table]
	return ok
}

// Files returns the Parquet files of a table in read order (see Open).
func (d *Dataset) Files(table string) []string {
	files := d.tables[table]
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.path
	}
	return out
}

// OpenEvents streams an event table in file order.
func (d *Dataset) OpenEvents(table string) (*EventReader, error) {
	if _, ok := KindOfTable(table); !ok {
		return nil, fmt.Errorf("%s is not an event table (want one of %s)", table, strings.Join(EventTables, ", "))
	}
	files, ok := d.tables[table]
	if !ok {
		return nil, fmt.Errorf("dataset folder %s: has no %s table", d.Dir, table)
	}
	return newEventReader(table, files)
}

// Accounts reads the accounts table (empty map when absent). A repeated account_id is an error.
func (d *Dataset) Accounts() (map[string]detectors.Account, error) {
	out := make(map[string]detectors.Account)
	files, ok := d.tables[TableAccounts]
	if !ok {
		return out, nil
	}
	for _, f := range files {
		if err := readAccountsFile(f, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Labels reads the labels table (nil when absent), in file order. A repeated incident_id, an
// unknown type or an end before the start is an error naming the row.
func (d *Dataset) Labels() ([]Incident, error) {
	files, ok := d.tables[TableLabels]
	if !ok {
		return nil, nil
	}
	var out []Incident
	seen := make(map[string]string)
	for _, f := range files {
		var err error
		if out, err = readLabelsFile(f, out, seen); err != nil {
			return nil, err
		}
	}
	return out, nil
}
