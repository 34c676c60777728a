package demo

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	sws "github.com/sluicehq/sluice/transport/websocket"
)

// DefaultRawQueueCap is the default cap on one raw connection's app-side
// queue. A naive server has no such cap (we measured one at 454 MB after 3 s
// with one slow reader); the demo keeps one so it cannot exhaust the machine.
const DefaultRawQueueCap = 16 << 20

// rawWriteTimeout closes a raw connection whose peer has read nothing for
// this long (a frozen tab), so it does not hold its queue forever.
const rawWriteTimeout = 2 * time.Minute

// rawConn is one connection of the raw feed: a producer goroutine making
// elements as fast as it can into an app-side queue (bounded by cap), and a
// writer writing one WebSocket message per element, the way naive servers do.
type rawConn struct {
	id, name, remote string
	since            time.Time
	size, bw, cap    int
	nstreams         int

	produced atomic.Int64 // elements made and queued
	written  atomic.Int64 // elements WriteMessage returned for
	perProd  [2]atomic.Int64
	perWrit  [2]atomic.Int64

	mu     sync.Mutex
	queue  [][]byte // ring of pending messages
	head   int      // index of the oldest in queue
	count  int      // messages queued
	qbytes int      // bytes queued
	space  chan struct{}
	data   chan struct{}
}

func (c *rawConn) queuedBytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.qbytes
}

