package websocket

import (
	"bytes"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
)

// TestWrapConn: ServerOptions.WrapConn sees the upgrade request, and every
// byte the server writes after the upgrade goes through the connection it returns.
func TestWrapConn(t *testing.T) {
	var wrapped *countingConn
	var query atomic.Value
	cfg := serverConfig{opts: ServerOptions{WrapConn: func(nc net.Conn, r *http.Request) net.Conn {
		query.Store(r.URL.Query().Get("bw"))
		wrapped = &countingConn{Conn: nc}
		return wrapped
	}}}
	ts := startServer(t, cfg)
	ts.url += "/?bw=1234"
	cli, _ := dial(t, ts, DialOptions{})
	srv := ts.accept(t)
	<-ts.reqs
	if got := query.Load(); got != "1234" {
		t.Fatalf("WrapConn saw bw=%v, want 1234", got)
	}
	before := wrapped.bytes.Load() // the 101 response
	if before == 0 {
		t.Fatal("the handshake response did not go through the wrapped conn")
	}
	msg := frameOf(1000, 3)
	if err := srv.WriteFrame(msg); err != nil {
		t.Fatal(err)
	}
	if err := srv.Flush(); err != nil {
		t.Fatal(err)
	}
	got, err := cli.ReadFrame()
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("ReadFrame: %v (%d bytes)", err, len(got))
	}
	if n := wrapped.bytes.Load() - before; n < 1000 {
		t.Fatalf("wrapped conn carried %d bytes of a 1000-byte message", n)
	}
	// The client's frames still arrive (reads pass through the wrapper too).
	if err := cli.WriteFrame(msg); err != nil {
		t.Fatal(err)
	}
	if err := cli.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, err := srv.ReadFrame(); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("server ReadFrame: %v", err)
	}
}
