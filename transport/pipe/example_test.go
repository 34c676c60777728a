package pipe_test

import (
	"fmt"

	"github.com/sluicehq/sluice/transport/pipe"
)

// Frames cross at Flush; a Recorder sees them on the wire.
func Example() {
	var rec pipe.Recorder
	client, server := pipe.New(pipe.Options{Capacity: 1 << 10, Tap: rec.Tap})
	defer client.Close()
	defer server.Close()

	client.WriteFrame([]byte("request"))
	fmt.Println(len(rec.Frames(pipe.AToB)), "frames on the wire before Flush")
	client.Flush()

	f, _ := server.ReadFrame()
	fmt.Printf("server read %q; wire a->b: %q\n", f, rec.Frames(pipe.AToB))
	// Output:
	// 0 frames on the wire before Flush
	// server read "request"; wire a->b: ["request"]
}
