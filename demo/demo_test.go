package demo

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/conformance"
	"github.com/sluicehq/sluice/router"
	"github.com/sluicehq/sluice/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a server with the demo wired the way cmd/sluice wires it.
type env struct {
	d   *Demo
	srv *server.Server
	hs  *httptest.Server
	ws  string // ws://host:port
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	d := New(opts)
	r := router.New()
	conformance.Register(r)
	d.Register(r)
	srv := server.New(server.Options{Router: r, FrameHook: d.FrameHook, WrapConn: d.WrapConn})
	d.SetServer(srv)
	mux := http.NewServeMux()
	mux.Handle("/rsocket", srv)
	mux.Handle("/raw", d.RawHandler())
	mux.Handle("/{$}", d.PageHandler())
	mux.Handle("/demo/", d.AssetHandler())
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		d.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	return &env{d: d, srv: srv, hs: hs, ws: "ws" + strings.TrimPrefix(hs.URL, "http")}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func rawConnNamed(d *Demo, name string) *rawConn {
	for _, c := range d.rawConns() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// TestRawQueueCap: a reader that stops reading lets the raw feed's producer
// run ahead only until the app-side queue reaches its cap; then production
// stops, and what was produced equals what was written plus what is queued.
func TestRawQueueCap(t *testing.T) {
	const capBytes = 64 << 10
	e := newEnv(t, Options{RawQueueCap: capBytes})
	ws, _, err := websocket.DefaultDialer.Dial(e.ws+"/raw?size=1000&name=stalled", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var c *rawConn
	waitFor(t, "the raw connection", func() bool { c = rawConnNamed(e.d, "stalled"); return c != nil })
	// The queue fills, and once the kernel's buffers are full too the
	// producer stops: it is blocked on the cap.
	waitFor(t, "the producer to stop at the cap", func() bool {
		p1 := c.produced.Load()
		time.Sleep(100 * time.Millisecond)
		return c.produced.Load() == p1 && c.queuedBytes() > capBytes-1000
	})
	if q := c.queuedBytes(); q > capBytes {
		t.Fatalf("queued %d bytes, cap %d", q, capBytes)
	}
	// The writer may hold one message it took from the queue, blocked in WriteMessage.
	if got, want := c.produced.Load(), c.written.Load()+int64(c.queuedMsgs()); got != want && got != want+1 {
		t.Fatalf("produced %d != written %d + queued %d (+1 in the writer)", got, c.written.Load(), c.queuedMsgs())
	}
	// The snapshot shows the same counters.
	var sc *Conn
	for _, x := range e.d.Snapshot().Conns {
		if x.Name == "stalled" {
			sc = &x
		}
	}
	if sc == nil || sc.Kind != "raw" || sc.Queued > capBytes || sc.Produced != c.produced.Load() || sc.Size != 1000 {
		t.Fatalf("snapshot of the raw connection: %+v", sc)
	}
	// Elements are in order with a timestamp that is not in the future.
	for i := range 50 {
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 1000 || binary.BigEndian.Uint64(b) != uint64(i) {
			t.Fatalf("element %d: %d bytes, seq %d", i, len(b), binary.BigEndian.Uint64(b))
		}
		if ts := time.Unix(0, int64(binary.BigEndian.Uint64(b[8:]))); time.Since(ts) < 0 || time.Since(ts) > time.Minute {
			t.Fatalf("element %d: timestamp %v", i, ts)
		}
	}
}

// TestRawTwoStreams: with streams=2 the elements of two feeds alternate on
// one socket, byte 16 naming the feed, each feed with its own sequence.
func TestRawTwoStreams(t *testing.T) {
	e := newEnv(t, Options{RawQueueCap: 32 << 10})
	ws, _, err := websocket.DefaultDialer.Dial(e.ws+"/raw?size=16&streams=2", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var seq [2]uint64
	for i := range 20 {
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		s := int(b[16])
		if len(b) != 17 || s != i%2 || binary.BigEndian.Uint64(b) != seq[s] {
			t.Fatalf("message %d: len %d stream %d seq %d", i, len(b), s, binary.BigEndian.Uint64(b))
		}
		seq[s]++
	}
}

func TestRawConnLimit(t *testing.T) {
	e := newEnv(t, Options{RawQueueCap: 16 << 10, MaxRawConns: 1})
	ws, _, err := websocket.DefaultDialer.Dial(e.ws+"/raw?size=16", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_, resp, err := websocket.DefaultDialer.Dial(e.ws+"/raw?size=16", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second raw connection: err %v, response %v", err, resp)
	}
}

// TestLimiterRate: in a bubble with a fake clock, a reader that drains as
// fast as it can gets rate × elapsed bytes, plus at most one burst.
func TestLimiterRate(t *testing.T) {
	for _, rate := range []int{8 << 10, 100 << 10, 3 << 20} {
		synctest.Test(t, func(t *testing.T) {
			a, b := net.Pipe()
			lc := LimitConn(a, rate)
			var got int64
			var mu sync.Mutex
			done := make(chan struct{})
			go func() {
				defer close(done)
				buf := make([]byte, 64<<10)
				for {
					n, err := b.Read(buf)
					mu.Lock()
					got += int64(n)
					mu.Unlock()
					if err != nil {
						return
					}
				}
			}()
			go func() {
				chunk := make([]byte, 100_000)
				for {
					if _, err := lc.Write(chunk); err != nil {
						return
					}
				}
			}()
			start := time.Now()
			time.Sleep(10 * time.Second)
			synctest.Wait()
			mu.Lock()
			n := got
			mu.Unlock()
			elapsed := time.Since(start).Seconds()
			want := float64(rate) * elapsed
			burst := float64(min(max(rate/20, minBurst), maxBurst))
			if float64(n) < want-burst || float64(n) > want+2*burst {
				t.Errorf("rate %d: %d bytes in %.1f s, want %.0f ± %.0f", rate, n, elapsed, want, burst)
			}
			lc.Close()
			b.Close()
			<-done
		})
	}
}

// TestLimiterDeadlineAndClose: a write that cannot finish before the write
// deadline returns what it wrote with a timeout; Close wakes a waiting write.
func TestLimiterDeadlineAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		go io.Copy(io.Discard, b)
		lc := LimitConn(a, 10_000) // 500-byte bursts
		lc.SetWriteDeadline(time.Now().Add(time.Second))
		start := time.Now()
		n, err := lc.Write(make([]byte, 50_000))
		if !os.IsTimeout(err) {
			t.Fatalf("err %v, want a timeout", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("returned after %v, want 1s", d)
		}
		if n < 9_000 || n > 11_000 {
			t.Fatalf("wrote %d bytes in 1 s at 10 kB/s", n)
		}
		lc.SetWriteDeadline(time.Time{})
		errc := make(chan error, 1)
		go func() { _, err := lc.Write(make([]byte, 50_000)); errc <- err }()
		time.Sleep(time.Second)
		lc.Close()
		if err := <-errc; err == nil {
			t.Fatal("write after Close succeeded")
		}
		b.Close()
	})
}

func TestParseBandwidth(t *testing.T) {
	for q, want := range map[string]int{"": 0, "bw=0": 0, "bw=-5": 0, "bw=x": 0, "bw=1": MinBandwidth,
		"bw=65536": 65536, "bw=99999999999": MaxBandwidth} {
		r := httptest.NewRequest("GET", "/rsocket?"+q, nil)
		if got := ParseBandwidth(r); got != want {
			t.Errorf("%q: %d, want %d", q, got, want)
		}
	}
}

func dialRS(t *testing.T, e *env, query string, opts ...client.Option) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, e.ws+"/rsocket"+query, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func connNamed(s Snapshot, name string) *Conn {
	for i := range s.Conns {
		if s.Conns[i].Name == name {
			return &s.Conns[i]
		}
	}
	return nil
}

// TestFeedProducesOnlyOnCredit: demo.feed makes exactly the elements the
// requester asked for, and the snapshot (the page's source) shows it.
func TestFeedProducesOnlyOnCredit(t *testing.T) {
	e := newEnv(t, Options{})
	c := dialRS(t, e, "", client.WithName("go-manual"))
	ctx := t.Context()
	s, err := c.RequestStream(ctx, sluice.Text("100"), client.Route("demo.feed"), client.Manual())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Cancel()
	s.Request(5)
	for i := range 5 {
		p, err := s.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Data) != 100 || binary.BigEndian.Uint64(p.Data) != uint64(i) {
			t.Fatalf("element %d: %d bytes, seq %d", i, len(p.Data), binary.BigEndian.Uint64(p.Data))
		}
	}
	time.Sleep(100 * time.Millisecond)
	sc := connNamed(e.d.Snapshot(), "go-manual")
	if sc == nil || sc.Kind != "rsocket" || len(sc.Streams) != 1 {
		t.Fatalf("snapshot: %+v", sc)
	}
	st := sc.Streams[0]
	if st.Route != "demo.feed" || st.Produced != 5 || st.Credit != 0 || st.Granted != 5 {
		t.Fatalf("stream: %+v, want 5 produced, 5 granted, 0 outstanding", st)
	}
}

// TestStatsJSONShape reads demo.stats as the page does and checks the
// fields it draws from, for an RSocket connection (named in SETUP), one
// named by ?name=, a bandwidth-limited one, and a raw one.
func TestStatsJSONShape(t *testing.T) {
	e := newEnv(t, Options{})
	feed := dialRS(t, e, "?bw=65536", client.WithName("go-feed"))
	ctx := t.Context()
	s, err := feed.RequestStream(ctx, sluice.Text("64"), client.Route("demo.feed"), client.Prefetch(8))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Cancel()
	if _, err := s.Recv(ctx); err != nil {
		t.Fatal(err)
	}
	dialRS(t, e, "?name=by-query")
	ws, _, err := websocket.DefaultDialer.Dial(e.ws+"/raw?size=64&name=raw-one", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()

	ctl := dialRS(t, e, "", client.WithName("ctl"))
	st, err := ctl.RequestStream(ctx, sluice.Payload{}, client.Route("demo.stats"), client.Prefetch(2))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Cancel()
	var last map[string]any
	waitFor(t, "a snapshot with the raw connection", func() bool {
		p, err := st.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last = nil
		if err := json.Unmarshal(p.Data, &last); err != nil {
			t.Fatal(err)
		}
		return strings.Contains(string(p.Data), `"raw-one"`)
	})
	for _, k := range []string{"t", "rss", "heap", "goroutines", "rawCap", "conns"} {
		if _, ok := last[k]; !ok {
			t.Errorf("snapshot has no %q", k)
		}
	}
	if rss, _ := last["rss"].(float64); rss < 1<<20 {
		t.Errorf("rss %v", last["rss"])
	}
	byName := map[string]map[string]any{}
	for _, c := range last["conns"].([]any) {
		m := c.(map[string]any)
		byName[m["name"].(string)] = m
		for _, k := range []string{"id", "kind", "remote", "since", "bw", "queued", "produced", "sent", "streams"} {
			if _, ok := m[k]; !ok {
				t.Errorf("conn %v has no %q", m["name"], k)
			}
		}
	}
	gf := byName["go-feed"]
	if gf == nil || gf["kind"] != "rsocket" || gf["bw"].(float64) != 65536 {
		t.Fatalf("go-feed: %v", gf)
	}
	streams := gf["streams"].([]any)
	if len(streams) != 1 {
		t.Fatalf("go-feed streams: %v", streams)
	}
	fs := streams[0].(map[string]any)
	for _, k := range []string{"id", "route", "credit", "granted", "produced", "sent", "queued", "starvedMs"} {
		if _, ok := fs[k]; !ok {
			t.Errorf("stream has no %q", k)
		}
	}
	if fs["route"] != "demo.feed" || fs["produced"].(float64) > 8 {
		t.Errorf("go-feed stream: %v (produced must stay within the window of 8)", fs)
	}
	if byName["by-query"] == nil || byName["by-query"]["kind"] != "rsocket" {
		t.Errorf("connection named by ?name= missing: %v", byName["by-query"])
	}
	if r := byName["raw-one"]; r == nil || r["kind"] != "raw" || r["size"].(float64) != 64 {
		t.Errorf("raw connection: %v", r)
	}
	if ctlc := byName["ctl"]; ctlc == nil || ctlc["streams"].([]any)[0].(map[string]any)["route"] != "demo.stats" {
		t.Errorf("ctl connection: %v", ctlc)
	}
}

// TestFramesLog: demo.frames shows another connection's REQUEST_N as the
// server sees it, and refuses to log its own connection.
func TestFramesLog(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := t.Context()
	ctl := dialRS(t, e, "", client.WithName("ctl"))
	self, err := ctl.RequestStream(ctx, sluice.Text("ctl"), client.Route("demo.frames"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := self.Recv(ctx); err == nil || !strings.Contains(err.Error(), "cannot log") {
		t.Fatalf("logging its own connection: %v", err)
	}
	log, err := ctl.RequestStream(ctx, sluice.Text("watched"), client.Route("demo.frames"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Cancel()
	waitFor(t, "the log to open", func() bool { return e.d.frames.n.Load() == 1 })
	w := dialRS(t, e, "", client.WithName("watched"))
	s, err := w.RequestStream(ctx, sluice.Text("16"), client.Route("demo.feed"), client.Manual())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Cancel()
	s.Request(3)
	for range 3 {
		if _, err := s.Recv(ctx); err != nil {
			t.Fatal(err)
		}
	}
	s.Request(7)
	var text strings.Builder
	waitFor(t, "REQUEST_N n=7 in the log", func() bool {
		p, err := log.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		text.Write(p.Data)
		return strings.Contains(text.String(), "REQUEST_N") && strings.Contains(text.String(), "n=7")
	})
	out := text.String()
	for _, want := range []string{"C→S REQUEST_STREAM", "n=3", "S→C PAYLOAD"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestFormatFramesFoldsAndCaps(t *testing.T) {
	at := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	var evs []frameEvent
	for range 3 {
		evs = append(evs, frameEvent{at: at, stream: 1, typ: 0x0A, size: 100})
	}
	evs = append(evs, frameEvent{at: at, in: true, stream: 1, typ: 0x08, n: 3})
	out := string(formatFrames(evs, 2))
	want := "12:00:00.000 S→C PAYLOAD ×3       stream 1   300 B\n" +
		"12:00:00.000 C→S REQUEST_N        stream 1   n=3\n" +
		"… 2 more frames not shown\n"
	if out != want {
		t.Fatalf("got\n%q\nwant\n%q", out, want)
	}
	many := make([]frameEvent, maxBatchLines+10)
	for i := range many {
		many[i] = frameEvent{at: at, stream: uint32(i), typ: 0x0A, size: 1}
	}
	if out := string(formatFrames(many, 0)); !strings.HasSuffix(out, "… 10 more frames not shown\n") {
		t.Fatalf("cap: %q", out[len(out)-80:])
	}
}

func TestPageAndAssets(t *testing.T) {
	e := newEnv(t, Options{})
	for path, ctype := range map[string]string{"/": "text/html", "/demo/app.js": "javascript", "/demo/style.css": "text/css"} {
		resp, err := http.Get(e.hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), ctype) || len(b) == 0 {
			t.Errorf("%s: %d %q %d bytes", path, resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
		}
	}
}
