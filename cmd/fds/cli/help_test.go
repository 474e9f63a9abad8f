package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasAnExample walks the command tree: each command's --help must show a worked
// example (cobra's own help command aside).
func TestEveryCommandHasAnExample(t *testing.T) {
	root := NewRoot(&App{Stdout: &strings.Builder{}, Stderr: &strings.Builder{}})
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	n := 0
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() == "help" && c.Parent() == root {
			return
		}
		n++
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s has no Example in its --help", c.CommandPath())
		} else if !strings.Contains(c.Example, c.Root().Name()+" ") {
			t.Errorf("%s: its example does not show an fds command line: %q", c.CommandPath(), c.Example)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if n < 10 {
		t.Fatalf("walked only %d commands", n)
	}
	// --help prints the example.
	code, out, _ := fds(t, "query", "--help")
	if code != ExitOK || !strings.Contains(out, "Examples:") || !strings.Contains(out, "fds query --run runs/demo") {
		t.Errorf("fds query --help: exit %d\n%s", code, out)
	}
}

// shellFields splits a README command line as a POSIX shell would for the simple lines there:
// single and double quotes, backslash escapes, and a # comment after a blank.
func shellFields(line string) ([]string, error) {
	var fields []string
	var cur strings.Builder
	inField := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inField = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte("\"\\$`", line[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, errors.New("unterminated double quote")
			}
			inField = true
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			inField = true
		case c == ' ' || c == '\t':
			if inField {
				fields = append(fields, cur.String())
				cur.Reset()
				inField = false
			}
		case c == '#' && !inField:
			i = len(line)
		default:
			cur.WriteByte(c)
			inField = true
		}
	}
	if inField {
		fields = append(fields, cur.String())
	}
	return fields, nil
}

func TestShellFields(t *testing.T) {
	got, err := shellFields(`bin/fds query --run runs/demo "SELECT 'a' FROM t WHERE x = \"y\"" --x 'it''s' a\ b  # comment`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"bin/fds", "query", "--run", "runs/demo", `SELECT 'a' FROM t WHERE x = "y"`, "--x", "its", "a b"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// readmeTourCommands returns the fds command lines of the README's Tour section, in order.
func readmeTourCommands(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Skipf("README.md not found: %v", err)
	}
	_, tour, ok := strings.Cut(string(b), "\n## Tour\n")
	if !ok {
		t.Fatal("README.md has no Tour section")
	}
	if i := strings.Index(tour, "\n## "); i >= 0 {
		tour = tour[:i]
	}
	cmds := commandLines(t, tour)
	if len(cmds) == 0 {
		t.Fatal("the README's Tour shows no fds command")
	}
	return cmds
}

// commandLines returns the fds command lines (bin/fds or fds, then the arguments) of the code
// blocks of a Markdown text, without the program name.
func commandLines(t *testing.T, markdown string) [][]string {
	t.Helper()
	var cmds [][]string
	inCode := false
	for _, line := range strings.Split(markdown, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inCode = !inCode
			continue
		}
		line = strings.TrimSpace(line)
		if !inCode || !(strings.HasPrefix(line, "bin/fds ") || strings.HasPrefix(line, "fds ")) {
			continue
		}
		f, err := shellFields(line)
		if err != nil {
			t.Fatalf("README line %q: %v", line, err)
		}
		cmds = append(cmds, f[1:])
	}
	return cmds
}

// TestReadmeTourRuns runs every command of the README's Tour in order, in memory through Main, in
// an empty folder, and requires each to succeed: a new user following the README gets there. The
// one change is that the generated market is the small preset (about 100k events; the default's
// 2M take long for a unit test): the commands are otherwise as written.
func TestReadmeTourRuns(t *testing.T) {
	cmds := readmeTourCommands(t)
	t.Chdir(t.TempDir())
	runCommandsAsWritten(t, cmds)
}

// runCommandsAsWritten runs fds command lines in order through Main, the market generated with
// the small preset, and fails on the first that does not succeed.
func runCommandsAsWritten(t *testing.T, cmds [][]string) {
	t.Helper()
	root := NewRoot(&App{Stdout: &strings.Builder{}, Stderr: &strings.Builder{}})
	for _, args := range cmds {
		if c, _, err := root.Find(args); err != nil || c == root {
			t.Fatalf("README command %q: no such fds command", strings.Join(args, " "))
		}
		if len(args) >= 2 && args[0] == "datasets" && args[1] == "generate" {
			args = append(append([]string(nil), args...), "--preset", "small")
		}
		code, stdout, stderr := fds(t, args...)
		if code != ExitOK {
			t.Fatalf("fds %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
		}
	}
}
