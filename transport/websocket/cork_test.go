package websocket

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// net.Pipe is synchronous: a write blocks until the other end reads, which
// makes "the real connection is stalled" exact.

func TestCorkDirectWriteWhenUncorked(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	k := newCork(a)
	defer k.Close()
	got := make(chan []byte, 1)
	go func() {
		p := make([]byte, 16)
		n, _ := b.Read(p)
		got <- p[:n]
	}()
	if _, err := k.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	if p := <-got; string(p) != "hi" {
		t.Fatalf("read %q", p)
	}
}

func TestCorkBatchAndConcurrentWriteDuringFlush(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	k := newCork(a)
	defer k.Close()

	k.setCorked()
	k.Write([]byte("one,"))
	k.Write([]byte("two,"))
	flushed := make(chan error, 1)
	go func() { flushed <- k.flush() }()

	// Wait until the flush owns the real connection (it is stuck: nobody reads).
	waitFor(t, func() bool { k.mu.Lock(); defer k.mu.Unlock(); return k.busy })

	// A control frame from another goroutine must not block behind it.
	if n, err := k.Write([]byte("pong")); err != nil || n != 4 {
		t.Fatalf("Write during flush: %d %v", n, err)
	}
	// The flusher writes both batches before returning, in order.
	var all bytes.Buffer
	p := make([]byte, 64)
	for all.Len() < len("one,two,pong") {
		n, err := b.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(p[:n])
	}
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if all.String() != "one,two,pong" {
		t.Fatalf("wire %q", all.String())
	}
}

func TestCorkDeadlineAndStickyError(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	k := newCork(a)
	defer k.Close()
	// gorilla's per-message SetWriteDeadline(zero) must not clear the engine's.
	k.setEngineDeadline(time.Now().Add(20 * time.Millisecond))
	k.setCorked()
	k.SetWriteDeadline(time.Time{})
	k.Write([]byte("stuck"))
	err := k.flush()
	if !errors.Is(err, os.ErrDeadlineExceeded) || !IsTimeout(err) {
		t.Fatalf("flush: %v, want deadline exceeded", err)
	}
	if _, err := k.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write after failure: %v", err)
	}
	if err := k.flush(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("flush after failure: %v", err)
	}
}

func TestCorkCloseEndsStuckFlush(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	k := newCork(a)
	k.setCorked()
	k.Write([]byte("stuck"))
	flushed := make(chan error, 1)
	go func() { flushed <- k.flush() }()
	waitFor(t, func() bool { k.mu.Lock(); defer k.mu.Unlock(); return k.busy })
	k.Close()
	if err := <-flushed; !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, net.ErrClosed) {
		t.Fatalf("flush after Close: %v", err)
	}
	if _, err := k.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
}

func TestCorkFlushWaitsForDirectWrite(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	k := newCork(a)
	defer k.Close()
	direct := make(chan error, 1)
	go func() { _, err := k.Write([]byte("ctl,")); direct <- err }() // stuck until b reads
	waitFor(t, func() bool { k.mu.Lock(); defer k.mu.Unlock(); return k.busy })
	k.setCorked()
	k.Write([]byte("data"))
	flushed := make(chan error, 1)
	go func() { flushed <- k.flush() }()
	var all bytes.Buffer
	p := make([]byte, 64)
	for all.Len() < len("ctl,data") {
		n, err := b.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(p[:n])
	}
	if err := <-direct; err != nil {
		t.Fatal(err)
	}
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if all.String() != "ctl,data" {
		t.Fatalf("wire %q", all.String())
	}
}

func TestCorkDropsHugeBuffers(t *testing.T) {
	w := &wbuf{b: make([]byte, 0, maxPooledBuf+1)}
	putBuf(w) // must not panic, must not be pooled; nothing to observe but coverage
	if g := getBuf(); cap(g.b) > maxPooledBuf {
		t.Fatalf("pooled a %d-byte buffer", cap(g.b))
	}
}

// waitFor polls cond: used only where the state is internal to another
// goroutine blocked in a system call, which no channel can report.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}
