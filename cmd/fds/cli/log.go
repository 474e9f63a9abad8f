package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// logLine writes one structured log line on stderr: JSON with --log-format json, else
// "msg key=value ..." in key order.
func (a *App) logLine(msg string, fields map[string]any) {
	if a.Quiet {
		return
	}
	if a.LogFormat == "json" {
		rec := map[string]any{"time": time.Now().UTC().Format(time.RFC3339Nano), "level": "info", "msg": msg}
		for k, v := range fields {
			rec[k] = v
		}
		b, _ := json.Marshal(rec)
		fmt.Fprintln(a.Stderr, string(b))
		return
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	sb.WriteString(msg)
	for _, k := range keys {
		fmt.Fprintf(&sb, " %s=%v", k, fields[k])
	}
	fmt.Fprintln(a.Stderr, sb.String())
}
