// Package tap records the frames one side of a connection sends and receives
// (through sluice's frame hooks) and keeps a credit ledger per stream, so that
// interop tests can check what crossed the wire: which REQUEST_STREAM(n) and
// REQUEST_N(n) frames a requester sent, and that no side ever sent more
// elements than its peer had granted.
//
// A Tap is fed by a frame hook (Hook, or ServerHook for server.Options) and is
// safe for concurrent use: hooks run on each connection's reader and writer
// goroutines. The hook records a frame received before the engine acts on it,
// and a frame sent when it leaves, so a grant is always recorded before any
// element it made possible.
package tap

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/protocol"
)

// Event is one recorded frame.
type Event struct {
	Seq      int
	Conn     int  // connection number, in the order the tap first saw them
	In       bool // received by the tapped side
	Type     protocol.FrameType
	StreamID uint32
	Flags    protocol.Flags
	N        uint32 // initial N of REQUEST_STREAM/CHANNEL, N of REQUEST_N
	Code     protocol.ErrorCode
	Data     string // data (ERROR: message), cut to 64 bytes
	Metadata []byte // metadata, cut to 64 bytes (nil when absent)
	Len      int    // frame length
}

func (e Event) String() string {
	dir := "out"
	if e.In {
		dir = "in "
	}
	s := fmt.Sprintf("#%d c%d %s s%d %v", e.Seq, e.Conn, dir, e.StreamID, e.Type)
	switch e.Type {
	case protocol.TypeRequestStream, protocol.TypeRequestChannel, protocol.TypeRequestN:
		s += fmt.Sprintf(" n=%d", e.N)
	case protocol.TypeError:
		s += fmt.Sprintf(" %v %q", e.Code, e.Data)
	case protocol.TypePayload:
		s += fmt.Sprintf(" flags=%03x %q", uint16(e.Flags), e.Data)
	}
	return s
}

// Grant is one grant of credit a requester sent: the initial N of its
// REQUEST_STREAM/REQUEST_CHANNEL (Initial) or a REQUEST_N.
type Grant struct {
	Initial bool
	N       uint32
}

func (g Grant) String() string {
	if g.Initial {
		return fmt.Sprintf("REQUEST(%d)", g.N)
	}
	return fmt.Sprintf("REQUEST_N(%d)", g.N)
}

// Ledger is the credit accounting of one stream, as the tap saw it. Counts are
// elements (a fragmented element counts once).
type Ledger struct {
	Conn     int
	StreamID uint32
	Kind     protocol.FrameType // the request type
	// Responder -> requester direction.
	RespGranted int64 // initial N plus REQUEST_N from the requester (1 for request-response); saturates at 2^31-1
	RespSent    int64 // elements the responder sent
	RespMax     int64 // the largest RespSent-RespGranted seen (> 0 is a violation)
	// Requester -> responder direction (request-channel only). The element in
	// REQUEST_CHANNEL needs no credit: it counts in both.
	ReqGranted int64
	ReqSent    int64
	// Grants are the requester's grants in order.
	Grants []Grant
	// ResponderGrants are the responder's REQUEST_N for the requester's
	// elements (request-channel).
	ResponderGrants []uint32
	Terminal        string // "complete", "error", "cancel" or ""
}

type key struct {
	conn int
	id   uint32
}

type ledgerState struct {
	Ledger
	fragIn [2]bool // an element is being fragmented: [0] by requester, [1] by responder
}

// Tap records frames. Create one with New.
type Tap struct {
	server bool // the tapped side is the server: odd streams are the peer's requests

	mu         sync.Mutex
	cond       *sync.Cond
	events     []Event
	ledgers    map[key]*ledgerState
	conns      map[any]int
	violations []string
	keepalives [2][2]int // [in][respond]
}

// New returns a tap for the server side (server=true) or the client side.
func New(server bool) *Tap {
	t := &Tap{server: server, ledgers: map[key]*ledgerState{}, conns: map[any]int{}}
	t.cond = sync.NewCond(&t.mu)
	return t
}

