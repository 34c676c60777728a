// Package server accepts RSocket connections over WebSocket (an http.Handler)
// and TCP, and runs each with the sluice engine.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/session"
	"github.com/sluicehq/sluice/router"
	"github.com/sluicehq/sluice/transport"
	"github.com/sluicehq/sluice/transport/tcp"
	"github.com/sluicehq/sluice/transport/websocket"
)

// Setup is what a client announced in its SETUP frame.
type Setup = session.Setup

// Stats is a snapshot of one connection.
type Stats = session.Stats

// StreamStats is a snapshot of one stream.
type StreamStats = session.StreamStats

// Metrics are the server's counters across connections.
type Metrics = session.Metrics

// Limits are the per-connection limits and policies (see session.Config for
// each field's default).
type Limits struct {
	MTU              int
	MaxReassembly    int
	MaxStreams       int
	StreamQueueBytes int
	ConnBudget       int
	ControlLaneMax   int
	WriteTimeout     time.Duration
	ChannelPrefetch  int
	MaxHandlers      int
	MinKeepalive     time.Duration // lower bound for the client's keepalive interval (default 1 s)
	SetupTimeout     time.Duration // default 10 s
}

// Options configure a Server.
type Options struct {
	// Router serves the requests of every connection. Either Router or Accept is needed.
	Router *router.Router
	// Accept, when set, decides on each SETUP and returns the connection's
	// handlers; an error rejects the SETUP (REJECTED_SETUP).
	Accept func(ctx context.Context, setup Setup, c *Conn) (*sluice.Handlers, error)
	// AllowOrigins lists the browser origins allowed besides the server's own; "*" allows any.
	AllowOrigins []string
	Limits       Limits
	Logger       *slog.Logger
	// FrameHook sees every frame of every connection (for debugging and tests).
	FrameHook func(c *Conn, in bool, frame []byte)
	// WrapConn, when set, wraps each WebSocket connection's net.Conn after the
	// upgrade (see websocket.ServerOptions.WrapConn); TCP connections are not wrapped.
	WrapConn func(nc net.Conn, r *http.Request) net.Conn
}

// Server runs RSocket connections.
type Server struct {
	opts    Options
	metrics Metrics
	ws      http.Handler

	mu        sync.Mutex
	conns     map[*Conn]struct{}
	listeners map[net.Listener]struct{}
	closed    bool
	wg        sync.WaitGroup
}

// Conn is one accepted connection.
type Conn struct {
	*session.Conn
	Remote string
	Name   string // the client's announced name, if any
	Since  time.Time
}

// New returns a server.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{opts: opts, conns: map[*Conn]struct{}{}, listeners: map[net.Listener]struct{}{}}
	s.ws = websocket.Handler(websocket.ServerOptions{AllowOrigins: opts.AllowOrigins, WrapConn: opts.WrapConn}, func(t transport.Conn, r *http.Request) {
		s.serve(r.Context(), t, r.RemoteAddr, r.URL.Query().Get("name"))
	})
	return s
}

// Metrics returns the server's counters.
func (s *Server) Metrics() *Metrics { return &s.metrics }

// ServeHTTP serves RSocket over WebSocket.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.ws.ServeHTTP(w, r) }

// ServeTCP serves RSocket over TCP (u24 length-prefixed frames) until l is
// closed or the server shuts down.
func (s *Server) ServeTCP(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return sluice.ErrClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	for {
		nc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(context.Background(), tcp.NewConn(nc), nc.RemoteAddr().String(), "")
		}()
	}
}

func (s *Server) config() session.Config {
	l := s.opts.Limits
	return session.Config{
		MTU: l.MTU, MaxReassembly: l.MaxReassembly, MaxStreams: l.MaxStreams,
		StreamQueueBytes: l.StreamQueueBytes, ConnBudget: l.ConnBudget, ControlLaneMax: l.ControlLaneMax,
		WriteTimeout: l.WriteTimeout, ChannelPrefetch: l.ChannelPrefetch,
		Logger: s.opts.Logger, Metrics: &s.metrics,
	}
}

// serve runs one connection until it ends.
func (s *Server) serve(ctx context.Context, t transport.Conn, remote, name string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		t.Close()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	cfg := s.config()
	conn := &Conn{Remote: remote, Name: name, Since: time.Now()}
	if h := s.opts.FrameHook; h != nil {
		cfg.FrameHook = func(in bool, f []byte) { h(conn, in, f) }
	}
	cfg.InlineReader = true
	cfg.MinKeepalive = s.opts.Limits.MinKeepalive
	cfg.SetupTimeout = s.opts.Limits.SetupTimeout
	accept := func(ctx context.Context, setup session.Setup, c *session.Conn) (*sluice.Handlers, error) {
		conn.Conn = c
		if conn.Name == "" {
			conn.Name = nameFromSetup(setup)
		}
		if s.opts.Accept != nil {
			return s.opts.Accept(ctx, setup, conn)
		}
		if s.opts.Router == nil {
			return nil, errors.New("no router")
		}
		return s.opts.Router.Handlers(setup.MetadataMIME), nil
	}
	c, err := session.Accept(ctx, t, cfg, accept)
	if err != nil {
		s.opts.Logger.Debug("sluice: connection refused", "remote", remote, "err", err)
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		c.Serve()
		c.Wait()
		return
	}
	s.conns[conn] = struct{}{}
	s.mu.Unlock()
	c.Serve() // the reader runs on this goroutine
	s.mu.Lock()
	delete(s.conns, conn)
	s.mu.Unlock()
	c.Wait()
}

// Connections returns the open connections.
func (s *Server) Connections() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// Shutdown stops accepting, closes every connection with ERROR[CONNECTION_ERROR]
// ("server shutting down") and waits for them and their handlers, or for ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.CloseWithError(sluice.CodeConnectionError, "server shutting down")
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range conns {
			c.Close()
		}
		return ctx.Err()
	}
}
