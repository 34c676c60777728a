package server_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/server"
)

// A connection is listed by Connections before it serves its first request
// (pipelined right behind SETUP): the server starts reading only after it
// registered the connection. (Found by the interop tests: 1-2% of fresh
// connections were missed when the reader started inside Accept.)
func TestConnectionsListsServingConn(t *testing.T) {
	var srv *server.Server
	var misses atomic.Int64
	srv = server.New(server.Options{Accept: func(ctx context.Context, setup server.Setup, c *server.Conn) (*sluice.Handlers, error) {
		return &sluice.Handlers{RequestResponse: func(ctx context.Context, p sluice.Payload) (sluice.Payload, error) {
			if len(srv.Connections()) == 0 {
				misses.Add(1)
			}
			return p, nil
		}}, nil
	}})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())
	url := "ws" + strings.TrimPrefix(hs.URL, "http")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 300
	for range n {
		c, err := client.Dial(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.RequestResponse(ctx, sluice.Text("x"))
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if m := misses.Load(); m > 0 {
		t.Errorf("%d of %d connections served their first request while server.Connections() did not list them", m, n)
	}
}