// Hook is a client frame hook (client.WithFrameHook) for one connection.
func (t *Tap) Hook() func(in bool, frame []byte) {
	id := new(int)
	return func(in bool, frame []byte) { t.record(id, in, frame) }
}

// ServerHook adapts the tap to server.Options.FrameHook: conn is any
// comparable per-connection value (the *server.Conn).
func ServerHook[C comparable](t *Tap) func(c C, in bool, frame []byte) {
	return func(c C, in bool, frame []byte) { t.record(c, in, frame) }
}

func cut(b []byte) []byte {
	if b == nil {
		return nil
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return append([]byte{}, b...)
}

// localIsRequester reports whether the tapped side opened stream id.
func (t *Tap) localIsRequester(id uint32) bool {
	odd := id%2 == 1
	if t.server {
		return !odd
	}
	return odd
}

func (t *Tap) record(connKey any, in bool, frame []byte) {
	f, err := protocol.Decode(frame)
	t.mu.Lock()
	defer t.mu.Unlock()
	conn, ok := t.conns[connKey]
	if !ok {
		conn = len(t.conns)
		t.conns[connKey] = conn
	}
	if err != nil {
		t.violations = append(t.violations, fmt.Sprintf("c%d in=%v: undecodable frame %x: %v", conn, in, frame, err))
		return
	}
	if f.Type == protocol.TypeKeepalive {
		t.keepalives[b2i(in)][b2i(f.Flags.Has(protocol.FlagRespond))]++
		return
	}
	e := Event{Seq: len(t.events), Conn: conn, In: in, Type: f.Type, StreamID: f.StreamID, Flags: f.Flags,
		N: f.N, Code: f.Code, Data: string(cut(f.Data)), Metadata: cut(f.Metadata), Len: len(frame)}
	if f.Type == protocol.TypeSetup || f.Type == protocol.TypeMetadataPush || f.StreamID == 0 {
		t.events = append(t.events, e)
		t.cond.Broadcast()
		return
	}
	t.events = append(t.events, e)
	t.account(conn, in, &f)
	t.cond.Broadcast()
}

// account updates the stream's ledger. Called with mu held.
func (t *Tap) account(conn int, in bool, f *protocol.Frame) {
	k := key{conn, f.StreamID}
	fromRequester := t.localIsRequester(f.StreamID) != in // sent by the side that opened the stream
	l := t.ledgers[k]
	if f.Type.IsRequest() {
		if l != nil {
			return // a request on an ID in use is ignored by the peer
		}
		l = &ledgerState{Ledger: Ledger{Conn: conn, StreamID: f.StreamID, Kind: f.Type}}
		t.ledgers[k] = l
		switch f.Type {
		case protocol.TypeRequestResponse:
			l.RespGranted = 1
		case protocol.TypeRequestStream, protocol.TypeRequestChannel:
			l.RespGranted = int64(f.N)
			l.Grants = append(l.Grants, Grant{Initial: true, N: f.N})
		}
		if f.Type == protocol.TypeRequestChannel {
			l.ReqGranted, l.ReqSent = 1, 1
		}
		if f.Flags.Has(protocol.FlagFollows) {
			l.fragIn[0] = true // the request itself is fragmented; its tail is not an element
		}
		return
	}
	if l == nil {
		return // a frame on a stream we never saw open (late CANCEL etc.)
	}
	dir := 0
	if !fromRequester {
		dir = 1
	}
	switch f.Type {
	case protocol.TypeRequestN:
		if fromRequester {
			l.RespGranted = satAdd(l.RespGranted, int64(f.N))
			l.Grants = append(l.Grants, Grant{N: f.N})
		} else {
			l.ReqGranted = satAdd(l.ReqGranted, int64(f.N))
			l.ResponderGrants = append(l.ResponderGrants, f.N)
		}
	case protocol.TypeCancel:
		if l.Terminal == "" {
			l.Terminal = "cancel"
		}
	case protocol.TypeError:
		if l.Terminal == "" {
			l.Terminal = "error"
		}
	case protocol.TypePayload:
		continuing := l.fragIn[dir]
		l.fragIn[dir] = f.Flags.Has(protocol.FlagFollows) && !f.Flags.Has(protocol.FlagComplete)
		if continuing {
			return // a later fragment of an element already counted (or of the request)
		}
		if f.Flags.Has(protocol.FlagNext) {
			if fromRequester {
				if l.Kind != protocol.TypeRequestChannel {
					t.violations = append(t.violations, fmt.Sprintf("c%d s%d: requester sent PAYLOAD on a %v", l.Conn, l.StreamID, l.Kind))
					return
				}
				l.ReqSent++
				if l.ReqGranted < protocol.MaxN && l.ReqSent > l.ReqGranted {
					t.violations = append(t.violations, fmt.Sprintf("c%d s%d: requester sent element %d with only %d granted", l.Conn, l.StreamID, l.ReqSent, l.ReqGranted))
				}
			} else {
				l.RespSent++
				if over := l.RespSent - l.RespGranted; l.RespGranted < protocol.MaxN && over > 0 {
					l.RespMax = max(l.RespMax, over)
					t.violations = append(t.violations, fmt.Sprintf("c%d s%d: responder sent element %d with only %d granted", l.Conn, l.StreamID, l.RespSent, l.RespGranted))
				}
			}
		}
		if f.Flags.Has(protocol.FlagComplete) && !fromRequester && l.Terminal == "" {
			l.Terminal = "complete"
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Keepalives counts the KEEPALIVE frames received (in) or sent, with the
// respond flag (R=1, a request for an answer) or without (an answer).
func (t *Tap) Keepalives(in, respond bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.keepalives[b2i(in)][b2i(respond)]
}

func satAdd(a, b int64) int64 { return min(a+b, protocol.MaxN) }

// Violations returns every credit violation seen (elements beyond what was
// granted, undecodable frames).
func (t *Tap) Violations() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.violations...)
}

// Events returns a copy of the recorded frames (KEEPALIVE excluded: see Keepalives).
func (t *Tap) Events() []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Event(nil), t.events...)
}

