package pipe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func mustWrite(t *testing.T, c *Conn, frames ...string) {
	t.Helper()
	for _, f := range frames {
		if err := c.WriteFrame([]byte(f)); err != nil {
			t.Fatal(err)
		}
	}
}

func mustRead(t *testing.T, c *Conn, want ...string) {
	t.Helper()
	for _, w := range want {
		f, err := c.ReadFrame()
		if err != nil || string(f) != w {
			t.Fatalf("ReadFrame: %q %v, want %q", f, err, w)
		}
	}
}

func TestFramesCrossOnlyAtFlush(t *testing.T) {
	a, b := New(Options{})
	defer a.Close()
	defer b.Close()
	buf := []byte("one")
	a.WriteFrame(buf)
	copy(buf, "XXX") // WriteFrame copied it
	mustWrite(t, a, "two", "three")
	if n, _ := b.Buffered(); n != 0 {
		t.Fatalf("%d frames crossed before Flush", n)
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	if n, bytes := b.Buffered(); n != 3 || bytes != 11 {
		t.Fatalf("Buffered() = %d, %d; want 3, 11", n, bytes)
	}
	mustRead(t, b, "one", "two", "three")
	mustWrite(t, b, "back")
	b.Flush()
	mustRead(t, a, "back")
	if a.LocalAddr().String() != "a" || a.RemoteAddr().String() != "b" || b.RemoteAddr().Network() != "pipe" {
		t.Fatal("addresses")
	}
}

func TestTapRecordsExactFramesPerDirection(t *testing.T) {
	var rec Recorder
	a, b := New(Options{Tap: rec.Tap})
	defer a.Close()
	defer b.Close()
	mustWrite(t, a, "req1", "req2")
	if len(rec.Frames(AToB)) != 0 {
		t.Fatal("tap saw unflushed frames")
	}
	a.Flush()
	mustWrite(t, b, "resp")
	b.Flush()
	got := fmt.Sprintf("%q %q", rec.Frames(AToB), rec.Frames(BToA))
	if got != `["req1" "req2"] ["resp"]` {
		t.Fatalf("tap saw %s", got)
	}
	// The tap's copies are its own.
	f, _ := b.ReadFrame()
	f[0] = 'X'
	if string(rec.Frames(AToB)[0]) != "req1" {
		t.Fatal("tap copy aliases the reader's frame")
	}
	rec.Reset()
	if len(rec.Frames(AToB))+len(rec.Frames(BToA)) != 0 {
		t.Fatal("Reset")
	}
	if AToB.String() != "a->b" || BToA.String() != "b->a" {
		t.Fatal("Dir.String")
	}
}

func TestPausedReaderBlocksWriter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec Recorder
		a, b := New(Options{Capacity: 100, Tap: rec.Tap})
		defer a.Close()
		defer b.Close()
		b.SetReadPaused(true)
		for i := 0; i < 5; i++ {
			a.WriteFrame(bytes.Repeat([]byte{byte('0' + i)}, 40))
		}
		flushed := make(chan error, 1)
		go func() { flushed <- a.Flush() }()
		synctest.Wait()
		select {
		case err := <-flushed:
			t.Fatalf("Flush returned %v with the peer paused", err)
		default:
		}
		if n, nb := b.Buffered(); n != 2 || nb != 80 {
			t.Fatalf("Buffered() = %d, %d; want 2, 80 (capacity 100)", n, nb)
		}
		if len(rec.Frames(AToB)) != 2 {
			t.Fatalf("tap saw %d frames, want the 2 that crossed", len(rec.Frames(AToB)))
		}

		// A paused reader does not take frames either.
		got := make(chan []byte, 5)
		go func() {
			for i := 0; i < 5; i++ {
				f, err := b.ReadFrame()
				if err != nil {
					t.Error(err)
					return
				}
				got <- f
			}
		}()
		synctest.Wait()
		if len(got) != 0 {
			t.Fatal("paused reader took a frame")
		}
		b.SetReadPaused(false)
		if err := <-flushed; err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			if f := <-got; f[0] != byte('0'+i) || len(f) != 40 {
				t.Fatalf("frame %d: %q", i, f)
			}
		}
	})
}

func TestWriteDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := New(Options{Capacity: 10})
		defer a.Close()
		defer b.Close()
		b.SetReadPaused(true)
		mustWrite(t, a, "0123456789", "more")
		start := time.Now()
		a.SetWriteDeadline(start.Add(time.Second))
		err := a.Flush()
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Flush: %v, want deadline exceeded", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("timed out after %v, want 1s", d)
		}
		if n, _ := b.Buffered(); n != 1 {
			t.Fatalf("%d frames crossed, want 1", n)
		}
		// Sticky, like a real connection.
		if err := a.WriteFrame([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("WriteFrame after timeout: %v", err)
		}
		if err := a.Flush(); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Flush after timeout: %v", err)
		}
	})
}

func TestWriteDeadlineAlreadyPassedAndMoved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := New(Options{Capacity: 10})
		defer b.Close()
		a.SetWriteDeadline(time.Now().Add(-time.Second))
		mustWrite(t, a, "x")
		if err := a.Flush(); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("expired deadline: %v", err)
		}
		a.Close()

		// A deadline set while a Flush is blocked applies to it.
		c, d := New(Options{Capacity: 10})
		defer c.Close()
		defer d.Close()
		d.SetReadPaused(true)
		mustWrite(t, c, "0123456789", "more")
		flushed := make(chan error, 1)
		go func() { flushed <- c.Flush() }()
		synctest.Wait()
		c.SetWriteDeadline(time.Now().Add(time.Minute))
		start := time.Now()
		if err := <-flushed; !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) != time.Minute {
			t.Fatalf("Flush: %v after %v", err, time.Since(start))
		}
		// Unsetting a deadline before it passes lets the Flush finish.
		e, f := New(Options{Capacity: 10})
		defer e.Close()
		defer f.Close()
		f.SetReadPaused(true)
		mustWrite(t, e, "0123456789", "more")
		e.SetWriteDeadline(time.Now().Add(time.Minute))
		go func() { flushed <- e.Flush() }()
		synctest.Wait()
		e.SetWriteDeadline(time.Time{})
		time.Sleep(time.Hour)
		f.SetReadPaused(false)
		mustRead(t, f, "0123456789")
		if err := <-flushed; err != nil {
			t.Fatal(err)
		}
	})
}

func TestReadRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := New(Options{})
		defer a.Close()
		defer b.Close()
		b.SetReadRate(1000) // bytes per second
		for i := 0; i < 10; i++ {
			a.WriteFrame(make([]byte, 100))
		}
		a.Flush()
		start := time.Now()
		var at []time.Duration
		for i := 0; i < 10; i++ {
			if _, err := b.ReadFrame(); err != nil {
				t.Fatal(err)
			}
			at = append(at, time.Since(start))
		}
		// 100 bytes at 1000 B/s: one frame every 100ms, the first at once.
		for i, d := range at {
			if d != time.Duration(i)*100*time.Millisecond {
				t.Fatalf("frame %d read at %v", i, d)
			}
		}
		b.SetReadRate(0)
		mustWrite(t, a, "x", "y")
		a.Flush()
		start = time.Now()
		mustRead(t, b, "x", "y")
		if time.Since(start) != 0 {
			t.Fatal("rate 0 still waits")
		}
	})
}

func TestSlowReaderPacesWriter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := New(Options{Capacity: 1000})
		defer a.Close()
		defer b.Close()
		b.SetReadRate(10_000)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				if _, err := b.ReadFrame(); err != nil {
					return
				}
			}
		}()
		start := time.Now()
		for i := 0; i < 100; i++ {
			a.WriteFrame(make([]byte, 100))
			if err := a.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		// 100-byte frames, a reader taking one per 10ms, a buffer of 10 frames:
		// the last frame fits once frame 89 has been read, at 890ms.
		if d := time.Since(start); d != 890*time.Millisecond {
			t.Fatalf("100 frames took %v", d)
		}
		a.Close()
		<-done
	})
}

func TestOversizedFrameIntoEmptyBuffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := New(Options{Capacity: 10})
		defer a.Close()
		defer b.Close()
		mustWrite(t, a, "a frame larger than capacity")
		if err := a.Flush(); err != nil {
			t.Fatal(err)
		}
		mustRead(t, b, "a frame larger than capacity")
		if err := a.WriteFrame(make([]byte, transport.MaxFrame+1)); err != transport.ErrFrameTooLarge {
			t.Fatalf("over MaxFrame: %v", err)
		}
	})
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := New(Options{Capacity: 10})
		mustWrite(t, a, "last1", "last2")
		a.Flush()
		// A pending ReadFrame on the closing end fails.
		readErr := make(chan error, 1)
		go func() { _, err := a.ReadFrame(); readErr <- err }()
		synctest.Wait()
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		a.Close()
		if err := <-readErr; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("pending ReadFrame after Close: %v", err)
		}
		// The peer reads what was flushed, then io.EOF, for good.
		mustRead(t, b, "last1", "last2")
		for i := 0; i < 2; i++ {
			if _, err := b.ReadFrame(); err != io.EOF {
				t.Fatalf("after peer Close: %v, want io.EOF", err)
			}
		}
		mustWrite(t, b, "to nowhere")
		if err := b.Flush(); !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("Flush to a closed peer: %v", err)
		}
		if err := a.WriteFrame([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("WriteFrame after Close: %v", err)
		}
		if err := a.Flush(); err != nil {
			t.Fatalf("Flush with nothing queued: %v", err)
		}
		b.Close()
	})
}

func TestCloseUnblocksFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := New(Options{Capacity: 4})
		b.SetReadPaused(true)
		mustWrite(t, a, "full", "blocked")
		flushed := make(chan error, 1)
		go func() { flushed <- a.Flush() }()
		synctest.Wait()
		b.Close() // the peer goes away
		if err := <-flushed; !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("blocked Flush after peer Close: %v", err)
		}
		a.Close()

		c, d := New(Options{Capacity: 4})
		d.SetReadPaused(true)
		mustWrite(t, c, "full", "blocked")
		go func() { flushed <- c.Flush() }()
		synctest.Wait()
		c.Close() // the writer's own end closes
		if err := <-flushed; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("blocked Flush after own Close: %v", err)
		}
		d.Close()
	})
}

// Real goroutines and the race detector: a small buffer, many frames, order kept.
func TestConcurrentStream(t *testing.T) {
	a, b := New(Options{Capacity: 256})
	const n = 20000
	done := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			if err := a.WriteFrame([]byte(fmt.Sprint(i))); err != nil {
				done <- err
				return
			}
			if i%7 == 0 || i == n-1 {
				if err := a.Flush(); err != nil {
					done <- err
					return
				}
			}
		}
		done <- a.Close()
	}()
	for i := 0; i < n; i++ {
		f, err := b.ReadFrame()
		if err != nil || string(f) != fmt.Sprint(i) {
			t.Fatalf("frame %d: %q %v", i, f, err)
		}
	}
	if _, err := b.ReadFrame(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b.Close()
}

func BenchmarkFlushRead64(b *testing.B) {
	x, y := New(Options{})
	defer x.Close()
	defer y.Close()
	frame := make([]byte, 64)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		x.WriteFrame(frame)
		x.Flush()
		y.ReadFrame()
	}
}
