package metadata

import (
	"encoding/binary"
	"fmt"
)

// Well-known authentication types.
const (
	AuthSimple = 0x00 // "simple": u16 username length, username, password
	AuthBearer = 0x01 // "bearer": the token
)

var authNames = [...]string{AuthSimple: "simple", AuthBearer: "bearer"}

// Auth is decoded authentication metadata (the content of a
// message/x.rsocket.authentication.v0 entry).
type Auth struct {
	// Type is "simple" or "bearer" for those well-known IDs, the custom type
	// string otherwise, "" for an unassigned well-known ID.
	Type string
	// ID is the well-known auth type ID, or Custom (-1) when the wire held a string.
	ID int
	// Payload is the rest of the content; it aliases the input.
	Payload []byte
}

// AppendSimpleAuth appends simple authentication content: well-known type 0x00,
// the u16 username length, the username and the password. It panics when the
// username is longer than 65535 bytes. Simple authentication is clear text: use
// it over TLS only.
func AppendSimpleAuth(dst []byte, username, password string) []byte {
	if len(username) > 0xFFFF {
		panic(fmt.Sprintf("metadata: username of %d bytes exceeds 65535", len(username)))
	}
	dst = append(dst, 0x80|AuthSimple)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(username)))
	dst = append(dst, username...)
	return append(dst, password...)
}

// AppendBearerAuth appends bearer authentication content: well-known type 0x01
// and the token.
func AppendBearerAuth(dst []byte, token string) []byte {
	dst = append(dst, 0x80|AuthBearer)
	return append(dst, token...)
}

// AppendCustomAuth appends authentication content of type authType ("simple"
// and "bearer" are written as their well-known IDs, other types as a string,
// length minus one) followed by payload. It panics when authType fails CheckMIME.
func AppendCustomAuth(dst []byte, authType string, payload []byte) []byte {
	switch authType {
	case "simple":
		dst = append(dst, 0x80|AuthSimple)
	case "bearer":
		dst = append(dst, 0x80|AuthBearer)
	default:
		if err := CheckMIME(authType); err != nil {
			panic(err)
		}
		dst = append(dst, byte(len(authType)-1))
		dst = append(dst, authType...)
	}
	return append(dst, payload...)
}

// ParseAuth decodes authentication content. Unassigned well-known IDs are kept
// (Type ""); only the type byte and a custom type string are checked here.
func ParseAuth(content []byte) (Auth, error) {
	if len(content) == 0 {
		return Auth{}, malformed("empty authentication metadata")
	}
	b := content[0]
	if b&0x80 != 0 {
		id := int(b & 0x7F)
		a := Auth{ID: id, Payload: content[1:]}
		if id < len(authNames) {
			a.Type = authNames[id]
		}
		return a, nil
	}
	n := int(b) + 1
	if len(content) < 1+n {
		return Auth{}, malformed("auth type string of %d bytes runs past the end (%d left)", n, len(content)-1)
	}
	return Auth{Type: string(content[1 : 1+n]), ID: Custom, Payload: content[1+n:]}, nil
}

// Simple decodes the payload of simple authentication. It fails when the type
// is not "simple" or the username length runs past the end.
func (a Auth) Simple() (username, password string, err error) {
	if a.Type != "simple" {
		return "", "", fmt.Errorf("metadata: auth type %q is not simple", a.Type)
	}
	if len(a.Payload) < 2 {
		return "", "", malformed("simple auth: username length cut short")
	}
	n := int(binary.BigEndian.Uint16(a.Payload))
	if len(a.Payload) < 2+n {
		return "", "", malformed("simple auth: username of %d bytes runs past the end (%d left)", n, len(a.Payload)-2)
	}
	return string(a.Payload[2 : 2+n]), string(a.Payload[2+n:]), nil
}

// Bearer returns the token of bearer authentication; ok is false for other types.
func (a Auth) Bearer() (token string, ok bool) {
	if a.Type != "bearer" {
		return "", false
	}
	return string(a.Payload), true
}
