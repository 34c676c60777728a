// Package scale holds the scale tests of the sluice server, each against a
// server in a child process of its own (this test binary re-executed in the
// harness's child mode, benchpeer.RunChild), so that its RSS is its own:
//
//   - TestIdleConnections: N idle WebSocket connections (SETUP sent, nothing
//     else) held by one server; RSS per connection, measured before/after.
//   - TestSlowConsumers: slow consumers (one element per 10 ms, unbounded
//     demand requested) beside one fast client on another connection: the
//     server's RSS stays flat and the fast client keeps its rate.
//
// SLUICE_SCALE_PROFILE=DIR also writes the server's heap and goroutine
// profiles with the idle connections open (DIR/idle.heapprofile, read with
// go tool pprof -sample_index=inuse_space).
//
// By default (go test ./... and make test-interop) they run small and quick:
// 1000 connections, 10 slow consumers for a few seconds, with loose bounds.
// The full figures of the performance goals run with SLUICE_SCALE=1:
//
//	cd interop && SLUICE_SCALE=1 go test -run . -v -count=1 -timeout 10m ./scale/
//
// (without -race: the race detector multiplies memory and slows the client.)
package scale

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/interop/cmd/compare/benchpeer"
	"github.com/sluicehq/sluice/interop/cmd/compare/wsraw"
	"github.com/sluicehq/sluice/protocol"
)

const childEnv = "SLUICE_SCALE_CHILD"

func TestMain(m *testing.M) {
	if kind := os.Getenv(childEnv); kind != "" {
		os.Exit(benchpeer.RunChild(kind, "127.0.0.1:0"))
	}
	os.Exit(m.Run())
}

func full() bool { return os.Getenv("SLUICE_SCALE") == "1" }

