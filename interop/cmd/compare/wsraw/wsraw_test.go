package wsraw

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestEchoThroughGorilla: masked writes of every header size reach a gorilla
// server intact, and its answers (split into several frames when larger than
// its write buffer) come back whole.
func TestEchoThroughGorilla(t *testing.T) {
	up := websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second))
		for {
			mt, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if err := ws.WriteMessage(mt, b); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/", 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, n := range []int{0, 1, 125, 126, 4000, 65535, 65536, 100000} {
		msg := bytes.Repeat([]byte{byte(n)}, n)
		for i := range msg {
			msg[i] = byte(i * 7)
		}
		c.WriteMessage(OpBinary, msg)
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
		c.NetConn().SetReadDeadline(time.Now().Add(5 * time.Second))
		op, got, err := c.Next()
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if op != OpBinary || !bytes.Equal(got, msg) {
			t.Fatalf("%d bytes: got op %d, %d bytes", n, op, len(got))
		}
	}
	// An RSocket frame through Append.
	c.RequestN(3, 42)
	c.Flush()
	f, err := c.NextFrame()
	if err != nil || f.StreamID != 3 || f.N != 42 {
		t.Fatalf("REQUEST_N echoed as %+v (%v)", f, err)
	}
}

// TestInMemory: the parser over a reader that returns arbitrary chunks.
func TestInMemory(t *testing.T) {
	var src []byte
	for i := range 1000 {
		src = AppendServerFrame(src, OpBinary, bytes.Repeat([]byte{byte(i)}, i%300))
	}
	c := NewFromReader(&chunky{src: src}, 512)
	for i := range 1000 {
		_, m, err := c.Next()
		if err != nil || len(m) != i%300 || (len(m) > 0 && m[0] != byte(i)) {
			t.Fatalf("message %d: %d bytes, %v", i, len(m), err)
		}
	}
}

type chunky struct {
	src []byte
	n   int
}

func (c *chunky) Read(p []byte) (int, error) {
	c.n++
	k := min(len(p), len(c.src), 1+c.n%97)
	copy(p, c.src[:k])
	c.src = c.src[k:]
	return k, nil
}
