package websocket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sluicehq/sluice/transport"
)

var roundTripSizes = []int{0, 1, 6, 64, 125, 126, 4095, 4096, 65535, 65536, 70000, 1 << 20}

func TestRoundTripBothWays(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		name := "ws"
		if tlsOn {
			name = "wss"
		}
		t.Run(name, func(t *testing.T) {
			srv, cli, _, _ := pair(t, serverConfig{tls: tlsOn}, DialOptions{})
			// Server echoes every frame back, one Flush per frame.
			echoDone := make(chan error, 1)
			go func() {
				for {
					f, err := srv.ReadFrame()
					if err != nil {
						echoDone <- err
						return
					}
					if err := srv.WriteFrame(f); err != nil {
						echoDone <- err
						return
					}
					if err := srv.Flush(); err != nil {
						echoDone <- err
						return
					}
				}
			}()
			// Client sends all frames in one batch, then reads the echoes.
			for i, n := range roundTripSizes {
				if err := cli.WriteFrame(frameOf(n, byte(i))); err != nil {
					t.Fatal(err)
				}
			}
			if err := cli.Flush(); err != nil {
				t.Fatal(err)
			}
			for i, n := range roundTripSizes {
				got, err := cli.ReadFrame()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if !bytes.Equal(got, frameOf(n, byte(i))) {
					t.Fatalf("frame %d (%d bytes): got %d bytes, different", i, n, len(got))
				}
			}
			cli.Close()
			if err := <-echoDone; !errors.Is(err, io.EOF) {
				t.Fatalf("server read after client close: %v, want io.EOF", err)
			}
		})
	}
}

func TestCoalescingServerWrites(t *testing.T) {
	srv, cli, ts, _ := pair(t, serverConfig{}, DialOptions{})
	under := ts.ln.last()
	under.reset()
	const n, size = 64, 64
	for i := 0; i < n; i++ {
		if err := srv.WriteFrame(frameOf(size, byte(i))); err != nil {
			t.Fatal(err)
		}
	}
	if w := under.writes.Load(); w != 0 {
		t.Fatalf("%d writes before Flush, want 0", w)
	}
	if err := srv.Flush(); err != nil {
		t.Fatal(err)
	}
	if w, b := under.writes.Load(), under.bytes.Load(); w != 1 || b != n*(size+2) {
		t.Fatalf("Flush made %d writes of %d bytes, want 1 of %d", w, b, n*(size+2))
	}
	for i := 0; i < n; i++ {
		f, err := cli.ReadFrame()
		if err != nil || !bytes.Equal(f, frameOf(size, byte(i))) {
			t.Fatalf("frame %d: %x %v", i, f, err)
		}
	}
	// An empty Flush writes nothing.
	if err := srv.Flush(); err != nil || under.writes.Load() != 1 {
		t.Fatalf("empty Flush: %v, writes %d", err, under.writes.Load())
	}
}

func TestCoalescingClientWrites(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(map[bool]string{false: "ws", true: "wss"}[tlsOn], func(t *testing.T) {
			srv, cli, _, under := pair(t, serverConfig{tls: tlsOn}, DialOptions{})
			under.reset()
			const n, size = 64, 64
			for i := 0; i < n; i++ {
				if err := cli.WriteFrame(frameOf(size, byte(i))); err != nil {
					t.Fatal(err)
				}
			}
			if w := under.writes.Load(); w != 0 {
				t.Fatalf("%d writes before Flush, want 0", w)
			}
			if err := cli.Flush(); err != nil {
				t.Fatal(err)
			}
			if w := under.writes.Load(); w != 1 {
				t.Fatalf("Flush made %d writes, want 1", w)
			}
			if !tlsOn {
				if b := under.bytes.Load(); b != n*(size+6) { // 2-byte header + 4-byte mask
					t.Fatalf("wrote %d bytes, want %d", b, n*(size+6))
				}
			}
			for i := 0; i < n; i++ {
				f, err := srv.ReadFrame()
				if err != nil || !bytes.Equal(f, frameOf(size, byte(i))) {
					t.Fatalf("frame %d: %x %v", i, f, err)
				}
			}
		})
	}
}

