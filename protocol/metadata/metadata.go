// Package metadata encodes and decodes the RSocket metadata extensions:
// composite metadata, routing, authentication and per-stream MIME types, with
// the well-known MIME type table. It imports nothing but the standard library.
//
// Encoders are append-style and take the caller's buffer. Their inputs are the
// caller's own values, so an input the wire format cannot carry (a routing tag
// longer than 255 bytes, a custom MIME string longer than 128 bytes) is a
// programming error and panics; validate strings that come from users with
// CheckTag and CheckMIME first. Decoders take bytes from the peer: they check
// every length and return an error wrapping ErrMalformed, never panic, and
// return slices that alias their input.
//
// Custom MIME strings (composite entries, per-stream MIME types) and custom
// authentication type strings are written with their length minus one, as
// rsocket-java, -js and -py do (so 1..128 bytes); routing tags carry their real
// length (1..255 bytes).
package metadata

import (
	"errors"
	"fmt"
)

// MIME types of the metadata extensions.
const (
	MIMEComposite   = "message/x.rsocket.composite-metadata.v0"
	MIMERouting     = "message/x.rsocket.routing.v0"
	MIMEAuth        = "message/x.rsocket.authentication.v0"
	MIMEType        = "message/x.rsocket.mime-type.v0"
	MIMEAcceptTypes = "message/x.rsocket.accept-mime-types.v0"
	MIMETracing     = "message/x.rsocket.tracing-zipkin.v0"
)

// Well-known IDs of the extension MIME types.
const (
	IDMIMEType    = 0x7A
	IDAcceptTypes = 0x7B
	IDAuth        = 0x7C
	IDTracing     = 0x7D
	IDRouting     = 0x7E
	IDComposite   = 0x7F
)

// Custom is the ID of an Entry or Type that carries a MIME string on the wire
// instead of a well-known ID.
const Custom = -1

// MaxCustomLen is the longest custom MIME or auth type string (length-minus-one in 7 bits).
const MaxCustomLen = 128

// MaxContentLen is the largest composite entry content (u24 length).
const MaxContentLen = 1<<24 - 1

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("metadata: malformed")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// wellKnown is the table of well-known MIME type IDs (7 bits); "" = unassigned.
var wellKnown = [128]string{
	0x00: "application/avro",
	0x01: "application/cbor",
	0x02: "application/graphql",
	0x03: "application/gzip",
	0x04: "application/javascript",
	0x05: "application/json",
	0x06: "application/octet-stream",
	0x07: "application/pdf",
	0x08: "application/vnd.apache.thrift.binary",
	0x09: "application/vnd.google.protobuf",
	0x0A: "application/xml",
	0x0B: "application/zip",
	0x0C: "audio/aac",
	0x0D: "audio/mp3",
	0x0E: "audio/mp4",
	0x0F: "audio/mpeg3",
	0x10: "audio/mpeg",
	0x11: "audio/ogg",
	0x12: "audio/opus",
	0x13: "audio/vorbis",
	0x14: "image/bmp",
	0x15: "image/gif",
	0x16: "image/heic-sequence",
	0x17: "image/heic",
	0x18: "image/heif-sequence",
	0x19: "image/heif",
	0x1A: "image/jpeg",
	0x1B: "image/png",
	0x1C: "image/tiff",
	0x1D: "multipart/mixed",
	0x1E: "text/css",
	0x1F: "text/csv",
	0x20: "text/html",
	0x21: "text/plain",
	0x22: "text/xml",
	0x23: "video/H264",
	0x24: "video/H265",
	0x25: "video/VP8",
	0x26: "application/x-hessian",
	0x27: "application/x-java-object",
	0x28: "application/cloudevents+json",
	0x29: "application/x-capnp",
	0x2A: "application/x-flatbuffers",
	0x7A: MIMEType,
	0x7B: MIMEAcceptTypes,
	0x7C: MIMEAuth,
	0x7D: MIMETracing,
	0x7E: MIMERouting,
	0x7F: MIMEComposite,
}

var wellKnownIDs = func() map[string]uint8 {
	m := make(map[string]uint8, len(wellKnown))
	for id, s := range wellKnown {
		if s != "" {
			m[s] = uint8(id)
		}
	}
	return m
}()

// WellKnownMIME returns the MIME string of a well-known ID, or "" when the ID
// is unassigned or out of the 7-bit range.
func WellKnownMIME(id int) string {
	if id < 0 || id >= len(wellKnown) {
		return ""
	}
	return wellKnown[id]
}

// WellKnownID returns the well-known ID of a MIME string. The match is exact
// (the table's spelling, "video/H264" included).
func WellKnownID(mime string) (id int, ok bool) {
	v, ok := wellKnownIDs[mime]
	return int(v), ok
}

// Type is a MIME type as metadata carries it: a well-known ID or a custom string.
type Type struct {
	// MIME is the type: the table's string for a well-known ID, the string from
	// the wire for a custom type, "" for an unassigned well-known ID.
	MIME string
	// ID is the well-known ID (0..127), or Custom (-1) when the wire held a string.
	ID int
}

// CheckMIME reports whether mime can be written as a custom MIME (or auth type)
// string: 1..128 bytes of US-ASCII. Every well-known MIME string passes.
func CheckMIME(mime string) error {
	if len(mime) == 0 || len(mime) > MaxCustomLen {
		return fmt.Errorf("metadata: MIME type %q: length %d, want 1..%d", mime, len(mime), MaxCustomLen)
	}
	for i := 0; i < len(mime); i++ {
		if mime[i] >= 0x80 {
			return fmt.Errorf("metadata: MIME type %q is not US-ASCII", mime)
		}
	}
	return nil
}

// appendType writes byte 0 of a composite entry, per-stream MIME type or
// accept list item: 0x80|id for a well-known string, len-1 and the string otherwise.
func appendType(dst []byte, mime string) []byte {
	if id, ok := wellKnownIDs[mime]; ok {
		return append(dst, 0x80|id)
	}
	if err := CheckMIME(mime); err != nil {
		panic(err)
	}
	dst = append(dst, byte(len(mime)-1))
	return append(dst, mime...)
}

// readType reads what appendType writes, without allocating: id is the
// well-known ID or Custom, in which case custom holds the string.
func readType(p []byte) (id int, custom, rest []byte, err error) {
	if len(p) == 0 {
		return 0, nil, p, malformed("missing MIME type byte")
	}
	b := p[0]
	if b&0x80 != 0 {
		return int(b & 0x7F), nil, p[1:], nil
	}
	n := int(b) + 1
	if len(p) < 1+n {
		return 0, nil, p, malformed("MIME string of %d bytes runs past the end (%d left)", n, len(p)-1)
	}
	return Custom, p[1 : 1+n : 1+n], p[1+n:], nil
}

// typeOf materialises a Type. Custom strings that spell a well-known type reuse
// the table's string; other custom strings are copied.
func typeOf(id int, custom []byte) Type {
	if id != Custom {
		return Type{MIME: wellKnown[id], ID: id}
	}
	if v, ok := wellKnownIDs[string(custom)]; ok {
		return Type{MIME: wellKnown[v], ID: Custom}
	}
	return Type{MIME: string(custom), ID: Custom}
}

// typeIs reports whether the type read by readType is mime, without allocating.
func typeIs(id int, custom []byte, mime string) bool {
	if id != Custom {
		return wellKnown[id] == mime && mime != ""
	}
	return string(custom) == mime
}