// startServer runs the sluice server (the harness's) in a child process.
func startServer(t *testing.T) *benchpeer.Child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c, err := benchpeer.Start(benchpeer.Sluice, exe, []string{"-test.run=^$"}, []string{childEnv + "=" + benchpeer.Sluice})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func rss(t *testing.T, c *benchpeer.Child) int64 {
	t.Helper()
	r, err := c.RSS()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// retained returns the child's RSS right after a forced garbage collection
// (runtime.GC and debug.FreeOSMemory in the child).
func retained(t *testing.T, c *benchpeer.Child) int64 {
	t.Helper()
	if err := c.GC(); err != nil {
		t.Fatal(err)
	}
	return rss(t, c)
}

func stats(t *testing.T, c *benchpeer.Child) map[string]int64 {
	t.Helper()
	s, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dialRSocket opens a WebSocket connection and queues SETUP (keepalive 20 s,
// lifetime 5 min, like a client that keeps the connection).
func dialRSocket(ctx context.Context, u string, readBuf int) (*wsraw.Conn, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", pu.Host)
	if err != nil {
		return nil, err
	}
	c, err := wsraw.Handshake(ctx, nc, pu, readBuf)
	if err != nil {
		nc.Close()
		return nil, err
	}
	c.Setup(20_000, 300_000)
	return c, nil
}

// ---- idle connections ----------------------------------------------------------------------

func TestIdleConnections(t *testing.T) {
	n, limitKiB := 1000, 64.0
	if full() {
		n, limitKiB = 10000, 32
	}
	nofile, err := benchpeer.RaiseNoFile()
	if err != nil {
		t.Fatal(err)
	}
	if nofile < uint64(n)+200 {
		t.Skipf("RLIMIT_NOFILE is %d, need %d", nofile, n+200)
	}
	srv := startServer(t)
	// A first connection warms the server up (handshake code paths, pools).
	ctx := context.Background()
	warm, err := dialRSocket(ctx, srv.URL, 512)
	if err != nil {
		t.Fatal(err)
	}
	warm.Flush()
	time.Sleep(200 * time.Millisecond)
	if err := srv.GC(); err != nil {
		t.Fatal(err)
	}
	before, st0 := rss(t, srv), stats(t, srv)

	conns := make([]*wsraw.Conn, n)
	began := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for range 64 { // 64 handshakes in flight at a time
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				c, err := dialRSocket(dctx, srv.URL, 512)
				cancel()
				if err == nil {
					err = c.Flush()
				}
				if err != nil {
					errc <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		warm.Close()
	})
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	opened := time.Since(began)
	// Wait until the server holds all of them.
	var st map[string]int64
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st = stats(t, srv)
		if st["connections_open"] >= int64(n+1) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server holds %d connections, want %d", st["connections_open"], n+1)
		}
	}
	time.Sleep(500 * time.Millisecond)
	asIs := rss(t, srv)
	if err := srv.GC(); err != nil {
		t.Fatal(err)
	}
	afterGC, st1 := rss(t, srv), stats(t, srv)

	per := func(a, b int64) float64 { return float64(a-b) / float64(n) / 1024 }
	t.Logf("%d idle connections opened in %v", n, opened.Round(time.Millisecond))
	t.Logf("server RSS: %s before, %s with the connections (%.1f KiB each), %s after GC (%.1f KiB each)",
		mib(before), mib(asIs), per(asIs, before), mib(afterGC), per(afterGC, before))
	t.Logf("per connection: %.2f goroutines, heap in use %.1f KiB, stacks %.1f KiB",
		float64(st1["goroutines"]-st0["goroutines"])/float64(n),
		per(st1["heap_inuse"], st0["heap_inuse"]), per(st1["stack_inuse"], st0["stack_inuse"]))

	// They are alive: a few answer a request-response.
	for _, i := range []int{0, n / 2, n - 1} {
		c := conns[i]
		c.RequestResponse(1, wsraw.Route("echo"), []byte("ping"))
		c.NetConn().SetReadDeadline(time.Now().Add(5 * time.Second))
		f, err := c.NextFrame()
		if err != nil || f.Type != protocol.TypePayload || string(f.Data) != "ping" {
			t.Fatalf("connection %d: echo answered %v %q (%v)", i, f.Type, f.Data, err)
		}
	}
	if dir := os.Getenv("SLUICE_SCALE_PROFILE"); dir != "" {
		for _, k := range []string{"heapprofile", "goroutineprofile"} {
			f := filepath.Join(dir, "idle."+k)
			if err := srv.Profile(k, f); err != nil {
				t.Errorf("%s: %v", k, err)
			} else {
				t.Logf("wrote %s", f)
			}
		}
	}
	if raceEnabled {
		t.Logf("race detector on: RSS bounds not checked")
		return
	}
	if got := per(afterGC, before); got > limitKiB {
		t.Errorf("%.1f KiB of RSS per idle connection after GC, want <= %.0f KiB", got, limitKiB)
	}
}

// ---- slow consumers ------------------------------------------------------------------------

// fastClient consumes bench.stream (64 B, unbounded demand) as fast as it
// can on its own connection and counts elements.
type fastClient struct {
	count atomic.Int64
	stop  atomic.Bool
	done  chan error
	c     *wsraw.Conn
}

func startFast(t *testing.T, u string) *fastClient {
	t.Helper()
	c, err := dialRSocket(context.Background(), u, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.RequestStream(1, protocol.MaxN, wsraw.Route("bench.stream"), []byte("64"))
	f := &fastClient{done: make(chan error, 1), c: c}
	go func() {
		defer c.Close()
		for !f.stop.Load() {
			fr, err := c.NextFrame()
			if err != nil {
				f.done <- err
				return
			}
			if fr.Type == protocol.TypePayload && fr.Flags.Has(protocol.FlagNext) {
				f.count.Add(1)
			}
		}
		f.done <- nil
	}()
	return f
}

func (f *fastClient) end() {
	f.stop.Store(true)
	f.c.NetConn().SetReadDeadline(time.Unix(1, 0))
	<-f.done
}

// rateOver measures the fast client's rate over d.
func (f *fastClient) rateOver(d time.Duration) float64 {
	c0, t0 := f.count.Load(), time.Now()
	time.Sleep(d)
	return float64(f.count.Load()-c0) / time.Since(t0).Seconds()
}

func median(v []int64) int64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// TestSlowConsumers: one fast client runs throughout on its own connection;
// it is measured alone, then beside the slow consumers, then alone again
// (solo = the mean of the two solo phases). The server's RSS is sampled once
// a second while the slow consumers run.
func TestSlowConsumers(t *testing.T) {
	slowN, size, run, settle, soloDur := 10, 1024, 4*time.Second, time.Second, time.Second
	if full() {
		slowN, run, settle, soloDur = 100, 30*time.Second, 5*time.Second, 5*time.Second
	}
	if _, err := benchpeer.RaiseNoFile(); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t)
	fast := startFast(t, srv.URL)
	defer fast.end()
	time.Sleep(500 * time.Millisecond)
	soloBefore := fast.rateOver(soloDur)

	// The slow consumers: unbounded demand, one element taken every 10 ms.
	var got atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	slow := make([]*wsraw.Conn, slowN)
	for i := range slow {
		c, err := dialRSocket(context.Background(), srv.URL, 4096)
		if err != nil {
			t.Fatal(err)
		}
		c.RequestStream(1, protocol.MaxN, wsraw.Route("bench.stream"), []byte(strconv.Itoa(size)))
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
		slow[i] = c
	}
	slowErr := make(chan error, slowN)
	for _, c := range slow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := uint64(0)
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for !stop.Load() {
				f, err := c.NextFrame()
				if err != nil {
					if !stop.Load() {
						slowErr <- err
					}
					return
				}
				if f.Type != protocol.TypePayload || !f.Flags.Has(protocol.FlagNext) {
					continue
				}
				if seq := binary.BigEndian.Uint64(f.Data); seq != next {
					slowErr <- fmt.Errorf("element %d, want %d", seq, next)
					return
				}
				next++
				got.Add(1)
				<-tick.C
			}
		}()
	}

	// RSS once a second; the fast client's rate after the settling time.
	type sample struct {
		at  time.Duration
		rss int64
	}
	var samples []sample
	began := time.Now()
	var c0 int64
	var t0 time.Time
	var retained0 int64
	for el := time.Duration(0); el < run; el = time.Since(began) {
		time.Sleep(time.Second - el%time.Second)
		el = time.Since(began)
		samples = append(samples, sample{el, rss(t, srv)})
		if t0.IsZero() && el >= settle {
			c0, t0 = fast.count.Load(), time.Now()
			retained0 = retained(t, srv)
		}
	}
	fastRate := float64(fast.count.Load()-c0) / time.Since(t0).Seconds()
	slowGot, slowSecs := got.Load(), time.Since(began).Seconds()
	retained1 := retained(t, srv)
	st := stats(t, srv)
	stop.Store(true)
	for _, c := range slow {
		c.NetConn().SetReadDeadline(time.Unix(1, 0))
	}
	wg.Wait()
	for _, c := range slow {
		c.Close()
	}
	select {
	case err := <-slowErr:
		t.Fatalf("slow consumer: %v", err)
	default:
	}
	time.Sleep(500 * time.Millisecond)
	soloAfter := fast.rateOver(soloDur)
	soloRate := (soloBefore + soloAfter) / 2

	// Flatness, three ways. Growth: the RSS after a forced garbage collection
	// at the end minus the same at the settling time (what the server
	// retains; the goal). Strict: the largest once-a-second sample after the
	// settling time minus the first. Trend: the median of the last five
	// samples minus the median of the first five. The last two include the
	// garbage collector's sawtooth.
	var after []int64
	var line []string
	for _, s := range samples {
		if s.at >= settle {
			after = append(after, s.rss)
		}
		line = append(line, fmt.Sprintf("%.0fs:%.1f", s.at.Seconds(), float64(s.rss)/(1<<20)))
	}
	k := min(5, len(after))
	strict := slices.Max(after) - after[0]
	trend := median(after[len(after)-k:]) - median(after[:k])
	t.Logf("%d slow consumers (%d B elements, one per 10 ms, unbounded demand) for %v: each took %.0f elements/s; the server holds %d connections, %d goroutines",
		slowN, size, run, float64(slowGot)/slowSecs/float64(slowN), st["connections_open"], st["goroutines"])
	t.Logf("server RSS (MiB) by second: %v", line)
	growth := retained1 - retained0
	t.Logf("server RSS after the first %v: growth %s (after a forced GC: %s at %v, %s at the end); samples: strict %s (largest minus first), trend %s (median of the last 5 minus median of the first 5), range %s..%s",
		settle, mib(growth), mib(retained0), settle, mib(retained1), mib(strict), mib(trend), mib(slices.Min(after)), mib(slices.Max(after)))
	t.Logf("fast client (64 B, unbounded, own connection): %.0f elements/s beside them; alone %.0f before and %.0f after: %.2f of solo",
		fastRate, soloBefore, soloAfter, fastRate/soloRate)

	if slowGot == 0 || fastRate == 0 {
		t.Fatal("no progress")
	}
	if raceEnabled {
		t.Logf("race detector on: bounds not checked")
		return
	}
	growthLimit, fastMin := int64(20<<20), 0.5
	if full() {
		growthLimit, fastMin = 5<<20, 0.8
	}
	if growth > growthLimit {
		t.Errorf("server RSS grew by %s after the first %v, want <= %s", mib(growth), settle, mib(growthLimit))
	}
	if strict > growthLimit {
		t.Logf("NOTE: the once-a-second samples swing by %s: the garbage collector's sawtooth (see the samples)", mib(strict))
	}
	if r := fastRate / soloRate; r < fastMin {
		t.Errorf("fast client kept %.2f of its solo rate, want >= %.2f", r, fastMin)
	}
}
