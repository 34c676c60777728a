package tck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/interop/internal/sluicetest"
	"github.com/sluicehq/sluice/interop/internal/tap"
	"github.com/sluicehq/sluice/protocol"
	"github.com/sluicehq/sluice/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Pairs of client and server scripts replayed, and the client scripts that
// are not (with the reason). Keep in sync with README.md.
var (
	replayed = []struct{ client, server string }{
		{"clientFireAndForgetTests.txt", "serverFireAndForgetTests.txt"},
		{"clientRequestResponseTests.txt", "serverRequestResponseTests.txt"},
		{"clientRequestStreamTests.txt", "serverRequestStreamTests.txt"},
		{"clienttest.txt", "servertest.txt"},
		{"clientmultipleclientstest.txt", "servermultipleclientstest.txt"},
	}
	notReplayed = map[string]string{
		"clientResumptiontest.txt": "resumption (disconnect/resume): sluice refuses RESUME and SETUP with the R flag",
	}
)

// patience bounds every wait for something the scripts expect to happen.
// The scripts' own times (await atLeast ... 100) were written for an
// in-process JVM; here they are lower bounds only (see README.md).
const patience = 5 * time.Second

// tckDir finds the TCK scripts: $SLUICE_TCK_DIR, or shared/conformance/tck
// in the working directory or any of its parents (the repo's shared/ folder
// sits beside the clone: /work/shared next to /work/main).
func tckDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("SLUICE_TCK_DIR"); d != "" {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			t.Fatalf("SLUICE_TCK_DIR=%s is not a directory", d)
		}
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; {
		cand := filepath.Join(dir, "shared", "conformance", "tck")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	t.Skipf("TCK scripts not found: no shared/conformance/tck in %s or any parent, and SLUICE_TCK_DIR is not set", wd)
	return ""
}

// TestTCKFilesAccounted fails when a client script is neither replayed nor
// listed as not applicable, so a new script cannot be skipped silently.
func TestTCKFilesAccounted(t *testing.T) {
	dir := tckDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "client*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, p := range replayed {
		known[p.client] = true
	}
	for f := range notReplayed {
		known[f] = true
	}
	for _, f := range files {
		if !known[filepath.Base(f)] {
			t.Errorf("client script %s is neither replayed nor listed in notReplayed", filepath.Base(f))
		}
	}
	if len(files) == 0 {
		t.Fatalf("no client scripts in %s", dir)
	}
}

func TestTCK(t *testing.T) {
	dir := tckDir(t)
	t.Logf("TCK scripts from %s", dir)
	for _, p := range replayed {
		t.Run(p.client, func(t *testing.T) {
			t.Parallel()
			tests, err := ParseClient(filepath.Join(dir, p.client))
			if err != nil {
				t.Fatal(err)
			}
			handlers, err := ParseServer(filepath.Join(dir, p.server))
			if err != nil {
				t.Fatal(err)
			}
			if len(tests) == 0 {
				t.Fatalf("%s has no tests", p.client)
			}
			for _, tc := range tests {
				t.Run(tc.Name, func(t *testing.T) {
					t.Parallel()
					run(t, tc, handlers)
				})
			}
		})
	}
}

// ---- the replay -------------------------------------------------------------------------

type replay struct {
	t     *testing.T
	ctx   context.Context
	srv   *sluicetest.Server
	tck   *Server
	conns map[string]*conn
	subs  map[string]*sub
	wg    sync.WaitGroup // Recv loops and request-response calls
}

type conn struct {
	name string
	cli  *client.Client
	tap  *tap.Tap
}

// sub is a subscriber of the script: one request and what came back.
type sub struct {
	key, kind string
	c         *conn
	req       sluice.Payload

	stream   sluice.Stream      // rs
	cancelRR context.CancelFunc // rr
	streamID uint32
	sent     bool // the request frame went out

	mu        sync.Mutex
	cond      *sync.Cond
	items     []Element
	completed bool
	err       error
	canceled  bool
	events    int // elements and terminal signals

	wantGrants []tap.Grant // rs: what the request lines must have put on the wire
}

func (s *sub) terminal() bool { return s.completed || s.err != nil }

func (s *sub) snapshot() (items []Element, completed bool, err error, canceled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Element(nil), s.items...), s.completed, s.err, s.canceled
}

// waitUntil waits until cond (called with s.mu held) holds, or d passes.
func (s *sub) waitUntil(d time.Duration, cond func() bool) bool {
	timer := time.AfterFunc(d, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	for !cond() {
		if !time.Now().Before(deadline) {
			return false
		}
		s.cond.Wait()
	}
	return true
}

func (s *sub) add(e Element) {
	s.mu.Lock()
	s.items = append(s.items, e)
	s.events++
	s.cond.Broadcast()
	s.mu.Unlock()
}

// respond records a request-response answer: the element and the completion
// at once.
func (s *sub) respond(e Element) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.terminal() || s.canceled {
		return
	}
	s.items = append(s.items, e)
	s.completed = true
	s.events += 2
	s.cond.Broadcast()
}

