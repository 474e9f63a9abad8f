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

# Generate the default dataset (once), back-test it with every detector at its defaults and
# write its report (PDF, HTML, Markdown summary, PNG figures); fds prints where they are.
demo: build
	@if [ ! -f $(DEMO_DATA)/labels.parquet ]; then \
		$(BIN) datasets generate --out $(DEMO_DATA) --seed $(SEED); \
	fi
	$(BIN) backtest --data $(DEMO_DATA) --out $(DEMO_RUN) --report pdf,html,md,png

# Go benchmarks (speed and memory targets live here, never in unit tests) and the end-to-end
# benchmark script over generated datasets.
bench: build
	$(GO) test $(TAGS) -run='^$$' -bench=. -benchmem -count=1 ./...
	./scripts/bench.sh
	./scripts/bench-tune.sh

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

# The CI gate (docs/ci.md). regress back-tests the default generated market (seed 1, regenerated
# when the generator's sources are newer than it) with every detector at its defaults, compares the
# run with the committed baseline (fds regress: exit 3 on a metric worse than its tolerance) and
# runs every detector test file (fds test: exit 3 on a failing case). Both steps run; the recipe
# fails with the first failing step's exit status (make reports it as "Error 3"). Reports land in
# $(REGRESS_RUN): regress.md (for a pull-request comment), regress.xml and test.xml (JUnit).
# baseline replaces the committed baseline with a fresh run: only on purpose (CONTRIBUTING.md).
REGRESS_DATA ?= data/regress
REGRESS_RUN  ?= runs/regress
BASELINE     ?= testdata/baseline
TOLERANCES   ?= testdata/tolerances.yaml
SYNTH_SRC    := $(filter-out %_test.go,$(wildcard datasets/synth/*.go))

.PHONY: regress baseline regress-run

$(REGRESS_DATA)/labels.parquet: $(SYNTH_SRC) | build
	$(BIN) datasets generate --out $(REGRESS_DATA) --preset default --seed 1

regress-run: build $(REGRESS_DATA)/labels.parquet
	$(BIN) backtest --data $(REGRESS_DATA) --out $(REGRESS_RUN) --quiet

regress: regress-run
	@status=0; \
	$(BIN) regress --baseline $(BASELINE) --candidate $(REGRESS_RUN) --tolerances $(TOLERANCES) \
		--markdown $(REGRESS_RUN)/regress.md --junit $(REGRESS_RUN)/regress.xml || status=$$?; \
	$(BIN) test detectors/ --junit $(REGRESS_RUN)/test.xml || { s=$$?; [ $$status -ne 0 ] || status=$$s; }; \
	exit $$status

baseline: regress-run
	$(BIN) baseline --run $(REGRESS_RUN) --out $(BASELINE)
	@git diff --stat -- $(BASELINE) 2>/dev/null || true
