package rsgoserver

import (
	"context"
	"encoding/binary"
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

// peer is an rsocket-go server on loopback with handlers written with
// rsocket-go's own API, named like sluice's conformance routes (routed by the
// routing entry of the composite metadata, parsed with rsocket-go's extension
// package), and instrumented so tests can see what reached rsocket-go:
//
//	echo          request-response: the data back
//	error         request-response: APPLICATION_ERROR with the data as message
//	error.invalid request-response: ERROR[INVALID] with the data as message
//	never         request-response: never answers
//	fnf           fire-and-forget: counted; fnf.count answers the count
//	count         request-stream: "0".."N-1" (empty data = unbounded) from
//	              flux.Create, the usual rsocket-go producer
//	count.paced   request-stream: the same from a hand-written publisher that
//	              emits inside Subscription.Request(n), n at a time (do not
//	              ask it for an unbounded count with unbounded demand)
//	blob          request-stream: "N SIZE" like sluice's blob
//	channel.echo  request-channel: echoes every element (requests.Map)
//	channel.fail  request-channel: fails on the first element (APPLICATION_ERROR)
//	metadata push: counted and kept
type peer struct {
	URL    string // ws://127.0.0.1:PORT/
	Addr   string
	fnf    atomic.Int64
	pushes chan string
	probes chan *probe // one per request-stream, request-channel and never request
	conns  sync.WaitGroup
}

// probe records what one stream's handler saw.
type probe struct {
	route string
	data  string

	mu       sync.Mutex
	requests []int // demand the handler's flux received, in order
	signal   string
	ended    chan struct{} // closed when the flux ended

	produced atomic.Int64 // elements the producer made (called sink.Next for)
	panicked atomic.Value // string: a panic caught in the producer
	stop     atomic.Bool  // the flux ended: a flux.Create producer stops
}

func newProbe(route, data string) *probe {
	return &probe{route: route, data: data, ended: make(chan struct{})}
}

func (p *probe) request(n int) {
	p.mu.Lock()
	p.requests = append(p.requests, n)
	p.mu.Unlock()
}

func (p *probe) finish(s rx.SignalType) {
	p.mu.Lock()
	if p.signal == "" {
		p.signal = s.String()
		close(p.ended)
	}
	p.stop.Store(true)
	p.mu.Unlock()
}

// Requests returns the demand the handler received so far.
func (p *probe) Requests() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.requests...)
}

// Signal returns how the handler's flux ended ("" while running).
func (p *probe) Signal() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.signal
}

