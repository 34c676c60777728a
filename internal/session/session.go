// Package session is the RSocket engine for one connection: a reader loop, a
// writer loop, the stream table, SETUP, KEEPALIVE and the limits on everything
// the peer can make us hold. It is symmetric: both sides may request and respond.
//
// Rules (see docs/design.md):
//   - One reader and one writer goroutine per connection. Only the writer touches
//     the transport's write side.
//   - The reader never blocks on a stream: inbound elements are bounded by the
//     credit this side granted; more is the peer's violation of that stream.
//   - The writer drains the control lane first, then takes one frame from each
//     stream in the ready ring in turn. A stream is in the ring only while it has
//     a queued frame; elements are queued only once credit was charged for them,
//     so the ring holds exactly the streams that have data AND credit.
//   - Frames leave in batches: one Flush (one syscall) per batch.
//   - Demand reaches the producer: Send blocks until the peer granted credit and
//     the connection's byte budget has room.
//
// Locking: every field marked "mu" is guarded by Conn.mu. The writer copies the
// frames of a batch out under mu and writes them without it.
package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/sched"
	"github.com/sluicehq/sluice/protocol"
	"github.com/sluicehq/sluice/transport"
)

// Batch limits of the writer.
const (
	maxBatchBytes  = 256 << 10
	maxBatchFrames = 512
)

// ErrSlowConsumer closes a connection whose peer stopped reading for longer
// than the write timeout.
var ErrSlowConsumer = errors.New("sluice: slow consumer: peer stopped reading")

// ErrKeepaliveTimeout closes a connection whose peer was silent for longer than
// its max lifetime.
var ErrKeepaliveTimeout = errors.New("sluice: no frame from the peer within the max lifetime")

// Conn is one RSocket connection.
type Conn struct {
	cfg Config
	t   transport.Conn
	log *slog.Logger

	ctx    context.Context // ends when the connection closes
	cancel context.CancelCauseFunc

	writeNotify chan struct{} // cap 1: the writer has work
	work        chan task     // idle handler goroutines wait here
	done        chan struct{} // closed when reader and writer have exited
	loops       atomic.Int32  // running loops; the last to exit closes done
	handlers    sync.WaitGroup

	recvFrames  atomic.Int64 // frames received; the writer's ticker watches it for the lifetime check
	established atomic.Bool  // client: the server has answered something

	mu         sync.Mutex
	streams    map[uint32]*stream  // mu
	peerOpen   int                 // mu: streams the peer opened that are live
	nextID     uint32              // mu
	ctrl       []byte              // mu: control lane, frames with 4-byte length prefixes
	ctrlOff    int                 // mu: start of the first frame not yet taken
	ctrlCount  int                 // mu: frames in the control lane
	ring       sched.Ring[*stream] // mu: ready ring (streams with a queued frame)
	queued     int                 // mu: bytes queued until flushed (stream queues + batch in flight)
	budgetWait []*stream           // mu: streams waiting for budget
	closing    bool                // mu: no new work; writer drains the control lane and closes
	closeErr   error               // mu
	sent       int64               // mu
	received   int64               // mu
	attachment any                 // mu

	arena arena // reader only: memory for received payloads
}

type connKey struct{}

// FromContext returns the connection whose handler got ctx, or nil.
func FromContext(ctx context.Context) *Conn {
	c, _ := ctx.Value(connKey{}).(*Conn)
	return c
}

// SetAttachment stores an application value on the connection.
func (c *Conn) SetAttachment(v any) {
	c.mu.Lock()
	c.attachment = v
	c.mu.Unlock()
}

// Attachment returns the value stored by SetAttachment.
func (c *Conn) Attachment() any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attachment
}

// Setup is what the client announced in SETUP.
type Setup struct {
	Version      uint32
	Keepalive    time.Duration
	Lifetime     time.Duration
	MetadataMIME string
	DataMIME     string
	Payload      sluice.Payload // the SETUP's metadata and data (owned)
}

