package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/credit"
	"github.com/sluicehq/sluice/internal/fragment"
	"github.com/sluicehq/sluice/protocol"
)

// stream is one stream of either role. Fields are guarded by Conn.mu unless
// noted. Its outbound half (what we send) and inbound half (what we receive)
// end independently; the stream leaves the table when both have ended.
type stream struct {
	c         *Conn
	id        uint32
	kind      protocol.FrameType // the request type
	requester bool
	route     string // set by routers, for stats

	// handler context (responder) or caller context link (requester)
	hctx     handlerCtx
	stopLink func() bool

	// outbound half
	outOpen       bool          // we may still send elements
	outEnded      bool          // terminal frame queued, or cancelled
	outErr        error         // why Send fails once ended
	outCredit     credit.Credit // credit the peer granted us
	granted       int64         // cumulative credit granted (saturating)
	out           []byte        // queued frames, each with a 4-byte length prefix
	outOff        int
	outBytes      int // data bytes queued in out (budget accounting)
	outFrames     int
	inRing        bool
	sentAny       bool // the writer took the first frame (the request, for requesters)
	pendingN      int64
	pendingCancel bool
	sendWaiting   bool
	budgetWaiting bool
	outWake       chan struct{} // cap 1; made by the first waiter, under mu
	starvedSince  time.Time
	starved       time.Duration
	sentCount     int64

	// inbound half
	inOpen   bool
	win      credit.Window
	manual   bool
	deferred bool // manual requester stream whose request waits for the first Request(n)
	inq      []sluice.Payload
	inHead   int
	inErr    error             // io.EOF on completion
	inWake   chan struct{}     // cap 1; made by the first waiter, under mu
	inBuf    [1]sluice.Payload // inq's first backing array: one element needs no allocation
	reasm    *fragment.Reassembler
	recvd    int64
	reqTotal int64

	// request assembly (responder side, fragmented request)
	assembling bool
	// req is the request of a requester stream until its frame is queued
	req sluice.Payload
}

func (c *Conn) newStream(id uint32, kind protocol.FrameType, requester bool) *stream {
	return &stream{c: c, id: id, kind: kind, requester: requester}
}

func kindName(t protocol.FrameType) string {
	switch t {
	case protocol.TypeRequestResponse:
		return "request-response"
	case protocol.TypeRequestStream:
		return "request-stream"
	case protocol.TypeRequestChannel:
		return "request-channel"
	case protocol.TypeRequestFNF:
		return "fire-and-forget"
	}
	return t.String()
}

func (s *stream) statsLocked() StreamStats {
	st := StreamStats{
		ID: s.id, Kind: kindName(s.kind), Requester: s.requester, Route: s.route,
		CreditGranted: s.granted, CreditOutstanding: s.outCredit.Available(), Sent: s.sentCount,
		QueuedFrames: s.outFrames, QueuedBytes: s.outBytes, Starved: s.starved,
		Requested: s.reqTotal, InFlight: s.win.Outstanding(), Received: s.recvd,
		Buffered: len(s.inq) - s.inHead,
	}
	if !s.starvedSince.IsZero() {
		st.Starved += time.Since(s.starvedSince)
	}
	return st
}

// wakeOut and wakeIn are called under mu; a waiter makes its channel under mu
// before it lets go, so no wake-up is lost.
func (s *stream) wakeOut() {
	if s.outWake == nil {
		return
	}
	select {
	case s.outWake <- struct{}{}:
	default:
	}
}

func (s *stream) outWaitChanLocked() chan struct{} {
	if s.outWake == nil {
		s.outWake = make(chan struct{}, 1)
	}
	return s.outWake
}

func (s *stream) wakeIn() {
	if s.inWake == nil {
		return
	}
	select {
	case s.inWake <- struct{}{}:
	default:
	}
}

// ---- outbound queue ---------------------------------------------------------------

func (s *stream) outLen() int { return len(s.out) - s.outOff }

