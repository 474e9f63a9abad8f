package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

// writeSelfTrades writes a dataset of one symbol whose account "w" trades with itself ten times
// in 50 s among ordinary trades, so wash_trade alerts at least once.
func writeSelfTrades(t *testing.T, dir string) {
	t.Helper()
	w, err := datasets.NewEventWriter(filepath.Join(dir, "trades.parquet"), datasets.TableTrades)
	if err != nil {
		t.Fatal(err)
	}
	ts := detectors.Micros(1_717_000_000) * detectors.Second
	for i := 0; i < 60; i++ {
		maker, taker := "m", "t"
		if i >= 40 && i < 50 {
			maker, taker = "w", "w"
		}
		ev := detectors.Event{TS: ts + detectors.Micros(i)*5*detectors.Second, Symbol: "BTC-PERP", Kind: detectors.KindTrade,
			Trade: detectors.Trade{TradeID: int64(i + 1), Price: 100, Qty: 2, TakerSide: detectors.Buy, MakerAccount: maker, TakerAccount: taker}}
		if err := w.Write(&ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func runCLI(ctx context.Context, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := Main(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestReplayThenStream runs `fds replay` then `fds stream --exit-at-end` against an in-process
// cluster with SCRAM authentication, the password in an environment variable: the stream must
// reach the end, publish the alert, serve /metrics, and never print the password.
func TestReplayThenStream(t *testing.T) {
	const password = "pw-9f1c2e7a"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "fds", password))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("FDS_TEST_KAFKA_PASSWORD", password)
	broker := c.ListenAddrs()[0]
	auth := []string{"--brokers", broker, "--sasl-mechanism", "SCRAM-SHA-512", "--sasl-user", "fds",
		"--sasl-password-env", "FDS_TEST_KAFKA_PASSWORD", "--topic-prefix", "cli."}
	dir := t.TempDir()
	writeSelfTrades(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	code, out, errOut := runCLI(ctx, append([]string{"replay", "--data", dir, "--partitions", "2"}, auth...)...)
	if code != 0 {
		t.Fatalf("replay: exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "published 60 events") {
		t.Errorf("replay output: %q", errOut)
	}
	code, out2, errOut2 := runCLI(ctx, append([]string{"stream", "--group", "cli-test", "--detectors", "wash_trade",
		"--exit-at-end", "--listen", "127.0.0.1:0", "--create-topics", "2", "--idle-timeout", "0"}, auth...)...)
	if code != 0 {
		t.Fatalf("stream: exit %d: %s", code, errOut2)
	}
	for _, want := range []string{"end_of_stream=true", "events=60", "alerts_published=1", "serving /metrics"} {
		if !strings.Contains(errOut2, want) {
			t.Errorf("stream log lacks %q:\n%s", want, errOut2)
		}
	}
	for _, s := range []string{out, errOut, out2, errOut2} {
		if strings.Contains(s, password) {
			t.Fatal("the SASL password appears in the output")
		}
	}
}

func TestStreamServesMetricsUntilSignalled(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	addr := freeAddr(t)
	go func() {
		code, _, errOut := runCLI(ctx, "stream", "--brokers", c.ListenAddrs()[0], "--group", "g", "--detectors",
			"wash_trade", "--listen", addr, "--create-topics", "1", "--topic-prefix", "sig.")
		done <- result{code, errOut}
	}()
	// Topics must exist before stream starts consuming: create them as replay would.
	code, _, errOut := runCLI(context.Background(), "replay", "--brokers", c.ListenAddrs()[0], "--data", emptyTradesDataset(t),
		"--partitions", "1", "--topic-prefix", "sig.")
	if code != 0 {
		t.Fatalf("replay: %s", errOut)
	}
	var body string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				body = string(b)
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if body != "ok\n" {
		t.Fatal("/healthz never answered ok")
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "fds_stream_sessions_total") {
		t.Errorf("/metrics: %s", b)
	}
	cancel() // as SIGTERM does through main's signal context
	select {
	case r := <-done:
		if r.code != 0 || !strings.Contains(r.stderr, "offsets committed") {
			t.Errorf("graceful stop: exit %d, log:\n%s", r.code, r.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("stream did not stop within 30 s of the signal")
	}
}

func emptyTradesDataset(t *testing.T) string {
	dir := t.TempDir()
	w, err := datasets.NewEventWriter(filepath.Join(dir, "trades.parquet"), datasets.TableTrades)
	if err != nil {
		t.Fatal(err)
	}
	ev := detectors.Event{TS: 1, Symbol: "X", Kind: detectors.KindTrade, Trade: detectors.Trade{TradeID: 1, Price: 1, Qty: 1, TakerSide: detectors.Sell}}
	w.Write(&ev)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// freeAddr returns a loopback address that was free a moment ago: the test must know the
// metrics address before the command starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestStreamUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"stream", "--brokers", "127.0.0.1:1"}, "--group"},
		{[]string{"stream", "--brokers", "127.0.0.1:1", "--group", "g", "--late", "keep"}, "--late"},
		{[]string{"stream", "--brokers", "127.0.0.1:1", "--group", "g", "--sasl-mechanism", "SCRAM-SHA-256", "--sasl-user", "u",
			"--sasl-password-file", "f", "--sasl-password-env", "E"}, "not both"},
		{[]string{"replay", "--brokers", "127.0.0.1:1"}, "--data"},
		{[]string{"replay", "--brokers", "127.0.0.1:1", "--data", "x", "--speed", "-1"}, "--speed"},
	} {
		code, _, errOut := runCLI(context.Background(), c.args...)
		if code != ExitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d %q, want usage error mentioning %s", c.args, code, errOut, c.want)
		}
	}
}
