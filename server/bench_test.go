package server_test

// Benchmarks of the send and receive paths of the server and of the client
// over loopback WebSocket. One op is one element. The other end of each
// benchmark is a bare WebSocket peer (wsPeer) that parses and writes frames
// without allocating, so allocs/op and allocs/elem are the measured side's:
//
//	BenchmarkServerSend*   sluice server, stream handler Send → raw reader
//	BenchmarkServerRecv64  raw writer → sluice server, channel handler Recv
//	BenchmarkClientRecv*   raw writer → sluice client, RequestStream Recv
//	BenchmarkClientSend64  sluice client, channel Send → raw reader
//
// gorilla/websocket allocates one object per message read (NextReader), so
// the receive paths show about one allocation per element from the adapter.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/protocol"
	"github.com/sluicehq/sluice/protocol/metadata"
	"github.com/sluicehq/sluice/router"
	"github.com/sluicehq/sluice/server"
	"github.com/sluicehq/sluice/transport/websocket"
)

// ---- a bare WebSocket peer ------------------------------------------------------------

type wsPeer struct {
	nc     net.Conn
	client bool // writes masked frames
	rbuf   []byte
	rs, re int
	wbuf   []byte
	scr    []byte
}

func newPeer(nc net.Conn, client bool) *wsPeer {
	return &wsPeer{nc: nc, client: client, rbuf: make([]byte, 256<<10)}
}

// next returns the payload of the next single-frame message (valid until the
// next call); control frames are skipped.
func (p *wsPeer) next() ([]byte, error) {
	for {
		b := p.rbuf[p.rs:p.re]
		if len(b) >= 2 {
			hdr, n := 2, int(b[1]&0x7f)
			switch n {
			case 126:
				hdr = 4
				if len(b) >= 4 {
					n = int(binary.BigEndian.Uint16(b[2:]))
				}
			case 127:
				hdr = 10
				if len(b) >= 10 {
					n = int(binary.BigEndian.Uint64(b[2:]))
				}
			}
			masked := b[1]&0x80 != 0
			if masked {
				hdr += 4
			}
			if hdr+n > len(p.rbuf) {
				return nil, fmt.Errorf("message of %d bytes", n)
			}
			if len(b) >= hdr+n {
				pl := b[hdr : hdr+n]
				if masked {
					key := b[hdr-4 : hdr]
					for i := range pl {
						pl[i] ^= key[i&3]
					}
				}
				p.rs += hdr + n
				if b[0]&0x80 == 0 || b[0]&0x0f == 0 {
					return nil, errors.New("fragmented message")
				}
				if b[0]&0x08 != 0 { // control frame
					if b[0]&0x0f == 0x8 {
						return nil, io.EOF
					}
					continue
				}
				return pl, nil
			}
		}
		if p.rs > 0 {
			p.re = copy(p.rbuf, p.rbuf[p.rs:p.re])
			p.rs = 0
		}
		n, err := p.nc.Read(p.rbuf[p.re:])
		p.re += n
		if n == 0 && err != nil {
			return nil, err
		}
	}
}

// write queues one binary message carrying an RSocket frame made by enc.
func (p *wsPeer) write(enc func([]byte) []byte) {
	p.scr = enc(p.scr[:0])
	n := len(p.scr)
	var mbit byte
	if p.client {
		mbit = 0x80
	}
	p.wbuf = append(p.wbuf, 0x82)
	switch {
	case n < 126:
		p.wbuf = append(p.wbuf, mbit|byte(n))
	case n <= 0xffff:
		p.wbuf = append(p.wbuf, mbit|126, byte(n>>8), byte(n))
	default:
		p.wbuf = append(p.wbuf, mbit|127)
		p.wbuf = binary.BigEndian.AppendUint64(p.wbuf, uint64(n))
	}
	if p.client {
		p.wbuf = append(p.wbuf, 0, 0, 0, 0) // mask key 0: the XOR is a no-op
	}
	p.wbuf = append(p.wbuf, p.scr...)
}

func (p *wsPeer) flush() error {
	if len(p.wbuf) == 0 {
		return nil
	}
	_, err := p.nc.Write(p.wbuf)
	p.wbuf = p.wbuf[:0]
	return err
}

// dialPeer opens a WebSocket connection and returns it as a bare client peer.
func dialPeer(b *testing.B, url string) *wsPeer {
	b.Helper()
	ws, _, err := gws.DefaultDialer.Dial(url, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ws.Close() })
	return newPeer(ws.UnderlyingConn(), true)
}

// ---- counting ---------------------------------------------------------------------------

func countAllocs(b *testing.B) func() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m0 := ms.Mallocs
	return func() {
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.Mallocs-m0)/float64(b.N), "allocs/elem")
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "elems/s")
	}
}

// ---- the server -------------------------------------------------------------------------

