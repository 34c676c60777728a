// Package fragment splits one logical REQUEST_* or PAYLOAD frame into frames
// no larger than an MTU, and joins such fragments back with a size cap
// (rsocket-digest.md, section 13). It does no I/O and starts no goroutines;
// a Reassembler belongs to one stream and to whoever holds that stream's lock.
//
// Fragment layout, as rsocket-java writes it:
//   - metadata goes out completely before data; every fragment that still
//     carries metadata has M and a u24 length for its own metadata bytes;
//     present-but-empty metadata gives the first fragment M with length 0;
//   - the first fragment keeps the original type, flags and initial request N;
//     the following fragments are PAYLOAD frames with N set;
//   - every fragment but the last has F; C (when the logical frame has it)
//     goes on the last fragment only.
package fragment

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/protocol"
)

// MinMTU is the smallest MTU that interoperates: rsocket-java rejects
// non-final fragments under 61 bytes.
const MinMTU = 64

// minMTU is the smallest MTU Append honours: with it, every fragment, even a
// first REQUEST_STREAM fragment with metadata (13 bytes of overhead), carries
// at least one byte. Smaller values are raised to it.
const minMTU = protocol.HeaderLen + 4 + 3 + 1

// DefaultMax is the reassembly cap New uses when given max <= 0.
const DefaultMax = 16 << 20

// ErrTooLarge is returned by Reassembler.Add when the joined metadata and data
// would exceed the cap.
var ErrTooLarge = errors.New("fragment: reassembled frame exceeds the size limit")

// Size returns the encoded size of the unfragmented frame.
func Size(t protocol.FrameType, md, data []byte) int {
	n := protocol.HeaderLen + len(data)
	if t == protocol.TypeRequestStream || t == protocol.TypeRequestChannel {
		n += 4
	}
	if md != nil {
		n += 3 + len(md)
	}
	return n
}

// Append appends the frames that carry one logical REQUEST_*/PAYLOAD frame so that
// no frame exceeds mtu bytes (mtu >= 64; mtu <= 0 means no fragmentation). Each frame
// is preceded by its length as a 4-byte big-endian integer, so the caller can pop
// frames one at a time from a byte queue. flags are the logical frame's flags
// (N, C; M is derived from md != nil). n is the initial request N (only for
// REQUEST_STREAM/REQUEST_CHANNEL). It returns the new slice and the number of frames.
//
// F and M in flags are ignored (both are derived). An mtu above
// protocol.MaxFrameLen, or mtu <= 0 with a frame that would not fit in
// protocol.MaxFrameLen, fragments at protocol.MaxFrameLen: no frame ever exceeds
// the protocol's limit. An mtu between 1 and 13 is raised to 14, the smallest that
// lets every fragment carry a byte; values under MinMTU are for tests only.
// Append does not allocate when dst has room. It panics when t cannot be
// fragmented (any type but REQUEST_RESPONSE, _FNF, _STREAM, _CHANNEL, PAYLOAD).
func Append(dst []byte, mtu int, t protocol.FrameType, streamID uint32, flags protocol.Flags, n uint32, md, data []byte) ([]byte, int) {
	if !t.IsRequest() && t != protocol.TypePayload {
		panic(fmt.Sprintf("fragment: %v frames cannot be fragmented", t))
	}
	flags &^= protocol.FlagFollows | protocol.FlagMetadata
	if mtu <= 0 || mtu > protocol.MaxFrameLen {
		mtu = protocol.MaxFrameLen
	} else if mtu < minMTU {
		mtu = minMTU
	}
	if Size(t, md, data) <= mtu {
		return appendFrame(dst, t, streamID, flags, n, md, data), 1
	}
	hasN := t == protocol.TypeRequestStream || t == protocol.TypeRequestChannel
	complete := flags & protocol.FlagComplete
	count := 0
	for first := true; ; first = false {
		overhead := protocol.HeaderLen
		if first && hasN {
			overhead += 4
		}
		// M while metadata remains; on the first fragment also for empty metadata.
		withM := md != nil && (len(md) > 0 || first)
		if withM {
			overhead += 3
		}
		room := mtu - overhead
		var mdc []byte
		if withM {
			k := min(room, len(md))
			mdc, md = md[:k], md[k:]
			room -= k
			if len(md) == 0 {
				md = nil // metadata done: no M on later fragments
			}
		}
		k := min(room, len(data))
		dc := data[:k]
		data = data[k:]
		last := md == nil && len(data) == 0
		ft, ff := t, flags&^protocol.FlagComplete
		if !first {
			ft, ff = protocol.TypePayload, protocol.FlagNext
		}
		if last {
			ff |= complete
		} else {
			ff |= protocol.FlagFollows
		}
		dst = appendFrame(dst, ft, streamID, ff, n, mdc, dc)
		count++
		if last {
			return dst, count
		}
	}
}

