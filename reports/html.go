package reports

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
)

// WriteHTML writes the document as one self-contained HTML page: styles inline, every figure
// embedded as a data: URI (pngs[i] is figs[i] as PNG), no script and no external asset, so the
// file can be mailed or archived as is. The same document gives the same bytes.
func WriteHTML(w io.Writer, doc *Document, figs []*Figure, pngs [][]byte) error {
	if len(figs) != len(pngs) {
		return fmt.Errorf("html: %d figures but %d images", len(figs), len(pngs))
	}
	v := htmlView{Doc: doc, Title: doc.Title, MetricsNote: metricsExplanation, ConfusionNote: confusionExplanation}
	if v.Title == "" {
		v.Title = "Backtest report"
	}
	v.Rows = append(v.Rows, doc.Metrics...)
	if doc.Overall != nil {
		v.Rows = append(v.Rows, *doc.Overall)
		v.OverallIndex = len(v.Rows) - 1
	} else {
		v.OverallIndex = -1
	}
	for i, f := range figs {
		v.Figures = append(v.Figures, htmlFigure{
			Number: i + 1, Name: f.Name, Title: f.Title, Caption: f.Caption,
			Src:   template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(pngs[i])),
			Width: int(f.Width.Points() / 72 * FigureDPI / 1.5),
		})
	}
	if doc.MissesTotal > 0 {
		v.MissesIntro = missesIntro(len(doc.Misses), doc.MissesTotal)
	}
	if doc.FalseAlertsTotal > 0 {
		v.FalseAlertsIntro = falseAlertsIntro(len(doc.FalseAlerts), doc.FalseAlertsTotal)
	}
	var buf bytes.Buffer
	if err := htmlTemplate.Execute(&buf, v); err != nil {
		return fmt.Errorf("html: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

type htmlView struct {
	Doc              *Document
	Title            string
	Rows             []MetricsRow
	OverallIndex     int
	Figures          []htmlFigure
	MetricsNote      string
	ConfusionNote    string
	MissesIntro      string
	FalseAlertsIntro string
}

type htmlFigure struct {
	Number               int
	Name, Title, Caption string
	Src                  template.URL
	// Width is the display width in CSS pixels: the PNG shown at 1.5 device pixels per CSS pixel.
	Width int
}

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"f3":       func(v float64) string { return fmt.Sprintf("%.3f", v) },
	"f2":       func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"ci":       formatCI,
	"time":     FormatTime,
	"dur":      func(from, to int64) string { return formatDuration(to - from) },
	"score":    formatScore,
	"accounts": formatAccounts,
	"features": formatFeatures,
	"ids":      func(ids []int64) string { return formatIDs(ids, maxIDsShown) },
	"nearest":  nearestText,
	"ttd": func(r MetricsRow) string {
		if r.TTDCount == 0 {
			return "–"
		}
		return formatSeconds(r.TTDMedianS)
	},
	"count": func(c Confusion, d, t int) int { return c.Counts[d][t] },
	"own":   func(c Confusion, d, t int) bool { return c.Types[t] == c.Own[d] },
	"inc":   func(i int) int { return i + 1 },
}).Parse(htmlSource))

const htmlSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="{{.Doc.Generator}}">
<title>{{.Title}} · {{.Doc.Run}}</title>
<style>
body { font-family: "Liberation Sans", Arial, Helvetica, sans-serif; color: #1b1b1b; max-width: 1100px; margin: 2em auto; padding: 0 1.2em; line-height: 1.45; }
h1 { font-size: 1.9em; margin-bottom: 0.1em; }
h2 { font-size: 1.4em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.1em; margin-top: 1.4em; }
.sub { color: #555; margin-top: 0; }
.redacted { color: #a01e1e; font-weight: bold; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.9em; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #ddd; vertical-align: top; }
th { background: #e8ecf3; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
th.up { writing-mode: vertical-rl; transform: rotate(180deg); text-align: left; vertical-align: bottom; white-space: nowrap; }
tr.overall td { font-weight: bold; }
td.own { outline: 2px solid #222; outline-offset: -2px; }
table.kv th { background: none; width: 11em; }
code, .mono, pre { font-family: "Liberation Mono", Menlo, Consolas, monospace; font-size: 0.88em; }
.note { color: #555; font-size: 0.88em; font-style: italic; }
figure { margin: 1.5em 0 2.5em; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #333; margin-top: 0.4em; }
article.case { border-left: 4px solid #c81e1e; padding: 0.2em 0 0.2em 1em; margin: 1em 0; }
article.miss { border-left-color: #d96b00; }
article.case dl { display: grid; grid-template-columns: 9em 1fr; gap: 0.15em 0.8em; margin: 0.3em 0; font-size: 0.9em; }
article.case dt { font-weight: bold; }
article.case dd { margin: 0; overflow-wrap: anywhere; }
nav ol { columns: 2; font-size: 0.95em; }
</style>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
<p class="sub">Run <strong>{{.Doc.Run}}</strong> · {{.Doc.Generator}}</p>
{{if .Doc.Redaction}}<p class="redacted">Account ids redacted: {{.Doc.Redaction}}</p>{{end}}
</header>
<nav><ol>
<li><a href="#run">Run identity</a></li>
<li><a href="#dataset">Dataset</a></li>
<li><a href="#quality">Detection quality</a></li>
{{range .Figures}}<li><a href="#fig-{{.Name}}">Figure {{.Number}}. {{.Title}}</a></li>
{{end}}<li><a href="#misses">Missed incidents</a></li>
<li><a href="#false-alerts">False alerts</a></li>
{{if .Doc.Notes}}<li><a href="#notes">Notes</a></li>{{end}}
{{if .Doc.Config}}<li><a href="#config">Configuration</a></li>{{end}}
</ol></nav>

<section id="run">
<h2>Run identity</h2>
<table class="kv">
{{range .Doc.Identity}}<tr><th>{{.Name}}</th><td>{{.Value}}</td></tr>
{{end}}</table>
</section>

<section id="dataset">
<h2>Dataset</h2>
{{with .Doc.Dataset}}<table class="kv">
<tr><th>Folder</th><td class="mono">{{.Dir}}</td></tr>
{{if not .Available}}<tr><th>Availability</th><td>not found when the report was made: figures from the run folder only</td></tr>{{end}}
{{if .From}}<tr><th>Time span</th><td>{{.From}} to {{.To}} ({{printf "%.3f" .SpanDays}} days)</td></tr>{{end}}
{{if ge .Accounts 0}}<tr><th>Accounts</th><td>{{.Accounts}}</td></tr>{{end}}
</table>
{{if .Tables}}<h3>Rows per table</h3>
<table><tr><th>Table</th><th class="n">Rows</th></tr>
{{range .Tables}}<tr><td>{{.Table}}</td><td class="n">{{.Rows}}</td></tr>
{{end}}</table>{{end}}
{{if .Symbols}}<h3>Symbols</h3>
<table><tr><th>Symbol</th><th class="n">Trades</th><th class="n">Marks</th></tr>
{{range .Symbols}}<tr><td>{{.Symbol}}</td><td class="n">{{.Trades}}</td><td class="n">{{.Marks}}</td></tr>
{{end}}</table>{{end}}
{{if .Incidents}}<h3>Labelled incidents by type</h3>
<table><tr><th>Type</th><th class="n">Incidents</th></tr>
{{range .Incidents}}<tr><td>{{.Type}}</td><td class="n">{{.Incidents}}</td></tr>
{{end}}</table>{{end}}
{{if .Inputs}}<h3>Input files</h3>
<table><tr><th>Table</th><th>Path</th><th class="n">Bytes</th><th>SHA-256</th></tr>
{{range .Inputs}}<tr><td>{{.Table}}</td><td class="mono">{{.Path}}</td><td class="n">{{.Bytes}}</td><td class="mono">{{.SHA256}}</td></tr>
{{end}}</table>{{end}}{{end}}
</section>

<section id="quality">
<h2>Detection quality</h2>
<table>
<tr><th>Detector</th><th class="n">Alerts</th><th class="n">Incidents</th><th class="n">TP</th><th class="n">FP (dup.)</th><th class="n">FN</th><th class="n">Precision</th><th class="n">Recall</th><th class="n">F1</th><th class="n">AP</th><th class="n">TTD median</th><th class="n">Alerts/day</th></tr>
{{$overall := .OverallIndex}}{{range $i, $r := .Rows}}<tr{{if eq $i $overall}} class="overall"{{end}}><td>{{$r.Detector}}</td><td class="n">{{$r.Alerts}}</td><td class="n">{{$r.Incidents}}</td><td class="n">{{$r.TP}}</td><td class="n">{{$r.FP}} ({{$r.Duplicates}})</td><td class="n">{{$r.FN}}</td><td class="n">{{f3 $r.Precision}}</td><td class="n">{{f3 $r.Recall}}</td><td class="n">{{f3 $r.F1}}</td><td class="n">{{f3 $r.AveragePrecision}}</td><td class="n">{{ttd $r}}</td><td class="n">{{f2 $r.AlertsPerDay}}</td></tr>
{{end}}</table>
<p class="note">{{.MetricsNote}}</p>
{{if .Doc.Comparison}}<h3>Detector comparison</h3>
<table><tr><th>Detector</th><th class="n">Precision</th><th class="n">Recall</th><th class="n">F1</th></tr>
{{range .Doc.Comparison}}<tr><td>{{.Detector}}</td><td class="n">{{f3 .Precision}}{{ci .PrecisionCI}}</td><td class="n">{{f3 .Recall}}{{ci .RecallCI}}</td><td class="n">{{f3 .F1}}{{ci .F1CI}}</td></tr>
{{end}}</table>
{{if .Doc.CINote}}<p class="note">Brackets: {{.Doc.CINote}}.</p>{{end}}{{end}}
{{with .Doc.Confusion}}{{if .Detectors}}<h3>Alerts by incident type</h3>
{{$c := .}}<table><tr><th style="vertical-align: bottom">Detector</th>{{range .Types}}<th class="up">{{.}}</th>{{end}}<th class="up">no incident</th><th class="up">alerts</th></tr>
{{range $d, $det := .Detectors}}<tr><td>{{$det}}</td>{{range $t, $type := $c.Types}}<td class="n{{if own $c $d $t}} own{{end}}">{{count $c $d $t}}</td>{{end}}<td class="n">{{index $c.Outside $d}}</td><td class="n">{{index $c.Alerts $d}}</td></tr>
{{end}}</table>
<p class="note">{{$.ConfusionNote}}</p>{{end}}{{end}}
{{if .Doc.Uncovered}}<h3>Incidents no detector covers</h3>
<p>Labelled incidents of these types are not counted anywhere, since no detector of the run detects them:</p>
<ul>{{range .Doc.Uncovered}}<li>{{.Type}}: {{.Incidents}}</li>{{end}}</ul>{{end}}
</section>

<section id="figures">
<h2>Figures</h2>
{{range .Figures}}<figure id="fig-{{.Name}}">
<h3>Figure {{.Number}}. {{.Title}}</h3>
<img src="{{.Src}}" alt="{{.Title}}" width="{{.Width}}">
<figcaption>{{.Caption}}</figcaption>
</figure>
{{end}}</section>

<section id="misses">
<h2>Missed incidents</h2>
{{if .MissesIntro}}<p>{{.MissesIntro}}</p>{{else}}<p>Every labelled incident a detector of the run is scored on was detected.</p>{{end}}
{{range $i, $m := .Doc.Misses}}<article class="case miss">
<h3>M{{inc $i}}. {{$m.Detector}} missed {{$m.IncidentID}}</h3>
<dl>
<dt>Incident</dt><dd>{{$m.IncidentID}} ({{$m.Type}}) on {{$m.Symbol}}</dd>
<dt>Span</dt><dd>{{time $m.Start}} to {{time $m.End}} ({{dur $m.Start $m.End}})</dd>
<dt>Accounts</dt><dd class="mono">{{accounts $m.Accounts}}</dd>
<dt>Nearest alert</dt><dd>{{nearest $m.Nearest}}</dd>
{{if $m.Timeline}}<dt>Figure</dt><dd><a href="#fig-{{$m.Timeline}}">timeline</a></dd>{{end}}
</dl>
</article>
{{end}}</section>

<section id="false-alerts">
<h2>False alerts</h2>
{{if .FalseAlertsIntro}}<p>{{.FalseAlertsIntro}}</p>{{else}}<p>Every alert of the run matched a labelled incident.</p>{{end}}
{{range $i, $a := .Doc.FalseAlerts}}<article class="case">
<h3>F{{inc $i}}. {{$a.Detector}}, score {{score $a.Score}}{{if $a.Duplicate}} (repeat on a detected incident){{end}}</h3>
<dl>
<dt>Alert</dt><dd>{{$a.Detector}} on {{$a.Symbol}} at {{time $a.TS}}, score {{score $a.Score}}</dd>
<dt>Window</dt><dd>{{time $a.WindowStart}} to {{time $a.WindowEnd}}</dd>
<dt>Accounts</dt><dd class="mono">{{accounts $a.Accounts}}</dd>
<dt>Features</dt><dd>{{features $a.Features}}</dd>
<dt>Order ids</dt><dd class="mono">{{ids $a.OrderIDs}}</dd>
<dt>Trade ids</dt><dd class="mono">{{ids $a.TradeIDs}}</dd>
{{if $a.Note}}<dt>Note</dt><dd>{{$a.Note}}</dd>{{end}}
<dt>Key</dt><dd class="mono">{{$a.Key}}</dd>
{{if $a.Timeline}}<dt>Figure</dt><dd><a href="#fig-{{$a.Timeline}}">timeline</a></dd>{{end}}
</dl>
</article>
{{end}}</section>

{{if .Doc.Notes}}<section id="notes">
<h2>Notes</h2>
<ul>{{range .Doc.Notes}}<li>{{.}}</li>{{end}}</ul>
</section>{{end}}

{{if .Doc.Config}}<section id="config">
<h2>Configuration</h2>
<details><summary>config.yaml</summary>
<pre>{{.Doc.Config}}</pre>
</details>
</section>{{end}}
</body>
</html>
`
