package demo

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/session"
	"github.com/sluicehq/sluice/protocol"
	"github.com/sluicehq/sluice/server"
)

// Frame log limits.
const (
	maxWatchers   = 8    // demo.frames streams open at once
	watchBuffer   = 4096 // frames buffered per watcher; beyond it they are counted, not kept
	frameBatch    = 100 * time.Millisecond
	maxBatchLines = 200 // lines in one element; a busier batch says how many it left out
)

// frameEvent is one frame as the log shows it.
type frameEvent struct {
	at     time.Time
	in     bool // from the client
	stream uint32
	typ    protocol.FrameType
	flags  protocol.Flags
	n      uint32 // REQUEST_N's N, a request's initial N, an ERROR's code
	size   int
}

type watcher struct {
	target  string // connection id or name
	conn    *server.Conn
	ch      chan frameEvent
	dropped atomic.Int64
}

type frameWatchers struct {
	n  atomic.Int32 // watchers open; FrameHook returns at once when 0
	mu sync.Mutex
	ws map[*watcher]struct{}
}

func (f *frameWatchers) init() { f.ws = map[*watcher]struct{}{} }

// FrameHook is the server's FrameHook: it feeds the demo.frames logs. It
// costs one atomic load per frame while no log is open.
func (d *Demo) FrameHook(c *server.Conn, in bool, frame []byte) {
	if d.frames.n.Load() == 0 {
		return
	}
	id, typ, flags, err := protocol.DecodeHeader(frame)
	if err != nil {
		return
	}
	ev := frameEvent{at: time.Now(), in: in, stream: id, typ: typ, flags: flags, size: len(frame)}
	p := frame[protocol.HeaderLen:]
	switch typ {
	case protocol.TypeRequestN, protocol.TypeRequestStream, protocol.TypeRequestChannel, protocol.TypeError:
		if len(p) >= 4 {
			ev.n = binary.BigEndian.Uint32(p)
		}
	}
	d.frames.mu.Lock()
	defer d.frames.mu.Unlock()
	for w := range d.frames.ws {
		if w.conn == nil {
			if w.target != ConnID(c) && (c.Name == "" || w.target != c.Name) {
				continue
			}
			w.conn = c
		} else if w.conn != c {
			continue
		}
		select {
		case w.ch <- ev:
		default:
			w.dropped.Add(1)
		}
	}
}

// framesStream is demo.frames (request-stream): request data names one
// connection (its id from demo.stats, or its name). Each element is a batch
// of text lines, one per frame of that connection as the server saw it,
// with consecutive PAYLOADs of one stream folded into one line:
//
//	12:04:05.123 C→S REQUEST_N      stream 1  n=8
//	12:04:05.124 S→C PAYLOAD ×8     stream 1  8.1 KiB
func (d *Demo) framesStream(ctx context.Context, p sluice.Payload, out sluice.Sink) error {
	target := strings.TrimSpace(string(p.Data))
	if target == "" {
		return &sluice.Error{Code: sluice.CodeInvalid, Message: "demo.frames: name a connection (id or name)"}
	}
	self := session.FromContext(ctx)
	if srv := d.srv.Load(); srv != nil && self != nil {
		for _, c := range srv.Connections() {
			if c.Conn == self && (ConnID(c) == target || c.Name == target) {
				return &sluice.Error{Code: sluice.CodeInvalid, Message: "demo.frames: cannot log the connection that carries the log"}
			}
		}
	}
	w := &watcher{target: target, ch: make(chan frameEvent, watchBuffer)}
	d.frames.mu.Lock()
	if len(d.frames.ws) >= maxWatchers {
		d.frames.mu.Unlock()
		return &sluice.Error{Code: sluice.CodeRejected, Message: "demo.frames: too many frame logs open"}
	}
	d.frames.ws[w] = struct{}{}
	d.frames.n.Add(1)
	d.frames.mu.Unlock()
	defer func() {
		d.frames.mu.Lock()
		delete(d.frames.ws, w)
		d.frames.n.Add(-1)
		d.frames.mu.Unlock()
	}()

	t := time.NewTicker(frameBatch)
	defer t.Stop()
	var evs []frameEvent
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.ctx.Done():
			return nil
		case <-t.C:
		}
		evs = evs[:0]
	drain:
		for {
			select {
			case ev := <-w.ch:
				evs = append(evs, ev)
			default:
				break drain
			}
		}
		dropped := w.dropped.Swap(0)
		if len(evs) == 0 && dropped == 0 {
			continue
		}
		if err := out.Send(ctx, sluice.Payload{Data: formatFrames(evs, dropped)}); err != nil {
			return err
		}
	}
}

// formatFrames renders a batch, folding runs of PAYLOAD frames that go the
// same way on the same stream into one line.
func formatFrames(evs []frameEvent, dropped int64) []byte {
	var b strings.Builder
	lines := 0
	for i := 0; i < len(evs); {
		e := evs[i]
		j, bytes := i+1, e.size
		if e.typ == protocol.TypePayload {
			for j < len(evs) && evs[j].typ == protocol.TypePayload && evs[j].in == e.in && evs[j].stream == e.stream {
				bytes += evs[j].size
				j++
			}
		}
		if lines == maxBatchLines {
			dropped += int64(len(evs) - i)
			break
		}
		lines++
		dir := "S→C"
		if e.in {
			dir = "C→S"
		}
		name := e.typ.String()
		if j-i > 1 {
			name = fmt.Sprintf("%s ×%d", name, j-i)
		}
		fmt.Fprintf(&b, "%s %s %-16s stream %-3d", e.at.Format("15:04:05.000"), dir, name, e.stream)
		switch e.typ {
		case protocol.TypeRequestN, protocol.TypeRequestStream, protocol.TypeRequestChannel:
			if e.n >= protocol.MaxN {
				fmt.Fprintf(&b, " n=unbounded")
			} else {
				fmt.Fprintf(&b, " n=%d", e.n)
			}
		case protocol.TypeError:
			fmt.Fprintf(&b, " code=%v", protocol.ErrorCode(e.n))
		case protocol.TypePayload:
			fmt.Fprintf(&b, " %s", humanBytes(bytes))
			if e.flags.Has(protocol.FlagComplete) {
				b.WriteString(" COMPLETE")
			}
		}
		b.WriteByte('\n')
		i = j
	}
	if dropped > 0 {
		fmt.Fprintf(&b, "… %d more frames not shown\n", dropped)
	}
	return []byte(b.String())
}

func humanBytes(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
