package metadata

import (
	"fmt"
	"iter"
)

// Entry is one entry of composite metadata.
type Entry struct {
	// MIME is the entry's type: the table's string for a well-known ID, the
	// custom string from the wire otherwise, "" for an unassigned well-known ID.
	MIME string
	// ID is the well-known ID (0..127) the wire held, or Custom (-1) when the
	// wire held a MIME string. Unassigned IDs are kept as they are.
	ID int
	// Content aliases the metadata the entry was read from.
	Content []byte
}

// AppendComposite appends one composite metadata entry: the well-known ID when
// mime is in the table, otherwise the string (length minus one), then the u24
// length and content. It panics when mime is not a valid custom MIME string
// (see CheckMIME) or content is longer than MaxContentLen.
func AppendComposite(dst []byte, mime string, content []byte) []byte {
	checkContent(len(content))
	dst = appendType(dst, mime)
	dst = appendU24(dst, len(content))
	return append(dst, content...)
}

// AppendCompositeID appends one composite metadata entry with a well-known ID
// (0..127, assigned or not), for example to pass an entry through unchanged.
func AppendCompositeID(dst []byte, id int, content []byte) []byte {
	if id < 0 || id > 0x7F {
		panic(fmt.Sprintf("metadata: well-known ID %d out of range 0..127", id))
	}
	checkContent(len(content))
	dst = append(dst, 0x80|byte(id))
	dst = appendU24(dst, len(content))
	return append(dst, content...)
}

func checkContent(n int) {
	if n > MaxContentLen {
		panic(fmt.Sprintf("metadata: entry content of %d bytes exceeds the u24 limit", n))
	}
}

func appendU24(dst []byte, n int) []byte { return append(dst, byte(n>>16), byte(n>>8), byte(n)) }

// readEntry reads one entry without allocating.
func readEntry(p []byte) (id int, custom, content, rest []byte, err error) {
	id, custom, p, err = readType(p)
	if err != nil {
		return 0, nil, nil, nil, err
	}
	if len(p) < 3 {
		return 0, nil, nil, nil, malformed("entry length cut short (%d bytes left)", len(p))
	}
	n := int(p[0])<<16 | int(p[1])<<8 | int(p[2])
	p = p[3:]
	if len(p) < n {
		return 0, nil, nil, nil, malformed("entry content of %d bytes runs past the end (%d left)", n, len(p))
	}
	return id, custom, p[:n:n], p[n:], nil
}

// Composite iterates over the entries of composite metadata md, in order. On
// malformed input it yields the entries before the fault, then one zero Entry
// with an error wrapping ErrMalformed, and stops. Empty or nil md has no
// entries. Iterating allocates only the MIME string of custom entries whose
// string is not in the table. The Seq may be ranged over more than once.
func Composite(md []byte) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		for p := md; len(p) > 0; {
			id, custom, content, rest, err := readEntry(p)
			if err != nil {
				yield(Entry{}, err)
				return
			}
			t := typeOf(id, custom)
			if !yield(Entry{MIME: t.MIME, ID: t.ID, Content: content}, nil) {
				return
			}
			p = rest
		}
	}
}

// Entries decodes all entries of composite metadata md.
func Entries(md []byte) ([]Entry, error) {
	var out []Entry
	for e, err := range Composite(md) {
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Find returns the content of the first entry of composite metadata md whose
// type is mime (as a well-known ID or as a string). It does not allocate. ok is
// false when there is no such entry before the end or before malformed bytes.
func Find(md []byte, mime string) (content []byte, ok bool) {
	for p := md; len(p) > 0; {
		id, custom, content, rest, err := readEntry(p)
		if err != nil {
			return nil, false
		}
		if typeIs(id, custom, mime) {
			return content, true
		}
		p = rest
	}
	return nil, false
}
