// Package conformance holds the routes every `sluice serve` offers (see the
// README): echo, error, never, fnf, fnf.count, count, blob, ticks and
// channel.echo. Tests of this and other implementations drive them.
package conformance

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/internal/session"
	"github.com/sluicehq/sluice/router"
)

// State is the per-connection state of the routes; attach one to every
// connection with Attach.
type State struct {
	FNF  atomic.Int64 // fnf requests received
	Push atomic.Int64 // METADATA_PUSH frames received
}

// Attach gives the connection its State; call it from the server's acceptor.
func Attach(c *session.Conn) { c.SetAttachment(&State{}) }

// StateOf returns the State of the connection serving ctx (a throwaway one if none).
func StateOf(ctx context.Context) *State {
	if c := session.FromContext(ctx); c != nil {
		if st, ok := c.Attachment().(*State); ok {
			return st
		}
	}
	return &State{}
}

// Register adds the conformance routes to r.
func Register(r *router.Router) {
	r.Response("echo", func(ctx context.Context, p sluice.Payload) (sluice.Payload, error) {
		return sluice.Payload{Data: p.Data}, nil
	})
	r.Response("error", func(ctx context.Context, p sluice.Payload) (sluice.Payload, error) {
		return sluice.Payload{}, &sluice.Error{Code: sluice.CodeApplicationError, Message: string(p.Data)}
	})
	r.Response("never", func(ctx context.Context, p sluice.Payload) (sluice.Payload, error) {
		<-ctx.Done()
		return sluice.Payload{}, ctx.Err()
	})
	r.FireAndForget("fnf", func(ctx context.Context, p sluice.Payload) {
		StateOf(ctx).FNF.Add(1)
	})
	r.Response("fnf.count", func(ctx context.Context, p sluice.Payload) (sluice.Payload, error) {
		return sluice.Payload{Data: strconv.AppendInt(nil, StateOf(ctx).FNF.Load(), 10)}, nil
	})
	r.MetadataPush(func(ctx context.Context, md []byte) { StateOf(ctx).Push.Add(1) })
	r.Stream("count", Count)
	r.Stream("blob", Blob)
	r.Stream("ticks", Ticks)
	r.Channel("channel.echo", ChannelEcho)
}

// Count emits "0" … "N-1" (unbounded when the data is empty).
func Count(ctx context.Context, p sluice.Payload, out sluice.Sink) error {
	limit := int64(-1)
	if s := strings.TrimSpace(string(p.Data)); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return &sluice.Error{Code: sluice.CodeInvalid, Message: fmt.Sprintf("count: want a decimal N >= 0, got %q", s)}
		}
		limit = n
	}
	var buf [20]byte
	for i := int64(0); limit < 0 || i < limit; i++ {
		if err := out.Send(ctx, sluice.Payload{Data: strconv.AppendInt(buf[:0], i, 10)}); err != nil {
			return err
		}
	}
	return nil
}

// MaxBlob caps the element size of the blob route.
const MaxBlob = 16 << 20

// Blob emits N elements of SIZE bytes; the first 8 bytes are the big-endian sequence number.
func Blob(ctx context.Context, p sluice.Payload, out sluice.Sink) error {
	var n, size int64
	if _, err := fmt.Sscanf(string(p.Data), "%d %d", &n, &size); err != nil || n < 0 || size < 0 || size > MaxBlob {
		return &sluice.Error{Code: sluice.CodeInvalid, Message: fmt.Sprintf("blob: want \"N SIZE\" with SIZE <= %d, got %q", MaxBlob, p.Data)}
	}
	buf := make([]byte, max(size, 8))
	for i := range buf {
		buf[i] = byte(i)
	}
	for i := int64(0); i < n; i++ {
		binary.BigEndian.PutUint64(buf, uint64(i))
		if err := out.Send(ctx, sluice.Payload{Data: buf[:size]}); err != nil {
			return err
		}
	}
	return nil
}

// Ticks emits "SEQ UNIXNANO" forever, making each element only once it holds credit.
func Ticks(ctx context.Context, p sluice.Payload, out sluice.Sink) error {
	var buf []byte
	for seq := int64(0); ; seq++ {
		if err := out.Wait(ctx); err != nil {
			return err
		}
		buf = strconv.AppendInt(buf[:0], seq, 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, time.Now().UnixNano(), 10)
		if err := out.Send(ctx, sluice.Payload{Data: buf}); err != nil {
			return err
		}
	}
}

// ChannelEcho echoes every inbound element, the first included, in order.
func ChannelEcho(ctx context.Context, p sluice.Payload, in sluice.Stream, out sluice.Sink) error {
	if err := out.Send(ctx, sluice.Payload{Data: p.Data, Metadata: nil}); err != nil {
		return err
	}
	for {
		e, err := in.Recv(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := out.Send(ctx, sluice.Payload{Data: e.Data}); err != nil {
			return err
		}
	}
}
