package cli

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/datasets"
)

// outcome is what a command must do with a bad dataset: its exit code and either a phrase of its
// one-line error (exit != 0) or the manifest reason it counts rejected rows under (backtest,
// exit 0).
type outcome struct {
	code int
	want string
}

// badData is one class of bad input (docs/robustness.md) and what backtest, backtest --strict
// and datasets validate do with it.
type badData struct {
	name     string
	setup    func(t *testing.T, dir string)
	table    string // the table whose rejections backtest counts
	backtest outcome
	strict   outcome
	validate outcome // exit code and a phrase of the report on stdout
}

func tradesWith(n int, edit func(r *tradeRows)) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		r := goodTrades(n)
		if edit != nil {
			edit(r)
		}
		r.write(t, filepath.Join(dir, "trades.parquet"))
	}
}

func badDataCases() []badData {
	trades := datasets.TableTrades
	return []badData{
		{name: "missing dataset folder", setup: func(t *testing.T, dir string) { os.Remove(dir) },
			backtest: outcome{ExitError, "does not exist"}, strict: outcome{ExitError, "does not exist"}, validate: outcome{ExitError, ""}},
		{name: "folder without tables", setup: func(t *testing.T, dir string) {},
			backtest: outcome{ExitError, "no tables"}, strict: outcome{ExitError, "no tables"}, validate: outcome{ExitError, ""}},
		{name: "not a parquet file", setup: func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "trades.parquet"), []byte("ts,symbol,price\n1,BTCUSDT,100\n"), 0o644)
		}, backtest: outcome{ExitError, "trades.parquet: not a readable Parquet file"}, strict: outcome{ExitError, "not a readable Parquet file"},
			validate: outcome{ExitError, "file: unreadable"}},
		{name: "truncated parquet", setup: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "trades.parquet")
			goodTrades(200).write(t, p)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}, backtest: outcome{ExitError, "trades.parquet: "}, strict: outcome{ExitError, "trades.parquet: "}, validate: outcome{ExitError, "file: unreadable"}},
		{name: "corrupt pages", setup: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "trades.parquet")
			goodTrades(2000).write(t, p)
			b, _ := os.ReadFile(p)
			for i := 8; i < len(b)/2; i++ {
				b[i] ^= 0x5a
			}
			os.WriteFile(p, b, 0o644)
		}, backtest: outcome{ExitError, "trades.parquet: "}, strict: outcome{ExitError, "trades.parquet: "}, validate: outcome{ExitError, "file: unreadable"}},
		{name: "missing column", setup: tradesWith(10, func(r *tradeRows) { r.drop = []string{"qty"} }),
			backtest: outcome{ExitError, "trades.parquet: column qty: missing"}, strict: outcome{ExitError, "column qty: missing"},
			validate: outcome{ExitError, "column: missing"}},
		{name: "wrong column type", setup: tradesWith(3, func(r *tradeRows) {
			r.replace["price"] = stringColumn("price", "100", "101", "102")
		}), backtest: outcome{ExitError, "trades.parquet: column price: type utf8, want float"}, strict: outcome{ExitError, "want float"},
			validate: outcome{ExitError, "column: wrong_type"}},
		{name: "ts as plain integers", setup: tradesWith(3, func(r *tradeRows) {
			r.replace["ts"] = int64Column("ts", r.ts)
		}), backtest: outcome{ExitError, "column ts: type int64, want timestamp"}, strict: outcome{ExitError, "want timestamp"},
			validate: outcome{ExitError, "column: wrong_type"}},
		{name: "ts in milliseconds", setup: tradesWith(10, func(r *tradeRows) {
			for i := range r.ts {
				r.ts[i] /= 1000
			}
		}), backtest: outcome{ExitError, "row 1: column ts: 1714521600000 is 1970-01-20T20:15:21.6Z as microseconds but 2024-05-01T00:00:00Z as milliseconds"},
			strict: outcome{ExitError, "the column holds milliseconds"}, validate: outcome{ExitError, "ts: wrong_unit"}},
		{name: "ts in nanoseconds", setup: tradesWith(10, func(r *tradeRows) {
			for i := range r.ts {
				r.ts[i] *= 1000
			}
		}), backtest: outcome{ExitError, "the column holds nanoseconds, not microseconds"}, strict: outcome{ExitError, "nanoseconds"},
			validate: outcome{ExitError, "ts: wrong_unit"}},
		{name: "unknown enum value", setup: tradesWith(10, func(r *tradeRows) { r.side[3] = "BUY" }), table: trades,
			backtest: outcome{ExitOK, "taker_side: unknown_value"}, strict: outcome{ExitError, `row 4: column taker_side: unknown side "BUY" (want buy or sell)`},
			validate: outcome{ExitError, "taker_side: unknown_value"}},
		{name: "null in a required column", setup: tradesWith(10, func(r *tradeRows) { r.nulls["price"] = []int{2} }), table: trades,
			backtest: outcome{ExitOK, "price: null"}, strict: outcome{ExitError, "row 3: column price: null in a required column"},
			validate: outcome{ExitError, "price: null"}},
		{name: "null ts", setup: tradesWith(10, func(r *tradeRows) { r.nulls["ts"] = []int{9} }), table: trades,
			backtest: outcome{ExitOK, "ts: null"}, strict: outcome{ExitError, "row 10: column ts: null in a required column"},
			validate: outcome{ExitError, "ts: null"}},
		{name: "NaN price", setup: tradesWith(10, func(r *tradeRows) { r.price[1] = math.NaN() }), table: trades,
			backtest: outcome{ExitOK, "price: not_finite"}, strict: outcome{ExitError, "row 2: column price: NaN is not a finite number"},
			validate: outcome{ExitError, "price: not_finite"}},
		{name: "infinite qty", setup: tradesWith(10, func(r *tradeRows) { r.qty[4] = math.Inf(1) }), table: trades,
			backtest: outcome{ExitOK, "qty: not_finite"}, strict: outcome{ExitError, "row 5: column qty: +Inf is not a finite number"},
			validate: outcome{ExitError, "qty: not_finite"}},
		{name: "negative price", setup: tradesWith(10, func(r *tradeRows) { r.price[6] = -3 }), table: trades,
			backtest: outcome{ExitOK, "price: negative"}, strict: outcome{ExitError, "row 7: column price: -3 is negative"},
			validate: outcome{ExitError, "price: negative"}},
		{name: "zero qty", setup: tradesWith(10, func(r *tradeRows) { r.qty[0] = 0 }), table: trades,
			backtest: outcome{ExitOK, "qty: zero"}, strict: outcome{ExitError, "row 1: column qty: 0, want a positive value"},
			validate: outcome{ExitError, "qty: zero"}},
		{name: "far-future ts", setup: tradesWith(10, func(r *tradeRows) { r.ts[9] = 5_000_000_000_000_000 }), table: trades,
			backtest: outcome{ExitOK, "ts: far_future"}, strict: outcome{ExitError, "row 10: column ts: 5000000000000000 (2128-06-11T08:53:20Z) is after 2100-01-01T00:00:00Z"},
			validate: outcome{ExitError, "ts: far_future"}},
		{name: "ts out of order", setup: tradesWith(10, func(r *tradeRows) { r.ts[3], r.ts[4] = r.ts[4], r.ts[3] }), table: trades,
			backtest: outcome{ExitOK, ""}, strict: outcome{ExitOK, ""}, validate: outcome{ExitOK, "WARNING  trades  ts: unsorted (1 row)"}},
		{name: "duplicate trade id at one ts", setup: tradesWith(10, func(r *tradeRows) {
			r.ts = append(r.ts, r.ts[9])
			r.symbol, r.id, r.price, r.qty = append(r.symbol, "BTCUSDT"), append(r.id, 10), append(r.price, 1), append(r.qty, 1)
			r.side, r.maker, r.taker = append(r.side, "buy"), append(r.maker, "m"), append(r.taker, "t")
		}), table: trades, backtest: outcome{ExitOK, "trade_id: duplicate_id"},
			strict:   outcome{ExitError, "row 11: column trade_id: trade 10 of BTCUSDT repeated at ts 1714521609000000"},
			validate: outcome{ExitError, "trade 10 of BTCUSDT already at"}},
		{name: "duplicate trade id at another ts", setup: tradesWith(10, func(r *tradeRows) { r.id[8] = 2 }), table: trades,
			backtest: outcome{ExitOK, ""}, strict: outcome{ExitOK, ""},
			validate: outcome{ExitError, "row 9: column trade_id: trade 2 of BTCUSDT already at"}},
		{name: "empty table", setup: tradesWith(0, nil),
			backtest: outcome{ExitError, "no events to replay: table trades empty"}, strict: outcome{ExitError, "no events to replay"},
			validate: outcome{ExitError, "dataset: no_events"}},
		{name: "every row rejected", setup: tradesWith(3, func(r *tradeRows) { r.price = []float64{0, 0, 0} }),
			backtest: outcome{ExitError, "every row was rejected"}, strict: outcome{ExitError, "row 1: column price: 0"},
			validate: outcome{ExitError, "price: zero"}},
		{name: "label naming an unknown symbol", setup: func(t *testing.T, dir string) {
			tradesWith(10, nil)(t, dir)
			writeLabelRows(t, filepath.Join(dir, "labels.parquet"), label{"i1", "wash_trade", "BTCUSDT", t0us, t0us + 1},
				label{"i2", "wash_trade", "ETHUSDT", t0us, t0us + 1})
		}, table: datasets.TableLabels, backtest: outcome{ExitOK, "symbol: unknown_symbol"},
			strict:   outcome{ExitError, `labels.parquet: row 2: column symbol: incident i2 names symbol "ETHUSDT", which no replayed event has`},
			validate: outcome{ExitError, "symbol: unknown_symbol"}},
		{name: "label ending before it starts", setup: func(t *testing.T, dir string) {
			tradesWith(10, nil)(t, dir)
			writeLabelRows(t, filepath.Join(dir, "labels.parquet"), label{"i1", "wash_trade", "BTCUSDT", t0us + 5, t0us})
		}, backtest: outcome{ExitError, "labels.parquet: row 1: column end_ts: end 1714521600000000 is before start 1714521600000005"},
			strict: outcome{ExitError, "is before start"}, validate: outcome{ExitError, "end_ts: before_start"}},
		{name: "label with an unknown type", setup: func(t *testing.T, dir string) {
			tradesWith(10, nil)(t, dir)
			writeLabelRows(t, filepath.Join(dir, "labels.parquet"), label{"i1", "fraud", "BTCUSDT", t0us, t0us})
		}, backtest: outcome{ExitError, `labels.parquet: row 1: column type: unknown incident type "fraud"`},
			strict: outcome{ExitError, "unknown incident type"}, validate: outcome{ExitError, "type: unknown_value"}},
		{name: "duplicate incident id", setup: func(t *testing.T, dir string) {
			tradesWith(10, nil)(t, dir)
			writeLabelRows(t, filepath.Join(dir, "labels.parquet"), label{"i1", "wash_trade", "BTCUSDT", t0us, t0us},
				label{"i1", "wash_trade", "BTCUSDT", t0us, t0us})
		}, backtest: outcome{ExitError, `labels.parquet: row 2: column incident_id: "i1" already at`},
			strict: outcome{ExitError, "already at"}, validate: outcome{ExitError, "incident_id: duplicate_id"}},
		{name: "duplicate account id", setup: func(t *testing.T, dir string) {
			tradesWith(10, nil)(t, dir)
			writeColumns(t, filepath.Join(dir, "accounts.parquet"), stringColumn("account_id", "a", "a"),
				tsColumn("created_at", arrow.Microsecond, []int64{t0us, t0us}), stringColumn("owner_group", "g", "g"))
		}, backtest: outcome{ExitError, `accounts.parquet: row 2: column account_id: "a" appears twice`},
			strict: outcome{ExitError, "appears twice"}, validate: outcome{ExitError, "account_id: duplicate_id"}},
	}
}

