package demo

import (
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// Bandwidth limits accepted from a `?bw=BYTES_PER_S` query parameter; values
// outside are clamped. 0 or absent means no limit.
const (
	MinBandwidth = 4 << 10  // 4 KiB/s
	MaxBandwidth = 1 << 30  // 1 GiB/s
	maxBurst     = 16 << 10 // largest single write to the real connection
	minBurst     = 512      // smallest, so slow links still move whole small frames
	burstPeriod  = time.Second / 20
)

// ParseBandwidth reads the `bw` query parameter of r: bytes per second,
// clamped to [MinBandwidth, MaxBandwidth]; 0 when absent, invalid or <= 0.
func ParseBandwidth(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("bw"))
	if err != nil || n <= 0 {
		return 0
	}
	return min(max(n, MinBandwidth), MaxBandwidth)
}

// LimitConn returns nc with its writes shaped by a token bucket to
// bytesPerSec (a simulated slow network, needing neither root nor tc): Write
// passes at most one burst (1/20 s worth, between 512 B and 16 KiB) at a time
// to nc and sleeps until the bucket holds the next one. Reads are not limited.
//
// Write honours the write deadline (SetWriteDeadline, SetDeadline): if the
// bucket cannot fill before it, Write sleeps until the deadline and returns the
// bytes written so far with os.ErrDeadlineExceeded. Close wakes a sleeping Write
// (net.ErrClosed). Writes are serialized; other methods are safe concurrently.
func LimitConn(nc net.Conn, bytesPerSec int) net.Conn {
	rate := min(max(bytesPerSec, 1), MaxBandwidth)
	burst := min(max(rate/int(time.Second/burstPeriod), minBurst), maxBurst)
	return &limitedConn{Conn: nc, rate: float64(rate), burst: burst, tokens: float64(burst), last: time.Now(), closed: make(chan struct{})}
}

type limitedConn struct {
	net.Conn
	rate  float64 // bytes per second
	burst int     // bucket size, and the largest write to Conn

	wmu    sync.Mutex // serializes Write; guards tokens and last
	tokens float64
	last   time.Time

	dmu sync.Mutex
	wdl time.Time // write deadline

	closeOnce sync.Once
	closed    chan struct{}
}

func (c *limitedConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n := 0
	for n < len(p) {
		chunk := min(len(p)-n, c.burst)
		if err := c.take(chunk); err != nil {
			return n, err
		}
		w, err := c.Conn.Write(p[n : n+chunk])
		n += w
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// take waits until the bucket holds want tokens and removes them.
func (c *limitedConn) take(want int) error {
	for {
		now := time.Now()
		c.tokens = min(float64(c.burst), c.tokens+now.Sub(c.last).Seconds()*c.rate)
		c.last = now
		if c.tokens >= float64(want) {
			c.tokens -= float64(want)
			return nil
		}
		// Rounded up and at least 1 ns, so that a shortfall of a fraction of a
		// token still sleeps (a fake clock advances only while everyone sleeps).
		wait := max(time.Duration(math.Ceil((float64(want)-c.tokens)/c.rate*float64(time.Second))), 1)
		c.dmu.Lock()
		dl := c.wdl
		c.dmu.Unlock()
		timeout := false
		if !dl.IsZero() && now.Add(wait).After(dl) {
			wait, timeout = dl.Sub(now), true
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-c.closed:
				t.Stop()
				return net.ErrClosed
			}
		}
		if timeout {
			return os.ErrDeadlineExceeded
		}
	}
}

func (c *limitedConn) SetWriteDeadline(t time.Time) error {
	c.dmu.Lock()
	c.wdl = t
	c.dmu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

func (c *limitedConn) SetDeadline(t time.Time) error {
	c.dmu.Lock()
	c.wdl = t
	c.dmu.Unlock()
	return c.Conn.SetDeadline(t)
}

func (c *limitedConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
