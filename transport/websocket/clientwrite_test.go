package websocket

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The client frames and masks its data messages itself (frame.go). These
// tests check the bytes against a reference, against gorilla's server, and
// against a hand-written frame parser, and check the ordering against
// gorilla's control frames.

var clientSizes = []int{0, 1, 7, 8, 9, 31, 32, 33, 125, 126, 127, 1024, 4095, 4096, 65535, 65536, 70000, 1 << 20}

func TestMaskCopy(t *testing.T) {
	key := uint32(0xA1B2C3D4)
	kb := [4]byte{0xD4, 0xC3, 0xB2, 0xA1} // wire order
	src := frameOf(100, 9)
	for off := 0; off < 8; off++ {
		for n := 0; n <= 80; n++ {
			s := src[off : off+n]
			dst := make([]byte, n+off+3)
			d := dst[off : off+n]
			maskCopy(d, s, key)
			for i := range s {
				if d[i] != s[i]^kb[i&3] {
					t.Fatalf("offset %d, %d bytes: byte %d is %#x, want %#x", off, n, i, d[i], s[i]^kb[i&3])
				}
			}
			if !bytes.Equal(dst[off+n:], []byte{0, 0, 0}) || !bytes.Equal(dst[:off], make([]byte, off)) {
				t.Fatalf("offset %d, %d bytes: wrote outside dst", off, n)
			}
		}
	}
}

