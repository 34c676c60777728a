// Package rsgoserver tests sluice's client against an rsocket-go (v0.8.16)
// server on loopback, over WebSocket (and TCP for one case). The rsocket-go
// handlers record what reached them (the demand their fluxes received, the
// elements they produced, how they ended) and a frame tap on the sluice
// client records what crossed the wire.
package rsgoserver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rsocket/rsocket-go/logger"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/interop/internal/rsgo"
	"github.com/sluicehq/sluice/interop/internal/tap"
	"github.com/sluicehq/sluice/protocol"
)

func TestMain(m *testing.M) {
	logger.SetLevel(logger.LevelError) // rsocket-go warns about every late frame
	goleak.VerifyTestMain(m, rsgo.LeakOptions()...)
}

const wait = 5 * time.Second

type fixture struct {
	t    *testing.T
	peer *peer
	cli  *client.Client
	tap  *tap.Tap
	ctx  context.Context

	skipCreditCheck bool
}

func start(t *testing.T, tcp bool, mtu int, opts ...client.Option) *fixture {
	t.Helper()
	p := startPeer(t, tcp, mtu)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	tp := tap.New(false)
	url := p.URL
	if tcp {
		url = "tcp://" + p.Addr
	}
	c, err := client.Dial(ctx, url, append([]client.Option{client.WithFrameHook(tp.Hook()), client.WithDataMIME("text/plain")}, opts...)...)
	if err != nil {
		t.Fatalf("dial rsocket-go: %v", err)
	}
	f := &fixture{t: t, peer: p, tap: tp, ctx: ctx}
	t.Cleanup(func() {
		if v := tp.Violations(); len(v) > 0 && !f.skipCreditCheck {
			t.Errorf("credit violations on the wire:\n%s\nframes:\n%s", strings.Join(v, "\n"), tp.Dump())
		}
	})
	t.Cleanup(func() { c.Close() })
	f.cli = c
	return f
}

// request waits for the n-th (from 0) request frame of type typ the client sent.
func (f *fixture) request(typ protocol.FrameType, nth int) tap.Event {
	f.t.Helper()
	seen := 0
	e, ok := f.tap.WaitFor(0, wait, func(e tap.Event) bool {
		if !e.In && e.Type == typ {
			seen++
			return seen > nth
		}
		return false
	})
	if !ok {
		f.t.Fatalf("no %v #%d left the client; frames:\n%s", typ, nth, f.tap.Dump())
	}
	return e
}

func (f *fixture) ledger(id uint32) tap.Ledger {
	f.t.Helper()
	l, ok := f.tap.Ledger(0, id)
	if !ok {
		f.t.Fatalf("no ledger for stream %d", id)
	}
	return l
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func countData(from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(from + i)
	}
	return out
}

func recvN(t *testing.T, ctx context.Context, s sluice.Stream, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var out []string
	for range n {
		p, err := s.Recv(ctx)
		if err != nil {
			t.Fatalf("after %d elements: %v", len(out), err)
		}
		out = append(out, string(p.Data))
	}
	return out
}

// drain receives until the stream completes, appending to got. rsocket-go's
// flux.Create sink can lose a wakeup (see TestDemandReachesProducer): a
// granted element stays in it until the next Request or Next. So when nothing
// comes for 500 ms, drain pokes the stream with one more credit; it returns
// how many times it had to.
func drain(t *testing.T, ctx context.Context, s sluice.Stream, got []string) ([]string, int) {
	t.Helper()
	pokes := 0
	for {
		c, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		p, err := s.Recv(c)
		cancel()
		switch {
		case err == nil:
			got = append(got, string(p.Data))
		case err == io.EOF:
			return got, pokes
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			pokes++
			s.Request(1)
		default:
			t.Fatalf("after %d elements: %v", len(got), err)
		}
	}
}

func sum(xs []int) int64 {
	var s int64
	for _, x := range xs {
		s = min(s+int64(x), 1<<31-1)
	}
	return s
}

