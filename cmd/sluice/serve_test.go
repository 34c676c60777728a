package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/client"
)

var listenLine = regexp.MustCompile(`^listening ws://(127\.0\.0\.1:\d+)/rsocket$`)

// startServe runs `sluice serve` with args and returns its address once it has
// printed the listening line(s).
func startServe(t *testing.T, args ...string) (addr string, tcpAddr string, cmd *exec.Cmd, stderr *strings.Builder) {
	t.Helper()
	cmd = exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr = &strings.Builder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		m := listenLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("first line %q, want %q", l, "listening ws://HOST:PORT/rsocket")
		}
		addr = m[1]
	case <-time.After(20 * time.Second):
		t.Fatal("no listening line")
	}
	for _, a := range args {
		if a == "--tcp" {
			select {
			case l := <-lines:
				tcpAddr = strings.TrimPrefix(l, "listening tcp://")
			case <-time.After(5 * time.Second):
				t.Fatal("no tcp listening line")
			}
		}
	}
	return addr, tcpAddr, cmd, stderr
}

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestServeEveryRouteAndGracefulStop(t *testing.T) {
	addr, tcpAddr, cmd, stderr := startServe(t, "--tcp", "127.0.0.1:0")
	base := "http://" + addr

	if code, ct, body := get(t, base+"/"); code != 200 || !strings.HasPrefix(ct, "text/html") || !strings.HasPrefix(strings.ToLower(body), "<!doctype html") {
		t.Fatalf("/: %d %s %.200q", code, ct, body)
	}
	if code, ct, body := get(t, base+"/js/sluice.js"); code != 200 || !strings.Contains(ct, "javascript") || !strings.Contains(body, "export") {
		t.Fatalf("/js/sluice.js: %d %s", code, ct)
	}
	ctx := context.Background()
	for _, url := range []string{"ws://" + addr + "/rsocket", "tcp://" + tcpAddr} {
		c, err := client.Dial(ctx, url)
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		if p, err := c.RequestResponse(ctx, sluice.Text("hi"), client.Route("echo")); err != nil || string(p.Data) != "hi" {
			t.Fatalf("%s echo: %q %v", url, p.Data, err)
		}
		s, err := c.RequestStream(ctx, sluice.Text("3"), client.Route("count"))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, err := range s.All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 3 {
			t.Fatalf("count 3 gave %d", n)
		}
		c.Close()
	}
	code, ct, body := get(t, base+"/metrics")
	if code != 200 || !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("/metrics: %d %s", code, ct)
	}
	for _, want := range []string{"sluice_connections_total 2", "sluice_elements_sent_total 8", "sluice_slow_consumer_closes_total 0", "sluice_request_n_received_total"} {
		if !strings.Contains(body, want) {
			t.Fatalf("/metrics lacks %q:\n%s", want, body)
		}
	}
	// A stream open while the server stops: the client sees the close, the server exits 0.
	c, err := client.Dial(ctx, "ws://"+addr+"/rsocket")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.RequestStream(ctx, sluice.Text(""), client.Route("ticks"), client.Prefetch(4))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(ctx); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	var serr error
	for serr == nil {
		_, serr = s.Recv(ctx)
	}
	if sluice.CodeOf(serr) != sluice.CodeConnectionError && serr != sluice.ErrClosed {
		t.Logf("stream ended with %v", serr)
	}
}

func TestServeUsage(t *testing.T) {
	for _, args := range [][]string{{"serve", "--nope"}, {"serve", "extra"}} {
		r := runCLI(t, "", args...)
		if r.code != 2 || !strings.Contains(r.stderr, "usage") {
			t.Fatalf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	r := runCLI(t, "", "serve", "--addr", "256.0.0.1:99999")
	if r.code != 1 || strings.Contains(r.stderr, "goroutine") {
		t.Fatalf("bad address: exit %d, stderr %q", r.code, r.stderr)
	}
}