// makeRoomLocked moves the unsent frames to the front of s.out when an append
// of about n bytes would otherwise grow the buffer: a producer that keeps the
// queue from ever emptying must not make every append reallocate and copy it.
// It then grows the buffer once to fit, instead of append doubling it in steps.
func (s *stream) makeRoomLocked(n int) {
	n += 64 + 16*(n/s.c.cfg.MTU) // frame headers and length prefixes
	if cap(s.out)-len(s.out) >= n {
		return
	}
	if s.outOff > 0 {
		k := copy(s.out, s.out[s.outOff:])
		s.out, s.outOff = s.out[:k], 0
	}
	s.out = slices.Grow(s.out, n)
}

// popFrameLocked removes the next frame; the slice is valid until the next
// append to s.out (the writer copies it at once).
func (s *stream) popFrameLocked() ([]byte, int) {
	n := int(binary.BigEndian.Uint32(s.out[s.outOff:]))
	f := s.out[s.outOff+4 : s.outOff+4+n]
	s.outOff += 4 + n
	s.outFrames--
	size := n
	s.outBytes -= size
	if s.outOff == len(s.out) {
		s.out, s.outOff = s.out[:0], 0
		if cap(s.out) > 4*s.c.cfg.StreamQueueBytes {
			s.out = nil
		}
	}
	if !s.sentAny {
		s.sentAny = true
		if s.pendingN > 0 {
			s.c.queueRequestNLocked(s.id, protocol.ClampN(s.pendingN))
			s.pendingN = 0
		}
		if s.pendingCancel {
			s.c.queueCancelLocked(s.id)
		}
	}
	if s.sendWaiting {
		s.wakeOut()
	}
	return f, size
}

// queueTerminalLocked queues PAYLOAD(C) or ERROR behind the elements and ends
// the outbound half.
func (s *stream) queueTerminalLocked(err error) {
	if s.outEnded {
		return
	}
	s.outEnded, s.outOpen = true, false
	s.makeRoomLocked(64)
	before := len(s.out)
	s.out = append(s.out, 0, 0, 0, 0)
	if err == nil {
		s.outErr = sluice.ErrClosed
		s.out = protocol.AppendPayload(s.out, s.id, protocol.FlagComplete, nil, nil)
	} else {
		s.outErr = err
		code, msg := errorFrameOf(err)
		s.out = protocol.AppendError(s.out, s.id, code, msg)
	}
	binary.BigEndian.PutUint32(s.out[before:], uint32(len(s.out)-before-4))
	s.accountAppendedLocked(before, 1)
	s.wakeOut()
}

func errorFrameOf(err error) (protocol.ErrorCode, string) {
	var se *sluice.Error
	if errors.As(err, &se) && !se.Code.IsConnectionLevel() {
		return se.Code, se.Message
	}
	code := sluice.CodeOf(err)
	if code.IsConnectionLevel() {
		code = protocol.ErrApplicationError
	}
	return code, err.Error()
}

// dropOutLocked discards queued frames (cancelled stream).
func (s *stream) dropOutLocked() {
	c := s.c
	if s.outBytes > 0 {
		c.queued -= s.outBytes
		if m := c.cfg.Metrics; m != nil {
			m.QueuedBytes.Add(-int64(s.outBytes))
		}
	}
	s.out, s.outOff, s.outBytes, s.outFrames = nil, 0, 0, 0
	if s.inRing {
		c.ring.Remove(s)
		s.inRing = false
	}
}

// ---- ending -------------------------------------------------------------------------

// endOutLocked ends the outbound half without a frame (cancelled by the peer).
func (s *stream) endOutLocked(err error) {
	if !s.outEnded {
		s.outEnded, s.outOpen, s.outErr = true, false, err
	}
	s.dropOutLocked()
	s.wakeOut()
}

// endInLocked ends the inbound half with err (io.EOF for completion).
func (s *stream) endInLocked(err error) {
	if s.inOpen {
		s.inOpen = false
		s.inErr = err
		s.reasm = nil
		s.wakeIn()
	}
}

// failLocked ends both halves with err and forgets the stream (the caller
// removes it from the table).
func (s *stream) failLocked(err error) {
	s.endOutLocked(err)
	s.endInLocked(err)
	if s.hctx.parent != nil {
		s.hctx.cancel()
	}
	if s.stopLink != nil {
		s.stopLink()
	}
}

