package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// JUnit XML is what CI systems (GitHub Actions test reporters, GitLab's junit artifacts, Jenkins)
// read to show test results. The shape written here is the common denominator those tools accept:
//
//	<testsuites name tests failures errors skipped>
//	  <testsuite name tests failures errors skipped time>
//	    <testcase classname name time>
//	      [<failure message type>details</failure> | <error ...> | <skipped message/>]
//	      [<system-out>...</system-out>]
//
// The counts are derived from the cases when written, so they cannot disagree with them.

// JUnitSuites is a whole JUnit report.
type JUnitSuites struct {
	Name   string
	Suites []JUnitSuite
}

// JUnitSuite is one <testsuite>: in fds, one detector (fds regress) or one test file (fds test).
type JUnitSuite struct {
	Name  string
	Cases []JUnitCase
}

// JUnitCase is one <testcase>. At most one of Failure, Error and Skipped is set.
type JUnitCase struct {
	ClassName string
	Name      string
	// Failure is a failed check; Error a case that could not run (malformed test, unknown
	// detector); Skipped a check that does not apply (a metric undefined on both runs).
	Failure *JUnitProblem
	Error   *JUnitProblem
	Skipped *JUnitProblem
	// Output is extra text shown with the case (system-out).
	Output string
}

// JUnitProblem is the content of a <failure>, <error> or <skipped> element.
type JUnitProblem struct {
	Message string
	Type    string
	Detail  string
}

// Counts returns the suite's number of cases, failures, errors and skipped cases.
func (s *JUnitSuite) Counts() (tests, failures, errors, skipped int) {
	for i := range s.Cases {
		c := &s.Cases[i]
		tests++
		switch {
		case c.Failure != nil:
			failures++
		case c.Error != nil:
			errors++
		case c.Skipped != nil:
			skipped++
		}
	}
	return
}

// The XML encoding.

type xmlSuites struct {
	XMLName  xml.Name   `xml:"testsuites"`
	Name     string     `xml:"name,attr,omitempty"`
	Tests    int        `xml:"tests,attr"`
	Failures int        `xml:"failures,attr"`
	Errors   int        `xml:"errors,attr"`
	Skipped  int        `xml:"skipped,attr"`
	Time     string     `xml:"time,attr"`
	Suites   []xmlSuite `xml:"testsuite"`
}

type xmlSuite struct {
	Name     string    `xml:"name,attr"`
	Tests    int       `xml:"tests,attr"`
	Failures int       `xml:"failures,attr"`
	Errors   int       `xml:"errors,attr"`
	Skipped  int       `xml:"skipped,attr"`
	Time     string    `xml:"time,attr"`
	Cases    []xmlCase `xml:"testcase"`
}

type xmlCase struct {
	ClassName string      `xml:"classname,attr"`
	Name      string      `xml:"name,attr"`
	Time      string      `xml:"time,attr"`
	Failure   *xmlProblem `xml:"failure,omitempty"`
	Error     *xmlProblem `xml:"error,omitempty"`
	Skipped   *xmlProblem `xml:"skipped,omitempty"`
	SystemOut string      `xml:"system-out,omitempty"`
}

type xmlProblem struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Detail  string `xml:",chardata"`
}

func problem(p *JUnitProblem) *xmlProblem {
	if p == nil {
		return nil
	}
	return &xmlProblem{Message: xmlSafe(junitOneLine(p.Message)), Type: p.Type, Detail: xmlSafe(p.Detail)}
}

// junitOneLine folds a message onto one line: CI tools show the message attribute as a title.
func junitOneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// xmlSafe drops the characters XML 1.0 cannot carry (control characters other than tab,
// newline and carriage return), which encoding/xml would otherwise write as invalid XML.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r != 0xFFFE && r != 0xFFFF) {
			return r
		}
		return -1
	}, s)
}

// WriteJUnit writes the report as JUnit XML. Times are written as 0: fds reports results, not
// durations, and a fixed value keeps the file byte-identical across runs.
func WriteJUnit(w io.Writer, r JUnitSuites) error {
	out := xmlSuites{Name: r.Name, Time: "0"}
	for _, s := range r.Suites {
		xs := xmlSuite{Name: xmlSafe(s.Name), Time: "0"}
		xs.Tests, xs.Failures, xs.Errors, xs.Skipped = s.Counts()
		for _, c := range s.Cases {
			xs.Cases = append(xs.Cases, xmlCase{
				ClassName: xmlSafe(c.ClassName), Name: xmlSafe(c.Name), Time: "0",
				Failure: problem(c.Failure), Error: problem(c.Error), Skipped: problem(c.Skipped),
				SystemOut: xmlSafe(c.Output),
			})
		}
		out.Tests += xs.Tests
		out.Failures += xs.Failures
		out.Errors += xs.Errors
		out.Skipped += xs.Skipped
		out.Suites = append(out.Suites, xs)
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// WriteJUnitFile writes the report to path atomically.
func WriteJUnitFile(path string, r JUnitSuites) error {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, r); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return WriteFileAtomic(path, buf.Bytes())
}
