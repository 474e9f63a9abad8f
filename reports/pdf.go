package reports

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"strings"

	"codeberg.org/go-fonts/liberation/liberationmonoregular"
	"codeberg.org/go-fonts/liberation/liberationsansbold"
	"codeberg.org/go-fonts/liberation/liberationsansitalic"
	"codeberg.org/go-fonts/liberation/liberationsansregular"
	"github.com/go-pdf/fpdf"
)

// The PDF is A4 portrait with 15 mm margins: 180 mm of text width.
const (
	pdfMargin    = 15.0
	pdfPageW     = 210.0
	pdfPageH     = 297.0
	pdfTextW     = pdfPageW - 2*pdfMargin
	pdfBottom    = 18.0 // room for the footer
	pdfCellPad   = 1.2
	pdfLineRatio = 0.45 // line height in mm per point of font size
)

// WritePDF writes the document as a multi-page PDF: title and run identity, dataset summary,
// metrics, comparison and confusion tables, the figures (pngs[i] is figs[i] rendered as PNG), the
// misses and false alerts with their evidence, and the configuration. Fonts (Liberation Sans and
// Mono) are embedded, so text is selectable and extractable; the creation date is doc.Date and
// resources are written in sorted order, so the same document gives the same bytes.
func WritePDF(w io.Writer, doc *Document, figs []*Figure, pngs [][]byte) error {
	if len(figs) != len(pngs) {
		return fmt.Errorf("pdf: %d figures but %d images", len(figs), len(pngs))
	}
	pngs, err := distinctWidths(pngs)
	if err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	p := &pdfWriter{pdf: fpdf.New("P", "mm", "A4", ""), doc: doc}
	p.setup()
	p.titlePage()
	p.datasetSection()
	p.qualitySection()
	p.figuresSection(figs, pngs)
	p.missesSection()
	p.falseAlertsSection()
	p.notesAndConfig()
	if err := p.pdf.Error(); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	var buf bytes.Buffer
	if err := p.pdf.Output(&buf); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

type pdfWriter struct {
	pdf *fpdf.Fpdf
	doc *Document
	// figurePage maps a figure name to its page, for references from the case lists.
	figurePage map[string]int
}

func (p *pdfWriter) setup() {
	f := p.pdf
	f.AddUTF8FontFromBytes("sans", "", liberationsansregular.TTF)
	f.AddUTF8FontFromBytes("sans", "B", liberationsansbold.TTF)
	f.AddUTF8FontFromBytes("sans", "I", liberationsansitalic.TTF)
	f.AddUTF8FontFromBytes("mono", "", liberationmonoregular.TTF)
	f.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	f.SetAutoPageBreak(true, pdfBottom)
	f.SetCreationDate(p.doc.Date)
	f.SetModificationDate(p.doc.Date)
	f.SetCatalogSort(true)
	f.SetTitle(p.title(), true)
	f.SetSubject("Backtest of market-abuse detectors: run "+p.doc.Run, true)
	f.SetCreator(p.doc.Generator, true)
	f.SetProducer(p.doc.Generator, true)
	f.SetLang("en")
	f.AliasNbPages("{nb}")
	f.SetFooterFunc(func() {
		f.SetY(-12)
		f.SetFont("sans", "", 8)
		f.SetTextColor(110, 110, 110)
		left := p.title() + " · run " + p.doc.Run
		if p.doc.Redaction != "" {
			left += " · account ids redacted"
		}
		f.CellFormat(pdfTextW/2+30, 5, left, "", 0, "L", false, 0, "")
		f.CellFormat(pdfTextW/2-30, 5, fmt.Sprintf("page %d of {nb}", f.PageNo()), "", 0, "R", false, 0, "")
		f.SetTextColor(0, 0, 0)
	})
}

func (p *pdfWriter) title() string {
	if p.doc.Title != "" {
		return p.doc.Title
	}
	return "Backtest report"
}

// Text primitives.

func lineHeight(size float64) float64 { return size * pdfLineRatio }

// wrap splits text into lines no wider than width (mm) in the current font, breaking at spaces
// and, inside words longer than a line (hashes, keys), between characters.
func (p *pdfWriter) wrap(text string, width float64) []string {
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			try := word
			if line != "" {
				try = line + " " + word
			}
			if p.pdf.GetStringWidth(try) <= width {
				line = try
				continue
			}
			if line != "" {
				lines = append(lines, line)
				line = ""
			}
			for p.pdf.GetStringWidth(word) > width {
				cut := len([]rune(word))
				for cut > 1 && p.pdf.GetStringWidth(string([]rune(word)[:cut])) > width {
					cut--
				}
				lines = append(lines, string([]rune(word)[:cut]))
				word = string([]rune(word)[cut:])
			}
			line = word
		}
		lines = append(lines, line)
	}
	return lines
}

