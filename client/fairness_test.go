package client_test

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/testserver"
	"github.com/sluicehq/sluice/protocol"
	"github.com/sluicehq/sluice/protocol/metadata"
	"github.com/sluicehq/sluice/server"
)

// Fairness over real loopback WebSocket is measured by the benchmarks below
// (rates in real time depend on the machine's load, so they are no test);
// internal/session's fairness tests check the same ratios deterministically,
// in virtual time over a rate-limited in-memory link.

// drain consumes a fast stream for d and returns elements per second.
func drain(t testing.TB, c *client.Client, d time.Duration) float64 {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := c.RequestStream(ctx, sluice.Text(""), client.Route("count"), client.Prefetch(256))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(d)
	n := 0
	start := time.Now()
	for time.Now().Before(deadline) {
		if _, err := s.Recv(ctx); err != nil {
			t.Fatal(err)
		}
		n++
	}
	s.Cancel()
	return float64(n) / time.Since(start).Seconds()
}

// slowConsumer takes one element per period until stop is closed.
func slowConsumer(t testing.TB, c *client.Client, period time.Duration, stop <-chan struct{}, wg *sync.WaitGroup) {
	s, err := c.RequestStream(context.Background(), sluice.Text(""), client.Route("count"), client.Prefetch(256))
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer s.Cancel()
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := s.Recv(context.Background()); err != nil {
					return
				}
			}
		}
	}()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// fairnessOneConn returns the fast stream's rate beside a slow stream on the
// same connection divided by its solo rate (medians of rounds).
func fairnessOneConn(t testing.TB, url string, rounds int, d time.Duration) (ratio, solo float64) {
	ctx := context.Background()
	c, err := client.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var solos, besides []float64
	for range rounds {
		solos = append(solos, drain(t, c, d))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		slowConsumer(t, c, 100*time.Millisecond, stop, &wg)
		time.Sleep(50 * time.Millisecond) // the slow stream's window fills up
		besides = append(besides, drain(t, c, d))
		close(stop)
		wg.Wait()
	}
	return median(besides) / median(solos), median(solos)
}

// stalledReader opens a raw connection that asks for an unbounded stream of
// size-byte elements and never reads.
func stalledReader(t testing.TB, url string, size int) *gws.Conn {
	ws, _, err := gws.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	setup := protocol.AppendSetup(nil, 30000, 120000, nil, false, metadata.MIMEComposite, "application/octet-stream", nil, nil)
	req := protocol.AppendRequestWithN(nil, protocol.TypeRequestStream, 1, 0, protocol.MaxN,
		metadata.AppendCompositeRoute(nil, "blob"), []byte("1000000000 "+itoa(size)))
	if err := ws.WriteMessage(gws.BinaryMessage, setup); err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteMessage(gws.BinaryMessage, req); err != nil {
		t.Fatal(err)
	}
	return ws
}

func itoa(n int) string {
	return string(appendInt(nil, n))
}

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// nineRate runs nine fast consumers, each on its own connection, for d and
// returns their total elements per second.
func nineRate(t testing.TB, clients []*client.Client, d time.Duration) float64 {
	var total atomic.Int64
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			total.Add(int64(drain(t, c, d)))
		}()
	}
	wg.Wait()
	return float64(total.Load())
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func tenConnectionsOneStalled(b *testing.B, url string) (ratio, alone float64) {
	ctx := context.Background()
	var clients []*client.Client
	for range 9 {
		c, err := client.Dial(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	var solos, besides []float64
	for range 3 {
		solos = append(solos, nineRate(b, clients, 300*time.Millisecond))
		ws := stalledReader(b, url, 1024)
		time.Sleep(100 * time.Millisecond)
		besides = append(besides, nineRate(b, clients, 300*time.Millisecond))
		ws.Close()
	}
	return median(besides) / median(solos), median(solos)
}

func BenchmarkTenConnectionsOneStalled(b *testing.B) {
	_, url := testserver.Start(b, server.Options{})
	for b.Loop() {
		ratio, alone := tenConnectionsOneStalled(b, url)
		b.ReportMetric(ratio, "ratio")
		b.ReportMetric(alone, "nine-elems/s")
	}
}

func TestStalledReadersMemoryBounded(t *testing.T) {
	srv, url := testserver.Start(t, server.Options{})
	before := heapInUse()
	var conns []*gws.Conn
	for range 10 {
		conns = append(conns, stalledReader(t, url, 64<<10))
	}
	// Wait until every producer is blocked: elements sent stop growing.
	m := srv.Metrics()
	last := int64(-1)
	for i := 0; i < 100; i++ {
		time.Sleep(50 * time.Millisecond)
		n := m.ElementsSent.Load()
		if n == last && n > 0 {
			break
		}
		last = n
	}
	time.Sleep(500 * time.Millisecond)
	after := heapInUse()
	growth := int64(after) - int64(before)
	t.Logf("ten stalled readers: heap growth %.1f MB, %d elements of 64 KiB sent, %d bytes queued",
		float64(growth)/(1<<20), m.ElementsSent.Load(), m.QueuedBytes.Load())
	if growth > 64<<20 {
		t.Fatalf("heap grew %d MB with ten stalled readers", growth>>20)
	}
	if q := m.QueuedBytes.Load(); q > 10*(2<<20) {
		t.Fatalf("%d bytes queued for ten stalled readers", q)
	}
	// The server keeps serving.
	c, err := client.Dial(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if p, err := c.RequestResponse(context.Background(), sluice.Text("ok"), client.Route("echo")); err != nil || string(p.Data) != "ok" {
		t.Fatalf("echo beside stalled readers: %q %v", p.Data, err)
	}
	for _, ws := range conns {
		ws.Close()
	}
}

func BenchmarkFairness(b *testing.B) {
	_, url := testserver.Start(b, server.Options{})
	for b.Loop() {
		ratio, solo := fairnessOneConn(b, url, 3, 500*time.Millisecond)
		b.ReportMetric(ratio, "ratio")
		b.ReportMetric(solo, "solo-elems/s")
	}
}
