package sched

import (
	"slices"
	"testing"
)

// serve simulates the writer: each item has a number of frames; it pops the
// head, takes one frame, and re-queues the item while it has frames left.
func serve(r *Ring[string], frames map[string]int, maxPops int) []string {
	var order []string
	for range maxPops {
		x, ok := r.Pop()
		if !ok {
			break
		}
		order = append(order, x)
		frames[x]--
		if frames[x] > 0 {
			r.Push(x)
		}
	}
	return order
}

func TestRoundRobinExactOrder(t *testing.T) {
	var r Ring[string]
	frames := map[string]int{"a": 3, "b": 1, "c": 2}
	r.Push("a")
	r.Push("b")
	r.Push("c")
	got := serve(&r, frames, 100)
	want := []string{"a", "b", "c", "a", "c", "a"}
	if !slices.Equal(got, want) {
		t.Fatalf("pop order %v, want %v", got, want)
	}
	if r.Len() != 0 {
		t.Fatalf("ring not empty: %d", r.Len())
	}
}

func TestLateArrivalJoinsTail(t *testing.T) {
	var r Ring[string]
	frames := map[string]int{"a": 4, "b": 4}
	r.Push("a")
	r.Push("b")
	got := serve(&r, frames, 3) // a b a
	frames["c"] = 2
	r.Push("c") // credit arrived for c: it joins the tail, behind b and a
	got = append(got, serve(&r, frames, 100)...)
	want := []string{"a", "b", "a", "b", "a", "c", "b", "a", "c", "b"}
	if !slices.Equal(got, want) {
		t.Fatalf("pop order %v, want %v", got, want)
	}
}

func TestRemove(t *testing.T) {
	var r Ring[int]
	for i := range 5 {
		r.Push(i)
	}
	if !r.Remove(2) || r.Remove(2) {
		t.Fatal("Remove(2) should succeed once")
	}
	var got []int
	for {
		x, ok := r.Pop()
		if !ok {
			break
		}
		got = append(got, x)
	}
	if !slices.Equal(got, []int{0, 1, 3, 4}) {
		t.Fatalf("got %v", got)
	}
}

func TestCompactionKeepsOrder(t *testing.T) {
	var r Ring[int]
	next := 0
	want := 0
	for range 10000 {
		r.Push(next)
		next++
		r.Push(next)
		next++
		x, _ := r.Pop()
		if x != want {
			t.Fatalf("popped %d, want %d", x, want)
		}
		want++
	}
	if r.Len() != 10000 || cap(r.items) > 4*20000 {
		t.Fatalf("len %d cap %d", r.Len(), cap(r.items))
	}
}

func BenchmarkRingPushPop(b *testing.B) {
	b.ReportAllocs()
	var r Ring[*int]
	items := make([]*int, 64)
	for i := range items {
		items[i] = new(int)
		r.Push(items[i])
	}
	for b.Loop() {
		x, _ := r.Pop()
		r.Push(x)
	}
}