func benchServer(b *testing.B) string {
	r := router.New()
	r.Stream("n", func(ctx context.Context, p sluice.Payload, out sluice.Sink) error {
		f := strings.Fields(string(p.Data))
		n, _ := strconv.Atoi(f[0])
		size, _ := strconv.Atoi(f[1])
		buf := make([]byte, size)
		for i := range n {
			binary.BigEndian.PutUint64(buf, uint64(i))
			if err := out.Send(ctx, sluice.Payload{Data: buf}); err != nil {
				return err
			}
		}
		return nil
	})
	r.Channel("sink", func(ctx context.Context, p sluice.Payload, in sluice.Stream, out sluice.Sink) error {
		for {
			if _, err := in.Recv(ctx); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
		}
	})
	srv := server.New(server.Options{Router: r})
	hs := httptest.NewServer(srv)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http")
}

func peerSetup(p *wsPeer) {
	p.write(func(d []byte) []byte {
		return protocol.AppendSetup(d, 30_000, 90_000, nil, false, metadata.MIMEComposite, "application/octet-stream", nil, nil)
	})
}

func benchServerSend(b *testing.B, size int) {
	p := dialPeer(b, benchServer(b))
	md := metadata.AppendCompositeRoute(nil, "n")
	data := []byte(strconv.Itoa(b.N) + " " + strconv.Itoa(size))
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	report := countAllocs(b)
	peerSetup(p)
	p.write(func(d []byte) []byte {
		return protocol.AppendRequestWithN(d, protocol.TypeRequestStream, 1, 0, protocol.MaxN, md, data)
	})
	if err := p.flush(); err != nil {
		b.Fatal(err)
	}
	n := 0
	for {
		msg, err := p.next()
		if err != nil {
			b.Fatal(err)
		}
		_, t, flags, _ := protocol.DecodeHeader(msg)
		if t != protocol.TypePayload {
			continue
		}
		if flags.Has(protocol.FlagNext) {
			n++
		}
		if flags.Has(protocol.FlagComplete) {
			break
		}
	}
	b.StopTimer()
	report()
	if n != b.N {
		b.Fatalf("got %d of %d", n, b.N)
	}
}

func BenchmarkServerSend64(b *testing.B) { benchServerSend(b, 64) }
func BenchmarkServerSend1K(b *testing.B) { benchServerSend(b, 1024) }

// BenchmarkServerRecv64: the raw client sends b.N elements on a channel,
// within the credit the server grants (its channel window), and the handler
// takes them.
func BenchmarkServerRecv64(b *testing.B) {
	p := dialPeer(b, benchServer(b))
	md := metadata.AppendCompositeRoute(nil, "sink")
	data := make([]byte, 64)
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	credit, done := int64(0), false
	readErr := make(chan error, 1)
	b.ReportAllocs()
	b.SetBytes(64)
	b.ResetTimer()
	report := countAllocs(b)
	peerSetup(p)
	p.write(func(d []byte) []byte {
		return protocol.AppendRequestWithN(d, protocol.TypeRequestChannel, 1, 0, 1, md, data)
	})
	if err := p.flush(); err != nil {
		b.Fatal(err)
	}
	go func() {
		var err error
		defer func() {
			mu.Lock()
			done = true
			cond.Broadcast()
			mu.Unlock()
			readErr <- err
		}()
		for {
			var msg []byte
			if msg, err = p.next(); err != nil {
				return
			}
			f, _ := protocol.Decode(msg)
			switch {
			case f.Type == protocol.TypeRequestN:
				mu.Lock()
				credit += int64(f.N)
				cond.Broadcast()
				mu.Unlock()
			case f.Type == protocol.TypePayload && f.Flags.Has(protocol.FlagComplete):
				return
			case f.Type == protocol.TypeError:
				err = fmt.Errorf("ERROR %v %s", f.Code, f.Data)
				return
			}
		}
	}()
	for sent := 1; sent < b.N; {
		mu.Lock()
		for credit == 0 && !done {
			cond.Wait()
		}
		k := min(credit, int64(b.N-sent))
		credit -= k
		stop := done
		mu.Unlock()
		if stop {
			break
		}
		for range k {
			p.write(func(d []byte) []byte { return protocol.AppendPayload(d, 1, protocol.FlagNext, nil, data) })
		}
		sent += int(k)
		if err := p.flush(); err != nil {
			b.Fatal(err)
		}
	}
	p.write(func(d []byte) []byte { return protocol.AppendPayload(d, 1, protocol.FlagComplete, nil, nil) })
	if err := p.flush(); err != nil {
		b.Fatal(err)
	}
	if err := <-readErr; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	report()
}

// ---- the client -------------------------------------------------------------------------

// rawServer serves one WebSocket connection with serve, given a bare peer.
func rawServer(b *testing.B, serve func(p *wsPeer)) string {
	up := gws.Upgrader{}
	var wg sync.WaitGroup
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer ws.Close()
		serve(newPeer(ws.UnderlyingConn(), false))
	}))
	b.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		wg.Wait()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http")
}

func benchClientRecv(b *testing.B, size int, prefetch int64) {
	benchClientRecvBuf(b, size, prefetch, 0)
}