func newConn(t transport.Conn, cfg Config) *Conn {
	cfg = cfg.withDefaults()
	c := &Conn{
		cfg:         cfg,
		t:           t,
		log:         cfg.Logger,
		writeNotify: make(chan struct{}, 1),
		work:        make(chan task),
		done:        make(chan struct{}),
		streams:     make(map[uint32]*stream),
		nextID:      1,
	}
	if cfg.Server {
		c.nextID = 2
	}
	c.ctx, c.cancel = context.WithCancelCause(context.WithValue(context.Background(), connKey{}, c))
	if m := cfg.Metrics; m != nil {
		m.ConnectionsOpened.Add(1)
	}
	return c
}

// start runs the writer, and the reader unless the caller will run it on its
// own goroutine with Serve (one goroutine less per connection).
func (c *Conn) start(inlineReader bool) {
	c.loops.Store(2)
	go c.writeLoop()
	if !inlineReader {
		go c.readLoop()
	}
}

// Serve runs the reader loop on the calling goroutine, for a connection
// accepted with Config.InlineReader, and returns once the connection is closed.
func (c *Conn) Serve() {
	c.readLoop()
	<-c.done
}

// loopDone is called by each loop as it exits; the last one finishes the
// connection.
func (c *Conn) loopDone() {
	if c.loops.Add(-1) != 0 {
		return
	}
	c.mu.Lock()
	err := c.closeErr
	c.mu.Unlock()
	c.cancel(err)
	if m := c.cfg.Metrics; m != nil {
		m.ConnectionsClosed.Add(1)
	}
	close(c.done)
}

// Client starts a connection from the client side: it sends SETUP (no
// acknowledgement is awaited; requests may follow at once) and starts the loops.
func Client(t transport.Conn, cfg Config, setup Setup) (*Conn, error) {
	cfg.Server = false
	if setup.Keepalive <= 0 {
		setup.Keepalive = cfg.KeepaliveInterval
	}
	if setup.Lifetime <= 0 {
		setup.Lifetime = cfg.MaxLifetime
	}
	cfg.KeepaliveInterval, cfg.MaxLifetime = setup.Keepalive, setup.Lifetime
	c := newConn(t, cfg)
	ka, life := durMS(c.cfg.KeepaliveInterval), durMS(c.cfg.MaxLifetime)
	f := protocol.AppendSetup(nil, ka, life, nil, false, setup.MetadataMIME, setup.DataMIME,
		setup.Payload.Metadata, setup.Payload.Data)
	if len(f) > protocol.MaxFrameLen {
		return nil, fmt.Errorf("sluice: SETUP frame of %d bytes is over the frame limit", len(f))
	}
	if c.cfg.FrameHook != nil {
		c.cfg.FrameHook(false, f)
	}
	_ = t.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
	if err := t.WriteFrame(f); err != nil {
		t.Close()
		return nil, err
	}
	if err := t.Flush(); err != nil {
		t.Close()
		return nil, err
	}
	c.start(false)
	return c, nil
}

func durMS(d time.Duration) uint32 {
	ms := d.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	return protocol.ClampN(ms)
}

// Acceptor decides whether to accept a SETUP. It returns the handlers for the
// connection (nil: none) or an error, sent as REJECTED_SETUP (or the code of an
// *sluice.Error with a setup code).
type Acceptor func(ctx context.Context, setup Setup, c *Conn) (*sluice.Handlers, error)

