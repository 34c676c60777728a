package server_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/testserver"
	"github.com/sluicehq/sluice/protocol"
	"github.com/sluicehq/sluice/protocol/metadata"
	"github.com/sluicehq/sluice/server"
)

func testServer(t *testing.T, opts server.Options) (*server.Server, string) {
	return testserver.Start(t, opts)
}

// raw is a bare WebSocket peer that sends bytes and reads frames.
type raw struct {
	t  *testing.T
	ws *gws.Conn
}

func dialRaw(t *testing.T, url string) *raw {
	t.Helper()
	ws, _, err := gws.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return &raw{t: t, ws: ws}
}

func (r *raw) send(frame []byte) {
	r.t.Helper()
	if err := r.ws.WriteMessage(gws.BinaryMessage, frame); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

func (r *raw) sendHex(h string) { r.send(mustHex(r.t, h)) }

// next returns the next frame, or ok=false when the connection closed or
// nothing came within d.
func (r *raw) next(d time.Duration) (protocol.Frame, bool) {
	r.t.Helper()
	r.ws.SetReadDeadline(time.Now().Add(d))
	for {
		mt, b, err := r.ws.ReadMessage()
		if err != nil {
			return protocol.Frame{}, false
		}
		if mt != gws.BinaryMessage {
			r.t.Fatalf("server sent message type %d", mt)
		}
		f, err := protocol.Decode(b)
		if err != nil {
			r.t.Fatalf("server sent a malformed frame %x: %v", b, err)
		}
		if f.Type == protocol.TypeKeepalive {
			continue
		}
		return f, true
	}
}

// expectError reads until an ERROR arrives and checks its stream and code.
func (r *raw) expectError(stream uint32, code protocol.ErrorCode) protocol.Frame {
	r.t.Helper()
	f, ok := r.next(3 * time.Second)
	if !ok {
		r.t.Fatalf("want ERROR %v on stream %d, got nothing", code, stream)
	}
	if f.Type != protocol.TypeError || f.StreamID != stream || f.Code != code {
		r.t.Fatalf("want ERROR %v on stream %d, got %v", code, stream, f.String())
	}
	return f
}

// expectClosed checks that the server closes the connection.
func (r *raw) expectClosed() {
	r.t.Helper()
	r.ws.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		_, b, err := r.ws.ReadMessage()
		if err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				r.t.Fatal("connection still open")
			}
			return
		}
		if f, err := protocol.Decode(b); err == nil && f.Type == protocol.TypeKeepalive {
			continue
		}
		r.t.Fatalf("unexpected frame after the error: %x", b)
	}
}

