package websocket

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sluicehq/sluice/transport"
)

// ServerOptions configures Handler. The zero value is ready to use.
type ServerOptions struct {
	// AllowOrigins lists browser origins ("https://app.example.com", scheme
	// and host[:port], no path) accepted besides the server's own; "*"
	// accepts any. See CheckOrigin.
	AllowOrigins []string

	// ReadBufferSize is the size of the buffered reader under the WebSocket
	// parser. 0 (the default) reuses net/http's 4 KiB connection buffer,
	// costing no extra memory; other values allocate a reader of that size
	// (at least 125 bytes).
	ReadBufferSize int

	// WriteBufferSize is the buffer gorilla/websocket frames one message in
	// before it goes into the batch. 0 (the default) reuses net/http's 4 KiB
	// connection buffer. Messages larger than this still work.
	WriteBufferSize int

	// MaxFrameSize is the largest message ReadFrame accepts; a larger one
	// gives transport.ErrFrameTooLarge. 0 means transport.MaxFrame, which is
	// also the upper bound.
	MaxFrameSize int

	// HandshakeTimeout bounds writing the 101 response. 0 means 10 seconds.
	HandshakeTimeout time.Duration

	// WrapConn, when set, is given each hijacked connection (and the upgrade
	// request) before anything is written to it, and the connection it
	// returns is the one WebSocket messages are written to and read from
	// (the demo's per-connection bandwidth limiter, say). It must return a
	// usable net.Conn: nc itself when it has nothing to add.
	WrapConn func(nc net.Conn, r *http.Request) net.Conn
}

// Handler returns an http.Handler that upgrades requests to WebSocket and
// calls onConn with each connection, in the request's goroutine. onConn owns
// the connection while it runs (it reads, writes, and may close it); the
// handler closes the connection when onConn returns. The *http.Request is
// the upgrade request (headers, remote address, URL).
//
// The dynamic type of the transport.Conn is *Conn (CloseWithCode,
// RemoteAddr).
//
// Requests that are not valid WebSocket handshakes get an HTTP error; a
// browser origin that is not allowed gets 403 Forbidden (see CheckOrigin).
// No subprotocol is required or negotiated.
//
// Hijacked connections are not tracked by http.Server's Shutdown; whoever
// serves must close them (for instance by making onConn return).
func Handler(opts ServerOptions, onConn func(c transport.Conn, r *http.Request)) http.Handler {
	ht := opts.HandshakeTimeout
	if ht == 0 {
		ht = 10 * time.Second
	}
	return &handler{
		up: websocket.Upgrader{
			HandshakeTimeout: ht,
			ReadBufferSize:   opts.ReadBufferSize,
			WriteBufferSize:  opts.WriteBufferSize,
			CheckOrigin:      CheckOrigin(opts.AllowOrigins),
		},
		maxFrame: opts.MaxFrameSize,
		wrap:     opts.WrapConn,
		onConn:   onConn,
	}
}

type handler struct {
	up       websocket.Upgrader
	maxFrame int
	wrap     func(net.Conn, *http.Request) net.Conn
	onConn   func(transport.Conn, *http.Request)
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hw := &hijackWriter{ResponseWriter: w, wrap: h.wrap, req: r}
	ws, err := h.up.Upgrade(hw, r, nil)
	if err != nil {
		return // gorilla replied with an HTTP error, or closed the connection
	}
	c := newConn(ws, hw.cork, h.maxFrame)
	defer c.Close()
	h.onConn(c, r)
}

// hijackWriter hands gorilla a cork around the hijacked connection. The cork
// starts uncorked, so the 101 response gorilla writes after hijacking goes out
// directly.
type hijackWriter struct {
	http.ResponseWriter
	wrap func(net.Conn, *http.Request) net.Conn // ServerOptions.WrapConn, or nil
	req  *http.Request
	cork *corkConn
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if w.wrap != nil {
		nc = w.wrap(nc, w.req)
	}
	w.cork = newCork(nc)
	return w.cork, brw, nil
}

func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// CheckOrigin returns the origin policy of sluice serve as a function for
// websocket.Upgrader.CheckOrigin or any other handshake:
//
//   - a request without an Origin header (Go, the CLI, Node) is accepted;
//   - an Origin equal to the request's own origin is accepted: same host
//     (the Host header, ignoring case and a default port) and same scheme
//     (https when the request came over TLS, http otherwise);
//   - an Origin listed in allow is accepted (compared the same way);
//   - if allow contains "*", every Origin is accepted;
//   - anything else is refused (the Handler answers 403).
//
// Entries of allow that are not scheme://host[:port] URLs (such as "null")
// must match the Origin header exactly, ignoring case.
func CheckOrigin(allow []string) func(r *http.Request) bool {
	set := make(map[string]bool, len(allow))
	for _, a := range allow {
		if a == "*" {
			return func(*http.Request) bool { return true }
		}
		set[normalizeOrigin(a)] = true
	}
	return func(r *http.Request) bool {
		vs := r.Header.Values("Origin")
		if len(vs) == 0 {
			return true
		}
		if len(vs) > 1 {
			return false
		}
		origin := normalizeOrigin(vs[0])
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		if origin == scheme+"://"+normalizeHost(scheme, r.Host) {
			return true
		}
		return set[origin]
	}
}

// normalizeOrigin turns "HTTPS://Example.com:443/" into "https://example.com".
// Values that are not scheme://host URLs are only lower-cased.
func normalizeOrigin(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return strings.ToLower(s)
	}
	scheme := strings.ToLower(u.Scheme)
	return scheme + "://" + normalizeHost(scheme, u.Host)
}

// normalizeHost lower-cases host[:port] and drops the scheme's default port.
func normalizeHost(scheme, hostport string) string {
	hostport = strings.ToLower(hostport)
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport // no port
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return hostport
}
