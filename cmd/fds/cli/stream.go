package cli

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
	"github.com/fds-dev/fds/stream"
)

func init() { register(newStreamCmd) }

// kafkaOptions are the connection and topic flags `fds stream` and `fds replay` share. Secrets
// are named by file or environment variable only, and never printed.
type kafkaOptions struct {
	Brokers          string
	TopicPrefix      string
	TLS              bool
	TLSCA            string
	TLSCert          string
	TLSKey           string
	TLSServerName    string
	SASLMechanism    string
	SASLUser         string
	SASLPasswordFile string
	SASLPasswordEnv  string
}

func addKafkaFlags(f *pflag.FlagSet, o *kafkaOptions) {
	f.StringVar(&o.Brokers, "brokers", "", "Kafka bootstrap brokers, comma-separated host:port")
	f.StringVar(&o.TopicPrefix, "topic-prefix", stream.DefaultPrefix, "prefix of the topics: <prefix>orders, <prefix>trades, <prefix>marks, <prefix>liquidations, <prefix>alerts, <prefix>dlq")
	f.BoolVar(&o.TLS, "tls", false, "connect with TLS")
	f.StringVar(&o.TLSCA, "tls-ca", "", "PEM file of the CA certificates to trust (default: the system's)")
	f.StringVar(&o.TLSCert, "tls-cert", "", "PEM client certificate for mutual TLS (with --tls-key)")
	f.StringVar(&o.TLSKey, "tls-key", "", "PEM client key for mutual TLS (with --tls-cert)")
	f.StringVar(&o.TLSServerName, "tls-server-name", "", "server name to verify (default: the broker host)")
	f.StringVar(&o.SASLMechanism, "sasl-mechanism", "", "SASL mechanism: SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN (PLAIN needs --tls)")
	f.StringVar(&o.SASLUser, "sasl-user", "", "SASL user name")
	f.StringVar(&o.SASLPasswordFile, "sasl-password-file", "", "file holding the SASL password (never give the password itself on the command line)")
	f.StringVar(&o.SASLPasswordEnv, "sasl-password-env", "", "environment variable holding the SASL password")
}

func (o kafkaOptions) conn(clientID string) stream.Conn {
	var brokers []string
	for _, b := range strings.Split(o.Brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	return stream.Conn{Brokers: brokers, ClientID: clientID, TLS: o.TLS, CAFile: o.TLSCA, CertFile: o.TLSCert,
		KeyFile: o.TLSKey, ServerName: o.TLSServerName, SASLMechanism: o.SASLMechanism, SASLUser: o.SASLUser,
		SASLPasswordFile: o.SASLPasswordFile, SASLPasswordEnv: o.SASLPasswordEnv}
}

type streamOptions struct {
	Kafka           kafkaOptions
	Group           string
	Config          string
	Detectors       string
	Sets            []string
	Accounts        string
	AlertsTopic     string
	DLQTopic        string
	MaxDelay        float64
	IdleTimeout     float64
	Late            string
	MaxMessageBytes int
	CommitInterval  float64
	Warmup          float64
	ExitAtEnd       bool
	Listen          string
	CreateTopics    int32
}

func newStreamCmd(app *App) *cobra.Command {
	var opts streamOptions
	c := &cobra.Command{
		Use:   "stream",
		Short: "Run the detectors online: consume events from Kafka, produce alerts to Kafka",
		Long: `stream joins a Kafka consumer group, consumes the canonical event topics (one per table,
keyed by symbol), orders the events of its partitions by event time under a watermark, runs the
configured detectors (the same code and configuration as fds backtest) and produces their alerts,
keyed by alert key, to the alerts topic. Malformed, oversized and late messages are counted and
sent to the dead-letter topic. /metrics (Prometheus) and /healthz are served on --listen.

SIGINT or SIGTERM stops it gracefully: offsets of everything processed are committed after every
alert is acknowledged. A restart (or a rebalance) replays the partitions to rebuild detector state
without producing again what was published: no alert is lost or duplicated. See docs/stream.md.`,
		Example: `  fds stream --brokers localhost:9092 --group fds-prod --config tuned.yaml
  fds stream --brokers b1:9093,b2:9093 --group fds --tls --tls-ca ca.pem \
      --sasl-mechanism SCRAM-SHA-512 --sasl-user fds --sasl-password-file /run/secrets/kafka`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if opts.Kafka.Brokers == "" || opts.Group == "" {
				return usagef("stream needs --brokers ADDRS and --group ID")
			}
			return runStream(c.Context(), app, opts)
		},
	}
	f := c.Flags()
	addKafkaFlags(f, &opts.Kafka)
	f.StringVar(&opts.Group, "group", "", "consumer group id: members of one group share the partitions (symbols)")
	f.StringVar(&opts.Config, "config", "", "YAML config file (detectors and parameters), as for fds backtest")
	f.StringVar(&opts.Detectors, "detectors", "", "comma-separated detectors to run (default: those in the config, else all)")
	f.StringArrayVar(&opts.Sets, "set", nil, "override a parameter: DETECTOR.PARAM=VALUE (repeatable)")
	f.StringVar(&opts.Accounts, "accounts", "", "dataset folder whose accounts table is the reference data (owner groups)")
	f.StringVar(&opts.AlertsTopic, "alerts-topic", "", "alerts topic (default <prefix>alerts)")
	f.StringVar(&opts.DLQTopic, "dlq-topic", "", "dead-letter topic (default <prefix>dlq)")
	f.Float64Var(&opts.MaxDelay, "max-delay", stream.DefaultMaxDelay.Seconds(), "out-of-orderness allowed within a partition, seconds of event time")
	f.Float64Var(&opts.IdleTimeout, "idle-timeout", stream.DefaultIdleTimeout.Seconds(), "seconds without records after which a partition stops holding the watermark back (0: never)")
	f.StringVar(&opts.Late, "late", stream.LateDeadLetter, "what to do with late events: dlq or drop (they are counted either way)")
	f.IntVar(&opts.MaxMessageBytes, "max-message-bytes", stream.DefaultMaxMessageBytes, "larger messages are dead-lettered unread")
	f.Float64Var(&opts.CommitInterval, "commit-interval", stream.DefaultCommitInterval.Seconds(), "seconds between offset commits")
	f.Float64Var(&opts.Warmup, "warmup", -1, "on restart, replay this many seconds of event time before the committed position to rebuild detector state (-1: from the earliest retained record, exact)")
	f.BoolVar(&opts.ExitAtEnd, "exit-at-end", false, "exit once every partition has reached the end-of-stream marker of fds replay")
	f.StringVar(&opts.Listen, "listen", "127.0.0.1:9464", "address of the /metrics and /healthz endpoints (empty: none)")
	f.Int32Var(&opts.CreateTopics, "create-topics", 0, "create the alerts and dead-letter topics with this many partitions if missing")
	return c
}

