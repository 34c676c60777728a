package main

import (
	"strconv"
	"strings"
	"testing"
)

// benchLine parses the final key=value line.
func benchLine(t *testing.T, r result) map[string]string {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	ls := lines(r.stdout)
	if len(ls) != 1 {
		t.Fatalf("stdout has %d lines, want 1: %q", len(ls), r.stdout)
	}
	kv := map[string]string{}
	for _, f := range strings.Fields(ls[0]) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			t.Fatalf("field %q is not key=value in %q", f, ls[0])
		}
		kv[k] = v
	}
	for _, k := range []string{"mode", "size", "n", "secs", "msgs_per_s", "MBps", "p50_us", "p99_us"} {
		if _, ok := kv[k]; !ok {
			t.Fatalf("no %s in %q", k, ls[0])
		}
	}
	for _, k := range []string{"secs", "msgs_per_s", "MBps", "p50_us", "p99_us", "p999_us", "max_us"} {
		if v, err := strconv.ParseFloat(kv[k], 64); err != nil || v < 0 {
			t.Fatalf("%s=%q", k, kv[k])
		}
	}
	return kv
}

func TestBenchModes(t *testing.T) {
	for _, c := range []struct {
		args []string
		n    string
	}{
		{[]string{"--mode", "stream", "--n", "3000", "--size", "100"}, "3000"},
		{[]string{"--mode", "stream", "--n", "1001", "--conns", "2", "--streams", "3", "--prefetch", "7"}, "1001"},
		{[]string{"--mode", "rr", "--n", "2000", "--inflight", "8"}, "2000"},
		{[]string{"--mode", "rr", "--n", "500", "--inflight", "3", "--conns", "2", "--tcp"}, "500"},
		{[]string{"--mode", "channel", "--n", "2000", "--streams", "2"}, "2000"},
		{[]string{"--mode", "fnf", "--n", "3000", "--streams", "2"}, "3000"},
		{[]string{"--mode", "ticks", "--n", "500"}, "500"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			kv := benchLine(t, runCLI(t, "", append([]string{"bench"}, c.args...)...))
			if kv["n"] != c.n || kv["mode"] != c.args[1] || kv["server"] != "inproc" {
				t.Fatalf("%v", kv)
			}
			if kv["mode"] == "fnf" && kv["received"] != c.n {
				t.Fatalf("fnf received=%s, want %s", kv["received"], c.n)
			}
			if kv["mode"] != "fnf" {
				if p50, _ := strconv.ParseFloat(kv["p50_us"], 64); p50 <= 0 && kv["mode"] != "stream" {
					t.Fatalf("p50_us=%s", kv["p50_us"])
				}
			}
		})
	}
}

func TestBenchAgainstAServer(t *testing.T) {
	ts := startServer(t)
	kv := benchLine(t, runCLI(t, "", "bench", "--mode", "stream", "--n", "1000", "--size", "16", ts.ws))
	if kv["server"] != "remote" || kv["transport"] != "ws" || kv["n"] != "1000" || kv["size"] != "16" {
		t.Fatalf("%v", kv)
	}
	kv = benchLine(t, runCLI(t, "", "bench", "--mode", "rr", "--n", "300", ts.tcp))
	if kv["transport"] != "tcp" || kv["n"] != "300" {
		t.Fatalf("%v", kv)
	}
}

func TestBenchDuration(t *testing.T) {
	kv := benchLine(t, runCLI(t, "", "bench", "--mode", "rr", "--duration", "300ms", "--inflight", "4"))
	secs, _ := strconv.ParseFloat(kv["secs"], 64)
	n, _ := strconv.Atoi(kv["n"])
	if secs < 0.3 || secs > 5 || n == 0 {
		t.Fatalf("%v", kv)
	}
	kv = benchLine(t, runCLI(t, "", "bench", "--mode", "channel", "--duration", "200ms"))
	if n, _ := strconv.Atoi(kv["n"]); n == 0 {
		t.Fatalf("%v", kv)
	}
	kv = benchLine(t, runCLI(t, "", "bench", "--mode", "stream", "--duration", "200ms", "--streams", "2"))
	if n, _ := strconv.Atoi(kv["n"]); n == 0 {
		t.Fatalf("%v", kv)
	}
}

func TestBenchUsage(t *testing.T) {
	r := runCLI(t, "", "bench", "-h")
	if r.code != 0 || !strings.Contains(r.stdout, "--inflight") {
		t.Fatalf("bench -h: %d %q", r.code, r.stdout)
	}
	for _, args := range [][]string{
		{"--mode", "push"},
		{"--n", "0"},
		{"--mode", "channel", "--size", "4"},
		{"--streams", "5000"},
		{"--tcp", "ws://127.0.0.1:1/rsocket"},
		{"http://x"},
		{"--size", "999999999"},
	} {
		r := runCLI(t, "", append([]string{"bench"}, args...)...)
		wantOneLineFailure(t, r, 2, "sluice bench")
	}
	r = runCLI(t, "", "bench", "--n", "10", "ws://"+listenThenClose(t)+"/rsocket")
	wantOneLineFailure(t, r, 1, "connection refused")
}