// Accept runs the server side of a connection: it reads SETUP (within
// cfg.SetupTimeout), validates it, asks accept, and starts the loops. It returns
// the running connection, or an error after answering the peer and closing t.
func Accept(ctx context.Context, t transport.Conn, cfg Config, accept Acceptor) (*Conn, error) {
	cfg.Server = true
	setupTimeout := cfg.SetupTimeout
	if setupTimeout <= 0 {
		setupTimeout = 10 * time.Second
	}
	timer := time.AfterFunc(setupTimeout, func() { t.Close() })
	b, err := t.ReadFrame()
	stopped := timer.Stop()
	reject := func(code protocol.ErrorCode, msg string) (*Conn, error) {
		f := protocol.AppendError(nil, 0, code, msg)
		if cfg.FrameHook != nil {
			cfg.FrameHook(false, f)
		}
		wt := cfg.WriteTimeout
		if wt <= 0 || wt > 5*time.Second {
			wt = 5 * time.Second
		}
		_ = t.SetWriteDeadline(time.Now().Add(wt))
		if t.WriteFrame(f) == nil {
			_ = t.Flush()
		}
		t.Close()
		if m := cfg.Metrics; m != nil {
			m.ProtocolErrors.Add(1)
		}
		return nil, &sluice.Error{Code: code, Message: msg}
	}
	if err != nil {
		switch {
		case !stopped:
			t.Close()
			return nil, fmt.Errorf("sluice: no SETUP within %v", setupTimeout)
		case errors.Is(err, transport.ErrTextMessage):
			return reject(protocol.ErrInvalidSetup, "first message is a text message; expected a binary SETUP frame")
		case errors.Is(err, transport.ErrFrameTooLarge):
			return reject(protocol.ErrInvalidSetup, "first message is larger than the 16 MiB frame limit")
		}
		t.Close()
		return nil, err
	}
	if cfg.FrameHook != nil {
		cfg.FrameHook(true, b)
	}
	f, err := protocol.Decode(b)
	if err != nil {
		return reject(protocol.ErrInvalidSetup, "malformed first frame: "+decodeReason(err))
	}
	switch {
	case f.Type == protocol.TypeResume:
		return reject(protocol.ErrRejectedResume, "resumption is not supported")
	case f.Type != protocol.TypeSetup:
		return reject(protocol.ErrInvalidSetup, fmt.Sprintf("first frame is %v; expected SETUP", f.Type))
	case f.StreamID != 0:
		return reject(protocol.ErrInvalidSetup, fmt.Sprintf("SETUP on stream %d; must be 0", f.StreamID))
	case f.Version>>16 != 1:
		return reject(protocol.ErrInvalidSetup, fmt.Sprintf("unsupported version %d.%d; this server speaks 1.0", f.Version>>16, f.Version&0xFFFF))
	case f.Keepalive == 0 || f.Keepalive > protocol.MaxN:
		return reject(protocol.ErrInvalidSetup, "keepalive interval must be in 1..2^31-1 ms")
	case f.Lifetime == 0 || f.Lifetime > protocol.MaxN:
		return reject(protocol.ErrInvalidSetup, "max lifetime must be in 1..2^31-1 ms")
	case f.Flags.Has(protocol.FlagResume):
		return reject(protocol.ErrRejectedSetup, "resumption is not supported")
	case f.Flags.Has(protocol.FlagLease):
		return reject(protocol.ErrUnsupportedSetup, "lease is not supported")
	}
	setup := Setup{
		Version:      f.Version,
		Keepalive:    time.Duration(f.Keepalive) * time.Millisecond,
		Lifetime:     time.Duration(f.Lifetime) * time.Millisecond,
		MetadataMIME: string(f.MetadataMIME),
		DataMIME:     string(f.DataMIME),
		Payload:      ownPayload(f.Metadata, f.Data),
	}
	cfg.KeepaliveInterval, cfg.MaxLifetime = setup.Keepalive, setup.Lifetime
	c := newConn(t, cfg)
	if accept != nil {
		h, err := accept(ctx, setup, c)
		if err != nil {
			c.cancel(err)
			if m := cfg.Metrics; m != nil {
				m.ConnectionsClosed.Add(1)
			}
			code := protocol.ErrRejectedSetup
			var se *sluice.Error
			if errors.As(err, &se) && se.Code.IsSetupError() {
				code = se.Code
			}
			msg := err.Error()
			if se != nil {
				msg = se.Message
			}
			return reject(code, msg)
		}
		if h != nil {
			c.cfg.Handlers = h
		}
	}
	c.start(c.cfg.InlineReader)
	return c, nil
}

