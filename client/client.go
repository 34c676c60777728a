// Package client dials RSocket servers over WebSocket (ws://, wss://) and TCP
// (tcp://) and makes requests whose demand crosses the network: a stream
// grants credit as the application takes elements.
//
//	c, err := client.Dial(ctx, "ws://127.0.0.1:7878/rsocket")
//	...
//	s, err := c.RequestStream(ctx, sluice.Text("5"), client.Route("count"), client.Prefetch(8))
//	for p, err := range s.All(ctx) { ... }
package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/session"
	"github.com/sluicehq/sluice/protocol/metadata"
	"github.com/sluicehq/sluice/transport"
	"github.com/sluicehq/sluice/transport/tcp"
	"github.com/sluicehq/sluice/transport/websocket"
)

// Stats is a snapshot of the connection and its streams.
type Stats = session.Stats

// StreamStats is a snapshot of one stream.
type StreamStats = session.StreamStats

// Client is one RSocket connection, the requesting side (it may also serve
// requests from the server, see WithHandlers). Safe for concurrent use.
type Client struct {
	c            *session.Conn
	metadataMIME string
}

type options struct {
	setup        sluice.Payload
	dataMIME     string
	metadataMIME string
	keepalive    time.Duration
	lifetime     time.Duration
	handlers     *sluice.Handlers
	header       http.Header
	tls          *tls.Config
	logger       *slog.Logger
	frameHook    func(in bool, frame []byte)
	name         string
	cfg          session.Config
}

// Option configures Dial and New.
type Option func(*options)

// WithSetup sets the SETUP frame's payload (data and metadata).
func WithSetup(p sluice.Payload) Option { return func(o *options) { o.setup = p } }

// WithDataMIME sets the data MIME type announced in SETUP (default application/octet-stream).
func WithDataMIME(m string) Option { return func(o *options) { o.dataMIME = m } }

// WithMetadataMIME sets the metadata MIME type announced in SETUP (default
// composite metadata, which Route needs).
func WithMetadataMIME(m string) Option { return func(o *options) { o.metadataMIME = m } }

// WithKeepalive sets the keepalive interval and max lifetime (defaults 20 s and 90 s).
func WithKeepalive(interval, lifetime time.Duration) Option {
	return func(o *options) { o.keepalive, o.lifetime = interval, lifetime }
}

// WithHandlers lets the server make requests of this client.
func WithHandlers(h *sluice.Handlers) Option { return func(o *options) { o.handlers = h } }

// WithHeader adds HTTP headers to the WebSocket handshake.
func WithHeader(h http.Header) Option { return func(o *options) { o.header = h } }

// WithTLS sets the TLS configuration for wss://.
func WithTLS(c *tls.Config) Option { return func(o *options) { o.tls = c } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithFrameHook sees every frame sent (in=false) and received (in=true).
func WithFrameHook(h func(in bool, frame []byte)) Option { return func(o *options) { o.frameHook = h } }

// WithName announces a client name in SETUP (a composite-metadata entry
// application/x.sluice.client-name), shown by the demo page.
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithMTU sets the largest frame sent; larger elements are fragmented (default 64 KiB).
func WithMTU(n int) Option { return func(o *options) { o.cfg.MTU = n } }

// WithWriteTimeout sets how long a write may block before the server is
// considered gone (default 30 s).
func WithWriteTimeout(d time.Duration) Option { return func(o *options) { o.cfg.WriteTimeout = d } }

// Dial connects to a ws://, wss:// or tcp:// URL and sends SETUP.
func Dial(ctx context.Context, rawURL string, opts ...Option) (*Client, error) {
	o := collect(opts)
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("sluice: bad URL %q: %v", rawURL, err)
	}
	var t transport.Conn
	switch strings.ToLower(u.Scheme) {
	case "ws", "wss":
		// A large read buffer: a client usually reads far more than it writes.
		t, _, err = websocket.Dial(ctx, rawURL, websocket.DialOptions{Header: o.header, TLSConfig: o.tls, ReadBufferSize: 64 << 10})
	case "tcp":
		if u.Host == "" {
			return nil, fmt.Errorf("sluice: bad URL %q: no host", rawURL)
		}
		t, err = tcp.Dial(ctx, u.Host)
	default:
		return nil, fmt.Errorf("sluice: unsupported URL scheme %q (want ws, wss or tcp)", u.Scheme)
	}
	if err != nil {
		return nil, err
	}
	return newClient(t, o)
}

// New runs a client on an established transport connection.
func New(t transport.Conn, opts ...Option) (*Client, error) { return newClient(t, collect(opts)) }

func collect(opts []Option) *options {
	o := &options{dataMIME: "application/octet-stream", metadataMIME: metadata.MIMEComposite}
	for _, f := range opts {
		f(o)
	}
	return o
}