func (s *sub) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.terminal() {
		return
	}
	if s.canceled && (errors.Is(err, sluice.ErrCanceled) || errors.Is(err, context.Canceled)) {
		return // our own cancel, not a signal from the responder
	}
	if err == nil || err == io.EOF {
		s.completed = true
	} else {
		s.err = err
	}
	s.events++
	s.cond.Broadcast()
}

func run(t *testing.T, tc ClientTest, handlers []Handler) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := &replay{t: t, ctx: ctx, tck: NewServer(handlers), conns: map[string]*conn{}, subs: map[string]*sub{}}
	r.srv = sluicetest.Start(t, sluicetest.Options{Handlers: func(server.Setup) *sluice.Handlers { return r.tck.Handlers() }})
	defer r.close()
	for _, st := range tc.Steps {
		r.step(st)
		if t.Failed() {
			t.Logf("stopped at %v", st)
			r.dumpFrames()
			return
		}
	}
	r.verifyWire()
}

func (r *replay) close() {
	for _, s := range r.subs {
		if s.cancelRR != nil {
			s.cancelRR()
		}
	}
	for _, c := range r.conns {
		c.cli.Close()
	}
	r.wg.Wait()
}

func (r *replay) dumpFrames() {
	names := make([]string, 0, len(r.conns))
	for n := range r.conns {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r.t.Logf("frames of %s (client side):\n%s", n, r.conns[n].tap.Dump())
	}
}

func (r *replay) conn(name string) *conn {
	if c, ok := r.conns[name]; ok {
		return c
	}
	tp := tap.New(false)
	cli, err := client.Dial(r.ctx, r.srv.URL, client.WithFrameHook(tp.Hook()),
		client.WithMetadataMIME("text/plain"), client.WithDataMIME("text/plain"))
	if err != nil {
		r.t.Fatalf("dial for %s: %v", name, err)
	}
	c := &conn{name: name, cli: cli, tap: tp}
	r.conns[name] = c
	return c
}

func (r *replay) sub(st Step, id string) *sub {
	s, ok := r.subs[st.Conn+"/"+id]
	if !ok {
		r.t.Fatalf("%v: unknown subscriber %s", st, id)
	}
	return s
}

func (r *replay) num(st Step, s string) int64 {
	n, err := Number(s)
	if err != nil {
		r.t.Fatalf("%v: %v", st, err)
	}
	return n
}

func (r *replay) args(st Step, n int) {
	if len(st.Args) < n {
		r.t.Fatalf("%v: want at least %d arguments", st, n)
	}
}

func (r *replay) step(st Step) {
	t := r.t
	switch st.Op {
	case "subscribe":
		r.args(st, 4)
		r.subscribe(st, st.Args[0], st.Args[1], st.Args[2], st.Args[3])
	case "request":
		r.args(st, 2)
		r.request(st, r.sub(st, st.Args[1]), r.num(st, st.Args[0]))
	case "cancel":
		r.args(st, 1)
		r.cancel(st, r.sub(st, st.Args[0]))
	case "take":
		r.args(st, 2)
		s, n := r.sub(st, st.Args[1]), int(r.num(st, st.Args[0]))
		if !s.waitUntil(patience, func() bool { return len(s.items) >= n || s.terminal() }) {
			t.Fatalf("%v: %d elements after %v", st, len(s.items), patience)
		}
		r.cancel(st, s)
	case "await":
		r.args(st, 2)
		r.await(st, st.Args[0], r.sub(st, st.Args[1]), st.Args[2:])
	case "assert":
		r.args(st, 2)
		r.assert(st, st.Args[0], r.sub(st, st.Args[1]), st.Args[2:])
	case "disconnect", "resume":
		t.Fatalf("%v: resumption is not supported by sluice; this script should not be replayed", st)
	default:
		t.Fatalf("%v: unknown operation %q", st, st.Op)
	}
}

