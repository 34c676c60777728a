package main

import (
	"encoding/hex"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/sluicehq/sluice/protocol"
	"github.com/sluicehq/sluice/protocol/metadata"
)

// frameLogger prints one line per frame for --debug:
//
//	-> stream=1 REQUEST_STREAM flags=M n=5 md=9 data=3 md:[routing:count] data:"100"
//	<- stream=1 PAYLOAD flags=N data=1 data:"0"
//
// "->" is a frame this side sent, "<-" one it received. After the direction
// comes protocol.Frame.String (stream id, type, decoded flags, request N or
// error code, metadata and data lengths), then a short preview of the
// metadata (composite entries decoded) and of the data.
type frameLogger struct {
	mu           sync.Mutex
	w            io.Writer
	metadataMIME string
	prefix       string
	buf          []byte
}

func newFrameLogger(w io.Writer, metadataMIME string) *frameLogger {
	return &frameLogger{w: w, metadataMIME: metadataMIME}
}

// hook has the signature of client.WithFrameHook; it may be called from the
// reader and the writer goroutines at once.
func (l *frameLogger) hook(in bool, b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = appendFrameLine(l.buf[:0], l.prefix, in, b, l.metadataMIME)
	l.w.Write(l.buf)
}

// appendFrameLine appends the --debug line for frame b.
func appendFrameLine(dst []byte, prefix string, in bool, b []byte, mdMIME string) []byte {
	dst = append(dst, prefix...)
	if in {
		dst = append(dst, "<- "...)
	} else {
		dst = append(dst, "-> "...)
	}
	f, err := protocol.Decode(b)
	if err != nil {
		dst = append(dst, "malformed frame ("...)
		dst = strconv.AppendInt(dst, int64(len(b)), 10)
		dst = append(dst, " bytes): "...)
		dst = append(dst, oneLine(err.Error())...)
		dst = append(dst, " raw:"...)
		dst = appendPreview(dst, b, 24)
		return append(dst, '\n')
	}
	dst = append(dst, f.String()...)
	if f.Type == protocol.TypeSetup {
		// Requests on this connection carry metadata of the announced type.
		mdMIME = string(f.MetadataMIME)
	}
	if len(f.Metadata) > 0 {
		dst = append(dst, " md:"...)
		dst = appendMetadataPreview(dst, f.Metadata, mdMIME)
	}
	if len(f.Data) > 0 {
		dst = append(dst, " data:"...)
		dst = appendPreview(dst, f.Data, 40)
	}
	return append(dst, '\n')
}

// appendMetadataPreview shows composite metadata as [type:content ...] with
// routing tags decoded, routing metadata as [routing:tag], anything else raw.
func appendMetadataPreview(dst, md []byte, mdMIME string) []byte {
	switch mdMIME {
	case metadata.MIMEComposite:
		entries, err := metadata.Entries(md)
		if err != nil {
			break
		}
		dst = append(dst, '[')
		for i, e := range entries {
			if i > 0 {
				dst = append(dst, ' ')
			}
			name := strings.TrimSuffix(strings.TrimPrefix(e.MIME, "message/x.rsocket."), ".v0")
			dst = append(dst, name...)
			dst = append(dst, ':')
			if e.MIME == metadata.MIMERouting {
				dst = appendRoutes(dst, e.Content)
			} else {
				dst = appendPreview(dst, e.Content, 24)
			}
		}
		return append(dst, ']')
	case metadata.MIMERouting:
		dst = append(dst, "[routing:"...)
		dst = appendRoutes(dst, md)
		return append(dst, ']')
	}
	return appendPreview(dst, md, 24)
}

func appendRoutes(dst, content []byte) []byte {
	tags, err := metadata.Routes(content)
	if err != nil {
		return appendPreview(dst, content, 24)
	}
	return append(dst, strings.Join(tags, ",")...)
}

// appendPreview shows at most max bytes of b: quoted text when b is UTF-8,
// else hex with a 0x prefix; "…" marks a cut.
func appendPreview(dst, b []byte, max int) []byte {
	cut := len(b) > max
	p := b
	if cut {
		p = b[:max]
		// Do not split a UTF-8 sequence when previewing text.
		for len(p) > 0 && !utf8.Valid(p) && utf8.Valid(b) {
			p = p[:len(p)-1]
		}
	}
	if utf8.Valid(p) {
		dst = strconv.AppendQuote(dst, string(p))
	} else {
		if cut {
			p = b[:max/2]
		} else if len(p) > max/2 {
			p, cut = p[:max/2], true
		}
		dst = append(dst, "0x"...)
		dst = hex.AppendEncode(dst, p)
	}
	if cut {
		dst = append(dst, "…"...)
	}
	return dst
}
