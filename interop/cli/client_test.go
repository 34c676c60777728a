package cli

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// transports runs f against an rsocket-go server over WebSocket and over TCP.
func transports(t *testing.T, f func(t *testing.T, p *peer)) {
	for _, tcp := range []bool{false, true} {
		name := "ws"
		if tcp {
			name = "tcp"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, startPeer(t, tcp))
		})
	}
}

// debugFrame is one --debug line of the sluice client.
type debugFrame struct {
	sent   bool // "->"
	stream int
	typ    string
	n      int // request N, -1 when the frame has none
	line   string
}

var debugLine = regexp.MustCompile(`^(->|<-) stream=(\d+) (\S+) (.*)$`)
var debugN = regexp.MustCompile(` n=(\d+)`)

// debugFrames parses the --debug lines on stderr; other lines fail the test.
func debugFrames(t *testing.T, stderr string) []debugFrame {
	t.Helper()
	var out []debugFrame
	for _, l := range lines(stderr) {
		m := debugLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("stderr line %q is not a --debug frame line", l)
		}
		f := debugFrame{sent: m[1] == "->", typ: m[3], n: -1, line: l}
		f.stream, _ = strconv.Atoi(m[2])
		if n := debugN.FindStringSubmatch(m[4]); n != nil && strings.HasPrefix(f.typ, "REQUEST_") {
			f.n, _ = strconv.Atoi(n[1])
		}
		out = append(out, f)
	}
	return out
}

// grants is the demand the client sent on stream id, in order: the initial N
// of the request, then each REQUEST_N.
func grants(fs []debugFrame, id int) []int {
	var out []int
	for _, f := range fs {
		if f.sent && f.stream == id && f.n >= 0 {
			out = append(out, f.n)
		}
	}
	return out
}

func ofType(fs []debugFrame, sent bool, typ string) []debugFrame {
	var out []debugFrame
	for _, f := range fs {
		if f.sent == sent && f.typ == typ {
			out = append(out, f)
		}
	}
	return out
}

// TestRequestResponse: --request, one request per input element, --ops, the
// SETUP rsocket-go accepted, binary output.
func TestRequestResponse(t *testing.T) {
	t.Parallel()
	transports(t, func(t *testing.T, p *peer) {
		wantOutput(t, sluice(t, "", "--request", "-i", "hello", "--route", "echo", p.URL), "hello")
		s := p.setup(t)
		if s.dataMIME != "application/json" || s.metadataMIME != "message/x.rsocket.composite-metadata.v0" ||
			s.keepalive != 20*time.Second || s.data != "" {
			t.Errorf("rsocket-go accepted SETUP %+v, want the CLI's defaults", s)
		}
		wantOutput(t, sluice(t, "", "--request", "-i", "a", "-i", "b", "--input=c", "--route", "echo", "--ops", "2", p.URL),
			"a", "b", "c", "a", "b", "c")
		p.setup(t)
		wantOutput(t, sluice(t, "", "--request", "--route", "bin", "--setup", "hi there", "--dataFormat", "text", "--keepalive", "5", p.URL),
			"0x000102ff")
		if s := p.setup(t); s.dataMIME != "text/plain" || s.data != "hi there" || s.keepalive != 5*time.Second {
			t.Errorf("rsocket-go accepted SETUP %+v, want text/plain, data \"hi there\", keepalive 5s", s)
		}
	})
}

// TestStreamIsTheDefault: without a mode the CLI opens a stream with its
// window of 256 as the initial N, which is what rsocket-go's handler was
// asked for.
func TestStreamIsTheDefault(t *testing.T) {
	t.Parallel()
	transports(t, func(t *testing.T, p *peer) {
		wantOutput(t, sluice(t, "", "-i", "100", "--route", "count", p.URL), countLines(0, 100)...)
		pr := p.Probe(t)
		if sig := pr.Wait(t); sig != "COMPLETE" {
			t.Errorf("rsocket-go's stream ended with %s", sig)
		}
		if d := pr.Requests(); len(d) == 0 || d[0] != 256 {
			t.Errorf("rsocket-go's handler received the demand %v, want 256 first (the CLI's window)", d)
		}
		if n := pr.Produced.Load(); n != 100 {
			t.Errorf("rsocket-go produced %d, want 100", n)
		}
	})
}

