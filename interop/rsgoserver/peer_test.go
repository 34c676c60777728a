package rsgoserver

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	rsocket "github.com/rsocket/rsocket-go"
	"github.com/rsocket/rsocket-go/payload"
	"github.com/rsocket/rsocket-go/rx"
	"github.com/rsocket/rsocket-go/rx/flux"
	"github.com/rsocket/rsocket-go/rx/mono"

	"github.com/sluicehq/sluice/interop/internal/rsgopeer"
)

// peer is an rsocket-go server on loopback (interop/internal/rsgopeer) with
// handlers written with rsocket-go's own API, named like sluice's conformance
// routes (routed by the routing entry of the composite metadata, parsed with
// rsocket-go's extension package), and instrumented so tests can see what
// reached rsocket-go:
//
//	echo          request-response: the data back
//	error         request-response: APPLICATION_ERROR with the data as message
//	error.invalid request-response: ERROR[INVALID] with the data as message
//	never         request-response: never answers
//	fnf           fire-and-forget: counted; fnf.count answers the count
//	count         request-stream: "0".."N-1" (empty data = unbounded) from
//	              flux.Create, the usual rsocket-go producer
//	count.paced   request-stream: the same from rsgopeer.Paced, a hand-written
//	              publisher that emits inside Subscription.Request(n), n at a
//	              time (do not ask it for an unbounded count with unbounded
//	              demand)
//	blob          request-stream: "N SIZE" like sluice's blob
//	channel.echo  request-channel: echoes every element (requests.Map)
//	channel.fail  request-channel: fails on the first element (APPLICATION_ERROR)
//	metadata push: counted and kept
type peer struct {
	*rsgopeer.Server // a probe per request-stream, request-channel and never request
	fnf              atomic.Int64
	pushes           chan string
}

type probe = rsgopeer.Probe

// routeOf is the route of a request: the routing entry of its composite
// metadata.
func routeOf(p payload.Payload) string { return rsgopeer.RouteOf("", p) }

func (s *peer) handlers() rsocket.RSocket {
	return rsocket.NewAbstractSocket(
		rsocket.RequestResponse(func(req payload.Payload) mono.Mono {
			switch r := routeOf(req); r {
			case "fnf.count":
				return mono.Just(payload.New([]byte(strconv.FormatInt(s.fnf.Load(), 10)), nil))
			case "never":
				p := s.NewProbe(r, string(req.Data()))
				return mono.Create(func(ctx context.Context, sink mono.Sink) {}).
					DoOnCancel(func() { p.Finish(rx.SignalCancel) })
			default:
				return rsgopeer.Respond(r, req)
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
			var p *probe
			var f flux.Flux
			switch r {
			case "count", "count.paced":
				limit, err := rsgopeer.ParseCount(data)
				if err != nil {
					return flux.Error(err)
				}
				p = s.NewProbe(r, data)
				if r == "count.paced" {
					return rsgopeer.Paced(p, limit)
				}
				f = flux.Create(func(ctx context.Context, sink flux.Sink) {
					defer func() {
						if v := recover(); v != nil {
							p.Panicked.Store(fmt.Sprint(v))
						}
					}()
					for i := int64(0); limit < 0 || i < limit; i++ {
						if p.Stopped() {
							return
						}
						p.Produced.Add(1)
						sink.Next(payload.New([]byte(strconv.FormatInt(i, 10)), nil))
					}
					sink.Complete()
				})
			case "blob":
				var n, size int
				if _, err := fmt.Sscanf(data, "%d %d", &n, &size); err != nil || size < 8 {
					return flux.Error(rsgopeer.Invalid("blob: want N SIZE"))
				}
				p = s.NewProbe(r, data)
				f = flux.Create(func(ctx context.Context, sink flux.Sink) {
					for i := range n {
						b := make([]byte, size)
						for j := range b {
							b[j] = byte(j)
						}
						binary.BigEndian.PutUint64(b, uint64(i))
						p.Produced.Add(1)
						sink.Next(payload.New(b, nil))
					}
					sink.Complete()
				})
			default:
				return flux.Error(fmt.Errorf("no route %q", r))
			}
			return rsgopeer.Observe(f.DoOnRequest(p.Request), p)
		}),
		rsocket.RequestChannel(func(requests flux.Flux) flux.Flux {
			return rsgopeer.Channel(requests, s.NewProbe("channel.echo", ""), routeOf)
		}),
	)
}

// startPeer runs an rsocket-go server over WebSocket (or TCP) on a loopback
// port until the test ends. mtu > 0 makes rsocket-go fragment what it sends.
func startPeer(t *testing.T, tcp bool, mtu int) *peer {
	t.Helper()
	s := &peer{Server: rsgopeer.New(5 * time.Second), pushes: make(chan string, 100)}
	s.Start(t, tcp, mtu, func(payload.SetupPayload) rsocket.RSocket { return s.handlers() })
	return s
}
