// Package demo is the server side of the demo page that `sluice serve` shows
// at /: the page and its assets (embedded), the raw WebSocket comparison feed
// (/raw), the demo routes on the RSocket side (demo.feed, demo.stats,
// demo.frames), a per-connection bandwidth limiter for simulated slow
// networks, and the live stats every chart on the page is drawn from.
//
// Wiring (what cmd/sluice does):
//
//	d := demo.New(demo.Options{AllowOrigins: origins})
//	d.Register(router)
//	srv := server.New(server.Options{..., FrameHook: d.FrameHook, WrapConn: d.WrapConn})
//	d.SetServer(srv)
//	mux.Handle("/raw", d.RawHandler())
//	mux.Handle("/{$}", d.PageHandler())
//	mux.Handle("/demo/", d.AssetHandler())
//	defer d.Close()
package demo

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/router"
	"github.com/sluicehq/sluice/server"
)

//go:embed web
var webFS embed.FS

// Options configure a Demo. The zero value is ready to use.
type Options struct {
	// AllowOrigins is the browser origin policy of /raw, the same as the
	// server's (see websocket.CheckOrigin).
	AllowOrigins []string
	// RawQueueCap is the cap on each raw connection's app-side queue, bytes.
	// Default DefaultRawQueueCap.
	RawQueueCap int
	// MaxRawConns caps the raw connections open at once. Default 32.
	MaxRawConns int
	Logger      *slog.Logger
}

// Demo serves the demo. Create it with New; its methods are safe for
// concurrent use.
type Demo struct {
	opts   Options
	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // raw connections and frame-log emitters

	srv atomic.Pointer[server.Server]

	rawMu   sync.Mutex
	raw     map[*rawConn]struct{}
	rawSeq  int64
	gcTimer *time.Timer // returns the raw queues' memory to the OS after they close

	bwMu sync.Mutex
	bw   map[string]int // remote address -> bandwidth limit of RSocket connections

	snapMu   sync.Mutex
	snapAt   int64 // monotonic ns of the cached snapshot
	snapJSON []byte

	frames frameWatchers
}

// New returns a Demo.
func New(opts Options) *Demo {
	if opts.RawQueueCap <= 0 {
		opts.RawQueueCap = DefaultRawQueueCap
	}
	if opts.MaxRawConns <= 0 {
		opts.MaxRawConns = 32
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Demo{opts: opts, ctx: ctx, cancel: cancel, raw: map[*rawConn]struct{}{}, bw: map[string]int{}}
	d.frames.init()
	return d
}

// SetServer tells the demo which server's connections to report.
func (d *Demo) SetServer(s *server.Server) { d.srv.Store(s) }

// Register adds the demo routes to r: demo.feed, demo.stats and demo.frames.
func (d *Demo) Register(r *router.Router) {
	r.Stream("demo.feed", Feed)
	r.Stream("demo.stats", d.statsStream)
	r.Stream("demo.frames", d.framesStream)
}

// WrapConn is the server's WrapConn hook: a WebSocket connection whose
// handshake asked for `?bw=BYTES_PER_S` gets its writes limited to that rate
// (see LimitConn); others are returned as they are.
func (d *Demo) WrapConn(nc net.Conn, r *http.Request) net.Conn {
	bw := ParseBandwidth(r)
	if bw == 0 {
		return nc
	}
	d.bwMu.Lock()
	d.bw[r.RemoteAddr] = bw
	d.bwMu.Unlock()
	return &forgetConn{Conn: LimitConn(nc, bw), forget: func() {
		d.bwMu.Lock()
		delete(d.bw, r.RemoteAddr)
		d.bwMu.Unlock()
	}}
}

// forgetConn runs forget once when closed.
type forgetConn struct {
	net.Conn
	once   sync.Once
	forget func()
}

func (c *forgetConn) Close() error {
	c.once.Do(c.forget)
	return c.Conn.Close()
}

func (d *Demo) bandwidthOf(remote string) int {
	d.bwMu.Lock()
	defer d.bwMu.Unlock()
	return d.bw[remote]
}

// PageHandler serves the demo page (web/index.html).
func (d *Demo) PageHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := webFS.ReadFile("web/index.html")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	})
}

// AssetHandler serves the page's scripts and styles under /demo/.
func (d *Demo) AssetHandler() http.Handler {
	sub, _ := fs.Sub(webFS, "web")
	fsrv := http.StripPrefix("/demo/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		fsrv.ServeHTTP(w, r)
	})
}

// Close ends every raw connection and frame log and waits for them.
func (d *Demo) Close() {
	d.cancel()
	d.wg.Wait()
	d.rawMu.Lock()
	if d.gcTimer != nil {
		d.gcTimer.Stop()
	}
	d.rawMu.Unlock()
}