func mustHex(t *testing.T, h string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var setupFrame = protocol.AppendSetup(nil, 60000, 180000, nil, false, metadata.MIMEComposite, "text/plain", nil, nil)

func routed(route string) []byte { return metadata.AppendCompositeRoute(nil, route) }

// echoWorks checks that the connection still serves requests.
func (r *raw) echoWorks(id uint32) {
	r.t.Helper()
	r.send(protocol.AppendRequest(nil, protocol.TypeRequestResponse, id, 0, routed("echo"), []byte("still here")))
	f, ok := r.next(3 * time.Second)
	if !ok || f.Type != protocol.TypePayload || f.StreamID != id || string(f.Data) != "still here" {
		r.t.Fatalf("echo after bad input: got %v (ok=%v)", f.String(), ok)
	}
}

func TestBadInput(t *testing.T) {
	_, url := testServer(t, server.Options{})
	type tc struct {
		name string
		run  func(r *raw)
	}
	cases := []tc{
		{"text message before SETUP", func(r *raw) {
			r.ws.WriteMessage(gws.TextMessage, []byte("hello"))
			r.expectError(0, protocol.ErrInvalidSetup)
			r.expectClosed()
		}},
		{"text message after SETUP", func(r *raw) {
			r.send(setupFrame)
			r.ws.WriteMessage(gws.TextMessage, []byte("hello"))
			r.expectError(0, protocol.ErrConnectionError)
			r.expectClosed()
		}},
		{"truncated SETUP (6 bytes)", func(r *raw) {
			r.sendHex("000000000400")
			r.expectError(0, protocol.ErrInvalidSetup)
			r.expectClosed()
		}},
		{"garbage before SETUP", func(r *raw) {
			r.sendHex("ff")
			r.expectError(0, protocol.ErrInvalidSetup)
			r.expectClosed()
		}},
		{"request before SETUP", func(r *raw) {
			r.sendHex("0000000110006869")
			r.expectError(0, protocol.ErrInvalidSetup)
			r.expectClosed()
		}},
		{"SETUP on stream 1", func(r *raw) {
			b := append([]byte(nil), setupFrame...)
			b[3] = 1
			r.send(b)
			r.expectError(0, protocol.ErrInvalidSetup)
			r.expectClosed()
		}},
		{"wrong version 2.0", func(r *raw) {
			b := append([]byte(nil), setupFrame...)
			b[7] = 2
			r.send(b)
			r.expectError(0, protocol.ErrInvalidSetup)
			r.expectClosed()
		}},
		{"keepalive 0", func(r *raw) {
			r.send(protocol.AppendSetup(nil, 0, 1000, nil, false, "a", "b", nil, nil))
			r.expectError(0, protocol.ErrInvalidSetup)
			r.expectClosed()
		}},
		{"resume flag", func(r *raw) {
			r.send(protocol.AppendSetup(nil, 1000, 1000, []byte("tk"), false, "a", "b", nil, nil))
			r.expectError(0, protocol.ErrRejectedSetup)
			r.expectClosed()
		}},
		{"lease flag", func(r *raw) {
			r.send(protocol.AppendSetup(nil, 1000, 1000, nil, true, "a", "b", nil, nil))
			r.expectError(0, protocol.ErrUnsupportedSetup)
			r.expectClosed()
		}},
		{"RESUME", func(r *raw) {
			r.send(protocol.AppendResume(nil, []byte("tk"), 0, 0))
			r.expectError(0, protocol.ErrRejectedResume)
			r.expectClosed()
		}},
		{"second SETUP is ignored", func(r *raw) {
			r.send(setupFrame)
			r.send(setupFrame)
			r.echoWorks(1)
		}},
		{"truncated frame after SETUP", func(r *raw) {
			r.send(setupFrame)
			r.sendHex("00000001")
			r.expectError(0, protocol.ErrConnectionError)
			r.expectClosed()
		}},
		{"truncated REQUEST_N", func(r *raw) {
			r.send(setupFrame)
			r.sendHex("000000012000")
			r.expectError(0, protocol.ErrConnectionError)
			r.expectClosed()
		}},
		{"unknown type without I", func(r *raw) {
			r.send(setupFrame)
			r.sendHex("00000001" + "8000") // type 0x20
			r.expectError(0, protocol.ErrConnectionError)
			r.expectClosed()
		}},
		{"unknown type with I is ignored", func(r *raw) {
			r.send(setupFrame)
			r.sendHex("00000001" + "8200")
			r.echoWorks(1)
		}},
		{"EXT with I is ignored", func(r *raw) {
			r.send(setupFrame)
			r.sendHex("00000001fe00000000077a")
			r.echoWorks(1)
		}},
		{"metadata length past the frame", func(r *raw) {
			r.send(setupFrame)
			r.sendHex("00000001" + "1100" + "0000ff" + "6869")
			r.expectError(0, protocol.ErrConnectionError)
			r.expectClosed()
		}},
		{"request on stream 0", func(r *raw) {
			r.send(setupFrame)
			r.send(protocol.AppendRequest(nil, protocol.TypeRequestResponse, 0, 0, routed("echo"), []byte("x")))
			r.expectError(0, protocol.ErrConnectionError)
			r.expectClosed()
		}},
		{"request with the server's parity is ignored", func(r *raw) {
			r.send(setupFrame)
			r.send(protocol.AppendRequest(nil, protocol.TypeRequestResponse, 2, 0, routed("echo"), []byte("x")))
			r.echoWorks(3)
		}},
		{"REQUEST_STREAM with n=0", func(r *raw) {
			r.send(setupFrame)
			r.send(protocol.AppendRequestWithN(nil, protocol.TypeRequestStream, 1, 0, 0, routed("count"), []byte("5")))
			r.expectError(1, protocol.ErrInvalid)
			r.echoWorks(3)
		}},
		{"REQUEST_N 0 is ignored", func(r *raw) {
			r.send(setupFrame)
			r.send(protocol.AppendRequestWithN(nil, protocol.TypeRequestStream, 1, 0, 1, routed("count"), []byte("3")))
			f, _ := r.next(3 * time.Second)
			if f.Type != protocol.TypePayload || string(f.Data) != "0" {
				r.t.Fatalf("want element 0, got %v", f.String())
			}
			r.send(protocol.AppendRequestN(nil, 1, 0))
			r.echoWorks(3) // the next frame is the echo, not element 1
			r.send(protocol.AppendRequestN(nil, 1, 1))
			f, _ = r.next(3 * time.Second)
			if f.Type != protocol.TypePayload || string(f.Data) != "1" {
				r.t.Fatalf("want element 1, got %v", f.String())
			}
		}},
		{"PAYLOAD, REQUEST_N, CANCEL, ERROR on unknown streams are ignored", func(r *raw) {
			r.send(setupFrame)
			r.send(protocol.AppendPayload(nil, 77, protocol.FlagNext, nil, []byte("x")))
			r.send(protocol.AppendRequestN(nil, 79, 5))
			r.send(protocol.AppendCancel(nil, 81))
			r.send(protocol.AppendCancel(nil, 0))
			r.send(protocol.AppendError(nil, 83, protocol.ErrApplicationError, "x"))
			r.echoWorks(1)
		}},
		{"a request on a live stream id is ignored", func(r *raw) {
			r.send(setupFrame)
			r.send(protocol.AppendRequest(nil, protocol.TypeRequestResponse, 1, 0, routed("never"), nil))
			r.send(protocol.AppendRequest(nil, protocol.TypeRequestResponse, 1, 0, routed("echo"), []byte("dup")))
			r.echoWorks(3) // the next frame is this echo, not an answer on stream 1
		}},
		{"KEEPALIVE with R is answered with the same data", func(r *raw) {
			r.send(setupFrame)
			r.send(protocol.AppendKeepalive(nil, true, 0, []byte("ping")))
			r.ws.SetReadDeadline(time.Now().Add(3 * time.Second))
			for {
				_, b, err := r.ws.ReadMessage()
				if err != nil {
					r.t.Fatal(err)
				}
				f, _ := protocol.Decode(b)
				if f.Type == protocol.TypeKeepalive && !f.Flags.Has(protocol.FlagRespond) {
					if string(f.Data) != "ping" {
						r.t.Fatalf("echo data %q", f.Data)
					}
					break
				}
			}
		}},
		{"METADATA_PUSH on stream 3 is ignored", func(r *raw) {
			r.send(setupFrame)
			b := protocol.AppendMetadataPush(nil, []byte("m"))
			b[3] = 3
			r.send(b)
			r.echoWorks(1)
		}},
		{"unknown route", func(r *raw) {
			r.send(setupFrame)
			r.send(protocol.AppendRequest(nil, protocol.TypeRequestResponse, 1, 0, routed("nope"), nil))
			f := r.expectError(1, protocol.ErrApplicationError)
			if !strings.Contains(string(f.Data), "nope") {
				r.t.Fatalf("message %q does not name the route", f.Data)
			}
		}},
		{"oversized message", func(r *raw) {
			r.send(setupFrame)
			big := make([]byte, protocol.MaxFrameLen+1)
			copy(big, protocol.AppendRequest(nil, protocol.TypeRequestFNF, 1, 0, nil, nil))
			r.send(big)
			r.expectError(0, protocol.ErrConnectionError)
			r.expectClosed()
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := dialRaw(t, url)
			r.t = t
			c.run(r)
			// Everyone else is still served.
			other := dialRaw(t, url)
			other.send(setupFrame)
			other.echoWorks(1)
		})
	}
}

func TestForeignOriginRefused(t *testing.T) {
	_, url := testServer(t, server.Options{})
	h := http.Header{"Origin": {"http://evil.example"}}
	_, resp, err := gws.DefaultDialer.Dial(url, h)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("want 403, got err=%v resp=%v", err, resp)
	}
	_, url2 := testServer(t, server.Options{AllowOrigins: []string{"http://good.example"}})
	ws, _, err := gws.DefaultDialer.Dial(url2, http.Header{"Origin": {"http://good.example"}})
	if err != nil {
		t.Fatalf("allowed origin refused: %v", err)
	}
	ws.Close()
}

func TestNoSetupTimesOut(t *testing.T) {
	_, url := testServer(t, server.Options{Limits: server.Limits{SetupTimeout: 200 * time.Millisecond}})
	r := dialRaw(t, url)
	start := time.Now()
	r.expectClosed()
	if time.Since(start) > 2*time.Second {
		t.Fatal("connection without SETUP was not closed")
	}
}

func TestClientEcho(t *testing.T) {
	_, url := testServer(t, server.Options{})
	ctx := context.Background()
	c, err := client.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := c.RequestResponse(ctx, sluice.Text("hi"), client.Route("echo"))
	if err != nil || string(p.Data) != "hi" {
		t.Fatalf("echo: %q %v", p.Data, err)
	}
}
