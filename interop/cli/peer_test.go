package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	rsocket "github.com/rsocket/rsocket-go"
	"github.com/rsocket/rsocket-go/extension"
	"github.com/rsocket/rsocket-go/payload"
	"github.com/rsocket/rsocket-go/rx/flux"
	"github.com/rsocket/rsocket-go/rx/mono"

	"github.com/sluicehq/sluice/interop/internal/rsgopeer"
)

// peer is the rsocket-go (v0.8.16) server the sluice binary talks to, written
// with rsocket-go's own API (interop/internal/rsgopeer, as interop/rsgoserver's
// peer): routes come from the request metadata as rsocket-go's extension
// package parses it (composite metadata with a routing entry, or routing
// metadata when the connection's SETUP announced message/x.rsocket.routing.v0),
// and every handler records what reached it.
//
//	echo          request-response: the data back
//	bin           request-response: 4 bytes that are not UTF-8 (00 01 02 ff)
//	meta          request-response: the request metadata as rsocket-go parsed
//	              it, "mime=content" per composite entry, joined by " | "
//	error         request-response: APPLICATION_ERROR with the data as message
//	error.invalid request-response: ERROR[INVALID] with the data as message
//	never         request-response: never answers
//	fnf           fire-and-forget: the data is recorded
//	count         request-stream: "0".."N-1" (empty data = unbounded) from
//	              rsgopeer.Paced, a publisher that emits inside
//	              Subscription.Request(n), at most n (so what it produced is
//	              exactly the demand it received); bad N: ERROR[INVALID]
//	channel.echo  request-channel: echoes every element (requests.Map)
//	channel.fail  request-channel: fails on the first element
//	metadata push: the metadata is recorded
//
// Streams do not use flux.Create, rsocket-go's usual producer (see
// rsgopeer.Paced). The CLI cannot poke a stalled stream.
type peer struct {
	*rsgopeer.Server // a probe per request-stream and request-channel
	fnf              chan string
	pushes           chan []byte
	setups           chan setupSeen
}

type probe = rsgopeer.Probe

// setupSeen is what rsocket-go read from a SETUP.
type setupSeen struct {
	dataMIME, metadataMIME string
	data                   string
	keepalive              time.Duration
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

func (s *peer) handlers(mdMIME string) rsocket.RSocket {
	route := func(p payload.Payload) string { return rsgopeer.RouteOf(mdMIME, p) }
	return rsocket.NewAbstractSocket(
		rsocket.RequestResponse(func(req payload.Payload) mono.Mono {
			switch r := route(req); r {
			case "bin":
				return mono.Just(payload.New([]byte{0, 1, 2, 0xff}, nil))
			case "meta":
				md, _ := req.Metadata()
				return mono.Just(payload.New([]byte(describeMetadata(md)), nil))
			case "never":
				return mono.Create(func(context.Context, mono.Sink) {})
			default:
				return rsgopeer.Respond(r, req)
			}
		}),
		rsocket.FireAndForget(func(req payload.Payload) {
			if route(req) == "fnf" {
				s.fnf <- string(req.Data())
			}
		}),
		rsocket.MetadataPush(func(req payload.Payload) {
			md, _ := req.Metadata()
			s.pushes <- rsgopeer.Clone(md)
		}),
		rsocket.RequestStream(func(req payload.Payload) flux.Flux {
			r, data := route(req), string(req.Data())
			if r != "count" {
				return flux.Error(fmt.Errorf("no route %q", r))
			}
			limit, err := rsgopeer.ParseCount(data)
			if err != nil {
				return flux.Error(err)
			}
			return rsgopeer.Paced(s.NewProbe(r, data), limit)
		}),
		rsocket.RequestChannel(func(requests flux.Flux) flux.Flux {
			return rsgopeer.Channel(requests, s.NewProbe("", ""), route)
		}),
	)
}

// startPeer runs an rsocket-go server over WebSocket (at /) or TCP on a
// loopback port until the test ends.
func startPeer(t *testing.T, tcp bool) *peer {
	t.Helper()
	s := &peer{
		Server: rsgopeer.New(wait),
		fnf:    make(chan string, 100),
		pushes: make(chan []byte, 100),
		setups: make(chan setupSeen, 100),
	}
	s.Start(t, tcp, 0, func(setup payload.SetupPayload) rsocket.RSocket {
		s.setups <- setupSeen{
			dataMIME: setup.DataMimeType(), metadataMIME: setup.MetadataMimeType(),
			data: string(setup.Data()), keepalive: setup.TimeBetweenKeepalive(),
		}
		return s.handlers(setup.MetadataMimeType())
	})
	return s
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