// wireGrants is what the client granted on a stream, as ints.
func wireGrants(l tap.Ledger) []int {
	var out []int
	for _, g := range l.Grants {
		out = append(out, int(g.N))
	}
	return out
}

func TestRequestResponse(t *testing.T) {
	f := start(t, false, 0)
	// 100 000 bytes: sluice fragments the request at its 64 KiB MTU and
	// rsocket-go reassembles it; the response comes back in one frame.
	for _, data := range []string{"hello", "", strings.Repeat("y", 100_000)} {
		p, err := f.cli.RequestResponse(f.ctx, sluice.Text(data), client.Route("echo"))
		if err != nil {
			t.Fatalf("echo %d bytes: %v", len(data), err)
		}
		if string(p.Data) != data {
			t.Fatalf("echo %d bytes: got %d bytes", len(data), len(p.Data))
		}
	}
}

// TestRequestResponseFragmentedByRsocketGo records how rsocket-go fragments a
// request-response answer: it ORs the frame's N|C into the FIRST fragment
// (flags F|C|N) and sends the last fragment with N only. The digest (section
// 13, corner case 11), following rsocket-java, says that a PAYLOAD with F and C
// is a last fragment (F ignored), so sluice takes the first fragment as the
// whole, complete response and drops the rest as frames of a closed stream.
// rsocket-go's own joiner looks at F alone. Fragmented streams (N only, C in a
// frame of its own) are fine: see TestRequestStreamFragmented.
func TestRequestResponseFragmentedByRsocketGo(t *testing.T) {
	f := start(t, false, 4096)
	f.skipCreditCheck = true // the tap follows the same rule and counts the tail fragments as extra elements
	data := strings.Repeat("z", 10_000)
	p, err := f.cli.RequestResponse(f.ctx, sluice.Text(data), client.Route("echo"))
	if err != nil {
		t.Fatalf("echo: %v", err)
	}
	req := f.request(protocol.TypeRequestResponse, 0)
	first, ok := f.tap.WaitFor(0, wait, func(e tap.Event) bool { return e.In && e.StreamID == req.StreamID })
	if !ok {
		t.Fatal("no response frame")
	}
	const fcn = protocol.FlagFollows | protocol.FlagComplete | protocol.FlagNext
	if first.Flags&fcn != fcn {
		t.Logf("rsocket-go's first response fragment has flags %03x (no longer F|C|N)", uint16(first.Flags))
	}
	t.Logf("rsocket-go's first response fragment: flags %03x, %d bytes; sluice delivered %d of %d bytes",
		uint16(first.Flags), first.Len, len(p.Data), len(data))
	if len(p.Data) == 0 || !strings.HasPrefix(data, string(p.Data)) {
		t.Fatalf("response is not a prefix of the request")
	}
	// The connection is still fine.
	if p, err := f.cli.RequestResponse(f.ctx, sluice.Text("ok"), client.Route("echo")); err != nil || string(p.Data) != "ok" {
		t.Fatalf("echo after: %v", err)
	}
}

func TestFireAndForget(t *testing.T) {
	f := start(t, false, 0)
	for i := range 5 {
		if err := f.cli.FireAndForget(f.ctx, sluice.Text(strconv.Itoa(i)), client.Route("fnf")); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, wait, "rsocket-go to count 5 fnf", func() bool {
		p, err := f.cli.RequestResponse(f.ctx, sluice.Payload{}, client.Route("fnf.count"))
		if err != nil {
			t.Fatalf("fnf.count: %v", err)
		}
		return string(p.Data) == "5"
	})
}

func TestMetadataPush(t *testing.T) {
	f := start(t, false, 0)
	if err := f.cli.MetadataPush(f.ctx, []byte("pushed")); err != nil {
		t.Fatal(err)
	}
	select {
	case md := <-f.peer.pushes:
		if md != "pushed" {
			t.Fatalf("rsocket-go got metadata %q", md)
		}
	case <-time.After(wait):
		t.Fatal("rsocket-go never saw the METADATA_PUSH")
	}
}

