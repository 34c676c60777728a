package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/conformance"
	"github.com/sluicehq/sluice/protocol"
	"github.com/sluicehq/sluice/router"
	"github.com/sluicehq/sluice/server"
)

// bin is the sluice binary, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-cmd-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "sluice")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building sluice: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutine leak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs the binary with args and stdin, bounded in time.
func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running sluice %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("sluice %v did not finish in time; stderr:\n%s", args, r.stderr)
	}
	return r
}

// tapFrame is a decoded copy of a frame the test server saw.
type tapFrame struct {
	in       bool // received by the server
	stream   uint32
	typ      protocol.FrameType
	flags    protocol.Flags
	n        uint32
	code     protocol.ErrorCode
	metadata []byte
	data     string
	mdMIME   string
	dataMIME string
}

func (f tapFrame) String() string {
	dir := "->"
	if f.in {
		dir = "<-"
	}
	return fmt.Sprintf("%s %d %v n=%d flags=%#x data=%q", dir, f.stream, f.typ, f.n, uint16(f.flags), f.data)
}

// tap records every frame of every connection of the test server.
type tap struct {
	mu     sync.Mutex
	frames []tapFrame
}

func (tp *tap) hook(c *server.Conn, in bool, b []byte) {
	f, err := protocol.Decode(b)
	if err != nil {
		return
	}
	tf := tapFrame{in: in, stream: f.StreamID, typ: f.Type, flags: f.Flags, n: f.N, code: f.Code, data: string(f.Data),
		mdMIME: string(f.MetadataMIME), dataMIME: string(f.DataMIME)}
	if f.Metadata != nil {
		tf.metadata = append([]byte{}, f.Metadata...)
	}
	tp.mu.Lock()
	tp.frames = append(tp.frames, tf)
	tp.mu.Unlock()
}

// snapshot returns the frames seen so far.
func (tp *tap) snapshot() []tapFrame {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]tapFrame(nil), tp.frames...)
}

// wait polls until cond holds on the frames (the server reads the client's
// last frames a moment after the client has exited).
func (tp *tap) wait(t *testing.T, what string, cond func([]tapFrame) bool) []tapFrame {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		fs := tp.snapshot()
		if cond(fs) {
			return fs
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, f := range fs {
				fmt.Fprintln(&b, f)
			}
			t.Fatalf("the server never saw %s; frames:\n%s", what, b.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// count returns how many frames match.
func count(fs []tapFrame, match func(tapFrame) bool) int {
	n := 0
	for _, f := range fs {
		if match(f) {
			n++
		}
	}
	return n
}

// testServer is an in-process server with the conformance routes over
// WebSocket and TCP on loopback, with a frame tap. It mirrors newApp's
// RSocket part (newApp takes no FrameHook); the bench tests drive newApp
// itself through `sluice bench`.
type testServer struct {
	tap     *tap
	srv     *server.Server
	hs      *http.Server
	ln, tl  net.Listener
	ws, tcp string
	wg      sync.WaitGroup

	mu      sync.Mutex
	headers []http.Header // handshake headers seen
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	ts := &testServer{tap: &tap{}}
	r := router.New()
	conformance.Register(r)
	ts.srv = server.New(server.Options{
		Logger:    discardLogger(),
		FrameHook: ts.tap.hook,
		Accept: func(ctx context.Context, setup server.Setup, c *server.Conn) (*sluice.Handlers, error) {
			conformance.Attach(c.Conn)
			return r.Handlers(setup.MetadataMIME), nil
		},
	})
	var err error
	if ts.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if ts.tl, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/rsocket", func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		ts.headers = append(ts.headers, r.Header.Clone())
		ts.mu.Unlock()
		ts.srv.ServeHTTP(w, r)
	})
	ts.hs = &http.Server{Handler: mux}
	ts.wg.Go(func() { ts.hs.Serve(ts.ln) })
	ts.wg.Go(func() { ts.srv.ServeTCP(ts.tl) })
	ts.ws = "ws://" + ts.ln.Addr().String() + "/rsocket"
	ts.tcp = "tcp://" + ts.tl.Addr().String()
	t.Cleanup(ts.close)
	return ts
}

func (ts *testServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ts.hs.Shutdown(ctx)
	ts.srv.Shutdown(ctx)
	ts.tl.Close()
	ts.wg.Wait()
}

// lines splits output into lines (without the last newline).
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// wantOutput checks a successful run's stdout.
func wantOutput(t *testing.T, r result, want ...string) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	if got := lines(r.stdout); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("stdout %q, want %q; stderr:\n%s", got, want, r.stderr)
	}
}

// wantOneLineFailure checks a run that must fail with one clear line.
func wantOneLineFailure(t *testing.T, r result, code int, contains string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d; stdout %q stderr %q", r.code, code, r.stdout, r.stderr)
	}
	for _, bad := range []string{"goroutine", "panic", ".go:"} {
		if strings.Contains(r.stderr, bad) {
			t.Fatalf("stderr mentions %q:\n%s", bad, r.stderr)
		}
	}
	ls := lines(r.stderr)
	max := 1
	if code == 2 {
		max = 2 // the message and the short usage line
	}
	if len(ls) == 0 || len(ls) > max {
		t.Fatalf("stderr has %d lines, want 1..%d:\n%s", len(ls), max, r.stderr)
	}
	if !strings.HasPrefix(ls[0], "sluice") || !strings.Contains(ls[0], contains) {
		t.Fatalf("stderr %q, want a line mentioning %q", ls[0], contains)
	}
}