func decodeReason(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return err.Error()
}

// ownPayload copies metadata and data into one new allocation.
func ownPayload(md, data []byte) sluice.Payload {
	var a arena
	return a.own(md, data)
}

// arena hands out the memory of received payloads. Small payloads are carved
// from shared chunks (one allocation per many elements); each slice is capped,
// so an application that appends to one cannot touch its neighbours. A chunk
// lives as long as any payload carved from it. Only the reader uses it.
type arena struct {
	chunk []byte
	next  int // size of the next chunk: grows with use, so an idle connection holds little
}

const (
	arenaFirst = 1 << 10
	arenaChunk = 64 << 10
	arenaMax   = 1 << 10 // larger payloads get their own allocation
)

func (a *arena) alloc(n int) []byte {
	if n > arenaMax {
		return make([]byte, n)
	}
	if cap(a.chunk)-len(a.chunk) < n {
		a.next = min(max(a.next*2, arenaFirst), arenaChunk)
		a.chunk = make([]byte, 0, a.next)
	}
	at := len(a.chunk)
	a.chunk = a.chunk[:at+n]
	return a.chunk[at : at+n : at+n]
}

func (a *arena) own(md, data []byte) sluice.Payload {
	var p sluice.Payload
	n := len(data)
	if md != nil {
		n += len(md)
	}
	if n == 0 {
		if md != nil {
			p.Metadata = []byte{}
		}
		p.Data = []byte{}
		return p
	}
	buf := a.alloc(n)
	if md != nil {
		copy(buf, md)
		p.Metadata = buf[:len(md):len(md)]
		buf = buf[len(md):]
	}
	copy(buf, data)
	p.Data = buf
	return p
}

// Context ends when the connection closes; its cause is the close reason.
func (c *Conn) Context() context.Context { return c.ctx }

// Done is closed once the reader and writer have exited.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection closed (nil while open).
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr
}

// Wait blocks until the connection is closed and every handler has returned.
func (c *Conn) Wait() {
	<-c.done
	c.handlers.Wait()
}

// Close closes the connection: open streams end with ErrClosed, frames
// already queued (fire-and-forget requests, CANCELs, METADATA_PUSH) are
// flushed within a short deadline, then the transport closes.
func (c *Conn) Close() error {
	c.shutdown(sluice.ErrClosed, nil, false)
	return nil
}

// CloseWithError sends ERROR[code] on stream 0, flushes what is queued, and closes.
func (c *Conn) CloseWithError(code protocol.ErrorCode, msg string) {
	c.shutdown(&sluice.Error{Code: code, Message: msg}, protocol.AppendError(nil, 0, code, msg), false)
}

// shutdown starts closing: streams fail with err; the writer flushes what is
// queued and final (if any), then closes the transport. immediate closes the
// transport at once (it is broken, or the peer does not read).
func (c *Conn) shutdown(err error, final []byte, immediate bool) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.closeErr = err
	if final != nil {
		c.ctrl = appendFramed(c.ctrl, final)
		c.ctrlCount++
	}
	streams := c.streams
	c.streams = make(map[uint32]*stream)
	for _, s := range streams {
		s.failLocked(err)
	}
	c.mu.Unlock()
	c.cancel(err)
	if immediate {
		c.t.Close()
	}
	c.notifyWriter()
}

// protocolError answers the peer's malformed input with a connection ERROR and closes.
func (c *Conn) protocolError(msg string) {
	if m := c.cfg.Metrics; m != nil {
		m.ProtocolErrors.Add(1)
	}
	c.log.Debug("sluice: closing connection on protocol error", "reason", msg)
	c.CloseWithError(protocol.ErrConnectionError, msg)
}

func (c *Conn) notifyWriter() {
	select {
	case c.writeNotify <- struct{}{}:
	default:
	}
}

