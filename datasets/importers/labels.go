package importers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fds-dev/fds/datasets"
	"github.com/fds-dev/fds/detectors"
)

func init() {
	registerFormat(&Format{
		Summary: "pump-and-dump label lists (P&Ds.csv, pump_telegram.csv, pumps.json) → labels",
		Name:    "pump-labels",
		Doc: "pump-and-dump label lists, the kind told by content: P&Ds.csv (semicolons, BOM, decimal comma: " +
			"coin;exchange;pair;timestamp), the Sapienza pump_telegram.csv (symbol,group,date,hour,exchange; pair BTC), " +
			"pumps.json ([{symbol|currency_pair, exchange, time}]). All are merged into one labels table: one incident " +
			"per symbol and pump, from announced time - 120 s to + 1 h.",
		Tables: []string{datasets.TableLabels},
		parse:  parsePumpLabels,
	})
}

// rawLabel is one announcement before merging.
type rawLabel struct {
	Symbol   string
	At       detectors.Micros
	Source   string
	Exchange string
}

// labelQuoteDefault is the pair of label lists that name only the coin: the Sapienza list and
// the pump channels trade every pump against BTC.
const labelQuoteDefault = "BTC"

func parsePumpLabels(c *parseCtx, in *input) error {
	c.out.labelsSeen = true
	b, err := readAllBytes(in, 64<<20)
	if err != nil {
		return err
	}
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF}), " \t\r\n")
	if len(trimmed) > 0 && (trimmed[0] == '[' || trimmed[0] == '{') {
		return parsePumpJSON(c, in, trimmed)
	}
	return parsePumpCSV(c, in, b)
}

// pumpJSON is one record of pumps.json (symbol) or dropped_pumps.json (currency_pair).
type pumpJSON struct {
	Symbol       string `json:"symbol"`
	CurrencyPair string `json:"currency_pair"`
	Exchange     string `json:"exchange"`
	Time         string `json:"time"`
}

func parsePumpJSON(c *parseCtx, in *input, b []byte) error {
	c.file.Kind = "pumps.json"
	var recs []pumpJSON
	if b[0] == '{' {
		var one pumpJSON
		if err := json.Unmarshal(b, &one); err != nil {
			return errAt(in.name, jsonLine(b, err), "", fmt.Errorf("JSON: %w", err))
		}
		recs = []pumpJSON{one}
	} else if err := json.Unmarshal(b, &recs); err != nil {
		return errAt(in.name, jsonLine(b, err), "", fmt.Errorf("JSON (want an array of {symbol, exchange, time}): %w", err))
	}
	for i, r := range recs {
		where := fmt.Sprintf("record %d", i+1)
		raw := r.Symbol
		col := "symbol"
		if raw == "" {
			raw, col = r.CurrencyPair, "currency_pair"
		}
		if raw == "" {
			return errAtf(in.name, 0, "symbol", "%s: no symbol or currency_pair", where)
		}
		sym, err := c.labelSymbol(raw, "")
		if err != nil {
			return errAtf(in.name, 0, col, "%s: %v", where, err)
		}
		at, err := parseLabelTime(r.Time)
		if err != nil {
			return errAtf(in.name, 0, "time", "%s: %v", where, err)
		}
		c.addLabel(rawLabel{Symbol: sym, At: at, Source: "pumps.json", Exchange: r.Exchange})
	}
	return nil
}

// jsonLine turns a JSON syntax error offset into a line number (0 when unknown).
func jsonLine(b []byte, err error) int {
	var off int64 = -1
	if se, ok := err.(*json.SyntaxError); ok {
		off = se.Offset
	}
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		off = te.Offset
	}
	if off < 0 || off > int64(len(b)) {
		return 0
	}
	return bytes.Count(b[:off], []byte{'\n'}) + 1
}

