// Package enginebugs holds minimal tests for bugs the interop tests ran into in
// sluice itself (outside interop/). Each is skipped until the engine is fixed;
// remove the t.Skip with the fix.
package enginebugs

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestConnectionsListsServingConn: a connection serves requests before
// server.Connections lists it. server/server.go serve() adds the *Conn to
// s.conns (line 200) only after session.Accept (line 188) has returned, and
// session.Accept starts the reader and writer (internal/session/session.go
// line 306, c.start()) before returning; the first request, pipelined behind
// SETUP, is dispatched in that window. Seen in 1-2% of fresh connections here
// (-race, 2 cores): 23, 41 and 28 of 2000. Anything that finds a connection
// through Connections() (tests, the demo's live view, stats scrapes) can miss
// one that is already working. A fix: register the Conn before the loops
// start (in the acceptor, where conn.Conn is set, line 176) and unregister it
// on every path that returns.
func TestConnectionsListsServingConn(t *testing.T) {
	t.Skip("engine bug: server.Connections() misses a connection that already serves requests (server/server.go serve: registered after session.Accept started the loops)")
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
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const n = 2000
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
