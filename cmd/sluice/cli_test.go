package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/protocol"
	"github.com/sluicehq/sluice/protocol/metadata"
)

func isType(in bool, t protocol.FrameType) func(tapFrame) bool {
	return func(f tapFrame) bool { return f.in == in && f.typ == t }
}

func sentElements(f tapFrame) bool {
	return !f.in && f.typ == protocol.TypePayload && f.flags.Has(protocol.FlagNext)
}

func TestRequestResponse(t *testing.T) {
	ts := startServer(t)
	wantOutput(t, runCLI(t, "", "--request", "-i", "hello", "--route", "echo", ts.ws), "hello")
	// Several inputs: one request each, in order; --ops repeats them.
	wantOutput(t, runCLI(t, "", "--request", "-i", "a", "--input=b", "-ic", "--route", "echo", "--ops", "2", ts.ws),
		"a", "b", "c", "a", "b", "c")
}

func TestStreamIsTheDefault(t *testing.T) {
	ts := startServer(t)
	wantOutput(t, runCLI(t, "", "-i", "3", "--route", "count", ts.ws), "0", "1", "2")
	fs := ts.tap.wait(t, "REQUEST_STREAM", func(fs []tapFrame) bool { return count(fs, isType(true, protocol.TypeRequestStream)) == 1 })
	for _, f := range fs {
		if f.typ == protocol.TypeRequestStream && f.n != defaultWindow {
			t.Fatalf("REQUEST_STREAM n=%d without -r, want the default window %d", f.n, defaultWindow)
		}
	}
}

// TestRequestNOnTheWire: -r 5 puts 5 into REQUEST_STREAM, the producer makes
// exactly 5, and the CLI cancels after the 5th.
func TestRequestNOnTheWire(t *testing.T) {
	ts := startServer(t)
	wantOutput(t, runCLI(t, "", "--stream", "-i", "100", "--route", "count", "-r", "5", ts.ws), "0", "1", "2", "3", "4")
	fs := ts.tap.wait(t, "CANCEL", func(fs []tapFrame) bool { return count(fs, isType(true, protocol.TypeCancel)) == 1 })
	var req *tapFrame
	for i, f := range fs {
		if f.in && f.typ == protocol.TypeRequestStream {
			req = &fs[i]
		}
	}
	if req == nil || req.n != 5 {
		t.Fatalf("REQUEST_STREAM %v, want n=5", req)
	}
	if n := count(fs, sentElements); n != 5 {
		t.Fatalf("server sent %d elements, want 5", n)
	}
	if n := count(fs, isType(true, protocol.TypeRequestN)); n != 0 {
		t.Fatalf("%d REQUEST_N frames, want none", n)
	}
	// CANCEL comes after the 5th element.
	last := -1
	for i, f := range fs {
		if sentElements(f) {
			last = i
		}
		if f.in && f.typ == protocol.TypeCancel && i < last {
			t.Fatal("CANCEL before the 5th element")
		}
	}
}

func TestRequestNClamped(t *testing.T) {
	ts := startServer(t)
	wantOutput(t, runCLI(t, "", "-i", "3", "--route", "count", "--requestn", "99999999999", ts.ws), "0", "1", "2")
	fs := ts.tap.wait(t, "REQUEST_STREAM", func(fs []tapFrame) bool { return count(fs, isType(true, protocol.TypeRequestStream)) == 1 })
	for _, f := range fs {
		if f.typ == protocol.TypeRequestStream && f.n != protocol.MaxN {
			t.Fatalf("REQUEST_STREAM n=%d, want 2^31-1", f.n)
		}
	}
}

