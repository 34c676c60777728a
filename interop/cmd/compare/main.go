// Command compare measures the sluice server against an rsocket-go v0.8.16
// server (WebSocket transport) and a raw gorilla/websocket push/echo server,
// side by side in one run: every case runs against every server in turn,
// alternating (round by round, in rotated order), three rounds, and the table
// shows the median of the three.
//
//	cd interop && go run ./cmd/compare            # or: make bench (repo root)
//
// Each server runs in a child process of its own (this program re-executed
// with -server=sluice|rsocketgo|raw), so its CPU time (/proc/PID/stat) and RSS
// (/proc/PID/status) are its own. All three are driven by the same client
// code, a minimal WebSocket client of our own (package wsraw) that speaks just
// enough RSocket (SETUP, REQUEST_STREAM, REQUEST_N, REQUEST_RESPONSE,
// REQUEST_CHANNEL, PAYLOAD, encoded with sluice's protocol package) and counts
// PAYLOADs, so neither RSocket client library limits the result. The sluice Go
// client's own figures against the sluice server are reported too.
//
// Loopback only; about two minutes; every child is stopped by PID at the end.
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sluicehq/sluice/interop/cmd/compare/benchpeer"
	"github.com/sluicehq/sluice/interop/cmd/compare/wsraw"
	"github.com/sluicehq/sluice/protocol"
)

var cases = []benchCase{
	{Name: "request-stream 64 B, unbounded", Kind: kindStream, Size: 64},
	{Name: "request-stream 64 B, prefetch 256", Kind: kindStream, Size: 64, Prefetch: 256},
	{Name: "request-stream 1 KiB, unbounded", Kind: kindStream, Size: 1024},
	{Name: "request-stream 1 KiB, prefetch 256", Kind: kindStream, Size: 1024, Prefetch: 256},
	{Name: "request-response 64 B, 64 in flight", Kind: kindRR, Size: 64, InFlight: 64},
	{Name: "request-channel echo 64 B, 256 in flight", Kind: kindChannel, Size: 64, InFlight: 256},
}

// extraCases run with -extra: how large a window must be to hide the credit
// round trip.
var extraCases = []benchCase{
	{Name: "request-stream 64 B, prefetch 1024", Kind: kindStream, Size: 64, Prefetch: 1024},
	{Name: "request-stream 64 B, prefetch 4096", Kind: kindStream, Size: 64, Prefetch: 4096},
	{Name: "request-stream 1 KiB, prefetch 1024", Kind: kindStream, Size: 1024, Prefetch: 1024},
}

func main() {
	serverKind := flag.String("server", "", "child mode: serve sluice, rsocketgo or raw on -addr and obey stdin (used by the harness itself)")
	addr := flag.String("addr", "127.0.0.1:0", "child mode: listen address")
	rounds := flag.Int("rounds", 3, "rounds (the table shows the median)")
	warm := flag.Duration("warm", 300*time.Millisecond, "warm-up of each run, not measured")
	dur := flag.Duration("dur", time.Second, "measured time of each run")
	only := flag.String("cases", "", "run only cases whose name contains this")
	verbose := flag.Bool("v", false, "print every run on stderr")
	extra := flag.Bool("extra", false, "also run larger prefetch windows (1024, 4096)")
	ab := flag.String("ab", "", "A/B an engine change in the same run: also measure the sluice server of this other build of compare (system \"sluice-B\")")
	onlySys := flag.String("systems", "", "run only these systems (comma-separated: sluice, rsocket-go, raw, sluice+goclient)")
	flag.Parse()
	if *serverKind != "" {
		os.Exit(benchpeer.RunChild(*serverKind, *addr))
	}
	if *extra {
		cases = append(cases, extraCases...)
	}
	os.Exit(parent(*rounds, timing{*warm, *dur}, *only, *onlySys, *verbose, *ab))
}

