// Package tcp carries RSocket frames over a byte stream (TCP, for rsocket-cli's
// tcp:// URIs): each frame is preceded by a 3-byte big-endian length that
// counts the frame only.
package tcp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/transport"
)

// ErrEmptyFrame is returned by ReadFrame for a length prefix of 0, and by
// WriteFrame for an empty frame. No RSocket frame is empty; the stream stays
// in sync after it.
var ErrEmptyFrame = errors.New("tcp: zero-length frame")

const (
	readBufferSize  = 4 << 10
	writeBufferSize = 8 << 10
	maxRetainedRead = 64 << 10 // a larger frame buffer is dropped at the next ReadFrame
)

// Conn is a length-prefixed frame connection over a net.Conn. It implements
// transport.Conn.
//
// Goroutines: ReadFrame belongs to one reader goroutine; WriteFrame, Flush
// and SetWriteDeadline to one writer goroutine; Close, LocalAddr and
// RemoteAddr may be called from any goroutine.
type Conn struct {
	nc net.Conn

	// Reader goroutine.
	br   *bufio.Reader
	hdr  [3]byte
	rbuf []byte

	// Writer goroutine.
	bw *bufio.Writer

	closeOnce sync.Once
}

// NewConn frames nc, with a 4 KiB read buffer and an 8 KiB write buffer.
// The Conn owns nc from now on.
func NewConn(nc net.Conn) *Conn {
	return &Conn{
		nc: nc,
		br: bufio.NewReaderSize(nc, readBufferSize),
		bw: bufio.NewWriterSize(nc, writeBufferSize),
	}
}

// Dial connects to addr ("host:port", or "tcp://host:port").
func Dial(ctx context.Context, addr string) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(addr, "tcp://"))
	if err != nil {
		return nil, err
	}
	return NewConn(nc), nil
}

// Serve accepts connections on l and calls onConn with each one in its own
// goroutine; the connection is closed when onConn returns. Serve returns after
// l fails (nil once l is closed) and every onConn has returned, so to stop it
// close l and make the handlers return (by closing their connections).
// Temporary accept errors (such as running out of file descriptors) are
// retried with a backoff of up to one second.
func Serve(l net.Listener, onConn func(c transport.Conn)) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := NewConn(nc)
			defer c.Close()
			onConn(c)
		}()
	}
}

// ReadFrame returns the next frame, without its length prefix. The slice is
// valid until the next ReadFrame. A stream that ends cleanly between frames
// gives io.EOF; one that ends inside a prefix or a frame gives
// io.ErrUnexpectedEOF. A zero length gives ErrEmptyFrame. After Close, the
// error matches net.ErrClosed.
func (c *Conn) ReadFrame() ([]byte, error) {
	if _, err := io.ReadFull(c.br, c.hdr[:]); err != nil {
		return nil, err
	}
	n := int(c.hdr[0])<<16 | int(c.hdr[1])<<8 | int(c.hdr[2])
	if n == 0 {
		return nil, ErrEmptyFrame
	}
	if cap(c.rbuf) > maxRetainedRead {
		c.rbuf = nil
	}
	if n <= c.br.Size() {
		// Frames that fit in the read buffer are returned in place.
		p, err := c.br.Peek(n)
		if err != nil {
			return nil, unexpected(err)
		}
		c.br.Discard(n)
		return p, nil
	}
	if cap(c.rbuf) < n {
		c.rbuf = make([]byte, n)
	}
	p := c.rbuf[:n]
	if _, err := io.ReadFull(c.br, p); err != nil {
		return nil, unexpected(err)
	}
	return p, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// WriteFrame queues the length prefix and frame in the write buffer; they
// leave at Flush, or earlier when the buffer fills (a frame larger than the
// buffer is written through). Frames over transport.MaxFrame give
// transport.ErrFrameTooLarge. Write errors are sticky.
func (c *Conn) WriteFrame(frame []byte) error {
	n := len(frame)
	if n == 0 {
		return ErrEmptyFrame
	}
	if n > transport.MaxFrame {
		return transport.ErrFrameTooLarge
	}
	if c.bw.Available() < 3 {
		if err := c.bw.Flush(); err != nil {
			return err
		}
	}
	c.bw.WriteByte(byte(n >> 16))
	c.bw.WriteByte(byte(n >> 8))
	c.bw.WriteByte(byte(n))
	_, err := c.bw.Write(frame)
	return err
}

// Flush writes the buffered frames. A write deadline that passes gives an
// error matching os.ErrDeadlineExceeded; the connection must then be closed.
func (c *Conn) Flush() error { return c.bw.Flush() }

// SetWriteDeadline bounds WriteFrame and Flush; zero means none.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.nc.SetWriteDeadline(t) }

// Close closes the connection; a pending ReadFrame returns an error matching
// net.ErrClosed. Only the first call reports an error.
func (c *Conn) Close() error {
	var err error
	c.closeOnce.Do(func() { err = c.nc.Close() })
	return err
}

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

var _ transport.Conn = (*Conn)(nil)
