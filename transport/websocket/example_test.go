package websocket_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/sluicehq/sluice/transport"
	"github.com/sluicehq/sluice/transport/websocket"
)

// A server that echoes every frame, and a client that sends two frames in one
// batch (one write system call) and reads them back.
func Example() {
	h := websocket.Handler(websocket.ServerOptions{}, func(c transport.Conn, r *http.Request) {
		for {
			f, err := c.ReadFrame() // valid until the next ReadFrame
			if err != nil {
				return // io.EOF-like *CloseError when the client leaves
			}
			c.WriteFrame(f)
			if c.Flush() != nil {
				return
			}
		}
	})
	srv := httptest.NewServer(h)
	defer srv.Close()

	url := "ws" + strings.TrimPrefix(srv.URL, "http") // no path: "/" is added
	c, _, err := websocket.Dial(context.Background(), url, websocket.DialOptions{})
	if err != nil {
		panic(err)
	}
	defer c.CloseWithCode(1000, "done")
	c.WriteFrame([]byte("hello"))
	c.WriteFrame([]byte("world"))
	c.Flush()
	for i := 0; i < 2; i++ {
		f, _ := c.ReadFrame()
		fmt.Println(string(f))
	}
	// Output:
	// hello
	// world
}
