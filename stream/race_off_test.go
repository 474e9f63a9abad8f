//go:build !race

package stream

// testTimeScale stretches the integration tests' deadlines (see race_on_test.go).
const testTimeScale = 1
