package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Output manners shared by every command: --quiet prints results and errors only, --verbose adds
// details, --log-format json turns every line fds writes on stderr (notices, details, progress,
// the final error) into one JSON object per line for log collectors. Results on stdout are never
// affected.

// logFormats are the values of --log-format.
var logFormats = []string{"text", "json"}

// checkManners rejects contradictory or unknown output flags before any work.
func (a *App) checkManners() error {
	if !contains(logFormats, a.LogFormat) {
		return usagef("--log-format %q: want text or json", a.LogFormat)
	}
	if a.Quiet && a.Verbose {
		return usagef("--quiet and --verbose contradict each other: choose one")
	}
	return nil
}

// notice writes one line on stderr at a level: the text as given, or with --log-format json an
// object {"time", "level", "msg"} (the "fds: " prefix of text lines dropped).
func (a *App) notice(level, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if a.LogFormat != "json" {
		fmt.Fprintln(a.Stderr, msg)
		return
	}
	a.jsonLine(level, strings.TrimPrefix(strings.TrimSpace(msg), "fds: "))
}

// printError writes the one-line error of a failed command.
func (a *App) printError(msg string) {
	if a.LogFormat == "json" {
		a.jsonLine("error", msg)
		return
	}
	fmt.Fprintf(a.Stderr, "fds: %s\n", msg)
}

func (a *App) jsonLine(level, msg string) {
	b, _ := json.Marshal(struct {
		Time  string `json:"time"`
		Level string `json:"level"`
		Msg   string `json:"msg"`
	}{time.Now().UTC().Format(time.RFC3339Nano), level, msg})
	fmt.Fprintln(a.Stderr, string(b))
}
