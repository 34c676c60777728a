package tcp

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memConn is a net.Conn reading from r and recording writes: byte-exact
// tests with no goroutines.
type memConn struct {
	r      io.Reader
	w      bytes.Buffer
	writes int
}

func (m *memConn) Read(p []byte) (int, error)         { return m.r.Read(p) }
func (m *memConn) Write(p []byte) (int, error)        { m.writes++; return m.w.Write(p) }
func (m *memConn) Close() error                       { return nil }
func (m *memConn) LocalAddr() net.Addr                { return nil }
func (m *memConn) RemoteAddr() net.Addr               { return nil }
func (m *memConn) SetDeadline(time.Time) error        { return nil }
func (m *memConn) SetReadDeadline(time.Time) error    { return nil }
func (m *memConn) SetWriteDeadline(t time.Time) error { return nil }

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The digest's TCP vector: REQUEST_N stream 1 n=5 with its length prefix.
const (
	vectorFrame = "00000001200000000005"
	vectorWire  = "00000a00000001200000000005"
)

func TestGoldenVectorWrite(t *testing.T) {
	m := &memConn{r: bytes.NewReader(nil)}
	c := NewConn(m)
	if err := c.WriteFrame(unhex(t, vectorFrame)); err != nil {
		t.Fatal(err)
	}
	if m.writes != 0 {
		t.Fatal("wrote before Flush")
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(m.w.Bytes()); got != vectorWire {
		t.Fatalf("wire %s, want %s", got, vectorWire)
	}
}

func TestGoldenVectorRead(t *testing.T) {
	c := NewConn(&memConn{r: bytes.NewReader(unhex(t, vectorWire+vectorWire))})
	for i := 0; i < 2; i++ {
		f, err := c.ReadFrame()
		if err != nil || hex.EncodeToString(f) != vectorFrame {
			t.Fatalf("frame %d: %x %v", i, f, err)
		}
	}
	if _, err := c.ReadFrame(); err != io.EOF {
		t.Fatalf("at end: %v, want io.EOF", err)
	}
}

func TestReadErrors(t *testing.T) {
	cases := []struct {
		name, wire string
		want       []error // one per ReadFrame; nil means a frame
	}{
		{"empty stream", "", []error{io.EOF}},
		{"truncated prefix 1", "00", []error{io.ErrUnexpectedEOF}},
		{"truncated prefix 2", "0000", []error{io.ErrUnexpectedEOF}},
		{"truncated frame", "00000a000000012000", []error{io.ErrUnexpectedEOF}},
		{"truncated large frame", "002000" + "00", []error{io.ErrUnexpectedEOF}},
		{"prefix only", "00000a", []error{io.ErrUnexpectedEOF}},
		{"zero length, then a frame", "000000" + vectorWire, []error{ErrEmptyFrame, nil, io.EOF}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := NewConn(&memConn{r: bytes.NewReader(unhex(t, tc.wire))})
			for i, want := range tc.want {
				f, err := c.ReadFrame()
				if err != want {
					t.Fatalf("read %d: %x %v, want %v", i, f, err, want)
				}
				if want == nil && hex.EncodeToString(f) != vectorFrame {
					t.Fatalf("read %d: %x", i, f)
				}
			}
		})
	}
}

func TestWriteLimits(t *testing.T) {
	m := &memConn{r: bytes.NewReader(nil)}
	c := NewConn(m)
	if err := c.WriteFrame(nil); err != ErrEmptyFrame {
		t.Fatalf("empty: %v", err)
	}
	if err := c.WriteFrame(make([]byte, transport.MaxFrame+1)); err != transport.ErrFrameTooLarge {
		t.Fatalf("MaxFrame+1: %v", err)
	}
	if m.w.Len() != 0 {
		t.Fatal("refused frames were written")
	}
}

func TestMaxFrameRoundTrip(t *testing.T) {
	big := make([]byte, transport.MaxFrame)
	big[0], big[len(big)-1] = 1, 2
	m := &memConn{r: bytes.NewReader(nil)}
	w := NewConn(m)
	if err := w.WriteFrame(big); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if got := hex.EncodeToString(m.w.Bytes()[:3]); got != "ffffff" {
		t.Fatalf("prefix %s", got)
	}
	r := NewConn(&memConn{r: bytes.NewReader(m.w.Bytes())})
	f, err := r.ReadFrame()
	if err != nil || !bytes.Equal(f, big) {
		t.Fatalf("read %d bytes, %v", len(f), err)
	}
}

