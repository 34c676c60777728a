// Package protocol is the RSocket 1.0 wire codec: every frame type, append-style
// encoders and bounds-checked decoders. It imports nothing but the standard library.
//
// Frames are handled without a length prefix (one frame per WebSocket message);
// transports that need the u24 prefix (TCP) add it themselves.
//
// Decoding never allocates: the slices of a decoded Frame alias the input buffer.
package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// FrameType is the 6-bit frame type of the header.
type FrameType uint8

// Frame types of RSocket 1.0.
const (
	TypeReserved        FrameType = 0x00
	TypeSetup           FrameType = 0x01
	TypeLease           FrameType = 0x02
	TypeKeepalive       FrameType = 0x03
	TypeRequestResponse FrameType = 0x04
	TypeRequestFNF      FrameType = 0x05
	TypeRequestStream   FrameType = 0x06
	TypeRequestChannel  FrameType = 0x07
	TypeRequestN        FrameType = 0x08
	TypeCancel          FrameType = 0x09
	TypePayload         FrameType = 0x0A
	TypeError           FrameType = 0x0B
	TypeMetadataPush    FrameType = 0x0C
	TypeResume          FrameType = 0x0D
	TypeResumeOK        FrameType = 0x0E
	TypeExt             FrameType = 0x3F
)

var typeNames = [...]string{
	TypeReserved: "RESERVED", TypeSetup: "SETUP", TypeLease: "LEASE", TypeKeepalive: "KEEPALIVE",
	TypeRequestResponse: "REQUEST_RESPONSE", TypeRequestFNF: "REQUEST_FNF", TypeRequestStream: "REQUEST_STREAM",
	TypeRequestChannel: "REQUEST_CHANNEL", TypeRequestN: "REQUEST_N", TypeCancel: "CANCEL", TypePayload: "PAYLOAD",
	TypeError: "ERROR", TypeMetadataPush: "METADATA_PUSH", TypeResume: "RESUME", TypeResumeOK: "RESUME_OK",
}

func (t FrameType) String() string {
	if t == TypeExt {
		return "EXT"
	}
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return fmt.Sprintf("UNKNOWN(0x%02x)", uint8(t))
}

// Known reports whether t is a frame type defined by RSocket 1.0.
func (t FrameType) Known() bool {
	return (t >= TypeSetup && t <= TypeResumeOK) || t == TypeExt
}

// IsRequest reports whether t starts a stream (REQUEST_RESPONSE, _FNF, _STREAM, _CHANNEL).
func (t FrameType) IsRequest() bool { return t >= TypeRequestResponse && t <= TypeRequestChannel }

// Flags are the 10 flag bits of the header.
type Flags uint16

// Flag bits. Some bits have a per-type meaning (see the aliases).
const (
	FlagIgnore   Flags = 0x200 // I: ignore the frame if not understood
	FlagMetadata Flags = 0x100 // M: metadata present
	FlagFollows  Flags = 0x080 // F: more fragments follow (REQUEST_*, PAYLOAD)
	FlagComplete Flags = 0x040 // C: complete (REQUEST_CHANNEL, PAYLOAD)
	FlagNext     Flags = 0x020 // N: carries an element (PAYLOAD)

	FlagResume  Flags = 0x080 // SETUP R: resume token present
	FlagLease   Flags = 0x040 // SETUP L: will honour LEASE
	FlagRespond Flags = 0x080 // KEEPALIVE R: please answer

	flagMask Flags = 0x3FF
)

// Has reports whether every bit of g is set in f.
func (f Flags) Has(g Flags) bool { return f&g == g }

// ErrorCode is the u32 code of an ERROR frame.
type ErrorCode uint32