// maybeRemoveLocked removes the stream once both halves have ended.
func (s *stream) maybeRemoveLocked() {
	if s.inOpen || !s.outEnded {
		return
	}
	s.removeLocked()
}

func (s *stream) removeLocked() {
	c := s.c
	if c.streams[s.id] == s {
		delete(c.streams, s.id)
		if !s.requester {
			c.peerOpen--
		}
		if m := c.cfg.Metrics; m != nil {
			m.StreamsClosed.Add(1)
		}
	}
	if s.stopLink != nil {
		s.stopLink()
	}
}

// ---- Sink -------------------------------------------------------------------------

// Send implements sluice.Sink.
func (s *stream) Send(ctx context.Context, p sluice.Payload) error {
	return s.send(ctx, p, true)
}

// Wait implements sluice.Sink: it returns once one Send would not block on credit.
func (s *stream) Wait(ctx context.Context) error {
	return s.send(ctx, sluice.Payload{}, false)
}

func (s *stream) send(ctx context.Context, p sluice.Payload, doSend bool) error {
	c := s.c
	for {
		c.mu.Lock()
		if !s.outOpen {
			err := s.outErr
			c.mu.Unlock()
			if err == nil {
				err = sluice.ErrClosed
			}
			return err
		}
		hasCredit := s.outCredit.Available() > 0
		room := s.outBytes == 0 || s.outBytes+p.Size() <= c.cfg.StreamQueueBytes
		budget := c.queued == 0 || c.queued+p.Size() <= c.cfg.ConnBudget
		if hasCredit && room && budget {
			if !s.starvedSince.IsZero() {
				s.starved += time.Since(s.starvedSince)
				s.starvedSince = time.Time{}
			}
			if !doSend {
				c.mu.Unlock()
				return nil
			}
			s.outCredit.Take()
			s.sentCount++
			c.sent++
			s.makeRoomLocked(p.Size())
			before := len(s.out)
			var n int
			s.out, n = fragment.Append(s.out, c.cfg.MTU, protocol.TypePayload, s.id, protocol.FlagNext, 0, p.Metadata, p.Data)
			s.accountAppendedLocked(before, n)
			c.mu.Unlock()
			if m := c.cfg.Metrics; m != nil {
				m.ElementsSent.Add(1)
			}
			c.notifyWriter()
			return nil
		}
		if !hasCredit && s.starvedSince.IsZero() {
			s.starvedSince = time.Now()
		}
		s.sendWaiting = true
		if hasCredit && room && !budget && !s.budgetWaiting {
			s.budgetWaiting = true
			c.budgetWait = append(c.budgetWait, s)
		}
		wake := s.outWaitChanLocked()
		c.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			c.mu.Lock()
			s.sendWaiting = false
			c.mu.Unlock()
			return ctx.Err()
		}
		c.mu.Lock()
		s.sendWaiting = false
		c.mu.Unlock()
	}
}

// accountAppendedLocked accounts for the n frames that were appended to s.out
// from offset before on, and puts the stream in the ready ring.
func (s *stream) accountAppendedLocked(before, n int) {
	c := s.c
	total := len(s.out) - before - 4*n
	s.outBytes += total
	s.outFrames += n
	c.queued += total
	if m := c.cfg.Metrics; m != nil {
		m.QueuedBytes.Add(int64(total))
	}
	if !s.inRing {
		s.inRing = true
		c.ring.Push(s)
	}
}

// ---- Stream (receiving) ---------------------------------------------------------------

// Recv implements sluice.Stream.
func (s *stream) Recv(ctx context.Context) (sluice.Payload, error) {
	c := s.c
	for {
		c.mu.Lock()
		if s.inHead < len(s.inq) {
			p := s.inq[s.inHead]
			s.inq[s.inHead] = sluice.Payload{}
			s.inHead++
			if s.inHead == len(s.inq) {
				s.inq, s.inHead = s.inq[:0], 0
			}
			var n uint32
			if !s.manual {
				n = s.win.Took()
			}
			if n > 0 && s.inOpen {
				s.sendRequestNLocked(int64(n))
			}
			c.mu.Unlock()
			return p, nil
		}
		if !s.inOpen {
			err := s.inErr
			c.mu.Unlock()
			if err == nil {
				err = io.EOF // the inbound half never opened (REQUEST_CHANNEL with C)
			}
			return sluice.Payload{}, err
		}
		if s.inWake == nil {
			s.inWake = make(chan struct{}, 1)
		}
		wake := s.inWake
		c.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return sluice.Payload{}, ctx.Err()
		}
	}
}