// TestRequestN: -r N is the REQUEST_STREAM's N; rsocket-go's handler receives
// exactly that demand (and nothing more), its demand-driven producer makes
// exactly N, the CLI prints N, cancels and exits 0.
func TestRequestN(t *testing.T) {
	t.Parallel()
	transports(t, func(t *testing.T, p *peer) {
		r := sluice(t, "", "--stream", "-i", "1000", "--route", "count", "-r", "5", p.URL)
		wantOutput(t, r, countLines(0, 5)...)
		if r.stderr != "" {
			t.Errorf("stderr %q, want nothing", r.stderr)
		}
		pr := p.Probe(t)
		if sig := pr.Wait(t); sig != "CANCEL" {
			t.Errorf("rsocket-go's stream ended with %s, want CANCEL", sig)
		}
		if d, n := pr.Requests(), pr.Produced.Load(); fmt.Sprint(d) != "[5]" || n != 5 {
			t.Errorf("rsocket-go's handler received the demand %v and produced %d, want [5] and 5", d, n)
		}

		// The CANCEL crosses while the connection is open (rsocket-go also
		// cancels what is left when a connection closes): with --ops 2 the
		// first stream has ended, cancelled, before rsocket-go runs the
		// handler of the second, which the CLI requests after its CANCEL.
		wantOutput(t, sluice(t, "", "-i", "1000", "--route", "count", "-r", "2", "--ops", "2", p.URL), "0", "1", "0", "1")
		first, second := p.Probe(t), p.Probe(t)
		for _, pr := range []*probe{first, second} {
			if sig := pr.Wait(t); sig != "CANCEL" || fmt.Sprint(pr.Requests()) != "[2]" || pr.Produced.Load() != 2 {
				t.Errorf("rsocket-go: %s, demand %v, produced %d; want CANCEL, [2], 2", sig, pr.Requests(), pr.Produced.Load())
			}
		}
		if first.End() > second.Started() {
			t.Errorf("rsocket-go's first stream ended only after the second started: the CANCEL did not cross before the next request")
		}

		// Unbounded count (no input: one empty element), -r 7 in the
		// --requestn=7 spelling.
		wantOutput(t, sluice(t, "", "--route", "count", "--requestn=7", p.URL), countLines(0, 7)...)
		pr = p.Probe(t)
		if sig := pr.Wait(t); sig != "CANCEL" || fmt.Sprint(pr.Requests()) != "[7]" || pr.Produced.Load() != 7 {
			t.Errorf("rsocket-go: %s, demand %v, produced %d; want CANCEL, [7], 7", sig, pr.Requests(), pr.Produced.Load())
		}

		// Fewer elements than asked: the stream completes, no CANCEL needed.
		wantOutput(t, sluice(t, "", "-i", "3", "--route", "count", "-r", "10", p.URL), "0", "1", "2")
		pr = p.Probe(t)
		if sig := pr.Wait(t); sig != "COMPLETE" || fmt.Sprint(pr.Requests()) != "[10]" {
			t.Errorf("rsocket-go: %s, demand %v; want COMPLETE, [10]", sig, pr.Requests())
		}
	})
}

