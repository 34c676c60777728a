package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/conformance"
	"github.com/sluicehq/sluice/protocol/metadata"
)

const benchUsage = `usage: sluice bench [--mode stream|rr|channel|fnf|ticks] [--size BYTES] [--n COUNT]
                    [--duration D] [--inflight K] [--prefetch P] [--conns C]
                    [--streams S] [--tcp] [URI]

Drives the conformance routes of a sluice server with the Go client and prints
one line of key=value pairs at the end (a progress line goes to stderr while it
runs, when stderr is a terminal). Without a URI it starts its own server
in-process on loopback (WebSocket; --tcp for RSocket over TCP).

  --mode stream    request-stream on the blob route ("N SIZE"): C×S streams
                   share --n elements; latency = time between consecutive
                   elements of a stream (the first: from the request)
  --mode rr        request-response on echo with K requests in flight per
                   connection; latency = request to response
  --mode channel   request-channel on channel.echo: C×S channels each send their
                   share of --n elements and read the echoes; latency = element
                   sent to its echo received (a timestamp rides in the first 8
                   bytes, so --size must be at least 8)
  --mode fnf       fire-and-forget on fnf from S senders per connection, then
                   fnf.count on each connection to confirm every one arrived;
                   latency = duration of the FireAndForget call (local queueing)
  --mode ticks     request-stream on ticks (elements "SEQ UNIXNANO", made only
                   when credit is there): latency = age of the data, receive
                   time minus the server's production time (same clock only on
                   one machine); --size is ignored

  --size BYTES     element size (default 64)
  --n COUNT        elements in all (default 100000, or unlimited with --duration);
                   100k, 1M and 1e6 work
  --duration D     stop after D (5s, 500ms, or seconds); with --n, whichever first
  --inflight K     rr: requests in flight per connection (default 64)
  --prefetch P     stream, channel, ticks: credit window per stream (default 256)
  --conns C        connections (default 1)
  --streams S      streams (channels, fnf senders) per connection (default 1)
  --tcp            with no URI: serve and dial RSocket over TCP instead of WebSocket

Result keys: mode size n secs msgs_per_s MBps p50_us p99_us p999_us max_us conns
streams inflight prefetch transport server (fnf adds received). n counts elements
received (rr: responses; channel: echoes; fnf: requests sent), MBps is data bytes
(size × n) per second in 10^6 bytes, latency keys are microseconds.
`

type benchOpts struct {
	mode                               string
	size, n                            int64
	duration                           time.Duration
	inflight, prefetch, conns, streams int64
	tcp, help                          bool
	uri                                string
	nSet                               bool
	sizeSet                            bool
}

func parseBenchArgs(args []string) (*benchOpts, error) {
	o := &benchOpts{mode: "stream", size: 64, inflight: 64, prefetch: 256, conns: 1, streams: 1}
	nOpt := intOpt(&o.n, 1, "--n")
	setN := nOpt.set
	nOpt.set = func(v string) error { o.nSet = true; return setN(v) }
	sizeOpt := intOpt(&o.size, 0, "--size")
	setSize := sizeOpt.set
	sizeOpt.set = func(v string) error { o.sizeSet = true; return setSize(v) }
	opts := []*opt{
		strOpt(&o.mode, "--mode"), sizeOpt, nOpt,
		durOpt(&o.duration, "--duration"),
		intOpt(&o.inflight, 1, "--inflight"), intOpt(&o.prefetch, 1, "--prefetch"),
		intOpt(&o.conns, 1, "--conns"), intOpt(&o.streams, 1, "--streams"),
		boolOpt(&o.tcp, "--tcp"), boolOpt(&o.help, "-h", "--help"),
	}
	pos, err := parseArgs(opts, args)
	if err != nil || o.help {
		return o, err
	}
	switch len(pos) {
	case 0:
	case 1:
		if _, err := checkURI(pos[0]); err != nil {
			return nil, err
		}
		o.uri = pos[0]
	default:
		return nil, usagef("at most one URI, got %s", strings.Join(pos, " "))
	}
	switch o.mode {
	case "stream", "rr", "channel", "fnf", "ticks":
	default:
		return nil, usagef("--mode %q: want stream, rr, channel, fnf or ticks", o.mode)
	}
	if !o.nSet {
		o.n = 100_000
		if o.duration > 0 {
			o.n = math.MaxInt64
		}
	}
	switch {
	case o.size > conformance.MaxBlob:
		return nil, usagef("--size at most %d", conformance.MaxBlob)
	case o.mode == "channel" && o.size < 8:
		return nil, usagef("--mode channel needs --size of at least 8 (a timestamp rides in the first 8 bytes)")
	case o.streams > 1024 || o.inflight > 1024:
		return nil, usagef("--streams and --inflight at most 1024 (the server's stream limit per connection)")
	case o.conns > 1024:
		return nil, usagef("--conns at most 1024")
	case o.uri != "" && o.tcp:
		return nil, usagef("--tcp is for the in-process server; give a tcp:// URI instead")
	}
	o.prefetch = min(o.prefetch, math.MaxInt32)
	return o, nil
}

