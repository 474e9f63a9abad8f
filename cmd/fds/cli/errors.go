package cli

import (
	"context"
	"errors"
	"fmt"
)

// Exit codes, documented in README.md and docs/ci.md. They are decided in one place: exitCode.
const (
	ExitOK          = 0
	ExitError       = 1 // bad input, failed run, anything else
	ExitUsage       = 2 // bad flags or arguments
	ExitRegression  = 3 // fds regress / fds test found a regression or a failing test
	ExitInterrupted = 130
)

// UsageError is a mistake in the command line: exit code 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usagef returns a UsageError.
func usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// RegressionError says a gate failed (a metric regressed beyond tolerance, a detector test
// failed): exit code 3. Its message is the one-line summary; details were already printed.
type RegressionError struct{ Msg string }

func (e *RegressionError) Error() string { return e.Msg }

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	var usage *UsageError
	var regression *RegressionError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &usage):
		return ExitUsage
	case errors.As(err, &regression):
		return ExitRegression
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	}
	return ExitError
}
