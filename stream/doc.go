// Package stream runs fds's detectors online: canonical events consumed from Kafka topics (one
// per table, keyed by symbol), ordered by event time under a watermark, fed through the same
// backtest.Replay loop and detector instances a backtest uses, with alerts produced to an alerts
// topic keyed by Alert.Key().
//
// It holds the versioned wire format of events and alerts (wire.go), the watermark merger
// (watermark.go), the publisher behind `fds replay` (publish.go), the consumer pipeline behind
// `fds stream` (pipeline.go), the Kafka connection options with TLS and SASL (kafka.go) and the
// Prometheus metrics and health endpoints (metrics.go). docs/stream.md describes the topics, the
// message format, the watermark and the exactly-once story.
package stream