// ensure starts a new page unless h mm fit above the bottom margin.
func (p *pdfWriter) ensure(h float64) {
	if p.pdf.GetY()+h > pdfPageH-pdfBottom {
		p.pdf.AddPage()
	}
}

// heading writes a section (level 1) or subsection (level 2) heading with an outline entry.
func (p *pdfWriter) heading(level int, text string) {
	f := p.pdf
	size := 15.0
	if level > 1 {
		size = 11.5
	}
	p.ensure(lineHeight(size) + 25)
	f.Ln(level3(level, 4, 2.5))
	f.Bookmark(text, level-1, -1)
	f.SetFont("sans", "B", size)
	f.MultiCell(pdfTextW, lineHeight(size)+1, text, "", "L", false)
	f.Ln(1.5)
}

func level3(level int, a, b float64) float64 {
	if level == 1 {
		return a
	}
	return b
}

// para writes a paragraph in the given style and size.
func (p *pdfWriter) para(text, style string, size float64) {
	f := p.pdf
	f.SetFont("sans", style, size)
	for _, line := range p.wrap(text, pdfTextW-2*f.GetCellMargin()) {
		p.ensure(lineHeight(size))
		f.CellFormat(pdfTextW, lineHeight(size), line, "", 1, "L", false, 0, "")
	}
	f.Ln(1.5)
}

// pdfCol is a table column: its heading, alignment ("L" or "R"), whether it is set in the mono
// font, and whether it may be narrowed (its cells wrap) when the table is wider than the page.
type pdfCol struct {
	head  string
	align string
	mono  bool
	wrap  bool
	// upright sets the header bottom-to-top, so that a narrow column of counts under a long
	// name (a matrix of detectors by incident types) needs only its numbers' width.
	upright bool
	width   float64 // set by table
}

// cellFont selects the font of a cell.
func (p *pdfWriter) cellFont(col pdfCol, style string, size float64) {
	if col.mono && style != "B" {
		p.pdf.SetFont("mono", "", size)
	} else {
		p.pdf.SetFont("sans", style, size)
	}
}

// layoutColumns gives each column its natural width (its widest cell), at least minColWidth; if
// the table is wider than the page, the wrapping columns share what the others leave, in
// proportion to their natural widths (all columns do, when none wraps).
func (p *pdfWriter) layoutColumns(cols []pdfCol, rows [][]string, size float64) {
	const minColWidth = 9.0
	natural := make([]float64, len(cols))
	total := 0.0
	for c := range cols {
		p.cellFont(cols[c], "B", size)
		w := p.pdf.GetStringWidth(cols[c].head)
		if cols[c].upright {
			w = lineHeight(size)
		}
		p.cellFont(cols[c], "", size)
		for _, r := range rows {
			w = max(w, p.pdf.GetStringWidth(r[c]))
		}
		natural[c] = max(w+2*pdfCellPad+0.4, minColWidth)
		total += natural[c]
	}
	fixed, flexible := 0.0, 0.0
	for c := range cols {
		if cols[c].wrap {
			flexible += natural[c]
		} else {
			fixed += natural[c]
		}
	}
	for c := range cols {
		switch {
		case total <= pdfTextW:
			cols[c].width = natural[c]
		case flexible > 0 && fixed < pdfTextW*0.7:
			if cols[c].wrap {
				cols[c].width = (pdfTextW - fixed) * natural[c] / flexible
			} else {
				cols[c].width = natural[c]
			}
		default:
			cols[c].width = pdfTextW * natural[c] / total
		}
	}
}

