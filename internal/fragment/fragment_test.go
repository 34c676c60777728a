package fragment_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"go.uber.org/goleak"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/fragment"
	"github.com/sluicehq/sluice/protocol"
)

// split pops the length-prefixed frames Append wrote.
func split(t testing.TB, q []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(q) > 0 {
		if len(q) < 4 {
			t.Fatalf("%d stray bytes", len(q))
		}
		n := int(binary.BigEndian.Uint32(q))
		if len(q) < 4+n {
			t.Fatalf("prefix %d, %d bytes left", n, len(q)-4)
		}
		out = append(out, q[4:4+n])
		q = q[4+n:]
	}
	return out
}

func decode(t testing.TB, wire []byte) protocol.Frame {
	t.Helper()
	f, err := protocol.Decode(wire)
	if err != nil {
		t.Fatalf("Decode(%x): %v", wire, err)
	}
	return f
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	p, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The digest's fragment vector (section 18): REQUEST_STREAM n=3, md "abcd", data "wxyz".
var digestFrames = []string{"000000011980000000030000026162", "0000000129a000000263647778", "000000012820797a"}

func TestDigestVectorReassembles(t *testing.T) {
	r := fragment.New(64)
	for i, h := range digestFrames {
		f := decode(t, mustHex(t, h))
		out, done, err := r.Add(&f)
		if err != nil {
			t.Fatalf("fragment %d: %v", i, err)
		}
		if done != (i == len(digestFrames)-1) {
			t.Fatalf("fragment %d: done=%v", i, done)
		}
		if done {
			if out.Type != protocol.TypeRequestStream || out.StreamID != 1 || out.N != 3 ||
				string(out.Metadata) != "abcd" || string(out.Data) != "wxyz" ||
				out.Flags != protocol.FlagMetadata {
				t.Fatalf("joined %v md=%q data=%q", &out, out.Metadata, out.Data)
			}
		}
	}
	if r.InProgress() {
		t.Fatal("still in progress")
	}
}

// TestDigestVectorMTU: the digest says the three frames were made with MTU 13,
// but no MTU gives exactly them when "no frame exceeds mtu" and fragments are
// filled greedily: the first frame is 15 bytes (so mtu >= 15), while the second
// is 13 bytes and stops before "yz", which would have fitted in 15. MTU 15 gives
// the digest's first frame and then one final PAYLOAD with the rest; that is the
// vector we hold Append to. (The three digest frames are still a valid sequence:
// see TestDigestVectorReassembles.)
func TestDigestVectorMTU(t *testing.T) {
	want := []string{digestFrames[0], "000000012920" + "000002" + "6364" + "7778797a"}
	q, n := fragment.Append(nil, 15, protocol.TypeRequestStream, 1, 0, 3, []byte("abcd"), []byte("wxyz"))
	frames := split(t, q)
	if n != len(frames) || n != len(want) {
		t.Fatalf("n=%d, %d frames, want %d", n, len(frames), len(want))
	}
	for i := range want {
		if got := hex.EncodeToString(frames[i]); got != want[i] {
			t.Errorf("frame %d = %s, want %s", i, got, want[i])
		}
	}
	for mtu := 1; mtu <= 64; mtu++ {
		q, _ := fragment.Append(nil, mtu, protocol.TypeRequestStream, 1, 0, 3, []byte("abcd"), []byte("wxyz"))
		var got []string
		for _, f := range split(t, q) {
			got = append(got, hex.EncodeToString(f))
		}
		if strings.Join(got, "/") == strings.Join(digestFrames, "/") {
			t.Errorf("mtu %d reproduces the digest frames; update the comment above", mtu)
		}
	}
	// MTU 13 is below the floor of 14 (13 bytes of overhead on this first fragment).
	q13, _ := fragment.Append(nil, 13, protocol.TypeRequestStream, 1, 0, 3, []byte("abcd"), []byte("wxyz"))
	q14, _ := fragment.Append(nil, 14, protocol.TypeRequestStream, 1, 0, 3, []byte("abcd"), []byte("wxyz"))
	if !bytes.Equal(q13, q14) {
		t.Error("mtu 13 is not raised to 14")
	}
	for _, f := range split(t, q14) {
		if len(f) > 14 {
			t.Errorf("mtu 14: frame of %d bytes", len(f))
		}
	}
}

type logical struct {
	t     protocol.FrameType
	flags protocol.Flags
	n     uint32
	md    []byte
	data  []byte
}

// checkFragments checks the frames of one logical frame against the rules of
// section 13 and returns them decoded.
func checkFragments(t *testing.T, l logical, mtu int, q []byte, count int) []protocol.Frame {
	t.Helper()
	wires := split(t, q)
	if len(wires) != count {
		t.Fatalf("count %d, %d frames", count, len(wires))
	}
	eff := mtu
	if mtu <= 0 {
		eff = protocol.MaxFrameLen
	}
	frames := make([]protocol.Frame, len(wires))
	var mdSoFar, dataSoFar []byte
	mdDone := l.md == nil
	for i, w := range wires {
		f := decode(t, w)
		frames[i] = f
		last := i == len(wires)-1
		if len(w) > eff {
			t.Fatalf("frame %d: %d bytes > mtu %d", i, len(w), eff)
		}
		if !last && len(w) != eff {
			t.Fatalf("non-final frame %d: %d bytes, want exactly %d", i, len(w), eff)
		}
		if f.StreamID != 9 {
			t.Fatalf("frame %d on stream %d", i, f.StreamID)
		}
		if i == 0 {
			if f.Type != l.t || f.N != l.n&protocol.MaxN {
				t.Fatalf("first frame %v n=%d", f.Type, f.N)
			}
			if f.Flags&protocol.FlagNext != l.flags&protocol.FlagNext {
				t.Fatalf("first frame flags %#x, logical %#x", f.Flags, l.flags)
			}
		} else if f.Type != protocol.TypePayload || !f.Flags.Has(protocol.FlagNext) {
			t.Fatalf("follow-up %d: %v flags %#x", i, f.Type, f.Flags)
		}
		if f.Flags.Has(protocol.FlagFollows) == last {
			t.Fatalf("frame %d of %d: F=%v", i, len(wires), !last)
		}
		if f.Flags.Has(protocol.FlagComplete) != (last && l.flags.Has(protocol.FlagComplete)) {
			t.Fatalf("frame %d: C=%v", i, f.Flags.Has(protocol.FlagComplete))
		}
		if f.HasMetadata() {
			if mdDone && !(i == 0 && len(l.md) == 0 && l.md != nil) {
				t.Fatalf("frame %d: M after the metadata was complete", i)
			}
			mdSoFar = append(mdSoFar, f.Metadata...)
			if len(mdSoFar) == len(l.md) {
				mdDone = true
			}
		} else if !mdDone {
			t.Fatalf("frame %d: no M while %d metadata bytes remain", i, len(l.md)-len(mdSoFar))
		}
		if len(f.Data) > 0 && !mdDone {
			t.Fatalf("frame %d: data before the metadata was complete", i)
		}
		dataSoFar = append(dataSoFar, f.Data...)
	}
	if l.md != nil && !frames[0].HasMetadata() {
		t.Fatal("metadata present but the first frame has no M")
	}
	if !bytes.Equal(mdSoFar, l.md) || !bytes.Equal(dataSoFar, l.data) {
		t.Fatal("fragments do not add up to the logical frame")
	}
	return frames
}

func reassemble(t *testing.T, r *fragment.Reassembler, frames []protocol.Frame) protocol.Frame {
	t.Helper()
	for i := range frames {
		if i == 0 && !frames[0].Flags.Has(protocol.FlagFollows) {
			return frames[0] // the engine does not call Add for an unfragmented frame
		}
		out, done, err := r.Add(&frames[i])
		if err != nil {
			t.Fatalf("Add fragment %d: %v", i, err)
		}
		if done != (i == len(frames)-1) {
			t.Fatalf("Add fragment %d of %d: done=%v", i, len(frames), done)
		}
		if done {
			return out
		}
	}
	t.Fatal("no frames")
	return protocol.Frame{}
}

func TestRoundTripSizesAndMTUs(t *testing.T) {
	pattern := make([]byte, 2000)
	for i := range pattern {
		pattern[i] = byte(i*7 + i>>8)
	}
	types := []logical{
		{t: protocol.TypeRequestResponse},
		{t: protocol.TypeRequestFNF},
		{t: protocol.TypeRequestStream, n: 3},
		{t: protocol.TypeRequestStream, n: protocol.MaxN},
		{t: protocol.TypeRequestChannel, n: 1, flags: protocol.FlagComplete},
		{t: protocol.TypeRequestChannel, n: 5},
		{t: protocol.TypePayload, flags: protocol.FlagNext},
		{t: protocol.TypePayload, flags: protocol.FlagNext | protocol.FlagComplete},
		{t: protocol.TypePayload, flags: protocol.FlagComplete},
	}
	mdSizes := []int{-1, 0, 1, 2, 50, 51, 52, 53, 54, 55, 56, 57, 58, 64, 65, 127, 300, 1999}
	dataSizes := []int{0, 1, 2, 49, 50, 51, 54, 55, 58, 59, 64, 200, 2000}
	mtus := []int{0, 14, 15, 16, 20, 64, 65, 100, 128, 1 << 20}
	r := fragment.New(1 << 20)
	cases := 0
	for _, base := range types {
		for _, ms := range mdSizes {
			for _, ds := range dataSizes {
				for _, mtu := range mtus {
					l := base
					if ms >= 0 {
						l.md = pattern[len(pattern)-ms:]
					}
					l.data = pattern[:ds]
					q, count := fragment.Append(nil, mtu, l.t, 9, l.flags, l.n, l.md, l.data)
					name := fmt.Sprintf("%v flags=%#x md=%d data=%d mtu=%d", l.t, l.flags, ms, ds, mtu)
					t.Run(name, func(t *testing.T) {
						frames := checkFragments(t, l, mtu, q, count)
						if mtu == 0 && count != 1 {
							t.Fatalf("mtu 0 gave %d frames", count)
						}
						out := reassemble(t, r, frames)
						if r.InProgress() {
							t.Fatal("still in progress")
						}
						if out.Type != l.t || out.N != l.n || out.StreamID != 9 {
							t.Fatalf("joined %v", &out)
						}
						want := l.flags
						if l.md != nil {
							want |= protocol.FlagMetadata
						}
						if out.Flags != want {
							t.Fatalf("joined flags %#x, want %#x", out.Flags, want)
						}
						if (out.Metadata == nil) != (l.md == nil) || !bytes.Equal(out.Metadata, l.md) || !bytes.Equal(out.Data, l.data) {
							t.Fatalf("joined md %d bytes (nil=%v), data %d bytes", len(out.Metadata), out.Metadata == nil, len(out.Data))
						}
					})
					cases++
				}
			}
		}
	}
	t.Logf("%d cases", cases)
}

func TestAppendKeepsDst(t *testing.T) {
	dst := []byte("prefix")
	q, n := fragment.Append(dst, 64, protocol.TypePayload, 1, protocol.FlagNext, 0, nil, make([]byte, 200))
	if string(q[:6]) != "prefix" || n != 4 {
		t.Fatalf("n=%d prefix=%q", n, q[:6])
	}
	if len(split(t, q[6:])) != n {
		t.Fatal("count")
	}
	// F and M passed in flags are ignored.
	a, _ := fragment.Append(nil, 0, protocol.TypePayload, 1, protocol.FlagNext|protocol.FlagFollows|protocol.FlagMetadata, 0, nil, []byte("x"))
	if f := decode(t, a[4:]); f.Flags != protocol.FlagNext {
		t.Fatalf("flags %#x", f.Flags)
	}
}

func TestAppendPanicsOnUnfragmentableType(t *testing.T) {
	for _, typ := range []protocol.FrameType{protocol.TypeSetup, protocol.TypeRequestN, protocol.TypeError, protocol.TypeExt} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%v did not panic", typ)
				}
			}()
			fragment.Append(nil, 64, typ, 1, 0, 0, nil, nil)
		}()
	}
}

