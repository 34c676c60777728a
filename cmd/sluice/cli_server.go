package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/protocol"
	"github.com/sluicehq/sluice/server"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// serve is --server, the JVM rsocket-cli's server mode: listen on the URI,
// print the data of everything that arrives (request payloads, channel
// elements, fire-and-forget data, METADATA_PUSH metadata) one element per
// line, and answer from the -i inputs: a request-response with the first
// input, a stream with every input, a channel with every input while it
// prints what comes in. Without -i it echoes: the request's data is the
// response, the stream's single element, and each channel element comes back.
// It runs until SIGINT/SIGTERM (or --timeout) and then exits 0.
func (r *cliRun) serve(ctx context.Context) int {
	u, _ := checkURI(r.o.uri)
	var inputs [][]byte
	if len(r.o.inputs) > 0 {
		if hasStdin(r.o.inputs) {
			if err := r.stdin.readAll(); err != nil {
				fmt.Fprintf(r.stderr, "sluice: reading stdin: %v\n", err)
				return 1
			}
		}
		var err error
		if inputs, err = newInputReader(r.o.inputs, r.stdin).all(); err != nil {
			fmt.Fprintf(r.stderr, "sluice: %v\n", unwrapPath(err))
			return 1
		}
	}
	r.out = newPrinter(r.stdout)
	defer r.out.close()

	opts := server.Options{
		Logger: discardLogger(),
		Accept: func(ctx context.Context, setup server.Setup, c *server.Conn) (*sluice.Handlers, error) {
			return r.serverHandlers(inputs), nil
		},
	}
	if r.o.debug {
		opts.FrameHook = newConnFrameLogger(r.stderr).hook
	}
	srv := server.New(opts)
	ln, err := net.Listen("tcp", u.Host)
	if err != nil {
		fmt.Fprintf(r.stderr, "sluice: cannot listen on %s: %s\n", u.Host, describeNetErr(ctx, err))
		return 1
	}
	errc := make(chan error, 1)
	var hs *http.Server
	if strings.EqualFold(u.Scheme, "tcp") {
		go func() { errc <- srv.ServeTCP(ln) }()
		fmt.Fprintf(r.stderr, "listening tcp://%s\n", ln.Addr())
	} else {
		var h http.Handler = srv
		path := u.Path
		if path != "" && path != "/" {
			mux := http.NewServeMux()
			mux.Handle(path, srv)
			h = mux
		} else {
			path = "/"
		}
		hs = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
		go func() { errc <- hs.Serve(ln) }()
		fmt.Fprintf(r.stderr, "listening ws://%s%s\n", ln.Addr(), path)
	}
	code := 0
	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(r.stderr, "sluice: %s\n", oneLine(err.Error()))
			code = 1
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if hs != nil {
		hs.Shutdown(sctx)
	}
	srv.Shutdown(sctx)
	ln.Close()
	if hs == nil {
		// ServeTCP returns once the listener is closed.
		select {
		case <-errc:
		case <-sctx.Done():
		}
	}
	return code
}

// serverHandlers answer every request whatever its route (see serve).
func (r *cliRun) serverHandlers(inputs [][]byte) *sluice.Handlers {
	print := func(b []byte) { r.out.element(b) }
	answer := func(p sluice.Payload) []sluice.Payload {
		if len(inputs) == 0 {
			return []sluice.Payload{{Data: p.Data}}
		}
		out := make([]sluice.Payload, len(inputs))
		for i, d := range inputs {
			out[i] = sluice.Payload{Data: d}
		}
		return out
	}
	return &sluice.Handlers{
		RequestResponse: func(ctx context.Context, p sluice.Payload) (sluice.Payload, error) {
			print(p.Data)
			return answer(p)[0], nil
		},
		FireAndForget: func(ctx context.Context, p sluice.Payload) { print(p.Data) },
		MetadataPush:  func(ctx context.Context, md []byte) { print(md) },
		RequestStream: func(ctx context.Context, p sluice.Payload, out sluice.Sink) error {
			print(p.Data)
			for _, e := range answer(p) {
				if err := out.Send(ctx, e); err != nil {
					return err
				}
			}
			return nil
		},
		RequestChannel: func(ctx context.Context, p sluice.Payload, in sluice.Stream, out sluice.Sink) error {
			print(p.Data)
			if len(inputs) == 0 {
				// Echo every element, the first included.
				for e := p; ; {
					if err := out.Send(ctx, sluice.Payload{Data: e.Data}); err != nil {
						return err
					}
					var err error
					if e, err = in.Recv(ctx); err == io.EOF {
						return nil
					} else if err != nil {
						return err
					}
					print(e.Data)
				}
			}
			// Send the inputs while printing what arrives.
			var wg sync.WaitGroup
			wg.Go(func() {
				for {
					e, err := in.Recv(ctx)
					if err != nil {
						return
					}
					print(e.Data)
				}
			})
			var err error
			for _, e := range answer(p) {
				if err = out.Send(ctx, e); err != nil {
					break
				}
			}
			wg.Wait()
			return err
		},
	}
}

// connFrameLogger is --debug for --server: one line per frame, prefixed with
// the connection's remote address, with each connection's metadata MIME type
// (from its SETUP) for the metadata preview.
type connFrameLogger struct {
	mu    sync.Mutex
	w     io.Writer
	mimes map[*server.Conn]string
	buf   []byte
}

func newConnFrameLogger(w io.Writer) *connFrameLogger {
	return &connFrameLogger{w: w, mimes: map[*server.Conn]string{}}
}

func (l *connFrameLogger) hook(c *server.Conn, in bool, b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if f, err := protocol.Decode(b); err == nil && f.Type == protocol.TypeSetup && in {
		if len(l.mimes) >= 4096 {
			clear(l.mimes) // closed connections are not reported; forget old ones
		}
		l.mimes[c] = string(f.MetadataMIME)
	}
	l.buf = appendFrameLine(l.buf[:0], "["+c.Remote+"] ", in, b, l.mimes[c])
	l.w.Write(l.buf)
}