// table writes rows under a header repeated on every page the table spans. Cells wrap; a row
// never splits across pages. bold marks rows to set in bold (the overall line).
func (p *pdfWriter) table(cols []pdfCol, rows [][]string, size float64, bold func(i int) bool) {
	f := p.pdf
	cols = append([]pdfCol(nil), cols...)
	p.layoutColumns(cols, rows, size)
	lh := lineHeight(size)
	cellLines := func(style string, cells []string) ([][]string, float64) {
		out := make([][]string, len(cols))
		n := 1
		for c := range cols {
			p.cellFont(cols[c], style, size)
			out[c] = p.wrap(cells[c], cols[c].width-2*pdfCellPad)
			n = max(n, len(out[c]))
		}
		return out, float64(n)*lh + 2*pdfCellPad
	}
	heads := make([]string, len(cols))
	upright := 0.0 // the header's height for its upright names
	for c, col := range cols {
		if col.upright {
			p.cellFont(col, "B", size)
			upright = max(upright, p.pdf.GetStringWidth(col.head)+2*pdfCellPad)
			continue
		}
		heads[c] = col.head
	}
	// drawRow draws a row; the header (head) is filled, starts no page of its own, and with
	// upright names is at least their height, its other names set at its foot.
	var drawRow func(style string, cells []string, head bool)
	header := func() { drawRow("B", heads, true) } // again after each page break
	drawRow = func(style string, cells []string, head bool) {
		lines, h := cellLines(style, cells)
		bottom := head && upright > 0
		if bottom {
			h = max(h, upright)
		}
		if f.GetY()+h > pdfPageH-pdfBottom {
			f.AddPage()
			if !head {
				header()
			}
		}
		x0, y0 := f.GetXY()
		if head {
			f.SetFillColor(232, 236, 243)
			f.Rect(x0, y0, tableWidth(cols), h, "F")
		}
		x := x0
		for c, col := range cols {
			p.cellFont(col, style, size)
			if head && col.upright {
				// Rotated a quarter turn counter-clockwise about its start, the baseline runs
				// up the column and the letters stand to its left: set it at the right edge of
				// the cells' text for a right-aligned column (over the numbers' last digits),
				// else so that the letters are centred.
				bx, by := x+col.width/2+size*0.3528*0.35, y0+h-pdfCellPad
				if col.align == "R" {
					bx = x + col.width - pdfCellPad
				}
				f.TransformBegin()
				f.TransformRotate(90, bx, by)
				f.Text(bx, by, col.head)
				f.TransformEnd()
				x += col.width
				continue
			}
			top := y0 + pdfCellPad
			if bottom {
				top = y0 + h - pdfCellPad - float64(len(lines[c]))*lh
			}
			for k, line := range lines[c] {
				f.SetXY(x+pdfCellPad, top+float64(k)*lh)
				f.CellFormat(col.width-2*pdfCellPad, lh, line, "", 0, col.align, false, 0, "")
			}
			x += col.width
		}
		f.SetDrawColor(200, 200, 200)
		f.SetLineWidth(0.15)
		f.Line(x0, y0+h, x0+tableWidth(cols), y0+h)
		f.SetXY(x0, y0+h)
	}
	p.ensure(3 * lh * 2)
	header()
	for i, row := range rows {
		style := ""
		if bold != nil && bold(i) {
			style = "B"
		}
		drawRow(style, row, false)
	}
	f.Ln(3)
}

func tableWidth(cols []pdfCol) float64 {
	w := 0.0
	for _, c := range cols {
		w += c.width
	}
	return w
}

// keyValues writes name/value pairs as a two-column table without header.
func (p *pdfWriter) keyValues(pairs []Field, keyWidth, size float64) {
	f := p.pdf
	lh := lineHeight(size)
	for _, kv := range pairs {
		f.SetFont("sans", "", size)
		lines := p.wrap(kv.Value, pdfTextW-keyWidth-2*pdfCellPad)
		h := float64(len(lines))*lh + 1
		p.ensure(h)
		x0, y0 := f.GetXY()
		f.SetFont("sans", "B", size)
		f.CellFormat(keyWidth, lh, kv.Name, "", 0, "L", false, 0, "")
		f.SetFont("sans", "", size)
		for k, line := range lines {
			f.SetXY(x0+keyWidth, y0+float64(k)*lh)
			f.CellFormat(pdfTextW-keyWidth, lh, line, "", 0, "L", false, 0, "")
		}
		f.SetXY(x0, y0+h)
	}
	f.Ln(2)
}

