package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// sluiceServer is `sluice --server ... URI` running in the background.
type sluiceServer struct {
	*background
	url string // from its "listening URL" line
}

// startSluiceServer starts `sluice --server --debug ARGS... URI` on a free
// loopback port and waits for its listening line.
func startSluiceServer(t *testing.T, uri string, args ...string) *sluiceServer {
	t.Helper()
	argv := append(append([]string{"--server", "--debug"}, args...), uri)
	var s *sluiceServer
	t.Cleanup(func() { // after the process has stopped (cleanups run last first)
		if s != nil {
			t.Logf("sluice %s: what it printed\n%s%s", shellQuote(argv), indent("stdout", s.stdout.String()), indent("stderr", s.stderr.String()))
		}
	})
	b := startBackground(t, sluiceBin, argv...)
	s = &sluiceServer{background: b}
	deadline := time.Now().Add(wait)
	for s.url == "" {
		first, _, ok := strings.Cut(b.stderr.String(), "\n")
		if ok {
			url, found := strings.CutPrefix(first, "listening ")
			if !found {
				t.Fatalf("sluice --server's first line %q, want listening URL", first)
			}
			s.url = url
			break
		}
		select {
		case <-b.done:
			t.Fatalf("sluice --server exited: %v; stderr:\n%s", b.err, b.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sluice --server printed no listening line; stderr:\n%s", b.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("$ sluice %s &   (listening %s)", shellQuote(argv), s.url)
	return s
}

// printed is what the server printed on stdout, as lines.
func (s *sluiceServer) printed() []string { return lines(s.stdout.String()) }

// expectPrinted waits until the server has printed want after the first from
// lines, and fails if it printed anything else.
func (s *sluiceServer) expectPrinted(t *testing.T, from int, want ...string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		got := s.printed()[from:]
		if len(got) >= len(want) {
			time.Sleep(50 * time.Millisecond) // anything more would show by now
			if got = s.printed()[from:]; fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
				t.Fatalf("sluice --server printed %q, want %q", got, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sluice --server printed %q, want %q; stderr:\n%s", got, want, s.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// frames is the server's --debug lines without the "[client address] " prefix.
func (s *sluiceServer) frames() []string {
	var out []string
	for _, l := range lines(s.stderr.String())[1:] {
		if _, rest, ok := strings.Cut(l, "] "); ok && strings.HasPrefix(l, "[") {
			out = append(out, rest)
		}
	}
	return out
}

// waitFrame waits for a --debug line matching re after the first from lines.
func (s *sluiceServer) waitFrame(t *testing.T, from int, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(wait)
	for {
		fs := s.frames()
		for _, l := range fs[min(from, len(fs)):] {
			if rx.MatchString(l) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sluice --server logged no frame matching %q; frames:\n%s", re, strings.Join(fs, "\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rsocketCLIRun runs rsocket-go's rsocket-cli.
func rsocketCLIRun(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, "", rsocketCLI, args...)
}

// wantRsocketCLI checks that rsocket-cli exited 0 and printed want on stdout
// (rsocket-cli prints each element with its logger on stdout).
func wantRsocketCLI(t *testing.T, r result, want ...string) {
	t.Helper()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("rsocket-cli exit %d, stderr %q", r.code, r.stderr)
	}
	if got := lines(r.stdout); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Fatalf("rsocket-cli printed %q, want %q", got, want)
	}
}

// TestServerMode: rsocket-go's rsocket-cli in each of its modes against
// `sluice --server -i pong -i pong2`, over WebSocket and TCP: what rsocket-cli
// printed, what sluice printed, and the frames sluice logged.
func TestServerMode(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(file, []byte("c1\nc2\nc3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{"ws://127.0.0.1:0/rsocket", "tcp://127.0.0.1:0"} {
		t.Run(uri[:strings.Index(uri, ":")], func(t *testing.T) {
			t.Parallel()
			srv := startSluiceServer(t, uri, "-i", "pong", "-i", "pong2")
			step := func(name string, f func(t *testing.T, printed, frames int)) {
				t.Run(name, func(t *testing.T) { f(t, len(srv.printed()), len(srv.frames())) })
			}
			step("request", func(t *testing.T, printed, frames int) {
				wantRsocketCLI(t, rsocketCLIRun(t, "--request", "-i", "ping", srv.url), "pong")
				srv.expectPrinted(t, printed, "ping")
				srv.waitFrame(t, frames, `^<- stream=0 SETUP flags=- version=1\.0 keepalive=20000 lifetime=90000 mdmime="application/json" datamime="application/binary"`)
				srv.waitFrame(t, frames, `^<- stream=1 REQUEST_RESPONSE flags=- data=4 data:"ping"$`)
				srv.waitFrame(t, frames, `^-> stream=1 PAYLOAD flags=C\|N data=4 data:"pong"$`)
			})
			// rsocket-go's rsocket-cli defaults to request-response (sluice, like
			// the JVM rsocket-cli, to a stream), and -m is its metadata as is.
			step("default mode, metadata", func(t *testing.T, printed, frames int) {
				wantRsocketCLI(t, rsocketCLIRun(t, "-i", "ping2", "-m", `{"a":1}`, srv.url), "pong")
				srv.expectPrinted(t, printed, "ping2")
				srv.waitFrame(t, frames, `^<- stream=1 REQUEST_RESPONSE flags=M md=7 data=5 md:"\{\\"a\\":1\}" data:"ping2"$`)
			})
			step("stream", func(t *testing.T, printed, frames int) {
				wantRsocketCLI(t, rsocketCLIRun(t, "--stream", "-i", "s", srv.url), "pong", "pong2")
				srv.expectPrinted(t, printed, "s")
				srv.waitFrame(t, frames, `^<- stream=1 REQUEST_STREAM flags=- n=2147483647 data=1 data:"s"$`)
				srv.waitFrame(t, frames, `^-> stream=1 PAYLOAD flags=C data=0$`)
			})
			// rsocket-cli's -r N is not demand on the wire: it asks for 2^31-1
			// and cuts the flux after N (Take), then cancels. Elements that
			// arrive after the cut make its logger print "unmatched frame"
			// warnings on stdout.
			step("stream -r 1", func(t *testing.T, printed, frames int) {
				r := rsocketCLIRun(t, "--stream", "-r", "1", "-i", "s1", srv.url)
				ls := lines(r.stdout)
				if r.code != 0 || len(ls) == 0 || ls[0] != "pong" {
					t.Fatalf("rsocket-cli exit %d, stdout %q", r.code, r.stdout)
				}
				for _, l := range ls[1:] {
					if !strings.HasPrefix(l, "unmatched frame PAYLOAD(id=1)") {
						t.Errorf("rsocket-cli printed %q after its one element", l)
					}
				}
				srv.expectPrinted(t, printed, "s1")
				srv.waitFrame(t, frames, `^<- stream=1 REQUEST_STREAM flags=- n=2147483647 data=2 data:"s1"$`)
			})
			step("channel @file", func(t *testing.T, printed, frames int) {
				wantRsocketCLI(t, rsocketCLIRun(t, "--channel", "-i", "@"+file, srv.url), "pong", "pong2")
				srv.expectPrinted(t, printed, "c1", "c2", "c3")
				srv.waitFrame(t, frames, `^<- stream=1 REQUEST_CHANNEL flags=- n=2147483647 data=2 data:"c1"$`)
				srv.waitFrame(t, frames, `^<- stream=1 PAYLOAD flags=C data=0$`)
				srv.waitFrame(t, frames, `^-> stream=1 PAYLOAD flags=C data=0$`)
			})
			if code := srv.stop(t); code != 0 {
				t.Errorf("sluice --server exited %d on SIGTERM, want 0", code)
			}
		})
	}
}

// TestServerModeEcho: without -i, sluice --server echoes; rsocket-cli gets its
// own data back in every mode.
func TestServerModeEcho(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(file, []byte("e1\ne2\ne3\ne4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startSluiceServer(t, "ws://127.0.0.1:0/")
	wantRsocketCLI(t, rsocketCLIRun(t, "--request", "-i", "hello", srv.url), "hello")
	wantRsocketCLI(t, rsocketCLIRun(t, "--stream", "-i", "once", srv.url), "once")
	wantRsocketCLI(t, rsocketCLIRun(t, "--channel", "-i", "@"+file, srv.url), "e1", "e2", "e3", "e4")
	wantRsocketCLI(t, rsocketCLIRun(t, "--request", "-i", "again", "--ops", "2", srv.url), "again", "", "again")
	srv.expectPrinted(t, 0, "hello", "once", "e1", "e2", "e3", "e4", "again", "again")
	if code := srv.stop(t); code != 0 {
		t.Errorf("sluice --server exited %d on SIGTERM, want 0", code)
	}
}

// lossy runs rsocket-cli up to 40 times with args(i) (each run must exit 0
// and print out(i)) until want of its requests reached sluice --server (its
// --debug shows the line frame(i)), and returns the i of those that arrived.
//
// rsocket-go's client drops what it queued just before Close: its write loop
// stops as soon as the connection is marked closed, and what is still queued
// is released unsent. rsocket-cli closes right after FireAndForget and
// MetadataPush return, so some of those never leave (roughly a third of the
// fire-and-forget requests over WebSocket, most of them over TCP, here).
func lossy(t *testing.T, srv *sluiceServer, want int, args func(i int) []string, out, frame func(i int) string) []int {
	t.Helper()
	var arrived []int
	i := 0
	for ; i < 40 && len(arrived) < want; i++ {
		from := len(srv.frames())
		r := rsocketCLIRun(t, append(args(i), srv.url)...)
		if r.code != 0 || r.stderr != "" || r.stdout != out(i) {
			t.Fatalf("rsocket-cli exit %d, stdout %q, stderr %q; want exit 0 and stdout %q", r.code, r.stdout, r.stderr, out(i))
		}
		// The request left before rsocket-cli closed the connection, and
		// sluice logs it at once, or it never left.
		deadline := time.Now().Add(200 * time.Millisecond)
		for !slices.Contains(srv.frames()[from:], frame(i)) {
			if time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if slices.Contains(srv.frames()[from:], frame(i)) {
			arrived = append(arrived, i)
		}
	}
	if len(arrived) < want {
		t.Fatalf("%d of %d rsocket-cli requests reached sluice --server", len(arrived), i)
	}
	t.Logf("rsocket-go's rsocket-cli delivered %d of %d requests: %v", len(arrived), i, arrived)
	return arrived
}

// TestServerModeFireAndForget: every REQUEST_FNF that rsocket-cli got onto
// the wire is printed by sluice --server, in order, and nothing else.
func TestServerModeFireAndForget(t *testing.T) {
	t.Parallel()
	srv := startSluiceServer(t, "ws://127.0.0.1:0/")
	arrived := lossy(t, srv, 2,
		func(i int) []string { return []string{"--fnf", "-i", fmt.Sprint("fire-", i)} },
		func(int) string { return "" },
		func(i int) string {
			return fmt.Sprintf(`<- stream=1 REQUEST_FNF flags=- data=%d data:"fire-%d"`, len(fmt.Sprint("fire-", i)), i)
		})
	var want []string
	for _, i := range arrived {
		want = append(want, fmt.Sprint("fire-", i))
	}
	srv.expectPrinted(t, 0, want...)
}

// TestServerModeMetadataPush: rsocket-cli --metadataPush -m M prints M itself;
// each METADATA_PUSH that left it is printed by sluice --server.
func TestServerModeMetadataPush(t *testing.T) {
	t.Parallel()
	srv := startSluiceServer(t, "ws://127.0.0.1:0/")
	arrived := lossy(t, srv, 2,
		func(i int) []string { return []string{"--metadataPush", "-m", fmt.Sprint("md-", i)} },
		func(i int) string { return fmt.Sprint("md-", i, "\n") },
		func(i int) string {
			return fmt.Sprintf(`<- stream=0 METADATA_PUSH flags=M md=%d data=0 md:"md-%d"`, len(fmt.Sprint("md-", i)), i)
		})
	var want []string
	for _, i := range arrived {
		want = append(want, fmt.Sprint("md-", i))
	}
	srv.expectPrinted(t, 0, want...)
}
