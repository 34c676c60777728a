package websocket

import (
	"net"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// corkConn is the net.Conn gorilla/websocket (and crypto/tls, for wss) writes
// to. It exists so that several WebSocket messages leave in one write system
// call.
//
// While the engine's writer is in a batch (from its first WriteFrame to its
// Flush) the cork is "corked": Write appends to a buffer and returns at once.
// flush hands the whole buffer to the real connection in one Write.
//
// The client's data messages do not come through Write: WriteFrame frames
// them straight into the buffer with appendMasked, under the same mutex, so
// they take their place in the same order.
//
// Outside a batch, a Write (a pong or close frame gorilla sends from the
// reader goroutine, or the handshake) goes straight to the real connection.
// Bytes written by another goroutine while a flush is in progress are appended
// and written by the flushing goroutine before it returns, so no caller ever
// waits for the real connection under mu, and byte order is the order of the
// Write calls.
//
// Deadlines: gorilla calls SetWriteDeadline before every message (with zero
// for data messages, since we never set gorilla's own deadline, and with its
// own deadline for control frames). Those calls are recorded, not forwarded:
// the real connection's write deadline is set only by the goroutine that is
// about to write to it. A flush uses the engine's deadline (Conn's
// SetWriteDeadline); a direct write uses the earlier of the two.
type corkConn struct {
	net.Conn // the real connection; Read, addresses and read deadlines pass through

	mu        sync.Mutex
	idle      sync.Cond // signalled when busy becomes false; L is &mu
	buf       *wbuf     // queued bytes; nil when nothing is queued (idle connections hold no buffer)
	corked    bool      // the engine's writer is in a batch
	busy      bool      // one goroutine is writing to Conn with mu released
	dataDone  bool      // a close frame is on its way: appendMasked refuses data
	err       error     // sticky: after a failed write every later one fails
	engineDL  time.Time // from Conn.SetWriteDeadline; bounds flush
	gorillaDL time.Time // from SetWriteDeadline/SetDeadline; bounds direct writes

	// Owned by the goroutine that set busy.
	appliedDL time.Time // write deadline currently set on Conn
	dlKnown   bool      // appliedDL is known (a hijacked conn may carry the server's deadline)
}

func newCork(nc net.Conn) *corkConn {
	k := &corkConn{Conn: nc}
	k.idle.L = &k.mu
	return k
}

// Write appends p while corked or while another goroutine is writing;
// otherwise it writes p to the real connection.
func (k *corkConn) Write(p []byte) (int, error) {
	k.mu.Lock()
	if k.err != nil {
		err := k.err
		k.mu.Unlock()
		return 0, err
	}
	if k.corked || k.busy {
		k.appendLocked(p)
		k.mu.Unlock()
		return len(p), nil
	}
	k.busy = true
	dl := earlier(k.gorillaDL, k.engineDL)
	k.mu.Unlock()

	err := k.writeReal(p, dl)

	k.mu.Lock()
	if err != nil {
		k.failLocked(err)
	} else if !k.corked {
		err = k.drainLocked(dl)
	}
	k.busy = false
	k.idle.Broadcast()
	k.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// appendMasked queues one masked binary message carrying payload (the
// client's WriteFrame on ws://; see putMaskedMessage), framing it straight
// into the batch buffer. The caller has called setCorked. The message is
// queued whole under mu, so a control frame gorilla writes from another
// goroutine lands before or after it, never inside. After closeData it
// returns websocket.ErrCloseSent and queues nothing.
func (k *corkConn) appendMasked(payload []byte, key uint32) error {
	n := maskedHeaderLen(len(payload)) + len(payload)
	k.mu.Lock()
	if k.err != nil || k.dataDone {
		err := k.err
		if err == nil {
			err = websocket.ErrCloseSent
		}
		k.mu.Unlock()
		return err
	}
	if k.buf == nil {
		k.buf = getBuf()
	}
	b := k.buf.b
	off := len(b)
	if cap(b)-off < n {
		b = slices.Grow(b, n)
	}
	b = b[:off+n]
	putMaskedMessage(b[off:], payload, key)
	k.buf.b = b
	k.mu.Unlock()
	return nil
}

// closeData makes later appendMasked calls fail: called before a close frame
// is written, so that no data message follows it on the wire (RFC 6455
// section 5.5.1). Messages already queued stay ahead of the close frame.
func (k *corkConn) closeData() {
	k.mu.Lock()
	k.dataDone = true
	k.mu.Unlock()
}

// setCorked starts a batch: Writes append until flush.
func (k *corkConn) setCorked() {
	k.mu.Lock()
	k.corked = true
	k.mu.Unlock()
}

// flush ends the batch and writes everything queued, in one Write unless
// another goroutine appended while it was writing. It returns when the bytes
// are written or the write failed.
func (k *corkConn) flush() error {
	k.mu.Lock()
	for k.busy {
		// A direct write (a control frame) is in progress; it is bounded by
		// its own deadline or by Close.
		k.idle.Wait()
	}
	k.corked = false
	if k.err != nil {
		err := k.err
		k.mu.Unlock()
		return err
	}
	if k.buf == nil {
		k.mu.Unlock()
		return nil
	}
	k.busy = true
	err := k.drainLocked(k.engineDL)
	k.busy = false
	k.idle.Broadcast()
	k.mu.Unlock()
	return err
}

// drainLocked writes the queued bytes until none are left. k.mu is held and
// k.busy is set by the caller; mu is released around each real write.
func (k *corkConn) drainLocked(dl time.Time) error {
	for k.err == nil && k.buf != nil {
		out := k.buf
		k.buf = nil
		k.mu.Unlock()
		err := k.writeReal(out.b, dl)
		putBuf(out)
		k.mu.Lock()
		if err != nil {
			k.failLocked(err)
		}
	}
	return k.err
}

// writeReal writes p to the real connection with deadline dl. Only the busy
// goroutine calls it.
func (k *corkConn) writeReal(p []byte, dl time.Time) error {
	if !k.dlKnown || !dl.Equal(k.appliedDL) {
		if err := k.Conn.SetWriteDeadline(dl); err != nil {
			return err
		}
		k.appliedDL, k.dlKnown = dl, true
	}
	_, err := k.Conn.Write(p)
	return err
}

func (k *corkConn) appendLocked(p []byte) {
	if len(p) == 0 {
		return
	}
	if k.buf == nil {
		k.buf = getBuf()
	}
	k.buf.b = append(k.buf.b, p...)
}

func (k *corkConn) failLocked(err error) {
	if k.err == nil {
		k.err = err
	}
	if k.buf != nil {
		putBuf(k.buf)
		k.buf = nil
	}
}

// stickyErr returns the error that failed the connection's write side, if any.
func (k *corkConn) stickyErr() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.err
}

// setEngineDeadline sets the deadline flush uses.
func (k *corkConn) setEngineDeadline(t time.Time) {
	k.mu.Lock()
	k.engineDL = t
	k.mu.Unlock()
}

// limitEngineDeadline moves the flush deadline to t if t is earlier.
func (k *corkConn) limitEngineDeadline(t time.Time) {
	k.mu.Lock()
	k.engineDL = earlier(k.engineDL, t)
	k.mu.Unlock()
}

// SetWriteDeadline records gorilla's (or crypto/tls's) deadline for direct
// writes; see the type comment.
func (k *corkConn) SetWriteDeadline(t time.Time) error {
	k.mu.Lock()
	k.gorillaDL = t
	k.mu.Unlock()
	return nil
}

// SetDeadline sets the read deadline on the real connection and records the
// write deadline like SetWriteDeadline.
func (k *corkConn) SetDeadline(t time.Time) error {
	if err := k.Conn.SetReadDeadline(t); err != nil {
		return err
	}
	return k.SetWriteDeadline(t)
}

// Close fails later writes and closes the real connection, which also ends a
// write or read in progress.
func (k *corkConn) Close() error {
	k.mu.Lock()
	k.failLocked(net.ErrClosed)
	k.mu.Unlock()
	return k.Conn.Close()
}

// earlier returns the earlier of two deadlines, where zero means none.
func earlier(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	default:
		return b
	}
}

// Batch buffers are pooled across connections, so an idle connection holds
// none: a connection owns one only from its first queued byte to its flush.
type wbuf struct{ b []byte }

const (
	initialBatchBuf = 4 << 10
	maxPooledBuf    = 256 << 10 // larger buffers are dropped after use
)

var batchPool sync.Pool

func getBuf() *wbuf {
	if w, ok := batchPool.Get().(*wbuf); ok {
		return w
	}
	return &wbuf{b: make([]byte, 0, initialBatchBuf)}
}

func putBuf(w *wbuf) {
	if cap(w.b) > maxPooledBuf {
		return
	}
	w.b = w.b[:0]
	batchPool.Put(w)
}