// TestBatch: --batch K grants K at a time; rsocket-go's handler receives
// REQUEST_STREAM(K) then one REQUEST_N(K) per K printed, and with -r N the
// last grant is what remains of N.
func TestBatch(t *testing.T) {
	t.Parallel()
	transports(t, func(t *testing.T, p *peer) {
		r := sluice(t, "", "-i", "10", "--route", "count", "--batch", "3", "--debug", p.URL)
		if r.code != 0 || fmt.Sprint(lines(r.stdout)) != fmt.Sprint(countLines(0, 10)) {
			t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
		}
		fs := debugFrames(t, r.stderr)
		pr := p.Probe(t)
		if sig := pr.Wait(t); sig != "COMPLETE" {
			t.Errorf("rsocket-go's stream ended with %s", sig)
		}
		if d, w := pr.Requests(), grants(fs, 1); fmt.Sprint(d) != "[3 3 3 3]" || fmt.Sprint(w) != "[3 3 3 3]" {
			t.Errorf("rsocket-go's handler received %v, the CLI sent %v; want [3 3 3 3] both", d, w)
		}
		if n := len(ofType(fs, true, "REQUEST_N")); n != 3 {
			t.Errorf("%d REQUEST_N frames, want 3", n)
		}

		wantOutput(t, sluice(t, "", "-i", "100", "--route", "count", "--batch", "3", "-r", "7", p.URL), countLines(0, 7)...)
		pr = p.Probe(t)
		if sig := pr.Wait(t); sig != "CANCEL" {
			t.Errorf("rsocket-go's stream ended with %s, want CANCEL", sig)
		}
		if d, n := pr.Requests(), pr.Produced.Load(); fmt.Sprint(d) != "[3 3 1]" || n != 7 {
			t.Errorf("rsocket-go's handler received %v and produced %d, want [3 3 1] and 7", d, n)
		}
	})
}

// TestDebug: --debug shows the frames as they crossed: SETUP, REQUEST_STREAM
// n=5 with the route, five PAYLOADs from rsocket-go, then the CANCEL.
func TestDebug(t *testing.T) {
	t.Parallel()
	p := startPeer(t, false)
	r := sluice(t, "", "--stream", "-i", "100", "--route", "count", "-r", "5", "--debug", p.URL)
	wantOutput(t, r, countLines(0, 5)...)
	fs := debugFrames(t, r.stderr)
	if len(fs) == 0 || !fs[0].sent || fs[0].typ != "SETUP" || !strings.Contains(fs[0].line, `mdmime="message/x.rsocket.composite-metadata.v0" datamime="application/json"`) {
		t.Fatalf("the first --debug line is not the SETUP sent:\n%s", r.stderr)
	}
	req := ofType(fs, true, "REQUEST_STREAM")
	if len(req) != 1 || req[0].stream != 1 || req[0].n != 5 ||
		!strings.Contains(req[0].line, "-> stream=1 REQUEST_STREAM flags=M n=5 ") ||
		!strings.Contains(req[0].line, `md:[routing:count] data:"100"`) {
		t.Fatalf("REQUEST_STREAM lines %+v, want one with n=5, the route and the data", req)
	}
	var payloads []string
	cancelAt, lastPayload := -1, -1
	for i, f := range fs {
		switch {
		case !f.sent && f.typ == "PAYLOAD" && f.stream == 1:
			payloads = append(payloads, f.line)
			lastPayload = i
		case f.sent && f.typ == "CANCEL":
			if cancelAt >= 0 || f.stream != 1 {
				t.Fatalf("unexpected CANCEL line %q", f.line)
			}
			cancelAt = i
		case f.sent && f.typ == "REQUEST_N":
			t.Fatalf("REQUEST_N with -r 5: %q", f.line)
		}
	}
	if len(payloads) != 5 {
		t.Fatalf("%d PAYLOAD lines from rsocket-go, want 5:\n%s", len(payloads), r.stderr)
	}
	for i, l := range payloads {
		if !strings.HasSuffix(l, fmt.Sprintf(`<- stream=1 PAYLOAD flags=N data=1 data:"%d"`, i)) {
			t.Errorf("PAYLOAD line %q", l)
		}
	}
	if cancelAt < lastPayload {
		t.Fatalf("no CANCEL after the 5th element:\n%s", r.stderr)
	}
	if sig := p.Probe(t).Wait(t); sig != "CANCEL" {
		t.Errorf("rsocket-go's stream ended with %s, want CANCEL", sig)
	}
}