func TestMixedSizesAndCoalescing(t *testing.T) {
	sizes := []int{1, 6, 100, 4093, 4096, 4097, 8192, 70000, 6, 1}
	m := &memConn{r: bytes.NewReader(nil)}
	w := NewConn(m)
	for i, n := range sizes[:3] {
		w.WriteFrame(bytes.Repeat([]byte{byte(i)}, n))
	}
	w.Flush()
	if m.writes != 1 {
		t.Fatalf("3 small frames took %d writes, want 1", m.writes)
	}
	for i, n := range sizes[3:] {
		w.WriteFrame(bytes.Repeat([]byte{byte(i + 3)}, n))
	}
	w.Flush()
	r := NewConn(&memConn{r: bytes.NewReader(m.w.Bytes())})
	for i, n := range sizes {
		f, err := r.ReadFrame()
		if err != nil || !bytes.Equal(f, bytes.Repeat([]byte{byte(i)}, n)) {
			t.Fatalf("frame %d (%d bytes): %d bytes, %v", i, n, len(f), err)
		}
	}
}

func TestLoopbackServeDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() {
		served <- Serve(ln, func(c transport.Conn) {
			for {
				f, err := c.ReadFrame()
				if err != nil {
					return
				}
				c.WriteFrame(f)
				if c.Flush() != nil {
					return
				}
			}
		})
	}()
	c, err := Dial(context.Background(), "tcp://"+ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	frames := [][]byte{unhex(t, vectorFrame), bytes.Repeat([]byte("x"), 100000), []byte("end")}
	for _, f := range frames {
		c.WriteFrame(f)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	for i, want := range frames {
		got, err := c.ReadFrame()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("echo %d: %d bytes, %v", i, len(got), err)
		}
	}
	if c.RemoteAddr().String() != ln.Addr().String() {
		t.Fatalf("RemoteAddr %v", c.RemoteAddr())
	}
	// Serve returns nil once the listener is closed and its handlers are done.
	ln.Close()
	c.Close()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func TestCloseUnblocksReadFrame(t *testing.T) {
	a, b := loopbackPair(t)
	got := make(chan error, 1)
	go func() {
		_, err := a.ReadFrame()
		got <- err
	}()
	a.Close()
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := <-got; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReadFrame after Close: %v", err)
	}
	if _, err := b.ReadFrame(); err != io.EOF {
		t.Fatalf("peer: %v, want io.EOF", err)
	}
}

func TestWriteDeadline(t *testing.T) {
	a, _ := loopbackPair(t) // the peer never reads
	a.nc.(*net.TCPConn).SetWriteBuffer(4096)
	frame := make([]byte, 64<<10)
	var err error
	for i := 0; i < 2000 && err == nil; i++ {
		a.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		if err = a.WriteFrame(frame); err == nil {
			err = a.Flush()
		}
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want a timeout", err)
	}
	if err := a.Flush(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("not sticky: %v", err)
	}
}

func loopbackPair(t *testing.T) (a, b *Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	var nb net.Conn
	go func() {
		defer wg.Done()
		nb, _ = ln.Accept()
	}()
	a, err = Dial(context.Background(), ln.Addr().String())
	wg.Wait()
	if err != nil || nb == nil {
		t.Fatalf("dial: %v", err)
	}
	b = NewConn(nb)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func BenchmarkWrite64(b *testing.B) {
	c := NewConn(&discardConn{})
	frame := make([]byte, 64)
	b.ReportAllocs()
	b.SetBytes(64)
	for i := 0; i < b.N; i++ {
		c.WriteFrame(frame)
		if i%64 == 63 {
			c.Flush()
		}
	}
}

func BenchmarkRead64(b *testing.B) {
	one := append([]byte{0, 0, 64}, make([]byte, 64)...)
	c := NewConn(&repeatConn{chunk: bytes.Repeat(one, 64)})
	b.ReportAllocs()
	b.SetBytes(64)
	for i := 0; i < b.N; i++ {
		if f, err := c.ReadFrame(); err != nil || len(f) != 64 {
			b.Fatal(err)
		}
	}
}

type discardConn struct{ memConn }

func (*discardConn) Write(p []byte) (int, error) { return len(p), nil }

// repeatConn reads an endless repetition of chunk.
type repeatConn struct {
	memConn
	chunk []byte
	off   int
}

func (r *repeatConn) Read(p []byte) (int, error) {
	n := copy(p, r.chunk[r.off:])
	r.off = (r.off + n) % len(r.chunk)
	return n, nil
}
