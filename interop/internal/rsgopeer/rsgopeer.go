// Package rsgopeer is an rsocket-go (v0.8.16) server on loopback for the
// interop tests, with the building blocks their handlers share: a Probe that
// records what one stream's handler saw, the route of a request as
// rsocket-go's extension package parses it, errors with a code of our choice,
// and the producers the tests' request-stream and request-channel handlers
// use. Each test package writes its own handlers (its routes) with these.
package rsgopeer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jjeffcaii/reactor-go/scheduler"
	rsocket "github.com/rsocket/rsocket-go"
	"github.com/rsocket/rsocket-go/core/transport"
	"github.com/rsocket/rsocket-go/extension"
	"github.com/rsocket/rsocket-go/payload"
	"github.com/rsocket/rsocket-go/rx"
	"github.com/rsocket/rsocket-go/rx/flux"
	"github.com/rsocket/rsocket-go/rx/mono"
)

// Server is an rsocket-go server on a loopback port. Create it with New, then
// Start it.
type Server struct {
	URL   string       // ws://127.0.0.1:PORT/ or tcp://127.0.0.1:PORT
	Addr  string       // 127.0.0.1:PORT
	Conns atomic.Int64 // connections rsocket-go accepted

	probes chan *Probe  // one per stream the handlers reported
	clock  atomic.Int64 // orders the probes' events
	open   sync.WaitGroup
	wait   time.Duration
}

// New returns a server that is not started yet; wait bounds how long its
// helpers wait for rsocket-go.
func New(wait time.Duration) *Server {
	return &Server{probes: make(chan *Probe, 100), wait: wait}
}

// Start runs the server over WebSocket (at /) or TCP until the test ends.
// mtu > 0 makes rsocket-go fragment what it sends. accept gives the handlers
// of a connection rsocket-go accepted with that SETUP.
func (s *Server) Start(t *testing.T, tcp bool, mtu int, accept func(payload.SetupPayload) rsocket.RSocket) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	s.URL = "ws://" + s.Addr + "/"
	if tcp {
		s.URL = "tcp://" + s.Addr
	}
	listen := func(context.Context) (net.Listener, error) { return l, nil }
	var tr transport.ServerTransporter = func(context.Context) (transport.ServerTransport, error) {
		if tcp {
			return transport.NewTCPServerTransport(listen), nil
		}
		return transport.NewWebsocketServerTransport(listen, "/", nil), nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error, 1)
	b := rsocket.Receive().OnStart(func() { close(started) })
	if mtu > 0 {
		b = b.Fragment(mtu)
	}
	go func() {
		done <- b.Acceptor(func(ctx context.Context, setup payload.SetupPayload, sock rsocket.CloseableRSocket) (rsocket.RSocket, error) {
			s.Conns.Add(1)
			s.open.Add(1)
			sock.OnClose(func(error) { s.open.Done() })
			return accept(setup), nil
		}).Transport(tr).Serve(ctx)
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("rsocket-go server: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		// Wait until rsocket-go has torn its connections down: it cancels what
		// is still registered then, through subscribers reactor-go pools, and
		// the next test must not be handed one of those while that runs.
		closed := make(chan struct{})
		go func() { s.open.Wait(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(s.wait):
			t.Errorf("rsocket-go did not close its connections")
		}
		select {
		case err := <-done:
			if err != nil && !strings.Contains(err.Error(), "closed") {
				t.Logf("rsocket-go server: %v", err)
			}
		case <-time.After(s.wait):
			t.Errorf("rsocket-go server did not stop")
		}
	})
}

// NewProbe returns a probe for a handler serving route with data, and hands
// it to the test (see Probe).
func (s *Server) NewProbe(route, data string) *Probe {
	p := &Probe{route: route, data: data, ended: make(chan struct{}), clock: &s.clock, wait: s.wait}
	p.started = s.clock.Add(1)
	s.probes <- p
	return p
}

// Probe returns the probe of the next stream the handlers served.
func (s *Server) Probe(t *testing.T) *Probe {
	t.Helper()
	select {
	case p := <-s.probes:
		return p
	case <-time.After(s.wait):
		t.Fatal("the rsocket-go handler never ran")
		return nil
	}
}