// TestBadDataEveryClass runs backtest, backtest --strict and datasets validate on one dataset per
// class of bad input: each must give its documented result, errors on one line naming file,
// row and column, never a panic, and backtest's manifest must account for every row.
func TestBadDataEveryClass(t *testing.T) {
	for _, tc := range badDataCases() {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "data")
			os.MkdirAll(dir, 0o755)
			tc.setup(t, dir)
			run := filepath.Join(root, "run")
			base := []string{"backtest", "--data", dir, "--out", run, "--detectors", "wash_trade"}

			code, _, stderr := fds(t, base...)
			checkOutcome(t, "backtest", tc.backtest, code, stderr)
			if code == ExitOK {
				checkManifest(t, run, tc.table, tc.backtest.want)
			} else if _, err := os.Stat(run); err == nil {
				t.Errorf("backtest failed but left a run folder")
			}
			code, _, stderr = fds(t, append(base, "--strict")...)
			checkOutcome(t, "backtest --strict", tc.strict, code, stderr)

			code, stdout, stderr := fds(t, "datasets", "validate", dir)
			if code != tc.validate.code || !strings.Contains(stdout, tc.validate.want) {
				t.Errorf("validate: exit %d, want %d and %q in:\n%s%s", code, tc.validate.code, tc.validate.want, stdout, stderr)
			}
			if code != ExitOK {
				wantOneLineError(t, stderr, "")
			}
		})
	}
}