// TestMaxFrameLen: no frame exceeds the protocol limit, whatever the mtu.
func TestMaxFrameLen(t *testing.T) {
	if testing.Short() {
		t.Skip("32 MiB")
	}
	data := make([]byte, protocol.MaxFrameLen+100)
	for _, mtu := range []int{0, protocol.MaxFrameLen + 1000} {
		q, n := fragment.Append(nil, mtu, protocol.TypePayload, 1, protocol.FlagNext, 0, []byte("m"), data)
		frames := split(t, q)
		if n != 2 || len(frames) != 2 || len(frames[0]) != protocol.MaxFrameLen {
			t.Fatalf("mtu %d: %d frames, first %d bytes", mtu, n, len(frames[0]))
		}
	}
}

func TestInterleavedStreams(t *testing.T) {
	mdA, dataA := bytes.Repeat([]byte("A"), 150), bytes.Repeat([]byte("a"), 400)
	mdB, dataB := []byte(nil), bytes.Repeat([]byte("b"), 500)
	qa, na := fragment.Append(nil, 64, protocol.TypeRequestChannel, 1, protocol.FlagComplete, 7, mdA, dataA)
	qb, nb := fragment.Append(nil, 70, protocol.TypePayload, 2, protocol.FlagNext, 0, mdB, dataB)
	fa, fb := split(t, qa), split(t, qb)
	if na < 5 || nb < 5 {
		t.Fatalf("too few fragments: %d %d", na, nb)
	}
	ra, rb := fragment.New(1000), fragment.New(1000)
	var outA, outB *protocol.Frame
	for i := 0; i < max(na, nb); i++ {
		for _, side := range []struct {
			frames [][]byte
			r      *fragment.Reassembler
			out    **protocol.Frame
		}{{fa, ra, &outA}, {fb, rb, &outB}} {
			if i >= len(side.frames) {
				continue
			}
			f := decode(t, side.frames[i])
			out, done, err := side.r.Add(&f)
			if err != nil {
				t.Fatal(err)
			}
			if done {
				*side.out = &out
			}
		}
	}
	if outA == nil || outB == nil {
		t.Fatal("a sequence did not finish")
	}
	if outA.Type != protocol.TypeRequestChannel || outA.N != 7 || !outA.Flags.Has(protocol.FlagComplete) ||
		!bytes.Equal(outA.Metadata, mdA) || !bytes.Equal(outA.Data, dataA) {
		t.Fatalf("stream 1 joined %v", outA)
	}
	if outB.Type != protocol.TypePayload || outB.Metadata != nil || !bytes.Equal(outB.Data, dataB) || outB.Flags != protocol.FlagNext {
		t.Fatalf("stream 2 joined %v", outB)
	}
}