// queueControlLocked copies a control frame into the control lane. It fails
// when the connection is closing or the lane is full.
func (c *Conn) queueControlLocked(f []byte) bool {
	if !c.ctrlRoomLocked() {
		return false
	}
	c.ctrl = appendFramed(c.ctrl, f)
	c.ctrlCount++
	return true
}

func (c *Conn) ctrlRoomLocked() bool { return !c.closing && c.ctrlCount < c.cfg.ControlLaneMax }

// queueRequestNLocked and queueCancelLocked encode straight into the lane:
// credit top-ups are per-element traffic and must not allocate.
func (c *Conn) queueRequestNLocked(id uint32, n uint32) bool {
	if !c.ctrlRoomLocked() {
		return false
	}
	at := len(c.ctrl)
	c.ctrl = protocol.AppendRequestN(append(c.ctrl, 0, 0, 0, 0), id, n)
	binary.BigEndian.PutUint32(c.ctrl[at:], uint32(len(c.ctrl)-at-4))
	c.ctrlCount++
	return true
}

func (c *Conn) queueCancelLocked(id uint32) bool {
	if !c.ctrlRoomLocked() {
		return false
	}
	at := len(c.ctrl)
	c.ctrl = protocol.AppendCancel(append(c.ctrl, 0, 0, 0, 0), id)
	binary.BigEndian.PutUint32(c.ctrl[at:], uint32(len(c.ctrl)-at-4))
	c.ctrlCount++
	return true
}

// appendFramed appends f with a 4-byte big-endian length prefix.
func appendFramed(dst, f []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(f)))
	return append(dst, f...)
}

func (c *Conn) queueControl(f []byte) {
	c.mu.Lock()
	ok := c.queueControlLocked(f)
	closing := c.closing
	c.mu.Unlock()
	if ok {
		c.notifyWriter()
	} else if !closing {
		c.protocolError("control lane overflow: the peer does not read what it asks for")
	}
}

// ---- reader -------------------------------------------------------------------

func (c *Conn) readLoop() {
	defer c.loopDone()
	for {
		b, err := c.t.ReadFrame()
		if err != nil {
			switch {
			case errors.Is(err, transport.ErrTextMessage):
				c.protocolError("text message: RSocket frames travel in binary messages")
			case errors.Is(err, transport.ErrFrameTooLarge):
				c.protocolError("message larger than the 16 MiB frame limit")
			default:
				if errors.Is(err, io.EOF) {
					err = sluice.ErrClosed
				}
				c.shutdown(err, nil, true)
			}
			return
		}
		c.recvFrames.Add(1)
		if c.cfg.FrameHook != nil {
			c.cfg.FrameHook(true, b)
		}
		f, err := protocol.Decode(b)
		if err != nil {
			var pe *protocol.Error
			if errors.As(err, &pe) && pe.Ignorable {
				continue
			}
			c.protocolError(decodeReason(err))
			return
		}
		if !c.dispatch(&f) {
			return
		}
	}
}

// dispatch handles one frame; it returns false when the reader must stop.
func (c *Conn) dispatch(f *protocol.Frame) bool {
	if !c.cfg.Server {
		c.established.Store(true)
	}
	switch f.Type {
	case protocol.TypeSetup:
		// A second SETUP at the server, or any SETUP at the client: ignored.
		return true
	case protocol.TypeLease:
		return true // we never ask for leases
	case protocol.TypeKeepalive:
		if f.StreamID != 0 {
			c.protocolError(fmt.Sprintf("KEEPALIVE on stream %d; must be 0", f.StreamID))
			return false
		}
		if f.Flags.Has(protocol.FlagRespond) {
			c.queueControl(protocol.AppendKeepalive(nil, false, 0, f.Data))
		}
		return true
	case protocol.TypeMetadataPush:
		if f.StreamID != 0 {
			return true // MUST be ignored
		}
		c.metadataPush(f.Metadata)
		return true
	case protocol.TypeError:
		if f.StreamID == 0 {
			return c.connectionErrorReceived(f)
		}
		c.streamError(f)
		return true
	case protocol.TypeResume:
		c.protocolError("RESUME on an established connection")
		return false
	case protocol.TypeResumeOK:
		return true
	case protocol.TypeExt:
		if f.Flags.Has(protocol.FlagIgnore) {
			return true
		}
		c.protocolError(fmt.Sprintf("unsupported extension frame type %d", f.ExtType))
		return false
	case protocol.TypeRequestResponse, protocol.TypeRequestFNF, protocol.TypeRequestStream, protocol.TypeRequestChannel:
		if f.StreamID == 0 {
			c.protocolError(fmt.Sprintf("%v on stream 0", f.Type))
			return false
		}
		c.request(f)
		return true
	case protocol.TypeRequestN:
		c.requestN(f)
		return true
	case protocol.TypeCancel:
		c.cancelReceived(f)
		return true
	case protocol.TypePayload:
		c.payload(f)
		return true
	}
	return true
}

