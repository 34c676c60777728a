// Package wsraw is the benchmark's own minimal WebSocket client (RFC 6455,
// client side only): a hand-written handshake, a zero-copy frame parser over
// one large read buffer, and masked writes coalesced in a buffer that leaves
// in one system call before the next blocking read.
//
// It exists so that the comparison drives every server with the same client
// code, and so that the client is never the limit: the parser hands out
// slices of its read buffer and allocates nothing per message (see the
// harness's in-memory read benchmark). It is not a general-purpose client:
// no extensions, no subprotocols, no TLS.
package wsraw

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// WebSocket opcodes.
const (
	OpContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	OpClose        = 0x8
	OpPing         = 0x9
	OpPong         = 0xA
)

// DefaultReadBuffer is the read buffer of Dial when none is given.
const DefaultReadBuffer = 256 << 10

// Conn is one client WebSocket connection. Next and the write methods belong
// to one goroutine (the benchmark's single client loop); Close may be called
// from anywhere.
type Conn struct {
	nc net.Conn

	rbuf   []byte
	rs, re int    // unread bytes are rbuf[rs:re]
	frag   []byte // a fragmented message being assembled
	fragOp byte

	wbuf []byte
	mask [4]byte

	// Reads counts read system calls; Bytes the bytes they returned.
	Reads int64
	Bytes int64
}