func TestTextMessage(t *testing.T) {
	ts := startServer(t, serverConfig{})
	raw, _, err := websocket.DefaultDialer.Dial(ts.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	srv := ts.accept(t)
	if err := raw.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.ReadFrame(); err != transport.ErrTextMessage {
		t.Fatalf("ReadFrame: %v, want ErrTextMessage", err)
	}
	if err := srv.CloseWithCode(websocket.CloseUnsupportedData, "text message"); err != nil {
		t.Fatal(err)
	}
	_, _, err = raw.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseUnsupportedData || ce.Text != "text message" {
		t.Fatalf("peer got %v, want close 1003", err)
	}
}

func TestClientReadsTextMessage(t *testing.T) {
	up := websocket.Upgrader{}
	done := make(chan struct{})
	srv := httptestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.WriteMessage(websocket.TextMessage, []byte("x"))
		ws.WriteMessage(websocket.BinaryMessage, []byte("y"))
		<-done
	}))
	defer close(done)
	cli, _, err := Dial(context.Background(), "ws"+strings.TrimPrefix(srv, "http"), DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.ReadFrame(); err != transport.ErrTextMessage {
		t.Fatalf("got %v, want ErrTextMessage", err)
	}
	if f, err := cli.ReadFrame(); err != nil || string(f) != "y" {
		t.Fatalf("after text: %q %v", f, err)
	}
}

func TestFrameTooLarge(t *testing.T) {
	srv, cli, _, _ := pair(t, serverConfig{opts: ServerOptions{MaxFrameSize: 1000}}, DialOptions{MaxFrameSize: 10})
	for _, f := range [][]byte{frameOf(1000, 1), frameOf(1001, 2), frameOf(5000, 3), frameOf(10, 4)} {
		if err := cli.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := cli.Flush(); err != nil {
		t.Fatal(err)
	}
	if f, err := srv.ReadFrame(); err != nil || len(f) != 1000 {
		t.Fatalf("at the limit: %d bytes, %v", len(f), err)
	}
	for i := 0; i < 2; i++ {
		if _, err := srv.ReadFrame(); err != transport.ErrFrameTooLarge {
			t.Fatalf("over the limit: %v, want ErrFrameTooLarge", err)
		}
	}
	// The connection stays usable: the rest of the big message is skipped.
	if f, err := srv.ReadFrame(); err != nil || !bytes.Equal(f, frameOf(10, 4)) {
		t.Fatalf("after too large: %x %v", f, err)
	}
	// The client's limit applies to what it reads.
	srv.WriteFrame(frameOf(11, 0))
	srv.WriteFrame(frameOf(10, 0))
	srv.Flush()
	if _, err := cli.ReadFrame(); err != transport.ErrFrameTooLarge {
		t.Fatalf("client over its limit: %v", err)
	}
	if f, err := cli.ReadFrame(); err != nil || len(f) != 10 {
		t.Fatalf("client at its limit: %d %v", len(f), err)
	}
	// Writing more than any RSocket frame is refused before it reaches gorilla.
	if err := cli.WriteFrame(make([]byte, transport.MaxFrame+1)); err != transport.ErrFrameTooLarge {
		t.Fatalf("WriteFrame over MaxFrame: %v", err)
	}
}

func TestFrameTooLarge16MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 32 MiB")
	}
	ts := startServer(t, serverConfig{})
	raw, _, err := websocket.DefaultDialer.Dial(ts.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	srv := ts.accept(t)
	big := make([]byte, transport.MaxFrame+1)
	big[transport.MaxFrame-1] = 0xAB
	werr := make(chan error, 1)
	go func() {
		if err := raw.WriteMessage(websocket.BinaryMessage, big[:transport.MaxFrame]); err != nil {
			werr <- err
			return
		}
		werr <- raw.WriteMessage(websocket.BinaryMessage, big)
	}()
	f, err := srv.ReadFrame()
	if err != nil || len(f) != transport.MaxFrame || f[len(f)-1] != 0xAB {
		t.Fatalf("MaxFrame bytes: %d %v", len(f), err)
	}
	if _, err := srv.ReadFrame(); err != transport.ErrFrameTooLarge {
		t.Fatalf("MaxFrame+1 bytes: %v", err)
	}
	srv.Close() // the unread tail would otherwise block the writer
	<-werr
}

func TestWriteDeadlineServer(t *testing.T) {
	// The client never reads; small kernel buffers on both sides.
	srv, _, _, _ := pair(t, serverConfig{sndBuf: 4096}, DialOptions{NetDialContext: smallRcvBuf})
	err := writeUntilError(t, srv)
	if !IsTimeout(err) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Flush to a peer that never reads: %v, want a timeout", err)
	}
	// Sticky: later writes report the same failure.
	if err := srv.WriteFrame([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("WriteFrame after timeout: %v", err)
	}
	if err := srv.Flush(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Flush after timeout: %v", err)
	}
}