func TestPutMaskedMessage(t *testing.T) {
	for _, n := range clientSizes {
		p := frameOf(n, byte(n))
		b := make([]byte, maskedHeaderLen(n)+n)
		putMaskedMessage(b, p, 0x01020304)
		f, err := readRawFrame(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if err := f.checkData(p); err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if f.key != [4]byte{4, 3, 2, 1} {
			t.Fatalf("%d bytes: key %x", n, f.key)
		}
	}
}

func TestMaskKeysDiffer(t *testing.T) {
	a, b := newMaskKeys(), newMaskKeys()
	seen := make(map[uint32]bool)
	for i := 0; i < 10000; i++ {
		seen[a.next()] = true
		seen[b.next()] = true
	}
	// 20000 draws from 2^32: a handful of collisions at most.
	if len(seen) < 19990 {
		t.Fatalf("%d distinct keys in 20000", len(seen))
	}
}

// A gorilla server reads every size the client writes, over ws and wss, all
// in one batch and then one Flush per message.
func TestClientWritesGorillaReads(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(map[bool]string{false: "ws", true: "wss"}[tlsOn], func(t *testing.T) {
			peer := startGorillaPeer(t, tlsOn)
			cli := peer.dial(t)
			ws := peer.accept(t)
			got := make(chan error, 1)
			go func() {
				for round := 0; round < 2; round++ {
					for i, n := range clientSizes {
						mt, p, err := ws.ReadMessage()
						if err != nil {
							got <- err
							return
						}
						if mt != websocket.BinaryMessage || !bytes.Equal(p, frameOf(n, byte(i+round))) {
							got <- fmt.Errorf("round %d message %d (%d bytes): type %d, %d bytes, different", round, i, n, mt, len(p))
							return
						}
					}
				}
				got <- nil
			}()
			for i, n := range clientSizes { // one batch
				if err := cli.WriteFrame(frameOf(n, byte(i))); err != nil {
					t.Fatal(err)
				}
			}
			if err := cli.Flush(); err != nil {
				t.Fatal(err)
			}
			for i, n := range clientSizes { // one Flush each
				if err := cli.WriteFrame(frameOf(n, byte(i+1))); err != nil {
					t.Fatal(err)
				}
				if err := cli.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			if err := <-got; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The bytes on the wire, read by a parser that is not gorilla's: FIN and the
// binary opcode, the mask bit, the shortest length encoding, and a fresh key
// per message.
func TestClientWireFormat(t *testing.T) {
	peer := startGorillaPeer(t, false)
	cli := peer.dial(t)
	br := bufio.NewReader(peer.accept(t).NetConn())
	for i, n := range clientSizes {
		if err := cli.WriteFrame(frameOf(n, byte(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := cli.Flush(); err != nil {
		t.Fatal(err)
	}
	keys := make(map[[4]byte]bool)
	for i, n := range clientSizes {
		f, err := readRawFrame(br)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if err := f.checkData(frameOf(n, byte(i))); err != nil {
			t.Fatalf("message %d (%d bytes): %v", i, n, err)
		}
		keys[f.key] = true
	}
	if len(keys) < len(clientSizes)-1 {
		t.Fatalf("%d distinct masking keys in %d messages", len(keys), len(clientSizes))
	}
}

// The server pings while the client writes: every pong arrives, with its
// payload, and no message is damaged or reordered.
func TestClientPongsDuringWrites(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(map[bool]string{false: "ws", true: "wss"}[tlsOn], func(t *testing.T) {
			peer := startGorillaPeer(t, tlsOn)
			cli := peer.dial(t)
			ws := peer.accept(t)
			const frames, pings = 20000, 500
			sizes := []int{0, 5, 64, 125, 126, 1000, 3000}
			msg := func(i int) []byte {
				p := frameOf(sizes[i%len(sizes)], byte(i))
				if len(p) >= 4 {
					binary.BigEndian.PutUint32(p, uint32(i))
				}
				return p
			}

			// Fail, not hang, on a damaged stream.
			ws.SetReadDeadline(time.Now().Add(10 * time.Second))
			cli.SetWriteDeadline(time.Now().Add(10 * time.Second))
			var pongs atomic.Int64
			pongErr := make(chan error, 1)
			ws.SetPongHandler(func(s string) error {
				if want := fmt.Sprint("p", pongs.Load()); s != want {
					select {
					case pongErr <- fmt.Errorf("pong %q, want %q", s, want):
					default:
					}
				}
				pongs.Add(1)
				return nil
			})
			readDone := make(chan error, 1)
			// The pings are spread over the stream: one each time the server
			// has read frames/pings messages.
			pingNow := make(chan struct{}, pings)
			go func() {
				for i := 0; i < frames; i++ {
					if i%(frames/pings) == 0 {
						pingNow <- struct{}{}
					}
					mt, p, err := ws.ReadMessage()
					if err != nil {
						readDone <- fmt.Errorf("message %d: %w", i, err)
						return
					}
					if mt != websocket.BinaryMessage || !bytes.Equal(p, msg(i)) {
						readDone <- fmt.Errorf("message %d: type %d, %d bytes, different", i, mt, len(p))
						return
					}
				}
				_, p, err := ws.ReadMessage() // "end": every pong was sent before it
				if err == nil && string(p) != "end" {
					err = fmt.Errorf("read %q, want end", p)
				}
				readDone <- err
				if err != nil {
					ws.NetConn().Close() // unblock the client's writes
				}
			}()
			go func() {
				for i := 0; i < pings; i++ {
					<-pingNow
					ws.WriteControl(websocket.PingMessage, []byte(fmt.Sprint("p", i)), time.Now().Add(5*time.Second))
				}
				ws.WriteMessage(websocket.BinaryMessage, []byte("done"))
			}()
			clientRead := make(chan error, 1)
			go func() { // the client's reader goroutine answers the pings
				f, err := cli.ReadFrame()
				if err == nil && string(f) != "done" {
					err = fmt.Errorf("client read %q", f)
				}
				clientRead <- err
			}()
			fail := func(err error) {
				t.Helper()
				select {
				case rerr := <-readDone:
					t.Fatalf("%v (server read: %v)", err, rerr)
				case <-time.After(time.Second):
					t.Fatal(err)
				}
			}
			for i := 0; i < frames; i++ {
				if err := cli.WriteFrame(msg(i)); err != nil {
					fail(err)
				}
				if i%(1+i%13) == 0 {
					if err := cli.Flush(); err != nil {
						fail(err)
					}
				}
			}
			if err := cli.Flush(); err != nil {
				fail(err)
			}
			if err := <-clientRead; err != nil {
				t.Fatal(err)
			}
			cli.WriteFrame([]byte("end"))
			if err := cli.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := <-readDone; err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-pongErr:
				t.Fatal(err)
			default:
			}
			if n := pongs.Load(); n != pings {
				t.Fatalf("%d pongs, want %d", n, pings)
			}
		})
	}
}

// The server closes while the client keeps writing: the client's reply is a
// close frame with nothing after it, the data before it arrives whole, and
// later WriteFrame calls return ErrCloseSent.
func TestClientNoDataAfterCloseReply(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(map[bool]string{false: "ws", true: "wss"}[tlsOn], func(t *testing.T) {
			peer := startGorillaPeer(t, tlsOn)
			cli := peer.dial(t)
			nc := peer.accept(t).NetConn() // plaintext (TLS is under it for wss)
			br := bufio.NewReader(nc)
			nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			cli.SetWriteDeadline(time.Now().Add(10 * time.Second))

			writeErr := make(chan error, 1)
			go func() {
				for i := 0; ; i++ {
					err := cli.WriteFrame(frameOf(100, byte(i)))
					if err == nil && i%7 == 6 {
						err = cli.Flush()
					}
					if err != nil {
						cli.Flush() // the close reply may be queued in the batch
						writeErr <- err
						return
					}
				}
			}()
			readErr := make(chan error, 1)
			go func() { _, err := cli.ReadFrame(); readErr <- err }()

			for i := 0; i < 200; i++ {
				f, err := readRawFrame(br)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.checkData(frameOf(100, byte(i))); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
			if _, err := nc.Write([]byte{0x88, 2, 0x03, 0xE8}); err != nil { // close 1000
				t.Fatal(err)
			}
			for i := 200; ; i++ {
				f, err := readRawFrame(br)
				if err != nil {
					t.Fatalf("after %d messages: %v", i, err)
				}
				if f.b0 == 0x88 {
					if !f.masked || !bytes.Equal(f.payload, []byte{0x03, 0xE8}) {
						t.Fatalf("close reply: masked %v, payload %x", f.masked, f.payload)
					}
					break
				}
				if err := f.checkData(frameOf(100, byte(i))); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
			nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			if n, err := br.Read(make([]byte, 1)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("after the close frame: %d bytes, %v; want nothing", n, err)
			}
			if err := <-writeErr; err != websocket.ErrCloseSent {
				t.Fatalf("WriteFrame after the close reply: %v, want ErrCloseSent", err)
			}
			var ce *CloseError
			if err := <-readErr; !errors.As(err, &ce) || ce.Code != 1000 {
				t.Fatalf("client ReadFrame: %v, want CloseError 1000", err)
			}
			if err := cli.WriteFrame([]byte("late")); err != websocket.ErrCloseSent {
				t.Fatalf("late WriteFrame: %v", err)
			}
			cli.Flush()
			nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if n, err := br.Read(make([]byte, 1)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("after the late WriteFrame: %d bytes, %v; want nothing", n, err)
			}
		})
	}
}

// The client's write path (WriteFrame×64 + Flush) allocates nothing once the
// batch pool is warm: ws, 64 bytes and 1 KiB.
func TestClientWritePathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	for _, size := range []int{64, 1024} {
		srv, cli, _, _ := pair(t, serverConfig{}, DialOptions{})
		done := discard(srv)
		frame := frameOf(size, 1)
		batch := func() {
			for i := 0; i < benchBatch; i++ {
				if err := cli.WriteFrame(frame); err != nil {
					t.Fatal(err)
				}
			}
			if err := cli.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		batch()
		if a := testing.AllocsPerRun(200, batch); a != 0 {
			t.Fatalf("%d bytes: %.2f allocations per batch of %d frames, want 0", size, a, benchBatch)
		}
		cli.Close()
		<-done
	}
}

// gorillaPeer is a plain gorilla/websocket server (no cork, no adapter) that
// hands each upgraded connection to the test.
type gorillaPeer struct {
	ts    *httptest.Server
	conns chan *websocket.Conn
}

func startGorillaPeer(t *testing.T, tlsOn bool) *gorillaPeer {
	t.Helper()
	p := &gorillaPeer{conns: make(chan *websocket.Conn, 1)}
	release := make(chan struct{})
	up := websocket.Upgrader{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		p.conns <- ws
		<-release
	})
	if tlsOn {
		p.ts = httptest.NewTLSServer(h)
	} else {
		p.ts = httptest.NewServer(h)
	}
	t.Cleanup(func() {
		close(release)
		p.ts.Close()
	})
	return p
}

func (p *gorillaPeer) dial(t *testing.T) *Conn {
	t.Helper()
	ts := &testServer{Server: p.ts, url: "ws" + strings.TrimPrefix(p.ts.URL, "http")}
	c, _ := dial(t, ts, DialOptions{})
	return c
}

func (p *gorillaPeer) accept(t *testing.T) *websocket.Conn {
	t.Helper()
	ws := <-p.conns
	t.Cleanup(func() { ws.Close() })
	return ws
}

// rawFrame is one WebSocket frame as read by readRawFrame, payload unmasked.
type rawFrame struct {
	b0      byte
	masked  bool
	key     [4]byte
	minimal bool // the length is in its shortest encoding
	payload []byte
}

func readRawFrame(br *bufio.Reader) (rawFrame, error) {
	var f rawFrame
	var h [8]byte
	if _, err := io.ReadFull(br, h[:2]); err != nil {
		return f, err
	}
	f.b0, f.masked = h[0], h[1]&0x80 != 0
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		if _, err := io.ReadFull(br, h[:2]); err != nil {
			return f, err
		}
		n = uint64(binary.BigEndian.Uint16(h[:2]))
		f.minimal = n > 125
	case 127:
		if _, err := io.ReadFull(br, h[:8]); err != nil {
			return f, err
		}
		n = binary.BigEndian.Uint64(h[:8])
		f.minimal = n > 0xFFFF
	default:
		f.minimal = true
	}
	if f.masked {
		if _, err := io.ReadFull(br, f.key[:]); err != nil {
			return f, err
		}
	}
	if n > 1<<24 {
		return f, fmt.Errorf("length %d", n)
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(br, f.payload); err != nil {
		return f, err
	}
	if f.masked {
		for i := range f.payload {
			f.payload[i] ^= f.key[i&3]
		}
	}
	return f, nil
}

// checkData reports how f differs from a masked, final, binary message
// carrying want in the shortest length encoding.
func (f rawFrame) checkData(want []byte) error {
	switch {
	case f.b0 != 0x82:
		return fmt.Errorf("first byte %#x, want 0x82", f.b0)
	case !f.masked:
		return errors.New("not masked")
	case !f.minimal:
		return fmt.Errorf("%d-byte length not in its shortest encoding", len(f.payload))
	case !bytes.Equal(f.payload, want):
		return fmt.Errorf("payload of %d bytes differs from the %d written", len(f.payload), len(want))
	}
	return nil
}