// Dial connects to a ws:// URL, performs the handshake and returns the
// connection. readBuf is the size of the read buffer (0: DefaultReadBuffer).
func Dial(ctx context.Context, rawURL string, readBuf int) (*Conn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "ws" {
		return nil, fmt.Errorf("wsraw: only ws:// URLs, got %q", rawURL)
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	c, err := Handshake(ctx, nc, u, readBuf)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// Handshake performs the client handshake on an established connection.
func Handshake(ctx context.Context, nc net.Conn, u *url.URL, readBuf int) (*Conn, error) {
	if readBuf <= 0 {
		readBuf = DefaultReadBuffer
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
		defer nc.SetDeadline(time.Time{})
	}
	var key [16]byte
	rand.Read(key[:])
	k := base64.StdEncoding.EncodeToString(key[:])
	path := u.RequestURI()
	req := "GET " + path + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + k +
		"\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 4096)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, fmt.Errorf("wsraw: handshake refused: %s", resp.Status)
	}
	h := sha1.Sum([]byte(k + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(h[:]) {
		return nil, errors.New("wsraw: bad Sec-WebSocket-Accept")
	}
	c := &Conn{nc: nc, rbuf: make([]byte, readBuf)}
	rand.Read(c.mask[:])
	// Whatever the server sent right after the 101 is already in br.
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		c.re = copy(c.rbuf, b)
	}
	return c, nil
}

// NetConn returns the TCP connection (for deadlines).
func (c *Conn) NetConn() net.Conn { return c.nc }

// Close closes the TCP connection at once.
func (c *Conn) Close() error { return c.nc.Close() }

// Next returns the next data message (binary or text) and its opcode. The
// slice aliases the read buffer and is valid until the next call to Next.
// Pings are answered (the pong is queued and leaves with the next flush),
// pongs are skipped, a close frame gives io.EOF. Pending writes are flushed
// before Next blocks on the network.
func (c *Conn) Next() (byte, []byte, error) {
	for {
		op, fin, payload, err := c.nextFrame()
		if err != nil {
			return 0, nil, err
		}
		switch {
		case op >= 0x8:
			switch op {
			case OpClose:
				return 0, nil, io.EOF
			case OpPing:
				c.WriteMessage(OpPong, payload)
			}
			continue
		case op == OpContinuation:
			c.frag = append(c.frag, payload...)
			if fin {
				return c.fragOp, c.frag, nil
			}
			continue
		case !fin:
			c.fragOp = op
			c.frag = append(c.frag[:0], payload...)
			continue
		}
		return op, payload, nil
	}
}

// nextFrame parses one WebSocket frame from the read buffer, reading more
// when it holds less than a frame.
func (c *Conn) nextFrame() (op byte, fin bool, payload []byte, err error) {
	for {
		b := c.rbuf[c.rs:c.re]
		if len(b) >= 2 {
			hdr := 2
			n := int64(b[1] & 0x7f)
			switch n {
			case 126:
				hdr = 4
				if len(b) >= hdr {
					n = int64(binary.BigEndian.Uint16(b[2:]))
				}
			case 127:
				hdr = 10
				if len(b) >= hdr {
					n = int64(binary.BigEndian.Uint64(b[2:]))
				}
			}
			masked := b[1]&0x80 != 0
			if masked {
				hdr += 4
			}
			if len(b) >= hdr {
				total := int64(hdr) + n
				if total > int64(len(c.rbuf)) {
					if total > 1<<26 {
						return 0, false, nil, fmt.Errorf("wsraw: frame of %d bytes", n)
					}
					nb := make([]byte, total)
					c.re = copy(nb, b)
					c.rs = 0
					c.rbuf = nb
					continue
				}
				if int64(len(b)) >= total {
					p := b[hdr:total]
					if masked {
						var key [4]byte
						copy(key[:], b[hdr-4:hdr])
						maskBytes(key, p)
					}
					c.rs += int(total)
					return b[0] & 0x0f, b[0]&0x80 != 0, p, nil
				}
			}
		}
		if err := c.fill(); err != nil {
			return 0, false, nil, err
		}
	}
}

// fill flushes pending writes, then reads at least one more byte.
func (c *Conn) fill() error {
	if len(c.wbuf) > 0 {
		if err := c.Flush(); err != nil {
			return err
		}
	}
	if c.rs > 0 {
		c.re = copy(c.rbuf, c.rbuf[c.rs:c.re])
		c.rs = 0
	}
	n, err := c.nc.Read(c.rbuf[c.re:])
	c.Reads++
	c.Bytes += int64(n)
	c.re += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// Buffered reports the unparsed bytes in the read buffer.
func (c *Conn) Buffered() int { return c.re - c.rs }

// WriteMessage queues one masked message (a single frame) until Flush.
func (c *Conn) WriteMessage(op byte, payload []byte) {
	at := c.header(op, len(payload))
	c.wbuf = append(c.wbuf, payload...)
	maskBytes(c.mask, c.wbuf[at:])
}

// Append queues one binary message whose payload enc appends to its argument
// (an RSocket encoder, say).
func (c *Conn) Append(enc func(dst []byte) []byte) {
	// Reserve the longest header, encode, then move the payload if the real
	// header is shorter.
	start := len(c.wbuf)
	c.wbuf = append(c.wbuf, zeros[:]...)
	c.wbuf = enc(c.wbuf)
	payload := c.wbuf[start+14:]
	n := len(payload)
	var hdr [14]byte
	h := appendHeader(hdr[:0], OpBinary, n, c.mask)
	copy(c.wbuf[start:], h)
	copy(c.wbuf[start+len(h):], payload)
	c.wbuf = c.wbuf[:start+len(h)+n]
	maskBytes(c.mask, c.wbuf[start+len(h):])
}

var zeros [14]byte

func (c *Conn) header(op byte, n int) int {
	c.wbuf = appendHeader(c.wbuf, op, n, c.mask)
	return len(c.wbuf)
}

func appendHeader(dst []byte, op byte, n int, mask [4]byte) []byte {
	dst = append(dst, 0x80|op)
	switch {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, mask[:]...)
}

// Pending reports the bytes queued for writing.
func (c *Conn) Pending() int { return len(c.wbuf) }

// Flush writes the queued messages in one system call.
func (c *Conn) Flush() error {
	if len(c.wbuf) == 0 {
		return nil
	}
	_, err := c.nc.Write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	return err
}

func maskBytes(key [4]byte, b []byte) {
	k := binary.LittleEndian.Uint32(key[:])
	k8 := uint64(k) | uint64(k)<<32
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k8)
	}
	for j := 0; i < len(b); i, j = i+1, j+1 {
		b[i] ^= key[j&3]
	}
}

// NewFromReader returns a Conn that reads from r (no handshake, no writes):
// for measuring the parser alone against a pre-filled in-memory source.
func NewFromReader(r io.Reader, readBuf int) *Conn {
	if readBuf <= 0 {
		readBuf = DefaultReadBuffer
	}
	return &Conn{nc: readerConn{r}, rbuf: make([]byte, readBuf)}
}

// AppendServerFrame appends an unmasked single-frame message, as a server
// sends it (for building in-memory sources).
func AppendServerFrame(dst []byte, op byte, payload []byte) []byte {
	dst = append(dst, 0x80|op)
	n := len(payload)
	switch {
	case n < 126:
		dst = append(dst, byte(n))
	case n <= 0xffff:
		dst = append(dst, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, payload...)
}

type readerConn struct{ io.Reader }

func (readerConn) Write(p []byte) (int, error)      { return len(p), nil }
func (readerConn) Close() error                     { return nil }
func (readerConn) LocalAddr() net.Addr              { return nil }
func (readerConn) RemoteAddr() net.Addr             { return nil }
func (readerConn) SetDeadline(time.Time) error      { return nil }
func (readerConn) SetReadDeadline(time.Time) error  { return nil }
func (readerConn) SetWriteDeadline(time.Time) error { return nil }