// TestChannel: every input element goes out on one channel (the first inside
// REQUEST_CHANNEL with the route, the rest as rsocket-go grants credit) from
// stdin, from @file, and both; rsocket-go echoes them.
func TestChannel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "in.txt")
	var fileLines []string
	for i := range 300 {
		fileLines = append(fileLines, fmt.Sprintf("line-%d", i))
	}
	if err := os.WriteFile(file, []byte(strings.Join(fileLines, "\r\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	transports(t, func(t *testing.T, p *peer) {
		t.Run("stdin", func(t *testing.T) {
			wantOutput(t, sluice(t, "a\nb\r\n\nc\n", "--channel", "-i", "-", "--route", "channel.echo", p.URL), "a", "b", "", "c")
			pr := p.Probe(t)
			if sig := pr.Wait(t); sig != "COMPLETE" || pr.Route() != "channel.echo" || fmt.Sprintf("%q", pr.Elements()) != `["a" "b" "" "c"]` {
				t.Errorf("rsocket-go: %s, route %q, elements %q", sig, pr.Route(), pr.Elements())
			}
		})
		t.Run("file", func(t *testing.T) {
			// 301 elements: more than the CLI's window of 256.
			want := append(append([]string{}, fileLines...), "from-stdin")
			wantOutput(t, sluice(t, "from-stdin\n", "--channel", "-i", "@"+file, "-i", "-", "--route", "channel.echo", p.URL), want...)
			pr := p.Probe(t)
			if sig := pr.Wait(t); sig != "COMPLETE" || pr.Route() != "channel.echo" || fmt.Sprint(pr.Elements()) != fmt.Sprint(want) {
				t.Errorf("rsocket-go: %s, route %q, %d elements", sig, pr.Route(), len(pr.Elements()))
			}
			d := pr.Requests()
			sum := 0
			for _, n := range d {
				sum += n
			}
			if len(d) == 0 || d[0] != 256 || sum < len(want) {
				t.Errorf("rsocket-go's echo received the demand %v, want 256 first and at least %d in all", d, len(want))
			}
		})
		t.Run("requestn", func(t *testing.T) {
			// The CLI sends x inside REQUEST_CHANNEL(n=2); rsocket-go grants 2
			// more, so y, z and the CLI's COMPLETE follow; rsocket-go echoes x
			// and y. The CLI prints 2, cancels unless the stream has ended, and
			// exits 0.
			wantOutput(t, sluice(t, "", "--channel", "-i", "x", "-i", "y", "-i", "z", "-r", "2", "--route", "channel.echo", p.URL), "x", "y")
			pr := p.Probe(t)
			sig := pr.Wait(t)
			if fmt.Sprint(pr.Requests()) != "[2]" || pr.Produced.Load() != 2 {
				t.Errorf("rsocket-go's echo received the demand %v and echoed %d, want [2] and 2", pr.Requests(), pr.Produced.Load())
			}
			// Observed: rsocket-go's channel responder lets the requester's
			// COMPLETE overtake z, which its echo had no demand for: it sends
			// COMPLETE after y, z never reaches the handler, and the CLI has
			// nothing to cancel (see interop/README.md).
			t.Logf("rsocket-go's channel ended with %s; its handler saw %q", sig, pr.Elements())
			if sig != "COMPLETE" && sig != "CANCEL" {
				t.Errorf("rsocket-go's channel ended with %s", sig)
			}
		})
	})
}

