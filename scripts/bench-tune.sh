#!/usr/bin/env bash
# End-to-end cost of a 100-configuration sweep (issue 4, docs/performance.md "Tuning"): for every
# grid of backtest/testdata/sweep-grids (the ones BenchmarkSweep100 uses), `fds tune` against
# `fds backtest` of the same detector at its defaults, on the generator's small preset (seed 1),
# run folders written. Prints a Markdown table of medians (CPU = user + system, and wall) and the
# CPU ratio; `make bench` runs it after the Go benchmarks.
#
#   BENCH_RUNS   runs per figure (default 3)
#   BENCH_CACHE  dataset cache (default /tmp/fds-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
runs=${BENCH_RUNS:-3}
cache=${BENCH_CACHE:-/tmp/fds-bench}
data="$cache/small-seed1"
mkdir -p bin "$cache"
$GO build -tags=duckdb_arrow -o bin/fds ./cmd/fds
if [[ ! -f "$data/manifest.json" && ! -f "$data/orders.parquet" ]]; then
	rm -rf "$data"
	bin/fds datasets generate --preset small --seed 1 --out "$data" >/dev/null
fi
scratch=$(mktemp -d "${TMPDIR:-/tmp}/fds-bench-tune-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# cpu_wall CMD...: prints "cpu wall" in seconds of one run (its output discarded).
cpu_wall() {
	local TIMEFORMAT='%U %S %R' t
	t=$( { time "$@" >/dev/null 2>&1; } 2>&1 )
	awk '{printf "%.3f %.3f\n", $1 + $2, $3}' <<<"$t"
}

# median of the numbers on stdin.
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "| detector | \`fds backtest\`, CPU / wall (s) | \`fds tune\`, 100 configurations, CPU / wall (s) | tune / backtest (CPU) |"
echo "|---|--:|--:|--:|"
for grid in backtest/testdata/sweep-grids/*.yaml; do
	det=$(basename "$grid" .yaml)
	: >"$scratch/b" && : >"$scratch/t"
	for ((i = 1; i <= runs; i++)); do
		rm -rf "$scratch/run"
		cpu_wall bin/fds backtest --data "$data" --detectors "$det" --out "$scratch/run" --quiet >>"$scratch/b"
		rm -rf "$scratch/run"
		cpu_wall bin/fds tune --data "$data" --grid "$grid" --objective fbeta:1 --split 0.5 --out "$scratch/run" >>"$scratch/t"
	done
	bc=$(cut -d' ' -f1 "$scratch/b" | median) bw=$(cut -d' ' -f2 "$scratch/b" | median)
	tc=$(cut -d' ' -f1 "$scratch/t" | median) tw=$(cut -d' ' -f2 "$scratch/t" | median)
	awk -v d="$det" -v bc="$bc" -v bw="$bw" -v tc="$tc" -v tw="$tw" \
		'BEGIN {printf "| %s | %.2f / %.2f | %.2f / %.2f | **%.1f×** |\n", d, bc, bw, tc, tw, tc / bc}'
done