func TestBatch(t *testing.T) {
	ts := startServer(t)
	// 10 elements, 3 at a time: n=3, then REQUEST_N(3) after each 3 printed.
	want := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	wantOutput(t, runCLI(t, "", "-i", "10", "--route", "count", "--batch", "3", ts.ws), want...)
	fs := ts.tap.wait(t, "the stream's end", func(fs []tapFrame) bool {
		return count(fs, func(f tapFrame) bool {
			return !f.in && f.typ == protocol.TypePayload && f.flags.Has(protocol.FlagComplete)
		}) == 1
	})
	var ns []uint32
	for _, f := range fs {
		if f.in && (f.typ == protocol.TypeRequestStream || f.typ == protocol.TypeRequestN) {
			ns = append(ns, f.n)
		}
	}
	if strconvU32(ns) != "[3 3 3 3]" {
		t.Fatalf("demand on the wire %v, want [3 3 3 3]", ns)
	}

	// -r 7 --batch 3: 3, 3, 1, then CANCEL.
	ts2 := startServer(t)
	wantOutput(t, runCLI(t, "", "-i", "100", "--route", "count", "--batch", "3", "-r", "7", ts2.ws), want[:7]...)
	fs = ts2.tap.wait(t, "CANCEL", func(fs []tapFrame) bool { return count(fs, isType(true, protocol.TypeCancel)) == 1 })
	ns = nil
	for _, f := range fs {
		if f.in && (f.typ == protocol.TypeRequestStream || f.typ == protocol.TypeRequestN) {
			ns = append(ns, f.n)
		}
	}
	if strconvU32(ns) != "[3 3 1]" {
		t.Fatalf("demand on the wire %v, want [3 3 1]", ns)
	}
	if n := count(fs, sentElements); n != 7 {
		t.Fatalf("server sent %d elements, want 7", n)
	}
}

func strconvU32(ns []uint32) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.FormatUint(uint64(n), 10)
	}
	return "[" + strings.Join(s, " ") + "]"
}

func TestChannelFromStdin(t *testing.T) {
	ts := startServer(t)
	wantOutput(t, runCLI(t, "a\nb\r\nc\n", "--channel", "-i", "-", "--route", "channel.echo", ts.ws), "a", "b", "c")
	fs := ts.tap.wait(t, "the channel's completion", func(fs []tapFrame) bool {
		return count(fs, func(f tapFrame) bool {
			return f.in && f.typ == protocol.TypePayload && f.flags.Has(protocol.FlagComplete)
		}) == 1
	})
	var got []string
	for _, f := range fs {
		if f.in && (f.typ == protocol.TypeRequestChannel || f.typ == protocol.TypePayload && f.flags.Has(protocol.FlagNext)) {
			got = append(got, f.data)
		}
	}
	if strings.Join(got, ",") != "a,b,c" {
		t.Fatalf("server received %q, want a, b, c (the first in REQUEST_CHANNEL)", got)
	}
}

func TestChannelRequestN(t *testing.T) {
	ts := startServer(t)
	wantOutput(t, runCLI(t, "", "--channel", "-i", "x", "-i", "y", "-i", "z", "-r", "2", "--route", "channel.echo", ts.ws), "x", "y")
	fs := ts.tap.wait(t, "CANCEL", func(fs []tapFrame) bool { return count(fs, isType(true, protocol.TypeCancel)) == 1 })
	for _, f := range fs {
		if f.typ == protocol.TypeRequestChannel && f.n != 2 {
			t.Fatalf("REQUEST_CHANNEL n=%d, want 2", f.n)
		}
	}
}