// sendRequestNLocked grants n more (already accounted in the window) to the peer.
func (s *stream) sendRequestNLocked(n int64) {
	c := s.c
	s.reqTotal = min(s.reqTotal+n, protocol.MaxN)
	if m := c.cfg.Metrics; m != nil {
		m.RequestNSent.Add(1)
		m.CreditRequested.Add(n)
	}
	if s.requester && !s.sentAny {
		s.pendingN += n
		return
	}
	if c.queueRequestNLocked(s.id, protocol.ClampN(n)) {
		c.notifyWriter()
	}
}

// All implements sluice.Stream.
func (s *stream) All(ctx context.Context) iter.Seq2[sluice.Payload, error] {
	return func(yield func(sluice.Payload, error) bool) {
		for {
			p, err := s.Recv(ctx)
			if err == io.EOF {
				return
			}
			if err != nil {
				s.Cancel()
				yield(sluice.Payload{}, err)
				return
			}
			if !yield(p, nil) {
				s.Cancel()
				return
			}
		}
	}
}

// Request implements sluice.Stream: it grants n more elements.
func (s *stream) Request(n int64) {
	c := s.c
	if n <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !s.inOpen {
		return
	}
	if s.deferred {
		// The request itself carries the first grant.
		s.deferred = false
		w := s.win.Grant(n)
		s.reqTotal = int64(w)
		s.queueRequestLocked(w)
		return
	}
	if w := s.win.Grant(n); w > 0 {
		s.sendRequestNLocked(int64(w))
	}
}

// Cancel implements sluice.Stream: it ends the stream locally and sends CANCEL
// if the peer may still be sending.
func (s *stream) Cancel() {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	// What is buffered is not wanted any more.
	clear(s.inq)
	s.inq, s.inHead = nil, 0
	if !s.requester {
		// A responder stops only the requester's half of a channel (CANCEL
		// from the responder, as rsocket-java and rsocket-js do); its own
		// half goes on until the handler returns.
		if s.inOpen {
			s.endInLocked(sluice.ErrCanceled)
			if c.streams[s.id] == s && c.queueCancelLocked(s.id) {
				c.notifyWriter()
			}
			s.maybeRemoveLocked()
		}
		return
	}
	if c.streams[s.id] != s {
		// already ended
		s.endInLocked(sluice.ErrCanceled)
		return
	}
	if s.requester && !s.sentAny && !s.deferred {
		// The request never left: withdraw it.
		s.dropOutLocked()
		s.failLocked(sluice.ErrCanceled)
		s.removeLocked()
		return
	}
	wasDeferred := s.deferred
	s.failLocked(sluice.ErrCanceled)
	s.removeLocked()
	if wasDeferred {
		return
	}
	if s.requester && !s.sentAny {
		s.pendingCancel = true
		return
	}
	if c.queueCancelLocked(s.id) {
		c.notifyWriter()
	}
}

// CloseSend implements sluice.Channel: it completes the outbound half.
func (s *stream) CloseSend() error {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !s.outOpen {
		return nil
	}
	s.queueTerminalLocked(nil)
	s.maybeRemoveLocked()
	c.notifyWriter()
	return nil
}

// ---- inbound frames -----------------------------------------------------------------

