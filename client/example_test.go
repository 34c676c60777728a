package client_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/router"
	"github.com/sluicehq/sluice/server"
)

// A server with one stream route, and a client that takes 5 elements with a
// window of 2: the server makes an element only when the client has room.
func Example() {
	r := router.New()
	r.Stream("letters", func(ctx context.Context, p sluice.Payload, out sluice.Sink) error {
		for _, c := range string(p.Data) {
			if err := out.Send(ctx, sluice.Text(string(c))); err != nil {
				return err
			}
		}
		return nil
	})
	srv := server.New(server.Options{Router: r})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx := context.Background()
	c, err := client.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/rsocket")
	if err != nil {
		panic(err)
	}
	defer c.Close()
	s, err := c.RequestStream(ctx, sluice.Text("abcde"), client.Route("letters"), client.Prefetch(2))
	if err != nil {
		panic(err)
	}
	for p, err := range s.All(ctx) {
		if err != nil {
			panic(err)
		}
		fmt.Print(string(p.Data), " ")
	}
	fmt.Println()
	// Output: a b c d e
}
