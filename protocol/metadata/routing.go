package metadata

import "fmt"

// MaxTagLen is the longest routing tag (u8 length).
const MaxTagLen = 255

// CheckTag reports whether tag can be written as a routing tag: 1..255 bytes.
func CheckTag(tag string) error {
	if len(tag) == 0 || len(tag) > MaxTagLen {
		return fmt.Errorf("metadata: routing tag of %d bytes, want 1..%d", len(tag), MaxTagLen)
	}
	return nil
}

// AppendRouting appends routing metadata content (the body of a
// message/x.rsocket.routing.v0 entry, or the whole metadata when the
// connection's metadata MIME is the routing MIME): each tag as a u8 length
// and its bytes. It panics when a tag fails CheckTag.
func AppendRouting(dst []byte, tags ...string) []byte {
	for _, t := range tags {
		if err := CheckTag(t); err != nil {
			panic(err)
		}
		dst = append(dst, byte(len(t)))
		dst = append(dst, t...)
	}
	return dst
}

// AppendCompositeRoute appends a whole composite entry (well-known ID 0x7E)
// carrying one routing tag. It panics when route fails CheckTag.
func AppendCompositeRoute(dst []byte, route string) []byte {
	if err := CheckTag(route); err != nil {
		panic(err)
	}
	dst = append(dst, 0x80|IDRouting)
	dst = appendU24(dst, 1+len(route))
	dst = append(dst, byte(len(route)))
	return append(dst, route...)
}

// readTag reads one routing tag without allocating.
func readTag(p []byte) (tag, rest []byte, err error) {
	n := int(p[0])
	if n == 0 {
		return nil, nil, malformed("routing tag of length 0")
	}
	if len(p) < 1+n {
		return nil, nil, malformed("routing tag of %d bytes runs past the end (%d left)", n, len(p)-1)
	}
	return p[1 : 1+n : 1+n], p[1+n:], nil
}

// Routes decodes routing metadata content into its tags. Empty content has no
// tags. A tag of length 0 or one running past the end is an error.
func Routes(content []byte) ([]string, error) {
	var tags []string
	for p := content; len(p) > 0; {
		tag, rest, err := readTag(p)
		if err != nil {
			return tags, err
		}
		tags = append(tags, string(tag))
		p = rest
	}
	return tags, nil
}

// RouteOf returns the route of a request: the first tag of routing metadata.
// When metadataMIME (the connection's, from SETUP) is MIMEComposite, md is
// composite metadata and the first routing entry counts (by well-known ID or by
// string); when it is MIMERouting, md is the routing content itself. ok is false
// for any other MIME, when there is no routing, or when the bytes up to the
// route are malformed. Only the returned string is allocated.
func RouteOf(md []byte, metadataMIME string) (route string, ok bool) {
	switch metadataMIME {
	case MIMEComposite:
		content, found := Find(md, MIMERouting)
		if !found {
			return "", false
		}
		md = content
	case MIMERouting:
	default:
		return "", false
	}
	if len(md) == 0 {
		return "", false
	}
	tag, _, err := readTag(md)
	if err != nil {
		return "", false
	}
	return string(tag), true
}