// request handles REQUEST_* from the peer (the first fragment, possibly).
func (c *Conn) request(f *protocol.Frame) {
	if !c.isPeerID(f.StreamID) {
		return // our own parity: belongs to our requester half, which ignores it
	}
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	if _, used := c.streams[f.StreamID]; used {
		c.mu.Unlock()
		return // MUST ignore a request on an ID in use
	}
	if f.Type == protocol.TypeRequestFNF && c.cfg.Handlers.FireAndForget == nil && !f.Flags.Has(protocol.FlagFollows) {
		c.mu.Unlock()
		return
	}
	if c.peerOpen >= c.cfg.MaxStreams {
		c.rejectLocked(f.StreamID, protocol.ErrRejected, fmt.Sprintf("too many streams (limit %d)", c.cfg.MaxStreams))
		c.mu.Unlock()
		return
	}
	if (f.Type == protocol.TypeRequestStream || f.Type == protocol.TypeRequestChannel) && (f.N == 0 || f.N > protocol.MaxN) {
		c.rejectLocked(f.StreamID, protocol.ErrInvalid, fmt.Sprintf("initial request N of %v must be in 1..2^31-1", f.Type))
		c.mu.Unlock()
		return
	}
	s := c.newStream(f.StreamID, f.Type, false)
	c.streams[s.id] = s
	c.peerOpen++
	c.received++
	if m := c.cfg.Metrics; m != nil {
		m.StreamsOpened.Add(1)
	}
	if f.Flags.Has(protocol.FlagFollows) {
		s.assembling = true
		s.reasm = fragment.New(c.cfg.MaxReassembly)
		_, _, err := s.reasm.Add(f)
		if err != nil {
			s.removeLocked()
			c.rejectLocked(f.StreamID, protocol.ErrInvalid, err.Error())
		}
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.startResponder(s, f, c.arena.own(f.Metadata, f.Data))
}

// rejectLocked answers a request with ERROR on its stream (no stream state kept).
func (c *Conn) rejectLocked(id uint32, code protocol.ErrorCode, msg string) {
	if m := c.cfg.Metrics; m != nil {
		m.ProtocolErrors.Add(1)
	}
	if c.queueControlLocked(protocol.AppendError(nil, id, code, msg)) {
		c.notifyWriter()
	}
}

// startResponder runs the handler for a complete request.
func (c *Conn) startResponder(s *stream, f *protocol.Frame, p sluice.Payload) {
	h := c.cfg.Handlers
	c.mu.Lock()
	s.assembling = false
	s.reasm = nil
	var ok bool
	switch s.kind {
	case protocol.TypeRequestFNF:
		ok = h.FireAndForget != nil
		s.outEnded = true
	case protocol.TypeRequestResponse:
		ok = h.RequestResponse != nil
		s.outOpen = true
		s.outCredit.Add(1)
	case protocol.TypeRequestStream:
		ok = h.RequestStream != nil
		s.outOpen = true
		s.outCredit.Add(f.N)
		s.granted = int64(f.N)
	case protocol.TypeRequestChannel:
		ok = h.RequestChannel != nil
		s.outOpen = true
		s.outCredit.Add(f.N)
		s.granted = int64(f.N)
		if !f.Flags.Has(protocol.FlagComplete) {
			s.inOpen = true
			s.win = credit.NewWindow(int64(c.cfg.ChannelPrefetch))
			s.reqTotal = int64(s.win.Initial())
			// The first element came with the request and the handler takes it at
			// once; it counts against the window, so the first grant is window-1
			// (plus a top-up if one is due already).
			s.win.Received()
			n := int64(s.win.Initial()) - 1 + int64(s.win.Took())
			if s.win.Unbounded() {
				n = protocol.MaxN // keep the peer's counter unbounded too
			}
			if n > 0 {
				s.sendRequestNLocked(n)
			}
		}
	}
	if !ok {
		s.failLocked(sluice.ErrClosed)
		s.removeLocked()
		if s.kind != protocol.TypeRequestFNF {
			c.rejectLocked(s.id, protocol.ErrRejected, fmt.Sprintf("%s is not supported here", kindName(s.kind)))
		}
		c.mu.Unlock()
		return
	}
	if s.kind == protocol.TypeRequestFNF {
		// Inline on the reader, so requests that follow see its effects.
		s.removeLocked()
		c.mu.Unlock()
		c.callInline(func() { h.FireAndForget(c.ctx, p) })
		return
	}
	s.hctx.parent = c.ctx
	c.mu.Unlock()
	c.dispatchHandler(task{s, p})
}

// task is one request for a handler.
type task struct {
	s *stream
	p sluice.Payload
}

// workerIdle is how long a handler goroutine waits for the next request before
// it exits. Reusing goroutines keeps the stacks that handlers grew, which a
// new goroutine per request would grow again each time.
const workerIdle = 2 * time.Second

// dispatchHandler hands t to an idle worker of this connection, or starts one.
func (c *Conn) dispatchHandler(t task) {
	select {
	case c.work <- t:
		return
	default:
	}
	c.handlers.Add(1)
	go c.worker(t)
}

func (c *Conn) worker(t task) {
	defer c.handlers.Done()
	var idle *time.Timer
	for {
		c.runHandler(t.s, t.p)
		t = task{}
		if idle == nil {
			idle = time.NewTimer(workerIdle)
			defer idle.Stop()
		} else {
			idle.Reset(workerIdle)
		}
		select {
		case t = <-c.work:
		case <-idle.C:
			return
		case <-c.ctx.Done():
			return
		}
	}
}

func (c *Conn) runHandler(s *stream, p sluice.Payload) {
	h := c.cfg.Handlers
	var err error
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("sluice: handler panicked", "stream", s.id, "panic", r)
			c.mu.Lock()
			s.queueTerminalLocked(&sluice.Error{Code: protocol.ErrApplicationError, Message: fmt.Sprintf("handler panicked: %v", r)})
			s.endInLocked(sluice.ErrCanceled)
			s.maybeRemoveLocked()
			c.mu.Unlock()
			c.notifyWriter()
		}
		s.hctx.cancel()
	}()
	switch s.kind {
	case protocol.TypeRequestResponse:
		var resp sluice.Payload
		resp, err = h.RequestResponse(&s.hctx, p)
		c.mu.Lock()
		if s.outOpen {
			if err == nil {
				s.makeRoomLocked(resp.Size())
				before := len(s.out)
				var n int
				s.out, n = fragment.Append(s.out, c.cfg.MTU, protocol.TypePayload, s.id,
					protocol.FlagNext|protocol.FlagComplete, 0, resp.Metadata, resp.Data)
				s.accountAppendedLocked(before, n)
				s.outEnded, s.outOpen, s.outErr = true, false, sluice.ErrClosed
				s.sentCount++
				c.sent++
				if m := c.cfg.Metrics; m != nil {
					m.ElementsSent.Add(1)
				}
			} else {
				s.queueTerminalLocked(err)
			}
			s.maybeRemoveLocked()
		}
		c.mu.Unlock()
		c.notifyWriter()
		return
	case protocol.TypeRequestStream:
		err = h.RequestStream(&s.hctx, p, s)
	case protocol.TypeRequestChannel:
		err = h.RequestChannel(&s.hctx, p, s, s)
	}
	c.mu.Lock()
	if s.outOpen {
		if err != nil && errors.Is(err, sluice.ErrCanceled) {
			err = &sluice.Error{Code: protocol.ErrCanceled, Message: err.Error()}
		}
		s.queueTerminalLocked(err)
	}
	if s.inOpen && s.kind == protocol.TypeRequestChannel {
		// The handler is done: stop the requester's half (CANCEL from the RS, de facto).
		s.endInLocked(sluice.ErrCanceled)
		if c.streams[s.id] == s {
			c.queueCancelLocked(s.id)
		}
	}
	s.maybeRemoveLocked()
	c.mu.Unlock()
	c.notifyWriter()
}