func benchMain(args []string, stdout, stderr io.Writer) int {
	o, err := parseBenchArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "sluice bench: %s\n", oneLine(err.Error()))
		fmt.Fprintln(stderr, "usage: sluice bench [--mode stream|rr|channel|fnf|ticks] [--size B] [--n N] [--duration D] [--inflight K] [--prefetch P] [--conns C] [--streams S] [URI] (sluice bench -h)")
		return 2
	}
	if o.help {
		fmt.Fprint(stdout, benchUsage)
		return 0
	}
	ctx, stop := signalContext()
	defer stop()
	res, err := runBench(ctx, o, progressWriter(stderr))
	if err != nil {
		if errors.Is(context.Cause(ctx), errInterrupted) {
			fmt.Fprintln(stderr, "sluice bench: interrupted")
			return 130
		}
		fmt.Fprintf(stderr, "sluice bench: %s\n", oneLine(err.Error()))
		return 1
	}
	fmt.Fprintln(stdout, res.line())
	if res.mode == "fnf" && res.received != res.n {
		fmt.Fprintf(stderr, "sluice bench: the server counted %d of %d fire-and-forget requests\n", res.received, res.n)
		return 1
	}
	return 0
}

// progressWriter returns stderr when it is a terminal, else nil (no progress).
func progressWriter(w io.Writer) io.Writer {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return w
}

// benchResult is the final line.
type benchResult struct {
	o         *benchOpts
	mode      string
	n         int64
	bytes     int64
	secs      float64
	h         hist
	transport string
	server    string
	received  int64
}

func (r *benchResult) line() string {
	us := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e3, 'f', 1, 64) }
	size := r.o.size
	if r.mode == "ticks" && r.n > 0 {
		size = r.bytes / r.n
	}
	secs := max(r.secs, 1e-9)
	var b strings.Builder
	fmt.Fprintf(&b, "mode=%s size=%d n=%d secs=%.3f msgs_per_s=%.0f MBps=%.2f p50_us=%s p99_us=%s p999_us=%s max_us=%s",
		r.mode, size, r.n, r.secs, float64(r.n)/secs, float64(r.bytes)/secs/1e6,
		us(r.h.quantile(0.50)), us(r.h.quantile(0.99)), us(r.h.quantile(0.999)), us(time.Duration(r.h.max)))
	fmt.Fprintf(&b, " conns=%d streams=%d inflight=%d prefetch=%d transport=%s server=%s",
		r.o.conns, r.o.streams, r.o.inflight, r.o.prefetch, r.transport, r.server)
	if r.mode == "fnf" {
		fmt.Fprintf(&b, " received=%d", r.received)
	}
	return b.String()
}

// benchWorker is one stream, channel or request loop. The counters are read
// by the progress line; the histogram only after the worker ends.
type benchWorker struct {
	count atomic.Int64
	bytes atomic.Int64
	_     [48]byte // keep workers' hot counters on separate cache lines
	h     hist
}