func TestInputFiles(t *testing.T) {
	ts := startServer(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	os.WriteFile(in, []byte("one\r\ntwo\n\nfour"), 0o600)
	md := filepath.Join(dir, "md.json")
	os.WriteFile(md, []byte(`{"k":"v"}`), 0o600)
	setup := filepath.Join(dir, "setup.bin")
	os.WriteFile(setup, []byte("setup-data"), 0o600)
	wantOutput(t, runCLI(t, "from-stdin\n", "--request", "-i", "@"+in, "-i", "-", "-m", "@"+md, "--setup", "@"+setup,
		"--route", "echo", ts.ws), "one", "two", "", "four", "from-stdin")
	fs := ts.tap.wait(t, "5 requests", func(fs []tapFrame) bool { return count(fs, isType(true, protocol.TypeRequestResponse)) == 5 })
	for _, f := range fs {
		if f.typ == protocol.TypeSetup && f.data != "setup-data" {
			t.Fatalf("SETUP data %q", f.data)
		}
		if f.typ == protocol.TypeRequestResponse {
			if c, ok := metadata.Find(f.metadata, "application/json"); !ok || string(c) != `{"k":"v"}` {
				t.Fatalf("request metadata %x: no application/json entry with the -m file", f.metadata)
			}
		}
	}
}

func TestHeadersFormatsAndSetup(t *testing.T) {
	ts := startServer(t)
	r := runCLI(t, "", "--request", "-i", "x", "--route", "echo", "-H", "A: b", "-H", "C:d e",
		"-T", "X-Test: yes", "--transport-header=Authorization: Bearer t0k",
		"--setup", "hi", "--dataFormat", "text", "--metadataFormat", "composite", "--keepalive", "2", ts.ws)
	wantOutput(t, r, "x")
	fs := ts.tap.wait(t, "the request", func(fs []tapFrame) bool { return count(fs, isType(true, protocol.TypeRequestResponse)) == 1 })
	for _, f := range fs {
		switch f.typ {
		case protocol.TypeSetup:
			if f.dataMIME != "text/plain" || f.mdMIME != metadata.MIMEComposite || f.data != "hi" {
				t.Fatalf("SETUP data MIME %q, metadata MIME %q, data %q", f.dataMIME, f.mdMIME, f.data)
			}
		case protocol.TypeRequestResponse:
			c, ok := metadata.Find(f.metadata, "application/json")
			if !ok || string(c) != `{"A":"b","C":"d e"}` {
				t.Fatalf("-H metadata %q", c)
			}
			if rt, _ := metadata.RouteOf(f.metadata, metadata.MIMEComposite); rt != "echo" {
				t.Fatalf("route %q", rt)
			}
		}
	}
	ts.mu.Lock()
	h := ts.headers[0]
	ts.mu.Unlock()
	if h.Get("X-Test") != "yes" || h.Get("Authorization") != "Bearer t0k" {
		t.Fatalf("handshake headers %v", h)
	}

	// Routing metadata on its own.
	wantOutput(t, runCLI(t, "", "--request", "-i", "y", "--route", "echo", "--metadataFormat", "routing", ts.ws), "y")
	// A JSON metadata type: -H is the metadata as it is (no route: the
	// conformance server answers with an error naming no route).
	r = runCLI(t, "", "--request", "-i", "z", "-H", "A: b", "--metadataFormat", "json", ts.ws)
	wantOneLineFailure(t, r, 1, "no route")
}

func TestFireAndForgetAndMetadataPush(t *testing.T) {
	ts := startServer(t)
	wantOutput(t, runCLI(t, "", "--fnf", "-i", "a", "-i", "b", "--route", "fnf", "--ops", "3", ts.ws))
	ts.tap.wait(t, "6 REQUEST_FNF", func(fs []tapFrame) bool { return count(fs, isType(true, protocol.TypeRequestFNF)) == 6 })

	wantOutput(t, runCLI(t, "", "--metadataPush", "-i", "m1", "-i", "m2", ts.ws))
	fs := ts.tap.wait(t, "2 METADATA_PUSH", func(fs []tapFrame) bool { return count(fs, isType(true, protocol.TypeMetadataPush)) == 2 })
	var got []string
	for _, f := range fs {
		if f.typ == protocol.TypeMetadataPush {
			got = append(got, string(f.metadata))
		}
	}
	if strings.Join(got, ",") != "m1,m2" {
		t.Fatalf("pushed %q", got)
	}
}

func TestTCP(t *testing.T) {
	ts := startServer(t)
	wantOutput(t, runCLI(t, "", "-i", "100", "--route", "count", "-r", "3", ts.tcp), "0", "1", "2")
	fs := ts.tap.wait(t, "CANCEL", func(fs []tapFrame) bool { return count(fs, isType(true, protocol.TypeCancel)) == 1 })
	if n := count(fs, sentElements); n != 3 {
		t.Fatalf("server sent %d elements over TCP, want 3", n)
	}
	wantOutput(t, runCLI(t, "", "--request", "-i", "over tcp", "--route", "echo", ts.tcp), "over tcp")
}

var debugLine = regexp.MustCompile(`^(->|<-) stream=\d+ [A-Z_]+ flags=[A-Z|-]+( [a-z]+=\S+)*( md=\d+)? data=\d+( md:\S.*)?( data:\S+)?$`)

func TestDebug(t *testing.T) {
	ts := startServer(t)
	r := runCLI(t, "", "--stream", "-i", "100", "--route", "count", "-r", "5", "--debug", ts.ws)
	wantOutput(t, r, "0", "1", "2", "3", "4")
	ls := lines(r.stderr)
	for _, l := range ls {
		if !debugLine.MatchString(l) {
			t.Errorf("debug line %q does not match the format", l)
		}
	}
	joined := strings.Join(ls, "\n")
	for _, want := range []string{
		`-> stream=0 SETUP flags=- version=1.0`,
		`-> stream=1 REQUEST_STREAM flags=M n=5 md=10 data=3 md:[routing:count] data:"100"`,
		`<- stream=1 PAYLOAD flags=N data=1 data:"4"`,
		`-> stream=1 CANCEL flags=- data=0`,
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("debug output lacks %q:\n%s", want, joined)
		}
	}
	if n := strings.Count(joined, "<- stream=1 PAYLOAD"); n != 5 {
		t.Errorf("%d PAYLOAD lines, want 5", n)
	}
	if !strings.HasSuffix(joined, "-> stream=1 CANCEL flags=- data=0") {
		t.Errorf("the last frame is not the CANCEL:\n%s", joined)
	}
}

