package session_test

import (
	"context"
	"encoding/hex"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/session"
	"github.com/sluicehq/sluice/protocol"
	"github.com/sluicehq/sluice/transport/pipe"
)

// FuzzServerInput feeds a server connection arbitrary frames after a valid
// SETUP (or instead of it): whatever arrives, the engine must not panic or
// hang, and must end every stream and goroutine when the peer goes away.
// The input is a sequence of frames, each preceded by a one-byte length.
func FuzzServerInput(f *testing.F) {
	setup := protocol.AppendSetup(nil, 1000, 5000, nil, false, "text/plain", "text/plain", nil, nil)
	frames := [][]byte{
		protocol.AppendRequestWithN(nil, protocol.TypeRequestStream, 1, 0, 3, nil, []byte("s")),
		protocol.AppendRequestN(nil, 1, 2),
		protocol.AppendCancel(nil, 1),
		protocol.AppendRequest(nil, protocol.TypeRequestResponse, 3, 0, []byte("m"), []byte("r")),
		protocol.AppendRequestWithN(nil, protocol.TypeRequestChannel, 5, 0, 2, nil, []byte("c")),
		protocol.AppendPayload(nil, 5, protocol.FlagNext, nil, []byte("x")),
		protocol.AppendPayload(nil, 5, protocol.FlagComplete, nil, nil),
		protocol.AppendRequestWithN(nil, protocol.TypeRequestStream, 7, protocol.FlagFollows, 1, []byte("md"), []byte("a")),
		protocol.AppendPayload(nil, 7, protocol.FlagNext, nil, []byte("b")),
		protocol.AppendKeepalive(nil, true, 0, []byte("k")),
		protocol.AppendMetadataPush(nil, []byte("p")),
		protocol.AppendError(nil, 9, protocol.ErrApplicationError, "e"),
		protocol.AppendRequest(nil, protocol.TypeRequestFNF, 11, 0, nil, []byte("f")),
	}
	seed := func(fs ...[]byte) []byte {
		var b []byte
		for _, fr := range fs {
			b = append(b, byte(len(fr)))
			b = append(b, fr...)
		}
		return b
	}
	f.Add(seed(append([][]byte{setup}, frames...)...))
	f.Add(seed(frames...))
	for _, h := range []string{"000000000400", "ff", "0000000110006869", "00000001" + "8000", "00000001" + "1100" + "0000ff" + "6869"} {
		b, _ := hex.DecodeString(h)
		f.Add(seed(setup, b))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) {
			a, b := pipe.New(pipe.Options{})
			h := &sluice.Handlers{
				RequestResponse: func(ctx context.Context, p sluice.Payload) (sluice.Payload, error) { return p, nil },
				FireAndForget:   func(ctx context.Context, p sluice.Payload) {},
				RequestStream: func(ctx context.Context, p sluice.Payload, out sluice.Sink) error {
					for range 5 {
						if err := out.Send(ctx, p); err != nil {
							return err
						}
					}
					return nil
				},
				RequestChannel: func(ctx context.Context, p sluice.Payload, in sluice.Stream, out sluice.Sink) error {
					for _, err := range in.All(ctx) {
						if err != nil {
							return err
						}
						if err := out.Send(ctx, p); err != nil {
							return err
						}
					}
					return nil
				},
				MetadataPush: func(ctx context.Context, md []byte) {},
			}
			done := make(chan *session.Conn, 1)
			go func() {
				c, _ := session.Accept(context.Background(), b, session.Config{Handlers: h}, nil)
				done <- c
			}()
			go func() { // the peer reads (and drops) whatever the server says
				for {
					if _, err := a.ReadFrame(); err != nil {
						return
					}
				}
			}()
			for len(data) > 0 {
				n := int(data[0])
				data = data[1:]
				n = min(n, len(data))
				a.WriteFrame(data[:n])
				data = data[n:]
			}
			a.Flush()
			time.Sleep(100 * time.Millisecond)
			a.Close()
			if c := <-done; c != nil {
				c.Wait()
			}
		})
	})
}