// Error codes of RSocket 1.0.
const (
	ErrInvalidSetup     ErrorCode = 0x00000001
	ErrUnsupportedSetup ErrorCode = 0x00000002
	ErrRejectedSetup    ErrorCode = 0x00000003
	ErrRejectedResume   ErrorCode = 0x00000004
	ErrConnectionError  ErrorCode = 0x00000101
	ErrConnectionClose  ErrorCode = 0x00000102
	ErrApplicationError ErrorCode = 0x00000201
	ErrRejected         ErrorCode = 0x00000202
	ErrCanceled         ErrorCode = 0x00000203
	ErrInvalid          ErrorCode = 0x00000204
)

func (c ErrorCode) String() string {
	switch c {
	case ErrInvalidSetup:
		return "INVALID_SETUP"
	case ErrUnsupportedSetup:
		return "UNSUPPORTED_SETUP"
	case ErrRejectedSetup:
		return "REJECTED_SETUP"
	case ErrRejectedResume:
		return "REJECTED_RESUME"
	case ErrConnectionError:
		return "CONNECTION_ERROR"
	case ErrConnectionClose:
		return "CONNECTION_CLOSE"
	case ErrApplicationError:
		return "APPLICATION_ERROR"
	case ErrRejected:
		return "REJECTED"
	case ErrCanceled:
		return "CANCELED"
	case ErrInvalid:
		return "INVALID"
	}
	return fmt.Sprintf("0x%08X", uint32(c))
}

// IsConnectionLevel reports whether c belongs on stream 0.
func (c ErrorCode) IsConnectionLevel() bool {
	return c >= ErrInvalidSetup && c <= ErrRejectedResume || c == ErrConnectionError || c == ErrConnectionClose
}

// IsSetupError reports whether c rejects a SETUP or RESUME.
func (c ErrorCode) IsSetupError() bool { return c >= ErrInvalidSetup && c <= ErrRejectedResume }

// Sizes and limits of the wire format.
const (
	HeaderLen   = 6
	MaxFrameLen = 1<<24 - 1 // the largest frame on any transport
	MaxN        = 1<<31 - 1 // the largest u31 value; as credit it means unbounded
	MaxMIMELen  = 255
	maxMetaLen  = 1<<24 - 1
	// Version10 is protocol version 1.0 as major<<16 | minor.
	Version10 uint32 = 1 << 16
)

// Frame is one decoded frame. Which fields are meaningful depends on Type;
// every slice aliases the buffer the frame was decoded from.
type Frame struct {
	StreamID uint32
	Type     FrameType
	Flags    Flags

	// N is the initial request N (REQUEST_STREAM, REQUEST_CHANNEL), the credit of
	// REQUEST_N, and the number of requests of a LEASE.
	N uint32
	// Code is the code of an ERROR.
	Code ErrorCode
	// Metadata is nil when the M flag is clear and non-nil (possibly empty) when set.
	Metadata []byte
	// Data is the data of the frame (for ERROR: the message; for EXT: the rest).
	Data []byte

	// SETUP and RESUME: Version is major<<16 | minor.
	Version uint32
	// SETUP: keepalive interval and max lifetime in ms. LEASE: TTL in ms is Keepalive.
	Keepalive uint32
	Lifetime  uint32
	// SETUP (with R) and RESUME: the resume token.
	Token []byte
	// SETUP: the MIME types.
	MetadataMIME []byte
	DataMIME     []byte
	// KEEPALIVE: last received position. RESUME: last received server position.
	// RESUME_OK: last received client position.
	Position uint64
	// RESUME: first available client position.
	Position2 uint64
	// EXT: the extended type.
	ExtType uint32
}

// HasMetadata reports whether the M flag is set.
func (f *Frame) HasMetadata() bool { return f.Flags&FlagMetadata != 0 }

// Error is a malformed or unusable frame. Ignorable is true when the frame had
// the I flag set, so a receiver may drop it instead of failing the connection.
type Error struct {
	Type      FrameType
	StreamID  uint32
	Ignorable bool
	Reason    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("rsocket: malformed %v frame on stream %d: %s", e.Type, e.StreamID, e.Reason)
}