func TestOutputOfBinaryAndControlCharacters(t *testing.T) {
	ts := startServer(t)
	r := runCLI(t, "", "-i", "2 200", "--route", "blob", ts.ws)
	ls := lines(r.stdout)
	if r.code != 0 || len(ls) != 2 {
		t.Fatalf("exit %d, %d lines; stderr %s", r.code, len(ls), r.stderr)
	}
	for i, l := range ls {
		b, err := hex.DecodeString(strings.TrimPrefix(l, "0x"))
		if !strings.HasPrefix(l, "0x") || err != nil || len(b) != 200 || b[7] != byte(i) {
			t.Fatalf("line %d %.40q…: want 0x and the hex of 200 bytes", i, l)
		}
	}
	wantOutput(t, runCLI(t, "", "--request", "-i", "tab\tok", "-i", "é ✓", "--route", "echo", ts.ws), "tab\tok", "é ✓")
	// An element with a newline stays on one line, quoted.
	r = runCLI(t, "", "--request", "-i", "a\nb", "--route", "echo", ts.ws)
	wantOutput(t, r, `"a\nb"`)
}

func TestApplicationErrorExit1(t *testing.T) {
	ts := startServer(t)
	r := runCLI(t, "", "--request", "-i", "boom", "--route", "error", ts.ws)
	wantOneLineFailure(t, r, 1, "APPLICATION_ERROR")
	if !strings.Contains(r.stderr, "boom") || r.stdout != "" {
		t.Fatalf("stdout %q stderr %q", r.stdout, r.stderr)
	}
	// A stream error after some elements: they are printed, then exit 1.
	r = runCLI(t, "", "-i", "x", "--route", "count", ts.ws)
	wantOneLineFailure(t, r, 1, "INVALID")
	r = runCLI(t, "", "--request", "-i", "x", "--route", "no.such.route", ts.ws)
	wantOneLineFailure(t, r, 1, `no handler for route "no.such.route"`)
}

func TestUsageErrorsExit2(t *testing.T) {
	ts := startServer(t)
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{nil, "missing URI"},
		{[]string{"--bogus", ts.ws}, "unknown option --bogus"},
		{[]string{"--metadatapush", ts.ws}, "did you mean --metadataPush"},
		{[]string{"--request", "--channel", ts.ws}, "choose one of"},
		{[]string{"-r", "0", ts.ws}, "at least 1"},
		{[]string{"-r", "x", ts.ws}, "not a whole number"},
		{[]string{"-i"}, "needs a value"},
		{[]string{"--debug=yes", ts.ws}, "takes no value"},
		{[]string{"http://127.0.0.1/", "--request"}, "unsupported scheme"},
		{[]string{"ws://"}, "no host"},
		{[]string{"tcp://127.0.0.1"}, "needs a port"},
		{[]string{"a", "b"}, "one URI expected"},
		{[]string{"-i", "@/no/such/file", ts.ws}, "no such file"},
		{[]string{"-m", "@/no/such/file", ts.ws}, "no such file"},
		{[]string{"--timeout", "-1", ts.ws}, "must be positive"},
		{[]string{"--dataFormat", "yaml", ts.ws}, "--dataFormat"},
		{[]string{"--metadataFormat", "json", "--route", "echo", ts.ws}, "--route needs composite"},
		{[]string{"-T", "NoColon", ts.ws}, "Name: value"},
		{[]string{"-T", "A: b", ts.tcp}, "ws://"},
		{[]string{"--server", "wss://127.0.0.1:0/"}, "--server"},
		{[]string{"--route", strings.Repeat("r", 300), ts.ws}, "--route"},
	} {
		r := runCLI(t, "", c.args...)
		wantOneLineFailure(t, r, 2, c.msg)
		if !strings.Contains(r.stderr, "usage: sluice") {
			t.Errorf("%v: no usage line in %q", c.args, r.stderr)
		}
	}
}