func (r *replay) subscribe(st Step, kind, id, data, md string) {
	c := r.conn(st.Conn)
	key := st.Conn + "/" + id
	if _, dup := r.subs[key]; dup {
		r.t.Fatalf("%v: subscriber %s exists", st, id)
	}
	s := &sub{key: key, kind: kind, c: c, req: sluice.Payload{Data: []byte(data), Metadata: []byte(md)}}
	s.cond = sync.NewCond(&s.mu)
	r.subs[key] = s
	switch kind {
	case "rs":
		// Manual: nothing goes out until the first request line, and each request
		// line grants exactly its N.
		before := map[uint32]bool{}
		for _, ss := range c.cli.Stats().Streams {
			before[ss.ID] = true
		}
		stream, err := c.cli.RequestStream(r.ctx, s.req, client.Manual())
		if err != nil {
			r.t.Fatalf("%v: %v", st, err)
		}
		s.stream = stream
		for _, ss := range c.cli.Stats().Streams {
			if !before[ss.ID] && ss.Kind == "request-stream" {
				s.streamID = ss.ID
			}
		}
		if s.streamID == 0 {
			r.t.Fatalf("%v: could not find the new stream's ID", st)
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			for {
				p, err := stream.Recv(r.ctx)
				if err != nil {
					s.end(err)
					return
				}
				s.add(Element{Data: string(p.Data), Metadata: string(p.Metadata)})
			}
		}()
	case "rr", "fnf":
	default:
		r.t.Fatalf("%v: unknown interaction %q", st, kind)
	}
}

// request handles a request line: the first sends the request, later ones
// (request-stream) send REQUEST_N. A request line for a subscriber that was
// cancelled or has terminated sends nothing (Reactive Streams: such a
// subscription is gone); anything else must put exactly one frame on the wire.
func (r *replay) request(st Step, s *sub, n int64) {
	t := r.t
	s.mu.Lock()
	gone := s.canceled || s.terminal()
	s.mu.Unlock()
	if gone {
		t.Logf("%v: subscriber is cancelled or terminated: nothing crosses", st)
		return
	}
	from := s.c.tap.Len()
	switch s.kind {
	case "rs":
		g := tap.Grant{Initial: !s.sent, N: uint32(min(n, protocol.MaxN))}
		s.sent = true
		s.stream.Request(n)
		s.wantGrants = append(s.wantGrants, g)
		want := protocol.TypeRequestN
		if g.Initial {
			want = protocol.TypeRequestStream
		}
		_, ok := s.c.tap.WaitFor(from, patience, func(e tap.Event) bool {
			return !e.In && e.StreamID == s.streamID && e.Type == want && e.N == g.N
		})
		if !ok {
			if s.waitUntil(0, s.terminal) {
				// It ended between our look and the Request: nothing crosses.
				s.wantGrants = s.wantGrants[:len(s.wantGrants)-1]
				t.Logf("%v: the stream ended meanwhile: nothing crossed", st)
				return
			}
			t.Fatalf("%v: no %v(%d) on stream %d", st, want, g.N, s.streamID)
		}
	case "rr":
		if s.sent {
			t.Logf("%v: request-response already requested: nothing crosses", st)
			return
		}
		s.sent = true
		ctx, cancel := context.WithCancel(r.ctx)
		s.cancelRR = cancel
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			p, err := s.c.cli.RequestResponse(ctx, s.req)
			if err == nil {
				// The response and the completion are one signal.
				s.respond(Element{Data: string(p.Data), Metadata: string(p.Metadata)})
				return
			}
			s.end(err)
		}()
		e, ok := s.c.tap.WaitFor(from, patience, func(e tap.Event) bool {
			return !e.In && e.Type == protocol.TypeRequestResponse
		})
		if !ok || e.Data != string(s.req.Data) || string(e.Metadata) != string(s.req.Metadata) {
			t.Fatalf("%v: no REQUEST_RESPONSE for it (got %v)", st, e)
		}
		s.streamID = e.StreamID
	case "fnf":
		if s.sent {
			return
		}
		s.sent = true
		err := s.c.cli.FireAndForget(r.ctx, s.req)
		s.end(err)
		e, ok := s.c.tap.WaitFor(from, patience, func(e tap.Event) bool {
			return !e.In && e.Type == protocol.TypeRequestFNF
		})
		if !ok || e.Data != string(s.req.Data) || string(e.Metadata) != string(s.req.Metadata) {
			t.Fatalf("%v: no REQUEST_FNF for it (got %v)", st, e)
		}
		s.streamID = e.StreamID
		// And it reached the responder.
		if _, ok := r.srv.Tap.WaitFor(0, patience, func(e tap.Event) bool {
			return e.In && e.Type == protocol.TypeRequestFNF && e.Data == string(s.req.Data)
		}); !ok {
			t.Fatalf("%v: the server never got the REQUEST_FNF", st)
		}
	}
}

// cancel cancels a subscriber; a stream that was requested and has not
// terminated sends CANCEL.
func (r *replay) cancel(st Step, s *sub) {
	s.mu.Lock()
	already := s.canceled || s.terminal()
	s.canceled = true
	s.mu.Unlock()
	if already {
		return
	}
	from := s.c.tap.Len()
	switch s.kind {
	case "rs":
		s.stream.Cancel()
		if !s.sent {
			return // the request never left: nothing to cancel on the wire
		}
		if _, ok := s.c.tap.WaitFor(from, patience, func(e tap.Event) bool {
			return !e.In && e.StreamID == s.streamID && e.Type == protocol.TypeCancel
		}); !ok && !s.waitUntil(0, s.terminal) {
			r.t.Fatalf("%v: no CANCEL on stream %d", st, s.streamID)
		}
	case "rr":
		if s.cancelRR != nil {
			s.cancelRR()
		}
	}
}