// ErrShort is returned (wrapped) for frames shorter than their fixed fields.
var ErrShort = errors.New("rsocket: frame too short")

// DecodeHeader reads the stream ID, type and flags of a frame.
func DecodeHeader(b []byte) (streamID uint32, t FrameType, flags Flags, err error) {
	if len(b) < HeaderLen {
		return 0, 0, 0, &Error{Reason: fmt.Sprintf("%d bytes, need at least %d", len(b), HeaderLen)}
	}
	streamID = binary.BigEndian.Uint32(b) & MaxN
	w := binary.BigEndian.Uint16(b[4:])
	return streamID, FrameType(w >> 10), Flags(w) & flagMask, nil
}

// Decode parses one frame. It checks every length against the bytes that are
// there; unknown frame types yield an *Error whose Ignorable mirrors the I flag.
// Values that are syntactically fine but semantically illegal (REQUEST_N of 0,
// a keepalive of 0, a u31 field with its top bit set, that is > MaxN, a SETUP
// on a stream other than 0) are decoded as they are and left for the receiver
// to judge. Only the stream ID has its reserved bit masked off.
func Decode(b []byte) (Frame, error) {
	var f Frame
	id, t, flags, err := DecodeHeader(b)
	if err != nil {
		return f, err
	}
	f.StreamID, f.Type, f.Flags = id, t, flags
	fail := func(reason string) (Frame, error) {
		return f, &Error{Type: t, StreamID: id, Ignorable: flags.Has(FlagIgnore), Reason: reason}
	}
	p := b[HeaderLen:]
	switch t {
	case TypeSetup:
		if len(p) < 12 {
			return fail("truncated fixed fields")
		}
		f.Version = binary.BigEndian.Uint32(p)
		f.Keepalive = binary.BigEndian.Uint32(p[4:])
		f.Lifetime = binary.BigEndian.Uint32(p[8:])
		p = p[12:]
		if flags.Has(FlagResume) {
			if len(p) < 2 {
				return fail("truncated resume token length")
			}
			n := int(binary.BigEndian.Uint16(p))
			if len(p) < 2+n {
				return fail("resume token runs past the frame")
			}
			f.Token, p = p[2:2+n], p[2+n:]
		}
		var ok bool
		if f.MetadataMIME, p, ok = readMIME(p); !ok {
			return fail("metadata MIME runs past the frame")
		}
		if f.DataMIME, p, ok = readMIME(p); !ok {
			return fail("data MIME runs past the frame")
		}
		if f.Metadata, f.Data, ok = splitMetadata(flags, p); !ok {
			return fail("metadata length runs past the frame")
		}
	case TypeLease:
		if len(p) < 8 {
			return fail("truncated fixed fields")
		}
		f.Keepalive = binary.BigEndian.Uint32(p)
		f.N = binary.BigEndian.Uint32(p[4:])
		if flags.Has(FlagMetadata) {
			f.Metadata = p[8:]
		}
	case TypeKeepalive:
		if len(p) < 8 {
			return fail("truncated position")
		}
		f.Position = binary.BigEndian.Uint64(p)
		f.Data = p[8:]
	case TypeRequestResponse, TypeRequestFNF, TypePayload:
		var ok bool
		if f.Metadata, f.Data, ok = splitMetadata(flags, p); !ok {
			return fail("metadata length runs past the frame")
		}
	case TypeRequestStream, TypeRequestChannel:
		if len(p) < 4 {
			return fail("truncated initial request N")
		}
		f.N = binary.BigEndian.Uint32(p)
		var ok bool
		if f.Metadata, f.Data, ok = splitMetadata(flags, p[4:]); !ok {
			return fail("metadata length runs past the frame")
		}
	case TypeRequestN:
		if len(p) < 4 {
			return fail("truncated request N")
		}
		f.N = binary.BigEndian.Uint32(p)
	case TypeCancel:
	case TypeError:
		if len(p) < 4 {
			return fail("truncated error code")
		}
		f.Code = ErrorCode(binary.BigEndian.Uint32(p))
		f.Data = p[4:]
	case TypeMetadataPush:
		// M is always 1 on the wire; a frame without it is still read, and the
		// flag is set so that Metadata != nil and HasMetadata agree.
		f.Flags |= FlagMetadata
		f.Metadata = p
	case TypeResume:
		if len(p) < 6 {
			return fail("truncated fixed fields")
		}
		f.Version = binary.BigEndian.Uint32(p)
		n := int(binary.BigEndian.Uint16(p[4:]))
		p = p[6:]
		if len(p) < n+16 {
			return fail("token or positions run past the frame")
		}
		f.Token = p[:n]
		f.Position = binary.BigEndian.Uint64(p[n:])
		f.Position2 = binary.BigEndian.Uint64(p[n+8:])
	case TypeResumeOK:
		if len(p) < 8 {
			return fail("truncated position")
		}
		f.Position = binary.BigEndian.Uint64(p)
	case TypeExt:
		if len(p) < 4 {
			return fail("truncated extended type")
		}
		f.ExtType = binary.BigEndian.Uint32(p)
		var ok bool
		if f.Metadata, f.Data, ok = splitMetadata(flags, p[4:]); !ok {
			return fail("metadata length runs past the frame")
		}
	default:
		return fail("unknown frame type")
	}
	return f, nil
}

