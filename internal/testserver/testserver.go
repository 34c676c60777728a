// Package testserver starts a sluice server with the conformance routes on a
// loopback httptest server, for tests of every package.
package testserver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/conformance"
	"github.com/sluicehq/sluice/router"
	"github.com/sluicehq/sluice/server"

	"net/http/httptest"
)

// Start runs a server with the conformance routes (unless opts has its own
// Router or Accept) and returns it with its ws:// URL. It shuts down when the
// test ends.
func Start(t testing.TB, opts server.Options) (*server.Server, string) {
	t.Helper()
	if opts.Router == nil && opts.Accept == nil {
		r := router.New()
		conformance.Register(r)
		opts.Accept = func(ctx context.Context, setup server.Setup, c *server.Conn) (*sluice.Handlers, error) {
			conformance.Attach(c.Conn)
			return r.Handlers(setup.MetadataMIME), nil
		}
	}
	srv := server.New(opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	return srv, "ws" + strings.TrimPrefix(hs.URL, "http") + "/rsocket"
}
