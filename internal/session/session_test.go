package session_test

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/session"
	"github.com/sluicehq/sluice/protocol"
	"github.com/sluicehq/sluice/transport/pipe"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wire records the frames that cross the pipe, decoded.
type wire struct {
	mu     sync.Mutex
	frames []rec
}

type rec struct {
	toServer bool
	f        protocol.Frame
}

func (w *wire) tap(d pipe.Dir, b []byte) {
	f, err := protocol.Decode(b)
	if err != nil {
		panic(err)
	}
	w.mu.Lock()
	w.frames = append(w.frames, rec{d == pipe.AToB, f})
	w.mu.Unlock()
}

// sent returns the frames the client (toServer) or the server sent, of type t.
func (w *wire) sent(toServer bool, t protocol.FrameType) []protocol.Frame {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []protocol.Frame
	for _, r := range w.frames {
		if r.toServer == toServer && r.f.Type == t {
			out = append(out, r.f)
		}
	}
	return out
}

type env struct {
	cli, srv *session.Conn
	a, b     *pipe.Conn // a: client end, b: server end
	wire     *wire
}

// start connects a client and a server over a pipe. Call inside a synctest
// bubble or a normal test; everything is closed at the end.
func start(t *testing.T, h *sluice.Handlers, cfg session.Config, popts pipe.Options) *env {
	t.Helper()
	w := &wire{}
	if popts.Tap == nil {
		popts.Tap = w.tap
	}
	a, b := pipe.New(popts)
	srvc := make(chan *session.Conn, 1)
	go func() {
		scfg := cfg
		scfg.Handlers = h
		c, err := session.Accept(context.Background(), b, scfg, nil)
		if err != nil {
			t.Errorf("accept: %v", err)
		}
		srvc <- c
	}()
	ccfg := cfg
	ccfg.Handlers = nil
	cli, err := session.Client(a, ccfg, session.Setup{MetadataMIME: "text/plain", DataMIME: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	srv := <-srvc
	e := &env{cli: cli, srv: srv, a: a, b: b, wire: w}
	t.Cleanup(func() {
		cli.Close()
		if srv != nil {
			srv.Close()
			srv.Wait()
		}
		cli.Wait()
	})
	return e
}

// producer is a stream handler that makes an element only when it holds credit
// and counts what it made.
type producer struct {
	made atomic.Int64
	done chan error
}

func newProducer() *producer { return &producer{done: make(chan error, 16)} }

func (p *producer) handlers() *sluice.Handlers {
	return &sluice.Handlers{RequestStream: func(ctx context.Context, _ sluice.Payload, out sluice.Sink) error {
		for {
			if err := out.Wait(ctx); err != nil {
				p.done <- err
				return err
			}
			n := p.made.Add(1)
			if err := out.Send(ctx, sluice.Text(strconv.FormatInt(n-1, 10))); err != nil {
				p.done <- err
				return err
			}
		}
	}}
}

func TestDemandEightAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newProducer()
		e := start(t, p.handlers(), session.Config{}, pipe.Options{})
		ctx := context.Background()
		s, err := e.cli.RequestStream(ctx, sluice.Text("go"), session.Policy{Manual: true})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := p.made.Load(); got != 0 {
			t.Fatalf("made %d before any request", got)
		}
		if n := len(e.wire.sent(true, protocol.TypeRequestStream)); n != 0 {
			t.Fatalf("REQUEST_STREAM sent before Request(n): %d", n)
		}
		for round := int64(1); round <= 5; round++ {
			s.Request(8)
			synctest.Wait()
			if got := p.made.Load(); got != 8*round {
				t.Fatalf("round %d: producer made %d, requested %d", round, got, 8*round)
			}
			for i := range 8 {
				el, err := s.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if want := strconv.FormatInt((round-1)*8+int64(i), 10); string(el.Data) != want {
					t.Fatalf("got %q want %q", el.Data, want)
				}
			}
			synctest.Wait()
			if got := p.made.Load(); got != 8*round {
				t.Fatalf("round %d after consuming: producer made %d, requested %d", round, got, 8*round)
			}
		}
		rs := e.wire.sent(true, protocol.TypeRequestStream)
		rn := e.wire.sent(true, protocol.TypeRequestN)
		if len(rs) != 1 || rs[0].N != 8 || len(rn) != 4 {
			t.Fatalf("wire: %d REQUEST_STREAM (n=%v), %d REQUEST_N", len(rs), rs, len(rn))
		}
		for _, f := range rn {
			if f.N != 8 {
				t.Fatalf("REQUEST_N(%d), want 8", f.N)
			}
		}
		if el := e.wire.sent(false, protocol.TypePayload); len(el) != 40 {
			t.Fatalf("server sent %d PAYLOADs, want 40", len(el))
		}
		s.Cancel()
		synctest.Wait()
		if err := <-p.done; !errors.Is(err, sluice.ErrCanceled) {
			t.Fatalf("producer ended with %v, want ErrCanceled", err)
		}
	})
}

