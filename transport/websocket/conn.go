// Package websocket carries RSocket frames over WebSocket (RFC 6455) using
// gorilla/websocket: one frame per binary message, no length prefix.
//
// The point of this adapter is write coalescing. Every frame is its own
// WebSocket message, but the messages queued by WriteFrame leave in one write
// system call at Flush. gorilla/websocket writes each message with its own
// net.Conn Write, so the adapter gives gorilla a "cork" connection that
// buffers those writes between the writer's first WriteFrame and its Flush.
// On the server, gorilla frames the data messages (unmasked, without
// allocating); on the client, WriteFrame frames and masks them itself,
// straight into the cork's buffer (frame.go), because gorilla's client path
// allocates per message. gorilla still does all the reading, and the control
// frames (pong, close) on both sides.
//
// Handler serves the accept side as an http.Handler (with the origin policy of
// sluice serve); Dial opens the client side.
package websocket

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/sluicehq/sluice/transport"
)

// Conn is one WebSocket connection carrying RSocket frames. It implements
// transport.Conn.
//
// Goroutines: ReadFrame belongs to one reader goroutine. WriteFrame, Flush,
// SetWriteDeadline and CloseWithCode belong to one writer goroutine. Close,
// LocalAddr and RemoteAddr may be called from any goroutine, any number of
// times. gorilla/websocket itself answers pings and close frames from inside
// ReadFrame; those control frames go out at once when the writer is idle, or
// with the writer's next Flush when it is in the middle of a batch.
type Conn struct {
	ws       *websocket.Conn
	cork     *corkConn
	maxFrame int

	// Reader goroutine.
	rbuf    []byte
	readErr error // sticky; gorilla panics on 1000 reads after a failure

	// Writer goroutine.
	inBatch bool
	cw      *clientWriter // client side only; nil on the server

	closeOnce sync.Once
}

// clientWriter is the client's own framing of data messages (see frame.go).
type clientWriter struct {
	keys *maskKeys

	// For wss the cork sits under TLS, so a message cannot go into its buffer
	// as plaintext: it is framed in scratch and written through the TLS
	// connection with one Write (a TLS record, which the cork queues). mu
	// orders those Writes against closeData, as the cork's mutex does for ws.
	tls     net.Conn
	mu      sync.Mutex
	closed  bool
	scratch []byte
}

const maxRetainedWrite = 64 << 10 // a larger wss scratch buffer is dropped after use

const (
	minReadBuf      = 512
	maxRetainedRead = 64 << 10 // a larger read buffer is dropped at the next ReadFrame
	closeGrace      = time.Second
)

func newConn(ws *websocket.Conn, k *corkConn, maxFrame int) *Conn {
	return &Conn{ws: ws, cork: k, maxFrame: frameLimit(maxFrame)}
}

// frameLimit turns an options value into the read limit: 0 (or anything out
// of range) means transport.MaxFrame.
func frameLimit(n int) int {
	if n <= 0 || n > transport.MaxFrame {
		return transport.MaxFrame
	}
	return n
}

// ReadFrame returns the next binary message. The slice is valid until the
// next ReadFrame. It blocks until a message arrives or the connection ends.
//
// Errors: transport.ErrTextMessage for a text message, and
// transport.ErrFrameTooLarge for a message over the limit (at most limit+1
// bytes of it are read); both leave the connection usable, the rest of the
// message is skipped by the next ReadFrame. A close frame from the peer, or
// the peer dropping TCP, gives a *CloseError, which matches io.EOF with
// errors.Is. After Close, the error matches net.ErrClosed. Connection errors
// are sticky.
func (c *Conn) ReadFrame() ([]byte, error) {
	if c.readErr != nil {
		return nil, c.readErr
	}
	if cap(c.rbuf) > maxRetainedRead {
		c.rbuf = nil
	}
	mt, r, err := c.ws.NextReader()
	if err != nil {
		return nil, c.failRead(err)
	}
	if mt != websocket.BinaryMessage {
		return nil, transport.ErrTextMessage
	}
	limit := c.maxFrame
	buf := c.rbuf[:0]
	for {
		if len(buf) == cap(buf) {
			n := 2 * cap(buf)
			if n < minReadBuf {
				n = minReadBuf
			}
			if n > limit+1 {
				n = limit + 1
			}
			nb := make([]byte, len(buf), n)
			copy(nb, buf)
			buf = nb
			c.rbuf = buf
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			return nil, transport.ErrFrameTooLarge
		}
		if err == io.EOF {
			c.rbuf = buf
			return buf, nil
		}
		if err != nil {
			return nil, c.failRead(err)
		}
	}
}

func (c *Conn) failRead(err error) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		err = &CloseError{Code: ce.Code, Text: ce.Text}
	}
	c.readErr = err
	return err
}