func TestConnectionFailuresAreOneLine(t *testing.T) {
	ts := startServer(t)
	// A port nothing listens on.
	ln := listenThenClose(t)
	tlsSrv := httptest.NewTLSServer(ts.hs.Handler)
	defer tlsSrv.Close()
	wssURI := "wss://" + strings.TrimPrefix(tlsSrv.URL, "https://") + "/rsocket"
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--request", "ws://" + ln + "/rsocket"}, "connection refused"},
		{[]string{"--request", "tcp://" + ln}, "connection refused"},
		{[]string{"--request", strings.TrimSuffix(ts.ws, "/rsocket") + "/nope"}, "HTTP 404"},
		{[]string{"--request", strings.TrimSuffix(ts.ws, "/rsocket")}, "/rsocket"},
		{[]string{"--request", "wss" + strings.TrimPrefix(ts.ws, "ws")}, "does not speak TLS"},
		{[]string{"--request", wssURI}, "unknown authority"},
		{[]string{"--request", "--route", "never", "--timeout", "0.3", ts.ws}, "timed out after 300ms"},
		{[]string{"--stream", "--route", "ticks", "-r", "1000000000", "--timeout", "200ms", ts.tcp}, "timed out"},
	} {
		r := runCLI(t, "", c.args...)
		wantOneLineFailure(t, r, 1, c.msg)
	}
}

// listenThenClose returns a loopback address where nothing listens.
func listenThenClose(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestHelpAndVersion(t *testing.T) {
	for _, a := range []string{"-h", "--help"} {
		r := runCLI(t, "", a)
		if r.code != 0 || !strings.Contains(r.stdout, "usage: sluice") || !strings.Contains(r.stdout, "--requestn") {
			t.Fatalf("%s: exit %d, stdout %q", a, r.code, r.stdout)
		}
	}
	for _, a := range []string{"-V", "--version"} {
		r := runCLI(t, "", a)
		if r.code != 0 || strings.TrimSpace(r.stdout) != "sluice "+version {
			t.Fatalf("%s: exit %d, stdout %q", a, r.code, r.stdout)
		}
	}
}

func TestInterrupt(t *testing.T) {
	ts := startServer(t)
	cmd := exec.Command(bin, "--stream", "--route", "ticks", ts.ws)
	stdout, _ := cmd.StdoutPipe()
	var errb strings.Builder
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(stdout)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGINT)
	go io.Copy(io.Discard, br)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130; stderr %q", err, errb.String())
	}
	if strings.TrimSpace(errb.String()) != "sluice: interrupted" {
		t.Fatalf("stderr %q", errb.String())
	}
	ts.tap.wait(t, "CANCEL", func(fs []tapFrame) bool { return count(fs, isType(true, protocol.TypeCancel)) == 1 })
}

// firstLine captures everything written and reports the first line.
type firstLine struct {
	mu   sync.Mutex
	buf  []byte
	line chan string
	sent bool
}

func (f *firstLine) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buf = append(f.buf, p...)
	if i := bytes.IndexByte(f.buf, '\n'); i >= 0 && !f.sent {
		f.sent = true
		f.line <- string(f.buf[:i])
	}
	return len(p), nil
}

func (f *firstLine) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return string(f.buf)
}