func seconds(name string, v float64, allowNegative bool) (time.Duration, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) || (!allowNegative && v < 0) {
		return 0, usagef("--%s %v: want a finite number of seconds >= 0", name, v)
	}
	return time.Duration(v * float64(time.Second)), nil
}

func runStream(ctx context.Context, app *App, opts streamOptions) error {
	cfg, err := loadConfig(opts.Config, opts.Detectors, opts.Sets)
	if err != nil {
		return err
	}
	maxDelay, err := seconds("max-delay", opts.MaxDelay, false)
	if err != nil {
		return err
	}
	idle, err := seconds("idle-timeout", opts.IdleTimeout, false)
	if err != nil {
		return err
	}
	commitEvery, err := seconds("commit-interval", opts.CommitInterval, false)
	if err != nil {
		return err
	}
	warmup, err := seconds("warmup", opts.Warmup, true)
	if err != nil {
		return err
	}
	if opts.Late != stream.LateDeadLetter && opts.Late != stream.LateDrop {
		return usagef("--late %q: want dlq or drop", opts.Late)
	}
	env := detectors.Env{Accounts: map[string]detectors.Account{}}
	if opts.Accounts != "" {
		ds, err := datasets.Open(opts.Accounts)
		if err != nil {
			return err
		}
		if env.Accounts, err = ds.Accounts(); err != nil {
			return err
		}
	}
	conn := opts.Kafka.conn("fds-stream")
	clientOpts, err := conn.Options()
	if err != nil {
		return &UsageError{Err: err}
	}
	metrics := stream.NewMetrics()
	topics := stream.Topics{Prefix: opts.Kafka.TopicPrefix, Alerts: opts.AlertsTopic, DeadLetter: opts.DLQTopic}
	p, err := stream.NewPipeline(stream.Config{ClientOpts: clientOpts, Group: opts.Group, Topics: topics,
		Detectors: cfg, Env: env, MaxDelay: maxDelay, IdleTimeout: idle, Late: opts.Late,
		MaxMessageBytes: opts.MaxMessageBytes, CommitInterval: commitEvery, Warmup: warmup,
		ExitAtEnd: opts.ExitAtEnd, CreatePartitions: opts.CreateTopics, Metrics: metrics,
		Log: app.logLine})
	if err != nil {
		return &UsageError{Err: err}
	}
	if opts.Listen != "" {
		ln, err := net.Listen("tcp", opts.Listen)
		if err != nil {
			return fmt.Errorf("--listen %s: %w", opts.Listen, err)
		}
		srv := &http.Server{Handler: metrics.Handler(30 * time.Second), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			srv.Shutdown(sctx)
			cancel()
		}()
		app.logLine("stream: serving /metrics and /healthz", map[string]any{"addr": ln.Addr().String()})
	}
	app.logLine("stream: connecting", map[string]any{"kafka": conn.String(), "group": opts.Group})
	sum, err := p.Run(ctx)
	app.logLine("stream: stopped", map[string]any{"events": sum.Events, "alerts_published": sum.AlertsPublished,
		"alerts_suppressed": sum.AlertsSuppressed, "late": sum.Late, "rejected": sum.Rejected,
		"sessions": sum.Sessions, "end_of_stream": sum.EndOfStream})
	// A signal is how a service is stopped: after a graceful shutdown (offsets committed) the
	// exit code is 0, as process supervisors expect.
	return err
}