func TestSizeCap(t *testing.T) {
	md, data := bytes.Repeat([]byte("m"), 100), bytes.Repeat([]byte("d"), 100)
	q, _ := fragment.Append(nil, 64, protocol.TypeRequestResponse, 1, 0, 0, md, data)
	frames := split(t, q)
	for _, c := range []struct {
		max  int
		fail bool
	}{{199, true}, {200, false}, {1, true}, {0, false}} { // 0 = DefaultMax
		r := fragment.New(c.max)
		var err error
		done := false
		for _, w := range frames {
			f := decode(t, w)
			_, done, err = r.Add(&f)
			if err != nil {
				break
			}
		}
		if c.fail {
			if !errors.Is(err, fragment.ErrTooLarge) || r.InProgress() {
				t.Errorf("max %d: err=%v inProgress=%v", c.max, err, r.InProgress())
			}
		} else if err != nil || !done {
			t.Errorf("max %d: err=%v done=%v", c.max, err, done)
		}
	}
	// After the cap was hit, the Reassembler starts over with the next sequence.
	r := fragment.New(150)
	for _, w := range frames {
		f := decode(t, w)
		if _, _, err := r.Add(&f); err != nil {
			break
		}
	}
	q2, _ := fragment.Append(nil, 64, protocol.TypePayload, 1, protocol.FlagNext, 0, nil, make([]byte, 100))
	var out protocol.Frame
	for _, w := range split(t, q2) {
		f := decode(t, w)
		var err error
		if out, _, err = r.Add(&f); err != nil {
			t.Fatal(err)
		}
	}
	if len(out.Data) != 100 {
		t.Fatalf("next sequence joined %d bytes", len(out.Data))
	}
}

