package credit_test

import (
	"go.uber.org/goleak"
	"math/rand/v2"
	"testing"

	"github.com/sluicehq/sluice/internal/credit"
)

const lim = credit.Unbounded // 2^31-1

func TestUnboundedIsMaxU31(t *testing.T) {
	if credit.Unbounded != 0x7FFFFFFF {
		t.Fatal(credit.Unbounded)
	}
}

// op is one step of a Credit sequence: Add(n) when add, else Take.
type op struct {
	add   bool
	n     uint32
	ok    bool  // result of Add or Take
	avail int64 // Available afterwards
}

func add(n uint32, ok bool, avail int64) op { return op{add: true, n: n, ok: ok, avail: avail} }
func take(ok bool, avail int64) op          { return op{ok: ok, avail: avail} }

func TestCredit(t *testing.T) {
	cases := []struct {
		name string
		ops  []op
	}{
		{"zero value has nothing", []op{take(false, 0), take(false, 0)}},
		{"0 is rejected", []op{add(0, false, 0), add(3, true, 3), add(0, false, 3)}},
		{"top bit is rejected", []op{add(1<<31, false, 0), add(0xFFFFFFFF, false, 0), add(1<<31|5, false, 0),
			add(2, true, 2), add(0x80000001, false, 2)}},
		{"one", []op{add(1, true, 1), take(true, 0), take(false, 0)}},
		{"additive", []op{add(3, true, 3), add(2, true, 5), take(true, 4)}},
		{"2^31-2 is bounded", []op{add(lim-1, true, lim-1), take(true, lim-2), add(1, true, lim-1)}},
		{"2^31-1 is unbounded at once", []op{add(lim, true, lim), take(true, lim), take(true, lim)}},
		{"sum reaching 2^31-1 saturates", []op{add(lim-1, true, lim-1), add(1, true, lim), take(true, lim)}},
		{"halves", []op{add(1<<30, true, 1<<30), add(1<<30-1, true, lim), take(true, lim)}},
		{"sum that would wrap int32", []op{add(lim-1, true, lim-1), add(lim-1, true, lim), take(true, lim)}},
		{"2^30 twice", []op{add(1<<30, true, 1<<30), add(1<<30, true, lim)}},
		{"after taking", []op{add(lim-1, true, lim-1), take(true, lim-2), add(2, true, lim-0)}},
		{"unbounded stays", []op{add(lim, true, lim), add(5, true, lim), add(0, false, lim), add(1<<31, false, lim), take(true, lim)}},
		{"drain", []op{add(2, true, 2), take(true, 1), take(true, 0), take(false, 0), add(1, true, 1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cr credit.Credit
			for i, o := range c.ops {
				var ok bool
				if o.add {
					ok = cr.Add(o.n)
				} else {
					ok = cr.Take()
				}
				if ok != o.ok || cr.Available() != o.avail {
					t.Fatalf("step %d (add=%v n=%d): ok=%v avail=%d, want %v %d", i, o.add, o.n, ok, cr.Available(), o.ok, o.avail)
				}
				if cr.Unbounded() != (o.avail == lim) {
					t.Fatalf("step %d: Unbounded=%v with %d", i, cr.Unbounded(), o.avail)
				}
			}
		})
	}
}

func TestCreditUnboundedNeverDecrements(t *testing.T) {
	var c credit.Credit
	c.Add(lim)
	for range 1_000_000 {
		if !c.Take() {
			t.Fatal("Take failed")
		}
	}
	if c.Available() != lim || !c.Unbounded() {
		t.Fatal(c.Available())
	}
}

// wop is one step of a Window sequence.
type wop struct {
	kind  byte  // 'R' Received, 'T' Took, 'G' Grant(n)
	n     int64 // Grant's argument
	want  int64 // Took/Grant result, or 1/0 for Received's true/false
	avail int64 // Outstanding afterwards
}

func R(ok bool, out int64) wop {
	w := wop{kind: 'R', avail: out}
	if ok {
		w.want = 1
	}
	return w
}
func T(n uint32, out int64) wop            { return wop{kind: 'T', want: int64(n), avail: out} }
func G(n int64, res uint32, out int64) wop { return wop{kind: 'G', n: n, want: int64(res), avail: out} }

func rep(n int, ops ...wop) []wop {
	var out []wop
	for range n {
		out = append(out, ops...)
	}
	return out
}

func TestWindow(t *testing.T) {
	cases := []struct {
		name    string
		size    int64
		zero    bool // use the zero Window instead of NewWindow(size)
		initial uint32
		ops     []wop
	}{
		{"size 1", 1, false, 1, []wop{R(true, 0), R(false, 0), T(1, 1), R(true, 0), T(1, 1)}},
		{"size 0 is clamped to 1", 0, false, 1, []wop{R(true, 0), R(false, 0), T(1, 1)}},
		{"negative size is clamped to 1", -5, false, 1, []wop{R(true, 0), T(1, 1)}},
		{"size 2, mark 1", 2, false, 2, []wop{R(true, 1), R(true, 0), R(false, 0), T(1, 1), T(1, 2)}},
		{"size 4, mark 1", 4, false, 4, []wop{R(true, 3), T(1, 4)}},
		{"size 7, mark 1", 7, false, 7, []wop{R(true, 6), R(true, 5), T(1, 6), T(1, 7)}},
		{"size 8, mark 2", 8, false, 8, []wop{R(true, 7), R(true, 6), R(true, 5), T(0, 5), T(2, 7), T(0, 7)}},
		{"size 10, mark 2", 10, false, 10, append(rep(10, R(true, -1)), T(0, 0), T(2, 2), T(0, 2), T(2, 4))},
		{"size 64, mark 16", 64, false, 64, append(append(rep(16, R(true, -1)), rep(15, T(0, 48))...), T(16, 64))},
		{"size 64 drained", 64, false, 64, append(rep(64, R(true, -1)), R(false, 0))},
		{"2^31-2 is bounded", lim - 1, false, lim - 1, []wop{R(true, lim-2), G(1, 1, lim-1), G(1, lim, lim), R(true, lim), T(0, lim)}},
		{"2^31-1 is unbounded", lim, false, lim, []wop{R(true, lim), R(true, lim), T(0, lim), T(0, lim), G(5, 0, lim), G(lim, 0, lim)}},
		{"above 2^31-1 is clamped", 1 << 40, false, lim, []wop{R(true, lim), T(0, lim)}},
		{"grant adds", 10, false, 10, []wop{G(5, 5, 15), R(true, 14), G(0, 0, 14), G(-3, 0, 14)}},
		{"grant clamps and saturates", 10, false, 10, []wop{G(1<<40, lim, lim), R(true, lim), G(1, 0, lim)}},
		{"grant to exactly 2^31-1", 10, false, 10, []wop{G(lim-10, lim, lim)}},
		{"grant to 2^31-2", 10, false, 10, []wop{G(lim-11, lim-11, lim-1), R(true, lim-2), G(2, lim, lim)}},
		{"grant that would wrap int32", 10, false, 10, []wop{G(lim-11, lim-11, lim-1), G(lim-1, lim, lim)}},
		{"zero Window is manual", 0, true, 0, []wop{R(false, 0), T(0, 0), G(2, 2, 2), R(true, 1), T(0, 1), R(true, 0), R(false, 0), T(0, 0)}},
		{"zero Window to unbounded", 0, true, 0, []wop{G(lim, lim, lim), R(true, lim), T(0, lim)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var w credit.Window
			if !c.zero {
				w = credit.NewWindow(c.size)
			}
			if w.Initial() != c.initial {
				t.Fatalf("Initial = %d, want %d", w.Initial(), c.initial)
			}
			if !c.zero && w.Outstanding() != int64(c.initial) {
				t.Fatalf("Outstanding = %d before anything happened", w.Outstanding())
			}
			for i, o := range c.ops {
				var got int64
				switch o.kind {
				case 'R':
					if w.Received() {
						got = 1
					}
				case 'T':
					got = int64(w.Took())
				case 'G':
					got = int64(w.Grant(o.n))
				}
				if got != o.want {
					t.Fatalf("step %d %c(%d) = %d, want %d", i, o.kind, o.n, got, o.want)
				}
				if o.avail >= 0 && w.Outstanding() != o.avail {
					t.Fatalf("step %d %c: Outstanding = %d, want %d", i, o.kind, w.Outstanding(), o.avail)
				}
				if w.Unbounded() != (w.Outstanding() == lim) {
					t.Fatalf("step %d: Unbounded() disagrees with Outstanding %d", i, w.Outstanding())
				}
			}
		})
	}
}

// TestWindowTopUpExact walks sizes through many cycles: each top-up equals the
// elements taken since the previous one, it comes exactly when that count
// reaches max(1, size/4), and what the window grants never exceeds size.
func TestWindowTopUpExact(t *testing.T) {
	for _, size := range []int64{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 63, 64, 100, 1000, 1 << 20} {
		w := credit.NewWindow(size)
		mark := max(1, size/4)
		granted, received, taken := size, int64(0), int64(0)
		var sinceTopUp int64
		for range 3*size + 10 {
			if !w.Received() {
				t.Fatalf("size %d: Received refused with %d outstanding", size, w.Outstanding())
			}
			received++
			n := w.Took()
			taken++
			sinceTopUp++
			if sinceTopUp == mark {
				if int64(n) != mark {
					t.Fatalf("size %d: top-up %d after %d taken, want %d", size, n, sinceTopUp, mark)
				}
				sinceTopUp = 0
			} else if n != 0 {
				t.Fatalf("size %d: top-up %d after only %d taken", size, n, sinceTopUp)
			}
			granted += int64(n)
			if w.Outstanding() != granted-received {
				t.Fatalf("size %d: Outstanding %d, want %d", size, w.Outstanding(), granted-received)
			}
			if granted-taken > size {
				t.Fatalf("size %d: granted-taken = %d", size, granted-taken)
			}
			if w.Outstanding() <= 0 {
				t.Fatalf("size %d: the peer ran out of credit although the app keeps up", size)
			}
		}
	}
}

// TestPeerSimulation drives a sender's Credit and a receiver's Window through
// random interleavings of send, deliver and take, with REQUEST_Ns in flight:
// the sender never exceeds credit, the receiver never sees an element beyond
// its grant, and the stream never stalls while the application keeps taking.
func TestPeerSimulation(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int64{1, 2, 3, 8, 13, 64} {
		w := credit.NewWindow(size)
		var c credit.Credit
		if !c.Add(w.Initial()) {
			t.Fatal("initial N rejected")
		}
		var wire, requestNs []uint32 // elements and REQUEST_Ns in flight
		buffered, delivered := 0, 0
		for step := 0; delivered < 5000; step++ {
			if step > 1_000_000 {
				t.Fatalf("size %d: stalled: credit %d, wire %d, request_n %d, buffered %d",
					size, c.Available(), len(wire), len(requestNs), buffered)
			}
			switch rng.IntN(4) {
			case 0: // sender sends while it has credit
				if c.Take() {
					wire = append(wire, 1)
				}
			case 1: // an element arrives
				if len(wire) > 0 {
					wire = wire[1:]
					if !w.Received() {
						t.Fatalf("size %d: element beyond the grant", size)
					}
					buffered++
				}
			case 2: // the application takes one
				if buffered > 0 {
					buffered--
					delivered++
					if n := w.Took(); n > 0 {
						requestNs = append(requestNs, n)
					}
				}
			case 3: // a REQUEST_N arrives
				if len(requestNs) > 0 {
					if !c.Add(requestNs[0]) {
						t.Fatal("REQUEST_N rejected")
					}
					requestNs = requestNs[1:]
				}
			}
			if int64(buffered) > size {
				t.Fatalf("size %d: %d buffered", size, buffered)
			}
		}
	}
}

// ---- benchmarks -------------------------------------------------------------------

func BenchmarkCreditAddTake(b *testing.B) {
	var c credit.Credit
	b.ReportAllocs()
	for b.Loop() {
		c.Add(1)
		c.Take()
	}
}

func BenchmarkWindowCycle(b *testing.B) {
	w := credit.NewWindow(64)
	b.ReportAllocs()
	for b.Loop() {
		w.Received()
		w.Took()
	}
}

// ---- leak check -----------------------------------------------------------------

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