func TestPrefetchWindowAndTopUps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newProducer()
		e := start(t, p.handlers(), session.Config{}, pipe.Options{})
		ctx := context.Background()
		s, err := e.cli.RequestStream(ctx, sluice.Text("go"), session.Policy{Prefetch: 8})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := p.made.Load(); got != 8 {
			t.Fatalf("a consumer that takes nothing: producer made %d, want the window of 8", got)
		}
		taken := int64(0)
		for range 100 {
			if _, err := s.Recv(ctx); err != nil {
				t.Fatal(err)
			}
			taken++
			time.Sleep(50 * time.Millisecond) // a slow consumer
			synctest.Wait()
			if inflight := p.made.Load() - taken; inflight > 8 || inflight < 0 {
				t.Fatalf("in flight %d after taking %d: beyond the window of 8", inflight, taken)
			}
		}
		// Top-ups of size/4 = 2, sent as the consumer takes elements.
		for _, f := range e.wire.sent(true, protocol.TypeRequestN) {
			if f.N != 2 {
				t.Fatalf("REQUEST_N(%d), want 2", f.N)
			}
		}
		s.Cancel()
	})
}

func TestCancelWhileProducerBlockedOnCredit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newProducer()
		h := p.handlers()
		h.RequestResponse = func(ctx context.Context, in sluice.Payload) (sluice.Payload, error) { return in, nil }
		e := start(t, h, session.Config{}, pipe.Options{})
		ctx := context.Background()
		s, _ := e.cli.RequestStream(ctx, sluice.Text("go"), session.Policy{Prefetch: 1})
		synctest.Wait() // producer sent 1 and waits for credit
		s.Cancel()
		synctest.Wait()
		if err := <-p.done; !errors.Is(err, sluice.ErrCanceled) {
			t.Fatalf("blocked producer got %v, want ErrCanceled", err)
		}
		if n := len(e.wire.sent(true, protocol.TypeCancel)); n != 1 {
			t.Fatalf("%d CANCEL frames, want 1", n)
		}
		if _, err := s.Recv(ctx); !errors.Is(err, sluice.ErrCanceled) {
			t.Fatalf("Recv after cancel: %v", err)
		}
		resp, err := e.cli.RequestResponse(ctx, sluice.Text("alive"))
		if err != nil || string(resp.Data) != "alive" {
			t.Fatalf("connection after cancel: %q %v", resp.Data, err)
		}
		if st := e.srv.Stats(); st.StreamsOpen != 0 {
			t.Fatalf("server still has %d streams", st.StreamsOpen)
		}
	})
}

func TestCancelByContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newProducer()
		e := start(t, p.handlers(), session.Config{}, pipe.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		s, _ := e.cli.RequestStream(ctx, sluice.Text("go"), session.Policy{Prefetch: 4})
		for range 4 {
			if _, err := s.Recv(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
		synctest.Wait()
		if err := <-p.done; !errors.Is(err, sluice.ErrCanceled) {
			t.Fatalf("producer got %v", err)
		}
	})
}

func TestClientVanishesMidStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newProducer()
		e := start(t, p.handlers(), session.Config{}, pipe.Options{})
		s, _ := e.cli.RequestStream(context.Background(), sluice.Text("go"), session.Policy{Prefetch: 16})
		s.Recv(context.Background())
		e.a.Close() // the client's transport disappears
		synctest.Wait()
		if err := <-p.done; err == nil {
			t.Fatal("producer did not stop")
		}
		<-e.srv.Done()
		<-e.cli.Done()
	})
}

func TestServerClosesMidStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newProducer()
		e := start(t, p.handlers(), session.Config{}, pipe.Options{})
		ctx := context.Background()
		s, _ := e.cli.RequestStream(ctx, sluice.Text("go"), session.Policy{Prefetch: 16})
		s.Recv(ctx)
		e.srv.CloseWithError(protocol.ErrConnectionError, "going away")
		synctest.Wait()
		var err error
		for err == nil {
			_, err = s.Recv(ctx)
		}
		var se *sluice.Error
		if !errors.As(err, &se) || se.Code != protocol.ErrConnectionError || se.Message != "going away" {
			t.Fatalf("client stream ended with %v", err)
		}
		if _, err := e.cli.RequestResponse(ctx, sluice.Text("x")); err == nil {
			t.Fatal("request on a closed connection succeeded")
		}
	})
}

func TestSlowConsumerIsClosedAndMemoryBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var made atomic.Int64
		h := &sluice.Handlers{RequestStream: func(ctx context.Context, _ sluice.Payload, out sluice.Sink) error {
			buf := make([]byte, 1024)
			for {
				if err := out.Send(ctx, sluice.Payload{Data: buf}); err != nil {
					return err
				}
				made.Add(1)
			}
		}}
		m := &session.Metrics{}
		cfg := session.Config{ConnBudget: 64 << 10, WriteTimeout: 5 * time.Second, Metrics: m}
		e := start(t, h, cfg, pipe.Options{Capacity: 32 << 10})
		e.a.SetReadPaused(true) // the client stops reading the socket
		_, err := e.cli.RequestStream(context.Background(), sluice.Text("go"), session.Policy{Prefetch: protocol.MaxN})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		st := e.srv.Stats()
		if st.QueuedBytes > cfg.ConnBudget+2048 {
			t.Fatalf("server queued %d bytes, budget %d", st.QueuedBytes, cfg.ConnBudget)
		}
		// Everything made is in the budget, the pipe's buffer or the writer's batch.
		if n := made.Load(); n > int64((cfg.ConnBudget+(32<<10)+maxBatch)/1024)+2 {
			t.Fatalf("producer made %d elements with the peer not reading", n)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		<-e.srv.Done()
		if !errors.Is(e.srv.Err(), session.ErrSlowConsumer) {
			t.Fatalf("server closed with %v, want slow consumer", e.srv.Err())
		}
		if m.SlowConsumerCloses.Load() != 1 {
			t.Fatalf("slow consumer closes %d", m.SlowConsumerCloses.Load())
		}
		e.a.SetReadPaused(false)
	})
}

const maxBatch = 256 << 10

func TestChannelEcho(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &sluice.Handlers{RequestChannel: func(ctx context.Context, p sluice.Payload, in sluice.Stream, out sluice.Sink) error {
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
		}}
		e := start(t, h, session.Config{ChannelPrefetch: 4}, pipe.Options{})
		ctx := context.Background()
		ch, err := e.cli.RequestChannel(ctx, sluice.Text("0"), session.Policy{Prefetch: 4})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for i := 1; i < 100; i++ {
				if err := ch.Send(ctx, sluice.Text(strconv.Itoa(i))); err != nil {
					t.Errorf("send %d: %v", i, err)
					return
				}
			}
			ch.CloseSend()
		}()
		for i := 0; i < 100; i++ {
			p, err := ch.Recv(ctx)
			if err != nil || string(p.Data) != strconv.Itoa(i) {
				t.Fatalf("element %d: %q %v", i, p.Data, err)
			}
		}
		if _, err := ch.Recv(ctx); err != io.EOF {
			t.Fatalf("after the last echo: %v", err)
		}
		synctest.Wait()
		if st := e.srv.Stats(); st.StreamsOpen != 0 {
			t.Fatalf("server still has %d streams", st.StreamsOpen)
		}
		if st := e.cli.Stats(); st.StreamsOpen != 0 {
			t.Fatalf("client still has %d streams", st.StreamsOpen)
		}
		// The responder's window is 4: its first grant is the 3 the window has
		// left after the first element, plus the top-up of 1 (a quarter of the
		// window) for that element, which the handler took at once.
		rn := e.wire.sent(false, protocol.TypeRequestN)
		if len(rn) == 0 || rn[0].N != 4 {
			t.Fatalf("first responder REQUEST_N %v, want 4", rn)
		}
		granted := int64(1) // the first element needs no credit
		for _, f := range rn {
			if f.N != 4 && f.N != 1 {
				t.Fatalf("responder REQUEST_N(%d)", f.N)
			}
			granted += int64(f.N)
		}
		if granted < 100 || granted > 100+4 {
			t.Fatalf("responder granted %d for 100 elements with a window of 4", granted)
		}
	})
}