func (r *replay) await(st Step, what string, s *sub, rest []string) {
	t := r.t
	switch what {
	case "terminal":
		if !s.waitUntil(patience, s.terminal) {
			t.Fatalf("%v: no terminal signal after %v (%d elements)", st, patience, len(s.items))
		}
	case "atLeast":
		r.args(st, 3)
		n := int(r.num(st, rest[0]))
		if !s.waitUntil(patience, func() bool { return len(s.items) >= n || s.terminal() }) {
			t.Fatalf("%v: %d elements after %v", st, len(s.items), patience)
		}
		if items, _, err, _ := s.snapshot(); len(items) < n {
			t.Fatalf("%v: ended with %d elements (%v)", st, len(items), err)
		}
	case "no_events":
		r.args(st, 3)
		d := time.Duration(r.num(st, rest[0])) * time.Millisecond
		s.mu.Lock()
		before := s.events
		s.mu.Unlock()
		time.Sleep(d)
		s.mu.Lock()
		after := s.events
		s.mu.Unlock()
		if after != before {
			t.Fatalf("%v: %d events during %v", st, after-before, d)
		}
	default:
		t.Fatalf("%v: unknown await %q", st, what)
	}
}

func (r *replay) assert(st Step, what string, s *sub, rest []string) {
	t := r.t
	items, completed, err, canceled := s.snapshot()
	switch what {
	case "no_error":
		if err != nil {
			t.Errorf("%v: error %v", st, err)
		}
	case "error":
		var se *sluice.Error
		if !errors.As(err, &se) {
			t.Errorf("%v: want an RSocket error, got %v", st, err)
		}
	case "completed":
		if !completed {
			t.Errorf("%v: not completed (error %v, %d elements)", st, err, len(items))
		}
	case "no_completed":
		if completed {
			t.Errorf("%v: completed", st)
		}
	case "canceled":
		if !canceled {
			t.Errorf("%v: not cancelled", st)
		}
	case "received":
		r.args(st, 3)
		want, perr := ParseReceived(rest[0])
		if perr != nil {
			t.Fatalf("%v: %v", st, perr)
		}
		// Like received_n below: what was requested earlier may still be in
		// flight (responses to concurrent requests arrive in any order).
		s.waitUntil(patience, func() bool { return len(s.items) >= len(want) || s.terminal() })
		items, _, _, _ = s.snapshot()
		if !slices.Equal(items, want) {
			t.Errorf("%v: received %v, want %v", st, items, want)
		}
	case "received_n", "received_at_least":
		r.args(st, 3)
		n := int(r.num(st, rest[0]))
		// Elements granted earlier may still be in flight: wait (bounded) for
		// the count to reach n, then check it.
		s.waitUntil(patience, func() bool { return len(s.items) >= n || s.terminal() })
		items, _, _, _ = s.snapshot()
		if len(items) < n || what == "received_n" && len(items) != n {
			t.Errorf("%v: received %d elements %v", st, len(items), items)
		}
	default:
		t.Fatalf("%v: unknown assert %q", st, what)
	}
}

// verifyWire checks the frames: every request line of a stream became exactly
// the grant it asked for and nothing else, and no side sent an element beyond
// what the other had granted.
func (r *replay) verifyWire() {
	t := r.t
	for _, s := range r.subs {
		if s.kind != "rs" {
			continue
		}
		l, ok := s.c.tap.Ledger(0, s.streamID)
		if !ok {
			if len(s.wantGrants) > 0 {
				t.Errorf("%s: nothing on the wire, want %v", s.key, s.wantGrants)
			}
			continue
		}
		if fmt.Sprint(l.Grants) != fmt.Sprint(s.wantGrants) {
			t.Errorf("%s (stream %d): grants on the wire %v, want %v (one per request line)", s.key, s.streamID, l.Grants, s.wantGrants)
		}
		if l.RespSent > l.RespGranted {
			t.Errorf("%s (stream %d): %d elements arrived with %d granted", s.key, s.streamID, l.RespSent, l.RespGranted)
		}
	}
	var v []string
	for name, c := range r.conns {
		for _, x := range c.tap.Violations() {
			v = append(v, name+": "+x)
		}
	}
	for _, x := range r.srv.Tap.Violations() {
		v = append(v, "server: "+x)
	}
	if len(v) > 0 {
		t.Errorf("credit violations:\n%s", strings.Join(v, "\n"))
		r.dumpFrames()
	}
}