func TestRequestStream(t *testing.T) {
	f := start(t, false, 0)
	s, err := f.cli.RequestStream(f.ctx, sluice.Text("100"), client.Route("count"))
	if err != nil {
		t.Fatal(err)
	}
	got, pokes := drain(t, f.ctx, s, nil)
	if fmt.Sprint(got) != fmt.Sprint(countData(0, 100)) {
		t.Fatalf("count 100: %v", got)
	}
	if pokes > 0 {
		t.Logf("rsocket-go stalled %d times (lost wakeup in its sink); a REQUEST_N(1) restarted it", pokes)
	}
	p := f.peer.Probe(t)
	req := f.request(protocol.TypeRequestStream, 0)
	l := f.ledger(req.StreamID)
	// The default policy is a prefetch window of 64: what the handler was asked
	// for is what the client granted on the wire (a top-up may cross after
	// rsocket-go completed; it drops that one).
	if w := wireGrants(l); req.N != 64 || len(p.Requests()) > len(w) || fmt.Sprint(p.Requests()) != fmt.Sprint(w[:len(p.Requests())]) {
		t.Errorf("initial N %d; rsocket-go saw demand %v, the wire carried %v", req.N, p.Requests(), wireGrants(l))
	}
	if l.RespSent != 100 || l.Terminal != "complete" {
		t.Errorf("ledger: %+v", l)
	}
}

func TestRequestStreamFragmented(t *testing.T) {
	// rsocket-go fragments 20 000-byte elements at 1 KiB; sluice reassembles.
	f := start(t, false, 1024)
	const n, size = 5, 20_000
	s, err := f.cli.RequestStream(f.ctx, sluice.Text(fmt.Sprintf("%d %d", n, size)), client.Route("blob"), client.Prefetch(2))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := drain(t, f.ctx, s, nil)
	if len(got) != n {
		t.Fatalf("%d elements, want %d", len(got), n)
	}
	for i, e := range got {
		b := []byte(e)
		if len(b) != size || binary.BigEndian.Uint64(b) != uint64(i) {
			t.Fatalf("element %d: %d bytes, seq %d", i, len(b), binary.BigEndian.Uint64(b))
		}
		for j := 8; j < size; j++ {
			if b[j] != byte(j) {
				t.Fatalf("element %d: byte %d is %d", i, j, b[j])
			}
		}
	}
}

func TestRequestChannel(t *testing.T) {
	for _, n := range []int{1, 10, 300} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			f := start(t, false, 0)
			ch, err := f.cli.RequestChannel(f.ctx, sluice.Text("0"), client.Route("channel.echo"), client.Prefetch(16))
			if err != nil {
				t.Fatal(err)
			}
			sendErr := make(chan error, 1)
			go func() {
				for i := 1; i < n; i++ {
					if err := ch.Send(f.ctx, sluice.Text(strconv.Itoa(i))); err != nil {
						sendErr <- err
						return
					}
				}
				sendErr <- ch.CloseSend()
			}()
			got := recvN(t, f.ctx, ch, n)
			if fmt.Sprint(got) != fmt.Sprint(countData(0, n)) {
				t.Fatalf("echo: %v", got)
			}
			if err := <-sendErr; err != nil {
				t.Fatalf("send: %v", err)
			}
			ctx, cancel := context.WithTimeout(f.ctx, wait)
			defer cancel()
			if _, err := ch.Recv(ctx); err != io.EOF {
				t.Fatalf("after the echoes: %v, want io.EOF", err)
			}
			p := f.peer.Probe(t)
			<-p.Ended()
			req := f.request(protocol.TypeRequestChannel, 0)
			l := f.ledger(req.StreamID)
			if p.Route() != "channel.echo" || p.Produced.Load() != int64(n) {
				t.Errorf("rsocket-go saw route %q and echoed %d", p.Route(), p.Produced.Load())
			}
			if l.ReqSent != int64(n) || l.ReqSent > l.ReqGranted || l.RespSent != int64(n) {
				t.Errorf("ledger: %+v", l)
			}
			// rsocket-go's echo is requests.Map: the client's grants become the
			// demand of the Map, which rsocket-go forwards as its own REQUEST_N
			// for the client's outbound half (a late top-up may cross after the
			// echo completed).
			if w := wireGrants(l); len(p.Requests()) > len(w) || fmt.Sprint(p.Requests()) != fmt.Sprint(w[:len(p.Requests())]) {
				t.Errorf("rsocket-go's echo saw demand %v; the client granted %v", p.Requests(), w)
			}
			var rn int64
			for _, g := range l.ResponderGrants {
				rn += int64(g)
			}
			t.Logf("client grants %d frames (sum %d); rsocket-go sent %d REQUEST_N (sum %d) for the client's outbound half, the first element aside",
				len(l.Grants), l.RespGranted, len(l.ResponderGrants), rn)
		})
	}
}