func TestFragmentedElements(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		big := make([]byte, 5000)
		for i := range big {
			big[i] = byte(i * 7)
		}
		md := []byte("some metadata that is long enough to be split too, some metadata")
		h := &sluice.Handlers{
			RequestResponse: func(ctx context.Context, p sluice.Payload) (sluice.Payload, error) {
				if string(p.Data) != string(big) || string(p.Metadata) != string(md) {
					return sluice.Payload{}, errors.New("request mangled")
				}
				return sluice.Payload{Data: big, Metadata: md}, nil
			},
		}
		e := start(t, h, session.Config{MTU: 64}, pipe.Options{})
		resp, err := e.cli.RequestResponse(context.Background(), sluice.Payload{Data: big, Metadata: md})
		if err != nil {
			t.Fatal(err)
		}
		if string(resp.Data) != string(big) || string(resp.Metadata) != string(md) {
			t.Fatal("response mangled")
		}
		e.wire.mu.Lock()
		defer e.wire.mu.Unlock()
		for _, r := range e.wire.frames {
			if r.f.Type == protocol.TypePayload && len(r.f.Data)+len(r.f.Metadata) > 64 {
				t.Fatalf("frame over the MTU: %v", r.f.String())
			}
		}
	})
}

func TestOverDeliveryIsAStreamError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A raw server that sends 3 elements when 2 were granted.
		a, b := pipe.New(pipe.Options{})
		cli, err := session.Client(a, session.Config{}, session.Setup{MetadataMIME: "a", DataMIME: "b"})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { cli.Close(); cli.Wait() }()
		go func() {
			for {
				f, err := b.ReadFrame()
				if err != nil {
					return
				}
				fr, _ := protocol.Decode(f)
				switch fr.Type {
				case protocol.TypeRequestStream:
					for i := range 3 {
						b.WriteFrame(protocol.AppendPayload(nil, fr.StreamID, protocol.FlagNext, nil, []byte{byte('0' + i)}))
					}
					b.Flush()
				case protocol.TypeRequestResponse:
					b.WriteFrame(protocol.AppendPayload(nil, fr.StreamID, protocol.FlagNext|protocol.FlagComplete, nil, fr.Data))
					b.Flush()
				}
			}
		}()
		ctx := context.Background()
		s, _ := cli.RequestStream(ctx, sluice.Text("x"), session.Policy{Prefetch: 2})
		synctest.Wait()
		var got []string
		var serr error
		for {
			p, err := s.Recv(ctx)
			if err != nil {
				serr = err
				break
			}
			got = append(got, string(p.Data))
		}
		if !errors.Is(serr, sluice.ErrOverCredit) {
			t.Fatalf("stream ended with %v after %v, want ErrOverCredit", serr, got)
		}
		resp, err := cli.RequestResponse(ctx, sluice.Text("ok"))
		if err != nil || string(resp.Data) != "ok" {
			t.Fatalf("connection after violation: %q %v", resp.Data, err)
		}
		b.Close()
	})
}

func TestKeepaliveAndLifetime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := pipe.New(pipe.Options{})
		cli, err := session.Client(a, session.Config{}, session.Setup{Keepalive: time.Second, Lifetime: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		var keepalives atomic.Int64
		go func() {
			for {
				f, err := b.ReadFrame()
				if err != nil {
					return
				}
				if fr, _ := protocol.Decode(f); fr.Type == protocol.TypeKeepalive && fr.Flags.Has(protocol.FlagRespond) {
					keepalives.Add(1) // never answered
				}
			}
		}()
		time.Sleep(2500 * time.Millisecond)
		synctest.Wait()
		if keepalives.Load() != 2 {
			t.Fatalf("%d keepalives in 2.5 s at 1 s", keepalives.Load())
		}
		time.Sleep(2 * time.Second)
		<-cli.Done()
		var se *sluice.Error
		if !errors.As(cli.Err(), &se) || se.Code != protocol.ErrConnectionError {
			t.Fatalf("closed with %v", cli.Err())
		}
		cli.Wait()
		b.Close()
	})
}