func newClient(t transport.Conn, o *options) (*Client, error) {
	cfg := o.cfg
	cfg.Handlers = o.handlers
	cfg.Logger = o.logger
	cfg.FrameHook = o.frameHook
	setup := o.setup
	if o.name != "" && o.metadataMIME == metadata.MIMEComposite {
		setup.Metadata = metadata.AppendComposite(append([]byte(nil), setup.Metadata...), "application/x.sluice.client-name", []byte(o.name))
	}
	c, err := session.Client(t, cfg, session.Setup{
		Keepalive: o.keepalive, Lifetime: o.lifetime,
		MetadataMIME: o.metadataMIME, DataMIME: o.dataMIME, Payload: setup,
	})
	if err != nil {
		return nil, err
	}
	return &Client{c: c, metadataMIME: o.metadataMIME}, nil
}

// CallOption configures one request.
type CallOption func(*call)

type call struct {
	route  string
	policy session.Policy
	auth   []byte // a whole composite auth entry's content
}

// Route puts a routing entry into the request's composite metadata.
func Route(r string) CallOption { return func(c *call) { c.route = r } }

// Prefetch grants n elements up front and tops up as the application takes
// them (default 64; 2^31-1 = unbounded).
func Prefetch(n int64) CallOption { return func(c *call) { c.policy = session.Policy{Prefetch: n} } }

// Manual grants nothing until Stream.Request(n); the request is sent with the
// first Request.
func Manual() CallOption { return func(c *call) { c.policy = session.Policy{Manual: true} } }

// BearerAuth adds a bearer-token authentication entry.
func BearerAuth(token string) CallOption {
	return func(c *call) { c.auth = metadata.AppendBearerAuth(nil, token) }
}

// SimpleAuth adds a simple (user/password) authentication entry.
func SimpleAuth(user, password string) CallOption {
	return func(c *call) { c.auth = metadata.AppendSimpleAuth(nil, user, password) }
}

func (c *Client) prepare(p sluice.Payload, opts []CallOption) (sluice.Payload, session.Policy, error) {
	var cl call
	for _, f := range opts {
		f(&cl)
	}
	if cl.route != "" {
		if err := metadata.CheckTag(cl.route); err != nil {
			return p, cl.policy, fmt.Errorf("sluice: bad route: %w", err)
		}
	}
	if cl.route != "" || cl.auth != nil {
		md := make([]byte, 0, len(p.Metadata)+len(cl.route)+len(cl.auth)+16)
		md = append(md, p.Metadata...)
		if cl.route != "" {
			if c.metadataMIME == metadata.MIMERouting {
				md = metadata.AppendRouting(md, cl.route)
			} else {
				md = metadata.AppendCompositeRoute(md, cl.route)
			}
		}
		if cl.auth != nil {
			md = metadata.AppendComposite(md, metadata.MIMEAuth, cl.auth)
		}
		p.Metadata = md
	}
	return p, cl.policy, nil
}

// RequestResponse sends p and waits for the response.
func (c *Client) RequestResponse(ctx context.Context, p sluice.Payload, opts ...CallOption) (sluice.Payload, error) {
	p, _, err := c.prepare(p, opts)
	if err != nil {
		return sluice.Payload{}, err
	}
	return c.c.RequestResponse(ctx, p)
}

// FireAndForget sends p; nothing comes back.
func (c *Client) FireAndForget(ctx context.Context, p sluice.Payload, opts ...CallOption) error {
	p, _, err := c.prepare(p, opts)
	if err != nil {
		return err
	}
	return c.c.FireAndForget(ctx, p)
}

// RequestStream starts a stream. Cancelling ctx cancels it.
func (c *Client) RequestStream(ctx context.Context, p sluice.Payload, opts ...CallOption) (sluice.Stream, error) {
	p, pol, err := c.prepare(p, opts)
	if err != nil {
		return nil, err
	}
	return c.c.RequestStream(ctx, p, pol)
}

// RequestChannel starts a channel whose first outbound element is p.
func (c *Client) RequestChannel(ctx context.Context, p sluice.Payload, opts ...CallOption) (sluice.Channel, error) {
	p, pol, err := c.prepare(p, opts)
	if err != nil {
		return nil, err
	}
	return c.c.RequestChannel(ctx, p, pol)
}

// MetadataPush sends METADATA_PUSH.
func (c *Client) MetadataPush(ctx context.Context, md []byte) error { return c.c.MetadataPush(ctx, md) }

// Stats returns a snapshot of the connection.
func (c *Client) Stats() Stats { return c.c.Stats() }

// Done is closed when the connection has closed.
func (c *Client) Done() <-chan struct{} { return c.c.Done() }

// Err returns why the connection closed.
func (c *Client) Err() error { return c.c.Err() }

// Close closes the connection and waits for the loops to exit.
func (c *Client) Close() error {
	c.c.Close()
	<-c.c.Done()
	return nil
}
