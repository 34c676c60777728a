package demo

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice"
)

// Element sizes accepted by demo.feed and /raw; requests outside are clamped.
const (
	MinElement     = 16
	MaxElement     = 1 << 20
	DefaultElement = 1024
)

// ParseSize reads an element size ("" = DefaultElement), clamped to
// [MinElement, MaxElement].
func ParseSize(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultElement, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("element size: want a decimal number of bytes, got %q", s)
	}
	return min(max(n, MinElement), MaxElement), nil
}

// MakeElement fills buf (len(buf) >= MinElement) as one demo element: the
// big-endian sequence number in bytes 0–7, the server's clock at the moment
// it was made (Unix nanoseconds, big-endian) in bytes 8–15, then padding.
func MakeElement(buf []byte, seq uint64, now time.Time) {
	binary.BigEndian.PutUint64(buf, seq)
	binary.BigEndian.PutUint64(buf[8:], uint64(now.UnixNano()))
}

// Feed is the demo.feed route (request-stream): request data is the element
// size in bytes (decimal, default 1024). It makes an element only when it
// holds credit for it — Wait, then make, then Send — so the elements produced
// are never more than the requester asked for, and the timestamp inside
// each is the moment it was made.
func Feed(ctx context.Context, p sluice.Payload, out sluice.Sink) error {
	size, err := ParseSize(string(p.Data))
	if err != nil {
		return &sluice.Error{Code: sluice.CodeInvalid, Message: "demo.feed: " + err.Error()}
	}
	buf := make([]byte, size)
	for i := 16; i < size; i++ {
		buf[i] = byte(i)
	}
	for seq := uint64(0); ; seq++ {
		if err := out.Wait(ctx); err != nil {
			return err
		}
		MakeElement(buf, seq, time.Now())
		if err := out.Send(ctx, sluice.Payload{Data: buf}); err != nil {
			return err
		}
	}
}