// startCLIServer runs `sluice --server` and returns its URI; stop sends
// SIGTERM and returns what it printed.
func startCLIServer(t *testing.T, args ...string) (uri string, stop func() (stdout, stderr string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cmd := exec.CommandContext(ctx, bin, args...)
	var out strings.Builder
	errw := &firstLine{line: make(chan string, 1)}
	cmd.Stdout, cmd.Stderr = &out, errw
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	var line string
	select {
	case line = <-errw.line:
	case <-time.After(10 * time.Second):
	}
	stopped := false
	stop = func() (string, string) {
		if !stopped {
			stopped = true
			cmd.Process.Signal(syscall.SIGTERM)
			werr := cmd.Wait()
			cancel()
			if werr != nil {
				t.Errorf("--server exited with %v; stderr:\n%s", werr, errw)
			}
		}
		return out.String(), errw.String()
	}
	t.Cleanup(func() { stop() })
	if !strings.HasPrefix(line, "listening ") {
		stop()
		t.Fatalf("--server said %q", errw)
	}
	return strings.TrimPrefix(line, "listening "), stop
}

func TestServerMode(t *testing.T) {
	uri, stop := startCLIServer(t, "--server", "-i", "pong", "-i", "pong2", "--debug", "ws://127.0.0.1:0/rsocket")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.RequestResponse(ctx, sluice.Text("ping"))
	if err != nil || string(resp.Data) != "pong" {
		t.Fatalf("request-response: %q %v", resp.Data, err)
	}
	s, err := c.RequestStream(ctx, sluice.Text("s"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for p, err := range s.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(p.Data))
	}
	if strings.Join(got, ",") != "pong,pong2" {
		t.Fatalf("stream: %q", got)
	}
	ch, err := c.RequestChannel(ctx, sluice.Text("c1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Send(ctx, sluice.Text("c2")); err != nil {
		t.Fatal(err)
	}
	ch.CloseSend()
	got = nil
	for p, err := range ch.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(p.Data))
	}
	if strings.Join(got, ",") != "pong,pong2" {
		t.Fatalf("channel: %q", got)
	}
	if err := c.FireAndForget(ctx, sluice.Text("f")); err != nil {
		t.Fatal(err)
	}
	if err := c.MetadataPush(ctx, []byte("mp")); err != nil {
		t.Fatal(err)
	}
	// Let the fire-and-forget and the push reach the server before closing.
	if _, err := c.RequestResponse(ctx, sluice.Text("last")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	out, errOut := stop()
	for _, want := range []string{"ping", "s", "c1", "c2", "f", "mp", "last"} {
		if !strings.Contains("\n"+out, "\n"+want+"\n") {
			t.Errorf("--server printed %q, lacks %q", out, want)
		}
	}
	if !strings.Contains(errOut, "<- stream=1 REQUEST_RESPONSE flags=- data=4 data:\"ping\"") {
		t.Errorf("--server --debug printed:\n%s", errOut)
	}

	// Our own CLI against it, over TCP, echoing (no -i).
	uri, _ = startCLIServer(t, "--server", "tcp://127.0.0.1:0")
	wantOutput(t, runCLI(t, "", "--request", "-i", "echo me", uri), "echo me")
	wantOutput(t, runCLI(t, "", "--channel", "-i", "a", "-i", "b", uri), "a", "b")
	wantOutput(t, runCLI(t, "", "--stream", "-i", "one", uri), "one")
}

// TestSlowReaderHoldsTheServerBack: when nobody reads the CLI's stdout, the
// unbounded ticks route stops producing once the pipe, the output buffer and
// the 256-element window are full, and goes on when the reader does.
func TestSlowReaderHoldsTheServerBack(t *testing.T) {
	ts := startServer(t)
	cmd := exec.Command(bin, "--route", "ticks", ts.ws)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sent := func() int { return count(ts.tap.snapshot(), sentElements) }
	// Wait until production stalls.
	prev, stable := -1, 0
	for deadline := time.Now().Add(10 * time.Second); stable < 5; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the server kept producing: %d elements", sent())
		}
		if n := sent(); n == prev && n > 0 {
			stable++
		} else {
			prev, stable = n, 0
		}
	}
	// A ticks line is about 30 bytes: the pipe (64 KiB) and the output
	// buffer (32 KiB) hold a few thousand, the window 256 more.
	if prev > 6000 {
		t.Fatalf("the server produced %d elements for a reader that read none", prev)
	}
	// Reading lets it go on.
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, stdout)
		close(done)
	}()
	ts.tap.wait(t, "production resume", func(fs []tapFrame) bool { return count(fs, sentElements) > prev+1000 })
	cmd.Process.Signal(syscall.SIGINT)
	<-done
	if err := cmd.Wait(); err == nil {
		t.Fatal("exit 0 after SIGINT")
	}
	t.Logf("stalled at %d elements", prev)
}
