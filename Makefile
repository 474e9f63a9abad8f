# fds build, test and demo targets. The DuckDB driver's Arrow interface needs the duckdb_arrow
# build tag: it is set here once, and every target uses it.
GO        ?= go
TAGS      := -tags=duckdb_arrow
BIN       := bin/fds
DEMO_DATA ?= data/demo
DEMO_RUN  ?= runs/demo
SEED      ?= 1
FUZZTIME  ?= 60s

.PHONY: all build test demo bench fuzz lint clean realdata

all: build

build:
	$(GO) build $(TAGS) -o $(BIN) ./cmd/fds

# The whole suite, as CI runs it (.ci/run calls exactly this).
test:
	$(GO) vet $(TAGS) ./...
	$(GO) test $(TAGS) -count=1 ./...

# Generate the default dataset (once) and back-test it with every detector at its defaults.
demo: build
	@if [ ! -f $(DEMO_DATA)/labels.parquet ]; then \
		$(BIN) datasets generate --out $(DEMO_DATA) --seed $(SEED); \
	fi
	$(BIN) backtest --data $(DEMO_DATA) --out $(DEMO_RUN)

# Go benchmarks (speed and memory targets live here, never in unit tests) and the end-to-end
# benchmark script over generated datasets.
bench: build
	$(GO) test $(TAGS) -run='^$$' -bench=. -benchmem -count=1 ./...
	./scripts/bench.sh

# Run every fuzz target for FUZZTIME each (CI runs only their seed corpora, through make test).
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

# The real-data benchmarks of docs/benchmarks.md: pump_and_dump on the Binance pump windows and the
# order-event detectors on LOBSTER order flow, from ../shared/data; prints the figures as Markdown.
realdata:
	$(GO) run $(TAGS) ./cmd/fds-realdata --data ../shared/data --out runs/realdata

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(TAGS) ./...

clean:
	rm -rf bin data/demo runs/demo