func (c *Conn) connectionErrorReceived(f *protocol.Frame) bool {
	if f.Code.IsSetupError() && (c.cfg.Server || c.established.Load() && c.sawResponse()) {
		return true // MUST be ignored
	}
	err := &sluice.Error{Code: f.Code, Message: string(f.Data)}
	c.shutdown(err, nil, true)
	return false
}

// sawResponse reports whether the client has seen a frame other than this
// ERROR; setup errors count as rejection until then.
func (c *Conn) sawResponse() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.received > 0
}

func (c *Conn) metadataPush(md []byte) {
	if h := c.cfg.Handlers.MetadataPush; h != nil {
		c.callInline(func() { h(c.ctx, md) })
	}
}

// callInline runs a FireAndForget or MetadataPush handler on the reader
// goroutine, so that what the peer sends next sees its effects; such handlers
// must not block. A panic is logged and the connection goes on.
func (c *Conn) callInline(f func()) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("sluice: handler panicked", "panic", r)
		}
	}()
	f()
}

// isPeerID reports whether id has the parity of the peer's requests.
func (c *Conn) isPeerID(id uint32) bool {
	if c.cfg.Server {
		return id%2 == 1
	}
	return id%2 == 0
}

// ---- writer -------------------------------------------------------------------

func (c *Conn) writeLoop() {
	defer c.loopDone()
	defer c.t.Close()
	interval := c.cfg.KeepaliveInterval
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var batch []byte
	var bounds []int
	lastFrames, lastSeen := int64(-1), time.Now()
	for {
		select {
		case <-c.writeNotify:
		case now := <-ticker.C:
			if n := c.recvFrames.Load(); n != lastFrames {
				lastFrames, lastSeen = n, now
			}
			if silent := now.Sub(lastSeen); silent > c.cfg.MaxLifetime {
				c.CloseWithError(protocol.ErrConnectionError,
					fmt.Sprintf("no frame received for %v (max lifetime %v)", silent.Round(time.Millisecond), c.cfg.MaxLifetime))
			} else {
				c.queueControl(protocol.AppendKeepalive(nil, true, 0, nil))
			}
		}
		for {
			var dataBytes int
			var closing bool
			// Let producers that were just woken (by credit, say) queue more
			// before the batch is taken: fewer, fuller system calls.
			runtime.Gosched()
			batch, bounds, dataBytes, closing = c.takeBatch(batch[:0], bounds[:0])
			if len(bounds) == 0 {
				if closing {
					return
				}
				break
			}
			if err := c.writeBatch(batch, bounds); err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					if m := c.cfg.Metrics; m != nil {
						m.SlowConsumerCloses.Add(1)
					}
					c.log.Info("sluice: closing slow consumer", "timeout", c.cfg.WriteTimeout)
					c.shutdown(ErrSlowConsumer, nil, true)
				} else {
					c.shutdown(err, nil, true)
				}
				c.releaseBudget(dataBytes)
				return
			}
			c.releaseBudget(dataBytes)
			if cap(batch) > 4*maxBatchBytes {
				batch = nil
			}
		}
	}
}

