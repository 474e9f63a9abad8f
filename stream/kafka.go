package stream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/fds-dev/fds/datasets"
)

// Conn says how to reach the Kafka cluster. Secrets are named (a file or an environment
// variable), never held in flags, and are read only when the client is built; String and the
// metrics never show them.
type Conn struct {
	Brokers  []string
	ClientID string

	// TLS enables TLS; CAFile (PEM) replaces the system roots; CertFile and KeyFile (PEM) give a
	// client certificate for mutual TLS; ServerName overrides the name verified.
	TLS        bool
	CAFile     string
	CertFile   string
	KeyFile    string
	ServerName string

	// SASLMechanism is "", "SCRAM-SHA-256", "SCRAM-SHA-512" or "PLAIN" (PLAIN only over TLS).
	SASLMechanism string
	SASLUser      string
	// SASLPasswordFile names a file holding the password (trailing newline trimmed);
	// SASLPasswordEnv names an environment variable holding it. Exactly one is needed with SASL.
	SASLPasswordFile string
	SASLPasswordEnv  string
}

// String describes the connection without secrets.
func (c Conn) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "brokers=%s", strings.Join(c.Brokers, ","))
	if c.TLS {
		b.WriteString(" tls=on")
	}
	if c.SASLMechanism != "" {
		fmt.Fprintf(&b, " sasl=%s user=%s", c.SASLMechanism, c.SASLUser)
	}
	return b.String()
}

// Options returns the franz-go options for the connection: brokers, TLS and SASL.
func (c Conn) Options() ([]kgo.Opt, error) {
	if len(c.Brokers) == 0 {
		return nil, errors.New("no Kafka brokers given (want --brokers host:port[,host:port...])")
	}
	for _, b := range c.Brokers {
		if strings.TrimSpace(b) == "" {
			return nil, fmt.Errorf("--brokers: empty broker address in %q", strings.Join(c.Brokers, ","))
		}
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...)}
	if c.ClientID != "" {
		opts = append(opts, kgo.ClientID(c.ClientID))
	}
	if c.TLS {
		cfg, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	} else if c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" {
		return nil, errors.New("TLS files given without --tls")
	}
	if c.SASLMechanism != "" {
		mech, err := c.saslMechanism()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(mech))
	}
	return opts, nil
}

func (c Conn) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate found", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// password reads the SASL password from its file or environment variable.
func (c Conn) password() (string, error) {
	switch {
	case c.SASLPasswordFile != "" && c.SASLPasswordEnv != "":
		return "", errors.New("give the SASL password by --sasl-password-file or --sasl-password-env, not both")
	case c.SASLPasswordFile != "":
		b, err := os.ReadFile(c.SASLPasswordFile)
		if err != nil {
			return "", fmt.Errorf("--sasl-password-file: %w", err)
		}
		p := strings.TrimRight(string(b), "\r\n")
		if p == "" {
			return "", fmt.Errorf("--sasl-password-file %s: empty", c.SASLPasswordFile)
		}
		return p, nil
	case c.SASLPasswordEnv != "":
		p, ok := os.LookupEnv(c.SASLPasswordEnv)
		if !ok || p == "" {
			return "", fmt.Errorf("--sasl-password-env: environment variable %s is not set", c.SASLPasswordEnv)
		}
		return p, nil
	}
	return "", errors.New("SASL needs a password: --sasl-password-file FILE or --sasl-password-env VAR")
}

func (c Conn) saslMechanism() (sasl.Mechanism, error) {
	if c.SASLUser == "" {
		return nil, errors.New("SASL needs --sasl-user")
	}
	pass, err := c.password()
	if err != nil {
		return nil, err
	}
	switch strings.ToUpper(c.SASLMechanism) {
	case "SCRAM-SHA-256":
		return scram.Auth{User: c.SASLUser, Pass: pass}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: c.SASLUser, Pass: pass}.AsSha512Mechanism(), nil
	case "PLAIN":
		if !c.TLS {
			return nil, errors.New("SASL PLAIN sends the password in clear: use it only with --tls")
		}
		return plain.Auth{User: c.SASLUser, Pass: pass}.AsMechanism(), nil
	}
	return nil, fmt.Errorf("--sasl-mechanism %q: want SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN", c.SASLMechanism)
}

// Topics names the topics of a deployment.
type Topics struct {
	// Prefix is prepended to the table names: fds.orders, fds.trades, ...
	Prefix string
	// Alerts and DeadLetter default to Prefix+"alerts" and Prefix+"dlq".
	Alerts     string
	DeadLetter string
}

