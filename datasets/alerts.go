package datasets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/fds-dev/fds/detectors"
)

// AlertsSchema is the schema of a run's alerts.parquet: one row per alert, in the order given.
// features is a JSON object with sorted keys (non-finite values as the strings "NaN",
// "Infinity", "-Infinity"); alert_key is Alert.Key().
var AlertsSchema = arrow.NewSchema([]arrow.Field{
	field("alert_key", arrow.BinaryTypes.String, false),
	field("detector", arrow.BinaryTypes.String, false),
	field("type", arrow.BinaryTypes.String, false),
	field("symbol", arrow.BinaryTypes.String, false),
	field("accounts", arrow.ListOf(arrow.BinaryTypes.String), false),
	field("ts", TS, false),
	field("window_start", TS, false),
	field("window_end", TS, false),
	field("score", arrow.PrimitiveTypes.Float64, false),
	field("evidence_orders", arrow.ListOf(arrow.PrimitiveTypes.Int64), false),
	field("evidence_trades", arrow.ListOf(arrow.PrimitiveTypes.Int64), false),
	field("features", arrow.BinaryTypes.String, false),
	field("note", arrow.BinaryTypes.String, false),
}, nil)

// MatchesSchema is the schema of a run's matches.parquet (see MatchRow). score is null where
// MatchRow.Score is NaN (missed incidents).
var MatchesSchema = arrow.NewSchema([]arrow.Field{
	field("detector", arrow.BinaryTypes.String, false),
	field("outcome", arrow.BinaryTypes.String, false),
	field("alert_key", arrow.BinaryTypes.String, false),
	field("incident_id", arrow.BinaryTypes.String, false),
	field("symbol", arrow.BinaryTypes.String, false),
	field("score", arrow.PrimitiveTypes.Float64, true),
	field("alert_ts", TS, false),
	field("incident_start", TS, false),
	field("time_to_detect_us", arrow.PrimitiveTypes.Int64, false),
}, nil)

// EncodeFeatures renders features as a JSON object with sorted keys; the same map always gives
// the same bytes. Values are shortest round-trip decimals; non-finite values, which JSON cannot
// hold as numbers, are the strings "NaN", "Infinity" and "-Infinity".
func EncodeFeatures(features map[string]float64) string {
	keys := make([]string, 0, len(features))
	for k := range features {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(k) // a string always marshals
		b.Write(key)
		b.WriteByte(':')
		v := features[k]
		switch {
		case math.IsNaN(v):
			b.WriteString(`"NaN"`)
		case math.IsInf(v, 1):
			b.WriteString(`"Infinity"`)
		case math.IsInf(v, -1):
			b.WriteString(`"-Infinity"`)
		default:
			b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	b.WriteByte('}')
	return b.String()
}

// DecodeFeatures parses what EncodeFeatures writes; an empty string or an empty object gives nil.
func DecodeFeatures(s string) (map[string]float64, error) {
	if s == "" {
		return nil, nil
	}
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("features: not a JSON object: %v", err)
	}
	if raw == nil {
		return nil, fmt.Errorf("features: not a JSON object")
	}
	if len(raw) == 0 {
		return nil, nil
	}
	out := make(map[string]float64, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case json.Number:
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil {
				return nil, fmt.Errorf("features: %s: %v", k, err)
			}
			out[k] = f
		case string:
			switch v {
			case "NaN":
				out[k] = math.NaN()
			case "Infinity":
				out[k] = math.Inf(1)
			case "-Infinity":
				out[k] = math.Inf(-1)
			default:
				return nil, fmt.Errorf("features: %s: %q is not a number", k, v)
			}
		default:
			return nil, fmt.Errorf("features: %s: %v is not a number", k, v)
		}
	}
	return out, nil
}

// WriteAlerts writes alerts (the run folder's alerts.parquet) atomically, in the given order.
func WriteAlerts(path string, alerts []detectors.Alert) error {
	return writeRows(path, AlertsSchema, len(alerts), func(f []array.Builder, i int) error {
		a := &alerts[i]
		appendString(f[0], a.Key())
		appendString(f[1], a.Detector)
		appendString(f[2], string(a.Type))
		appendString(f[3], a.Symbol)
		appendStringList(f[4], a.Accounts)
		f[5].(*array.TimestampBuilder).Append(arrow.Timestamp(a.TS))
		f[6].(*array.TimestampBuilder).Append(arrow.Timestamp(a.WindowStart))
		f[7].(*array.TimestampBuilder).Append(arrow.Timestamp(a.WindowEnd))
		f[8].(*array.Float64Builder).Append(a.Score)
		appendIntList(f[9], a.Evidence.OrderIDs)
		appendIntList(f[10], a.Evidence.TradeIDs)
		appendString(f[11], EncodeFeatures(a.Evidence.Features))
		appendString(f[12], a.Evidence.Note)
		return nil
	})
}