// Len is the number of recorded frames.
func (t *Tap) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.events)
}

// Ledger returns the ledger of a stream of connection conn.
func (t *Tap) Ledger(conn int, id uint32) (Ledger, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l, ok := t.ledgers[key{conn, id}]
	if !ok {
		return Ledger{}, false
	}
	c := l.Ledger
	c.Grants = append([]Grant(nil), l.Grants...)
	c.ResponderGrants = append([]uint32(nil), l.ResponderGrants...)
	return c, true
}

// Ledgers returns every ledger, by connection and stream ID.
func (t *Tap) Ledgers() []Ledger {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Ledger, 0, len(t.ledgers))
	for _, l := range t.ledgers {
		c := l.Ledger
		c.Grants = append([]Grant(nil), l.Grants...)
		c.ResponderGrants = append([]uint32(nil), l.ResponderGrants...)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Conn != out[j].Conn {
			return out[i].Conn < out[j].Conn
		}
		return out[i].StreamID < out[j].StreamID
	})
	return out
}

// WaitFor waits until a recorded frame at index >= from satisfies match and
// returns it, or returns false after d.
func (t *Tap) WaitFor(from int, d time.Duration, match func(Event) bool) (Event, bool) {
	deadline := time.Now().Add(d)
	timer := time.AfterFunc(d, func() {
		t.mu.Lock()
		t.cond.Broadcast()
		t.mu.Unlock()
	})
	defer timer.Stop()
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := from; ; {
		for ; i < len(t.events); i++ {
			if match(t.events[i]) {
				return t.events[i], true
			}
		}
		if !time.Now().Before(deadline) {
			return Event{}, false
		}
		t.cond.Wait()
	}
}

// Dump formats the recorded frames, one a line (for failure messages).
func (t *Tap) Dump() string {
	var b strings.Builder
	for _, e := range t.Events() {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}
