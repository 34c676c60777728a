package tcp

import (
	"bytes"
	"testing"
)

// FuzzReadFrame: any byte stream parses into frames that, re-framed, give
// back a prefix of the input; no panics, no frame longer than its prefix says.
func FuzzReadFrame(f *testing.F) {
	f.Add(unhex(f, vectorWire))
	f.Add(unhex(f, "000000"+vectorWire))
	f.Add(unhex(f, "00000a0000"))
	f.Add([]byte{0xff, 0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewConn(&memConn{r: bytes.NewReader(in)})
		m := &memConn{r: bytes.NewReader(nil)}
		w := NewConn(m)
		for {
			fr, err := r.ReadFrame()
			if err == ErrEmptyFrame {
				w.Flush()
				m.w.Write([]byte{0, 0, 0})
				continue
			}
			if err != nil {
				break
			}
			if err := w.WriteFrame(fr); err != nil {
				t.Fatal(err)
			}
		}
		w.Flush()
		if !bytes.HasPrefix(in, m.w.Bytes()) {
			t.Fatalf("re-framed %x is not a prefix of %x", m.w.Bytes(), in)
		}
	})
}
