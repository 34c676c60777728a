package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/transport"
	"github.com/sluicehq/sluice/transport/tcp"
	"github.com/sluicehq/sluice/transport/websocket"
)

// checkURI validates a client URI: ws://, wss:// or tcp:// with a host.
func checkURI(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, usagef("bad URI %q: %v", raw, errors.Unwrap(err))
	}
	switch strings.ToLower(u.Scheme) {
	case "ws", "wss", "tcp":
	case "":
		return nil, usagef("bad URI %q: want ws://HOST:PORT/PATH, wss://... or tcp://HOST:PORT", raw)
	default:
		return nil, usagef("bad URI %q: unsupported scheme %q (want ws, wss or tcp)", raw, u.Scheme)
	}
	if u.Host == "" {
		return nil, usagef("bad URI %q: no host", raw)
	}
	if strings.EqualFold(u.Scheme, "tcp") && u.Port() == "" {
		return nil, usagef("bad URI %q: tcp:// needs a port", raw)
	}
	return u, nil
}

// dialTransport opens the transport for u; header is sent with a WebSocket
// handshake. Errors are one line, meant for a person.
func dialTransport(ctx context.Context, u *url.URL, header http.Header) (transport.Conn, error) {
	var (
		t   transport.Conn
		err error
	)
	switch strings.ToLower(u.Scheme) {
	case "tcp":
		t, err = tcp.Dial(ctx, u.Host)
	default:
		var resp *http.Response
		t, resp, err = websocket.Dial(ctx, u.String(), websocket.DialOptions{Header: header, TLSConfig: &tls.Config{}})
		if err != nil && resp != nil {
			err = fmt.Errorf("WebSocket handshake refused: HTTP %s%s", resp.Status, pathHint(u, resp))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cannot connect to %s: %s", u.Redacted(), describeNetErr(ctx, err))
	}
	return t, nil
}

func pathHint(u *url.URL, resp *http.Response) string {
	if resp.StatusCode == http.StatusForbidden {
		return " (the server refused this Origin or credentials)"
	}
	if u.Path == "" || u.Path == "/" {
		return " (no path in the URI; `sluice serve` listens at /rsocket)"
	}
	return ""
}

// describeNetErr turns dial and TLS errors into short, familiar words.
func describeNetErr(ctx context.Context, err error) string {
	var (
		unk  x509.UnknownAuthorityError
		host x509.HostnameError
		inv  x509.CertificateInvalidError
		rec  tls.RecordHeaderError
		dns  *net.DNSError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (ctx.Err() != nil && errors.Is(context.Cause(ctx), errTimeout)):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by the server"
	case errors.As(err, &unk):
		return "TLS: the server's certificate is signed by an unknown authority"
	case errors.As(err, &host):
		return "TLS: " + oneLine(host.Error())
	case errors.As(err, &inv):
		return "TLS: " + oneLine(inv.Error())
	case errors.As(err, &rec):
		return "TLS handshake failed: the server does not speak TLS (try ws:// instead of wss://)"
	case errors.As(err, &dns):
		return "cannot resolve host " + dns.Name
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection during the handshake"
	}
	return oneLine(err.Error())
}

// oneLine keeps a message on one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// errTimeout is the cause of the --timeout context.
var errTimeout = errors.New("timeout")

// describeErr is the one line printed for a failure after connecting.
func describeErr(err error) string {
	var se *sluice.Error
	switch {
	case errors.As(err, &se):
		msg := oneLine(se.Message)
		if msg == "" {
			msg = "(no message)"
		}
		return fmt.Sprintf("error %v (0x%08X): %s", se.Code, uint32(se.Code), msg)
	case errors.Is(err, errTimeout):
		return "timed out"
	case errors.Is(err, sluice.ErrClosed), errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		return "the connection was closed"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "the connection was reset by the server"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "the server stopped reading (write timeout)"
	}
	return oneLine(err.Error())
}