// WriteFrame queues frame as one binary message; it leaves at the next Flush.
// It does not block on the network and copies frame, so the caller may reuse
// it at once. After a write error (a timeout in Flush, or Close) it returns
// that error.
func (c *Conn) WriteFrame(frame []byte) error {
	if len(frame) > transport.MaxFrame {
		return transport.ErrFrameTooLarge
	}
	if !c.inBatch {
		c.cork.setCorked()
		c.inBatch = true
	}
	if c.cw != nil {
		if c.cw.tls == nil {
			return c.cork.appendMasked(frame, c.cw.keys.next())
		}
		return c.writeTLS(frame)
	}
	if err := c.ws.WriteMessage(websocket.BinaryMessage, frame); err != nil {
		if e := c.cork.stickyErr(); e != nil {
			return e // not gorilla's copy, which hides the timeout from errors.Is
		}
		return err
	}
	return nil
}

// writeTLS writes one masked message through the TLS connection (wss client).
func (c *Conn) writeTLS(frame []byte) error {
	w := c.cw
	n := maskedHeaderLen(len(frame)) + len(frame)
	if cap(w.scratch) < n {
		w.scratch = make([]byte, n)
	}
	b := w.scratch[:n]
	putMaskedMessage(b, frame, w.keys.next())
	var err error
	w.mu.Lock()
	if w.closed {
		err = websocket.ErrCloseSent
	} else {
		_, err = w.tls.Write(b)
	}
	w.mu.Unlock()
	if cap(w.scratch) > maxRetainedWrite {
		w.scratch = nil
	}
	if err != nil {
		if e := c.cork.stickyErr(); e != nil {
			return e
		}
		return err
	}
	return nil
}

// closeData stops the client's data messages before a close frame is
// written: later WriteFrame calls return websocket.ErrCloseSent, as gorilla's
// own write path does, and none lands after the close frame on the wire.
func (c *Conn) closeData() {
	switch {
	case c.cw == nil: // server: gorilla's write path refuses data itself
	case c.cw.tls == nil:
		c.cork.closeData()
	default:
		c.cw.mu.Lock()
		c.cw.closed = true
		c.cw.mu.Unlock()
	}
}

// Flush writes every message queued since the last Flush in one Write on the
// underlying connection. It blocks until the kernel has taken the bytes or the
// write deadline passes; a timeout matches os.ErrDeadlineExceeded (see
// IsTimeout) and, like every write error, is sticky: the connection must be
// closed.
func (c *Conn) Flush() error {
	c.inBatch = false
	return c.cork.flush()
}

// SetWriteDeadline bounds later Flush calls (WriteFrame never blocks on the
// network). Zero means no deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.cork.setEngineDeadline(t)
	return nil
}

// Close closes the TCP connection at once, without a WebSocket close frame
// (use CloseWithCode for that). A pending ReadFrame returns an error matching
// net.ErrClosed; later writes fail. Safe from any goroutine, any number of
// times; only the first call reports an error.
func (c *Conn) Close() error {
	err := net.ErrClosed
	c.closeOnce.Do(func() { err = c.cork.Close() })
	if err == net.ErrClosed {
		return nil
	}
	return err
}

// CloseWithCode sends a WebSocket close frame (code, and text truncated to
// fit in 123 bytes) after the frames already queued, flushes, and closes the
// connection. Use 1000 for a normal end, 1003 after ErrTextMessage, 1009 for
// a frame too large. It waits at most a second (or until the write deadline,
// if earlier) and does not wait for the peer's reply. Writer goroutine only.
func (c *Conn) CloseWithCode(code int, text string) error {
	dl := time.Now().Add(closeGrace)
	c.cork.limitEngineDeadline(dl)
	c.cork.setCorked()
	c.inBatch = true
	c.closeData()
	err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, truncateUTF8(text, 123)), dl)
	if err == websocket.ErrCloseSent {
		err = nil // gorilla already answered the peer's close frame
	}
	if ferr := c.Flush(); err == nil {
		err = ferr
	}
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	return err
}

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.cork.LocalAddr() }

// RemoteAddr returns the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.cork.RemoteAddr() }

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// CloseError reports that the peer ended the WebSocket connection: with a
// close frame (Code and Text from it) or by dropping TCP without one (Code
// 1006). errors.Is(err, io.EOF) is true for every CloseError.
type CloseError struct {
	Code int
	Text string
}

func (e *CloseError) Error() string {
	if e.Text == "" {
		return fmt.Sprintf("websocket: closed by peer (%d)", e.Code)
	}
	return fmt.Sprintf("websocket: closed by peer (%d %s)", e.Code, e.Text)
}

// Unwrap returns io.EOF: the peer has gone, whatever the code.
func (e *CloseError) Unwrap() error { return io.EOF }

// IsTimeout reports whether err is a write (or read) deadline expiry, as
// returned by Flush after SetWriteDeadline; errors.Is(err,
// os.ErrDeadlineExceeded) works too for errors from Flush and WriteFrame.
func IsTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

var _ transport.Conn = (*Conn)(nil)
