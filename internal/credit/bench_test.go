package credit_test

import (
	"testing"

	"github.com/sluicehq/sluice/internal/credit"
)

// The per-element work of flow control: the sender takes one credit per
// element, the receiver records one arrival and one take, and every mark
// elements a top-up. None of it may allocate.

func BenchmarkCreditTake(b *testing.B) {
	var c credit.Credit
	b.ReportAllocs()
	for b.Loop() {
		if !c.Take() {
			c.Add(256)
		}
	}
}

func BenchmarkCreditTakeUnbounded(b *testing.B) {
	var c credit.Credit
	c.Add(credit.Unbounded)
	b.ReportAllocs()
	for b.Loop() {
		c.Take()
	}
}

// BenchmarkWindowPrefetch256: one op = one element through a window of 256
// (Received on arrival, Took when the application takes it, a REQUEST_N of 64
// every 64 elements).
func BenchmarkWindowPrefetch256(b *testing.B) {
	w := credit.NewWindow(256)
	var grants int
	b.ReportAllocs()
	for b.Loop() {
		if !w.Received() {
			b.Fatal("over credit")
		}
		if n := w.Took(); n > 0 {
			grants++
		}
	}
	b.ReportMetric(float64(grants)/float64(b.N), "request_n/elem")
}

func BenchmarkWindowUnbounded(b *testing.B) {
	w := credit.NewWindow(credit.Unbounded)
	b.ReportAllocs()
	for b.Loop() {
		w.Received()
		w.Took()
	}
}

func TestBenchPathsDoNotAllocate(t *testing.T) {
	w := credit.NewWindow(256)
	var c credit.Credit
	c.Add(1 << 20)
	if a := testing.AllocsPerRun(1000, func() { c.Take(); w.Received(); w.Took() }); a != 0 {
		t.Fatalf("%v allocations per element", a)
	}
}