// TestFireAndForget: one REQUEST_FNF per input element, in order on the wire
// (--debug); the CLI lets them leave before it closes, so rsocket-go's handler
// sees every one. rsocket-go runs each fire-and-forget handler on its own
// pooled goroutine, so the handler calls come in any order.
func TestFireAndForget(t *testing.T) {
	t.Parallel()
	transports(t, func(t *testing.T, p *peer) {
		r := sluice(t, "x\ny\n", "--fnf", "-i", "a", "-i", "b", "-i", "-", "--route", "fnf", "--debug", p.URL)
		if r.code != 0 || r.stdout != "" {
			t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
		}
		var wire []string
		for _, f := range ofType(debugFrames(t, r.stderr), true, "REQUEST_FNF") {
			if !strings.Contains(f.line, "md:[routing:fnf]") {
				t.Errorf("REQUEST_FNF without the route: %q", f.line)
			}
			wire = append(wire, f.line[strings.LastIndex(f.line, "data:")+len("data:"):])
		}
		if fmt.Sprint(wire) != `["a" "b" "x" "y"]` {
			t.Errorf("REQUEST_FNF data on the wire %v, want a b x y in order", wire)
		}
		var got []string
		for range 4 {
			select {
			case d := <-p.fnf:
				got = append(got, d)
			case <-time.After(wait):
				t.Fatalf("rsocket-go received %q, want a b x y", got)
			}
		}
		slices.Sort(got)
		if fmt.Sprint(got) != "[a b x y]" {
			t.Errorf("rsocket-go received %q, want a b x y", got)
		}
	})
}

// TestMetadataPush: each input element as the metadata, or the -m/--route
// metadata (composite, parsed by rsocket-go's extension package).
func TestMetadataPush(t *testing.T) {
	t.Parallel()
	transports(t, func(t *testing.T, p *peer) {
		push := func() []byte {
			t.Helper()
			select {
			case md := <-p.pushes:
				return md
			case <-time.After(wait):
				t.Fatal("rsocket-go received no METADATA_PUSH")
				return nil
			}
		}
		// Like fire-and-forget, the handler calls come in any order.
		wantOutput(t, sluice(t, "", "--metadataPush", "-i", "one", "-i", "two", p.URL))
		got := []string{string(push()), string(push())}
		slices.Sort(got)
		if fmt.Sprint(got) != "[one two]" {
			t.Errorf("rsocket-go received %q, want one and two", got)
		}
		wantOutput(t, sluice(t, "", "--metadataPush", "--route", "some.route", "-m", `{"k":1}`, p.URL))
		if got, want := describeMetadata(push()), `routing=some.route | application/json={"k":1}`; got != want {
			t.Errorf("rsocket-go parsed the pushed metadata as %q, want %q", got, want)
		}
	})
}

// TestRouting: rsocket-go's extension package reads the CLI's metadata: the
// route with -H and -m entries in composite metadata, routing metadata
// (--metadataFormat routing), and an unknown route comes back as an error.
func TestRouting(t *testing.T) {
	t.Parallel()
	p := startPeer(t, false)
	wantOutput(t, sluice(t, "", "--request", "--route", "meta", "-H", "Trace: 1", "-H", "User: ann", "-m", `{"k":1}`, p.URL),
		`routing=meta | application/json={"Trace":"1","User":"ann"} | application/json={"k":1}`)
	wantOutput(t, sluice(t, "", "--request", "--route", "meta", "-m", "plain words", p.URL),
		`routing=meta | text/plain=plain words`)
	wantOutput(t, sluice(t, "", "--request", "-i", "routed", "--route", "echo", "--metadataFormat", "routing", p.URL), "routed")
	for range 2 {
		p.setup(t)
	}
	if s := p.setup(t); s.metadataMIME != "message/x.rsocket.routing.v0" {
		t.Errorf("SETUP metadata MIME %q", s.metadataMIME)
	}
	wantFailure(t, sluice(t, "", "--request", "-i", "x", "--route", "nope", p.URL), 1,
		`sluice: error APPLICATION_ERROR (0x00000201): no route "nope"`)
	wantFailure(t, sluice(t, "", "--stream", "--route", "nope", p.URL), 1,
		`sluice: error APPLICATION_ERROR (0x00000201): no route "nope"`)
}

