package protocol_test

import (
	"testing"

	"github.com/sluicehq/sluice/protocol"
)

// The per-element codec work at the element sizes of the comparison
// (interop/cmd/compare): a PAYLOAD of 64 B and 1 KiB without metadata, and
// the REQUEST_N that tops a window up. None of it allocates.

func benchEncodePayload(b *testing.B, size int) {
	data := make([]byte, size)
	buf := make([]byte, 0, size+64)
	b.ReportAllocs()
	b.SetBytes(int64(size))
	for b.Loop() {
		buf = protocol.AppendPayload(buf[:0], 1, protocol.FlagNext, nil, data)
	}
}

func benchDecodePayload(b *testing.B, size int) {
	wire := protocol.AppendPayload(nil, 1, protocol.FlagNext, nil, make([]byte, size))
	b.ReportAllocs()
	b.SetBytes(int64(size))
	for b.Loop() {
		f, err := protocol.Decode(wire)
		if err != nil || len(f.Data) != size {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodePayload64(b *testing.B) { benchEncodePayload(b, 64) }
func BenchmarkEncodePayload1K(b *testing.B) { benchEncodePayload(b, 1024) }
func BenchmarkDecodePayload64(b *testing.B) { benchDecodePayload(b, 64) }
func BenchmarkDecodePayload1K(b *testing.B) { benchDecodePayload(b, 1024) }

func BenchmarkEncodeRequestN(b *testing.B) {
	buf := make([]byte, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		buf = protocol.AppendRequestN(buf[:0], 1, 64)
	}
}

// BenchmarkEncodeRequestNFresh is AppendRequestN(nil, ...), as the engine
// calls it for every REQUEST_N it queues: two allocations (the 6-byte
// header, then growing it for the 4-byte N).
func BenchmarkEncodeRequestNFresh(b *testing.B) {
	b.ReportAllocs()
	var f []byte
	for b.Loop() {
		f = protocol.AppendRequestN(nil, 1, 64)
	}
	_ = f
}

func BenchmarkDecodeHeader(b *testing.B) {
	wire := protocol.AppendPayload(nil, 1, protocol.FlagNext, nil, make([]byte, 64))
	b.ReportAllocs()
	for b.Loop() {
		if _, t, _, err := protocol.DecodeHeader(wire); err != nil || t != protocol.TypePayload {
			b.Fatal(err)
		}
	}
}