func parsePumpCSV(c *parseCtx, in *input, b []byte) error {
	first := b
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		first = b[:i]
	}
	comma := ','
	if bytes.Count(first, []byte{';'}) > bytes.Count(first, []byte{','}) {
		comma = ';'
	}
	f := newCSV(in.name, bytes.NewReader(b), comma)
	header, err := f.next()
	if err == io.EOF {
		return errAtf(in.name, 1, "", "empty label file")
	}
	if err != nil {
		return err
	}
	header = append([]string(nil), header...) // the reader reuses its record
	cols := columns(header)
	iSym := -1
	for _, n := range []string{"coin", "symbol", "currency_pair"} {
		if i, ok := cols[n]; ok {
			iSym = i
			break
		}
	}
	if iSym < 0 {
		return errAtf(in.name, 1, "coin", "label file has no coin, symbol or currency_pair column (header %q)", strings.Join(header, string(comma)))
	}
	iPair, hasPair := cols["pair"]
	iEx, hasEx := cols["exchange"]
	iTime, hasTime := cols["timestamp"]
	if !hasTime {
		iTime, hasTime = cols["time"]
	}
	iDate, hasDate := cols["date"]
	iHour, hasHour := cols["hour"]
	if !hasTime && !(hasDate && hasHour) {
		return errAtf(in.name, 1, "timestamp", "label file has no timestamp column nor date and hour columns")
	}
	_, isPnD := cols["number_of_p&ds"]
	_, hasGroup := cols["group"]
	switch {
	case isPnD:
		c.file.Kind = "P&Ds.csv"
	case hasGroup && hasDate && hasHour:
		c.file.Kind = "pump_telegram.csv"
	default:
		c.file.Kind = "label-csv"
	}
	for {
		rec, err := f.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		coin, err := f.field(rec, iSym, header[iSym])
		if err != nil {
			return err
		}
		pair := ""
		if hasPair {
			if pair, err = f.field(rec, iPair, "pair"); err != nil {
				return err
			}
		}
		ex := ""
		if hasEx {
			if ex, err = f.field(rec, iEx, "exchange"); err != nil {
				return err
			}
		}
		var at detectors.Micros
		if hasTime {
			s, err := f.field(rec, iTime, header[iTime])
			if err != nil {
				return err
			}
			if at, err = parseLabelTime(s); err != nil {
				return errAt(in.name, f.line, strings.TrimSpace(header[iTime]), err)
			}
		} else {
			d, err := f.field(rec, iDate, "date")
			if err != nil {
				return err
			}
			h, err := f.field(rec, iHour, "hour")
			if err != nil {
				return err
			}
			if at, err = parseLabelTime(strings.TrimSpace(d) + " " + strings.TrimSpace(h)); err != nil {
				return errAt(in.name, f.line, "date/hour", err)
			}
		}
		if !c.keepExchange(ex) {
			c.file.Skipped++
			continue
		}
		sym, err := c.labelSymbol(coin, pair)
		if err != nil {
			return errAt(in.name, f.line, strings.TrimSpace(header[iSym]), err)
		}
		c.addLabel(rawLabel{Symbol: sym, At: at, Source: c.file.Kind, Exchange: ex})
	}
	return nil
}

// labelSymbol maps a label's coin (and pair, when the list has one) to the canonical symbol of
// the trade files: NULS/BTC, NULS-BTC and (NULS, BTC) are one symbol; a bare coin gets BTC.
func (c *parseCtx) labelSymbol(coin, pair string) (string, error) {
	coin = strings.TrimSpace(coin)
	if pair == "" && !strings.ContainsAny(coin, "/-_") {
		pair = labelQuoteDefault
	}
	if pair == "" {
		return c.symbols.Canonical(coin)
	}
	return c.symbols.Pair(coin, pair)
}

func (c *parseCtx) keepExchange(ex string) bool {
	want := strings.ToLower(c.opts.LabelExchange)
	if want == "*" || strings.TrimSpace(ex) == "" {
		return true
	}
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(ex)), want)
}

func (c *parseCtx) addLabel(l rawLabel) {
	if !c.keepExchange(l.Exchange) {
		c.file.Skipped++
		return
	}
	c.out.labels = append(c.out.labels, l)
	c.file.Rows++
}

var labelLayouts = []string{
	"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04",
	"2006-01-02T15:04:05Z07:00", "2006-01-02 15:04:05Z07:00", "2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999",
}

// parseLabelTime reads a label time: a date and time in UTC (minute or second precision, space
// or T, optional zone) or an epoch number of any unit.
func parseLabelTime(s string) (detectors.Micros, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty time")
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return newTSColumn(UnitAuto).parse(s)
	}
	for _, l := range labelLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t.UnixMicro(), plausibleTS(t.UnixMicro(), s)
		}
	}
	return 0, fmt.Errorf("time %q is not YYYY-MM-DD HH:MM[:SS] (UTC)", s)
}

// mergeLabels merges announcements of one symbol closer than LabelMergeGap (chained) into one
// incident [first - LabelLead, last + LabelDuration], sourced by every list that had it.
func mergeLabels(raw []rawLabel, opts Options) []datasets.Incident {
	opts = opts.withDefaults()
	ls := append([]rawLabel(nil), raw...)
	sort.SliceStable(ls, func(i, j int) bool {
		if ls[i].Symbol != ls[j].Symbol {
			return ls[i].Symbol < ls[j].Symbol
		}
		return ls[i].At < ls[j].At
	})
	var out []datasets.Incident
	for i := 0; i < len(ls); {
		j := i + 1
		sources := map[string]bool{ls[i].Source: true}
		for j < len(ls) && ls[j].Symbol == ls[i].Symbol && ls[j].At-ls[j-1].At <= opts.LabelMergeGap {
			sources[ls[j].Source] = true
			j++
		}
		names := make([]string, 0, len(sources))
		for s := range sources {
			names = append(names, s)
		}
		sort.Strings(names)
		first, last := ls[i].At, ls[j-1].At
		out = append(out, datasets.Incident{
			ID:       fmt.Sprintf("pnd:%s:%s", ls[i].Symbol, time.UnixMicro(first).UTC().Format("2006-01-02T15:04:05Z")),
			Type:     detectors.PumpAndDump,
			Symbol:   ls[i].Symbol,
			Accounts: []string{},
			Start:    first - opts.LabelLead,
			End:      last + opts.LabelDuration,
			Source:   strings.Join(names, "+"),
		})
		i = j
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Start != out[j].Start {
			return out[i].Start < out[j].Start
		}
		return out[i].Symbol < out[j].Symbol
	})
	return out
}