// TestErrors: rsocket-go's ERROR frames end the CLI with exit 1 and one line
// on stderr naming the code and carrying the message.
func TestErrors(t *testing.T) {
	t.Parallel()
	transports(t, func(t *testing.T, p *peer) {
		wantFailure(t, sluice(t, "", "--request", "-i", "it broke", "--route", "error", p.URL), 1,
			"sluice: error APPLICATION_ERROR (0x00000201): it broke")
		wantFailure(t, sluice(t, "", "--request", "-i", "bad input", "--route", "error.invalid", p.URL), 1,
			"sluice: error INVALID (0x00000204): bad input")
		wantFailure(t, sluice(t, "", "--stream", "-i", "many", "--route", "count", p.URL), 1,
			`sluice: error INVALID (0x00000204): count: bad N "many"`)
		wantFailure(t, sluice(t, "", "--channel", "-i", "boom", "-i", "more", "--route", "channel.fail", p.URL), 1,
			"sluice: error APPLICATION_ERROR (0x00000201): channel failed: boom")
		if sig := p.Probe(t).Wait(t); sig != "ERROR" {
			t.Errorf("rsocket-go's channel ended with %s", sig)
		}
		wantFailure(t, sluice(t, "", "--request", "--route", "never", "--timeout", "300ms", p.URL), 1,
			"sluice: timed out after 300ms")
	})
}

// TestUsageErrors: exit 2 with the reason and the usage line; the CLI does not
// connect.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	p := startPeer(t, false)
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--request", "--stream", p.URL}, "choose one of"},
		{[]string{"-r", "0", p.URL}, "-r 0: must be at least 1"},
		{[]string{"--batch", "x", p.URL}, "--batch x: not a whole number"},
		{[]string{"--requestN", "3", p.URL}, "unknown option --requestN (did you mean --requestn?)"},
		{[]string{"--request"}, "missing URI"},
		{[]string{"--request", strings.Replace(p.URL, "ws:", "http:", 1)}, `unsupported scheme "http"`},
		{[]string{"--metadataFormat", "routing", "-m", "x", "--route", "echo", p.URL}, "the metadata is the route"},
	} {
		wantFailure(t, sluice(t, "", c.args...), 2, c.msg)
	}
	time.Sleep(100 * time.Millisecond)
	if n := p.Conns.Load(); n != 0 {
		t.Errorf("rsocket-go accepted %d connections from usage errors", n)
	}
}

// TestConnectionRefused: nothing listening, exit 1 with one line.
func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	wantFailure(t, sluice(t, "", "--request", "tcp://"+addr), 1, "sluice: cannot connect to tcp://"+addr+": connection refused")
}

// TestExitsPromptly: a run exits as soon as its work is done, here in well
// under a second. Until 994541c every run idled 2 s before exiting: the CLI's
// drain wrapper around the transport (cmd/sluice/cli_dial.go) turned the
// engine writer's only Close into a 2 s timer, and client.Close waited for the
// reader that only that timer ended. The FNF and CANCEL frames the wrapper was
// for still arrive (TestFireAndForget, TestRequestN).
func TestExitsPromptly(t *testing.T) {
	t.Parallel()
	p := startPeer(t, false)
	for _, args := range [][]string{
		{"--request", "-i", "x", "--route", "echo"},
		{"--fnf", "-i", "x", "--route", "fnf"},
		{"-i", "1000", "--route", "count", "-r", "1"},
	} {
		r := sluice(t, "", append(args, p.URL)...)
		if r.code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
		}
		if r.took > time.Second {
			t.Errorf("sluice %s took %v", shellQuote(args), r.took.Round(time.Millisecond))
		}
	}
	select {
	case d := <-p.fnf:
		if d != "x" {
			t.Errorf("rsocket-go received fnf %q", d)
		}
	case <-time.After(wait):
		t.Error("rsocket-go received no fnf")
	}
	if sig := p.Probe(t).Wait(t); sig != "CANCEL" {
		t.Errorf("rsocket-go's stream ended with %s, want CANCEL", sig)
	}
}
