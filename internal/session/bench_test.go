package session_test

// Benchmarks of the engine. One op is one element.
//
//   - BenchmarkPipe*: the whole engine, responder to requester, over the
//     in-memory transport/pipe (no network). allocs/op counts both sides and
//     the pipe, which copies every frame (1 alloc per frame written).
//   - BenchmarkSendPath*: the responder's path alone, handler Send → writer →
//     a transport that takes the bytes and does nothing else (or copies them,
//     like a kernel would): allocs/op is the send path's own.
//   - BenchmarkRecvPath*: the requester's path alone, a transport that hands
//     out pre-encoded PAYLOAD frames (honouring credit) → reader → Recv:
//     allocs/op is the receive path's own (the WebSocket adapter adds
//     gorilla's one allocation per message; see server/bench_test.go).

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/session"
	"github.com/sluicehq/sluice/protocol"
	"github.com/sluicehq/sluice/transport"
	"github.com/sluicehq/sluice/transport/pipe"
)

// ---- helpers ----------------------------------------------------------------------------

// streamN is a stream handler that sends the number of elements and the size
// given in the request data ("N SIZE"), reusing one buffer (Send copies).
func streamN(ctx context.Context, p sluice.Payload, out sluice.Sink) error {
	var n, size int
	for i, f := range splitFields(string(p.Data)) {
		v, _ := strconv.Atoi(f)
		if i == 0 {
			n = v
		} else {
			size = v
		}
	}
	buf := make([]byte, size)
	for i := range n {
		binary.BigEndian.PutUint64(buf, uint64(i))
		if err := out.Send(ctx, sluice.Payload{Data: buf}); err != nil {
			return err
		}
	}
	return nil
}

func splitFields(s string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	return out
}

func echo(ctx context.Context, p sluice.Payload) (sluice.Payload, error) { return p, nil }

// pipePair runs a client and a server session over transport/pipe.
func pipePair(b *testing.B, h *sluice.Handlers) (cli, srv *session.Conn) {
	b.Helper()
	a, bb := pipe.New(pipe.Options{Capacity: 256 << 10})
	srvc := make(chan *session.Conn, 1)
	go func() {
		c, err := session.Accept(context.Background(), bb, session.Config{Handlers: h}, nil)
		if err != nil {
			b.Error(err)
		}
		srvc <- c
	}()
	cli, err := session.Client(a, session.Config{}, session.Setup{MetadataMIME: "text/plain", DataMIME: "text/plain"})
	if err != nil {
		b.Fatal(err)
	}
	srv = <-srvc
	b.Cleanup(func() {
		cli.Close()
		srv.Close()
		cli.Wait()
		srv.Wait()
	})
	return cli, srv
}

func perSec(b *testing.B, unit string) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}

// countAllocs starts counting heap allocations; the returned function reports
// them per element with three decimals (allocs/op rounds to an integer, which
// hides one allocation per 256 elements, say).
func countAllocs(b *testing.B) func() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m0 := ms.Mallocs
	return func() {
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.Mallocs-m0)/float64(b.N), "allocs/elem")
	}
}

// ---- the whole engine over transport/pipe -----------------------------------------------

