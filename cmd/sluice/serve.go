package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/conformance"
	"github.com/sluicehq/sluice/demo"
	"github.com/sluicehq/sluice/internal/session"
	jsclient "github.com/sluicehq/sluice/js-client"
	"github.com/sluicehq/sluice/router"
	"github.com/sluicehq/sluice/server"
)

type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

const serveUsage = `usage: sluice serve [--addr 127.0.0.1:7878] [--tcp HOST:PORT] [--allow-origin ORIGIN ...]

Serves RSocket over WebSocket at ws://ADDR/rsocket with the conformance routes,
the demo page at /, Prometheus metrics at /metrics and the browser client at
/js/sluice.js. Stops gracefully on SIGINT or SIGTERM.
`

func serveMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, serveUsage); fs.PrintDefaults() }
	addr := fs.String("addr", "127.0.0.1:7878", "HTTP/WebSocket listen address (port 0 picks a free port)")
	tcpAddr := fs.String("tcp", "", "also serve RSocket over TCP on this address")
	var origins multiFlag
	fs.Var(&origins, "allow-origin", "allow browser WebSocket handshakes from this origin (repeatable; * = any)")
	verbose := fs.Bool("v", false, "log connection events")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice serve: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	app := newApp(origins, logger)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "sluice serve: %v\n", err)
		return 1
	}
	var tl net.Listener
	if *tcpAddr != "" {
		if tl, err = net.Listen("tcp", *tcpAddr); err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "sluice serve: %v\n", err)
			return 1
		}
	}
	hs := &http.Server{Handler: app.mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "listening ws://%s/rsocket\n", ln.Addr())
	if tl != nil {
		go func() { errc <- app.srv.ServeTCP(tl) }()
		fmt.Fprintf(stdout, "listening tcp://%s\n", tl.Addr())
	}
	if f, ok := stdout.(*os.File); ok {
		f.Sync()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	code := 0
	select {
	case <-sig:
	case err := <-errc:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(stderr, "sluice serve: %v\n", err)
			code = 1
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	app.close()
	hs.Shutdown(ctx)
	app.srv.Shutdown(ctx)
	if tl != nil {
		tl.Close()
	}
	return code
}

// app is everything `sluice serve` serves, so tests can run it in-process.
type app struct {
	srv   *server.Server
	mux   *http.ServeMux
	close func()
}

func newApp(origins []string, logger *slog.Logger) *app {
	d := demo.New(demo.Options{AllowOrigins: origins, Logger: logger})
	r := router.New()
	conformance.Register(r)
	d.Register(r)
	srv := server.New(server.Options{
		AllowOrigins: origins,
		Logger:       logger,
		Accept: func(ctx context.Context, setup server.Setup, c *server.Conn) (*sluice.Handlers, error) {
			conformance.Attach(c.Conn)
			return r.Handlers(setup.MetadataMIME), nil
		},
		FrameHook: d.FrameHook, // the demo page's frame log
		WrapConn:  d.WrapConn,  // ?bw=BYTES_PER_S: a simulated slow network
	})
	d.SetServer(srv)
	mux := http.NewServeMux()
	mux.Handle("/rsocket", srv)
	mux.HandleFunc("/js/sluice.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(jsclient.Bundle)
	})
	mux.Handle("/metrics", metricsHandler(srv))
	mux.Handle("/raw", d.RawHandler())     // the demo's raw WebSocket comparison feed
	mux.Handle("/{$}", d.PageHandler())    // the demo page
	mux.Handle("/demo/", d.AssetHandler()) // its scripts and styles
	_ = session.DefaultMTU
	return &app{srv: srv, mux: mux, close: d.Close}
}