func frame(typ protocol.FrameType, id uint32, flags protocol.Flags, md, data string) *protocol.Frame {
	f := &protocol.Frame{StreamID: id, Type: typ, Flags: flags, Data: []byte(data)}
	if md != "" || flags.Has(protocol.FlagMetadata) {
		f.Metadata = []byte(md)
		f.Flags |= protocol.FlagMetadata
	}
	return f
}

func TestFollowsAndCompleteIsLast(t *testing.T) {
	F, C, N := protocol.FlagFollows, protocol.FlagComplete, protocol.FlagNext
	// PAYLOAD with F and C as the first frame: complete at once.
	r := fragment.New(100)
	out, done, err := r.Add(frame(protocol.TypePayload, 1, F|C|N, "", "x"))
	if err != nil || !done || out.Flags != C|N || string(out.Data) != "x" || r.InProgress() {
		t.Fatalf("F|C first: %v done=%v err=%v", &out, done, err)
	}
	// F and C on a follow-up: last.
	if _, done, _ := r.Add(frame(protocol.TypeRequestStream, 1, F, "m", "")); done {
		t.Fatal("done after the first fragment")
	}
	out, done, err = r.Add(frame(protocol.TypePayload, 1, F|C|N, "", "d"))
	if err != nil || !done || out.Type != protocol.TypeRequestStream || string(out.Metadata) != "m" || string(out.Data) != "d" {
		t.Fatalf("F|C follow-up: %v done=%v err=%v", &out, done, err)
	}
	// REQUEST_CHANNEL with F and C: last too.
	out, done, err = r.Add(frame(protocol.TypeRequestChannel, 3, F|C, "", "c"))
	if err != nil || !done || out.Flags != C {
		t.Fatalf("REQUEST_CHANNEL F|C: %v done=%v err=%v", &out, done, err)
	}
	// F with C on REQUEST_RESPONSE means nothing: the sequence goes on.
	if _, done, _ := r.Add(frame(protocol.TypeRequestResponse, 5, F|C, "", "a")); done {
		t.Fatal("REQUEST_RESPONSE F|C ended the sequence")
	}
	out, done, _ = r.Add(frame(protocol.TypePayload, 5, N, "", "b"))
	if !done || string(out.Data) != "ab" || out.Type != protocol.TypeRequestResponse {
		t.Fatalf("%v", &out)
	}
	// C comes from the last fragment only; N from the first.
	r.Add(frame(protocol.TypePayload, 1, F, "", "a"))
	out, done, _ = r.Add(frame(protocol.TypePayload, 1, N|C, "", "b"))
	if !done || out.Flags != C {
		t.Fatalf("flags %#x, want C only", out.Flags)
	}
}