// DefaultPrefix is the default topic prefix.
const DefaultPrefix = "fds."

// Event returns the topic of an event table.
func (t Topics) Event(table string) string { return t.prefix() + table }

func (t Topics) prefix() string {
	if t.Prefix == "" {
		return DefaultPrefix
	}
	return t.Prefix
}

// AlertsTopic returns the alerts topic.
func (t Topics) AlertsTopic() string {
	if t.Alerts != "" {
		return t.Alerts
	}
	return t.prefix() + "alerts"
}

// DeadLetterTopic returns the dead-letter topic.
func (t Topics) DeadLetterTopic() string {
	if t.DeadLetter != "" {
		return t.DeadLetter
	}
	return t.prefix() + "dlq"
}

// EventTopics returns the four event topics in tie order (marks, orders, trades, liquidations).
func (t Topics) EventTopics() []string {
	out := make([]string, len(datasets.EventTables))
	for i, table := range datasets.EventTables {
		out[i] = t.Event(table)
	}
	return out
}

// EnsureTopics creates the topics that do not exist, with the given partitions (and the broker's
// default replication), and returns every topic's partition count. Event topics must share one
// partition count so that a symbol's orders, trades and marks land on the same partition number,
// which a range-assigned consumer group member owns together; a mismatch is an error.
func EnsureTopics(ctx context.Context, cl *kgo.Client, eventTopics, otherTopics []string, partitions int32) (map[string]int32, error) {
	all := append(append([]string(nil), eventTopics...), otherTopics...)
	if partitions > 0 {
		req := kmsg.NewPtrCreateTopicsRequest()
		req.TimeoutMillis = 30000
		for _, t := range all {
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic = t
			rt.NumPartitions = partitions
			rt.ReplicationFactor = -1
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return nil, fmt.Errorf("creating topics: %w", err)
		}
		for _, t := range resp.Topics {
			if err := kerr.ErrorForCode(t.ErrorCode); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
				return nil, fmt.Errorf("creating topic %s: %w", t.Topic, err)
			}
		}
	}
	counts, err := PartitionCounts(ctx, cl, all)
	if err != nil {
		return nil, err
	}
	var first string
	for _, t := range eventTopics {
		if first == "" {
			first = t
			continue
		}
		if counts[t] != counts[first] {
			return nil, fmt.Errorf("topic %s has %d partitions but %s has %d: event topics must be co-partitioned (same count) so that one consumer owns all of a symbol's events",
				t, counts[t], first, counts[first])
		}
	}
	return counts, nil
}

// PartitionCounts returns the partition count of each topic; a missing topic is an error.
func PartitionCounts(ctx context.Context, cl *kgo.Client, topics []string) (map[string]int32, error) {
	deadline := time.Now().Add(15 * time.Second)
	for attempt := 0; ; attempt++ {
		req := kmsg.NewPtrMetadataRequest()
		for _, t := range topics {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(t)
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return nil, fmt.Errorf("reading topic metadata: %w", err)
		}
		counts := map[string]int32{}
		var missing []string
		for _, t := range resp.Topics {
			name := ""
			if t.Topic != nil {
				name = *t.Topic
			}
			if err := kerr.ErrorForCode(t.ErrorCode); err != nil || len(t.Partitions) == 0 {
				missing = append(missing, name)
				continue
			}
			counts[name] = int32(len(t.Partitions))
		}
		if len(missing) == 0 {
			return counts, nil
		}
		// A topic just created may take a moment to show its leaders.
		if time.Now().After(deadline) || attempt >= 100 {
			sort.Strings(missing)
			return nil, fmt.Errorf("topics not found: %s (create them, or run fds replay --partitions N)", strings.Join(missing, ", "))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// endOffsets returns the end (next) offset of every partition of a topic.
func endOffsets(ctx context.Context, cl *kgo.Client, topic string, partitions int32) (map[int32]int64, error) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for p := int32(0); p < partitions; p++ {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition = p
		rp.Timestamp = -1 // latest
		rp.CurrentLeaderEpoch = -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	shards := cl.RequestSharded(ctx, req)
	out := map[int32]int64{}
	for _, sh := range shards {
		if sh.Err != nil {
			return nil, fmt.Errorf("listing offsets of %s: %w", topic, sh.Err)
		}
		resp := sh.Resp.(*kmsg.ListOffsetsResponse)
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					return nil, fmt.Errorf("listing offsets of %s/%d: %w", topic, p.Partition, err)
				}
				out[p.Partition] = p.Offset
			}
		}
	}
	return out, nil
}
