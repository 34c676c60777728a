// Package tck reads the RSocket TCK scripts (rsocket-java's
// rsocket-tck-drivers format, see shared/conformance/README.md) and serves the
// server scripts' marbles with sluice handlers. The replay driver, which runs
// the client scripts through sluice's client against a sluice server, is in
// tck_test.go.
package tck

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
)

// Sep separates the fields of a script line.
const Sep = "%%"

// Step is one line of a client test.
type Step struct {
	Line int      // line number in the file (from 1)
	Conn string   // connection id, e.g. "c0"
	Op   string   // subscribe, request, cancel, take, await, assert, disconnect, resume
	Args []string // the fields after Op
	Raw  string
}

func (s Step) String() string { return fmt.Sprintf("line %d: %s", s.Line, s.Raw) }

// ClientTest is one test of a client script: the lines between two "!".
type ClientTest struct {
	File  string
	Name  string
	Line  int // line of the name
	Steps []Step
}

// ParseClient parses a client script.
func ParseClient(path string) ([]ClientTest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	file := filepath.Base(path)
	var tests []ClientTest
	var cur *ClientTest
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			continue
		case line == "EOF":
			return tests, nil
		case line == "!":
			tests = append(tests, ClientTest{File: file})
			cur = &tests[len(tests)-1]
			continue
		case cur == nil:
			return nil, fmt.Errorf("%s:%d: %q before the first \"!\"", file, n, line)
		}
		fields := strings.Split(line, Sep)
		if fields[0] == "name" {
			if len(fields) != 2 || cur.Name != "" {
				return nil, fmt.Errorf("%s:%d: bad name line %q", file, n, line)
			}
			cur.Name, cur.Line = fields[1], n
			continue
		}
		if len(fields) < 2 {
			return nil, fmt.Errorf("%s:%d: want CONN%%OP..., got %q", file, n, line)
		}
		cur.Steps = append(cur.Steps, Step{Line: n, Conn: fields[0], Op: fields[1], Args: fields[2:], Raw: line})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return tests, nil // no EOF line: accept the end of the file
}

// Number parses a script number leniently: the leading digits count, so
// "100v" (a typo in clientmultipleclientstest.txt) is 100.
func Number(s string) (int64, error) {
	s = strings.TrimSpace(s)
	end := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) })
	if end == 0 {
		return 0, fmt.Errorf("not a number: %q", s)
	}
	if end > 0 {
		s = s[:end]
	}
	return strconv.ParseInt(s, 10, 64)
}

// Element is one element of a marble: the data and metadata it emits.
type Element struct{ Data, Metadata string }

// Handler is one line of a server script: what to answer to a request of
// Kind ("rr", "rs" or "fnf") whose data and metadata match exactly.
type Handler struct {
	Kind, Data, Metadata string
	Marble               string
	Values               map[string]Element // from the optional json map
	Line                 int
}

// Element returns what the marble character c emits.
func (h Handler) Element(c rune) Element {
	if e, ok := h.Values[string(c)]; ok {
		return e
	}
	return Element{Data: string(c), Metadata: string(c)}
}

// ParseServer parses a server script.
func ParseServer(path string) ([]Handler, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	file := filepath.Base(path)
	var hs []Handler
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line == "EOF" {
			continue
		}
		fields := strings.SplitN(line, Sep, 4)
		if len(fields) != 4 {
			return nil, fmt.Errorf("%s:%d: want KIND%%DATA%%METADATA%%MARBLE, got %q", file, i+1, line)
		}
		h := Handler{Kind: fields[0], Data: fields[1], Metadata: fields[2], Marble: fields[3], Line: i + 1}
		if m, js, ok := strings.Cut(h.Marble, "&&"); ok {
			h.Marble = m
			var raw map[string]map[string]string
			if err := json.Unmarshal([]byte(js), &raw); err != nil {
				return nil, fmt.Errorf("%s:%d: marble map: %v", file, i+1, err)
			}
			h.Values = map[string]Element{}
			for k, v := range raw {
				if len(v) != 1 {
					return nil, fmt.Errorf("%s:%d: marble map entry %q: want one data:metadata pair", file, i+1, k)
				}
				for d, m := range v {
					h.Values[k] = Element{Data: d, Metadata: m}
				}
			}
		}
		switch h.Kind {
		case "rr", "rs", "fnf":
		default:
			return nil, fmt.Errorf("%s:%d: unknown interaction %q", file, i+1, h.Kind)
		}
		hs = append(hs, h)
	}
	return hs, nil
}

// ParseReceived parses the list of an assert%%received line:
// "d1,m1&&d2,m2".
func ParseReceived(s string) ([]Element, error) {
	var out []Element
	for _, item := range strings.Split(s, "&&") {
		d, m, ok := strings.Cut(item, ",")
		if !ok {
			return nil, fmt.Errorf("received item %q: want DATA,METADATA", item)
		}
		out = append(out, Element{Data: d, Metadata: m})
	}
	return out, nil
}