func benchPipeStream(b *testing.B, size int, prefetch int64) {
	cli, _ := pipePair(b, &sluice.Handlers{RequestStream: streamN})
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	report := countAllocs(b)
	s, err := cli.RequestStream(ctx, sluice.Text(strconv.Itoa(b.N)+" "+strconv.Itoa(size)), session.Policy{Prefetch: prefetch})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for {
		_, err := s.Recv(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.StopTimer()
	report()
	if n != b.N {
		b.Fatalf("got %d of %d", n, b.N)
	}
	perSec(b, "elems/s")
}

func BenchmarkPipeStream64Unbounded(b *testing.B)   { benchPipeStream(b, 64, protocol.MaxN) }
func BenchmarkPipeStream64Prefetch256(b *testing.B) { benchPipeStream(b, 64, 256) }
func BenchmarkPipeStream1KUnbounded(b *testing.B)   { benchPipeStream(b, 1024, protocol.MaxN) }
func BenchmarkPipeStream1KPrefetch256(b *testing.B) { benchPipeStream(b, 1024, 256) }

func BenchmarkPipeRequestResponse64InFlight(b *testing.B) {
	cli, _ := pipePair(b, &sluice.Handlers{RequestResponse: echo})
	ctx := context.Background()
	data := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	report := countAllocs(b)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if _, err := cli.RequestResponse(ctx, sluice.Payload{Data: data}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	report()
	perSec(b, "reqs/s")
}

func BenchmarkPipeChannelEcho64(b *testing.B) {
	cli, _ := pipePair(b, &sluice.Handlers{RequestChannel: func(ctx context.Context, p sluice.Payload, in sluice.Stream, out sluice.Sink) error {
		if err := out.Send(ctx, p); err != nil {
			return err
		}
		for {
			e, err := in.Recv(ctx)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := out.Send(ctx, e); err != nil {
				return err
			}
		}
	}})
	ctx := context.Background()
	data := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	report := countAllocs(b)
	ch, err := cli.RequestChannel(ctx, sluice.Payload{Data: data}, session.Policy{Prefetch: 256})
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for i := 1; i < b.N; i++ {
			if err := ch.Send(ctx, sluice.Payload{Data: data}); err != nil {
				return
			}
		}
		ch.CloseSend()
	}()
	n := 0
	for {
		_, err := ch.Recv(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.StopTimer()
	report()
	if n != b.N {
		b.Fatalf("got %d of %d", n, b.N)
	}
	perSec(b, "elems/s")
}

// ---- the send path alone ------------------------------------------------------------------

// sinkConn is the server's transport for the send path: ReadFrame hands out
// SETUP and one REQUEST_STREAM, then blocks until Close; WriteFrame takes the
// frames (copying them into a scratch buffer, like a kernel, when copy is
// set) and reports the PAYLOAD that completes the stream.
type sinkConn struct {
	in       chan []byte
	closed   chan struct{}
	once     sync.Once
	copy     bool
	scratch  []byte
	complete chan struct{}
	frames   int64 // writer goroutine only
	flushes  int64
}

func newSinkConn(copyBytes bool, frames ...[]byte) *sinkConn {
	c := &sinkConn{in: make(chan []byte, len(frames)), closed: make(chan struct{}), copy: copyBytes,
		complete: make(chan struct{}), scratch: make([]byte, 0, 512<<10)}
	for _, f := range frames {
		c.in <- f
	}
	return c
}

func (c *sinkConn) ReadFrame() ([]byte, error) {
	select {
	case f := <-c.in:
		return f, nil
	case <-c.closed:
		return nil, net.ErrClosed
	}
}

func (c *sinkConn) WriteFrame(f []byte) error {
	select {
	case <-c.closed:
		return net.ErrClosed
	default:
	}
	c.frames++
	if c.copy {
		c.scratch = append(c.scratch, f...)
	}
	if _, t, flags, _ := protocol.DecodeHeader(f); t == protocol.TypePayload && flags.Has(protocol.FlagComplete) {
		close(c.complete)
	}
	return nil
}

func (c *sinkConn) Flush() error {
	c.flushes++
	c.scratch = c.scratch[:0]
	return nil
}
func (c *sinkConn) SetWriteDeadline(time.Time) error { return nil }
func (c *sinkConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

var _ transport.Conn = (*sinkConn)(nil)

func setupFrame() []byte {
	return protocol.AppendSetup(nil, 30_000, 90_000, nil, false, "text/plain", "text/plain", nil, nil)
}

func benchSendPath(b *testing.B, size int, copyBytes bool) {
	req := protocol.AppendRequestWithN(nil, protocol.TypeRequestStream, 1, 0, protocol.MaxN, nil,
		[]byte(strconv.Itoa(b.N)+" "+strconv.Itoa(size)))
	t := newSinkConn(copyBytes, setupFrame(), req)
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	report := countAllocs(b)
	c, err := session.Accept(context.Background(), t, session.Config{Handlers: &sluice.Handlers{RequestStream: streamN}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	select {
	case <-t.complete:
	case <-time.After(time.Minute):
		b.Fatal("stream did not complete")
	}
	b.StopTimer()
	report()
	perSec(b, "elems/s")
	c.Close()
	c.Wait()
	b.ReportMetric(float64(t.frames)/float64(max(t.flushes, 1)), "frames/flush")
}

// BenchmarkSendPath64: a transport that takes the bytes at no cost (the
// writer always keeps up).
func BenchmarkSendPath64(b *testing.B) { benchSendPath(b, 64, false) }

// BenchmarkSendPath64Copy: the transport copies every batch (as write(2)
// would), so the producer runs ahead of the writer and the stream's queue
// stays non-empty, as it does over a socket.
func BenchmarkSendPath64Copy(b *testing.B) { benchSendPath(b, 64, true) }
func BenchmarkSendPath1KCopy(b *testing.B) { benchSendPath(b, 1024, true) }

// ---- the receive path alone ----------------------------------------------------------------

// replayConn is the client's transport for the receive path: it hands out
// PAYLOAD frames for stream 1 as long as the client granted credit
// (REQUEST_STREAM's N, then REQUEST_N), then one completing PAYLOAD.
type replayConn struct {
	mu        sync.Mutex
	cond      sync.Cond
	credit    int64 // protocol.MaxN = unbounded
	started   bool
	remaining int
	closed    bool
	frame     []byte
	last      []byte
	sentLast  bool
}

func newReplayConn(n, size int) *replayConn {
	c := &replayConn{remaining: n}
	c.cond.L = &c.mu
	c.frame = protocol.AppendPayload(nil, 1, protocol.FlagNext, nil, make([]byte, size))
	c.last = protocol.AppendPayload(nil, 1, protocol.FlagComplete, nil, nil)
	return c
}

func (c *replayConn) ReadFrame() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		switch {
		case c.closed:
			return nil, net.ErrClosed
		case !c.started:
		case c.remaining > 0 && c.credit > 0:
			c.remaining--
			if c.credit != protocol.MaxN {
				c.credit--
			}
			return c.frame, nil
		case c.remaining == 0 && !c.sentLast:
			c.sentLast = true
			return c.last, nil
		}
		c.cond.Wait()
	}
}

func (c *replayConn) WriteFrame(f []byte) error {
	fr, err := protocol.Decode(f)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	switch fr.Type {
	case protocol.TypeRequestStream, protocol.TypeRequestN:
		c.started = true
		c.credit = min(c.credit+int64(fr.N), protocol.MaxN)
		c.cond.Broadcast()
	}
	return nil
}

func (c *replayConn) Flush() error                     { return nil }
func (c *replayConn) SetWriteDeadline(time.Time) error { return nil }
func (c *replayConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
	return nil
}

func benchRecvPath(b *testing.B, size int, prefetch int64) {
	t := newReplayConn(b.N, size)
	c, err := session.Client(t, session.Config{}, session.Setup{MetadataMIME: "text/plain", DataMIME: "text/plain"})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { c.Close(); c.Wait() }()
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	report := countAllocs(b)
	s, err := c.RequestStream(ctx, sluice.Text("go"), session.Policy{Prefetch: prefetch})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for {
		_, err := s.Recv(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.StopTimer()
	report()
	if n != b.N {
		b.Fatalf("got %d of %d", n, b.N)
	}
	perSec(b, "elems/s")
}

func BenchmarkRecvPath64Unbounded(b *testing.B)   { benchRecvPath(b, 64, protocol.MaxN) }
func BenchmarkRecvPath64Prefetch256(b *testing.B) { benchRecvPath(b, 64, 256) }
func BenchmarkRecvPath1KPrefetch256(b *testing.B) { benchRecvPath(b, 1024, 256) }
