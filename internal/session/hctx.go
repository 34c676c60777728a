package session

import (
	"context"
	"sync"
	"time"
)

// handlerCtx is the context a responder's handler gets: it ends when the
// stream is cancelled, fails, or its handler returns, and when the connection
// closes (which fails every stream). It costs nothing per request until a
// handler asks for Done: no context.WithCancel allocation and no registration
// in the connection's context, which every concurrent request would contend on.
type handlerCtx struct {
	parent context.Context // the connection's context: values and deadline

	mu   sync.Mutex
	done chan struct{} // made on first Done
	err  error         // context.Canceled once cancelled
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (h *handlerCtx) Deadline() (time.Time, bool) { return h.parent.Deadline() }
func (h *handlerCtx) Value(key any) any           { return h.parent.Value(key) }

func (h *handlerCtx) Done() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done == nil {
		if h.err != nil {
			return closedChan
		}
		h.done = make(chan struct{})
	}
	return h.done
}

func (h *handlerCtx) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

func (h *handlerCtx) cancel() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return
	}
	h.err = context.Canceled
	if h.done != nil {
		close(h.done)
	}
}

func (h *handlerCtx) String() string { return "sluice.handlerContext" }