func TestWriteDeadlineClient(t *testing.T) {
	// The server never reads.
	_, cli, _, _ := pair(t, serverConfig{}, DialOptions{NetDialContext: smallSndBuf})
	err := writeUntilError(t, cli)
	if !IsTimeout(err) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Flush to a peer that never reads: %v, want a timeout", err)
	}
}

// writeUntilError writes 64 KiB batches with a short deadline until Flush fails.
func writeUntilError(t *testing.T, c *Conn) error {
	t.Helper()
	frame := make([]byte, 16<<10)
	for i := 0; i < 2000; i++ {
		c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		for j := 0; j < 4; j++ {
			if err := c.WriteFrame(frame); err != nil {
				return err
			}
		}
		if err := c.Flush(); err != nil {
			return err
		}
	}
	t.Fatal("writes never blocked")
	return nil
}

func smallRcvBuf(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err == nil {
		nc.(*net.TCPConn).SetReadBuffer(4096)
	}
	return nc, err
}

func smallSndBuf(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err == nil {
		nc.(*net.TCPConn).SetWriteBuffer(4096)
	}
	return nc, err
}

func TestCloseUnblocksReadFrame(t *testing.T) {
	for _, side := range []string{"client", "server"} {
		srv, cli, _, _ := pair(t, serverConfig{}, DialOptions{})
		c := cli
		if side == "server" {
			c = srv
		}
		got := make(chan error, 1)
		go func() {
			_, err := c.ReadFrame()
			got <- err
		}()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := <-got; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("pending ReadFrame after Close: %v, want net.ErrClosed", err)
		}
		if err := c.WriteFrame([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("WriteFrame after Close: %v", err)
		}
		if err := c.Flush(); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Flush after Close: %v", err)
		}
	}
}