// takeBatch copies the next frames out: the control lane first, then one frame
// per ready stream in turn.
func (c *Conn) takeBatch(batch []byte, bounds []int) ([]byte, []int, int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.ctrlCount > 0 && len(bounds) < maxBatchFrames && len(batch) < maxBatchBytes {
		l := int(binary.BigEndian.Uint32(c.ctrl[c.ctrlOff:]))
		batch = append(batch, c.ctrl[c.ctrlOff+4:c.ctrlOff+4+l]...)
		bounds = append(bounds, len(batch))
		c.ctrlOff += 4 + l
		c.ctrlCount--
	}
	if c.ctrlCount == 0 {
		c.ctrl, c.ctrlOff = c.ctrl[:0], 0
		if cap(c.ctrl) > 64<<10 {
			c.ctrl = nil
		}
	}
	dataBytes := 0
	{ // while closing too: what is still queued belongs to ended streams or FNF
		for len(bounds) < maxBatchFrames && len(batch) < maxBatchBytes {
			s, ok := c.ring.Pop()
			if !ok {
				break
			}
			frame, size := s.popFrameLocked()
			batch = append(batch, frame...)
			bounds = append(bounds, len(batch))
			dataBytes += size
			if s.outLen() > 0 {
				c.ring.Push(s)
			} else {
				s.inRing = false
			}
		}
	}
	closing := c.closing && c.ctrlCount == 0 && c.ring.Len() == 0
	return batch, bounds, dataBytes, closing
}

// closeFlushTimeout bounds the final flush of a closing connection.
const closeFlushTimeout = 2 * time.Second

func (c *Conn) writeBatch(batch []byte, bounds []int) error {
	timeout := c.cfg.WriteTimeout
	c.mu.Lock()
	if c.closing {
		timeout = min(timeout, closeFlushTimeout)
	}
	c.mu.Unlock()
	if err := c.t.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	start := 0
	for _, end := range bounds {
		f := batch[start:end]
		start = end
		if c.cfg.FrameHook != nil {
			c.cfg.FrameHook(false, f)
		}
		if err := c.t.WriteFrame(f); err != nil {
			return err
		}
	}
	if m := c.cfg.Metrics; m != nil {
		m.FramesWritten.Add(int64(len(bounds)))
		m.Flushes.Add(1)
	}
	return c.t.Flush()
}

// releaseBudget returns flushed bytes to the connection budget and wakes the
// producers that were waiting for it.
func (c *Conn) releaseBudget(n int) {
	if n == 0 {
		return
	}
	c.mu.Lock()
	c.queued -= n
	waiters := c.budgetWait
	c.budgetWait = nil
	for _, s := range waiters {
		s.budgetWaiting = false
		s.wakeOut()
	}
	c.mu.Unlock()
	if m := c.cfg.Metrics; m != nil {
		m.QueuedBytes.Add(-int64(n))
	}
}

// ---- stream ids -----------------------------------------------------------------

// allocIDLocked returns the next free stream id of our parity, wrapping at 2^31-1.
func (c *Conn) allocIDLocked() (uint32, error) {
	for range protocol.MaxN / 2 {
		id := c.nextID
		c.nextID += 2
		if c.nextID > protocol.MaxN { // wrap to the first id of our parity
			c.nextID = 1
			if c.cfg.Server {
				c.nextID = 2
			}
		}
		if _, used := c.streams[id]; !used {
			return id, nil
		}
	}
	return 0, errors.New("sluice: no free stream id")
}

// Stats returns a snapshot of the connection and its streams.
func (c *Conn) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := Stats{
		Server:        c.cfg.Server,
		StreamsOpen:   len(c.streams),
		QueuedBytes:   c.queued,
		ControlQueued: c.ctrlCount,
		Sent:          c.sent,
		Received:      c.received,
	}
	for _, s := range c.streams {
		st.Streams = append(st.Streams, s.statsLocked())
	}
	return st
}

// Server reports whether this is the server side.
func (c *Conn) Server() bool { return c.cfg.Server }
