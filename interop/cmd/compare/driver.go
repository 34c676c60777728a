package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/interop/cmd/compare/benchpeer"
	"github.com/sluicehq/sluice/interop/cmd/compare/wsraw"
	"github.com/sluicehq/sluice/protocol"
)

// kinds of case
const (
	kindStream  = "stream"
	kindRR      = "rr"
	kindChannel = "channel"
)

type benchCase struct {
	Name     string
	Kind     string
	Size     int
	Prefetch int // streams: 0 = unbounded demand (2^31-1), else the window
	InFlight int // rr and channel: requests / elements in flight
}

// dialects of the client
const (
	dialectRSocket = "rsocket"  // the raw client speaking RSocket (sluice and rsocket-go servers)
	dialectRaw     = "raw"      // the raw client, plain WebSocket messages (raw gorilla server)
	dialectGo      = "goclient" // the sluice Go client (sluice server)
)

type system struct {
	Name    string
	Short   string
	Dialect string
	Child   *benchpeer.Child
}

// meter is shared by the client loop(s) of one run and the sampler.
type meter struct {
	count     atomic.Int64
	measuring atomic.Bool
	stop      atomic.Bool
	mu        sync.Mutex
	lat       []time.Duration
}

// sample records one latency while measuring (the caller checked measuring).
func (m *meter) addLat(lat []time.Duration, d time.Duration) []time.Duration {
	return append(lat, d)
}

func (m *meter) mergeLat(lat []time.Duration) {
	m.mu.Lock()
	m.lat = append(m.lat, lat...)
	m.mu.Unlock()
}

type result struct {
	Elements  int64
	Secs      float64
	Rate      float64 // elements/s
	P50, P99  time.Duration
	SrvCPU    float64 // server CPU seconds per million elements
	CliCPU    float64 // harness (client) CPU seconds per million elements
	SrvRSS    int64
	Err       error
	Stalled   bool
	LatCount  int
	ClientCPU time.Duration
	// sluice only: frames per write system call (flush) and REQUEST_N received per element.
	FramesPerFlush  float64
	RequestNPerElem float64
}

const (
	setupKeepalive = 30_000  // ms
	setupLifetime  = 300_000 // ms
)

// stamp returns the latency of a stamped element of bench.stream, or -1.
func streamLatency(data []byte, now time.Time) time.Duration {
	if len(data) < 16 {
		return -1
	}
	if binary.BigEndian.Uint64(data)%benchpeer.StampEvery != 0 {
		return -1
	}
	return time.Duration(now.UnixNano() - int64(binary.BigEndian.Uint64(data[8:])))
}

// echoLatency returns the round trip of an element the client stamped in bytes 0..8.
func echoLatency(data []byte, now time.Time) time.Duration {
	if len(data) < 8 {
		return -1
	}
	return time.Duration(now.UnixNano() - int64(binary.BigEndian.Uint64(data)))
}

func stampNow(b []byte) { binary.BigEndian.PutUint64(b, uint64(time.Now().UnixNano())) }

var errProtocol = errors.New("unexpected frame")

// ---- the raw client, RSocket dialect -------------------------------------------------

// rsStream consumes bench.stream with the given window (0 = unbounded): it
// counts PAYLOADs and tops up by window/4 as it consumes (sluice's Prefetch
// policy, Reactor's limitRate). The REQUEST_Ns leave together before the
// next blocking read (one write for what was consumed in one read); sending
// each at once measured slower here (more wake-ups on both sides).
func rsStream(c *wsraw.Conn, m *meter, size, window int) error {
	c.Setup(setupKeepalive, setupLifetime)
	n := uint32(protocol.MaxN)
	if window > 0 {
		n = uint32(window)
	}
	c.RequestStream(1, n, wsraw.Route("bench.stream"), []byte(strconv.Itoa(size)))
	if err := c.Flush(); err != nil {
		return err
	}
	return consumeStream(c, m, window)
}

