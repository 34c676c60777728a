package main

import (
	"bufio"
	"encoding/hex"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// printer writes elements to stdout, one per line (see appendElement). Output
// is buffered and flushed at least every flushEvery, so a fast stream does
// not cost a system call per element while a slow one still shows up at
// once; a full buffer blocks the writer, which stops taking elements, which
// stops granting credit: a slow terminal or pipe applies backpressure.
type printer struct {
	mu    sync.Mutex
	w     *bufio.Writer
	line  []byte
	err   error
	dirty bool
	stop  chan struct{}
	done  chan struct{}
}

const flushEvery = 20 * time.Millisecond

func newPrinter(w io.Writer) *printer {
	p := &printer{w: bufio.NewWriterSize(w, 32<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go p.flusher()
	return p
}

func (p *printer) flusher() {
	defer close(p.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			if p.dirty {
				p.dirty = false
				if err := p.w.Flush(); err != nil && p.err == nil {
					p.err = err
				}
			}
			p.mu.Unlock()
		}
	}
}

// element prints one element's data on its own line.
func (p *printer) element(data []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.line = appendElement(p.line[:0], data)
	if _, err := p.w.Write(p.line); err != nil {
		p.err = err
		return err
	}
	p.dirty = true
	return nil
}

// close flushes and stops the flusher.
func (p *printer) close() error {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.w.Flush(); err != nil && p.err == nil {
		p.err = err
	}
	return p.err
}

// appendElement appends the output line for one element:
//   - UTF-8 text without control characters (tab allowed) as it is;
//   - other UTF-8 text (with newlines, say) quoted with Go/JSON-style escapes: "a\nb";
//   - anything that is not UTF-8 (binary) as 0x followed by lowercase hex.
func appendElement(dst, data []byte) []byte {
	switch {
	case printable(data):
		dst = append(dst, data...)
	case utf8.Valid(data):
		dst = strconv.AppendQuote(dst, string(data))
	default:
		dst = append(dst, "0x"...)
		dst = hex.AppendEncode(dst, data)
	}
	return append(dst, '\n')
}

// printable reports whether b is UTF-8 text without control characters other than tab.
func printable(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t') || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return false
		}
		if r >= 0x80 && r < 0xa0 || r == 0x2028 || r == 0x2029 {
			return false
		}
		i += n
	}
	return true
}