func TestPeerCloseIsEOF(t *testing.T) {
	srv, cli, _, _ := pair(t, serverConfig{}, DialOptions{})
	// A close frame, with the queued frame ahead of it.
	cli.WriteFrame([]byte("last"))
	if err := cli.CloseWithCode(websocket.CloseNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
	if f, err := srv.ReadFrame(); err != nil || string(f) != "last" {
		t.Fatalf("frame before close: %q %v", f, err)
	}
	_, err := srv.ReadFrame()
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 1000 || ce.Text != "bye" || !errors.Is(err, io.EOF) {
		t.Fatalf("got %v, want CloseError 1000 bye matching io.EOF", err)
	}
	if _, err2 := srv.ReadFrame(); err2 != err {
		t.Fatalf("read error not sticky: %v", err2)
	}

	// Dropping TCP without a close frame.
	srv2, cli2, _, _ := pair(t, serverConfig{}, DialOptions{})
	srv2.Close()
	_, err = cli2.ReadFrame()
	if !errors.As(err, &ce) || ce.Code != websocket.CloseAbnormalClosure || !errors.Is(err, io.EOF) {
		t.Fatalf("got %v, want CloseError 1006 matching io.EOF", err)
	}
}

// A ping answered while the server's writer is mid-batch leaves with the
// batch, after its frames; one answered while the writer is idle leaves at once.
func TestControlFramesFromReader(t *testing.T) {
	ts := startServer(t, serverConfig{})
	raw, _, err := websocket.DefaultDialer.Dial(ts.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	srv := ts.accept(t)
	// Messages and pongs in the order they arrived on the wire.
	events := make(chan string, 8)
	raw.SetPongHandler(func(s string) error { events <- "pong " + s; return nil })
	go func() {
		defer close(events)
		for {
			_, p, err := raw.ReadMessage()
			if err != nil {
				return
			}
			events <- string(p)
		}
	}()
	readSync := func() {
		t.Helper()
		if f, err := srv.ReadFrame(); err != nil || string(f) != "sync" {
			t.Fatalf("server read: %q %v", f, err)
		}
	}

	// Idle writer: the pong goes out without a Flush.
	raw.WriteControl(websocket.PingMessage, []byte("idle"), time.Now().Add(time.Second))
	raw.WriteMessage(websocket.BinaryMessage, []byte("sync"))
	readSync() // the ping was handled before this frame
	if e := <-events; e != "pong idle" {
		t.Fatalf("got %q, want pong idle", e)
	}

	// Writer mid-batch: the pong is queued behind the batch's frame.
	srv.WriteFrame([]byte("batched"))
	raw.WriteControl(websocket.PingMessage, []byte("busy"), time.Now().Add(time.Second))
	raw.WriteMessage(websocket.BinaryMessage, []byte("sync"))
	readSync()
	if err := srv.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"batched", "pong busy"} {
		if e := <-events; e != want {
			t.Fatalf("got %q, want %q", e, want)
		}
	}
	srv.Close()
	for range events {
	}
}

func TestDialAddsPathAndSendsHeaders(t *testing.T) {
	ts := startServer(t, serverConfig{})
	h := http.Header{"X-Token": {"abc"}}
	cli, resp, err := Dial(context.Background(), ts.url, DialOptions{Header: h}) // no path
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	ts.accept(t)
	r := <-ts.reqs
	if r.URL.Path != "/" || r.Header.Get("X-Token") != "abc" {
		t.Fatalf("path %q header %q", r.URL.Path, r.Header.Get("X-Token"))
	}
	if cli.RemoteAddr().String() != ts.Listener.Addr().String() {
		t.Fatalf("RemoteAddr %v", cli.RemoteAddr())
	}
}

func TestDialErrors(t *testing.T) {
	if _, _, err := Dial(context.Background(), "http://127.0.0.1:1/", DialOptions{}); err == nil {
		t.Fatal("http scheme accepted")
	}
	url := httptestServer(t, http.NotFoundHandler())
	_, resp, err := Dial(context.Background(), "ws"+strings.TrimPrefix(url, "http")+"/x", DialOptions{})
	if err == nil || resp == nil || resp.StatusCode != 404 || !strings.Contains(err.Error(), "404") {
		t.Fatalf("dial to a 404: %v %v", resp, err)
	}
}

func TestDialCancelDuringHandshake(t *testing.T) {
	// A server that accepts TCP and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			accepted <- nc
		}
		close(accepted)
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	peerDone := make(chan struct{})
	go func() {
		defer close(peerDone)
		if nc := <-accepted; nc != nil {
			defer nc.Close()
			cancel()
			io.Copy(io.Discard, nc) // until the client gives up
		}
	}()
	_, _, err = Dial(ctx, "ws://"+ln.Addr().String()+"/", DialOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	<-peerDone
}

func httptestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

// Pongs written by the reader goroutine interleave with the writer's batches
// (direct, appended to a batch, or appended during a flush) without losing or
// reordering anything.
func TestStressPingsDuringBatches(t *testing.T) {
	ts := startServer(t, serverConfig{})
	raw, _, err := websocket.DefaultDialer.Dial(ts.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	srv := ts.accept(t)
	const frames, pings = 20000, 500

	pongs := 0
	raw.SetPongHandler(func(string) error { pongs++; return nil })
	readDone := make(chan error, 1)
	go func() {
		for i := 0; i < frames; i++ {
			_, p, err := raw.ReadMessage()
			if err != nil {
				readDone <- err
				return
			}
			if want := fmt.Sprint(i); string(p) != want {
				readDone <- fmt.Errorf("message %d: %q", i, p)
				return
			}
		}
		readDone <- nil
	}()
	go func() {
		for i := 0; i < pings; i++ {
			raw.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(5*time.Second))
		}
		raw.WriteMessage(websocket.BinaryMessage, []byte("done"))
	}()
	serverRead := make(chan error, 1)
	go func() { // the server's reader goroutine answers the pings
		f, err := srv.ReadFrame()
		if err == nil && string(f) != "done" {
			err = fmt.Errorf("server read %q", f)
		}
		serverRead <- err
	}()
	for i := 0; i < frames; i++ {
		if err := srv.WriteFrame([]byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		if i%(1+i%13) == 0 {
			if err := srv.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := srv.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := <-serverRead; err != nil {
		t.Fatal(err)
	}
	if err := <-readDone; err != nil {
		t.Fatal(err)
	}
	// All pongs were sent before "done" was read by the server; flush any
	// still queued, then read until they are all in.
	srv.Flush()
	srv.WriteFrame([]byte("end"))
	srv.Flush()
	if _, p, err := raw.ReadMessage(); err != nil || string(p) != "end" {
		t.Fatalf("end: %q %v", p, err)
	}
	if pongs != pings {
		t.Fatalf("%d pongs, want %d", pongs, pings)
	}
}