// consumeStream is the read loop of rsStream (also run against an in-memory
// source by the client read benchmark).
func consumeStream(c *wsraw.Conn, m *meter, window int) error {
	mark := max(window/4, 1)
	consumed := 0
	var lat []time.Duration
	defer func() { m.mergeLat(lat) }()
	for !m.stop.Load() {
		_, msg, err := c.Next()
		if err != nil {
			return err
		}
		f, err := protocol.Decode(msg)
		if err != nil {
			return err
		}
		switch f.Type {
		case protocol.TypePayload:
			if f.Flags&protocol.FlagNext != 0 {
				m.count.Add(1)
				if m.measuring.Load() {
					if d := streamLatency(f.Data, time.Now()); d >= 0 {
						lat = append(lat, d)
					}
				}
				if window > 0 {
					if consumed++; consumed >= mark {
						c.RequestN(1, uint32(consumed))
						consumed = 0
					}
				}
			}
			if f.Flags&protocol.FlagComplete != 0 {
				return io.EOF
			}
		case protocol.TypeKeepalive:
			if f.Flags&protocol.FlagRespond != 0 {
				c.KeepaliveAnswer()
			}
		case protocol.TypeError:
			return fmt.Errorf("ERROR %v: %s", f.Code, f.Data)
		}
	}
	return nil
}

// rsRR keeps inFlight request-responses to echo outstanding.
func rsRR(c *wsraw.Conn, m *meter, size, inFlight int) error {
	c.Setup(setupKeepalive, setupLifetime)
	md := wsraw.Route("echo")
	data := make([]byte, size)
	id := uint32(1)
	send := func() {
		stampNow(data)
		c.RequestResponse(id, md, data)
		id += 2
	}
	for range inFlight {
		send()
	}
	var lat []time.Duration
	defer func() { m.mergeLat(lat) }()
	for !m.stop.Load() {
		_, msg, err := c.Next()
		if err != nil {
			return err
		}
		f, err := protocol.Decode(msg)
		if err != nil {
			return err
		}
		switch f.Type {
		case protocol.TypePayload:
			m.count.Add(1)
			if m.measuring.Load() {
				lat = append(lat, echoLatency(f.Data, time.Now()))
			}
			send()
		case protocol.TypeKeepalive:
			if f.Flags&protocol.FlagRespond != 0 {
				c.KeepaliveAnswer()
			}
		case protocol.TypeError:
			return fmt.Errorf("ERROR %v: %s", f.Code, f.Data)
		}
	}
	return nil
}

// rsChannel runs channel.echo: it grants unbounded credit for what comes back
// and sends as the responder's credit and the in-flight window allow.
func rsChannel(c *wsraw.Conn, m *meter, size, inFlight int) error {
	c.Setup(setupKeepalive, setupLifetime)
	data := make([]byte, size)
	stampNow(data)
	c.RequestChannel(1, protocol.MaxN, wsraw.Route("channel.echo"), data)
	out, credit := 1, int64(0)
	pump := func() {
		for out < inFlight && credit > 0 {
			stampNow(data)
			c.Payload(1, protocol.FlagNext, data)
			out++
			credit--
		}
	}
	var lat []time.Duration
	defer func() { m.mergeLat(lat) }()
	for !m.stop.Load() {
		_, msg, err := c.Next()
		if err != nil {
			return err
		}
		f, err := protocol.Decode(msg)
		if err != nil {
			return err
		}
		switch f.Type {
		case protocol.TypeRequestN:
			credit = min(credit+int64(f.N), protocol.MaxN)
		case protocol.TypePayload:
			if f.Flags&protocol.FlagNext != 0 {
				m.count.Add(1)
				out--
				if m.measuring.Load() {
					lat = append(lat, echoLatency(f.Data, time.Now()))
				}
			}
			if f.Flags&protocol.FlagComplete != 0 {
				return io.EOF
			}
		case protocol.TypeKeepalive:
			if f.Flags&protocol.FlagRespond != 0 {
				c.KeepaliveAnswer()
			}
		case protocol.TypeCancel:
			return fmt.Errorf("CANCEL from the responder")
		case protocol.TypeError:
			return fmt.Errorf("ERROR %v: %s", f.Code, f.Data)
		}
		pump()
	}
	return nil
}

// ---- the raw client, plain WebSocket dialect -------------------------------------------