func checkOutcome(t *testing.T, what string, want outcome, code int, stderr string) {
	t.Helper()
	if code != want.code {
		t.Errorf("%s: exit %d, want %d; stderr:\n%s", what, code, want.code, stderr)
		return
	}
	if code != ExitOK {
		wantOneLineError(t, stderr, want.want)
	}
}

// checkManifest checks read = replayed + rejected for every table and, when reason is set, that
// table's rejections count it with an example naming file, row and column.
func checkManifest(t *testing.T, run, table, reason string) {
	t.Helper()
	var m backtest.Manifest
	b, err := os.ReadFile(filepath.Join(run, backtest.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for name, rows := range m.Tables {
		var byReason int64
		for _, n := range rows.Reasons {
			byReason += n
		}
		if rows.Read != rows.Replayed+rows.Rejected || byReason != rows.Rejected {
			t.Errorf("table %s: %+v does not add up", name, rows)
		}
	}
	if reason == "" {
		return
	}
	rows := m.Tables[table]
	if rows.Reasons[reason] != 1 || len(rows.Examples) == 0 || rows.Examples[0].Key() != reason ||
		rows.Examples[0].Row == 0 || !strings.HasSuffix(rows.Examples[0].File, ".parquet") {
		t.Errorf("table %s: manifest rows %+v, want one %q with an example", table, rows, reason)
	}
}
