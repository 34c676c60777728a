package metadata

// AppendMIMEType appends the content of a per-stream MIME type entry
// (message/x.rsocket.mime-type.v0): the well-known ID, or the string (length
// minus one). It panics when mime is not in the table and fails CheckMIME.
func AppendMIMEType(dst []byte, mime string) []byte { return appendType(dst, mime) }

// ParseMIMEType decodes the content of a per-stream MIME type entry: exactly one
// type, no trailing bytes.
func ParseMIMEType(content []byte) (Type, error) {
	id, custom, rest, err := readType(content)
	if err != nil {
		return Type{}, err
	}
	if len(rest) != 0 {
		return Type{}, malformed("%d bytes after the MIME type", len(rest))
	}
	return typeOf(id, custom), nil
}

// AppendAcceptMIMETypes appends the content of an accept-mime-types entry
// (message/x.rsocket.accept-mime-types.v0): each type as AppendMIMEType writes it.
func AppendAcceptMIMETypes(dst []byte, mimes ...string) []byte {
	for _, m := range mimes {
		dst = appendType(dst, m)
	}
	return dst
}

// ParseAcceptMIMETypes decodes the content of an accept-mime-types entry, in order.
func ParseAcceptMIMETypes(content []byte) ([]Type, error) {
	var out []Type
	for p := content; len(p) > 0; {
		id, custom, rest, err := readType(p)
		if err != nil {
			return out, err
		}
		out = append(out, typeOf(id, custom))
		p = rest
	}
	return out, nil
}