// ReadAlerts reads an alerts Parquet file written by WriteAlerts (or by another system in the
// same schema). Empty lists come back nil, empty features nil. alert_key is not read: Key()
// recomputes it. Other systems may leave accounts, evidence, features and note null; the type
// must be in the incident vocabulary.
func ReadAlerts(path string) ([]detectors.Alert, error) {
	cols := columnsOf(AlertsSchema)
	c := func(name string) *column { return colByName(cols, name) }
	for _, name := range []string{"alert_key", "accounts", "evidence_orders", "evidence_trades", "features", "note"} {
		c(name).nullable = true
	}
	detector, typ, symbol, accounts := c("detector"), c("type"), c("symbol"), c("accounts")
	ts, ws, we, score := c("ts"), c("window_start"), c("window_end"), c("score")
	orders, trades, features, note := c("evidence_orders"), c("evidence_trades"), c("features"), c("note")
	sc := newScanner([]tableFile{{path: path}}, cols)
	defer sc.close()
	var out []detectors.Alert
	for {
		i, ok, err := sc.advance()
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		a := detectors.Alert{
			Detector: detector.strs[i], Symbol: symbol.strs[i], Accounts: accounts.strLists[i],
			TS: ts.ints[i], WindowStart: ws.ints[i], WindowEnd: we.ints[i], Score: score.floats[i],
			Evidence: detectors.Evidence{OrderIDs: orders.intLists[i], TradeIDs: trades.intLists[i], Note: note.strs[i]},
		}
		if a.Type, err = detectors.ParseIncidentType(typ.strs[i]); err != nil {
			return nil, fmt.Errorf("%s: column type: %v", sc.where(), err)
		}
		if a.Evidence.Features, err = DecodeFeatures(features.strs[i]); err != nil {
			return nil, fmt.Errorf("%s: column features: %v", sc.where(), err)
		}
		out = append(out, a)
	}
}

// Match outcomes.
const (
	OutcomeTP = "tp"
	OutcomeFP = "fp"
	OutcomeFN = "fn"
)

// WriteMatches writes a run's matches.parquet atomically, in the given order. A NaN score is
// written as null; the outcome must be tp, fp or fn.
func WriteMatches(path string, rows []MatchRow) error {
	return writeRows(path, MatchesSchema, len(rows), func(f []array.Builder, i int) error {
		m := &rows[i]
		switch m.Outcome {
		case OutcomeTP, OutcomeFP, OutcomeFN:
		default:
			return fmt.Errorf("match %d: outcome %q is not tp, fp or fn", i, m.Outcome)
		}
		appendString(f[0], m.Detector)
		appendString(f[1], m.Outcome)
		appendString(f[2], m.AlertKey)
		appendString(f[3], m.IncidentID)
		appendString(f[4], m.Symbol)
		if math.IsNaN(m.Score) {
			f[5].AppendNull()
		} else {
			f[5].(*array.Float64Builder).Append(m.Score)
		}
		f[6].(*array.TimestampBuilder).Append(arrow.Timestamp(m.AlertTS))
		f[7].(*array.TimestampBuilder).Append(arrow.Timestamp(m.IncidentStart))
		f[8].(*array.Int64Builder).Append(m.TimeToDetect)
		return nil
	})
}

// ReadMatches reads a matches.parquet written by WriteMatches; a null score comes back NaN.
func ReadMatches(path string) ([]MatchRow, error) {
	cols := columnsOf(MatchesSchema)
	c := func(name string) *column { return colByName(cols, name) }
	detector, outcome, key, incident, symbol := c("detector"), c("outcome"), c("alert_key"), c("incident_id"), c("symbol")
	score, alertTS, start, ttd := c("score"), c("alert_ts"), c("incident_start"), c("time_to_detect_us")
	sc := newScanner([]tableFile{{path: path}}, cols)
	defer sc.close()
	var out []MatchRow
	for {
		i, ok, err := sc.advance()
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		m := MatchRow{
			Detector: detector.strs[i], Outcome: outcome.strs[i], AlertKey: key.strs[i],
			IncidentID: incident.strs[i], Symbol: symbol.strs[i], Score: score.floats[i],
			AlertTS: alertTS.ints[i], IncidentStart: start.ints[i], TimeToDetect: ttd.ints[i],
		}
		if score.valid != nil && !score.valid[i] {
			m.Score = math.NaN()
		}
		switch m.Outcome {
		case OutcomeTP, OutcomeFP, OutcomeFN:
		default:
			return nil, fmt.Errorf("%s: column outcome: %q is not tp, fp or fn", sc.where(), m.Outcome)
		}
		out = append(out, m)
	}
}