func TestChannelCancel(t *testing.T) {
	f := start(t, false, 0)
	ch, err := f.cli.RequestChannel(f.ctx, sluice.Text("0"), client.Route("channel.echo"), client.Prefetch(4))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := ch.Send(f.ctx, sluice.Text("x")); err != nil {
			t.Fatal(err)
		}
	}
	if got := recvN(t, f.ctx, ch, 4); fmt.Sprint(got) != "[0 x x x]" {
		t.Fatalf("echo: %v", got)
	}
	ch.Cancel()
	p := f.peer.Probe(t)
	select {
	case <-p.Ended():
	case <-time.After(wait):
		t.Fatalf("rsocket-go's channel did not end; frames:\n%s", f.tap.Dump())
	}
	if p.Signal() != "CANCEL" {
		t.Errorf("rsocket-go's channel ended with %q", p.Signal())
	}
	if err := ch.Send(f.ctx, sluice.Text("after")); !errors.Is(err, sluice.ErrCanceled) {
		t.Errorf("Send after Cancel: %v", err)
	}
	req := f.request(protocol.TypeRequestChannel, 0)
	if l := f.ledger(req.StreamID); l.Terminal != "cancel" || l.ReqSent != 4 || l.RespSent != 4 {
		t.Errorf("ledger %+v", l)
	}
}

