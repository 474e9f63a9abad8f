#!/usr/bin/env bash
# End-to-end benchmark of fds on generated datasets (docs/performance.md); `make bench` runs it
# after the Go benchmarks. It builds bin/fds and bin/fds-bench, generates the datasets once into
# a cache folder kept across runs, and prints a Markdown report (also written to
# $BENCH_OUT/report.md): for each size the bare Parquet decode of the same files and the backtest
# of every detector side by side (medians of $BENCH_RUNS runs, wall and CPU time), their ratio,
# events/s, ns/event (constant when time grows linearly with the data), peak RSS, generation time,
# and a CPU-profile breakdown by stage and detector.
#
#   BENCH_SIZES  comma-separated sizes in events (default 1000000,10000000)
#   BENCH_50M=1  also the 50 M-event dataset (a few minutes more; about 2.5 GB of Parquet)
#   BENCH_RUNS   runs per figure (default 3)
#   BENCH_CACHE  dataset cache (default /tmp/fds-bench)
#   BENCH_OUT    report folder (default scripts/bench-out)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
sizes=${BENCH_SIZES:-1000000,10000000}
if [[ "${BENCH_50M:-0}" == 1 ]]; then
	sizes="$sizes,50000000"
fi
out=${BENCH_OUT:-scripts/bench-out}
mkdir -p bin "$out"
$GO build -tags=duckdb_arrow -o bin/fds ./cmd/fds
$GO build -tags=duckdb_arrow -o bin/fds-bench ./cmd/fds-bench
bin/fds-bench suite --fds bin/fds --go "$GO" --sizes "$sizes" --runs "${BENCH_RUNS:-3}" \
	--cache "${BENCH_CACHE:-/tmp/fds-bench}" --out "$out/report.md"
