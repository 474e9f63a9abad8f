//go:build race

package stream

// The race detector slows the pipeline tens of times: the integration tests' deadlines stretch.
const testTimeScale = 10
