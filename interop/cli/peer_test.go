package cli

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

// peer is the rsocket-go (v0.8.16) server the sluice binary talks to, written
// with rsocket-go's own API. Its handlers follow interop/rsgoserver's peer
// (which lives in that package's test files, so it cannot be imported): routes
// come from the request metadata as rsocket-go's extension package parses it
// (composite metadata with a routing entry, or routing metadata when the
// connection's SETUP announced message/x.rsocket.routing.v0), and every
// handler records what reached it.
//
//	echo          request-response: the data back
//	bin           request-response: 4 bytes that are not UTF-8 (00 01 02 ff)
//	meta          request-response: the request metadata as rsocket-go parsed
//	              it, "mime=content" per composite entry, joined by " | "
//	error         request-response: APPLICATION_ERROR with the data as message
//	error.invalid request-response: ERROR[INVALID] with the data as message
//	never         request-response: never answers
//	fnf           fire-and-forget: the data is recorded
//	count         request-stream: "0".."N-1" (empty data = unbounded) from a
//	              publisher that emits inside Subscription.Request(n), at most n
//	              (so what it produced is exactly the demand it received);
//	              bad N: ERROR[INVALID]
//	channel.echo  request-channel: echoes every element (requests.Map)
//	channel.fail  request-channel: fails on the first element
//	metadata push: the metadata is recorded
//
// Streams do not use flux.Create, rsocket-go's usual producer: its sink runs
// 257 elements ahead of the demand, cancelling it while the producer sends
// races (the race detector reports it inside rsocket-go), and it can lose a
// wakeup (see interop/README.md). The CLI cannot poke a stalled stream.
type peer struct {
	URL    string // ws://127.0.0.1:PORT/ or tcp://127.0.0.1:PORT
	fnf    chan string
	pushes chan []byte
	setups chan setupSeen
	probes chan *probe  // one per request-stream and request-channel
	clock  atomic.Int64 // orders the probes' events
	conns  atomic.Int64
	open   sync.WaitGroup
}

// setupSeen is what rsocket-go read from a SETUP.
type setupSeen struct {
	dataMIME, metadataMIME string
	data                   string
	keepalive              time.Duration
}

// probe records what one stream's handler saw.
type probe struct {
	mu       sync.Mutex
	route    string
	data     string
	requests []int    // the demand the handler's flux received, in order
	elements []string // channel: what came in
	signal   string   // how the flux ended: COMPLETE, CANCEL, ERROR
	ended    chan struct{}
	produced atomic.Int64

	clock        *atomic.Int64
	started, end int64 // clock ticks: the handler ran, the flux ended
}

func (s *peer) newProbe(route, data string) *probe {
	return &probe{route: route, data: data, ended: make(chan struct{}), clock: &s.clock, started: s.clock.Add(1)}
}

func (p *probe) request(n int) {
	p.mu.Lock()
	p.requests = append(p.requests, n)
	p.mu.Unlock()
}

func (p *probe) finish(s rx.SignalType) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.signal == "" {
		p.signal = s.String()
		p.end = p.clock.Add(1)
		close(p.ended)
	}
}

// Requests is the demand the handler received so far.
func (p *probe) Requests() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.requests...)
}

// Signal is how the handler's flux ended ("" while it runs).
func (p *probe) Signal() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.signal
}

// Route is the route the handler saw.
func (p *probe) Route() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.route
}

// Elements is what a channel received.
func (p *probe) Elements() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.elements...)
}

// wait waits for the handler's flux to end and returns how.
func (p *probe) wait(t *testing.T) string {
	t.Helper()
	select {
	case <-p.ended:
	case <-time.After(wait):
		t.Fatalf("rsocket-go's %s handler did not end (demand %v)", p.Route(), p.Requests())
	}
	return p.Signal()
}

