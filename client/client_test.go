package client_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/conformance"
	"github.com/sluicehq/sluice/internal/testserver"
	"github.com/sluicehq/sluice/router"
	"github.com/sluicehq/sluice/server"
)

func dial(t *testing.T, url string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.Dial(context.Background(), url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestAllInteractions(t *testing.T) {
	_, url := testserver.Start(t, server.Options{})
	c := dial(t, url)
	ctx := context.Background()

	p, err := c.RequestResponse(ctx, sluice.Text("hello"), client.Route("echo"))
	if err != nil || string(p.Data) != "hello" {
		t.Fatalf("echo: %q %v", p.Data, err)
	}
	_, err = c.RequestResponse(ctx, sluice.Text("boom"), client.Route("error"))
	var se *sluice.Error
	if !errors.As(err, &se) || se.Code != sluice.CodeApplicationError || se.Message != "boom" {
		t.Fatalf("error route: %v", err)
	}
	for range 3 {
		if err := c.FireAndForget(ctx, sluice.Text("x"), client.Route("fnf")); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.MetadataPush(ctx, []byte("md")); err != nil {
		t.Fatal(err)
	}
	p, err = c.RequestResponse(ctx, sluice.Text(""), client.Route("fnf.count"))
	if err != nil || string(p.Data) != "3" {
		t.Fatalf("fnf.count: %q %v", p.Data, err)
	}
	s, err := c.RequestStream(ctx, sluice.Text("10"), client.Route("count"), client.Prefetch(3))
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for p, err := range s.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if string(p.Data) != strconv.Itoa(i) {
			t.Fatalf("count element %d: %q", i, p.Data)
		}
		i++
	}
	if i != 10 {
		t.Fatalf("count gave %d elements", i)
	}
	ch, err := c.RequestChannel(ctx, sluice.Text("a"), client.Route("channel.echo"))
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []string{"b", "c"} {
		if err := ch.Send(ctx, sluice.Text(x)); err != nil {
			t.Fatal(err)
		}
	}
	ch.CloseSend()
	var got string
	for {
		p, err := ch.Recv(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got += string(p.Data)
	}
	if got != "abc" {
		t.Fatalf("channel.echo gave %q", got)
	}
	// never + timeout cancels; the connection keeps working.
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = c.RequestResponse(tctx, sluice.Text(""), client.Route("never"))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("never: %v", err)
	}
	if _, err := c.RequestResponse(ctx, sluice.Text("x"), client.Route("")); err == nil {
		t.Fatal("an empty route should fail")
	}
	if _, err := c.RequestResponse(ctx, sluice.Text("x"), client.Route("echo")); err != nil {
		t.Fatal(err)
	}
}

func TestManualDemandOnTheWire(t *testing.T) {
	_, url := testserver.Start(t, server.Options{})
	c := dial(t, url)
	ctx := context.Background()
	s, err := c.RequestStream(ctx, sluice.Text(""), client.Route("ticks"), client.Manual())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Cancel()
	for round := 0; round < 3; round++ {
		s.Request(8)
		for range 8 {
			if _, err := s.Recv(ctx); err != nil {
				t.Fatal(err)
			}
		}
		st := c.Stats()
		if len(st.Streams) != 1 || st.Streams[0].Received != int64(8*(round+1)) || st.Streams[0].InFlight != 0 {
			t.Fatalf("stats after round %d: %+v", round, st.Streams)
		}
	}
}

func TestOverTCP(t *testing.T) {
	r := router.New()
	conformance.Register(r)
	srv := server.New(server.Options{Router: r})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTCP(l) }()
	defer func() {
		srv.Shutdown(context.Background())
		<-done
	}()
	c := dial(t, "tcp://"+l.Addr().String())
	p, err := c.RequestResponse(context.Background(), sluice.Text("over tcp"), client.Route("echo"))
	if err != nil || string(p.Data) != "over tcp" {
		t.Fatalf("%q %v", p.Data, err)
	}
}

func TestServerRequestsTheClient(t *testing.T) {
	got := make(chan string, 1)
	_, url := testserver.Start(t, server.Options{
		Accept: func(ctx context.Context, setup server.Setup, c *server.Conn) (*sluice.Handlers, error) {
			go func() {
				p, err := c.RequestResponse(context.Background(), sluice.Text("ping"))
				if err != nil {
					got <- "error: " + err.Error()
					return
				}
				got <- string(p.Data)
			}()
			return &sluice.Handlers{}, nil
		},
	})
	dial(t, url, client.WithHandlers(&sluice.Handlers{
		RequestResponse: func(ctx context.Context, p sluice.Payload) (sluice.Payload, error) {
			return sluice.Text(string(p.Data) + " pong"), nil
		},
	}))
	select {
	case s := <-got:
		if s != "ping pong" {
			t.Fatalf("server got %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer from the client")
	}
}

func TestDialErrors(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{"http://127.0.0.1:1/", "ws://127.0.0.1:1/rsocket", "tcp://127.0.0.1:1", "::bad"} {
		if _, err := client.Dial(ctx, u); err == nil {
			t.Fatalf("Dial(%q) succeeded", u)
		}
	}
}
