// Package pipe is an in-memory, connected pair of transport.Conn for
// deterministic engine tests: no network, no goroutines of its own, and it
// works inside testing/synctest bubbles (create the pair inside the bubble).
//
// Each direction models a real connection's path: frames written with
// WriteFrame stay with the writer until Flush, which moves them into the
// peer's inbound buffer of Options.Capacity bytes (the kernel's socket
// buffers). Flush blocks while that buffer is full, honouring the write
// deadline, so a peer that stops reading (SetReadPaused) or reads slowly
// (SetReadRate) pushes back on the writer exactly as a slow TCP peer would.
// Options.Tap observes every frame that crosses, for tests that assert the
// exact frames on the wire.
package pipe

import (
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/sluicehq/sluice/transport"
)

// DefaultCapacity is the per-direction buffer when Options.Capacity is 0.
const DefaultCapacity = 64 << 10

// Options configures New.
type Options struct {
	// Capacity is how many bytes of flushed frames each direction holds until
	// the reader takes them; 0 means DefaultCapacity. A Flush blocks while
	// the next frame does not fit. A frame larger than Capacity is accepted
	// into an empty buffer, so nothing deadlocks.
	Capacity int

	// Tap, if set, is called with every frame as it enters the peer's
	// buffer, in wire order per direction, before the peer can read it. The
	// frame is the tap's own copy. Tap runs in the writer's goroutine with the
	// direction locked: it must not call methods of the pipe. See Recorder.
	Tap func(dir Dir, frame []byte)
}

// Dir is a direction across the pipe.
type Dir int

const (
	AToB Dir = iota // frames written on a, read on b
	BToA            // frames written on b, read on a
)

func (d Dir) String() string {
	if d == AToB {
		return "a->b"
	}
	return "b->a"
}

// New returns the two ends of a pipe.
func New(opts Options) (a, b *Conn) {
	capacity := opts.Capacity
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	ab := newQueue(AToB, capacity, opts.Tap)
	ba := newQueue(BToA, capacity, opts.Tap)
	a = &Conn{in: ba, out: ab, name: "a"}
	b = &Conn{in: ab, out: ba, name: "b"}
	return a, b
}

// queue is one direction: the peer's inbound buffer plus the state of both of
// its ends. Everything is guarded by mu; waiters sleep on changed, which is
// closed and replaced on every change.
type queue struct {
	dir      Dir
	capacity int
	tap      func(Dir, []byte)

	mu       sync.Mutex
	changed  chan struct{}
	frames   [][]byte
	bytes    int
	paused   bool      // the reader takes nothing
	rate     int       // bytes per second the reader takes; 0 is unlimited
	nextRead time.Time // with a rate: when the reader may take the next frame
	deadline time.Time // the writer's write deadline
	wclosed  bool      // the writing end is closed: the reader gets io.EOF after the buffer
	rclosed  bool      // the reading end is closed: the writer gets io.ErrClosedPipe
}

func newQueue(dir Dir, capacity int, tap func(Dir, []byte)) *queue {
	return &queue{dir: dir, capacity: capacity, tap: tap, changed: make(chan struct{})}
}

func (q *queue) notifyLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// waitLocked releases mu until the queue changes or until passes (zero:
// no timeout), then takes mu again.
func (q *queue) waitLocked(until time.Time) {
	ch := q.changed
	q.mu.Unlock()
	defer q.mu.Lock()
	if until.IsZero() {
		<-ch
		return
	}
	d := time.Until(until)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
}

// put moves one frame into the buffer, blocking while it is full.
func (q *queue) put(f []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		switch {
		case q.wclosed:
			return net.ErrClosed
		case q.rclosed:
			return io.ErrClosedPipe
		case !q.deadline.IsZero() && !time.Now().Before(q.deadline):
			return os.ErrDeadlineExceeded
		case q.bytes == 0 || q.bytes+len(f) <= q.capacity:
			if q.tap != nil {
				q.tap(q.dir, append([]byte(nil), f...))
			}
			q.frames = append(q.frames, f)
			q.bytes += len(f)
			q.notifyLocked()
			return nil
		}
		q.waitLocked(q.deadline)
	}
}

// take removes the next frame, blocking until there is one the reader may
// take (not paused, rate allows).
func (q *queue) take() ([]byte, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.rclosed {
			return nil, net.ErrClosed
		}
		if len(q.frames) > 0 && !q.paused {
			if q.rate > 0 {
				if now := time.Now(); now.Before(q.nextRead) {
					q.waitLocked(q.nextRead)
					continue
				}
			}
			f := q.frames[0]
			q.frames[0] = nil
			q.frames = q.frames[1:]
			if len(q.frames) == 0 {
				q.frames = nil
			}
			q.bytes -= len(f)
			if q.rate > 0 {
				q.nextRead = time.Now().Add(time.Duration(int64(len(f)) * int64(time.Second) / int64(q.rate)))
			}
			q.notifyLocked()
			return f, nil
		}
		if len(q.frames) == 0 && q.wclosed {
			return nil, io.EOF
		}
		q.waitLocked(time.Time{})
	}
}