func parent(rounds int, tm timing, only, onlySys string, verbose bool, ab string) int {
	began := time.Now()
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		return 1
	}
	var children []*benchpeer.Child
	var startExe func(kind, exe string) *benchpeer.Child
	defer func() {
		for _, c := range children {
			c.Stop()
		}
	}()
	start := func(kind string) *benchpeer.Child {
		return startExe(kind, exe)
	}
	startExe = func(kind, exe string) *benchpeer.Child {
		c, err := benchpeer.Start(kind, exe, []string{"-server=" + kind}, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "compare:", err)
			return nil
		}
		children = append(children, c)
		return c
	}
	sl, rg, rw := start(benchpeer.Sluice), start(benchpeer.RSocketGo), start(benchpeer.Raw)
	if sl == nil || rg == nil || rw == nil {
		return 1
	}
	systems := []system{
		{Name: "sluice server", Short: "sluice", Dialect: dialectRSocket, Child: sl},
		{Name: "rsocket-go v0.8.16 server", Short: "rsocket-go", Dialect: dialectRSocket, Child: rg},
		{Name: "raw gorilla/websocket server", Short: "raw", Dialect: dialectRaw, Child: rw},
		{Name: "sluice server, sluice Go client", Short: "sluice+goclient", Dialect: dialectGo, Child: sl},
	}

	if ab != "" {
		b := startExe(benchpeer.Sluice, ab)
		if b == nil {
			return 1
		}
		systems = append(systems, system{Name: "sluice server, build B", Short: "sluice-B", Dialect: dialectRSocket, Child: b})
	}
	if onlySys != "" {
		keep := strings.Split(onlySys, ",")
		systems = slices.DeleteFunc(systems, func(s system) bool { return !slices.Contains(keep, s.Short) })
	}
	printHeader(os.Stdout)
	fmt.Printf("Servers: sluice pid %d, rsocket-go pid %d, raw pid %d. Rounds %d, each run %v warm-up + %v measured.\n\n",
		sl.PID, rg.PID, rw.PID, rounds, tm.warm, tm.dur)

	// The client must not be the limit: its read path against an in-memory
	// source, once per round (the median is reported).
	var cr64s, cr1ks []result

	var todo []benchCase
	for _, bc := range cases {
		if only == "" || strings.Contains(bc.Name, only) {
			todo = append(todo, bc)
		}
	}
	res := map[string]map[string][]result{} // case -> system -> runs
	for r := 0; r < rounds; r++ {
		for _, bc := range todo {
			order := slices.Clone(systems)
			rot := r % len(order)
			order = append(order[rot:], order[:rot]...)
			for _, sys := range order {
				if sys.Dialect == dialectRaw && bc.Kind == kindStream && bc.Prefetch > 0 {
					continue // the raw server has no demand: its push figure serves as the baseline
				}
				rr := runOne(bc, sys, tm)
				if rr.Err != nil {
					fmt.Fprintf(os.Stderr, "compare: round %d %s / %s: %v\n", r+1, bc.Name, sys.Short, rr.Err)
				}
				if verbose {
					fmt.Fprintf(os.Stderr, "compare: round %d %-42s %-16s %8s/s p50 %-8s p99 %-8s srv %.2f s/M cli %.2f s/M",
						r+1, bc.Name, sys.Short, fmtRate(rr.Rate), fmtDur(rr.P50), fmtDur(rr.P99), rr.SrvCPU, rr.CliCPU)
					if rr.FramesPerFlush > 0 {
						fmt.Fprintf(os.Stderr, " frames/flush %.1f request_n/elem %.4f", rr.FramesPerFlush, rr.RequestNPerElem)
					}
					fmt.Fprintln(os.Stderr)
				}
				if res[bc.Name] == nil {
					res[bc.Name] = map[string][]result{}
				}
				res[bc.Name][sys.Short] = append(res[bc.Name][sys.Short], rr)
				time.Sleep(100 * time.Millisecond)
			}
		}
		cr64s = append(cr64s, result{Rate: clientReadBench(64, 500*time.Millisecond)})
		cr1ks = append(cr1ks, result{Rate: clientReadBench(1024, 500*time.Millisecond)})
		fmt.Fprintf(os.Stderr, "compare: round %d done at %v\n", r+1, time.Since(began).Round(time.Second))
	}

	// RSS of the idle servers after the run.
	printTable(os.Stdout, todo, systems, res)
	best, cores := 0.0, 0.0
	for _, bc := range todo {
		for _, sys := range systems {
			runs := res[bc.Name][sys.Short]
			m := median(runs, func(r result) float64 { return r.Rate })
			if m > best && bc.Kind == kindStream {
				best = m
			}
			if sys.Dialect != dialectGo {
				cores = max(cores, median(runs, func(r result) float64 { return r.Rate * r.CliCPU / 1e6 }))
			}
		}
	}
	rate := func(r result) float64 { return r.Rate }
	cr64, cr1k := median(cr64s, rate), median(cr1ks, rate)
	fmt.Printf("\nClient headroom: the raw client's read path (wsraw + protocol.Decode + counting, the code above) against a pre-filled in-memory source reads %.1f M elements/s at 64 B and %.1f M/s at 1 KiB on one core (median of one 0.5 s run per round); the fastest server above sent %.2f M/s (%.1f× headroom at 64 B). During the runs the raw client used at most %.2f of a core (client CPU s/M × elements/s).\n",
		cr64/1e6, cr1k/1e6, best/1e6, cr64/max(best, 1), cores)
	if len(todo) >= 6 && todo[5].Name == cases[5].Name {
		printGoals(os.Stdout, res)
	}
	fmt.Printf("\nTotal time %v.\n", time.Since(began).Round(time.Second))
	return 0
}

