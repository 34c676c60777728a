// Package sched holds the writer's scheduling structures: the ready ring that
// the writer serves round-robin, one frame per stream per turn. It has no
// locks and no goroutines; its owner (the connection's mutex) guards it.
package sched

// Ring is a FIFO of ready items served round-robin: the writer pops the head,
// takes one frame from it and pushes it back at the tail while it still has
// frames. An item is in the ring at most once (the owner keeps a flag).
type Ring[T comparable] struct {
	items []T
	head  int
}

// Len is the number of items in the ring.
func (r *Ring[T]) Len() int { return len(r.items) - r.head }

// Push adds x at the tail.
func (r *Ring[T]) Push(x T) { r.items = append(r.items, x) }

// Pop removes and returns the head.
func (r *Ring[T]) Pop() (T, bool) {
	var zero T
	if r.head == len(r.items) {
		return zero, false
	}
	x := r.items[r.head]
	r.items[r.head] = zero
	r.head++
	if r.head == len(r.items) {
		r.items, r.head = r.items[:0], 0
	} else if r.head >= 64 && r.head*2 >= len(r.items) {
		n := copy(r.items, r.items[r.head:])
		clear(r.items[n:])
		r.items, r.head = r.items[:n], 0
	}
	return x, true
}

// Remove takes x out of the ring wherever it is; it reports whether x was there.
func (r *Ring[T]) Remove(x T) bool {
	var zero T
	for i := r.head; i < len(r.items); i++ {
		if r.items[i] == x {
			copy(r.items[i:], r.items[i+1:])
			r.items[len(r.items)-1] = zero
			r.items = r.items[:len(r.items)-1]
			return true
		}
	}
	return false
}