func TestCloseFlushesQueuedFrames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got atomic.Int64
		h := &sluice.Handlers{FireAndForget: func(ctx context.Context, p sluice.Payload) { got.Add(1) }}
		e := start(t, h, session.Config{}, pipe.Options{})
		for range 100 {
			if err := e.cli.FireAndForget(context.Background(), sluice.Text("x")); err != nil {
				t.Fatal(err)
			}
		}
		e.cli.Close()
		<-e.cli.Done()
		<-e.srv.Done()
		if got.Load() != 100 {
			t.Fatalf("server got %d of 100 fire-and-forget requests sent before Close", got.Load())
		}
	})
}

func TestFireAndForgetRespectsTheByteBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &sluice.Handlers{FireAndForget: func(ctx context.Context, p sluice.Payload) {}}
		e := start(t, h, session.Config{ConnBudget: 8 << 10}, pipe.Options{Capacity: 4 << 10})
		e.b.SetReadPaused(true) // the server stops reading
		sent := make(chan int, 1)
		go func() {
			n := 0
			for ; n < 1000; n++ {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				err := e.cli.FireAndForget(ctx, sluice.Payload{Data: make([]byte, 1024)})
				cancel()
				if err != nil {
					break
				}
			}
			sent <- n
		}()
		n := <-sent
		if n >= 1000 || e.cli.Stats().QueuedBytes > 8<<10+2048 {
			t.Fatalf("queued %d fire-and-forget requests (%d bytes) with the peer not reading", n, e.cli.Stats().QueuedBytes)
		}
		e.b.SetReadPaused(false)
	})
}

func TestChannelResponderStopsOnlyTheInboundHalf(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &sluice.Handlers{RequestChannel: func(ctx context.Context, p sluice.Payload, in sluice.Stream, out sluice.Sink) error {
			n := 1
			for _, err := range in.All(ctx) {
				if err != nil {
					return err
				}
				if n++; n == 3 {
					break // enough input: CANCEL the requester's half
				}
			}
			for i := range 5 {
				if err := out.Send(ctx, sluice.Text(strconv.Itoa(i))); err != nil {
					return err
				}
			}
			return nil
		}}
		e := start(t, h, session.Config{}, pipe.Options{})
		ctx := context.Background()
		ch, err := e.cli.RequestChannel(ctx, sluice.Text("first"), session.Policy{Prefetch: 8})
		if err != nil {
			t.Fatal(err)
		}
		var sendErr error
		for i := 0; i < 100 && sendErr == nil; i++ {
			sendErr = ch.Send(ctx, sluice.Text("in"))
		}
		if !errors.Is(sendErr, sluice.ErrCanceled) {
			t.Fatalf("Send after the responder's CANCEL: %v", sendErr)
		}
		var got []string
		for {
			p, err := ch.Recv(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(p.Data))
		}
		if len(got) != 5 {
			t.Fatalf("received %v, want the responder's 5 elements after it stopped reading", got)
		}
		synctest.Wait()
		if e.srv.Stats().StreamsOpen != 0 || e.cli.Stats().StreamsOpen != 0 {
			t.Fatal("streams left open")
		}
	})
}

// A REQUEST_CHANNEL with C set has no inbound half: the handler's Recv ends at
// once with io.EOF (found by FuzzServerInput: it used to return an empty
// element and no error, forever).
func TestChannelRequestAlreadyComplete(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		got := make(chan error, 1)
		h := &sluice.Handlers{RequestChannel: func(ctx context.Context, p sluice.Payload, in sluice.Stream, out sluice.Sink) error {
			_, err := in.Recv(ctx)
			got <- err
			return out.Send(ctx, p)
		}}
		a, b := pipe.New(pipe.Options{})
		go session.Accept(context.Background(), b, session.Config{Handlers: h}, nil)
		a.WriteFrame(protocol.AppendSetup(nil, 1000, 5000, nil, false, "a", "b", nil, nil))
		a.WriteFrame(protocol.AppendRequestWithN(nil, protocol.TypeRequestChannel, 1, protocol.FlagComplete, 5, nil, []byte("only")))
		a.Flush()
		if err := <-got; err != io.EOF {
			t.Fatalf("Recv on a channel whose requester completed at once: %v", err)
		}
		f, _ := a.ReadFrame()
		if fr, _ := protocol.Decode(f); fr.Type != protocol.TypePayload || string(fr.Data) != "only" {
			t.Fatalf("got %v", fr.String())
		}
		a.Close()
		synctest.Wait()
	})
}