func readMIME(p []byte) (mime, rest []byte, ok bool) {
	if len(p) < 1 {
		return nil, p, false
	}
	n := int(p[0])
	if len(p) < 1+n {
		return nil, p, false
	}
	return p[1 : 1+n], p[1+n:], true
}

func splitMetadata(flags Flags, p []byte) (md, data []byte, ok bool) {
	if !flags.Has(FlagMetadata) {
		return nil, p, true
	}
	if len(p) < 3 {
		return nil, nil, false
	}
	n := int(p[0])<<16 | int(p[1])<<8 | int(p[2])
	if len(p) < 3+n {
		return nil, nil, false
	}
	return p[3 : 3+n : 3+n], p[3+n:], true
}

// ---- encoders ---------------------------------------------------------------

// AppendHeader appends the 6-byte header.
func AppendHeader(dst []byte, streamID uint32, t FrameType, flags Flags) []byte {
	w := uint16(t)<<10 | uint16(flags&flagMask)
	return append(dst, byte(streamID>>24)&0x7F, byte(streamID>>16), byte(streamID>>8), byte(streamID),
		byte(w>>8), byte(w))
}

func appendU24(dst []byte, n int) []byte { return append(dst, byte(n>>16), byte(n>>8), byte(n)) }

// appendMetaData appends the u24-prefixed metadata (only when md != nil) and data.
func appendMetaData(dst []byte, md, data []byte) []byte {
	if md != nil {
		dst = appendU24(dst, len(md))
		dst = append(dst, md...)
	}
	return append(dst, data...)
}

// metaFlag returns FlagMetadata when md != nil; nil metadata is absent, empty is present.
func metaFlag(md []byte) Flags {
	if md != nil {
		return FlagMetadata
	}
	return 0
}

// ClampN returns n clamped to the u31 range [0, MaxN].
func ClampN(n int64) uint32 {
	if n < 0 {
		return 0
	}
	if n > MaxN {
		return MaxN
	}
	return uint32(n)
}