func (c *Conn) requestN(f *protocol.Frame) {
	if f.N == 0 || f.N > protocol.MaxN {
		return // illegal: never lowers credit
	}
	if m := c.cfg.Metrics; m != nil {
		m.RequestNReceived.Add(1)
		m.CreditGranted.Add(int64(f.N))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.streams[f.StreamID]
	if s == nil || !s.outOpen || s.kind == protocol.TypeRequestResponse {
		return
	}
	if s.requester && s.kind != protocol.TypeRequestChannel {
		return
	}
	s.outCredit.Add(f.N)
	s.granted = min(s.granted+int64(f.N), protocol.MaxN)
	s.wakeOut()
}

func (c *Conn) cancelReceived(f *protocol.Frame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.streams[f.StreamID]
	if s == nil {
		return
	}
	if s.requester {
		if s.kind == protocol.TypeRequestChannel {
			// The responder stopped our outbound half; we keep receiving.
			s.endOutLocked(sluice.ErrCanceled)
			s.maybeRemoveLocked()
		}
		return
	}
	s.failLocked(sluice.ErrCanceled)
	s.removeLocked()
}

func (c *Conn) streamError(f *protocol.Frame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.streams[f.StreamID]
	if s == nil {
		return
	}
	err := &sluice.Error{Code: f.Code, Message: string(f.Data)}
	s.failLocked(err)
	s.removeLocked()
}

func (c *Conn) payload(f *protocol.Frame) {
	c.mu.Lock()
	s := c.streams[f.StreamID]
	if s == nil {
		c.mu.Unlock()
		return
	}
	if s.assembling {
		out, done, err := s.reasm.Add(f)
		if err != nil {
			s.failLocked(sluice.ErrTooLarge)
			s.removeLocked()
			c.rejectLocked(s.id, protocol.ErrInvalid, "request reassembly failed: "+err.Error())
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if done {
			c.startResponder(s, &out, sluice.Payload{Data: out.Data, Metadata: out.Metadata})
		}
		return
	}
	if !s.inOpen {
		c.mu.Unlock()
		return
	}
	var md, data []byte
	flags := f.Flags
	owned := false
	if f.Flags.Has(protocol.FlagFollows) || (s.reasm != nil && s.reasm.InProgress()) {
		if s.reasm == nil {
			s.reasm = fragment.New(c.cfg.MaxReassembly)
		}
		out, done, err := s.reasm.Add(f)
		if err != nil {
			c.violationLocked(s, sluice.ErrTooLarge, "element reassembly failed: "+err.Error())
			c.mu.Unlock()
			return
		}
		if !done {
			c.mu.Unlock()
			return
		}
		md, data, flags, owned = out.Metadata, out.Data, out.Flags, true
	} else {
		md, data = f.Metadata, f.Data
	}
	next, complete := flags.Has(protocol.FlagNext), flags.Has(protocol.FlagComplete)
	if s.kind == protocol.TypeRequestResponse && (next || complete) {
		complete = true // a response without C is complete
	}
	if !next && !complete {
		c.mu.Unlock()
		return // neither N nor C: invalid, ignored
	}
	if next {
		if !s.win.Received() {
			c.violationLocked(s, sluice.ErrOverCredit, fmt.Sprintf("PAYLOAD beyond granted credit (granted %d)", s.reqTotal))
			c.mu.Unlock()
			return
		}
		var p sluice.Payload
		if owned {
			p = sluice.Payload{Metadata: md, Data: data}
		} else {
			p = c.arena.own(md, data)
		}
		if s.inq == nil {
			s.inq = s.inBuf[:0]
		}
		s.inq = append(s.inq, p)
		s.recvd++
		c.received++
		if m := c.cfg.Metrics; m != nil {
			m.ElementsReceived.Add(1)
		}
		s.wakeIn()
	}
	if complete {
		s.endInLocked(io.EOF)
		if s.requester && s.kind != protocol.TypeRequestChannel {
			s.outEnded = true
		}
		s.maybeRemoveLocked()
	}
	c.mu.Unlock()
}

// violationLocked ends a stream whose peer broke its rules: a requester of a
// stream or response sends CANCEL, anyone else ERROR[INVALID].
func (c *Conn) violationLocked(s *stream, err error, msg string) {
	if m := c.cfg.Metrics; m != nil {
		m.ProtocolErrors.Add(1)
	}
	c.log.Debug("sluice: stream protocol violation", "stream", s.id, "reason", msg)
	s.failLocked(fmt.Errorf("%w: %s", err, msg))
	s.removeLocked()
	var f []byte
	if s.requester && s.kind != protocol.TypeRequestChannel {
		f = protocol.AppendCancel(nil, s.id)
	} else {
		f = protocol.AppendError(nil, s.id, protocol.ErrInvalid, msg)
	}
	if c.queueControlLocked(f) {
		c.notifyWriter()
	}
}