func printHeader(w io.Writer) {
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	nproc := runtime.NumCPU()
	if out, err := exec.Command("nproc").Output(); err == nil {
		fmt.Sscan(string(bytes.TrimSpace(out)), &nproc)
	}
	fmt.Fprintf(w, "sluice comparison, %s; nproc %d, %s, %s, GOMAXPROCS %d, loopback\n\n",
		time.Now().Format("2006-01-02 15:04 MST"), nproc, model, runtime.Version(), runtime.GOMAXPROCS(0))
}

func median(rs []result, f func(result) float64) float64 {
	var v []float64
	for _, r := range rs {
		if r.Err == nil || r.Elements > 0 {
			v = append(v, f(r))
		}
	}
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func percentiles(lat []time.Duration) (p50, p99 time.Duration) {
	if len(lat) == 0 {
		return 0, 0
	}
	slices.Sort(lat)
	return lat[len(lat)*50/100], lat[min(len(lat)*99/100, len(lat)-1)]
}

func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func fmtRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2f M", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.0f k", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

// baseline returns the median rate of system short for the case, or for the
// raw server in a prefetch case, its push rate of the same size.
func baseline(res map[string]map[string][]result, bc benchCase, short string) (float64, string) {
	name := bc.Name
	note := ""
	if short == "raw" && bc.Kind == kindStream && bc.Prefetch > 0 {
		for _, c := range cases {
			if c.Kind == kindStream && c.Size == bc.Size && c.Prefetch == 0 {
				name = c.Name
			}
		}
		note = "†"
	}
	return median(res[name][short], func(r result) float64 { return r.Rate }), note
}

func printTable(w io.Writer, todo []benchCase, systems []system, res map[string]map[string][]result) {
	fmt.Fprintln(w, "| case | server (client) | elements/s | MB/s | p50 | p99 | server CPU s/M | server RSS | client CPU s/M | × rsocket-go | × raw gorilla |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, bc := range todo {
		rg, _ := baseline(res, bc, "rsocket-go")
		raw, note := baseline(res, bc, "raw")
		for _, sys := range systems {
			runs := res[bc.Name][sys.Short]
			if len(runs) == 0 {
				continue
			}
			rate := median(runs, func(r result) float64 { return r.Rate })
			p50 := time.Duration(median(runs, func(r result) float64 { return float64(r.P50) }))
			p99 := time.Duration(median(runs, func(r result) float64 { return float64(r.P99) }))
			scpu := median(runs, func(r result) float64 { return r.SrvCPU })
			ccpu := median(runs, func(r result) float64 { return r.CliCPU })
			rss := median(runs, func(r result) float64 { return float64(r.SrvRSS) })
			label := sys.Name
			switch sys.Dialect {
			case dialectGo:
				label = "sluice (sluice Go client)"
			default:
				label = sys.Short + " (raw client)"
			}
			xr, xw := "", ""
			if sys.Short != "rsocket-go" && rg > 0 {
				xr = fmt.Sprintf("%.1f×", rate/rg)
			}
			if sys.Short != "raw" && raw > 0 {
				xw = fmt.Sprintf("%.1f×%s", rate/raw, note)
			}
			errs := 0
			for _, r := range runs {
				if r.Err != nil && r.Elements == 0 {
					errs++
				}
			}
			if errs > 0 {
				label += fmt.Sprintf(" (%d of %d runs failed)", errs, len(runs))
			}
			fmt.Fprintf(w, "| %s | %s | %s | %.1f | %s | %s | %.2f | %.0f MB | %.2f | %s | %s |\n",
				bc.Name, label, fmtRate(rate), rate*float64(bc.Size)/1e6, fmtDur(p50), fmtDur(p99),
				scpu, rss/1e6, ccpu, xr, xw)
		}
	}
	fmt.Fprintln(w, "\n† the raw server has no demand: its unbounded push rate of the same size is the baseline.")
	fmt.Fprintln(w, "Latency: streams, the age of an element at the client (producer's clock, every 64th element); request-response and channel, the round trip. MB/s counts element data.")
}

func printGoals(w io.Writer, res map[string]map[string][]result) {
	rate := func(name, short string) float64 {
		return median(res[name][short], func(r result) float64 { return r.Rate })
	}
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	s64, s64p := rate(cases[0].Name, "sluice"), rate(cases[1].Name, "sluice")
	s1k, s1kp := rate(cases[2].Name, "sluice"), rate(cases[3].Name, "sluice")
	rr := rate(cases[4].Name, "sluice")
	g64, g64p := rate(cases[0].Name, "sluice+goclient"), rate(cases[1].Name, "sluice+goclient")
	g1k, g1kp := rate(cases[2].Name, "sluice+goclient"), rate(cases[3].Name, "sluice+goclient")
	check := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	fmt.Fprintln(w, "\nGoals (ratios of medians, this run):")
	a, b := ratio(s64, rate(cases[0].Name, "rsocket-go")), ratio(s64, rate(cases[0].Name, "raw"))
	fmt.Fprintf(w, "- request-stream 64 B: %.1f× rsocket-go (goal 6×), %.1f× raw gorilla (goal 3×): %s\n", a, b, check(a >= 6 && b >= 3))
	a, b = ratio(s1k, rate(cases[2].Name, "rsocket-go")), ratio(s1k, rate(cases[2].Name, "raw"))
	fmt.Fprintf(w, "- request-stream 1 KiB: %.1f× rsocket-go (goal 4×), %.1f× raw gorilla (goal 2×): %s\n", a, b, check(a >= 4 && b >= 2))
	a = ratio(rr, rate(cases[4].Name, "rsocket-go"))
	fmt.Fprintf(w, "- request-response 64 B, 64 in flight: %.1f× rsocket-go (goal 3×): %s\n", a, check(a >= 3))
	c64, c1k := 1-ratio(s64p, s64), 1-ratio(s1kp, s1k)
	fmt.Fprintf(w, "- prefetch 256 vs unbounded (raw client): 64 B costs %.0f%%, 1 KiB costs %.0f%% (goal ≤ 10%%): %s\n",
		100*c64, 100*c1k, check(c64 <= 0.10 && c1k <= 0.10))
	fmt.Fprintf(w, "- prefetch 256 vs unbounded (sluice Go client): 64 B costs %.0f%%, 1 KiB costs %.0f%%\n",
		100*(1-ratio(g64p, g64)), 100*(1-ratio(g1kp, g1k)))
}

// ---- client headroom -------------------------------------------------------------

// loopReader returns src over and over, in reads of at most chunk bytes (like
// a socket that always has data).
type loopReader struct {
	src   []byte
	off   int
	chunk int
}

func (r *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && n < r.chunk {
		k := copy(p[n:min(len(p), r.chunk)], r.src[r.off:])
		n += k
		r.off = (r.off + k) % len(r.src)
	}
	return n, nil
}

// clientReadBench runs consumeStream, the raw client's stream loop, against
// an in-memory source of PAYLOAD frames and returns elements/s.
func clientReadBench(size int, d time.Duration) float64 {
	data := make([]byte, size)
	var src, frame []byte
	for seq := uint64(0); len(src) < 4<<20; seq++ {
		binary.BigEndian.PutUint64(data, seq)
		frame = protocol.AppendPayload(frame[:0], 1, protocol.FlagNext, nil, data)
		src = wsraw.AppendServerFrame(src, wsraw.OpBinary, frame)
	}
	c := wsraw.NewFromReader(&loopReader{src: src, chunk: 64 << 10}, 0)
	m := &meter{}
	m.measuring.Store(true)
	go func() { time.Sleep(d); m.stop.Store(true) }()
	t := time.Now()
	consumeStream(c, m, 0)
	return float64(m.count.Load()) / time.Since(t).Seconds()
}
