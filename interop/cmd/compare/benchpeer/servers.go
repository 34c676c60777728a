// Package benchpeer holds the three servers the comparison measures (the
// sluice server, an rsocket-go v0.8.16 server over WebSocket and a raw
// gorilla/websocket push/echo server), the child-process mode that runs one of
// them in a process of its own, and the parent's handle on such a child
// (PID, CPU time, RSS, orderly stop).
//
// Every server offers the same work:
//
//	bench.stream  request-stream, data "SIZE" (unbounded) or "SIZE N": elements
//	              of SIZE bytes; bytes 0..8 the big-endian sequence number,
//	              bytes 8..16 the producer's wall clock (UnixNano) on every
//	              StampEvery-th element (for the age of data at the client)
//	echo          request-response: the data back
//	channel.echo  request-channel: every element back
//
// The raw server speaks no RSocket: /raw?mode=push&size=SIZE writes the same
// elements as WebSocket messages, one WriteMessage per message, until the
// client goes away; /raw?mode=echo writes back every message it reads.
package benchpeer

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	rsocket "github.com/rsocket/rsocket-go"
	rstransport "github.com/rsocket/rsocket-go/core/transport"
	"github.com/rsocket/rsocket-go/extension"
	rslogger "github.com/rsocket/rsocket-go/logger"
	"github.com/rsocket/rsocket-go/payload"
	"github.com/rsocket/rsocket-go/rx"
	"github.com/rsocket/rsocket-go/rx/flux"
	"github.com/rsocket/rsocket-go/rx/mono"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/conformance"
	"github.com/sluicehq/sluice/router"
	"github.com/sluicehq/sluice/server"
)

// Server kinds.
const (
	Sluice    = "sluice"
	RSocketGo = "rsocketgo"
	Raw       = "raw"
)

// StampEvery is how often bench.stream stamps an element with the producer's clock.
const StampEvery = 64

// ParseStreamArgs parses "SIZE" or "SIZE N" (N < 0: unbounded).
func ParseStreamArgs(s string) (size int, n int64, err error) {
	f := strings.Fields(s)
	if len(f) == 0 || len(f) > 2 {
		return 0, 0, fmt.Errorf("want \"SIZE [N]\", got %q", s)
	}
	size, err = strconv.Atoi(f[0])
	if err != nil || size < 16 || size > 16<<20 {
		return 0, 0, fmt.Errorf("bad SIZE %q (16..16 MiB)", f[0])
	}
	n = -1
	if len(f) == 2 {
		if n, err = strconv.ParseInt(f[1], 10, 64); err != nil || n < 0 {
			return 0, 0, fmt.Errorf("bad N %q", f[1])
		}
	}
	return size, n, nil
}

// fillElement writes the sequence number and, every StampEvery elements, the clock.
func fillElement(b []byte, seq uint64) {
	binary.BigEndian.PutUint64(b, seq)
	if seq%StampEvery == 0 {
		binary.BigEndian.PutUint64(b[8:], uint64(time.Now().UnixNano()))
	}
}

// Serve runs a server of the given kind on l until stop is called. It returns
// the WebSocket URL to dial (for Raw, without the query).
func Serve(kind string, l net.Listener) (url string, stop func(), err error) {
	switch kind {
	case Sluice:
		return serveSluice(l)
	case RSocketGo:
		return serveRSocketGo(l)
	case Raw:
		return serveRaw(l)
	}
	return "", nil, fmt.Errorf("unknown server kind %q (want sluice, rsocketgo or raw)", kind)
}

// ---- sluice ----------------------------------------------------------------------

// SluiceBenchStream is the bench.stream route on sluice: the handler loop the
// README shows, a buffer reused across Sends (Send copies).
func SluiceBenchStream(ctx context.Context, p sluice.Payload, out sluice.Sink) error {
	size, n, err := ParseStreamArgs(string(p.Data))
	if err != nil {
		return &sluice.Error{Code: sluice.CodeInvalid, Message: "bench.stream: " + err.Error()}
	}
	buf := make([]byte, size)
	for seq := uint64(0); n < 0 || int64(seq) < n; seq++ {
		fillElement(buf, seq)
		if err := out.Send(ctx, sluice.Payload{Data: buf}); err != nil {
			return err
		}
	}
	return nil
}

// NewSluiceServer returns the sluice server as the harness runs it: default
// options, the conformance routes and bench.stream.
func NewSluiceServer() *server.Server {
	r := router.New()
	conformance.Register(r)
	r.Stream("bench.stream", SluiceBenchStream)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return server.New(server.Options{
		Logger: logger,
		Accept: func(ctx context.Context, setup server.Setup, c *server.Conn) (*sluice.Handlers, error) {
			conformance.Attach(c.Conn)
			return r.Handlers(setup.MetadataMIME), nil
		},
	})
}