// AppendSetup appends a SETUP frame. token != nil sets the R flag; lease sets L.
func AppendSetup(dst []byte, keepalive, lifetime uint32, token []byte, lease bool,
	metadataMIME, dataMIME string, md, data []byte) []byte {
	flags := metaFlag(md)
	if token != nil {
		flags |= FlagResume
	}
	if lease {
		flags |= FlagLease
	}
	dst = AppendHeader(dst, 0, TypeSetup, flags)
	dst = binary.BigEndian.AppendUint32(dst, Version10)
	dst = binary.BigEndian.AppendUint32(dst, keepalive&MaxN)
	dst = binary.BigEndian.AppendUint32(dst, lifetime&MaxN)
	if token != nil {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(token)))
		dst = append(dst, token...)
	}
	dst = append(dst, byte(len(metadataMIME)))
	dst = append(dst, metadataMIME...)
	dst = append(dst, byte(len(dataMIME)))
	dst = append(dst, dataMIME...)
	return appendMetaData(dst, md, data)
}

// AppendLease appends a LEASE frame (metadata, when not nil, has no length field).
func AppendLease(dst []byte, ttl, n uint32, md []byte) []byte {
	dst = AppendHeader(dst, 0, TypeLease, metaFlag(md))
	dst = binary.BigEndian.AppendUint32(dst, ttl&MaxN)
	dst = binary.BigEndian.AppendUint32(dst, n&MaxN)
	return append(dst, md...)
}

// AppendKeepalive appends a KEEPALIVE frame; respond sets R.
func AppendKeepalive(dst []byte, respond bool, position uint64, data []byte) []byte {
	var flags Flags
	if respond {
		flags = FlagRespond
	}
	dst = AppendHeader(dst, 0, TypeKeepalive, flags)
	dst = binary.BigEndian.AppendUint64(dst, position&(1<<63-1))
	return append(dst, data...)
}

// AppendRequest appends REQUEST_RESPONSE or REQUEST_FNF (t), with extra flags (F).
func AppendRequest(dst []byte, t FrameType, streamID uint32, flags Flags, md, data []byte) []byte {
	dst = AppendHeader(dst, streamID, t, flags&^FlagMetadata|metaFlag(md))
	return appendMetaData(dst, md, data)
}

// AppendRequestWithN appends REQUEST_STREAM or REQUEST_CHANNEL (t) with initial request n
// and extra flags (F, C).
func AppendRequestWithN(dst []byte, t FrameType, streamID uint32, flags Flags, n uint32, md, data []byte) []byte {
	dst = AppendHeader(dst, streamID, t, flags&^FlagMetadata|metaFlag(md))
	dst = binary.BigEndian.AppendUint32(dst, n&MaxN)
	return appendMetaData(dst, md, data)
}

// AppendRequestN appends a REQUEST_N frame.
func AppendRequestN(dst []byte, streamID, n uint32) []byte {
	dst = AppendHeader(dst, streamID, TypeRequestN, 0)
	return binary.BigEndian.AppendUint32(dst, n&MaxN)
}

// AppendCancel appends a CANCEL frame.
func AppendCancel(dst []byte, streamID uint32) []byte {
	return AppendHeader(dst, streamID, TypeCancel, 0)
}

// AppendPayload appends a PAYLOAD frame; flags carry N, C and F.
func AppendPayload(dst []byte, streamID uint32, flags Flags, md, data []byte) []byte {
	dst = AppendHeader(dst, streamID, TypePayload, flags&^FlagMetadata|metaFlag(md))
	return appendMetaData(dst, md, data)
}

// AppendError appends an ERROR frame with a UTF-8 message.
func AppendError(dst []byte, streamID uint32, code ErrorCode, msg string) []byte {
	dst = AppendHeader(dst, streamID, TypeError, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(code))
	return append(dst, msg...)
}

// AppendMetadataPush appends a METADATA_PUSH frame (M always set, no length field).
func AppendMetadataPush(dst []byte, md []byte) []byte {
	dst = AppendHeader(dst, 0, TypeMetadataPush, FlagMetadata)
	return append(dst, md...)
}

