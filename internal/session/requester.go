package session

import (
	"context"
	"io"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/credit"
	"github.com/sluicehq/sluice/internal/fragment"
	"github.com/sluicehq/sluice/protocol"
)

// Policy is how a requester grants credit for what it receives.
type Policy struct {
	// Prefetch is the window: the credit granted up front and kept topped up as
	// the application takes elements. 2^31-1 means unbounded.
	Prefetch int64
	// Manual grants nothing until Request(n); the request itself is sent with
	// the first Request(n).
	Manual bool
}

// DefaultPrefetch is the window when a Policy has none.
const DefaultPrefetch = 64

// open registers a requester stream and queues its request frame. For a
// deferred (manual) stream the frame is queued by the first Request(n).
func (c *Conn) open(ctx context.Context, kind protocol.FrameType, p sluice.Payload, pol Policy) (*stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if pol.Prefetch <= 0 {
		pol.Prefetch = DefaultPrefetch
	}
	c.mu.Lock()
	if kind == protocol.TypeRequestFNF {
		// Nothing limits fire-and-forget but the connection's byte budget.
		if err := c.waitBudgetLocked(ctx, p.Size()); err != nil {
			c.mu.Unlock()
			return nil, err
		}
	}
	if c.closing {
		err := c.closeErr
		c.mu.Unlock()
		return nil, err
	}
	id, err := c.allocIDLocked()
	if err != nil {
		c.mu.Unlock()
		return nil, err
	}
	s := c.newStream(id, kind, true)
	s.req = p
	switch kind {
	case protocol.TypeRequestFNF:
		s.outEnded = true
	case protocol.TypeRequestResponse:
		s.outEnded = true
		s.inOpen = true
		s.win = credit.NewWindow(1)
		s.reqTotal = 1
	case protocol.TypeRequestStream, protocol.TypeRequestChannel:
		s.inOpen = true
		if kind == protocol.TypeRequestStream {
			s.outEnded = true
		} else {
			s.outOpen = true // the first element travels in the request
		}
		if pol.Manual {
			s.manual, s.deferred = true, true // s.win starts with nothing granted
		} else {
			s.win = credit.NewWindow(pol.Prefetch)
			s.reqTotal = int64(s.win.Initial())
		}
	}
	if kind != protocol.TypeRequestFNF {
		c.streams[id] = s
		if m := c.cfg.Metrics; m != nil {
			m.StreamsOpened.Add(1)
		}
	}
	if !s.deferred {
		var n uint32
		if kind == protocol.TypeRequestStream || kind == protocol.TypeRequestChannel {
			n = s.win.Initial()
		}
		s.queueRequestLocked(n)
	}
	if kind != protocol.TypeRequestFNF && ctx.Done() != nil {
		s.stopLink = context.AfterFunc(ctx, s.Cancel)
	}
	c.mu.Unlock()
	c.notifyWriter()
	return s, nil
}

// queueRequestLocked queues the request frame with initial request n.
func (s *stream) queueRequestLocked(n uint32) {
	s.makeRoomLocked(s.req.Size())
	before := len(s.out)
	var k int
	var flags protocol.Flags
	s.out, k = fragment.Append(s.out, s.c.cfg.MTU, s.kind, s.id, flags, n, s.req.Metadata, s.req.Data)
	s.accountAppendedLocked(before, k)
	s.req = sluice.Payload{}
	s.c.notifyWriter()
}

// RequestResponse sends a request and waits for its response. Cancelling ctx
// sends CANCEL.
func (c *Conn) RequestResponse(ctx context.Context, p sluice.Payload) (sluice.Payload, error) {
	s, err := c.open(ctx, protocol.TypeRequestResponse, p, Policy{})
	if err != nil {
		return sluice.Payload{}, err
	}
	resp, err := s.Recv(ctx)
	if err == io.EOF {
		// PAYLOAD C without N: an empty response.
		return sluice.Payload{Data: []byte{}}, nil
	}
	if err != nil {
		s.Cancel()
		return sluice.Payload{}, err
	}
	c.mu.Lock()
	s.removeLocked()
	c.mu.Unlock()
	return resp, nil
}

// FireAndForget queues a request that gets no answer.
func (c *Conn) FireAndForget(ctx context.Context, p sluice.Payload) error {
	_, err := c.open(ctx, protocol.TypeRequestFNF, p, Policy{})
	return err
}

// RequestStream starts a request-stream. The returned stream grants credit by
// pol as the application takes elements.
func (c *Conn) RequestStream(ctx context.Context, p sluice.Payload, pol Policy) (sluice.Stream, error) {
	s, err := c.open(ctx, protocol.TypeRequestStream, p, pol)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// RequestChannel starts a request-channel whose first element is p. Send
// blocks until the responder grants credit; CloseSend completes our half.
func (c *Conn) RequestChannel(ctx context.Context, p sluice.Payload, pol Policy) (sluice.Channel, error) {
	s, err := c.open(ctx, protocol.TypeRequestChannel, p, pol)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// MetadataPush sends METADATA_PUSH.
func (c *Conn) MetadataPush(ctx context.Context, md []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if md == nil {
		md = []byte{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return c.closeErr
	}
	if !c.queueControlLocked(protocol.AppendMetadataPush(nil, md)) {
		return sluice.ErrClosed
	}
	c.notifyWriter()
	return nil
}

// SetRoute records a route name for stats on the stream behind s (if it is ours).
func SetRoute(s any, route string) {
	if st, ok := s.(*stream); ok {
		st.c.mu.Lock()
		st.route = route
		st.c.mu.Unlock()
	}
}

// waitBudgetLocked waits (releasing mu meanwhile) until size more bytes fit in
// the connection's byte budget.
func (c *Conn) waitBudgetLocked(ctx context.Context, size int) error {
	var w *stream
	for !c.closing && c.queued > 0 && c.queued+size > c.cfg.ConnBudget {
		if w == nil {
			w = c.newStream(0, protocol.TypeRequestFNF, true)
		}
		if !w.budgetWaiting {
			w.budgetWaiting = true
			c.budgetWait = append(c.budgetWait, w)
		}
		wake := w.outWaitChanLocked()
		c.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			c.mu.Lock()
			return ctx.Err()
		case <-c.ctx.Done():
		}
		c.mu.Lock()
	}
	return nil
}
