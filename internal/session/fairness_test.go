package session_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/session"
	"github.com/sluicehq/sluice/protocol"
	"github.com/sluicehq/sluice/transport/pipe"
)

// Fairness on a bottleneck, in virtual time: the client's end of the pipe
// drains at a fixed byte rate (a slow network), so the rates below are exact
// and the test measures the scheduler and flow control, not the machine.

// blobs is a handler that sends 1 KiB elements forever.
var blobs = &sluice.Handlers{RequestStream: func(ctx context.Context, _ sluice.Payload, out sluice.Sink) error {
	buf := make([]byte, 1024)
	for {
		if err := out.Send(ctx, sluice.Payload{Data: buf}); err != nil {
			return err
		}
	}
}}

// consume takes elements from s, one per period (0 = as fast as they come),
// until ctx ends, and returns how many it took.
func consume(ctx context.Context, s sluice.Stream, period time.Duration) int {
	n := 0
	for {
		if _, err := s.Recv(ctx); err != nil {
			return n
		}
		n++
		if period > 0 {
			select {
			case <-time.After(period):
			case <-ctx.Done():
				return n
			}
		}
	}
}

const netRate = 1 << 20 // bytes per second at the client's end of the pipe

func TestFairnessFastBesideSlowStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t, blobs, session.Config{}, pipe.Options{Capacity: 16 << 10})
		e.a.SetReadRate(netRate)
		run := func(withSlow bool) (fast, slow int) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			if withSlow {
				s, _ := e.cli.RequestStream(ctx, sluice.Text("slow"), session.Policy{Prefetch: 256})
				wg.Add(1)
				go func() { defer wg.Done(); slow = consume(ctx, s, 100*time.Millisecond) }()
			}
			f, _ := e.cli.RequestStream(ctx, sluice.Text("fast"), session.Policy{Prefetch: 256})
			fast = consume(ctx, f, 0)
			wg.Wait()
			return fast, slow
		}
		solo, _ := run(false)
		fast, slow := run(true)
		ratio := float64(fast) / float64(solo)
		t.Logf("over a %d B/s link: fast stream alone %d elements in 10 s; beside a 10/s consumer %d (%.3f), slow took %d",
			netRate, solo, fast, ratio, slow)
		if solo < 9000 {
			t.Fatalf("fast stream alone took only %d elements over a link for ~10000", solo)
		}
		if ratio < 0.9 {
			t.Fatalf("the fast stream kept %.2f of its solo rate beside a slow stream", ratio)
		}
		if slow < 90 || slow > 101 {
			t.Fatalf("slow stream took %d, want ~100", slow)
		}
	})
}

func TestFairnessTenConnectionsOneStalled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &session.Metrics{}
		cfg := session.Config{Metrics: m, WriteTimeout: time.Hour}
		var envs []*env
		for range 10 {
			e := start(t, blobs, cfg, pipe.Options{Capacity: 16 << 10})
			e.a.SetReadRate(netRate)
			envs = append(envs, e)
		}
		run := func(stalled bool) int {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if stalled {
				envs[9].a.SetReadPaused(true)
				s, _ := envs[9].cli.RequestStream(ctx, sluice.Text("stalled"), session.Policy{Prefetch: protocol.MaxN})
				defer s.Cancel()
			}
			var mu sync.Mutex
			total := 0
			var wg sync.WaitGroup
			for _, e := range envs[:9] {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s, _ := e.cli.RequestStream(ctx, sluice.Text("x"), session.Policy{Prefetch: 256})
					n := consume(ctx, s, 0)
					mu.Lock()
					total += n
					mu.Unlock()
				}()
			}
			wg.Wait()
			return total
		}
		alone := run(false)
		beside := run(true)
		queued := envs[9].srv.Stats().QueuedBytes
		ratio := float64(beside) / float64(alone)
		t.Logf("nine connections: %d elements alone, %d beside a stalled tenth (%.3f); the stalled one holds %d queued bytes", alone, beside, ratio, queued)
		if ratio < 0.8 {
			t.Fatalf("a stalled connection cost the other nine %.0f%%", 100*(1-ratio))
		}
		if queued > session.DefaultConnBudget+64<<10 {
			t.Fatalf("the stalled connection holds %d queued bytes, budget %d", queued, session.DefaultConnBudget)
		}
		envs[9].a.SetReadPaused(false)
	})
}