// Sections.

func (p *pdfWriter) titlePage() {
	f := p.pdf
	d := p.doc
	f.AddPage()
	f.Bookmark("Run", 0, -1)
	f.SetFont("sans", "B", 22)
	f.MultiCell(pdfTextW, 10, p.title(), "", "L", false)
	f.SetFont("sans", "", 12)
	f.SetTextColor(70, 70, 70)
	f.MultiCell(pdfTextW, 6, "Run "+d.Run+" · "+d.Generator, "", "L", false)
	if d.Redaction != "" {
		f.SetTextColor(160, 30, 30)
		f.MultiCell(pdfTextW, 6, "Account ids redacted: "+d.Redaction, "", "L", false)
	}
	f.SetTextColor(0, 0, 0)
	f.Ln(4)
	p.heading(2, "Run identity")
	p.keyValues(d.Identity, 38, 9)
	if d.Overall != nil {
		o := d.Overall
		p.heading(2, "At a glance")
		p.para(fmt.Sprintf("Over %d labelled incidents, the run's %d alerts detected %d (recall %.3f) with %d false alerts "+
			"(precision %.3f, F1 %.3f). %d incidents were missed.", o.Incidents, o.Alerts, o.TP, o.Recall, o.FP, o.Precision, o.F1, o.FN),
			"", 10)
	}
}

func (p *pdfWriter) datasetSection() {
	d := &p.doc.Dataset
	p.heading(1, "Dataset")
	var kv []Field
	kv = append(kv, Field{"Folder", d.Dir})
	if !d.Available {
		kv = append(kv, Field{"Availability", "not found when the report was made: figures from the run folder only"})
	}
	if d.From != "" {
		kv = append(kv, Field{"Time span", fmt.Sprintf("%s to %s (%.3f days)", d.From, d.To, d.SpanDays)})
	}
	if d.Accounts >= 0 {
		kv = append(kv, Field{"Accounts", fmt.Sprint(d.Accounts)})
	}
	p.keyValues(kv, 38, 9)
	if len(d.Tables) > 0 {
		p.heading(2, "Rows per table")
		var rows [][]string
		for _, t := range d.Tables {
			rows = append(rows, []string{t.Table, fmt.Sprint(t.Rows)})
		}
		p.table([]pdfCol{{head: "Table", align: "L"}, {head: "Rows", align: "R"}}, rows, 9, nil)
	}
	if len(d.Symbols) > 0 {
		p.heading(2, "Symbols")
		var rows [][]string
		for _, s := range d.Symbols {
			rows = append(rows, []string{s.Symbol, fmt.Sprint(s.Trades), fmt.Sprint(s.Marks)})
		}
		p.table([]pdfCol{{head: "Symbol", align: "L"}, {head: "Trades", align: "R"}, {head: "Marks", align: "R"}}, rows, 9, nil)
	}
	if len(d.Incidents) > 0 {
		p.heading(2, "Labelled incidents by type")
		var rows [][]string
		for _, t := range d.Incidents {
			rows = append(rows, []string{t.Type, fmt.Sprint(t.Incidents)})
		}
		p.table([]pdfCol{{head: "Type", align: "L"}, {head: "Incidents", align: "R"}}, rows, 9, nil)
	}
	if len(d.Inputs) > 0 {
		p.heading(2, "Input files")
		var rows [][]string
		for _, in := range d.Inputs {
			rows = append(rows, []string{in.Table, in.Path, fmt.Sprint(in.Bytes), in.SHA256})
		}
		p.table([]pdfCol{{head: "Table", align: "L"}, {head: "Path", align: "L", wrap: true}, {head: "Bytes", align: "R"}, {head: "SHA-256", align: "L", mono: true, wrap: true}}, rows, 7.5, nil)
	}
}