func TestMetadataPresence(t *testing.T) {
	F, N := protocol.FlagFollows, protocol.FlagNext
	r := fragment.New(100)
	// Empty metadata on the first fragment: present.
	r.Add(frame(protocol.TypePayload, 1, F|N|protocol.FlagMetadata, "", "a"))
	out, _, _ := r.Add(frame(protocol.TypePayload, 1, N, "", "b"))
	if out.Metadata == nil || len(out.Metadata) != 0 || !out.HasMetadata() {
		t.Fatalf("empty metadata came back as %v", out.Metadata)
	}
	// No M anywhere: nil.
	r.Add(frame(protocol.TypePayload, 1, F|N, "", "a"))
	out, _, _ = r.Add(frame(protocol.TypePayload, 1, N, "", ""))
	if out.Metadata != nil || out.HasMetadata() || string(out.Data) != "a" {
		t.Fatalf("absent metadata came back as %v", out.Metadata)
	}
	// Empty everything: Data is empty, not nil.
	r.Add(frame(protocol.TypePayload, 1, F|N, "", ""))
	out, _, _ = r.Add(frame(protocol.TypePayload, 1, N, "", ""))
	if out.Data == nil {
		t.Fatal("nil Data")
	}
}

func TestProtocolErrors(t *testing.T) {
	F, N := protocol.FlagFollows, protocol.FlagNext
	cases := []struct {
		name   string
		frames []*protocol.Frame
	}{
		{"starts with REQUEST_N", []*protocol.Frame{{StreamID: 1, Type: protocol.TypeRequestN, Flags: F, N: 1}}},
		{"starts with CANCEL", []*protocol.Frame{{StreamID: 1, Type: protocol.TypeCancel}}},
		{"continued by REQUEST_STREAM", []*protocol.Frame{
			frame(protocol.TypeRequestStream, 1, F, "", "a"), frame(protocol.TypeRequestStream, 1, 0, "", "b")}},
		{"continued by CANCEL", []*protocol.Frame{
			frame(protocol.TypePayload, 1, F|N, "", "a"), {StreamID: 1, Type: protocol.TypeCancel}}},
		{"continued by ERROR", []*protocol.Frame{
			frame(protocol.TypePayload, 1, F|N, "", "a"), {StreamID: 1, Type: protocol.TypeError, Data: []byte("x")}}},
		{"other stream", []*protocol.Frame{
			frame(protocol.TypePayload, 1, F|N, "", "a"), frame(protocol.TypePayload, 3, N, "", "b")}},
		{"metadata after data", []*protocol.Frame{
			frame(protocol.TypePayload, 1, F|N, "m", "a"), frame(protocol.TypePayload, 1, F|N, "m", ""),
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := fragment.New(100)
			var err error
			for i, f := range c.frames {
				_, done, e := r.Add(f)
				if done {
					t.Fatalf("frame %d completed the sequence", i)
				}
				if e != nil {
					if i != len(c.frames)-1 {
						t.Fatalf("frame %d: %v", i, e)
					}
					err = e
				}
			}
			var pe *protocol.Error
			if !errors.As(err, &pe) || err.Error() == "" {
				t.Fatalf("err = %v, want *protocol.Error", err)
			}
			if r.InProgress() {
				t.Fatal("in progress after an error")
			}
		})
	}
	// Empty metadata (M, length 0) after data is harmless and accepted.
	r := fragment.New(100)
	r.Add(frame(protocol.TypePayload, 1, F|N, "m", "a"))
	out, done, err := r.Add(frame(protocol.TypePayload, 1, N|protocol.FlagMetadata, "", "b"))
	if err != nil || !done || string(out.Metadata) != "m" || string(out.Data) != "ab" {
		t.Fatalf("%v %v %v", &out, done, err)
	}
}