// Conn is one end of a pipe. It implements transport.Conn.
//
// Goroutines: ReadFrame belongs to one reader goroutine; WriteFrame, Flush and
// SetWriteDeadline to one writer goroutine. Close, SetReadPaused,
// SetReadRate and Buffered may be called from any goroutine.
type Conn struct {
	in, out *queue
	name    string

	// Writer goroutine.
	pending [][]byte
	werr    error // sticky
}

// ReadFrame returns the next frame from the peer. It blocks while the inbound
// buffer is empty, while reading is paused, and while the read rate says
// wait. After the peer closes, the frames it flushed are still delivered,
// then io.EOF. After Close, it returns an error matching net.ErrClosed.
func (c *Conn) ReadFrame() ([]byte, error) { return c.in.take() }

// WriteFrame queues a copy of frame until Flush. It never blocks. Frames over
// transport.MaxFrame give transport.ErrFrameTooLarge; after Close or a failed
// Flush it returns that error.
func (c *Conn) WriteFrame(frame []byte) error {
	if c.werr != nil {
		return c.werr
	}
	c.out.mu.Lock()
	closed := c.out.wclosed
	c.out.mu.Unlock()
	if closed {
		return net.ErrClosed
	}
	if len(frame) > transport.MaxFrame {
		return transport.ErrFrameTooLarge
	}
	c.pending = append(c.pending, append([]byte(nil), frame...))
	return nil
}

// Flush moves the queued frames into the peer's buffer in order, blocking
// while it is full. It fails with an error matching os.ErrDeadlineExceeded
// when the write deadline passes (the frames already moved stay moved, the
// rest are dropped), io.ErrClosedPipe when the peer has closed, and
// net.ErrClosed after Close. Like a real connection's, write errors are
// sticky.
func (c *Conn) Flush() error {
	if c.werr != nil {
		return c.werr
	}
	for i, f := range c.pending {
		if err := c.out.put(f); err != nil {
			c.werr = err
			c.pending = nil
			return err
		}
		c.pending[i] = nil
	}
	c.pending = c.pending[:0]
	return nil
}

// SetWriteDeadline bounds Flush; zero means none. It applies to a Flush that
// is already blocked, too.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.out.mu.Lock()
	c.out.deadline = t
	c.out.notifyLocked()
	c.out.mu.Unlock()
	return nil
}

// Close closes this end: its pending and later ReadFrame calls fail, frames
// buffered for it are dropped, the peer's Flush fails with io.ErrClosedPipe,
// and the peer's ReadFrame returns io.EOF once it has read what this end
// flushed. Close never fails and may be called any number of times.
func (c *Conn) Close() error {
	c.in.mu.Lock()
	c.in.rclosed = true
	c.in.frames, c.in.bytes = nil, 0
	c.in.notifyLocked()
	c.in.mu.Unlock()
	c.out.mu.Lock()
	c.out.wclosed = true
	c.out.notifyLocked()
	c.out.mu.Unlock()
	return nil
}

// SetReadPaused stops (true) or resumes (false) this end taking frames from
// its inbound buffer: a paused ReadFrame blocks, the buffer fills up and the
// peer's Flush blocks, as with an application that stops reading its socket.
func (c *Conn) SetReadPaused(paused bool) {
	c.in.mu.Lock()
	c.in.paused = paused
	c.in.notifyLocked()
	c.in.mu.Unlock()
}

// SetReadRate limits how fast this end takes frames from its inbound buffer
// to bytesPerSecond (0 removes the limit): after taking a frame of n bytes,
// ReadFrame waits n/bytesPerSecond before taking the next, like a slow
// network or consumer. Uses the time package, so inside a synctest bubble
// the wait is on the bubble's clock.
func (c *Conn) SetReadRate(bytesPerSecond int) {
	c.in.mu.Lock()
	c.in.rate = max(bytesPerSecond, 0)
	if c.in.rate == 0 {
		c.in.nextRead = time.Time{}
	}
	c.in.notifyLocked()
	c.in.mu.Unlock()
}

// Buffered reports the frames and bytes in this end's inbound buffer: flushed
// by the peer, not yet read.
func (c *Conn) Buffered() (frames, bytes int) {
	c.in.mu.Lock()
	defer c.in.mu.Unlock()
	return len(c.in.frames), c.in.bytes
}

// LocalAddr returns an address naming this end ("a" or "b").
func (c *Conn) LocalAddr() net.Addr { return addr(c.name) }

// RemoteAddr returns an address naming the other end.
func (c *Conn) RemoteAddr() net.Addr {
	if c.name == "a" {
		return addr("b")
	}
	return addr("a")
}

type addr string

func (a addr) Network() string { return "pipe" }
func (a addr) String() string  { return string(a) }

// Recorder keeps every frame a pipe carries, per direction. Pass its Tap
// method as Options.Tap. Safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	frames [2][][]byte
}

// Tap records frame; it is the Options.Tap function.
func (r *Recorder) Tap(dir Dir, frame []byte) {
	r.mu.Lock()
	r.frames[dir&1] = append(r.frames[dir&1], frame)
	r.mu.Unlock()
}

// Frames returns the frames recorded in direction dir so far, oldest first.
func (r *Recorder) Frames(dir Dir) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.frames[dir&1]...)
}

// Reset forgets the recorded frames.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.frames = [2][][]byte{}
	r.mu.Unlock()
}

var _ transport.Conn = (*Conn)(nil)