// Probe records what one stream's handler saw.
type Probe struct {
	mu       sync.Mutex
	route    string
	data     string
	requests []int    // the demand the handler's flux received, in order
	elements []string // channel: what came in
	signal   string   // how the flux ended: COMPLETE, CANCEL, ERROR
	ended    chan struct{}
	stop     atomic.Bool // the flux ended: a producer stops

	// Produced counts the elements the producer made.
	Produced atomic.Int64
	// Panicked holds a panic caught in the producer (a string).
	Panicked atomic.Value

	clock        *atomic.Int64
	started, end int64 // clock ticks: the handler ran, the flux ended
	wait         time.Duration
}

// Request records demand the handler's flux received (for DoOnRequest).
func (p *Probe) Request(n int) {
	p.mu.Lock()
	p.requests = append(p.requests, n)
	p.mu.Unlock()
}

// Finish records how the handler's flux ended; only the first call counts.
func (p *Probe) Finish(s rx.SignalType) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.signal == "" {
		p.signal = s.String()
		p.end = p.clock.Add(1)
		close(p.ended)
	}
	p.stop.Store(true)
}

// Stopped reports whether the handler's flux ended.
func (p *Probe) Stopped() bool { return p.stop.Load() }

// Ended is closed when the handler's flux ended.
func (p *Probe) Ended() <-chan struct{} { return p.ended }

// Started and End order the probes of a server: the ticks at which the
// handler ran and at which its flux ended (0 while it runs).
func (p *Probe) Started() int64 { return p.started }

// End is the tick at which the handler's flux ended (see Started).
func (p *Probe) End() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.end
}

// Requests is the demand the handler received so far.
func (p *Probe) Requests() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.requests...)
}

// Signal is how the handler's flux ended ("" while it runs).
func (p *Probe) Signal() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.signal
}

// Route is the route the handler saw.
func (p *Probe) Route() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.route
}

// Elements is what a channel received.
func (p *Probe) Elements() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.elements...)
}

// Wait waits for the handler's flux to end and returns how.
func (p *Probe) Wait(t *testing.T) string {
	t.Helper()
	select {
	case <-p.ended:
	case <-time.After(p.wait):
		t.Fatalf("rsocket-go's %s handler did not end (demand %v)", p.Route(), p.Requests())
	}
	return p.Signal()
}

// RouteOf is the first routing tag of the request metadata, parsed by
// rsocket-go's extension package: routing metadata if mdMIME (the
// connection's metadata MIME type) is message/x.rsocket.routing.v0, else
// composite metadata with a routing entry.
func RouteOf(mdMIME string, p payload.Payload) string {
	md, ok := p.Metadata()
	if !ok {
		return ""
	}
	if mdMIME == extension.MessageRouting.String() {
		if tags, err := extension.ParseRoutingTags(md); err == nil && len(tags) > 0 {
			return tags[0]
		}
		return ""
	}
	sc := extension.NewCompositeMetadataBytes(md).Scanner()
	for sc.Scan() {
		mime, content, err := sc.Metadata()
		if err != nil {
			return ""
		}
		if mime == extension.MessageRouting.String() {
			if tags, err := extension.ParseRoutingTags(content); err == nil && len(tags) > 0 {
				return tags[0]
			}
		}
	}
	return ""
}

// CodeError is an rsocket-go error with a code of our choice.
type CodeError struct {
	Code rsocket.ErrorCode
	Msg  string
}

func (e CodeError) Error() string                { return e.Msg }
func (e CodeError) ErrorCode() rsocket.ErrorCode { return e.Code }
func (e CodeError) ErrorData() []byte            { return []byte(e.Msg) }

// Invalid is an ERROR[INVALID] with msg as message.
func Invalid(msg string) error { return CodeError{rsocket.ErrorCodeInvalid, msg} }

// Respond answers the request-response routes both peers serve: echo (the
// data back), error (APPLICATION_ERROR with the data as message) and
// error.invalid (ERROR[INVALID] with the data as message); any other route is
// an APPLICATION_ERROR "no route".
func Respond(route string, req payload.Payload) mono.Mono {
	data := string(req.Data())
	switch route {
	case "echo":
		return mono.Just(payload.New(Clone(req.Data()), nil))
	case "error":
		return mono.Error(errors.New(data))
	case "error.invalid":
		return mono.Error(Invalid(data))
	default:
		return mono.Error(fmt.Errorf("no route %q", route))
	}
}

// Clone copies b (rsocket-go reuses the buffers of what it received).
func Clone(b []byte) []byte { return append([]byte{}, b...) }