func TestSingleFrameAndOwnership(t *testing.T) {
	r := fragment.New(100)
	in := frame(protocol.TypePayload, 1, protocol.FlagNext, "md", "data")
	out, done, err := r.Add(in)
	if err != nil || !done || string(out.Data) != "data" || string(out.Metadata) != "md" {
		t.Fatalf("%v %v %v", &out, done, err)
	}
	in.Data[0], in.Metadata[0] = 'X', 'X'
	if string(out.Data) != "data" || string(out.Metadata) != "md" {
		t.Fatal("output aliases the input frame")
	}
	// Two sequences in a row do not share memory.
	q, _ := fragment.Append(nil, 20, protocol.TypePayload, 1, protocol.FlagNext, 0, nil, []byte("0123456789abcdefghij"))
	var outs []protocol.Frame
	for range 2 {
		for _, w := range split(t, q) {
			f := decode(t, w)
			if o, done, _ := r.Add(&f); done {
				outs = append(outs, o)
			}
		}
	}
	outs[0].Data[0] = 'X'
	if outs[1].Data[0] != '0' || len(outs) != 2 {
		t.Fatal("sequences share memory")
	}
	// Reset abandons a sequence.
	r.Add(frame(protocol.TypePayload, 1, protocol.FlagFollows|protocol.FlagNext, "", "a"))
	r.Reset()
	if r.InProgress() {
		t.Fatal("in progress after Reset")
	}
}

