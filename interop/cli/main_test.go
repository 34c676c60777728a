// Package cli runs the built sluice binary (cmd/sluice) against rsocket-go
// v0.8.16, both ways:
//
//   - the client mode (rsocket-cli compatible) against an rsocket-go server
//     in this process (peer_test.go), over WebSocket and TCP: every mode,
//     routing, -r and --batch as rsocket-go's handlers received them, --debug,
//     exit codes (client_test.go);
//   - --server answering rsocket-go's own cmd/rsocket-cli, built from the
//     module cache (server_test.go).
//
// TestMain builds both binaries into a temporary directory. Every process a
// test starts is bounded in time and ended by its PID; everything listens on
// 127.0.0.1.
package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rsocket/rsocket-go/logger"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/interop/internal/rsgo"
)

// wait bounds every wait for something the other side should do.
const wait = 5 * time.Second

// The binaries, built by TestMain.
var sluiceBin, rsocketCLI string

func TestMain(m *testing.M) {
	logger.SetLevel(logger.LevelError) // rsocket-go warns about every late frame
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "sluice-interop-cli")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	sluiceBin = filepath.Join(dir, "sluice")
	rsocketCLI = filepath.Join(dir, "rsocket-cli")
	if err := buildBinaries(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(rsgo.LeakOptions()...); err != nil {
			fmt.Fprintf(os.Stderr, "goroutine leak: %v\n", err)
			code = 1
		}
	}
	return code
}

// buildBinaries builds sluice and rsocket-go's rsocket-cli, in parallel.
//
// sluice is built in the main module (the directory the replace directive
// points at), with the main module's own requirements: cmd/sluice imports
// packages (Prometheus) that this module does not require. rsocket-cli is
// built in this module, which requires rsocket-go v0.8.16 and, through the
// tool directive in go.mod, rsocket-cli's own dependency (urfave/cli).
func buildBinaries() error {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/sluicehq/sluice").Output()
	if err != nil {
		return fmt.Errorf("locating the sluice module: %v", err)
	}
	root := strings.TrimSpace(string(out))
	builds := []*exec.Cmd{
		exec.Command("go", "build", "-o", sluiceBin, "github.com/sluicehq/sluice/cmd/sluice"),
		exec.Command("go", "build", "-o", rsocketCLI, "github.com/rsocket/rsocket-go/cmd/rsocket-cli"),
	}
	builds[0].Dir = root
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, c := range builds {
		wg.Go(func() {
			if out, err := c.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("%s: %v\n%s", strings.Join(c.Args, " "), err, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// result is one finished run of a binary.
type result struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// run runs a binary to its end with stdin, bounded by 15 s (then it is
// killed by its PID and the test fails).
func run(t *testing.T, stdin string, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = time.Second
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s %q: %v", filepath.Base(bin), args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not finish in 15 s; stdout:\n%s\nstderr:\n%s", filepath.Base(bin), args, r.stdout, r.stderr)
	}
	t.Logf("$ %s %s   (exit %d, %v)\n%s%s", filepath.Base(bin), shellQuote(args), r.code, r.took.Round(time.Millisecond),
		indent("stdout", r.stdout), indent("stderr", r.stderr))
	return r
}

// sluice runs the sluice binary.
func sluice(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return run(t, stdin, sluiceBin, args...)
}

func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$&|;<>*?{}()[]\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

func indent(what, s string) string {
	if s == "" {
		return ""
	}
	const max = 4000
	if len(s) > max {
		s = s[:max] + "…\n"
	}
	return "  " + what + ":\n    " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n    ") + "\n"
}

// lines splits output into lines (without the last newline).
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// wantOutput checks that a run exited 0 with exactly these stdout lines.
func wantOutput(t *testing.T, r result, want ...string) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	if got := lines(r.stdout); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Fatalf("stdout %q, want %q; stderr:\n%s", got, want, r.stderr)
	}
}

// wantFailure checks a failed sluice run: the exit code, nothing on stdout,
// and stderr as one line containing each of contains (two for usage errors:
// the message and the short usage line).
func wantFailure(t *testing.T, r result, code int, contains ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d; stdout %q stderr %q", r.code, code, r.stdout, r.stderr)
	}
	if r.stdout != "" {
		t.Fatalf("stdout %q, want nothing", r.stdout)
	}
	ls := lines(r.stderr)
	max := 1
	if code == 2 {
		max = 2
	}
	if len(ls) == 0 || len(ls) > max {
		t.Fatalf("stderr has %d lines, want 1..%d:\n%s", len(ls), max, r.stderr)
	}
	for _, c := range contains {
		if !strings.Contains(ls[0], c) {
			t.Fatalf("stderr %q, want it to contain %q", ls[0], c)
		}
	}
	if code == 2 && (len(ls) != 2 || !strings.HasPrefix(ls[1], "usage: sluice")) {
		t.Fatalf("a usage error ends with the usage line; stderr:\n%s", r.stderr)
	}
}

func countLines(from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(from + i)
	}
	return out
}

// syncBuffer is an io.Writer safe to read while a process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// background is a process running while a test talks to it.
type background struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	err            error
}

// startBackground starts bin; the test's cleanup ends it by its PID (SIGTERM,
// then SIGKILL after 5 s) if the test did not stop it.
func startBackground(t *testing.T, bin string, args ...string) *background {
	t.Helper()
	b := &background{cmd: exec.Command(bin, args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	b.cmd.Stdout, b.cmd.Stderr = b.stdout, b.stderr
	b.cmd.WaitDelay = time.Second
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		b.err = b.cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() { b.stop(t) })
	return b
}

// stop sends SIGTERM to the process and waits for it (SIGKILL after 5 s); it
// returns the exit code.
func (b *background) stop(t *testing.T) int {
	t.Helper()
	select {
	case <-b.done:
	default:
		b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(wait):
			b.cmd.Process.Kill()
			<-b.done
			t.Errorf("%s did not stop on SIGTERM; killed", filepath.Base(b.cmd.Path))
		}
	}
	if ee, ok := b.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if b.err != nil {
		t.Errorf("%s: %v", filepath.Base(b.cmd.Path), b.err)
		return -1
	}
	return 0
}

// eventually polls cond until it holds, failing the test after wait.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