func routeOf(p payload.Payload) string {
	md, ok := p.Metadata()
	if !ok {
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

// codeError is an rsocket-go error with a code of our choice.
type codeError struct {
	code rsocket.ErrorCode
	msg  string
}

func (e codeError) Error() string                { return e.msg }
func (e codeError) ErrorCode() rsocket.ErrorCode { return e.code }
func (e codeError) ErrorData() []byte            { return []byte(e.msg) }

func clone(b []byte) []byte { return append([]byte{}, b...) }

// observe reports how f ends to p. Not with DoFinally: reactor-go pools the
// DoFinally subscriber and releases it when the flux ends, but rsocket-go keeps
// the stream's callback (holding that subscriber) registered after a CANCEL
// and cancels it again when the connection closes; by then the pooled
// subscriber may serve another stream (the race detector catches it). The
// peek operators used here are not pooled.
func observe(f flux.Flux, p *probe) flux.Flux {
	return flux.Raw(f.Raw().DoOnCancel(func() { p.finish(rx.SignalCancel) })).
		DoOnComplete(func() { p.finish(rx.SignalComplete) }).
		DoOnError(func(error) { p.finish(rx.SignalError) })
}

func (s *peer) handlers() rsocket.RSocket {
	return rsocket.NewAbstractSocket(
		rsocket.RequestResponse(func(req payload.Payload) mono.Mono {
			data := string(req.Data())
			switch r := routeOf(req); r {
			case "echo":
				return mono.Just(payload.New(clone(req.Data()), nil))
			case "error":
				return mono.Error(errors.New(data))
			case "error.invalid":
				return mono.Error(codeError{rsocket.ErrorCodeInvalid, data})
			case "fnf.count":
				return mono.Just(payload.New([]byte(strconv.FormatInt(s.fnf.Load(), 10)), nil))
			case "never":
				p := newProbe(r, data)
				s.probes <- p
				return mono.Create(func(ctx context.Context, sink mono.Sink) {}).
					DoOnCancel(func() { p.finish(rx.SignalCancel) })
			default:
				return mono.Error(fmt.Errorf("no route %q", r))
			}
		}),
		rsocket.FireAndForget(func(req payload.Payload) {
			if routeOf(req) == "fnf" {
				s.fnf.Add(1)
			}
		}),
		rsocket.MetadataPush(func(req payload.Payload) {
			md, _ := req.Metadata()
			s.pushes <- string(md)
		}),
		rsocket.RequestStream(func(req payload.Payload) flux.Flux {
			r, data := routeOf(req), string(req.Data())
			p := newProbe(r, data)
			var f flux.Flux
			switch r {
			case "count", "count.paced":
				limit := int64(-1)
				if data != "" {
					n, err := strconv.ParseInt(data, 10, 64)
					if err != nil {
						return flux.Error(codeError{rsocket.ErrorCodeInvalid, "count: bad N " + strconv.Quote(data)})
					}
					limit = n
				}
				if r == "count.paced" {
					s.probes <- p
					return newPaced(p, limit)
				}
				f = flux.Create(func(ctx context.Context, sink flux.Sink) {
					defer func() {
						if v := recover(); v != nil {
							p.panicked.Store(fmt.Sprint(v))
						}
					}()
					for i := int64(0); limit < 0 || i < limit; i++ {
						if p.stop.Load() {
							return
						}
						p.produced.Add(1)
						sink.Next(payload.New([]byte(strconv.FormatInt(i, 10)), nil))
					}
					sink.Complete()
				})
			case "blob":
				var n, size int
				if _, err := fmt.Sscanf(data, "%d %d", &n, &size); err != nil || size < 8 {
					return flux.Error(codeError{rsocket.ErrorCodeInvalid, "blob: want N SIZE"})
				}
				f = flux.Create(func(ctx context.Context, sink flux.Sink) {
					for i := range n {
						b := make([]byte, size)
						for j := range b {
							b[j] = byte(j)
						}
						binary.BigEndian.PutUint64(b, uint64(i))
						p.produced.Add(1)
						sink.Next(payload.New(b, nil))
					}
					sink.Complete()
				})
			default:
				return flux.Error(fmt.Errorf("no route %q", r))
			}
			s.probes <- p
			return observe(f.DoOnRequest(p.request), p)
		}),
		rsocket.RequestChannel(func(requests flux.Flux) flux.Flux {
			p := newProbe("channel.echo", "")
			s.probes <- p
			var first atomic.Bool
			return observe(requests.
				Map(func(in payload.Payload) (payload.Payload, error) {
					if !first.Swap(true) {
						p.mu.Lock()
						p.route = routeOf(in)
						p.mu.Unlock()
						if p.route == "channel.fail" {
							return nil, errors.New("channel failed: " + string(in.Data()))
						}
					}
					p.produced.Add(1)
					return payload.New(clone(in.Data()), nil), nil
				}).
				DoOnRequest(p.request), p)
		}),
	)
}

// startPeer runs an rsocket-go server over WebSocket (or TCP) on a loopback
// port until the test ends. mtu > 0 makes rsocket-go fragment what it sends.
func startPeer(t *testing.T, tcp bool, mtu int) *peer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &peer{Addr: l.Addr().String(), pushes: make(chan string, 100), probes: make(chan *probe, 100)}
	s.URL = "ws://" + s.Addr + "/"
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
			s.conns.Add(1)
			sock.OnClose(func(error) { s.conns.Done() })
			return s.handlers(), nil
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
		go func() { s.conns.Wait(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Errorf("rsocket-go did not close its connections")
		}
		select {
		case err := <-done:
			if err != nil && !strings.Contains(err.Error(), "closed") {
				t.Logf("rsocket-go server: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("rsocket-go server did not stop")
		}
	})
	return s
}

// probe returns the probe of the next stream the peer served.
func (s *peer) probe(t *testing.T) *probe {
	t.Helper()
	select {
	case p := <-s.probes:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("the rsocket-go handler never ran")
		return nil
	}
}

// pacedFlux is a demand-driven publisher written against rsocket-go's
// reactive API: it emits only inside Subscription.Request(n), at most n
// elements, on the goroutine that asked (rsocket-go's dispatch goroutine for
// REQUEST_N). Not flux.Create: its buffered sink runs 256 ahead of the demand,
// and producing against DoOnRequest from another goroutine races the sink's
// drain (reactor-go's buffered sink can lose the wakeup). The operators
// rsocket-go does not use on a handler's flux come from an embedded empty
// flux.
type pacedFlux struct {
	flux.Flux
	p     *probe
	limit int64 // -1: unbounded
}

func newPaced(p *probe, limit int64) flux.Flux {
	return &pacedFlux{Flux: flux.Empty(), p: p, limit: limit}
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
	p.request(n)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for ; n > 0 && !ps.done.Load(); n-- {
		if ps.f.limit >= 0 && ps.next >= ps.f.limit {
			break
		}
		p.produced.Add(1)
		ps.s.OnNext(payload.New([]byte(strconv.FormatInt(ps.next, 10)), nil))
		ps.next++
	}
	if ps.f.limit >= 0 && ps.next >= ps.f.limit && !ps.done.Swap(true) {
		ps.s.OnComplete()
		p.finish(rx.SignalComplete)
	}
}

func (ps *pacedSubscription) Cancel() {
	if !ps.done.Swap(true) {
		ps.f.p.finish(rx.SignalCancel)
	}
}
