package websocket

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
)

// The client frames its own data messages (RFC 6455 section 5.2): gorilla's
// client write path (NextWriter, a masked copy in its write buffer, then a
// Write into the cork) costs an allocation per message, and copies every
// payload twice. Conn.WriteFrame on the client writes header, masking key and
// masked payload straight into the cork's batch buffer instead, in one pass
// and under the cork's mutex, so a message is never split by a control frame
// gorilla writes from the reader goroutine.

const (
	opBinaryFin = 0x82 // FIN, opcode 2 (binary)
	maskBit     = 0x80
)

// maskedHeaderLen is the length of the header of a masked message with n
// payload bytes: 2 bytes, the 16- or 64-bit extended length when n needs it
// (the shortest form, as section 5.2 requires), and the 4-byte masking key.
func maskedHeaderLen(n int) int {
	switch {
	case n <= 125:
		return 2 + 4
	case n <= 0xFFFF:
		return 4 + 4
	default:
		return 10 + 4
	}
}

// putMaskedMessage writes one masked binary message carrying payload into
// dst, which must be exactly maskedHeaderLen(len(payload))+len(payload) long.
// key holds the four masking-key bytes in wire order, little-endian.
func putMaskedMessage(dst, payload []byte, key uint32) {
	n := len(payload)
	dst[0] = opBinaryFin
	var h int
	switch {
	case n <= 125:
		dst[1] = maskBit | byte(n)
		h = 2
	case n <= 0xFFFF:
		dst[1] = maskBit | 126
		binary.BigEndian.PutUint16(dst[2:4], uint16(n))
		h = 4
	default:
		dst[1] = maskBit | 127
		binary.BigEndian.PutUint64(dst[2:10], uint64(n))
		h = 10
	}
	binary.LittleEndian.PutUint32(dst[h:h+4], key)
	maskCopy(dst[h+4:], payload, key)
}

// maskCopy sets dst[i] = src[i] ^ key byte i%4 for every byte of src (dst is
// at least as long), eight bytes at a time. It copies and masks in one pass,
// so the payload is read once and written once.
func maskCopy(dst, src []byte, key uint32) {
	k8 := uint64(key) | uint64(key)<<32
	dst = dst[:len(src)]
	i := 0
	for ; len(src)-i >= 32; i += 32 {
		s, d := src[i:i+32], dst[i:i+32]
		binary.LittleEndian.PutUint64(d[0:8], binary.LittleEndian.Uint64(s[0:8])^k8)
		binary.LittleEndian.PutUint64(d[8:16], binary.LittleEndian.Uint64(s[8:16])^k8)
		binary.LittleEndian.PutUint64(d[16:24], binary.LittleEndian.Uint64(s[16:24])^k8)
		binary.LittleEndian.PutUint64(d[24:32], binary.LittleEndian.Uint64(s[24:32])^k8)
	}
	for ; len(src)-i >= 8; i += 8 {
		binary.LittleEndian.PutUint64(dst[i:i+8], binary.LittleEndian.Uint64(src[i:i+8])^k8)
	}
	// i is a multiple of 8, so the key starts again at its first byte.
	for j := 0; i < len(src); i, j = i+1, j+1 {
		dst[i] = src[i] ^ byte(k8>>(8*j))
	}
}

// maskKeys hands out a fresh masking key per message.
//
// RFC 6455 section 10.3 asks for keys an intermediary cannot predict from the
// ones it has already seen (so that a client-chosen payload cannot be made to
// look like something else on the wire). A statistically good but invertible
// generator (PCG, xorshift) does not meet that: its state can be recovered
// from a few outputs, and every key is on the wire. Calling crypto/rand per
// message would, but costs about 30 ns per key here, a third of the whole
// 64-byte write path. So each connection gets its own ChaCha8 stream from
// math/rand/v2 (the non-crypto package, but a cryptographically strong
// generator: its outputs reveal nothing about the seed or later outputs),
// seeded with 32 bytes from crypto/rand at Dial. It costs about 4 ns per
// 64-bit value, which is two keys (PCG: 1.6 ns, predictable). The state
// (about 300 bytes) exists only on client connections and is used only by
// the writer goroutine.
type maskKeys struct {
	src   *rand.ChaCha8
	spare uint32
	has   bool
}

func newMaskKeys() *maskKeys {
	var seed [32]byte
	crand.Read(seed[:]) // never fails (Go 1.24+: it crashes the program instead)
	return &maskKeys{src: rand.NewChaCha8(seed)}
}

// next returns the next masking key (wire-order bytes, little-endian).
func (m *maskKeys) next() uint32 {
	if m.has {
		m.has = false
		return m.spare
	}
	v := m.src.Uint64()
	m.spare, m.has = uint32(v>>32), true
	return uint32(v)
}
