package websocket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/websocket"
)

// DialOptions configures Dial. The zero value is ready to use.
type DialOptions struct {
	// Header is sent with the handshake request (rsocket-cli's -T transport
	// headers, Authorization, Origin...).
	Header http.Header

	// TLSConfig is used for wss:// URLs; nil means the defaults. ServerName
	// defaults to the URL's host.
	TLSConfig *tls.Config

	// ReadBufferSize is the buffered reader under the WebSocket parser; 0
	// means 4096.
	ReadBufferSize int

	// WriteBufferSize is not used: the client frames and masks each message
	// straight into the connection's batch buffer, as a single WebSocket
	// frame whatever its size. It is kept so that existing options compile.
	WriteBufferSize int

	// MaxFrameSize is the largest message ReadFrame accepts; 0 means
	// transport.MaxFrame, which is also the upper bound.
	MaxFrameSize int

	// NetDialContext dials the TCP connection; nil means a net.Dialer. The
	// cork sits on top of whatever it returns (and under TLS for wss).
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Dial opens a WebSocket connection to rawURL (ws:// or wss://; a URL without
// a path gets "/", as rsocket-cli does). The context bounds the TCP dial, the
// TLS handshake and the HTTP upgrade; cancelling it after Dial returns has no
// effect on the connection. No proxy is used.
//
// When the server answers the upgrade with something other than 101, the
// error names the status and the response (its body holds up to 1 KiB) is
// returned with it. The response of a successful dial has an empty body.
func Dial(ctx context.Context, rawURL string, opts DialOptions) (*Conn, *http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, err
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, nil, fmt.Errorf("websocket: unsupported URL scheme %q (want ws or wss)", u.Scheme)
	}
	if u.Path == "" && u.Opaque == "" {
		u.Path = "/"
	}

	netDial := opts.NetDialContext
	if netDial == nil {
		var d net.Dialer
		netDial = d.DialContext
	}
	var (
		cork *corkConn
		stop = func() bool { return true }
	)
	d := websocket.Dialer{
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := netDial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			cork = newCork(nc)
			// gorilla watches only the context's deadline during the HTTP
			// exchange; make cancellation interrupt it too.
			stop = context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
			return cork, nil
		},
		TLSClientConfig: opts.TLSConfig,
		ReadBufferSize:  opts.ReadBufferSize,
		// gorilla writes no data message on the client (WriteFrame frames
		// them), so it needs no write buffer: this pool is never asked, and
		// saves the 4 KiB gorilla would allocate per connection.
		WriteBufferPool: noWriteBuffers{},
	}
	ws, resp, err := d.DialContext(ctx, u.String(), opts.Header)
	cancelled := !stop()
	if err != nil {
		if cancelled && ctx.Err() != nil {
			err = ctx.Err()
		} else if errors.Is(err, websocket.ErrBadHandshake) && resp != nil {
			err = fmt.Errorf("websocket: handshake with %s refused: %s", u.Redacted(), resp.Status)
		}
		return nil, resp, err
	}
	if cancelled || cork == nil {
		ws.Close()
		if err = ctx.Err(); err == nil {
			err = errors.New("websocket: dial interrupted")
		}
		return nil, resp, err
	}
	c := newConn(ws, cork, opts.MaxFrameSize)
	c.cw = &clientWriter{keys: newMaskKeys()}
	if nc := ws.NetConn(); nc != net.Conn(cork) {
		c.cw.tls = nc // wss: the cork is under TLS
	}
	// gorilla's default close handler, with data stopped first: a WriteFrame
	// racing with the reply must not put a data message after it.
	ws.SetCloseHandler(func(code int, _ string) error {
		c.closeData()
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(closeGrace))
		return nil
	})
	return c, resp, nil
}

// noWriteBuffers is a websocket.BufferPool with nothing in it (see Dial).
type noWriteBuffers struct{}

func (noWriteBuffers) Get() any { return nil }
func (noWriteBuffers) Put(any)  {}
