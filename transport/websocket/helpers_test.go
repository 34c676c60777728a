package websocket

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// countingConn counts Write calls and bytes on a real connection.
type countingConn struct {
	net.Conn
	writes atomic.Int64
	bytes  atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	c.bytes.Add(int64(len(p)))
	return c.Conn.Write(p)
}

func (c *countingConn) reset() { c.writes.Store(0); c.bytes.Store(0) }

// countingListener wraps accepted connections in countingConns, optionally
// shrinking the kernel send buffer so a peer that stops reading stalls us fast.
type countingListener struct {
	net.Listener
	sndBuf int
	mu     sync.Mutex
	conns  []*countingConn
}

func (l *countingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if l.sndBuf > 0 {
		nc.(*net.TCPConn).SetWriteBuffer(l.sndBuf)
	}
	cc := &countingConn{Conn: nc}
	l.mu.Lock()
	l.conns = append(l.conns, cc)
	l.mu.Unlock()
	return cc, nil
}

func (l *countingListener) last() *countingConn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conns[len(l.conns)-1]
}

// testServer is an httptest server whose handler passes each server-side
// *Conn to the test and keeps the connection until the test releases it.
type testServer struct {
	*httptest.Server
	ln      *countingListener
	conns   chan *Conn
	reqs    chan *http.Request
	release chan struct{}
	wg      sync.WaitGroup
	url     string
}

type serverConfig struct {
	opts   ServerOptions
	sndBuf int
	tls    bool
	// onConn replaces the default "hand the conn to the test" behaviour.
	onConn func(c *Conn, r *http.Request)
}

func startServer(t testing.TB, cfg serverConfig) *testServer {
	t.Helper()
	ts := &testServer{
		conns:   make(chan *Conn, 16),
		reqs:    make(chan *http.Request, 16),
		release: make(chan struct{}),
	}
	h := Handler(cfg.opts, func(c transport.Conn, r *http.Request) {
		if cfg.onConn != nil {
			cfg.onConn(c.(*Conn), r)
			return
		}
		ts.reqs <- r
		ts.conns <- c.(*Conn)
		<-ts.release
	})
	mux := http.NewServeMux()
	// wg counts handlers from their start, so that once Server.Close has
	// returned (every connection closed or hijacked) wg.Wait covers them all.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		ts.wg.Add(1)
		defer ts.wg.Done()
		h.ServeHTTP(w, r)
	})
	ts.Server = httptest.NewUnstartedServer(mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.Server.Listener.Close()
	ts.ln = &countingListener{Listener: ln, sndBuf: cfg.sndBuf}
	ts.Server.Listener = ts.ln
	if cfg.tls {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	ts.url = "ws" + strings.TrimPrefix(ts.Server.URL, "http")
	t.Cleanup(func() {
		close(ts.release)
		ts.Server.Close()
		ts.wg.Wait()
	})
	return ts
}

// accept returns the next server-side connection.
func (ts *testServer) accept(t testing.TB) *Conn {
	t.Helper()
	c := <-ts.conns
	t.Cleanup(func() { c.Close() })
	return c
}

// dial connects a client with a counting underlying connection.
func dial(t testing.TB, ts *testServer, opts DialOptions) (*Conn, *countingConn) {
	t.Helper()
	var cc *countingConn
	inner := opts.NetDialContext
	if inner == nil {
		var d net.Dialer
		inner = d.DialContext
	}
	opts.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := inner(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cc = &countingConn{Conn: nc}
		return cc, nil
	}
	if ts.TLS != nil && opts.TLSConfig == nil {
		opts.TLSConfig = ts.Client().Transport.(*http.Transport).TLSClientConfig
	}
	c, _, err := Dial(context.Background(), ts.url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, cc
}

// pair returns the two ends of one connection: server and client.
func pair(t testing.TB, cfg serverConfig, opts DialOptions) (srv, cli *Conn, ts *testServer, cc *countingConn) {
	t.Helper()
	ts = startServer(t, cfg)
	cli, cc = dial(t, ts, opts)
	srv = ts.accept(t)
	<-ts.reqs
	return srv, cli, ts, cc
}

func frameOf(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}