// appendFrame appends one length-prefixed frame.
func appendFrame(dst []byte, t protocol.FrameType, streamID uint32, flags protocol.Flags, n uint32, md, data []byte) []byte {
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	switch t {
	case protocol.TypeRequestStream, protocol.TypeRequestChannel:
		dst = protocol.AppendRequestWithN(dst, t, streamID, flags, n, md, data)
	case protocol.TypePayload:
		dst = protocol.AppendPayload(dst, streamID, flags, md, data)
	default:
		dst = protocol.AppendRequest(dst, t, streamID, flags, md, data)
	}
	binary.BigEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return dst
}

// Reassembler joins the fragments of one stream. The zero value is unusable;
// use New. It is not safe for concurrent use; the stream's owner locks.
type Reassembler struct {
	max    int
	active bool
	first  protocol.Frame // header fields of the first fragment (no slices)
	hasMD  bool
	md     []byte
	data   []byte
}

// New returns a Reassembler that gives up on a sequence once its metadata plus
// data would exceed max bytes (max <= 0: DefaultMax).
func New(max int) *Reassembler {
	if max <= 0 {
		max = DefaultMax
	}
	return &Reassembler{max: max}
}

// InProgress reports whether a sequence has begun and not yet ended.
func (r *Reassembler) InProgress() bool { return r.active }

// Reset abandons the sequence in progress, if any, and releases its buffers.
func (r *Reassembler) Reset() {
	*r = Reassembler{max: r.max}
}

// Add takes the next frame of a stream (f.Flags has F, or a reassembly is in progress).
// When the logical frame is complete, it returns done=true and the joined frame:
// Type/N/flags from the first fragment, C from the last, Metadata (nil if no fragment
// had M) and Data in freshly allocated memory owned by the caller. err is non-nil
// (ErrTooLarge or a protocol error) when the sequence must be abandoned; the
// Reassembler is then reset.
//
// A sequence starts with a REQUEST_* or PAYLOAD frame and continues with PAYLOAD
// frames of the same stream; it ends with a fragment without F, or with one that
// has C (PAYLOAD or REQUEST_CHANNEL: F is then ignored). The N flag of follow-up
// fragments is ignored. A fragment with non-empty metadata after data has begun
// is a protocol error, and so is any other frame type: CANCEL, ERROR and
// REQUEST_N are for the caller to handle (a CANCEL or ERROR ends the stream, so
// the caller drops the Reassembler or calls Reset). Protocol errors are
// *protocol.Error values. A frame without F while no sequence is in progress is
// returned at once as a complete frame (copied).
func (r *Reassembler) Add(f *protocol.Frame) (out protocol.Frame, done bool, err error) {
	if !r.active {
		if !f.Type.IsRequest() && f.Type != protocol.TypePayload {
			return out, false, r.fail(f, "frame cannot start a fragment sequence")
		}
		r.active = true
		r.first = protocol.Frame{StreamID: f.StreamID, Type: f.Type, Flags: f.Flags, N: f.N}
	} else {
		if f.Type != protocol.TypePayload {
			return out, false, r.fail(f, "fragment sequence continued by a frame that is not PAYLOAD")
		}
		if f.StreamID != r.first.StreamID {
			return out, false, r.fail(f, fmt.Sprintf("fragment for stream %d in a sequence of stream %d", f.StreamID, r.first.StreamID))
		}
	}
	if f.HasMetadata() {
		if len(r.data) > 0 && len(f.Metadata) > 0 {
			return out, false, r.fail(f, "metadata fragment after data")
		}
		r.hasMD = true
	}
	if len(r.md)+len(r.data)+len(f.Metadata)+len(f.Data) > r.max {
		r.Reset()
		return out, false, ErrTooLarge
	}
	r.md = append(r.md, f.Metadata...)
	r.data = append(r.data, f.Data...)
	last := !f.Flags.Has(protocol.FlagFollows)
	if f.Type == protocol.TypePayload || f.Type == protocol.TypeRequestChannel {
		last = last || f.Flags.Has(protocol.FlagComplete)
	}
	if !last {
		return out, false, nil
	}
	out = r.first
	out.Flags &^= protocol.FlagFollows | protocol.FlagComplete | protocol.FlagMetadata
	out.Flags |= f.Flags & protocol.FlagComplete
	if r.hasMD {
		out.Flags |= protocol.FlagMetadata
		out.Metadata = r.md
		if out.Metadata == nil {
			out.Metadata = []byte{}
		}
	}
	out.Data = r.data
	if out.Data == nil {
		out.Data = []byte{}
	}
	r.Reset()
	return out, true, nil
}

func (r *Reassembler) fail(f *protocol.Frame, reason string) error {
	r.Reset()
	return &protocol.Error{Type: f.Type, StreamID: f.StreamID, Reason: reason}
}
