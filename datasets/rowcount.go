package datasets

import (
	"fmt"

	"github.com/apache/arrow-go/v18/parquet/file"
)

// RowCount returns the rows of a table from its Parquet footers, without reading data: the
// total a progress bar counts towards.
func (d *Dataset) RowCount(table string) (n int64, err error) {
	for _, path := range d.Files(table) {
		c, err := fileRowCount(path)
		if err != nil {
			return 0, err
		}
		n += c
	}
	return n, nil
}

func fileRowCount(path string) (n int64, err error) {
	defer func() {
		// A corrupt footer can make the Parquet library panic; report it as bad input.
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: not a readable Parquet file: %v", path, r)
		}
	}()
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		return 0, fmt.Errorf("%s: not a readable Parquet file: %v", path, err)
	}
	defer r.Close()
	return r.NumRows(), nil
}