// AppendResume appends a RESUME frame (version 1.0).
func AppendResume(dst []byte, token []byte, lastReceivedServer, firstAvailableClient uint64) []byte {
	dst = AppendHeader(dst, 0, TypeResume, 0)
	dst = binary.BigEndian.AppendUint32(dst, Version10)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(token)))
	dst = append(dst, token...)
	dst = binary.BigEndian.AppendUint64(dst, lastReceivedServer&(1<<63-1))
	return binary.BigEndian.AppendUint64(dst, firstAvailableClient&(1<<63-1))
}

// AppendResumeOK appends a RESUME_OK frame.
func AppendResumeOK(dst []byte, lastReceivedClient uint64) []byte {
	dst = AppendHeader(dst, 0, TypeResumeOK, 0)
	return binary.BigEndian.AppendUint64(dst, lastReceivedClient&(1<<63-1))
}

// AppendExt appends an EXT frame; flags may carry I.
func AppendExt(dst []byte, streamID uint32, flags Flags, extType uint32, md, data []byte) []byte {
	dst = AppendHeader(dst, streamID, TypeExt, flags&^FlagMetadata|metaFlag(md))
	dst = binary.BigEndian.AppendUint32(dst, extType&MaxN)
	return appendMetaData(dst, md, data)
}

// Append re-encodes a frame; for every frame Decode accepts, Decode(f.Append(nil))
// yields f again. It writes the fields as they are: the stream ID, all flag bits
// (M is derived from Metadata != nil for the types that carry metadata, and always
// set for METADATA_PUSH) and u31/u63 values with their top bit if it was set, so
// a frame relayed through Decode and Append is unchanged. Bytes Decode ignores
// (trailing bytes of REQUEST_N, a LEASE's trailing bytes without M) are dropped.
// Use the Append* encoders to build frames from values the caller chose: they
// clear reserved bits.
func (f *Frame) Append(dst []byte) []byte {
	md := f.Metadata
	be := binary.BigEndian
	switch f.Type {
	case TypeSetup:
		return AppendSetupFrame(dst, f)
	case TypeLease:
		dst = AppendHeader(dst, f.StreamID, TypeLease, f.Flags&^FlagMetadata|metaFlag(md))
		dst = be.AppendUint32(dst, f.Keepalive)
		dst = be.AppendUint32(dst, f.N)
		return append(dst, md...)
	case TypeKeepalive:
		dst = AppendHeader(dst, f.StreamID, TypeKeepalive, f.Flags)
		dst = be.AppendUint64(dst, f.Position)
		return append(dst, f.Data...)
	case TypeRequestResponse, TypeRequestFNF, TypePayload:
		dst = AppendHeader(dst, f.StreamID, f.Type, f.Flags&^FlagMetadata|metaFlag(md))
		return appendMetaData(dst, md, f.Data)
	case TypeRequestStream, TypeRequestChannel:
		dst = AppendHeader(dst, f.StreamID, f.Type, f.Flags&^FlagMetadata|metaFlag(md))
		dst = be.AppendUint32(dst, f.N)
		return appendMetaData(dst, md, f.Data)
	case TypeRequestN:
		dst = AppendHeader(dst, f.StreamID, TypeRequestN, f.Flags)
		return be.AppendUint32(dst, f.N)
	case TypeCancel:
		return AppendHeader(dst, f.StreamID, TypeCancel, f.Flags)
	case TypeError:
		dst = AppendHeader(dst, f.StreamID, TypeError, f.Flags)
		dst = be.AppendUint32(dst, uint32(f.Code))
		return append(dst, f.Data...)
	case TypeMetadataPush:
		dst = AppendHeader(dst, f.StreamID, TypeMetadataPush, f.Flags|FlagMetadata)
		return append(dst, md...)
	case TypeResume:
		dst = AppendHeader(dst, f.StreamID, TypeResume, f.Flags)
		dst = be.AppendUint32(dst, f.Version)
		dst = be.AppendUint16(dst, uint16(len(f.Token)))
		dst = append(dst, f.Token...)
		dst = be.AppendUint64(dst, f.Position)
		return be.AppendUint64(dst, f.Position2)
	case TypeResumeOK:
		dst = AppendHeader(dst, f.StreamID, TypeResumeOK, f.Flags)
		return be.AppendUint64(dst, f.Position)
	case TypeExt:
		dst = AppendHeader(dst, f.StreamID, TypeExt, f.Flags&^FlagMetadata|metaFlag(md))
		dst = be.AppendUint32(dst, f.ExtType)
		return appendMetaData(dst, md, f.Data)
	}
	return AppendHeader(dst, f.StreamID, f.Type, f.Flags)
}