// sluiceMetrics is the running sluice server's counters (child mode), for
// the "stats" command.
var sluiceMetrics *server.Metrics

func serveSluice(l net.Listener) (string, func(), error) {
	srv := NewSluiceServer()
	sluiceMetrics = srv.Metrics()
	mux := http.NewServeMux()
	mux.Handle("/rsocket", srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(l)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		hs.Close()
		srv.Shutdown(ctx)
	}
	return "ws://" + l.Addr().String() + "/rsocket", stop, nil
}

// ---- rsocket-go ------------------------------------------------------------------

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

func clone(b []byte) []byte { return append([]byte{}, b...) }

// rsgoHandlers are the routes written with rsocket-go's own API, the way its
// examples write them: mono.Just for a response, flux.Create for a producer
// (a new buffer per element, since rsocket-go encodes it later on its own
// goroutine), requests.Map for the channel.
func rsgoHandlers() rsocket.RSocket {
	return rsocket.NewAbstractSocket(
		rsocket.RequestResponse(func(req payload.Payload) mono.Mono {
			if r := routeOf(req); r != "echo" {
				return mono.Error(fmt.Errorf("no route %q", r))
			}
			return mono.Just(payload.New(clone(req.Data()), nil))
		}),
		rsocket.RequestStream(func(req payload.Payload) flux.Flux {
			if r := routeOf(req); r != "bench.stream" {
				return flux.Error(fmt.Errorf("no route %q", r))
			}
			size, n, err := ParseStreamArgs(string(req.Data()))
			if err != nil {
				return flux.Error(err)
			}
			var stop atomic.Bool
			return flux.Create(func(ctx context.Context, sink flux.Sink) {
				// rsocket-go closes the producer's buffer on cancel; a Next
				// blocked on it then panics (a known rsocket-go bug).
				defer func() { recover() }()
				for seq := uint64(0); (n < 0 || int64(seq) < n) && !stop.Load(); seq++ {
					b := make([]byte, size)
					fillElement(b, seq)
					sink.Next(payload.New(b, nil))
				}
				sink.Complete()
			}).DoFinally(func(rx.SignalType) { stop.Store(true) })
		}),
		rsocket.RequestChannel(func(requests flux.Flux) flux.Flux {
			return requests.Map(func(in payload.Payload) (payload.Payload, error) {
				return payload.New(clone(in.Data()), nil), nil
			})
		}),
	)
}

func serveRSocketGo(l net.Listener) (string, func(), error) {
	// rsocket-go logs every connection the client drops ("broken pipe") at
	// ERROR level on the standard logger; the harness drops connections on purpose.
	rslogger.SetLogger(nil)
	listen := func(context.Context) (net.Listener, error) { return l, nil }
	var tr rstransport.ServerTransporter = func(context.Context) (rstransport.ServerTransport, error) {
		return rstransport.NewWebsocketServerTransport(listen, "/", nil), nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- rsocket.Receive().
			OnStart(func() { close(started) }).
			Acceptor(func(ctx context.Context, setup payload.SetupPayload, _ rsocket.CloseableRSocket) (rsocket.RSocket, error) {
				return rsgoHandlers(), nil
			}).
			Transport(tr).
			Serve(ctx)
	}()
	select {
	case <-started:
	case err := <-done:
		cancel()
		return "", nil, fmt.Errorf("rsocket-go server: %v", err)
	}
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
		}
	}
	return "ws://" + l.Addr().String() + "/", stop, nil
}

// ---- raw gorilla/websocket ---------------------------------------------------------

func serveRaw(l net.Listener) (string, func(), error) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	mux := http.NewServeMux()
	mux.HandleFunc("/raw", func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		q := r.URL.Query()
		switch q.Get("mode") {
		case "push":
			size, n, err := ParseStreamArgs(q.Get("size") + " " + q.Get("n"))
			if err != nil {
				size, n, err = ParseStreamArgs(q.Get("size"))
			}
			if err != nil {
				return
			}
			// Notice the client leaving (and answer its pings) while pushing.
			go func() {
				for {
					if _, _, err := ws.NextReader(); err != nil {
						ws.Close()
						return
					}
				}
			}()
			buf := make([]byte, size)
			for seq := uint64(0); n < 0 || int64(seq) < n; seq++ {
				fillElement(buf, seq)
				if err := ws.WriteMessage(websocket.BinaryMessage, buf); err != nil {
					return
				}
			}
		case "echo":
			for {
				mt, data, err := ws.ReadMessage()
				if err != nil {
					return
				}
				if err := ws.WriteMessage(mt, data); err != nil {
					return
				}
			}
		}
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(l)
	return "ws://" + l.Addr().String() + "/raw", func() { hs.Close() }, nil
}