func (p *pdfWriter) qualitySection() {
	d := p.doc
	p.heading(1, "Detection quality")
	cols := []pdfCol{
		{head: "Detector", align: "L"}, {head: "Alerts", align: "R"}, {head: "Incidents", align: "R"}, {head: "TP", align: "R"},
		{head: "FP (dup.)", align: "R"}, {head: "FN", align: "R"}, {head: "Precision", align: "R"}, {head: "Recall", align: "R"},
		{head: "F1", align: "R"}, {head: "AP", align: "R"}, {head: "TTD median", align: "R"}, {head: "Alerts/day", align: "R"},
	}
	var rows [][]string
	all := append([]MetricsRow(nil), d.Metrics...)
	if d.Overall != nil {
		all = append(all, *d.Overall)
	}
	for _, r := range all {
		ttd := "–"
		if r.TTDCount > 0 {
			ttd = formatSeconds(r.TTDMedianS)
		}
		rows = append(rows, []string{r.Detector, fmt.Sprint(r.Alerts), fmt.Sprint(r.Incidents), fmt.Sprint(r.TP),
			fmt.Sprintf("%d (%d)", r.FP, r.Duplicates), fmt.Sprint(r.FN), fmt.Sprintf("%.3f", r.Precision),
			fmt.Sprintf("%.3f", r.Recall), fmt.Sprintf("%.3f", r.F1), fmt.Sprintf("%.3f", r.AveragePrecision), ttd,
			fmt.Sprintf("%.2f", r.AlertsPerDay)})
	}
	p.table(cols, rows, 8, func(i int) bool { return d.Overall != nil && i == len(rows)-1 })
	p.para(metricsExplanation, "I", 8)

	if len(d.Comparison) > 0 {
		p.heading(2, "Detector comparison")
		var rows [][]string
		for _, r := range d.Comparison {
			rows = append(rows, []string{r.Detector, fmt.Sprintf("%.3f%s", r.Precision, formatCI(r.PrecisionCI)),
				fmt.Sprintf("%.3f%s", r.Recall, formatCI(r.RecallCI)), fmt.Sprintf("%.3f%s", r.F1, formatCI(r.F1CI))})
		}
		p.table([]pdfCol{{head: "Detector", align: "L"}, {head: "Precision", align: "R"}, {head: "Recall", align: "R"}, {head: "F1", align: "R"}}, rows, 8.5, nil)
		if d.CINote != "" {
			p.para("Brackets: "+d.CINote+".", "I", 8)
		}
	}
	if c := d.Confusion; len(c.Detectors) > 0 {
		p.heading(2, "Alerts by incident type")
		cols := []pdfCol{{head: "Detector", align: "L"}}
		for _, t := range c.Types {
			cols = append(cols, pdfCol{head: t, align: "R", upright: true})
		}
		cols = append(cols, pdfCol{head: "no incident", align: "R", upright: true}, pdfCol{head: "alerts", align: "R", upright: true})
		var rows [][]string
		for i, det := range c.Detectors {
			row := []string{det}
			for t := range c.Types {
				cell := fmt.Sprint(c.Counts[i][t])
				if c.Types[t] == c.Own[i] {
					cell += " *"
				}
				row = append(row, cell)
			}
			rows = append(rows, append(row, fmt.Sprint(c.Outside[i]), fmt.Sprint(c.Alerts[i])))
		}
		p.table(cols, rows, 8.5, nil)
		p.para(confusionExplanation, "I", 8)
	}
	if len(d.Uncovered) > 0 {
		p.heading(2, "Incidents no detector covers")
		var parts []string
		for _, u := range d.Uncovered {
			parts = append(parts, fmt.Sprintf("%s: %d", u.Type, u.Incidents))
		}
		p.para("Labelled incidents of these types are not counted anywhere, since no detector of the run detects them: "+
			strings.Join(parts, ", ")+".", "", 9)
	}
}

