package benchpeer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RaiseNoFile raises RLIMIT_NOFILE to its hard limit and returns the new soft limit.
func RaiseNoFile() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return 0, err
		}
	}
	return rl.Cur, nil
}

// RunChild is the child-process mode: it serves kind on addr (port 0 picks
// one), prints "listening URL" on stdout, and then obeys commands on stdin,
// one per line, answering each with one line:
//
//	gc                      runtime.GC and debug.FreeOSMemory, then "ok"
//	heapprofile FILE        write a heap profile (after a GC), then "ok"
//	goroutineprofile FILE   write the goroutine stacks (debug=1), then "ok"
//	stats                   "goroutines=N heap_inuse=B stack_inuse=B sys=B" (for
//	                        sluice also connections_open, frames_written, flushes,
//	                        request_n_received, elements_sent)
//
// It stops when stdin reaches EOF (the parent closed it, or died) or on
// SIGINT/SIGTERM, and returns the exit code.
func RunChild(kind, addr string) int {
	RaiseNoFile()
	if prefix := os.Getenv("BENCHPEER_CPUPROFILE"); prefix != "" {
		// Profile the whole life of the child (run one case with -cases to
		// profile that case): BENCHPEER_CPUPROFILE=/tmp/p writes /tmp/p.KIND.
		f, err := os.Create(prefix + "." + kind)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchpeer: %v\n", err)
		return 1
	}
	url, stop, err := Serve(kind, l)
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchpeer: %v\n", err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "listening %s\n", url)
	out.Flush()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	eof := make(chan struct{})
	go func() {
		defer close(eof)
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			cmd, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
			switch cmd {
			case "heapprofile":
				runtime.GC()
				f, err := os.Create(arg)
				if err == nil {
					err = pprof.WriteHeapProfile(f)
					f.Close()
				}
				if err != nil {
					fmt.Fprintln(out, "error", err)
				} else {
					fmt.Fprintln(out, "ok")
				}
			case "goroutineprofile":
				f, err := os.Create(arg)
				if err == nil {
					err = pprof.Lookup("goroutine").WriteTo(f, 1)
					f.Close()
				}
				if err != nil {
					fmt.Fprintln(out, "error", err)
				} else {
					fmt.Fprintln(out, "ok")
				}
			case "gc":
				runtime.GC()
				debug.FreeOSMemory()
				fmt.Fprintln(out, "ok")
			case "stats":
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				fmt.Fprintf(out, "goroutines=%d heap_inuse=%d stack_inuse=%d sys=%d",
					runtime.NumGoroutine(), ms.HeapInuse, ms.StackInuse, ms.Sys)
				if m := sluiceMetrics; m != nil {
					fmt.Fprintf(out, " connections_open=%d frames_written=%d flushes=%d request_n_received=%d elements_sent=%d",
						m.ConnectionsOpened.Load()-m.ConnectionsClosed.Load(),
						m.FramesWritten.Load(), m.Flushes.Load(), m.RequestNReceived.Load(), m.ElementsSent.Load())
				}
				fmt.Fprintln(out)
			default:
				fmt.Fprintln(out, "unknown command")
			}
			out.Flush()
		}
	}()
	select {
	case <-sig:
	case <-eof:
	}
	done := make(chan struct{})
	go func() { stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
	return 0
}

// Child is a server running in a child process (see RunChild).
type Child struct {
	Kind string
	URL  string
	PID  int

	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

// Start runs exe with args and env (added to the current environment) as a
// child in RunChild mode and waits for its "listening" line.
func Start(kind, exe string, args, env []string) (*Child, error) {
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &Child{Kind: kind, PID: cmd.Process.Pid, cmd: cmd, stdin: stdin, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	select {
	case line, ok := <-c.lines:
		if ok && strings.HasPrefix(line, "listening ") {
			c.URL = strings.TrimPrefix(line, "listening ")
			return c, nil
		}
		c.Stop()
		return nil, fmt.Errorf("benchpeer: %s child said %q", kind, line)
	case <-time.After(30 * time.Second):
		c.Stop()
		return nil, fmt.Errorf("benchpeer: %s child did not start", kind)
	}
}

// command sends one command line and returns the answer.
func (c *Child) command(cmd string) (string, error) {
	if _, err := io.WriteString(c.stdin, cmd+"\n"); err != nil {
		return "", err
	}
	select {
	case line, ok := <-c.lines:
		if !ok {
			return "", errors.New("benchpeer: child exited")
		}
		return line, nil
	case <-time.After(30 * time.Second):
		return "", errors.New("benchpeer: child did not answer")
	}
}

// Profile asks the child for a heap ("heapprofile") or goroutine
// ("goroutineprofile") profile written to file.
func (c *Child) Profile(kind, file string) error {
	line, err := c.command(kind + " " + file)
	if err == nil && line != "ok" {
		err = errors.New(line)
	}
	return err
}

// GC makes the child collect garbage and return free memory to the OS.
func (c *Child) GC() error {
	_, err := c.command("gc")
	return err
}

// Stats returns the child's runtime figures (goroutines, heap_inuse, stack_inuse, sys).
func (c *Child) Stats() (map[string]int64, error) {
	line, err := c.command("stats")
	if err != nil {
		return nil, err
	}
	m := map[string]int64{}
	for _, kv := range strings.Fields(line) {
		k, v, _ := strings.Cut(kv, "=")
		n, _ := strconv.ParseInt(v, 10, 64)
		m[k] = n
	}
	return m, nil
}

// CPU returns the child's user+system CPU time so far (all threads).
func (c *Child) CPU() (time.Duration, error) { return ProcCPU(c.PID) }

// RSS returns the child's resident set size in bytes.
func (c *Child) RSS() (int64, error) { return ProcRSS(c.PID) }

// Stop closes the child's stdin, waits up to 3 s for it to exit, and then
// kills it by PID.
func (c *Child) Stop() {
	c.stdin.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(3 * time.Second):
	}
	syscall.Kill(c.PID, syscall.SIGTERM)
	select {
	case <-done:
		return
	case <-time.After(2 * time.Second):
	}
	syscall.Kill(c.PID, syscall.SIGKILL)
	<-done
}

// clkTck is USER_HZ, the unit of /proc/PID/stat times (100 on Linux).
const clkTck = 100

// ProcCPU reads utime+stime of a process from /proc/PID/stat ("self" for pid 0).
func ProcCPU(pid int) (time.Duration, error) {
	p := "/proc/self/stat"
	if pid != 0 {
		p = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("benchpeer: bad %s", p)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("benchpeer: bad %s", p)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// ProcRSS reads VmRSS of a process from /proc/PID/status ("self" for pid 0), in bytes.
func ProcRSS(pid int) (int64, error) {
	p := "/proc/self/status"
	if pid != 0 {
		p = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, fmt.Errorf("benchpeer: no VmRSS in %s", p)
}