func TestAppendAllocs(t *testing.T) {
	md, data := make([]byte, 100), make([]byte, 5000)
	buf := make([]byte, 0, 8192)
	if a := testing.AllocsPerRun(100, func() {
		buf, _ = fragment.Append(buf[:0], 1024, protocol.TypeRequestChannel, 1, protocol.FlagComplete, 8, md, data)
	}); a != 0 {
		t.Fatalf("Append: %v allocs with room in dst", a)
	}
}

// ---- fuzz ---------------------------------------------------------------------

// FuzzAdd feeds arbitrary frames to a Reassembler the way the engine does (a
// frame with F, or any frame while a sequence is in progress). The input is a
// list of frames, each behind a one-byte length.
func FuzzAdd(f *testing.F) {
	seed := func(q []byte) []byte {
		var in []byte
		for len(q) > 0 {
			n := int(binary.BigEndian.Uint32(q))
			if n > 255 {
				return in
			}
			in = append(in, byte(n))
			in = append(in, q[4:4+n]...)
			q = q[4+n:]
		}
		return in
	}
	q, _ := fragment.Append(nil, 20, protocol.TypeRequestStream, 1, 0, 3, []byte("metadata!"), []byte("some data here"))
	f.Add(seed(q))
	q, _ = fragment.Append(nil, 16, protocol.TypePayload, 1, protocol.FlagNext|protocol.FlagComplete, 0, []byte{}, []byte("0123456789"))
	f.Add(seed(q))
	var digest []byte
	for _, h := range digestFrames {
		p := mustHex(f, h)
		digest = append(append(digest, byte(len(p))), p...)
	}
	f.Add(digest)
	const max = 64
	f.Fuzz(func(t *testing.T, in []byte) {
		r := fragment.New(max)
		for len(in) > 0 {
			n := int(in[0])
			in = in[1:]
			if n > len(in) {
				n = len(in)
			}
			fr, err := protocol.Decode(in[:n])
			in = in[n:]
			if err != nil || !(fr.Flags.Has(protocol.FlagFollows) || r.InProgress()) {
				continue
			}
			mdBefore := fr.HasMetadata()
			out, done, err := r.Add(&fr)
			if err != nil {
				if r.InProgress() {
					t.Fatal("in progress after an error")
				}
				var pe *protocol.Error
				if !errors.Is(err, fragment.ErrTooLarge) && !errors.As(err, &pe) {
					t.Fatalf("unexpected error %T %v", err, err)
				}
				continue
			}
			if done {
				if r.InProgress() {
					t.Fatal("in progress after done")
				}
				if len(out.Metadata)+len(out.Data) > max {
					t.Fatalf("joined %d bytes over the cap", len(out.Metadata)+len(out.Data))
				}
				if out.HasMetadata() != (out.Metadata != nil) || out.Data == nil {
					t.Fatalf("M=%v metadata nil=%v data nil=%v", out.HasMetadata(), out.Metadata == nil, out.Data == nil)
				}
				if out.Flags.Has(protocol.FlagFollows) {
					t.Fatal("joined frame has F")
				}
				if mdBefore && !out.HasMetadata() {
					t.Fatal("metadata lost")
				}
				// The joined frame encodes and decodes.
				if _, err := protocol.Decode(out.Append(nil)); err != nil {
					t.Fatalf("joined frame does not re-encode: %v", err)
				}
			} else if !r.InProgress() {
				t.Fatal("not done and not in progress")
			}
		}
	})
}

