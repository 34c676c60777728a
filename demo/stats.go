package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/server"
)

// StatsInterval is how often demo.stats emits a snapshot.
const StatsInterval = 250 * time.Millisecond

// Snapshot is one element of demo.stats: the whole server as the page draws
// it. Every RSocket number comes from the connections' Stats(), the same
// counters /metrics exports.
type Snapshot struct {
	Time       float64 `json:"t"`    // server wall clock, Unix milliseconds
	RSS        int64   `json:"rss"`  // resident set size of the process, bytes (/proc/self/statm)
	Heap       int64   `json:"heap"` // Go heap in live and not-yet-swept objects, bytes
	Goroutines int     `json:"goroutines"`
	RawCap     int     `json:"rawCap"` // cap on each raw connection's app-side queue, bytes
	Conns      []Conn  `json:"conns"`  // RSocket connections, then raw ones
}

// Conn is one connection in a Snapshot.
type Conn struct {
	ID      string  `json:"id"`   // RSocket: the conn label of /metrics; raw: "raw-N"
	Kind    string  `json:"kind"` // "rsocket" or "raw"
	Name    string  `json:"name"` // announced in SETUP (client.WithName) or by ?name=
	Remote  string  `json:"remote"`
	SinceMs float64 `json:"since"` // Unix milliseconds
	BW      int     `json:"bw"`    // bandwidth limit, bytes/s (0 = none)
	Queued  int64   `json:"queued"`
	// Produced is elements made for this connection (RSocket: sent, since
	// demo.feed makes an element only once it holds credit; raw: queued by
	// the producer). Sent is elements handed to the socket (RSocket: the
	// same; raw: WriteMessage returned).
	Produced int64    `json:"produced"`
	Sent     int64    `json:"sent"`
	Received int64    `json:"received"`
	Size     int      `json:"size,omitempty"`       // raw: element size
	QueuedN  int      `json:"queuedMsgs,omitempty"` // raw: messages in the app-side queue
	Streams  []Stream `json:"streams"`
}

// Stream is one stream of a Conn. Raw connections have one per feed (id 0, 1).
type Stream struct {
	ID        uint32  `json:"id"`
	Route     string  `json:"route"`
	Kind      string  `json:"kind"`
	Requester bool    `json:"requester,omitempty"`
	Credit    int64   `json:"credit"`  // credit the peer granted not used yet (2^31-1 = unbounded)
	Granted   int64   `json:"granted"` // credit the peer granted in all
	Produced  int64   `json:"produced"`
	Sent      int64   `json:"sent"`
	Received  int64   `json:"received"`
	Queued    int     `json:"queued"` // bytes queued for the writer
	StarvedMs float64 `json:"starvedMs"`
}

// ConnID is the id a connection has in snapshots and in /metrics' conn label.
func ConnID(c *server.Conn) string { return fmt.Sprintf("%p", c) }

// Snapshot takes a snapshot of the server and the raw feed now.
func (d *Demo) Snapshot() Snapshot {
	s := Snapshot{Time: float64(time.Now().UnixNano()) / 1e6, RSS: rss(), Heap: heap(),
		Goroutines: runtime.NumGoroutine(), RawCap: d.opts.RawQueueCap, Conns: []Conn{}}
	if srv := d.srv.Load(); srv != nil {
		conns := srv.Connections()
		sort.Slice(conns, func(i, j int) bool { return conns[i].Since.Before(conns[j].Since) })
		for _, c := range conns {
			if c.Conn == nil {
				continue
			}
			st := c.Stats()
			sc := Conn{ID: ConnID(c), Kind: "rsocket", Name: c.Name, Remote: c.Remote,
				SinceMs: float64(c.Since.UnixNano()) / 1e6, BW: d.bandwidthOf(c.Remote),
				Queued: int64(st.QueuedBytes), Produced: st.Sent, Sent: st.Sent, Received: st.Received, Streams: []Stream{}}
			sort.Slice(st.Streams, func(i, j int) bool { return st.Streams[i].ID < st.Streams[j].ID })
			for _, x := range st.Streams {
				sc.Streams = append(sc.Streams, Stream{ID: x.ID, Route: x.Route, Kind: x.Kind, Requester: x.Requester,
					Credit: x.CreditOutstanding, Granted: x.CreditGranted, Produced: x.Sent, Sent: x.Sent,
					Received: x.Received, Queued: x.QueuedBytes, StarvedMs: float64(x.Starved) / 1e6})
			}
			s.Conns = append(s.Conns, sc)
		}
	}
	raw := d.rawConns()
	sort.Slice(raw, func(i, j int) bool { return raw[i].since.Before(raw[j].since) })
	for _, c := range raw {
		sc := Conn{ID: c.id, Kind: "raw", Name: c.name, Remote: c.remote, SinceMs: float64(c.since.UnixNano()) / 1e6,
			BW: c.bw, Queued: int64(c.queuedBytes()), Produced: c.produced.Load(), Sent: c.written.Load(),
			Size: c.size, QueuedN: c.queuedMsgs(), Streams: []Stream{}}
		for i := 0; i < c.nstreams; i++ {
			sc.Streams = append(sc.Streams, Stream{ID: uint32(i), Route: "raw", Kind: "raw",
				Produced: c.perProd[i].Load(), Sent: c.perWrit[i].Load()})
		}
		s.Conns = append(s.Conns, sc)
	}
	return s
}

// snapshotJSON returns a snapshot no older than half an interval, shared by
// every subscriber.
func (d *Demo) snapshotJSON() ([]byte, error) {
	d.snapMu.Lock()
	defer d.snapMu.Unlock()
	now := time.Now().UnixNano()
	if d.snapJSON != nil && now-d.snapAt < int64(StatsInterval/2) {
		return d.snapJSON, nil
	}
	b, err := json.Marshal(d.Snapshot())
	if err != nil {
		return nil, err
	}
	d.snapJSON, d.snapAt = b, now
	return b, nil
}

// statsStream is demo.stats (request-stream, request data ignored): one
// JSON Snapshot every StatsInterval, taken only once the requester holds
// credit for it, so a slow reader gets fresh snapshots, never a backlog.
func (d *Demo) statsStream(ctx context.Context, p sluice.Payload, out sluice.Sink) error {
	t := time.NewTicker(StatsInterval)
	defer t.Stop()
	for {
		if err := out.Wait(ctx); err != nil {
			return err
		}
		b, err := d.snapshotJSON()
		if err != nil {
			return err
		}
		if err := out.Send(ctx, sluice.Payload{Data: b}); err != nil {
			return err
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

var pageSize = int64(os.Getpagesize())

// rss reads the resident set size from /proc/self/statm (0 where there is none).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.ParseInt(f[1], 10, 64)
	return n * pageSize
}

func heap() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}
