package reactor_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rx "github.com/jjeffcaii/reactor-go"
	"github.com/jjeffcaii/reactor-go/flux"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/testserver"
	"github.com/sluicehq/sluice/protocol"
	"github.com/sluicehq/sluice/reactor"
	"github.com/sluicehq/sluice/router"
	"github.com/sluicehq/sluice/server"
)

// tap counts the REQUEST_STREAM/REQUEST_N credit and PAYLOADs crossing a server.
type tap struct {
	requested, payloads atomic.Int64
}

func (t *tap) hook(_ *server.Conn, in bool, b []byte) {
	f, err := protocol.Decode(b)
	if err != nil {
		return
	}
	switch {
	case in && (f.Type == protocol.TypeRequestStream || f.Type == protocol.TypeRequestN):
		t.requested.Add(int64(f.N))
	case !in && f.Type == protocol.TypePayload && f.Flags.Has(protocol.FlagNext):
		t.payloads.Add(1)
	}
}

func TestFluxRequestIsRequestN(t *testing.T) {
	tp := &tap{}
	_, url := testserver.Start(t, server.Options{FrameHook: tp.hook})
	ctx := context.Background()
	c, err := client.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var got []string
	var su rx.Subscription
	var mu sync.Mutex
	done := make(chan struct{})
	reactor.RequestStream(c, sluice.Text("100"), client.Route("count")).
		SubscribeWith(ctx, rx.NewSubscriber(
			rx.OnSubscribe(func(ctx context.Context, s rx.Subscription) {
				mu.Lock()
				su = s
				mu.Unlock()
				s.Request(3)
			}),
			rx.OnNext(func(v rx.Any) error {
				mu.Lock()
				got = append(got, string(v.(sluice.Payload).Data))
				n := len(got)
				mu.Unlock()
				if n == 3 {
					close(done)
				}
				return nil
			}),
		))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("no elements")
	}
	time.Sleep(100 * time.Millisecond)
	if r, p := tp.requested.Load(), tp.payloads.Load(); r != 3 || p != 3 {
		t.Fatalf("on the wire: requested %d, sent %d; want 3 and 3", r, p)
	}
	mu.Lock()
	su.Cancel()
	mu.Unlock()
	if got[0] != "0" || got[2] != "2" {
		t.Fatalf("got %v", got)
	}
}

func TestStreamHandlerPullsByCredit(t *testing.T) {
	var made atomic.Int64
	r := router.New()
	r.Stream("numbers", reactor.StreamHandler(func(ctx context.Context, p sluice.Payload) flux.Flux {
		return flux.Range(0, 1000).DoOnNext(func(v rx.Any) error {
			made.Add(1)
			return nil
		}).Map(func(v rx.Any) (rx.Any, error) { return strconv.Itoa(v.(int)), nil })
	}))
	_, url := testserver.Start(t, server.Options{Router: r})
	ctx := context.Background()
	c, err := client.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.RequestStream(ctx, sluice.Text(""), client.Route("numbers"), client.Manual())
	if err != nil {
		t.Fatal(err)
	}
	s.Request(5)
	for i := range 5 {
		p, err := s.Recv(ctx)
		if err != nil || string(p.Data) != strconv.Itoa(i) {
			t.Fatalf("element %d: %q %v", i, p.Data, err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := made.Load(); n > 6 {
		t.Fatalf("the flux made %d elements for a demand of 5", n)
	}
	s.Cancel()
}

func TestMonoRequestResponse(t *testing.T) {
	_, url := testserver.Start(t, server.Options{})
	ctx := context.Background()
	c, err := client.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v, err := reactor.RequestResponse(c, sluice.Text("hi"), client.Route("echo")).Block(ctx)
	if err != nil || string(v.(sluice.Payload).Data) != "hi" {
		t.Fatalf("%v %v", v, err)
	}
}