// benchClientRecvBuf dials with the given WebSocket read buffer (0: the
// default of client.Dial) and runs the client on it with client.New.
func benchClientRecvBuf(b *testing.B, size int, prefetch int64, readBuf int) {
	frame := protocol.AppendPayload(nil, 1, protocol.FlagNext, nil, make([]byte, size))
	total := b.N
	url := rawServer(b, func(p *wsPeer) {
		var mu sync.Mutex
		cond := sync.NewCond(&mu)
		credit, started, done := int64(0), false, false
		go func() {
			defer func() { mu.Lock(); done = true; cond.Broadcast(); mu.Unlock() }()
			for {
				msg, err := p.next()
				if err != nil {
					return
				}
				f, _ := protocol.Decode(msg)
				if f.Type == protocol.TypeRequestStream || f.Type == protocol.TypeRequestN {
					mu.Lock()
					started = true
					credit = min(credit+int64(f.N), protocol.MaxN)
					cond.Broadcast()
					mu.Unlock()
				}
			}
		}()
		for sent := 0; sent < total; {
			mu.Lock()
			for (!started || credit == 0) && !done {
				cond.Wait()
			}
			k := min(credit, int64(total-sent), 512)
			if credit != protocol.MaxN {
				credit -= k
			}
			stop := done
			mu.Unlock()
			if stop {
				return
			}
			for range k {
				p.write(func(d []byte) []byte { return append(d, frame...) })
			}
			sent += int(k)
			if p.flush() != nil {
				return
			}
		}
		p.write(func(d []byte) []byte { return protocol.AppendPayload(d, 1, protocol.FlagComplete, nil, nil) })
		p.flush()
		mu.Lock()
		for !done {
			cond.Wait()
		}
		mu.Unlock()
	})
	ctx := context.Background()
	var c *client.Client
	var err error
	if readBuf == 0 {
		c, err = client.Dial(ctx, url+"/")
	} else {
		var t *websocket.Conn
		if t, _, err = websocket.Dial(ctx, url+"/", websocket.DialOptions{ReadBufferSize: readBuf}); err == nil {
			c, err = client.New(t)
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	report := countAllocs(b)
	s, err := c.RequestStream(ctx, sluice.Text("go"), client.Prefetch(prefetch))
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, err := range s.All(ctx) {
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
}

func BenchmarkClientRecv64Unbounded(b *testing.B)   { benchClientRecv(b, 64, protocol.MaxN) }
func BenchmarkClientRecv64Prefetch256(b *testing.B) { benchClientRecv(b, 64, 256) }
func BenchmarkClientRecv1KPrefetch256(b *testing.B) { benchClientRecv(b, 1024, 256) }

// The same with a 64 KiB WebSocket read buffer instead of client.Dial's
// 4 KiB: fewer read system calls per element.
func BenchmarkClientRecv1KPrefetch256ReadBuf64K(b *testing.B) {
	benchClientRecvBuf(b, 1024, 256, 64<<10)
}
func BenchmarkClientRecv64UnboundedReadBuf64K(b *testing.B) {
	benchClientRecvBuf(b, 64, protocol.MaxN, 64<<10)
}

// BenchmarkClientSend64: the client sends b.N elements on a channel to which
// the raw server granted unbounded credit.
func BenchmarkClientSend64(b *testing.B) {
	got := make(chan int, 1)
	url := rawServer(b, func(p *wsPeer) {
		n := 0
		defer func() { got <- n }()
		for {
			msg, err := p.next()
			if err != nil {
				return
			}
			f, _ := protocol.Decode(msg)
			switch f.Type {
			case protocol.TypeRequestChannel:
				n++
				p.write(func(d []byte) []byte { return protocol.AppendRequestN(d, 1, protocol.MaxN) })
				p.flush()
			case protocol.TypePayload:
				if f.Flags.Has(protocol.FlagNext) {
					n++
				}
				if f.Flags.Has(protocol.FlagComplete) {
					p.write(func(d []byte) []byte { return protocol.AppendPayload(d, 1, protocol.FlagComplete, nil, nil) })
					p.flush()
					return
				}
			}
		}
	})
	ctx := context.Background()
	c, err := client.Dial(ctx, url+"/")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	data := make([]byte, 64)
	b.ReportAllocs()
	b.SetBytes(64)
	b.ResetTimer()
	report := countAllocs(b)
	ch, err := c.RequestChannel(ctx, sluice.Payload{Data: data}, client.Prefetch(1))
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i < b.N; i++ {
		if err := ch.Send(ctx, sluice.Payload{Data: data}); err != nil {
			b.Fatal(err)
		}
	}
	ch.CloseSend()
	if _, err := ch.Recv(ctx); !errors.Is(err, io.EOF) {
		b.Fatalf("Recv: %v", err)
	}
	b.StopTimer()
	report()
	if n := <-got; n != b.N {
		b.Fatalf("server got %d of %d", n, b.N)
	}
}