// AppendSetupFrame appends a SETUP frame from its decoded form, keeping the
// stream ID, version, flags and values as they are (see Frame.Append); R is set
// when Token != nil and M when Metadata != nil.
func AppendSetupFrame(dst []byte, f *Frame) []byte {
	flags := f.Flags &^ (FlagMetadata | FlagResume)
	flags |= metaFlag(f.Metadata)
	if f.Token != nil {
		flags |= FlagResume
	}
	dst = AppendHeader(dst, f.StreamID, TypeSetup, flags)
	dst = binary.BigEndian.AppendUint32(dst, f.Version)
	dst = binary.BigEndian.AppendUint32(dst, f.Keepalive)
	dst = binary.BigEndian.AppendUint32(dst, f.Lifetime)
	if f.Token != nil {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(f.Token)))
		dst = append(dst, f.Token...)
	}
	dst = append(dst, byte(len(f.MetadataMIME)))
	dst = append(dst, f.MetadataMIME...)
	dst = append(dst, byte(len(f.DataMIME)))
	dst = append(dst, f.DataMIME...)
	return appendMetaData(dst, f.Metadata, f.Data)
}

// String is a one-line description for logs and --debug output.
func (f *Frame) String() string {
	s := fmt.Sprintf("stream=%d %v flags=%s", f.StreamID, f.Type, f.FlagString())
	switch f.Type {
	case TypeRequestStream, TypeRequestChannel, TypeRequestN:
		s += fmt.Sprintf(" n=%d", f.N)
	case TypeError:
		s += fmt.Sprintf(" code=%v", f.Code)
	case TypeSetup:
		s += fmt.Sprintf(" version=%d.%d keepalive=%d lifetime=%d mdmime=%q datamime=%q",
			f.Version>>16, f.Version&0xFFFF, f.Keepalive, f.Lifetime, f.MetadataMIME, f.DataMIME)
	case TypeLease:
		s += fmt.Sprintf(" ttl=%d n=%d", f.Keepalive, f.N)
	}
	if f.Metadata != nil {
		s += fmt.Sprintf(" md=%d", len(f.Metadata))
	}
	s += fmt.Sprintf(" data=%d", len(f.Data))
	return s
}

// FlagString names the set flags in the way the frame type defines them.
func (f *Frame) FlagString() string {
	var s []byte
	add := func(name string) {
		if len(s) > 0 {
			s = append(s, '|')
		}
		s = append(s, name...)
	}
	if f.Flags.Has(FlagIgnore) {
		add("I")
	}
	if f.Flags.Has(FlagMetadata) {
		add("M")
	}
	switch f.Type {
	case TypeSetup:
		if f.Flags.Has(FlagResume) {
			add("R")
		}
		if f.Flags.Has(FlagLease) {
			add("L")
		}
	case TypeKeepalive:
		if f.Flags.Has(FlagRespond) {
			add("R")
		}
	case TypeRequestResponse, TypeRequestFNF, TypeRequestStream, TypeRequestChannel, TypePayload:
		if f.Flags.Has(FlagFollows) {
			add("F")
		}
		if f.Flags.Has(FlagComplete) && (f.Type == TypePayload || f.Type == TypeRequestChannel) {
			add("C")
		}
		if f.Flags.Has(FlagNext) && f.Type == TypePayload {
			add("N")
		}
	}
	if len(s) == 0 {
		return "-"
	}
	return string(s)
}