func rawPush(c *wsraw.Conn, m *meter) error {
	var lat []time.Duration
	defer func() { m.mergeLat(lat) }()
	for !m.stop.Load() {
		_, msg, err := c.Next()
		if err != nil {
			return err
		}
		m.count.Add(1)
		if m.measuring.Load() {
			if d := streamLatency(msg, time.Now()); d >= 0 {
				lat = append(lat, d)
			}
		}
	}
	return nil
}

func rawEcho(c *wsraw.Conn, m *meter, size, inFlight int) error {
	data := make([]byte, size)
	for range inFlight {
		stampNow(data)
		c.WriteMessage(wsraw.OpBinary, data)
	}
	var lat []time.Duration
	defer func() { m.mergeLat(lat) }()
	for !m.stop.Load() {
		_, msg, err := c.Next()
		if err != nil {
			return err
		}
		m.count.Add(1)
		if m.measuring.Load() {
			lat = append(lat, echoLatency(msg, time.Now()))
		}
		stampNow(data)
		c.WriteMessage(wsraw.OpBinary, data)
	}
	return nil
}

// ---- the sluice Go client ---------------------------------------------------------------

func goStream(ctx context.Context, c *client.Client, m *meter, size, window int) error {
	pf := int64(protocol.MaxN)
	if window > 0 {
		pf = int64(window)
	}
	s, err := c.RequestStream(ctx, sluice.Text(strconv.Itoa(size)), client.Route("bench.stream"), client.Prefetch(pf))
	if err != nil {
		return err
	}
	var lat []time.Duration
	defer func() { m.mergeLat(lat) }()
	for p, err := range s.All(ctx) {
		if err != nil {
			return err
		}
		m.count.Add(1)
		if m.measuring.Load() {
			if d := streamLatency(p.Data, time.Now()); d >= 0 {
				lat = append(lat, d)
			}
		}
		if m.stop.Load() {
			break
		}
	}
	return nil
}