// TestChannelError: rsocket-go's channel fails on the first element; sluice's
// Recv gets the APPLICATION_ERROR and Send fails.
func TestChannelError(t *testing.T) {
	f := start(t, false, 0)
	ch, err := f.cli.RequestChannel(f.ctx, sluice.Text("boom"), client.Route("channel.fail"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(f.ctx, wait)
	defer cancel()
	_, err = ch.Recv(ctx)
	var se *sluice.Error
	if !errors.As(err, &se) || se.Code != sluice.CodeApplicationError || se.Message != "channel failed: boom" {
		t.Fatalf("Recv: %v", err)
	}
	if err := ch.Send(ctx, sluice.Text("more")); err == nil {
		t.Errorf("Send after the channel failed: no error")
	}
}

func TestErrors(t *testing.T) {
	f := start(t, false, 0)
	_, err := f.cli.RequestResponse(f.ctx, sluice.Text("it broke"), client.Route("error"))
	var se *sluice.Error
	if !errors.As(err, &se) || se.Code != sluice.CodeApplicationError || se.Message != "it broke" {
		t.Errorf("error route: %v", err)
	}
	_, err = f.cli.RequestResponse(f.ctx, sluice.Text("bad"), client.Route("error.invalid"))
	if !errors.As(err, &se) || se.Code != sluice.CodeInvalid || se.Message != "bad" {
		t.Errorf("error.invalid route: %v", err)
	}
	_, err = f.cli.RequestResponse(f.ctx, sluice.Text("x"), client.Route("no.such.route"))
	if !errors.As(err, &se) || se.Code != sluice.CodeApplicationError || !strings.Contains(se.Message, "no.such.route") {
		t.Errorf("unknown route: %v", err)
	}
	s, err := f.cli.RequestStream(f.ctx, sluice.Text("x"), client.Route("count"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(f.ctx); !errors.As(err, &se) || se.Code != sluice.CodeInvalid {
		t.Errorf("count with bad data: %v", err)
	}
	if p, err := f.cli.RequestResponse(f.ctx, sluice.Text("ok"), client.Route("echo")); err != nil || string(p.Data) != "ok" {
		t.Fatalf("echo after errors: %v", err)
	}
}

func TestCancelNever(t *testing.T) {
	f := start(t, false, 0)
	ctx, cancel := context.WithTimeout(f.ctx, 200*time.Millisecond)
	defer cancel()
	_, err := f.cli.RequestResponse(ctx, sluice.Payload{}, client.Route("never"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("never: %v", err)
	}
	p := f.peer.Probe(t)
	select {
	case <-p.Ended():
	case <-time.After(wait):
		t.Fatalf("rsocket-go's handler was not cancelled; frames:\n%s", f.tap.Dump())
	}
	req := f.request(protocol.TypeRequestResponse, 0)
	if l := f.ledger(req.StreamID); l.Terminal != "cancel" {
		t.Errorf("ledger: %+v", l)
	}
	// rsocket-go answers the CANCEL with an ERROR (its mono's cancellation
	// surfaces as an error); sluice must ignore a frame for a closed stream.
	if e, ok := f.tap.WaitFor(0, 200*time.Millisecond, func(e tap.Event) bool {
		return e.In && e.StreamID == req.StreamID && e.Type == protocol.TypeError
	}); ok {
		t.Logf("after CANCEL, rsocket-go sent %v", e)
	}
	if p, err := f.cli.RequestResponse(f.ctx, sluice.Text("ok"), client.Route("echo")); err != nil || string(p.Data) != "ok" {
		t.Fatalf("echo after cancel: %v", err)
	}
}

// TestCancelStreamAfterK cuts a stream after k elements by breaking out of
// the range loop. The handler is the paced publisher (count.paced): a
// flux.Create stream cannot be cancelled while its producer is inside
// sink.Next (see TestDemandReachesProducer); the paced one emits only inside
// Request(n), so with client.Manual and Request(k) it is idle when the CANCEL
// arrives.
func TestCancelStreamAfterK(t *testing.T) {
	f := start(t, false, 0)
	const k = 5
	s, err := f.cli.RequestStream(f.ctx, sluice.Payload{}, client.Route("count.paced"), client.Manual())
	if err != nil {
		t.Fatal(err)
	}
	s.Request(k)
	var got []string
	for p, err := range s.All(f.ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if got = append(got, string(p.Data)); len(got) == k {
			break // cancels
		}
	}
	p := f.peer.Probe(t)
	select {
	case <-p.Ended():
	case <-time.After(wait):
		t.Fatalf("rsocket-go's stream did not end; frames:\n%s", f.tap.Dump())
	}
	req := f.request(protocol.TypeRequestStream, 0)
	l := f.ledger(req.StreamID)
	if l.Terminal != "cancel" || p.Signal() != "CANCEL" || fmt.Sprint(got) != fmt.Sprint(countData(0, k)) {
		t.Errorf("ledger %+v, rsocket-go signal %q, got %v", l, p.Signal(), got)
	}
	if n := p.Produced.Load(); n != k || fmt.Sprint(p.Requests()) != fmt.Sprint([]int{k}) {
		t.Errorf("rsocket-go was asked for %v and produced %d, want [%d] and %d", p.Requests(), n, k, k)
	}
}

// settle waits until the producer has made nothing new for 300 ms and returns
// how many it made.
func settle(p *probe) int64 {
	last, since := p.Produced.Load(), time.Now()
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if n := p.Produced.Load(); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) > 300*time.Millisecond {
			break
		}
	}
	return last
}

// TestDemandReachesProducer checks that what sluice's client asks for (Manual
// with Request(n), or a Prefetch window) crosses the wire as asked and reaches
// rsocket-go's handler as the same sequence of demands, and measures what
// rsocket-go's producers do with it.
//
// What rsocket-go v0.8.16 does with the demand (measured here, see the logs):
//   - The demand reaches the handler's flux exactly: every REQUEST_STREAM(n) /
//     REQUEST_N(n) becomes one Request(n) on the flux, in order.
//   - A producer written with flux.Create is not paced by it: the sink
//     buffers up to 256 elements (reactor-go's default buffer) whatever the
//     demand, and the producer blocks inside the 257th sink.Next. So the
//     producer runs 257 elements ahead of what the consumer asked for: with
//     Request(1) it made 258; with Prefetch(8) after 20 taken (28 granted) it
//     made 285.
//   - A publisher that emits inside Subscription.Request(n) (count.paced, see
//     pacedFlux) makes exactly what was granted.
//   - Cancelling a flux.Create stream while its producer is inside sink.Next
//     closes the buffer channel under the sending producer: the race detector
//     reports it and without -race the producer panics with "send on closed
//     channel" (recovered by rsocket-go's goroutine pool). A producer waiting
//     in sink.Complete for the buffer to drain hangs forever after a cancel.
//     So the cancel tests here cancel only the paced producer, and the
//     flux.Create streams below are drained to completion instead.
func TestDemandReachesProducer(t *testing.T) {
	t.Run("manual/paced", func(t *testing.T) {
		f := start(t, false, 0)
		s, err := f.cli.RequestStream(f.ctx, sluice.Payload{}, client.Route("count.paced"), client.Manual())
		if err != nil {
			t.Fatal(err)
		}
		s.Request(3)
		got := recvN(t, f.ctx, s, 3)
		p := f.peer.Probe(t)
		if n := settle(p); n != 3 || fmt.Sprint(p.Requests()) != "[3]" {
			t.Fatalf("after Request(3): rsocket-go saw %v, produced %d", p.Requests(), n)
		}
		s.Request(5)
		got = append(got, recvN(t, f.ctx, s, 5)...)
		if n := settle(p); n != 8 || fmt.Sprint(p.Requests()) != "[3 5]" {
			t.Fatalf("after Request(5): rsocket-go saw %v, produced %d", p.Requests(), n)
		}
		if fmt.Sprint(got) != fmt.Sprint(countData(0, 8)) {
			t.Fatalf("got %v", got)
		}
		s.Cancel()
		<-p.Ended()
		l := f.ledger(f.request(protocol.TypeRequestStream, 0).StreamID)
		if fmt.Sprint(l.Grants) != "[REQUEST(3) REQUEST_N(5)]" || l.RespSent != 8 {
			t.Errorf("ledger %+v", l)
		}
	})
	t.Run("prefetch-8/paced", func(t *testing.T) {
		f := start(t, false, 0)
		s, err := f.cli.RequestStream(f.ctx, sluice.Payload{}, client.Route("count.paced"), client.Prefetch(8))
		if err != nil {
			t.Fatal(err)
		}
		got := recvN(t, f.ctx, s, 40)
		p := f.peer.Probe(t)
		n := settle(p)
		l := f.ledger(f.request(protocol.TypeRequestStream, 0).StreamID)
		if fmt.Sprint(p.Requests()) != fmt.Sprint(wireGrants(l)) {
			t.Errorf("rsocket-go saw demand %v, the wire carried %v", p.Requests(), wireGrants(l))
		}
		// A window of 8 topped up by 2 every 2 taken: 8 + 40 granted after 40 taken.
		if sum(p.Requests()) != 48 || n != 48 || l.RespSent != 48 || l.Grants[0].N != 8 {
			t.Errorf("granted %d (%v), produced %d, sent %d", sum(p.Requests()), p.Requests(), n, l.RespSent)
		}
		if fmt.Sprint(got) != fmt.Sprint(countData(0, 40)) {
			t.Fatalf("got %v", got)
		}
		s.Cancel()
		<-p.Ended()
	})
	aheadCase := func(t *testing.T, opt client.CallOption, take int) {
		const total = 1000
		f := start(t, false, 0)
		s, err := f.cli.RequestStream(f.ctx, sluice.Text(strconv.Itoa(total)), client.Route("count"), opt)
		if err != nil {
			t.Fatal(err)
		}
		if take == 1 {
			s.Request(1)
		}
		got := recvN(t, f.ctx, s, take)
		p := f.peer.Probe(t)
		produced := settle(p)
		l := f.ledger(f.request(protocol.TypeRequestStream, 0).StreamID)
		demand := sum(p.Requests())
		if fmt.Sprint(p.Requests()) != fmt.Sprint(wireGrants(l)) {
			t.Errorf("rsocket-go saw demand %v, the wire carried %v", p.Requests(), wireGrants(l))
		}
		if l.RespSent < demand {
			// The lost wakeup described below: a granted element sits in
			// rsocket-go's sink until the next Request or Next.
			t.Logf("rsocket-go holds back %d granted element(s): sent %d of %d", demand-l.RespSent, l.RespSent, demand)
		}
		t.Logf("took %d; granted on the wire %d %v; rsocket-go's flux.Create producer made %d: %d ahead of the demand, %d ahead of what it sent",
			take, demand, wireGrants(l), produced, produced-demand, produced-l.RespSent)
		if produced <= demand {
			t.Errorf("the producer made %d with %d demanded: no run-ahead any more?", produced, demand)
		}
		// Drain the rest without cancelling (see above), so the producer
		// finishes. rsocket-go can lose a wakeup here: reactor-go's buffered
		// sink drains from whichever goroutine gets its "draining" flag, the
		// producer's Next or the REQUEST_N's Request, and an element offered
		// just as the other drainer finds the queue empty stays queued with
		// demand outstanding until the next Next or Request; drain pokes it.
		if take == 1 {
			s.Request(total)
		}
		got, pokes := drain(t, f.ctx, s, got)
		if fmt.Sprint(got) != fmt.Sprint(countData(0, total)) {
			t.Fatalf("got %d elements", len(got))
		}
		if pokes > 0 {
			t.Logf("rsocket-go stalled %d times while draining (lost wakeup in its sink); a REQUEST_N(1) restarted it", pokes)
		}
	}
	t.Run("manual-1/flux.Create", func(t *testing.T) { aheadCase(t, client.Manual(), 1) })
	t.Run("prefetch-8/flux.Create", func(t *testing.T) { aheadCase(t, client.Prefetch(8), 20) })
}

// TestKeepalive idles a sluice client that sends KEEPALIVE every 100 ms with a
// lifetime of 3 s: rsocket-go must answer each (and the client would close the
// connection after 3 s of silence).
func TestKeepalive(t *testing.T) {
	f := start(t, false, 0, client.WithKeepalive(100*time.Millisecond, 3*time.Second))
	time.Sleep(1300 * time.Millisecond)
	if err := f.cli.Err(); err != nil {
		t.Fatalf("connection closed: %v", err)
	}
	if p, err := f.cli.RequestResponse(f.ctx, sluice.Text("still here"), client.Route("echo")); err != nil || string(p.Data) != "still here" {
		t.Fatalf("echo after idling: %v", err)
	}
	sent, answered := f.tap.Keepalives(false, true), f.tap.Keepalives(true, false)
	t.Logf("KEEPALIVE: sluice sent %d, rsocket-go answered %d and sent %d of its own", sent, answered, f.tap.Keepalives(true, true))
	if sent < 5 || answered < sent-2 {
		t.Errorf("sluice sent %d KEEPALIVEs, rsocket-go answered %d", sent, answered)
	}
}

func TestTCP(t *testing.T) {
	f := start(t, true, 0)
	p, err := f.cli.RequestResponse(f.ctx, sluice.Text("over tcp"), client.Route("echo"))
	if err != nil || string(p.Data) != "over tcp" {
		t.Fatalf("echo over TCP: %v", err)
	}
	s, err := f.cli.RequestStream(f.ctx, sluice.Text("10"), client.Route("count.paced"), client.Prefetch(4))
	if err != nil {
		t.Fatal(err)
	}
	if got := recvN(t, f.ctx, s, 10); fmt.Sprint(got) != fmt.Sprint(countData(0, 10)) {
		t.Fatalf("count over TCP: %v", got)
	}
}