// routeOf is the first routing tag of the request metadata, parsed by
// rsocket-go's extension package.
func routeOf(mdMIME string, p payload.Payload) string {
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

// describeMetadata is the metadata as rsocket-go's extension package reads
// composite metadata: "mime=content" per entry, routing tags joined by ",".
func describeMetadata(md []byte) string {
	var out []string
	sc := extension.NewCompositeMetadataBytes(md).Scanner()
	for sc.Scan() {
		mime, content, err := sc.Metadata()
		if err != nil {
			return "unparsable: " + err.Error()
		}
		if mime == extension.MessageRouting.String() {
			tags, err := extension.ParseRoutingTags(content)
			if err != nil {
				return "bad routing entry: " + err.Error()
			}
			out = append(out, "routing="+strings.Join(tags, ","))
			continue
		}
		out = append(out, mime+"="+string(content))
	}
	return strings.Join(out, " | ")
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

// observe reports how f ends to p, with peek operators that reactor-go does
// not pool (not DoFinally: see interop/rsgoserver's observe).
func observe(f flux.Flux, p *probe) flux.Flux {
	return flux.Raw(f.Raw().DoOnCancel(func() { p.finish(rx.SignalCancel) })).
		DoOnComplete(func() { p.finish(rx.SignalComplete) }).
		DoOnError(func(error) { p.finish(rx.SignalError) })
}

func (s *peer) handlers(mdMIME string) rsocket.RSocket {
	route := func(p payload.Payload) string { return routeOf(mdMIME, p) }
	return rsocket.NewAbstractSocket(
		rsocket.RequestResponse(func(req payload.Payload) mono.Mono {
			data := string(req.Data())
			switch r := route(req); r {
			case "echo":
				return mono.Just(payload.New(clone(req.Data()), nil))
			case "bin":
				return mono.Just(payload.New([]byte{0, 1, 2, 0xff}, nil))
			case "meta":
				md, _ := req.Metadata()
				return mono.Just(payload.New([]byte(describeMetadata(md)), nil))
			case "error":
				return mono.Error(errors.New(data))
			case "error.invalid":
				return mono.Error(codeError{rsocket.ErrorCodeInvalid, data})
			case "never":
				return mono.Create(func(context.Context, mono.Sink) {})
			default:
				return mono.Error(fmt.Errorf("no route %q", r))
			}
		}),
		rsocket.FireAndForget(func(req payload.Payload) {
			if route(req) == "fnf" {
				s.fnf <- string(req.Data())
			}
		}),
		rsocket.MetadataPush(func(req payload.Payload) {
			md, _ := req.Metadata()
			s.pushes <- clone(md)
		}),
		rsocket.RequestStream(func(req payload.Payload) flux.Flux {
			r, data := route(req), string(req.Data())
			if r != "count" {
				return flux.Error(fmt.Errorf("no route %q", r))
			}
			limit := int64(-1)
			if data != "" {
				n, err := strconv.ParseInt(data, 10, 64)
				if err != nil {
					return flux.Error(codeError{rsocket.ErrorCodeInvalid, "count: bad N " + strconv.Quote(data)})
				}
				limit = n
			}
			p := s.newProbe(r, data)
			s.probes <- p
			return &pacedFlux{Flux: flux.Empty(), p: p, limit: limit}
		}),
		rsocket.RequestChannel(func(requests flux.Flux) flux.Flux {
			p := s.newProbe("", "")
			s.probes <- p
			var first atomic.Bool
			return observe(requests.
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
					p.produced.Add(1)
					return payload.New(clone(in.Data()), nil), nil
				}).
				DoOnRequest(p.request), p)
		}),
	)
}

// startPeer runs an rsocket-go server over WebSocket (at /) or TCP on a
// loopback port until the test ends.
func startPeer(t *testing.T, tcp bool) *peer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &peer{
		fnf:    make(chan string, 100),
		pushes: make(chan []byte, 100),
		setups: make(chan setupSeen, 100),
		probes: make(chan *probe, 100),
	}
	s.URL = "ws://" + l.Addr().String() + "/"
	if tcp {
		s.URL = "tcp://" + l.Addr().String()
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
	go func() {
		done <- rsocket.Receive().OnStart(func() { close(started) }).
			Acceptor(func(ctx context.Context, setup payload.SetupPayload, sock rsocket.CloseableRSocket) (rsocket.RSocket, error) {
				s.conns.Add(1)
				s.open.Add(1)
				sock.OnClose(func(error) { s.open.Done() })
				s.setups <- setupSeen{
					dataMIME: setup.DataMimeType(), metadataMIME: setup.MetadataMimeType(),
					data: string(setup.Data()), keepalive: setup.TimeBetweenKeepalive(),
				}
				return s.handlers(setup.MetadataMimeType()), nil
			}).Transport(tr).Serve(ctx)
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("rsocket-go server: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		// rsocket-go tears its connections down asynchronously (cancelling
		// what is still registered); the next test must not overlap that.
		closed := make(chan struct{})
		go func() { s.open.Wait(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(wait):
			t.Errorf("rsocket-go did not close its connections")
		}
		select {
		case err := <-done:
			if err != nil && !strings.Contains(err.Error(), "closed") {
				t.Logf("rsocket-go server: %v", err)
			}
		case <-time.After(wait):
			t.Errorf("rsocket-go server did not stop")
		}
	})
	return s
}

// probe returns the probe of the next stream or channel the peer served.
func (s *peer) probe(t *testing.T) *probe {
	t.Helper()
	select {
	case p := <-s.probes:
		return p
	case <-time.After(wait):
		t.Fatal("the rsocket-go handler never ran")
		return nil
	}
}

// setup returns the next SETUP rsocket-go accepted.
func (s *peer) setup(t *testing.T) setupSeen {
	t.Helper()
	select {
	case v := <-s.setups:
		return v
	case <-time.After(wait):
		t.Fatal("rsocket-go accepted no connection")
		return setupSeen{}
	}
}

// pacedFlux is a demand-driven publisher written against rsocket-go's
// reactive API (as interop/rsgoserver's count.paced): it emits only inside
// Subscription.Request(n), at most n elements, on the goroutine that asked
// (rsocket-go's dispatch goroutine for REQUEST_N). Request records the demand
// first, so the probe holds exactly what rsocket-go handed to the handler's
// flux. The operators rsocket-go does not use on a handler's flux come from
// the embedded empty flux.
type pacedFlux struct {
	flux.Flux
	p     *probe
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