func (p *pdfWriter) figuresSection(figs []*Figure, pngs [][]byte) {
	f := p.pdf
	p.figurePage = map[string]int{}
	if len(figs) == 0 {
		return
	}
	f.AddPage()
	f.Bookmark("Figures", 0, -1)
	for i, fig := range figs {
		w := pdfTextW
		h := w * float64(fig.Height) / float64(fig.Width)
		f.SetFont("sans", "I", 8.5)
		capLines := p.wrap(fig.Caption, pdfTextW)
		need := 9 + h + float64(len(capLines))*lineHeight(8.5) + 4
		if f.GetY()+need > pdfPageH-pdfBottom {
			f.AddPage()
		}
		f.Bookmark(fig.Title, 1, -1)
		f.SetFont("sans", "B", 11.5)
		f.CellFormat(pdfTextW, 7, fmt.Sprintf("Figure %d. %s", i+1, fig.Title), "", 1, "L", false, 0, "")
		p.figurePage[fig.Name] = f.PageNo()
		f.RegisterImageOptionsReader(fig.Name, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(pngs[i]))
		y := f.GetY()
		f.ImageOptions(fig.Name, pdfMargin, y, w, h, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
		f.SetY(y + h + 1)
		f.SetFont("sans", "I", 8.5)
		for _, line := range capLines {
			f.CellFormat(pdfTextW, lineHeight(8.5), line, "", 1, "L", false, 0, "")
		}
		f.Ln(5)
	}
}

func (p *pdfWriter) figureRef(name string) string {
	if page, ok := p.figurePage[name]; ok {
		return fmt.Sprintf("timeline on page %d", page)
	}
	return "–"
}

func (p *pdfWriter) missesSection() {
	d := p.doc
	p.pdf.AddPage()
	p.heading(1, "Missed incidents")
	if d.MissesTotal == 0 {
		p.para("Every labelled incident a detector of the run is scored on was detected.", "", 10)
		return
	}
	p.para(missesIntro(len(d.Misses), d.MissesTotal), "", 9)
	for i, m := range d.Misses {
		kv := []Field{
			{"Incident", fmt.Sprintf("%s (%s) on %s", m.IncidentID, m.Type, m.Symbol)},
			{"Span", fmt.Sprintf("%s to %s (%s)", FormatTime(m.Start), FormatTime(m.End), formatDuration(m.End-m.Start))},
			{"Accounts", formatAccounts(m.Accounts)},
			{"Nearest alert", nearestText(m.Nearest)},
		}
		if m.Timeline != "" {
			kv = append(kv, Field{"Figure", p.figureRef(m.Timeline)})
		}
		p.caseBlock(fmt.Sprintf("M%d. %s missed %s", i+1, m.Detector, m.IncidentID), kv)
	}
}

func (p *pdfWriter) falseAlertsSection() {
	d := p.doc
	p.pdf.AddPage()
	p.heading(1, "False alerts")
	if d.FalseAlertsTotal == 0 {
		p.para("Every alert of the run matched a labelled incident.", "", 10)
		return
	}
	p.para(falseAlertsIntro(len(d.FalseAlerts), d.FalseAlertsTotal), "", 9)
	for i, a := range d.FalseAlerts {
		kind := "false alert"
		if a.Duplicate {
			kind = "repeat alert on an already-detected incident"
		}
		kv := []Field{
			{"Alert", fmt.Sprintf("%s on %s at %s, score %s (%s)", a.Detector, a.Symbol, FormatTime(a.TS), formatScore(a.Score), kind)},
			{"Window", fmt.Sprintf("%s to %s", FormatTime(a.WindowStart), FormatTime(a.WindowEnd))},
			{"Accounts", formatAccounts(a.Accounts)},
			{"Features", formatFeatures(a.Features)},
			{"Order ids", formatIDs(a.OrderIDs, maxIDsShown)},
			{"Trade ids", formatIDs(a.TradeIDs, maxIDsShown)},
		}
		if a.Note != "" {
			kv = append(kv, Field{"Note", a.Note})
		}
		kv = append(kv, Field{"Key", a.Key})
		if a.Timeline != "" {
			kv = append(kv, Field{"Figure", p.figureRef(a.Timeline)})
		}
		p.caseBlock(fmt.Sprintf("F%d. %s, score %s", i+1, a.Detector, formatScore(a.Score)), kv)
	}
}

// caseBlock writes one case: a bold title and its evidence, kept on one page.
func (p *pdfWriter) caseBlock(title string, kv []Field) {
	f := p.pdf
	f.SetFont("sans", "", 8.5)
	h := lineHeight(10) + 2
	for _, field := range kv {
		h += float64(len(p.wrap(field.Value, pdfTextW-28-2*pdfCellPad)))*lineHeight(8.5) + 1
	}
	p.ensure(h)
	f.SetFont("sans", "B", 10)
	f.CellFormat(pdfTextW, lineHeight(10)+1, title, "", 1, "L", false, 0, "")
	p.keyValues(kv, 28, 8.5)
}

func (p *pdfWriter) notesAndConfig() {
	d := p.doc
	if len(d.Notes) > 0 {
		p.heading(1, "Notes")
		for _, n := range d.Notes {
			p.para("• "+n, "", 9)
		}
	}
	if d.Config != "" {
		p.pdf.AddPage()
		p.heading(1, "Appendix: configuration (config.yaml)")
		f := p.pdf
		f.SetFont("mono", "", 7)
		for _, line := range strings.Split(strings.TrimRight(d.Config, "\n"), "\n") {
			for _, part := range p.wrap(strings.ReplaceAll(line, "\t", "    "), pdfTextW) {
				p.ensure(lineHeight(7))
				f.CellFormat(pdfTextW, lineHeight(7), part, "", 1, "L", false, 0, "")
			}
		}
	}
}

// Texts shared by the PDF, HTML and Markdown renderings.

const metricsExplanation = "Event-level, one-to-one matching of alerts to labelled incidents. FP (dup.): false positives, of which " +
	"repeats inside an already-detected incident's window. Precision is 0 with no alerts and recall 0 with no incidents. " +
	"AP: average precision with recall relative to all incidents. TTD median: median time from incident start to the " +
	"detector's first eligible alert. Overall: sums over detectors (micro average); its AP is the mean over detectors with incidents."

const confusionExplanation = "Counts of each detector's alerts that fall inside incidents of each type (same symbol, within the " +
	"incident's matching window, sharing an account when the incident names accounts). * marks the type the detector is " +
	"scored on. An alert inside incidents of two types counts in both columns."

func missesIntro(shown, total int) string {
	s := fmt.Sprintf("%d labelled incidents were not matched by any alert of the detector scored on them. Listed", total)
	if shown < total {
		s += fmt.Sprintf(" are %d (all are in the run's matches.parquet),", shown)
	}
	return s + " the detectors in turn, each one's longest incidents first. Nearest alert: the detector's alert on the " +
		"symbol closest in time, and why it did not match."
}

func falseAlertsIntro(shown, total int) string {
	s := fmt.Sprintf("%d alerts matched no incident. Listed", total)
	if shown < total {
		s += fmt.Sprintf(" are %d (all are in the run's alerts.parquet),", shown)
	}
	return s + " the detectors in turn, each one's highest scores first, repeats of already-detected incidents last."
}

func nearestText(n *NearAlert) string {
	if n == nil {
		return "none: the detector raised no alert on this symbol"
	}
	return fmt.Sprintf("%s, score %s: %s", FormatTime(n.TS), formatScore(n.Score), n.Reason)
}

// distinctWidths returns the images with every pixel width different, widening later images of
// an already-seen width by white columns at their right (a pixel or a few, invisible at the
// printed size). fpdf writes images in the order of a map, which SetCatalogSort makes
// deterministic only by sorting on the width: equal widths would leave the order, and so the
// bytes of the PDF, to chance.
func distinctWidths(pngs [][]byte) ([][]byte, error) {
	out := make([][]byte, len(pngs))
	used := map[int]bool{}
	for i, b := range pngs {
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("figure %d: %w", i+1, err)
		}
		w := cfg.Width
		for used[w] {
			w++
		}
		used[w] = true
		if w == cfg.Width {
			out[i] = b
			continue
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("figure %d: %w", i+1, err)
		}
		wide := image.NewRGBA(image.Rect(0, 0, w, cfg.Height))
		draw.Draw(wide, wide.Bounds(), image.White, image.Point{}, draw.Src)
		draw.Draw(wide, img.Bounds(), img, img.Bounds().Min, draw.Src)
		var buf bytes.Buffer
		if err := png.Encode(&buf, wide); err != nil {
			return nil, fmt.Errorf("figure %d: %w", i+1, err)
		}
		out[i] = buf.Bytes()
	}
	return out, nil
}
