// Package credit holds the element accounting of RSocket flow control
// (rsocket-digest.md, section 8): Credit on the sending side, Window on the
// receiving side. Both are small values without locks, owned by whoever holds
// the stream's lock; their methods do no I/O and return what to put on the
// wire instead.
//
// Credit is counted in int64 and saturates at 2^31-1, which every main
// implementation treats as unbounded: once reached, nothing is ever counted
// down again, and no value above 2^31-1 is ever handed out for the wire.
package credit

// Unbounded is the u31 maximum, 2^31-1: as credit it means "no limit".
const Unbounded = 1<<31 - 1

// Credit counts elements a sender may still send (outstanding credit). Not safe
// for concurrent use; the owner locks. The zero value has no credit.
type Credit struct {
	n int64 // 0..Unbounded; Unbounded = unbounded
}

// Add adds n granted by the peer (a REQUEST_N or an initial request N). n must
// be in 1..2^31-1, else Add returns false and changes nothing: 0 and values with
// the top bit set are illegal and never lower credit. The sum saturates at
// Unbounded, after which the credit never decrements.
func (c *Credit) Add(n uint32) (ok bool) {
	if n == 0 || n > Unbounded {
		return false
	}
	if c.n += int64(n); c.n > Unbounded {
		c.n = Unbounded
	}
	return true
}

// Take uses one credit if any (always true when unbounded).
func (c *Credit) Take() bool {
	switch c.n {
	case Unbounded:
		return true
	case 0:
		return false
	}
	c.n--
	return true
}

// Available returns the outstanding credit, Unbounded when unbounded.
func (c *Credit) Available() int64 { return c.n }

// Unbounded reports whether the credit has saturated.
func (c *Credit) Unbounded() bool { return c.n == Unbounded }

// Window is the receive-side policy: a prefetch window with a low-water mark,
// like Reactor's limitRate. It counts what the peer may still send (granted
// minus received) and what the application took since the last top-up.
//
// With NewWindow(size), size elements are granted up front (Initial), and once
// the application has taken max(1, size/4) elements since the last top-up,
// Took returns that many to grant again; the peer's credit thus never falls to
// zero while the application keeps up. The zero value is a manual window:
// nothing granted, Took never tops up, only Grant adds credit.
//
// Not safe for concurrent use; the owner locks.
type Window struct {
	size        int64 // the prefetch window; 0 = manual
	mark        int64 // top up once consumed reaches it; 0 = never
	outstanding int64 // granted minus received, Unbounded = unbounded
	consumed    int64 // taken since the last top-up
}

// NewWindow returns a window of size elements, already counted as granted
// (Initial is the first request N to put on the wire). size is clamped to
// 1..2^31-1; size 2^31-1 = unbounded (no top-ups ever).
func NewWindow(size int64) Window {
	size = min(max(size, 1), Unbounded)
	w := Window{size: size, outstanding: size}
	if size < Unbounded {
		w.mark = max(1, size/4)
	}
	return w
}

// Initial returns the first request N to put on the wire (the window size; 0
// for the zero Window).
func (w *Window) Initial() uint32 { return uint32(w.size) }

// Took records that the application took one element. It returns the REQUEST_N
// to send now, or 0: the window is topped up by what was consumed once consumed
// >= max(1, size/4). Never anything once unbounded, nor for the zero Window.
func (w *Window) Took() uint32 {
	if w.mark == 0 || w.outstanding == Unbounded {
		return 0
	}
	if w.consumed++; w.consumed < w.mark {
		return 0
	}
	n := w.consumed
	w.consumed = 0
	return w.grant(n)
}

// Outstanding returns granted minus received: what the peer may still send
// (Unbounded when unbounded).
func (w *Window) Outstanding() int64 { return w.outstanding }

// Unbounded reports whether the window has granted unbounded credit.
func (w *Window) Unbounded() bool { return w.outstanding == Unbounded }

// Received records that one element arrived. It returns false, changing
// nothing, when the element is beyond what was granted: a protocol violation by
// the peer.
func (w *Window) Received() bool {
	switch w.outstanding {
	case Unbounded:
		return true
	case 0:
		return false
	}
	w.outstanding--
	return true
}

// Grant adds n elements of credit (a manual request(n)) and returns the value to
// put on the wire in a REQUEST_N, or 0 when there is nothing to send (n <= 0, or
// already unbounded). When the outstanding credit reaches 2^31-1 the window
// becomes unbounded and Grant returns 2^31-1, whatever n was, so that the peer
// saturates too even if elements it sent are still in flight.
func (w *Window) Grant(n int64) uint32 { return w.grant(n) }

func (w *Window) grant(n int64) uint32 {
	if n <= 0 || w.outstanding == Unbounded {
		return 0
	}
	if n >= Unbounded-w.outstanding {
		w.outstanding = Unbounded
		return Unbounded
	}
	w.outstanding += n
	return uint32(n)
}
