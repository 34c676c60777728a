package sched

import (
	"strconv"
	"testing"
)

type item struct{ frames int }

// BenchmarkRingTurn: one op = one writer turn: pop the head stream, take one
// frame, push it back while it has more (the round-robin of the writer), with
// 1, 16 and 1024 ready streams.
func BenchmarkRingTurn(b *testing.B) {
	for _, n := range []int{1, 16, 1024} {
		b.Run(strconv.Itoa(n)+"streams", func(b *testing.B) {
			var r Ring[*item]
			items := make([]*item, n)
			for i := range items {
				items[i] = &item{frames: 1 << 30}
				r.Push(items[i])
			}
			b.ReportAllocs()
			for b.Loop() {
				x, ok := r.Pop()
				if !ok {
					b.Fatal("empty")
				}
				x.frames--
				r.Push(x)
			}
		})
	}
}

// BenchmarkRingDrainRefill: one op = one stream that becomes ready with one
// frame, is served and leaves the ring (the request-response pattern).
func BenchmarkRingDrainRefill(b *testing.B) {
	var r Ring[*item]
	x := &item{}
	b.ReportAllocs()
	for b.Loop() {
		r.Push(x)
		if _, ok := r.Pop(); !ok {
			b.Fatal("empty")
		}
	}
}

// BenchmarkRingRemove: a cancelled stream leaves a ring of 64.
func BenchmarkRingRemove(b *testing.B) {
	var r Ring[*item]
	items := make([]*item, 64)
	for i := range items {
		items[i] = &item{}
		r.Push(items[i])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		x := items[i%64]
		i++
		if !r.Remove(x) {
			b.Fatal("not there")
		}
		r.Push(x)
	}
}

func TestRingTurnDoesNotAllocate(t *testing.T) {
	var r Ring[*item]
	for range 16 {
		r.Push(&item{})
	}
	if a := testing.AllocsPerRun(1000, func() { x, _ := r.Pop(); r.Push(x) }); a != 0 {
		t.Fatalf("%v allocations per turn", a)
	}
}
