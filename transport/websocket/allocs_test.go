package websocket

import "testing"

// The server's write path (WriteFrame×64 + Flush) allocates nothing once the
// batch pool is warm. The race detector makes sync.Pool drop items at random,
// so this only runs without it.
func TestServerWritePathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	srv, cli, _, _ := pair(t, serverConfig{}, DialOptions{})
	done := discard(cli)
	frame := frameOf(64, 1)
	batch := func() {
		for i := 0; i < benchBatch; i++ {
			if err := srv.WriteFrame(frame); err != nil {
				t.Fatal(err)
			}
		}
		if err := srv.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	batch()
	if a := testing.AllocsPerRun(200, batch); a != 0 {
		t.Fatalf("%.2f allocations per batch of %d frames, want 0", a, benchBatch)
	}
	srv.Close()
	<-done
}
