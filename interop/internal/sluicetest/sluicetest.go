// Package sluicetest starts an in-process sluice server on loopback for
// interop tests: the conformance routes (or any handlers) over WebSocket on an
// httptest server and, on request, over TCP, with a frame tap on every
// connection.
package sluicetest

import (
	"context"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/conformance"
	"github.com/sluicehq/sluice/interop/internal/tap"
	"github.com/sluicehq/sluice/router"
	"github.com/sluicehq/sluice/server"
)

// Server is a running sluice server.
type Server struct {
	*server.Server
	URL     string // ws://127.0.0.1:PORT/rsocket
	TCPAddr string // 127.0.0.1:PORT when started with TCP
	Tap     *tap.Tap
}

// Options configure Start.
type Options struct {
	// Handlers, when set, serve every connection instead of the conformance routes.
	Handlers func(setup server.Setup) *sluice.Handlers
	// TCP also serves RSocket over TCP on a loopback port.
	TCP bool
	// Limits are passed to the server.
	Limits server.Limits
}

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	tp := tap.New(true)
	r := router.New()
	conformance.Register(r)
	hook := tap.ServerHook[*server.Conn](tp)
	srv := server.New(server.Options{
		Accept: func(ctx context.Context, setup server.Setup, c *server.Conn) (*sluice.Handlers, error) {
			if o.Handlers != nil {
				return o.Handlers(setup), nil
			}
			conformance.Attach(c.Conn)
			return r.Handlers(setup.MetadataMIME), nil
		},
		FrameHook: hook,
		Limits:    o.Limits,
	})
	hs := httptest.NewUnstartedServer(srv)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	hs.Listener.Close()
	hs.Listener = l
	hs.Start()
	s := &Server{Server: srv, URL: "ws" + strings.TrimPrefix(hs.URL, "http") + "/rsocket", Tap: tp}
	var tcpDone chan error
	if o.TCP {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		s.TCPAddr = tl.Addr().String()
		tcpDone = make(chan error, 1)
		go func() { tcpDone <- srv.ServeTCP(tl) }()
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("sluice server shutdown: %v", err)
		}
		hs.Close()
		if tcpDone != nil {
			<-tcpDone
		}
	})
	return s
}