// FuzzRoundTrip: whatever the sizes, MTU and flags, Append's frames join back.
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint16(4), uint16(4), uint16(15), uint8(2), true, uint16(0))
	f.Add(uint16(0), uint16(300), uint16(64), uint8(4), false, uint16(0x40))
	f.Add(uint16(500), uint16(0), uint16(0), uint8(3), true, uint16(0x60))
	types := []protocol.FrameType{protocol.TypeRequestResponse, protocol.TypeRequestFNF,
		protocol.TypeRequestStream, protocol.TypeRequestChannel, protocol.TypePayload}
	f.Fuzz(func(t *testing.T, mdLen, dataLen, mtu uint16, ti uint8, hasMD bool, flagBits uint16) {
		l := logical{t: types[int(ti)%len(types)], flags: protocol.Flags(flagBits) & (protocol.FlagNext | protocol.FlagComplete)}
		if l.t == protocol.TypeRequestStream || l.t == protocol.TypeRequestChannel {
			l.n = uint32(mdLen)<<8 | 1
		}
		if l.t != protocol.TypePayload {
			l.flags &^= protocol.FlagNext
			if l.t != protocol.TypeRequestChannel {
				l.flags = 0
			}
		}
		if hasMD {
			l.md = bytes.Repeat([]byte{'m'}, int(mdLen%4096))
		}
		l.data = bytes.Repeat([]byte{'d'}, int(dataLen%8192))
		m := int(mtu % 2048)
		q, n := fragment.Append(nil, m, l.t, 9, l.flags, l.n, l.md, l.data)
		if m > 0 && m < 14 {
			m = 14
		}
		frames := checkFragments(t, l, m, q, n)
		out := reassemble(t, fragment.New(1<<16), frames)
		if (out.Metadata == nil) != (l.md == nil) || !bytes.Equal(out.Metadata, l.md) || !bytes.Equal(out.Data, l.data) ||
			out.Type != l.t || out.N != l.n {
			t.Fatalf("joined %v", &out)
		}
	})
}

// ---- benchmarks -------------------------------------------------------------------

func BenchmarkAppend(b *testing.B) {
	md, data := make([]byte, 100), make([]byte, 64<<10)
	buf := make([]byte, 0, 128<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(md) + len(data)))
	for b.Loop() {
		buf, _ = fragment.Append(buf[:0], 16<<10, protocol.TypePayload, 1, protocol.FlagNext, 0, md, data)
	}
}

func BenchmarkAppendSmall(b *testing.B) {
	data := make([]byte, 128)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = fragment.Append(buf[:0], 16<<10, protocol.TypePayload, 1, protocol.FlagNext, 0, nil, data)
	}
}

func BenchmarkReassemble(b *testing.B) {
	q, _ := fragment.Append(nil, 16<<10, protocol.TypePayload, 1, protocol.FlagNext, 0, make([]byte, 100), make([]byte, 64<<10))
	var frames []protocol.Frame
	for _, w := range split(b, q) {
		frames = append(frames, decode(b, w))
	}
	r := fragment.New(1 << 20)
	b.ReportAllocs()
	b.SetBytes(int64(64<<10 + 100))
	for b.Loop() {
		for i := range frames {
			if _, _, err := r.Add(&frames[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// ---- leak check -----------------------------------------------------------------

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