// inprocServer is `sluice serve`'s app on a loopback listener.
type inprocServer struct {
	app *app
	hs  *http.Server
	ln  net.Listener
	tl  net.Listener
	wg  sync.WaitGroup
	uri string
}

func startInproc(useTCP bool) (*inprocServer, error) {
	s := &inprocServer{app: newApp(nil, discardLogger())}
	var err error
	if s.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	s.hs = &http.Server{Handler: s.app.mux, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Go(func() { s.hs.Serve(s.ln) })
	s.uri = "ws://" + s.ln.Addr().String() + "/rsocket"
	if useTCP {
		if s.tl, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			s.close()
			return nil, err
		}
		s.wg.Go(func() { s.app.srv.ServeTCP(s.tl) })
		s.uri = "tcp://" + s.tl.Addr().String()
	}
	return s, nil
}

func (s *inprocServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.app.close()
	s.hs.Shutdown(ctx)
	s.app.srv.Shutdown(ctx)
	if s.tl != nil {
		s.tl.Close()
	}
	s.wg.Wait()
}

func runBench(ctx context.Context, o *benchOpts, progress io.Writer) (*benchResult, error) {
	res := &benchResult{o: o, mode: o.mode, server: "remote"}
	uri := o.uri
	if uri == "" {
		srv, err := startInproc(o.tcp)
		if err != nil {
			return nil, fmt.Errorf("starting the in-process server: %v", err)
		}
		defer srv.close()
		uri, res.server = srv.uri, "inproc"
	}
	u, err := checkURI(uri)
	if err != nil {
		return nil, err
	}
	res.transport = strings.ToLower(u.Scheme)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	conns := make([]*client.Client, 0, o.conns)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range o.conns {
		t, err := dialTransport(ctx, u, nil)
		if err != nil {
			return nil, err
		}
		c, err := client.New(t, client.WithName("sluice-bench"), client.WithLogger(discardLogger()))
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("cannot connect to %s: %s", u.Redacted(), describeNetErr(ctx, err))
		}
		conns = append(conns, c)
	}

	b := &bench{o: o, ctx: ctx, fail: cancel}
	perConn := o.streams
	if o.mode == "rr" {
		perConn = o.inflight
	}
	nw := int(o.conns * perConn)
	workers := make([]*benchWorker, nw)
	for i := range workers {
		workers[i] = &benchWorker{}
	}
	b.left.Store(o.n)
	b.start = time.Now()
	if o.duration > 0 {
		b.deadline = b.start.Add(o.duration)
	}

	stopProgress := startProgress(progress, o.mode, b.start, workers)
	var wg sync.WaitGroup
	for i, w := range workers {
		c := conns[i/int(perConn)]
		share := o.n/int64(nw) + boolInt(int64(i) < o.n%int64(nw))
		if o.n == math.MaxInt64 {
			share = math.MaxInt64
		}
		wg.Go(func() {
			var err error
			switch o.mode {
			case "stream":
				err = b.stream(c, w, share)
			case "ticks":
				err = b.ticks(c, w, share)
			case "rr":
				err = b.rr(c, w)
			case "channel":
				err = b.channel(c, w, share)
			case "fnf":
				err = b.fnf(c, w)
			}
			if err != nil {
				b.fail(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		stopProgress()
		return nil, err
	}
	if o.mode == "fnf" {
		for _, c := range conns {
			resp, err := c.RequestResponse(ctx, sluice.Payload{Metadata: metadata.AppendCompositeRoute(nil, "fnf.count")})
			if err != nil {
				stopProgress()
				return nil, fmt.Errorf("fnf.count: %v", err)
			}
			k, err := strconv.ParseInt(string(resp.Data), 10, 64)
			if err != nil {
				stopProgress()
				return nil, fmt.Errorf("fnf.count answered %q", resp.Data)
			}
			res.received += k
		}
	}
	res.secs = time.Since(b.start).Seconds()
	stopProgress()
	for _, w := range workers {
		res.n += w.count.Load()
		res.bytes += w.bytes.Load()
		res.h.merge(&w.h)
	}
	return res, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// startProgress prints a progress line every half second while the bench runs.
func startProgress(w io.Writer, mode string, start time.Time, workers []*benchWorker) (stop func()) {
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		var last int64
		lastT := start
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case now := <-t.C:
				var n int64
				for _, wk := range workers {
					n += wk.count.Load()
				}
				rate := float64(n-last) / now.Sub(lastT).Seconds()
				last, lastT = n, now
				fmt.Fprintf(w, "\r\033[Ksluice bench %s: %d msgs, %.0f msgs/s, %.1f s", mode, n, rate, now.Sub(start).Seconds())
			}
		}
	})
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// bench holds what the workers share.
type bench struct {
	o        *benchOpts
	ctx      context.Context
	fail     context.CancelCauseFunc
	start    time.Time
	deadline time.Time
	left     atomic.Int64 // rr and fnf: requests still to make
}

// take claims one request of the --n budget.
func (b *bench) take() bool { return b.left.Add(-1) >= 0 }

func (b *bench) over(now time.Time) bool { return !b.deadline.IsZero() && now.After(b.deadline) }

var (
	mdBlob    = metadata.AppendCompositeRoute(nil, "blob")
	mdTicks   = metadata.AppendCompositeRoute(nil, "ticks")
	mdEcho    = metadata.AppendCompositeRoute(nil, "echo")
	mdChannel = metadata.AppendCompositeRoute(nil, "channel.echo")
	mdFNF     = metadata.AppendCompositeRoute(nil, "fnf")
)

// stream reads share elements of the blob route and checks their sequence numbers.
func (b *bench) stream(c *client.Client, w *benchWorker, share int64) error {
	if share == 0 {
		return nil
	}
	n := min(share, math.MaxInt64/2)
	req := sluice.Payload{Data: fmt.Appendf(nil, "%d %d", n, b.o.size), Metadata: mdBlob}
	s, err := c.RequestStream(b.ctx, req, client.Prefetch(b.o.prefetch))
	if err != nil {
		return err
	}
	defer s.Cancel()
	last := time.Now()
	var seq uint64
	for {
		p, err := s.Recv(b.ctx)
		if err == io.EOF {
			if int64(seq) != n {
				return fmt.Errorf("blob stream completed after %d of %d elements", seq, n)
			}
			return nil
		}
		if err != nil {
			return err
		}
		now := time.Now()
		if int64(len(p.Data)) != b.o.size {
			return fmt.Errorf("blob element of %d bytes, want %d", len(p.Data), b.o.size)
		}
		if len(p.Data) >= 8 && binary.BigEndian.Uint64(p.Data) != seq {
			return fmt.Errorf("blob element %d arrived as number %d", binary.BigEndian.Uint64(p.Data), seq)
		}
		seq++
		w.h.record(now.Sub(last))
		last = now
		w.count.Add(1)
		w.bytes.Add(int64(len(p.Data)))
		if b.over(now) {
			return nil
		}
	}
}

// ticks reads share elements of the ticks route and records their age.
func (b *bench) ticks(c *client.Client, w *benchWorker, share int64) error {
	if share == 0 {
		return nil
	}
	s, err := c.RequestStream(b.ctx, sluice.Payload{Metadata: mdTicks}, client.Prefetch(b.o.prefetch))
	if err != nil {
		return err
	}
	defer s.Cancel()
	for got := int64(0); got < share; got++ {
		p, err := s.Recv(b.ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		sp := -1
		for i, ch := range p.Data {
			if ch == ' ' {
				sp = i
				break
			}
		}
		var stamp int64
		if sp < 0 {
			return fmt.Errorf("ticks element %q: want \"SEQ UNIXNANO\"", p.Data)
		}
		for _, ch := range p.Data[sp+1:] {
			if ch < '0' || ch > '9' {
				return fmt.Errorf("ticks element %q: want \"SEQ UNIXNANO\"", p.Data)
			}
			stamp = stamp*10 + int64(ch-'0')
		}
		w.h.record(time.Duration(now.UnixNano() - stamp))
		w.count.Add(1)
		w.bytes.Add(int64(len(p.Data)))
		if b.over(now) {
			return nil
		}
	}
	return nil
}

// rr makes echo requests one after the other until the budget or the time is up.
func (b *bench) rr(c *client.Client, w *benchWorker) error {
	req := sluice.Payload{Data: make([]byte, b.o.size), Metadata: mdEcho}
	for b.take() {
		t0 := time.Now()
		resp, err := c.RequestResponse(b.ctx, req)
		if err != nil {
			return err
		}
		now := time.Now()
		if int64(len(resp.Data)) != b.o.size {
			return fmt.Errorf("echo answered %d bytes, want %d", len(resp.Data), b.o.size)
		}
		w.h.record(now.Sub(t0))
		w.count.Add(1)
		w.bytes.Add(int64(len(resp.Data)))
		if b.over(now) {
			return nil
		}
	}
	return nil
}

// channel sends share elements on one channel.echo channel and reads the
// echoes; each element carries its send time (ns since the start).
func (b *bench) channel(c *client.Client, w *benchWorker, share int64) error {
	if share == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	buf := make([]byte, b.o.size)
	stamp := func() { binary.BigEndian.PutUint64(buf, uint64(time.Since(b.start))) }
	stamp()
	ch, err := c.RequestChannel(ctx, sluice.Payload{Data: buf, Metadata: mdChannel}, client.Prefetch(b.o.prefetch))
	if err != nil {
		return err
	}
	defer ch.Cancel()
	var sent atomic.Int64
	sent.Store(1)
	var sendErr error
	senderDone := make(chan struct{})
	defer func() {
		cancel()
		<-senderDone
	}()
	go func() {
		defer close(senderDone)
		for i := int64(1); i < share && !b.over(time.Now()); i++ {
			stamp()
			if err := ch.Send(ctx, sluice.Payload{Data: buf}); err != nil {
				sendErr = err
				return
			}
			sent.Add(1)
		}
		sendErr = ch.CloseSend()
	}()
	var got int64
	for {
		p, err := ch.Recv(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		now := time.Since(b.start)
		if int64(len(p.Data)) != b.o.size {
			return fmt.Errorf("channel.echo answered %d bytes, want %d", len(p.Data), b.o.size)
		}
		w.h.record(now - time.Duration(binary.BigEndian.Uint64(p.Data)))
		w.count.Add(1)
		w.bytes.Add(int64(len(p.Data)))
		got++
	}
	<-senderDone
	if sendErr != nil {
		return sendErr
	}
	if got != sent.Load() {
		return fmt.Errorf("channel.echo echoed %d of %d elements", got, sent.Load())
	}
	return nil
}

// fnfQueueHigh and fnfQueueLow bound the bytes fire-and-forget senders may
// have queued on a connection: FireAndForget queues without waiting for the
// socket, so the bench waits for the writer between the two marks.
const (
	fnfQueueHigh = 4 << 20
	fnfQueueLow  = 1 << 20
)

// fnf sends fire-and-forget requests until the budget or the time is up.
func (b *bench) fnf(c *client.Client, w *benchWorker) error {
	req := sluice.Payload{Data: make([]byte, b.o.size), Metadata: mdFNF}
	for i := 0; b.take(); i++ {
		if i%256 == 255 && c.Stats().QueuedBytes > fnfQueueHigh {
			for c.Stats().QueuedBytes > fnfQueueLow {
				if err := b.ctx.Err(); err != nil {
					return err
				}
				time.Sleep(50 * time.Microsecond)
			}
		}
		t0 := time.Now()
		if err := c.FireAndForget(b.ctx, req); err != nil {
			return err
		}
		now := time.Now()
		w.h.record(now.Sub(t0))
		w.count.Add(1)
		w.bytes.Add(int64(len(req.Data)))
		if b.over(now) {
			return nil
		}
	}
	return nil
}
