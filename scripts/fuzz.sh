#!/usr/bin/env bash
# Runs every Go fuzz target in the module for the given time each (default 60s).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-60s}
fail=0
for pkg in $(go list -tags=duckdb_arrow ./...); do
  dir=$(go list -tags=duckdb_arrow -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "== $pkg $target ($fuzztime)"
    # A short minimisation: Go's default (60s) spends a whole run on the first new input of the
    # Parquet targets, whose inputs are kilobytes.
    go test -tags=duckdb_arrow -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" -fuzzminimizetime=10s "$pkg" || fail=1
  done
done
exit $fail
