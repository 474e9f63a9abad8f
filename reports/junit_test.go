package reports

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parsedSuites is an independent reading of the common JUnit shape, as CI tools parse it.
type parsedSuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Cases    []struct {
			ClassName string `xml:"classname,attr"`
			Name      string `xml:"name,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Body    string `xml:",chardata"`
			} `xml:"failure"`
			Error   *struct{} `xml:"error"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestWriteJUnitShapeAndCounts(t *testing.T) {
	r := JUnitSuites{Name: "fds", Suites: []JUnitSuite{
		{Name: "spoofing", Cases: []JUnitCase{
			{ClassName: "regress.spoofing", Name: "precision"},
			{ClassName: "regress.spoofing", Name: "recall", Failure: &JUnitProblem{
				Message: "recall dropped\nby 0.2", Type: "regression", Detail: "a < b & \x01c"}},
			{ClassName: "regress.spoofing", Name: "ttd_median", Skipped: &JUnitProblem{Message: "undefined"}},
		}},
		{Name: "file.fdstest", Cases: []JUnitCase{
			{ClassName: "file", Name: "broken", Error: &JUnitProblem{Message: "parse error"}},
		}},
	}}
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "<?xml") {
		t.Fatalf("no XML header:\n%s", buf.String())
	}
	var got parsedSuites
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not well-formed XML: %v\n%s", err, buf.String())
	}
	// Counts by hand: 4 cases, 1 failure, 1 error, 1 skipped.
	if got.Tests != 4 || got.Failures != 1 || got.Errors != 1 || got.Skipped != 1 {
		t.Errorf("totals tests=%d failures=%d errors=%d skipped=%d, want 4 1 1 1", got.Tests, got.Failures, got.Errors, got.Skipped)
	}
	if len(got.Suites) != 2 || got.Suites[0].Name != "spoofing" || got.Suites[0].Tests != 3 || got.Suites[0].Failures != 1 {
		t.Fatalf("suites: %+v", got.Suites)
	}
	c := got.Suites[0].Cases[1]
	if c.Name != "recall" || c.ClassName != "regress.spoofing" || c.Failure == nil {
		t.Fatalf("failing case: %+v", c)
	}
	if c.Failure.Message != "recall dropped by 0.2" {
		t.Errorf("failure message %q: want one line", c.Failure.Message)
	}
	if c.Failure.Body != "a < b & c" {
		t.Errorf("failure body %q: want escaped text without control characters", c.Failure.Body)
	}
	if got.Suites[1].Errors != 1 || got.Suites[1].Cases[0].Error == nil {
		t.Errorf("error case not written: %+v", got.Suites[1])
	}
}

func TestWriteJUnitIsDeterministicAndAtomic(t *testing.T) {
	r := JUnitSuites{Name: "x", Suites: []JUnitSuite{{Name: "s", Cases: []JUnitCase{{Name: "a"}}}}}
	var a, b bytes.Buffer
	if err := WriteJUnit(&a, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteJUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatal("two writes differ")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "junit.xml")
	if err := WriteJUnitFile(path, r); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != a.String() {
		t.Fatalf("file content differs (err %v)", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}
