package stream

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fds-dev/fds/backtest"
	"github.com/fds-dev/fds/detectors"
)

// TestBadMessagesAreDeadLettered sends a malformed, an unknown-version, an oversized, a
// wrong-topic and a late message among good ones: each is counted and dead-lettered with its
// reason, the good events are processed, and nothing stops the consumer.
func TestBadMessagesAreDeadLettered(t *testing.T) {
	addrs := newCluster(t)
	conn := []kgo.Opt{kgo.SeedBrokers(addrs...)}
	topics := Topics{Prefix: "bad."}
	cl, err := NewProducer(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*testTimeScale*time.Second)
	defer cancel()
	counts, err := EnsureTopics(ctx, cl, topics.EventTopics(), []string{topics.AlertsTopic(), topics.DeadLetterTopic()}, testPartitions)
	if err != nil {
		t.Fatal(err)
	}
	tradesTopic := topics.Event("trades")
	trade := func(ts detectors.Micros, id int64) []byte {
		ev := detectors.Event{TS: ts, Symbol: "BTC", Kind: detectors.KindTrade, Trade: detectors.Trade{
			TradeID: id, Price: 100, Qty: 1, TakerSide: detectors.Buy, MakerAccount: "m", TakerAccount: "t"}}
		b, err := AppendEvent(nil, &ev, id)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	mark := detectors.Event{TS: 1, Symbol: "BTC", Kind: detectors.KindMark, Mark: detectors.Mark{MarkPrice: 1, IndexPrice: 1}}
	markBytes, _ := AppendEvent(nil, &mark, 0)
	future := trade(5*detectors.Second, 1)
	future[0] = 9
	values := [][]byte{
		trade(1*detectors.Second, 0),
		[]byte{WireVersion, byte(detectors.KindTrade), 0}, // malformed: truncated
		future,                           // unknown_version
		bytes.Repeat([]byte{1}, 100<<10), // oversized (limit 64 KiB)
		markBytes,                        // wrong_topic
		trade(10*detectors.Second, 2),    //
		trade(20*detectors.Second, 3),    //
		trade(15*detectors.Second, 4),    // late: 5 s behind its partition, delay 1 s
		trade(30*detectors.Second, 5),    //
	}
	for _, v := range values {
		cl.Produce(ctx, &kgo.Record{Topic: tradesTopic, Partition: 0, Value: v}, nil)
	}
	for _, topic := range topics.EventTopics() {
		for p := int32(0); p < counts[topic]; p++ {
			cl.Produce(ctx, &kgo.Record{Topic: topic, Partition: p, Value: AppendEndOfStream(nil, 30*detectors.Second, 0)}, nil)
		}
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	dets := backtest.Config{Detectors: map[string]map[string]float64{testEveryNDetector: {"n": 1}}}
	cfg := testConfig(addrs, topics, "bad-group", dets, detectors.Env{})
	cfg.MaxDelay = time.Second
	cfg.ExitAtEnd = true
	p, err := NewPipeline(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := p.Run(ctx)
	if err != nil {
		t.Fatalf("pipeline stopped on bad input: %v", err)
	}
	if sum.Rejected != 4 || sum.Late != 1 || sum.Events != 4 || sum.AlertsPublished != 4 {
		t.Errorf("summary %+v: want 4 rejected, 1 late, 4 events, 4 alerts", sum)
	}
	m := p.Metrics()
	for _, reason := range []string{"malformed", "unknown_version", "oversized", "wrong_topic"} {
		if m.Value(MetricRejected, tradesTopic, reason) != 1 {
			t.Errorf("rejected{reason=%s} = %v, want 1", reason, m.Value(MetricRejected, tradesTopic, reason))
		}
	}
	if m.Value(MetricLateEvents, tradesTopic) != 1 {
		t.Errorf("late = %v, want 1", m.Value(MetricLateEvents, tradesTopic))
	}
	var reasons []string
	for _, r := range readRecords(t, conn, topics.DeadLetterTopic()) {
		for _, h := range r.Headers {
			if h.Key == "fds-reason" {
				reasons = append(reasons, string(h.Value))
			}
		}
		if len(r.Value) > deadLetterValueBytes {
			t.Errorf("dead letter of %d bytes: not truncated", len(r.Value))
		}
	}
	sort.Strings(reasons)
	if want := "late malformed oversized unknown_version wrong_topic"; strings.Join(reasons, " ") != want {
		t.Errorf("dead-letter reasons %v, want %s", reasons, want)
	}
}

func readRecords(t *testing.T, conn []kgo.Opt, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*testTimeScale*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(append(append([]kgo.Opt(nil), conn...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	counts, err := PartitionCounts(ctx, cl, []string{topic})
	if err != nil {
		t.Fatal(err)
	}
	ends, err := endOffsets(ctx, cl, topic, counts[topic])
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, e := range ends {
		total += e
	}
	var out []*kgo.Record
	for int64(len(out)) < total {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records of %s", len(out), total, topic)
		}
		out = append(out, f.Records()...)
	}
	return out
}

func TestSASLSCRAM(t *testing.T) {
	addrs := newCluster(t, kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "fds", "s3cret-pw"))
	dir := t.TempDir()
	good := filepath.Join(dir, "pw")
	bad := filepath.Join(dir, "bad")
	os.WriteFile(good, []byte("s3cret-pw\n"), 0o600)
	os.WriteFile(bad, []byte("wrong"), 0o600)
	try := func(c Conn) error {
		opts, err := c.Options()
		if err != nil {
			return err
		}
		cl, err := kgo.NewClient(append(opts, kgo.RetryTimeout(2*time.Second))...)
		if err != nil {
			return err
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = EnsureTopics(ctx, cl, []string{"sasl.trades"}, nil, 1)
		return err
	}
	c := Conn{Brokers: addrs, SASLMechanism: "SCRAM-SHA-256", SASLUser: "fds", SASLPasswordFile: good}
	if err := try(c); err != nil {
		t.Fatalf("SCRAM with the password from a file: %v", err)
	}
	t.Setenv("FDS_TEST_KAFKA_PW", "s3cret-pw")
	c.SASLPasswordFile, c.SASLPasswordEnv = "", "FDS_TEST_KAFKA_PW"
	if err := try(c); err != nil {
		t.Fatalf("SCRAM with the password from the environment: %v", err)
	}
	if strings.Contains(c.String(), "s3cret") {
		t.Errorf("Conn.String shows the password: %s", c.String())
	}
	c.SASLPasswordEnv, c.SASLPasswordFile = "", bad
	if err := try(c); err == nil {
		t.Fatal("a wrong password was accepted")
	} else if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("error shows a password: %v", err)
	}
}

func TestConnOptionErrors(t *testing.T) {
	t.Setenv("FDS_TEST_EMPTY", "")
	cases := []struct {
		name string
		c    Conn
		want string
	}{
		{"no brokers", Conn{}, "no Kafka brokers"},
		{"no user", Conn{Brokers: []string{"127.0.0.1:1"}, SASLMechanism: "SCRAM-SHA-256"}, "--sasl-user"},
		{"no password", Conn{Brokers: []string{"127.0.0.1:1"}, SASLMechanism: "SCRAM-SHA-256", SASLUser: "u"}, "needs a password"},
		{"both", Conn{Brokers: []string{"127.0.0.1:1"}, SASLMechanism: "SCRAM-SHA-256", SASLUser: "u", SASLPasswordFile: "f", SASLPasswordEnv: "E"}, "not both"},
		{"empty env", Conn{Brokers: []string{"127.0.0.1:1"}, SASLMechanism: "SCRAM-SHA-512", SASLUser: "u", SASLPasswordEnv: "FDS_TEST_EMPTY"}, "is not set"},
		{"plain without tls", Conn{Brokers: []string{"127.0.0.1:1"}, SASLMechanism: "PLAIN", SASLUser: "u", SASLPasswordEnv: "PATH"}, "only with --tls"},
		{"unknown mechanism", Conn{Brokers: []string{"127.0.0.1:1"}, SASLMechanism: "GSSAPI", SASLUser: "u", SASLPasswordEnv: "PATH"}, "want SCRAM"},
		{"tls files without tls", Conn{Brokers: []string{"127.0.0.1:1"}, CAFile: "ca.pem"}, "without --tls"},
		{"missing ca", Conn{Brokers: []string{"127.0.0.1:1"}, TLS: true, CAFile: "/nonexistent/ca.pem"}, "--tls-ca"},
		{"cert without key", Conn{Brokers: []string{"127.0.0.1:1"}, TLS: true, CertFile: "c.pem"}, "go together"},
	}
	for _, c := range cases {
		_, err := c.c.Options()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// TestTLS serves the in-process cluster over TLS with a certificate from a test CA: the client
// trusting that CA (--tls-ca) connects; one trusting only the system roots does not.
func TestTLS(t *testing.T) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), cryptorand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fds test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(cryptorand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), cryptorand.Reader)
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames: []string{"localhost"}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	srvDER, err := x509.CreateCertificate(cryptorand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	addrs := newCluster(t, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}},
		MinVersion: tls.VersionTLS12}))
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	try := func(c Conn) error {
		opts, err := c.Options()
		if err != nil {
			return err
		}
		cl, err := kgo.NewClient(append(opts, kgo.RetryTimeout(2*time.Second))...)
		if err != nil {
			return err
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = EnsureTopics(ctx, cl, []string{"tls.trades"}, nil, 1)
		return err
	}
	if err := try(Conn{Brokers: addrs, TLS: true, CAFile: caFile}); err != nil {
		t.Fatalf("TLS with the test CA: %v", err)
	}
	if err := try(Conn{Brokers: addrs, TLS: true}); err == nil {
		t.Fatal("TLS connected to a broker whose certificate no trusted CA signed")
	}
}
