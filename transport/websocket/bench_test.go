package websocket

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

const benchBatch = 64

// discard drains the raw TCP connection under c (the WebSocket peer of the
// writer being measured), so only the writer's work is measured.
func discard(c *Conn) chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(io.Discard, c.cork.Conn)
	}()
	return done
}

func writeBatches(b *testing.B, w *Conn, n int, frame []byte) {
	for i := 0; i < n; i++ {
		if err := w.WriteFrame(frame); err != nil {
			b.Fatal(err)
		}
		if (i+1)%benchBatch == 0 || i == n-1 {
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkServerWrite64: one op = one 64-byte frame written by the server in
// batches of 64 with one Flush each; the peer discards raw bytes.
func BenchmarkServerWrite64(b *testing.B) { benchWrite(b, false, 64) }

// BenchmarkServerWrite1K: as above with 1 KiB frames.
func BenchmarkServerWrite1K(b *testing.B) { benchWrite(b, false, 1024) }

// BenchmarkClientWrite64: as above from the client (masked messages, framed
// by WriteFrame itself).
func BenchmarkClientWrite64(b *testing.B) { benchWrite(b, true, 64) }

// BenchmarkClientWrite1K: as above with 1 KiB frames.
func BenchmarkClientWrite1K(b *testing.B) { benchWrite(b, true, 1024) }

func benchWrite(b *testing.B, client bool, size int) {
	srv, cli, _, _ := pair(b, serverConfig{}, DialOptions{})
	w, peer := srv, cli
	if client {
		w, peer = cli, srv
	}
	done := discard(peer)
	frame := frameOf(size, 1)
	writeBatches(b, w, benchBatch*4, frame) // warm the batch pool
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	writeBatches(b, w, b.N, frame)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	w.Close()
	<-done
}

// BenchmarkMaskCopy1K: framing one 1 KiB message (header, key, masked copy)
// without the cork.
func BenchmarkMaskCopy1K(b *testing.B) {
	p := frameOf(1024, 1)
	dst := make([]byte, maskedHeaderLen(len(p))+len(p))
	keys := newMaskKeys()
	b.SetBytes(1024)
	for b.Loop() {
		putMaskedMessage(dst, p, keys.next())
	}
}

// BenchmarkStream64: one op = one 64-byte frame from server WriteFrame to
// client ReadFrame over loopback, batches of 64: the end-to-end figure.
func BenchmarkStream64(b *testing.B) {
	srv, cli, _, _ := pair(b, serverConfig{}, DialOptions{})
	benchStream(b, srv, cli)
}

// BenchmarkServerRead64: one op = one 64-byte frame read by the server, sent
// by the client in batches of 64.
func BenchmarkServerRead64(b *testing.B) {
	srv, cli, _, _ := pair(b, serverConfig{}, DialOptions{})
	benchStream(b, cli, srv)
}

func benchStream(b *testing.B, w, r *Conn) {
	frame := frameOf(64, 1)
	b.ReportAllocs()
	b.SetBytes(64)
	b.ResetTimer()
	werr := make(chan error, 1)
	go func() {
		for i := 0; i < b.N; i++ {
			if err := w.WriteFrame(frame); err != nil {
				werr <- err
				return
			}
			if (i+1)%benchBatch == 0 || i == b.N-1 {
				if err := w.Flush(); err != nil {
					werr <- err
					return
				}
			}
		}
		werr <- nil
	}()
	for i := 0; i < b.N; i++ {
		if f, err := r.ReadFrame(); err != nil || len(f) != 64 {
			b.Fatalf("read %d: %d %v", i, len(f), err)
		}
	}
	b.StopTimer()
	if err := <-werr; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkStream64NoCork is BenchmarkStream64 with a plain gorilla server
// writing each message with its own system call (no coalescing), read by the
// same client: the baseline for the cork's gain, measured in the same run.
func BenchmarkStream64NoCork(b *testing.B) {
	up := websocket.Upgrader{}
	frame := frameOf(64, 1)
	start := make(chan int)
	werr := make(chan error, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			werr <- err
			return
		}
		defer ws.Close()
		n := <-start
		for i := 0; i < n; i++ {
			if err := ws.WriteMessage(websocket.BinaryMessage, frame); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}))
	defer ts.Close()
	cli, _, err := Dial(context.Background(), "ws"+strings.TrimPrefix(ts.URL, "http"), DialOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	b.ReportAllocs()
	b.SetBytes(64)
	b.ResetTimer()
	start <- b.N
	for i := 0; i < b.N; i++ {
		if f, err := cli.ReadFrame(); err != nil || len(f) != 64 {
			b.Fatalf("read %d: %d %v", i, len(f), err)
		}
	}
	b.StopTimer()
	if err := <-werr; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