func goRR(ctx context.Context, c *client.Client, m *meter, size, inFlight int) error {
	var wg sync.WaitGroup
	errc := make(chan error, inFlight)
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := make([]byte, size)
			var lat []time.Duration
			defer func() { m.mergeLat(lat) }()
			for !m.stop.Load() {
				stampNow(data)
				p, err := c.RequestResponse(ctx, sluice.Payload{Data: data}, client.Route("echo"))
				if err != nil {
					if ctx.Err() == nil {
						errc <- err
					}
					return
				}
				m.count.Add(1)
				if m.measuring.Load() {
					lat = append(lat, echoLatency(p.Data, time.Now()))
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

func goChannel(ctx context.Context, c *client.Client, m *meter, size, inFlight int) error {
	data := make([]byte, size)
	stampNow(data)
	ch, err := c.RequestChannel(ctx, sluice.Payload{Data: data}, client.Route("channel.echo"), client.Prefetch(int64(inFlight)))
	if err != nil {
		return err
	}
	sem := make(chan struct{}, inFlight)
	sem <- struct{}{} // the first element is in flight
	go func() {
		buf := make([]byte, size)
		for {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			stampNow(buf)
			if err := ch.Send(ctx, sluice.Payload{Data: buf}); err != nil {
				return
			}
		}
	}()
	var lat []time.Duration
	defer func() { m.mergeLat(lat) }()
	for !m.stop.Load() {
		p, err := ch.Recv(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		<-sem
		m.count.Add(1)
		if m.measuring.Load() {
			lat = append(lat, echoLatency(p.Data, time.Now()))
		}
	}
	return nil
}

// ---- one run ------------------------------------------------------------------------------

type timing struct {
	warm, dur time.Duration
}

// runOne runs one case against one system and measures it.
func runOne(bc benchCase, sys system, tm timing) result {
	m := &meter{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan error, 1)
	done := make(chan error, 1)
	var kick func()
	var kickMu sync.Mutex
	setKick := func(f func()) { kickMu.Lock(); kick = f; kickMu.Unlock() }

	go func() {
		switch sys.Dialect {
		case dialectGo:
			dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
			c, err := client.Dial(dctx, sys.Child.URL)
			dcancel()
			if err != nil {
				ready <- err
				return
			}
			defer c.Close()
			setKick(func() { cancel(); c.Close() })
			ready <- nil
			var err2 error
			switch bc.Kind {
			case kindStream:
				err2 = goStream(ctx, c, m, bc.Size, bc.Prefetch)
			case kindRR:
				err2 = goRR(ctx, c, m, bc.Size, bc.InFlight)
			case kindChannel:
				err2 = goChannel(ctx, c, m, bc.Size, bc.InFlight)
			}
			done <- err2
		default:
			url := sys.Child.URL
			if sys.Dialect == dialectRaw {
				if bc.Kind == kindStream {
					url += "?mode=push&size=" + strconv.Itoa(bc.Size)
				} else {
					url += "?mode=echo"
				}
			}
			dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
			c, err := wsraw.Dial(dctx, url, 0)
			dcancel()
			if err != nil {
				ready <- err
				return
			}
			defer c.Close()
			setKick(func() { c.NetConn().SetReadDeadline(time.Unix(1, 0)) })
			ready <- nil
			var err2 error
			if sys.Dialect == dialectRaw {
				switch bc.Kind {
				case kindStream:
					err2 = rawPush(c, m)
				default:
					err2 = rawEcho(c, m, bc.Size, bc.InFlight)
				}
			} else {
				switch bc.Kind {
				case kindStream:
					err2 = rsStream(c, m, bc.Size, bc.Prefetch)
				case kindRR:
					err2 = rsRR(c, m, bc.Size, bc.InFlight)
				case kindChannel:
					err2 = rsChannel(c, m, bc.Size, bc.InFlight)
				}
			}
			done <- err2
		}
	}()
	if err := <-ready; err != nil {
		return result{Err: err}
	}
	var res result
	early := func(err error) result {
		if err == nil {
			err = errors.New("ended early")
		}
		res.Err = err
		return res
	}
	select {
	case err := <-done:
		return early(err)
	case <-time.After(tm.warm):
	}
	var st0 map[string]int64
	if sys.Child.Kind == benchpeer.Sluice {
		st0, _ = sys.Child.Stats()
	}
	c0, t0 := m.count.Load(), time.Now()
	cpu0, _ := sys.Child.CPU()
	self0, _ := benchpeer.ProcCPU(0)
	m.measuring.Store(true)
	select {
	case err := <-done:
		return early(err)
	case <-time.After(tm.dur):
	}
	m.measuring.Store(false)
	c1, t1 := m.count.Load(), time.Now()
	cpu1, _ := sys.Child.CPU()
	self1, _ := benchpeer.ProcCPU(0)
	res.SrvRSS, _ = sys.Child.RSS()
	if st0 != nil {
		if st1, err := sys.Child.Stats(); err == nil {
			if f := st1["flushes"] - st0["flushes"]; f > 0 {
				res.FramesPerFlush = float64(st1["frames_written"]-st0["frames_written"]) / float64(f)
			}
			if e := st1["elements_sent"] - st0["elements_sent"]; e > 0 {
				res.RequestNPerElem = float64(st1["request_n_received"]-st0["request_n_received"]) / float64(e)
			}
		}
	}
	m.stop.Store(true)
	kickMu.Lock()
	kick()
	kickMu.Unlock()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		fmt.Fprintf(os.Stderr, "compare: %s/%s: client did not stop\n", bc.Name, sys.Short)
	}
	res.Elements = c1 - c0
	res.Secs = t1.Sub(t0).Seconds()
	res.Rate = float64(res.Elements) / res.Secs
	res.Stalled = res.Elements == 0
	if res.Elements > 0 {
		res.SrvCPU = (cpu1 - cpu0).Seconds() / float64(res.Elements) * 1e6
		res.CliCPU = (self1 - self0).Seconds() / float64(res.Elements) * 1e6
	}
	res.ClientCPU = self1 - self0
	m.mu.Lock()
	res.P50, res.P99 = percentiles(m.lat)
	res.LatCount = len(m.lat)
	m.mu.Unlock()
	return res
}