func (c *rawConn) queuedMsgs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// push queues m, waiting while the queue would exceed cap.
func (c *rawConn) push(ctx context.Context, m []byte) error {
	for {
		c.mu.Lock()
		if c.count == 0 || c.qbytes+len(m) <= c.cap {
			if c.count == len(c.queue) {
				c.grow()
			}
			c.queue[(c.head+c.count)%len(c.queue)] = m
			c.count++
			c.qbytes += len(m)
			c.mu.Unlock()
			signal(c.data)
			return nil
		}
		c.mu.Unlock()
		select {
		case <-c.space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *rawConn) grow() {
	q := make([][]byte, max(16, 2*len(c.queue)))
	for i := 0; i < c.count; i++ {
		q[i] = c.queue[(c.head+i)%len(c.queue)]
	}
	c.queue, c.head = q, 0
}

// pop takes the oldest message, waiting while there is none.
func (c *rawConn) pop(ctx context.Context) ([]byte, error) {
	for {
		c.mu.Lock()
		if c.count > 0 {
			m := c.queue[c.head]
			c.queue[c.head] = nil
			c.head = (c.head + 1) % len(c.queue)
			c.count--
			c.qbytes -= len(m)
			c.mu.Unlock()
			signal(c.space)
			return m, nil
		}
		c.mu.Unlock()
		select {
		case <-c.data:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// produce makes elements as fast as the queue takes them. With two streams
// it alternates between them; byte 16 of each element names its stream.
func (c *rawConn) produce(ctx context.Context) {
	var seq [2]uint64
	for i := 0; ; i++ {
		s := i % c.nstreams
		m := make([]byte, c.size) // naive servers allocate per message
		MakeElement(m, seq[s], time.Now())
		if c.nstreams > 1 {
			m[16] = byte(s)
		}
		seq[s]++
		if c.push(ctx, m) != nil {
			return
		}
		c.perProd[s].Add(1)
		c.produced.Add(1)
	}
}

// RawHandler serves /raw: the raw WebSocket comparison feed. Query
// parameters: size (element bytes, default 1024), bw (bytes/s, a simulated
// slow network), name (shown on the page), streams (1 or 2: two feeds
// interleaved on one socket, byte 16 of each element naming its feed).
// Each element is one binary message laid out as demo.feed's.
//
// It is a deliberately naive server: nothing tells it how fast the client
// reads, so the producer runs ahead until the app-side queue hits its cap
// (Options.RawQueueCap) and the kernel's socket buffers are full.
func (d *Demo) RawHandler() http.Handler {
	up := websocket.Upgrader{
		CheckOrigin:      sws.CheckOrigin(d.opts.AllowOrigins),
		HandshakeTimeout: 10 * time.Second,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		size, err := ParseSize(q.Get("size"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		nstreams := 1
		if q.Get("streams") == "2" {
			nstreams = 2
			size = max(size, MinElement+1)
		}
		bw := ParseBandwidth(r)
		c := &rawConn{
			name: q.Get("name"), remote: r.RemoteAddr, since: time.Now(),
			size: size, bw: bw, cap: d.opts.RawQueueCap, nstreams: nstreams,
			space: make(chan struct{}, 1), data: make(chan struct{}, 1),
		}
		if !d.addRaw(c) {
			http.Error(w, "too many raw connections", http.StatusServiceUnavailable)
			return
		}
		defer d.removeRaw(c)
		var rw http.ResponseWriter = w
		if bw > 0 {
			rw = &wrapHijack{ResponseWriter: w, wrap: func(nc net.Conn) net.Conn { return LimitConn(nc, bw) }}
		}
		ws, err := up.Upgrade(rw, r, nil)
		if err != nil {
			return
		}
		d.serveRaw(ws, c)
	})
}

func (d *Demo) addRaw(c *rawConn) bool {
	d.rawMu.Lock()
	defer d.rawMu.Unlock()
	if len(d.raw) >= d.opts.MaxRawConns || d.ctx.Err() != nil {
		return false
	}
	d.rawSeq++
	c.id = "raw-" + strconv.FormatInt(d.rawSeq, 10)
	d.raw[c] = struct{}{}
	d.wg.Add(1)
	return true
}

func (d *Demo) removeRaw(c *rawConn) {
	d.rawMu.Lock()
	delete(d.raw, c)
	// Hand the queues' memory back soon after raw connections go, so the
	// page's RSS shows what the remaining connections hold (debounced: a
	// scenario change closes many at once).
	if d.gcTimer == nil {
		d.gcTimer = time.AfterFunc(rawReleaseDelay, debug.FreeOSMemory)
	} else if d.ctx.Err() == nil {
		d.gcTimer.Reset(rawReleaseDelay)
	}
	d.rawMu.Unlock()
	d.wg.Done()
}

// rawReleaseDelay is how long after the last raw connection closed the
// demo returns freed memory to the OS.
const rawReleaseDelay = 500 * time.Millisecond

func (d *Demo) rawConns() []*rawConn {
	d.rawMu.Lock()
	defer d.rawMu.Unlock()
	out := make([]*rawConn, 0, len(d.raw))
	for c := range d.raw {
		out = append(out, c)
	}
	return out
}

// serveRaw runs the three goroutines of one raw connection until the peer
// goes away or the demo closes.
func (d *Demo) serveRaw(ws *websocket.Conn, c *rawConn) {
	ctx, cancel := context.WithCancel(d.ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ws.Close() })
	defer stop()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // reader: the client sends nothing we need; this notices it leaving
		defer wg.Done()
		defer cancel()
		for {
			_, rd, err := ws.NextReader()
			if err != nil {
				return
			}
			io.Copy(io.Discard, rd)
		}
	}()
	go func() {
		defer wg.Done()
		c.produce(ctx)
	}()
	for {
		m, err := c.pop(ctx)
		if err != nil {
			break
		}
		ws.SetWriteDeadline(time.Now().Add(rawWriteTimeout))
		if err := ws.WriteMessage(websocket.BinaryMessage, m); err != nil {
			break
		}
		if c.nstreams > 1 {
			c.perWrit[m[16]].Add(1)
		} else {
			c.perWrit[0].Add(1)
		}
		c.written.Add(1)
	}
	cancel()
	ws.Close()
	wg.Wait()
}

// wrapHijack hands gorilla a wrapped connection when it hijacks.
type wrapHijack struct {
	http.ResponseWriter
	wrap func(net.Conn) net.Conn
}

func (w *wrapHijack) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return w.wrap(nc), brw, nil
}

func (w *wrapHijack) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (c *rawConn) String() string { return fmt.Sprintf("%s(%s)", c.id, c.name) }
