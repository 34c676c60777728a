// Package rsgo holds small helpers around rsocket-go (github.com/rsocket/rsocket-go
// v0.8.16), the peer implementation of the interop tests: goroutine-leak
// options for its own background goroutines, and a subscriber that copies what
// it receives.
package rsgo

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rsocket/rsocket-go/payload"
	"github.com/rsocket/rsocket-go/rx"
	"github.com/rsocket/rsocket-go/rx/flux"
	"go.uber.org/goleak"
)

// LeakOptions are the goleak options of the test packages that run
// rsocket-go.
//
// rsocket-go runs its handlers and subscriptions on reactor-go schedulers,
// which are goroutine pools of github.com/panjf2000/ants/v2. The default
// response scheduler (scheduler.Elastic) is one process-wide pool that is
// never released, so its purge goroutine stays for good; and the idle workers
// of every pool linger for ants' expiry time (1 s, purged once a second) after
// the rsocket-go connections are closed. Both belong to rsocket-go's own
// machinery, not to sluice, and are ignored only while idle: the function on
// top of the stack must be the purge loop or the worker's wait for a task, so
// a worker stuck inside a task (a handler) is still reported. Nothing else is
// ignored.
func LeakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*Pool).purgePeriodically"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*goWorker).run.func1"),
	}
}

// Element is one received payload, copied: rsocket-go reuses the buffers of
// the payloads it hands to OnNext once OnNext returns.
type Element struct {
	Data     string
	Metadata []byte // nil when absent
}

func copyPayload(p payload.Payload) Element {
	e := Element{Data: string(p.Data())}
	if md, ok := p.Metadata(); ok {
		e.Metadata = append([]byte{}, md...)
	}
	return e
}

// Collector subscribes to a flux and records what arrives.
type Collector struct {
	mu      sync.Mutex
	cond    *sync.Cond
	items   []Element
	err     error
	done    bool
	sub     rx.Subscription
	subDone chan struct{}

	// OnNext, when set, runs on rsocket-go's dispatch goroutine after each
	// element is recorded, with the number received so far. Requests made
	// from here are race-free (see Request).
	OnNext func(c *Collector, n int)
}

// NewCollector returns a collector; call Subscribe to start it.
func NewCollector() *Collector {
	c := &Collector{subDone: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Subscribe subscribes to f. initial is the first demand (requested in
// OnSubscribe, which rsocket-go turns into the initial N of the request);
// initial <= 0 requests nothing.
func (c *Collector) Subscribe(ctx context.Context, f flux.Flux, initial int) *Collector {
	f.Subscribe(ctx,
		rx.OnSubscribe(func(ctx context.Context, s rx.Subscription) {
			c.mu.Lock()
			c.sub = s
			c.mu.Unlock()
			close(c.subDone)
			if initial > 0 {
				s.Request(initial)
			}
		}),
		rx.OnNext(func(p payload.Payload) error {
			c.mu.Lock()
			c.items = append(c.items, copyPayload(p))
			n := len(c.items)
			c.cond.Broadcast()
			c.mu.Unlock()
			if c.OnNext != nil {
				c.OnNext(c, n)
			}
			return nil
		}),
		rx.OnComplete(func() { c.finish(nil) }),
		rx.OnError(func(err error) { c.finish(err) }),
	)
	return c
}

func (c *Collector) finish(err error) {
	c.mu.Lock()
	c.done, c.err = true, err
	c.cond.Broadcast()
	c.mu.Unlock()
}

// Request asks for n more elements.
//
// rsocket-go's requester sends the REQUEST_N (and waits until it is written)
// before it adds n to the demand of its receiving processor, and that
// processor delivers queued elements only when a new element arrives. So when
// Request is called from another goroutine and all n elements arrive before
// the addition, they stay queued and the stream stalls. Calling Request from
// OnNext (rsocket-go's dispatch goroutine, which then cannot deliver anything
// until Request returns) avoids that race.
func (c *Collector) Request(n int) {
	<-c.subDone
	c.mu.Lock()
	s := c.sub
	c.mu.Unlock()
	s.Request(n)
}

// Cancel cancels the subscription.
func (c *Collector) Cancel() {
	<-c.subDone
	c.mu.Lock()
	s := c.sub
	c.mu.Unlock()
	s.Cancel()
}

// Items returns what arrived so far.
func (c *Collector) Items() []Element {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Element(nil), c.items...)
}

// Data returns the data of what arrived so far.
func (c *Collector) Data() []string {
	var out []string
	for _, e := range c.Items() {
		out = append(out, e.Data)
	}
	return out
}

// Len is how many elements arrived.
func (c *Collector) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// ErrTimeout is returned by the Wait methods when d passes.
var ErrTimeout = errors.New("rsgo: timed out")

// WaitN waits until at least n elements arrived (or the stream ended).
func (c *Collector) WaitN(n int, d time.Duration) error {
	return c.wait(d, func() bool { return len(c.items) >= n || c.done })
}

// Wait waits for completion or error and returns the error (nil on completion).
func (c *Collector) Wait(d time.Duration) error {
	if err := c.wait(d, func() bool { return c.done }); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Done reports whether the stream ended, and how.
func (c *Collector) Done() (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done, c.err
}

func (c *Collector) wait(d time.Duration, cond func() bool) error {
	t := time.AfterFunc(d, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer t.Stop()
	deadline := time.Now().Add(d)
	c.mu.Lock()
	defer c.mu.Unlock()
	for !cond() {
		if !time.Now().Before(deadline) {
			return ErrTimeout
		}
		c.cond.Wait()
	}
	return nil
}
