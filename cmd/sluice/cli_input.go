package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
)

// inputReader yields the elements named by the -i options, in order: a
// literal string is one element, "-" is stdin and "@file" a file, one element
// per line (a trailing "\r" is dropped with the "\n"; empty lines are empty
// elements). Without any -i there is one empty element.
type inputReader struct {
	specs []string
	stdin *stdinLines
	i     int
	cur   *bufio.Reader
	file  *os.File
	none  bool // no -i: the one empty element was given
	cache bool // read stdin from stdinLines.lines (for --ops > 1)
	line  int  // index into the cache (one pass reads stdin once, as without the cache)
}

// stdinLines is the process's stdin, shared by every "-" and every --ops pass.
type stdinLines struct {
	r     *bufio.Reader
	lines [][]byte // all lines, once readAll has run
	read  bool
}

func newStdin(r io.Reader) *stdinLines { return &stdinLines{r: bufio.NewReaderSize(r, 64<<10)} }

// readAll reads stdin to the end (for --ops > 1 and --server, which replay it).
func (s *stdinLines) readAll() error {
	if s.read {
		return nil
	}
	s.read = true
	for {
		line, err := readLine(s.r)
		if line != nil {
			s.lines = append(s.lines, line)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func newInputReader(specs []string, stdin *stdinLines) *inputReader {
	return &inputReader{specs: specs, stdin: stdin, cache: stdin.read}
}

// readLine returns the next line without its "\n" or "\r\n"; nil and io.EOF at
// the end (a last line without "\n" is returned first, with a nil error).
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadBytes('\n')
	if len(line) == 0 && err != nil {
		return nil, err
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if err == io.EOF {
		err = nil
	}
	return line, err
}

// next returns the next element; ok is false at the end.
func (in *inputReader) next() (data []byte, ok bool, err error) {
	if len(in.specs) == 0 {
		if in.none {
			return nil, false, nil
		}
		in.none = true
		return []byte{}, true, nil
	}
	for in.i < len(in.specs) {
		spec := in.specs[in.i]
		switch {
		case spec == "-" && in.cache:
			if in.line < len(in.stdin.lines) {
				in.line++
				return in.stdin.lines[in.line-1], true, nil
			}
		case spec == "-":
			line, err := readLine(in.stdin.r)
			if err == nil {
				return line, true, nil
			}
			if err != io.EOF {
				return nil, false, fmt.Errorf("reading stdin: %v", err)
			}
		case strings.HasPrefix(spec, "@"):
			if in.cur == nil {
				f, err := os.Open(spec[1:])
				if err != nil {
					return nil, false, err
				}
				in.file, in.cur = f, bufio.NewReaderSize(f, 64<<10)
			}
			line, err := readLine(in.cur)
			if err == nil {
				return line, true, nil
			}
			in.file.Close()
			in.file, in.cur = nil, nil
			if err != io.EOF {
				return nil, false, fmt.Errorf("reading %s: %v", spec[1:], err)
			}
		default:
			in.i++
			return []byte(spec), true, nil
		}
		in.i++
	}
	return nil, false, nil
}

// close releases an open file.
func (in *inputReader) close() {
	if in.file != nil {
		in.file.Close()
		in.file, in.cur = nil, nil
	}
}

// all reads every element.
func (in *inputReader) all() ([][]byte, error) {
	defer in.close()
	var out [][]byte
	for {
		d, ok, err := in.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		out = append(out, d)
	}
}

// readArg reads a -m or --setup value: a string, or "@file" for the file's
// whole content.
func readArg(v string) ([]byte, error) {
	if strings.HasPrefix(v, "@") {
		return os.ReadFile(v[1:])
	}
	return []byte(v), nil
}
