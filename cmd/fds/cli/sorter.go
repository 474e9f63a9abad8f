package cli

import (
	"context"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/datasets/duck"
)

// openSorter opens an in-memory DuckDB used only when a table must be sorted by ts.
func openSorter(ctx context.Context) (backtest.Sorter, func(), error) {
	db, err := duck.Open(ctx)
	if err != nil {
		return nil, func() {}, err
	}
	return db, func() { db.Close() }, nil
}