// ParseCount is the N of the count routes: empty data is unbounded (-1), data
// that is not a number is an ERROR[INVALID].
func ParseCount(data string) (int64, error) {
	if data == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(data, 10, 64)
	if err != nil {
		return 0, Invalid("count: bad N " + strconv.Quote(data))
	}
	return n, nil
}

// Observe reports how f ends to p. Not with DoFinally: reactor-go pools the
// DoFinally subscriber and releases it when the flux ends, but rsocket-go keeps
// the stream's callback (holding that subscriber) registered after a CANCEL
// and cancels it again when the connection closes; by then the pooled
// subscriber may serve another stream (the race detector catches it). The
// peek operators used here are not pooled.
func Observe(f flux.Flux, p *Probe) flux.Flux {
	return flux.Raw(f.Raw().DoOnCancel(func() { p.Finish(rx.SignalCancel) })).
		DoOnComplete(func() { p.Finish(rx.SignalComplete) }).
		DoOnError(func(error) { p.Finish(rx.SignalError) })
}

// Channel is the channel.echo and channel.fail handler: it echoes every
// element of requests (requests.Map), recording them in p, and fails on the
// first one if the route of the first element (by route) is channel.fail.
func Channel(requests flux.Flux, p *Probe, route func(payload.Payload) string) flux.Flux {
	var first atomic.Bool
	return Observe(requests.
		Map(func(in payload.Payload) (payload.Payload, error) {
			p.mu.Lock()
			if !first.Swap(true) {
				p.route = route(in)
			}
			p.elements = append(p.elements, string(in.Data()))
			r := p.route
			p.mu.Unlock()
			if r == "channel.fail" {
				return nil, errors.New("channel failed: " + string(in.Data()))
			}
			p.Produced.Add(1)
			return payload.New(Clone(in.Data()), nil), nil
		}).
		DoOnRequest(p.Request), p)
}

// Paced is "0".."limit-1" (limit -1: unbounded) from a demand-driven
// publisher written against rsocket-go's reactive API: it emits only inside
// Subscription.Request(n), at most n elements, on the goroutine that asked
// (rsocket-go's dispatch goroutine for REQUEST_N). Request records the demand
// in p first, so p holds exactly what rsocket-go handed to the handler's flux.
//
// Not flux.Create, rsocket-go's usual producer: its buffered sink runs 256
// elements ahead of the demand, cancelling it while the producer sends races
// (the race detector reports it inside rsocket-go), and producing against
// DoOnRequest from another goroutine races the sink's drain (reactor-go's
// buffered sink can lose the wakeup; see interop/README.md). The operators
// rsocket-go does not use on a handler's flux come from an embedded empty
// flux. Do not ask it for an unbounded count with unbounded demand.
func Paced(p *Probe, limit int64) flux.Flux {
	return &pacedFlux{Flux: flux.Empty(), p: p, limit: limit}
}

type pacedFlux struct {
	flux.Flux
	p     *Probe
	limit int64 // -1: unbounded
}

// SubscribeOn subscribes on the caller's goroutine whatever the scheduler.
func (f *pacedFlux) SubscribeOn(scheduler.Scheduler) flux.Flux { return f }

func (f *pacedFlux) SubscribeWith(ctx context.Context, s rx.Subscriber) {
	s.OnSubscribe(ctx, &pacedSubscription{f: f, s: s})
}

func (f *pacedFlux) Subscribe(ctx context.Context, opts ...rx.SubscriberOption) {
	f.SubscribeWith(ctx, rx.NewSubscriber(opts...))
}

type pacedSubscription struct {
	f    *pacedFlux
	s    rx.Subscriber
	mu   sync.Mutex // serializes Request
	next int64
	done atomic.Bool
}

func (ps *pacedSubscription) Request(n int) {
	p := ps.f.p
	p.Request(n)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for ; n > 0 && !ps.done.Load(); n-- {
		if ps.f.limit >= 0 && ps.next >= ps.f.limit {
			break
		}
		p.Produced.Add(1)
		ps.s.OnNext(payload.New([]byte(strconv.FormatInt(ps.next, 10)), nil))
		ps.next++
	}
	if ps.f.limit >= 0 && ps.next >= ps.f.limit && !ps.done.Swap(true) {
		ps.s.OnComplete()
		p.Finish(rx.SignalComplete)
	}
}

func (ps *pacedSubscription) Cancel() {
	if !ps.done.Swap(true) {
		ps.f.p.Finish(rx.SignalCancel)
	}
}
